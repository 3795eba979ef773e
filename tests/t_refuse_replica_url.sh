#!/usr/bin/env bash
# A --replica osc cannot watch is refused in preflight (exit 2, nothing
# made), named without its password: nothing listens there, its host name
# is unknown, it is the primary itself (its lag would always read 0), on
# PostgreSQL a server that is no standby.  The run used to start and then
# wait for that replica's heartbeat for ever.  One that goes away after a
# good preflight counts as lag: --critical-lag aborts the run (exit 1, the
# original intact, osc's objects gone).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
. "$(dirname "$0")/lib_target.sh"
need_osc
need_my
OSC_STRATEGY=copy
trap 'r=$?; tests/servers.sh pg-replica-start "$OSC_TEST_DIR" >/dev/null 2>&1; ctl_cleanup $r' EXIT

# refuse_replica URL REGEX: preflight refuses --replica URL, saying REGEX
# (the table and the schema as they were, no password in the output)
refuse_replica() {
    osc_with "$DB" 2 --table $T --alter "$ALTER" --replica "$1"
    said "$2"
    grep -q sekrit "$OSC_ERR" && fail "the replica's password was printed"
    return 0
}

# ---- PostgreSQL ---------------------------------------------------------------------
T=t_refuse_url R=t_refuse_url_ref
ALTER="ADD COLUMN c int DEFAULT 5"
DB=$OSC_PG_URL
osc_state_forget $T
fixture int $T $R 20000
snap=$(schema_snapshot)
rows=$(osc_state_rows $T)
refuse_replica "postgres://postgres:sekrit@127.0.0.1:1/osctest" \
    "--replica 127\.0\.0\.1:1 cannot be read \(cannot connect .*\); osc would wait for its lag for ever"
refuse_replica "postgres://postgres:sekrit@no-such-host.invalid:5432/osctest" \
    "--replica no-such-host\.invalid:5432 cannot be read \(.*translate host name"
refuse_replica "host=127.0.0.1 port=1 user=postgres password=sekrit dbname=osctest" "--replica 127\.0\.0\.1:1 cannot be read"
refuse_replica "$OSC_PG_URL" "--replica 127\.0\.0\.1:$OSC_PG_PORT is not a standby"
pg_untouched $T "$snap" "$rows"

# a replica that goes away after a good preflight ages into --critical-lag
wait_replica_caught_up 30
start_writer int $T $R
osc_bg "$TEST_TMP/gone.out" "$TEST_TMP/gone.err" --table $T --alter "$ALTER" --replica "$OSC_PG_REPLICA_URL" \
    --max-lag 500ms --critical-lag 2s --chunk-time 50ms --chunk-size-max 500 --postpone-cutover "$TEST_TMP/hold" \
    --log-format json
wait_for_text '"watching the lag of replica' 20 "$TEST_TMP/gone.err" || fail "osc did not start watching the replica"
wait_status_phase $T copy 30 || fail "the copy did not start"
tests/servers.sh pg-replica-stop "$OSC_TEST_DIR" || fail "cannot stop the replica"
osc_bg_wait 60
tests/servers.sh pg-replica-start "$OSC_TEST_DIR" || fail "cannot restart the replica"
[ "$OSC_BG_RC" = 1 ] || { grep -v progress "$TEST_TMP/gone.err" >&2; fail "a replica gone mid-run: exit $OSC_BG_RC, expected 1"; }
grep -q '"aborting: replica 127.0.0.1:[0-9]* is [0-9.]*s behind (--critical-lag 2.0s): ' "$TEST_TMP/gone.err" \
    || { grep -v progress "$TEST_TMP/gone.err" >&2; fail "the abort does not say the replica could not be read"; }
grep -q 'aborted: the original table is untouched' "$TEST_TMP/gone.err" || fail "no abort confirmation"
sleep 0.3
stop_writer
tables_equal $T $R "id, v, n, extra, pad"
[ "$(has_column $T c)" = f ] || fail "the original has the new column after the abort"
no_osc_leftovers $T

# ---- MariaDB --------------------------------------------------------------------------
T=t_refuse_myurl R=t_refuse_myurl_ref
ALTER="ADD COLUMN c INT DEFAULT 5"
DB=$OSC_MY_URL
my_fixture int $T $R 2000
snap=$(my_schema_snapshot)
rows=$(my_state_count $T)
refuse_replica "mysql://root:sekrit@127.0.0.1:1/osctest" \
    "replica 127\.0\.0\.1:1, from --replica cannot be read \(cannot connect .*\); osc would wait for its lag for ever"
refuse_replica "mysql://root:sekrit@no-such-host.invalid:3306/osctest" \
    "replica no-such-host\.invalid:3306, from --replica cannot be read \(cannot connect .*[Uu]nknown"
refuse_replica "$OSC_MY_URL" "replica 127\.0\.0\.1:$OSC_MY_PORT, from --replica is this server itself"
my_untouched $T "$snap" "$rows"
echo "ok"
