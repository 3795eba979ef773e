#!/usr/bin/env bash
# Row-level security (PostgreSQL).  A table with ENABLE + FORCE ROW LEVEL
# SECURITY and a policy that hides half the rows from its owner: osc run by
# that owner (no superuser, no BYPASSRLS) must not copy the visible half and
# call it done.  It is refused at preflight (exit 2, naming the policy and
# BYPASSRLS, nothing changed); so is a role that does not own a table with
# row security enabled (by the privilege check, which names the GRANT; osc
# plan says a run would refuse it for the policy).  With BYPASSRLS the same owner migrates the whole
# table under the mirrored writer, and the new table keeps the policy and
# both flags.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_pg_rls R=t_pg_rls_ref
ROLE=osc_rls_owner OTHER=osc_rls_other
fixture int $T $R 20000
osc_state_forget $T
# drop_role R: R's objects go to postgres (the state table among them,
# when R's run created it), then R
drop_role() {
    [ "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = '$1'")" = 1 ] || return 0
    psql_q "REASSIGN OWNED BY $1 TO postgres; DROP OWNED BY $1; DROP ROLE $1" || fail "drop role $1"
}
drop_role $ROLE
drop_role $OTHER
psql_q "
    SET client_min_messages = warning;
    CREATE ROLE $ROLE LOGIN;
    CREATE ROLE $OTHER LOGIN;
    GRANT CREATE ON DATABASE $PGDATABASE TO $ROLE, $OTHER;
    GRANT ALL ON SCHEMA public TO $ROLE, $OTHER;
    ALTER TABLE $T OWNER TO $ROLE;
    GRANT ALL ON $T TO $OTHER;
    ALTER TABLE $T ENABLE ROW LEVEL SECURITY;
    ALTER TABLE $T FORCE ROW LEVEL SECURITY;
    CREATE POLICY even_rows ON $T USING (id % 2 = 0);
" || fail "setup"
# the state table may exist already (earlier runs, as postgres): the roles may use it
psql_q "CREATE SCHEMA IF NOT EXISTS osc; GRANT ALL ON SCHEMA osc TO $ROLE, $OTHER" || fail "grant on osc"
if [ "$(psql_q "SELECT to_regclass('osc.migrations') IS NOT NULL")" = t ]; then
    psql_q "GRANT ALL ON ALL TABLES IN SCHEMA osc TO $ROLE, $OTHER" || fail "grant on osc.migrations"
fi
url_as() { echo "postgres://$1@127.0.0.1:$PGPORT/$PGDATABASE"; }
assert_eq 10000 "$(psql_q "SELECT count(*) FROM $T" -d "$(url_as $ROLE)")" "the owner sees half the rows"

# run_as ROLE ARGS...: osc connected as ROLE
run_as() {
    local role=$1
    shift
    OSC_RC=0
    "$OSC" "$@" --strategy copy --database "$(url_as "$role")" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
    note "osc $* (as $role) -> exit $OSC_RC"
    tail -n 4 "$OSC_ERR" | sed 's/^/#   err: /'
}

ALTER="ALTER COLUMN n TYPE bigint"
before=$(schema_snapshot)
note "--- the owner, held to the policy by FORCE"
run_as $ROLE --table $T --alter "$ALTER"
assert_eq 2 "$OSC_RC" "exit status of the owner's run"
grep -q 'even_rows' "$OSC_ERR" || fail "the refusal does not name the policy"
grep -q 'BYPASSRLS' "$OSC_ERR" || fail "the refusal does not say what would do (BYPASSRLS)"
grep -q 'FORCE' "$OSC_ERR" || fail "the refusal does not say FORCE holds the owner"
assert_eq "$before" "$(schema_snapshot)" "schema after the refusal"
no_osc_leftovers $T

note "--- a role that does not own the table"
psql_q "ALTER TABLE $T NO FORCE ROW LEVEL SECURITY" || fail "no force"
run_as $OTHER --table $T --alter "$ALTER"
assert_eq 2 "$OSC_RC" "exit status of the other role's run"
# the privilege check comes first: a role that does not own the table could
# not install the capture trigger or swap either, whatever the policies
grep -q 'GRANT .*osc_rls_owner.* TO .*osc_rls_other' "$OSC_ERR" || fail "the refusal does not name the ownership GRANT"
assert_eq "$before" "$(schema_snapshot)" "schema after the other role's refusal"
run_as $OTHER plan --table $T --alter "$ALTER"
assert_eq 2 "$OSC_RC" "exit status of osc plan for the other role (the same missing GRANT)"
psql_q "ALTER TABLE $T FORCE ROW LEVEL SECURITY" || fail "force"
# the owner under FORCE may plan: the plan says a run would refuse, and why
run_as $ROLE plan --table $T --alter "$ALTER"
assert_eq 0 "$OSC_RC" "exit status of osc plan for the owner"
grep -q 'a run refuses this ALTER: row-level security' "$OSC_OUT" || fail "the plan does not say a run would refuse"
assert_eq "$(psql_q "SELECT count(*) FROM $R")" "$(psql_q "SELECT count(*) FROM $T")" "every row is still there"

note "--- the owner with BYPASSRLS: the whole table, under the writer"
psql_q "ALTER ROLE $ROLE BYPASSRLS" || fail "bypassrls"
start_writer int $T $R
sleep 0.5
OSC_FAULT=chunk:20 run_as $ROLE --table $T --alter "$ALTER" --chunk-size 2000 --chunk-size-max 2000
[ "$OSC_RC" = 0 ] || { stop_writer; fail "the BYPASSRLS run exited $OSC_RC"; }
sleep 0.5
stop_writer
tables_equal $T $R "id, v, n, extra, pad"
assert_eq "bigint" "$(psql_q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'n'")" "type of n"
assert_eq "t|t" "$(psql_q "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = '$T'::regclass")" "RLS flags carried"
assert_eq "even_rows" "$(psql_q "SELECT polname FROM pg_policy WHERE polrelid = '$T'::regclass")" "policy carried"
assert_eq "$ROLE" "$(psql_q "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = '$T'::regclass")" "owner carried"
no_osc_leftovers $T
psql_q "DROP TABLE $T, $R, _${T}_osc_old" || fail "drop the tables"
drop_role $ROLE
drop_role $OTHER
echo ok
