#!/usr/bin/env bash
# PostgreSQL: preflight checks every privilege the run needs and prints the
# GRANT statements that are missing (exit 2, nothing made).  A role with
# exactly what README.md ("Privileges") lists runs the migration end to end
# under the writer; the same role missing one privilege at a time is refused
# with that GRANT: membership of the table's owner, CREATE on the database,
# the state schema and table, the owner's CREATE on the table's schema,
# pg_read_all_stats and TEMPORARY for --strategy auto, the owner of a view
# over the table, and a --replica whose role cannot read the heartbeat.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_target.sh"
need_osc
T=t_priv R=t_priv_ref
RUN=osc_priv_run OWNER=osc_priv_app VIEWER=osc_priv_view REP=osc_priv_rep
URL="postgres://$RUN@127.0.0.1:$OSC_PG_PORT/osctest"
OSC_STRATEGY=auto
ALTER="ALTER COLUMN n TYPE bigint"

drop_roles() {
    psql_q "SET client_min_messages = warning;
            DROP VIEW IF EXISTS t_priv_view;
            DO \$\$ DECLARE r text; BEGIN
              FOREACH r IN ARRAY ARRAY['$RUN', '$OWNER', '$VIEWER', '$REP'] LOOP
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                  EXECUTE format('DROP OWNED BY %I', r);
                  EXECUTE format('DROP ROLE %I', r);
                END IF;
              END LOOP; END \$\$" >/dev/null
    psql_q "GRANT TEMPORARY ON DATABASE osctest TO PUBLIC" >/dev/null
}
trap 'r=$?; drop_roles 2>/dev/null; _lib_cleanup; exit $r' EXIT

osc_state_forget $T
fixture int $T $R 20000
drop_roles
# the state schema and table exist, made by another role (the superuser)
psql_q "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS osc" >/dev/null
osc_with "$OSC_PG_URL" 0 plan --table $T --alter "$ALTER"
[ "$(psql_q "SELECT to_regclass('osc.migrations') IS NOT NULL")" = t ] || {
    psql_q "CREATE TABLE t_priv_seed (id int PRIMARY KEY)" >/dev/null
    osc_with "$OSC_PG_URL" 0 --table t_priv_seed --alter "ADD COLUMN c int" --strategy copy
    psql_q "DROP TABLE t_priv_seed, _t_priv_seed_osc_old" >/dev/null
}
# exactly what README.md says a run needs
psql_q "CREATE ROLE $OWNER; CREATE ROLE $RUN LOGIN; CREATE ROLE $VIEWER; CREATE ROLE $REP LOGIN;
        ALTER TABLE $T OWNER TO $OWNER; ALTER TABLE $R OWNER TO $OWNER;
        GRANT USAGE, CREATE ON SCHEMA public TO $OWNER;
        GRANT $OWNER TO $RUN;
        GRANT CREATE ON DATABASE osctest TO $RUN;
        GRANT USAGE, CREATE ON SCHEMA osc TO $RUN;
        GRANT SELECT, INSERT, UPDATE ON osc.migrations TO $RUN;
        GRANT pg_read_all_stats TO $RUN;" >/dev/null || fail "roles and grants"

snap=$(schema_snapshot)
rows=$(osc_state_rows $T)
# refused REVOKE... GRANT... REGEX [osc options]: with one privilege taken
# away, osc prints the statement that gives it back, and changes nothing
refused() {
    local revoke=$1 grant=$2 re=$3
    shift 3
    psql_q "$revoke" >/dev/null || fail "$revoke"
    osc_with "$URL" 2 --table $T --alter "$ALTER" "$@"
    said "role $RUN lacks a privilege this run needs; nothing was changed"
    said "$re"
    psql_q "$grant" >/dev/null || fail "$grant"
    pg_untouched $T "$snap" "$rows"
}
refused "REVOKE $OWNER FROM $RUN" "GRANT $OWNER TO $RUN" \
    "GRANT \"$OWNER\" TO \"$RUN\";  -- $OWNER owns public.$T"
refused "REVOKE CREATE ON DATABASE osctest FROM $RUN" "GRANT CREATE ON DATABASE osctest TO $RUN" \
    "GRANT CREATE ON DATABASE \"osctest\" TO \"$RUN\";"
refused "REVOKE CREATE ON SCHEMA osc FROM $RUN" "GRANT CREATE ON SCHEMA osc TO $RUN" \
    "GRANT USAGE, CREATE ON SCHEMA osc TO \"$RUN\";"
refused "REVOKE UPDATE ON osc.migrations FROM $RUN" "GRANT UPDATE ON osc.migrations TO $RUN" \
    "GRANT SELECT, INSERT, UPDATE ON osc.migrations TO \"$RUN\";"
refused "REVOKE CREATE ON SCHEMA public FROM $OWNER" "GRANT CREATE ON SCHEMA public TO $OWNER" \
    "GRANT USAGE, CREATE ON SCHEMA \"public\" TO \"$OWNER\";"
refused "REVOKE pg_read_all_stats FROM $RUN" "GRANT pg_read_all_stats TO $RUN" \
    "GRANT pg_read_all_stats TO \"$RUN\";  -- an in-place run waits on its replicas' replay_lag"
refused "REVOKE TEMPORARY ON DATABASE osctest FROM PUBLIC" "GRANT TEMPORARY ON DATABASE osctest TO PUBLIC" \
    "GRANT TEMPORARY ON DATABASE \"osctest\" TO \"$RUN\";"
# a view over the table, owned by a role osc's role is no member of
psql_q "CREATE VIEW t_priv_view AS SELECT id, n FROM $T; ALTER VIEW t_priv_view OWNER TO $VIEWER" >/dev/null
snap=$(schema_snapshot)
osc_with "$URL" 2 --table $T --alter "ADD COLUMN c int DEFAULT 5" --strategy copy
said "GRANT \"$VIEWER\" TO \"$RUN\";  -- $VIEWER owns a view over the table, which the swap re-creates"
pg_untouched $T "$snap" "$rows"
psql_q "DROP VIEW t_priv_view" >/dev/null
snap=$(schema_snapshot)
# a --replica reached as a role that cannot read osc's heartbeat
osc_with "$URL" 2 --table $T --alter "$ALTER" --replica "postgres://$REP@127.0.0.1:$OSC_PG_REPLICA_PORT/osctest"
said "GRANT \"$RUN\" TO \"$REP\";  -- --replica 127\.0\.0\.1:$OSC_PG_REPLICA_PORT connects as $REP"
pg_untouched $T "$snap" "$rows"
# several missing at once: every statement in one message
psql_q "REVOKE $OWNER FROM $RUN; REVOKE CREATE ON DATABASE osctest FROM $RUN" >/dev/null
osc_with "$URL" 2 --table $T --alter "$ALTER"
said "role $RUN lacks privileges this run needs"
said "GRANT \"$OWNER\" TO \"$RUN\";"
said "GRANT CREATE ON DATABASE \"osctest\" TO \"$RUN\";"
psql_q "GRANT $OWNER TO $RUN; GRANT CREATE ON DATABASE osctest TO $RUN" >/dev/null
pg_untouched $T "$snap" "$rows"

# everything README.md lists: the run succeeds under the writer, as that role
# (the replica watched as the same role)
wait_replica_caught_up 30
start_writer int $T $R
sleep 0.5
osc_with "$URL" 0 --table $T --alter "$ALTER" --replica "postgres://$RUN@127.0.0.1:$OSC_PG_REPLICA_PORT/osctest"
sleep 0.5
stop_writer
psql_q "ALTER TABLE $R $ALTER" >/dev/null
tables_equal $T $R "id, v, n, extra, pad"
assert_eq "$OWNER bigint" "$(psql_q "SELECT pg_get_userbyid(c.relowner) || ' ' || format_type(a.atttypid, a.atttypmod)
                                    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                                    WHERE c.oid = '$T'::regclass AND a.attname = 'n'")" "the new table's owner and type"
no_osc_leftovers $T
psql_q "DROP TABLE _${T}_osc_old" >/dev/null
echo "ok"
