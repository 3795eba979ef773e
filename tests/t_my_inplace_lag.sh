#!/usr/bin/env bash
# MariaDB, an ALTER run in place (ALGORITHM=INSTANT) while the replica has
# stopped applying (STOP SLAVE SQL_THREAD): the run waits before its
# statement, as a copy would ("shows no heartbeat yet": osc writes its
# heartbeat for the wait), and runs it once the replica applies again;
# --critical-lag aborts it instead (exit 1, nothing changed).  Before, the
# INSTANT path said it waited for the replicas and ran the ALTER at once.
# Under the writer; the table equals its mirror with the same ALTER.
. "$(dirname "$0")/lib.sh"
CTL_URL=$OSC_MY_URL
. "$(dirname "$0")/lib_control.sh"
need_osc
need_my
OSC_STRATEGY=auto
T=t_my_inplace_lag R=t_my_inplace_lag_ref
trap 'r=$?; my_replica_q "START SLAVE SQL_THREAD" >/dev/null 2>&1; ctl_cleanup $r' EXIT

my_fixture int $T $R 20000
my_wait_replica_caught_up 30
start_mywriter int $T $R

# 1. the replica stopped: the ALTER waits; it runs once the replica applies
my_replica_q "STOP SLAVE SQL_THREAD" || fail "STOP SLAVE SQL_THREAD"
osc_bg_url "$OSC_MY_URL" "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table $T --alter "ADD COLUMN c INT" --max-lag 1s \
    --log-format json
wait_for_text '"throttled: replica 127\.0\.0\.1:[0-9]+ shows no heartbeat yet' 20 "$TEST_TMP/o.err" \
    || { grep -v '"progress"' "$TEST_TMP/o.err" >&2; fail "the in-place run did not wait for the stopped replica"; }
grep -q '"strategy: instant:' "$TEST_TMP/o.err" || fail "the strategy was not instant (in place)"
sleep 1.5
kill -0 "$OSC_BG_PID" 2>/dev/null || { grep -v '"progress"' "$TEST_TMP/o.err" >&2; fail "the in-place run ended while the replica was stopped"; }
assert_eq 0 "$(my_has_column $T c)" "column c while the replica is stopped"
my_replica_q "START SLAVE SQL_THREAD" || fail "START SLAVE SQL_THREAD"
osc_bg_wait 60
[ "$OSC_BG_RC" = 0 ] || { grep -v '"progress"' "$TEST_TMP/o.err" >&2; fail "the in-place run exited $OSC_BG_RC"; }
grep -q '"throttle released after' "$TEST_TMP/o.err" || fail "no release once the replica applied again"
grep -q 'migration complete: applied in place (instant)' "$TEST_TMP/o.err" || fail "not applied in place"
assert_eq 1 "$(my_has_column $T c)" "column c after the run"
assert_eq 0 "$(my_has_table "${T}_osc_hb")" "the heartbeat table after the run"

# 2. past --critical-lag: exit 1 before the statement, nothing changed
my_replica_q "STOP SLAVE SQL_THREAD" || fail "STOP SLAVE SQL_THREAD"
snap=$(my_schema_snapshot)
run_osc_my --table $T --alter "ADD COLUMN d INT" --max-lag 500ms --critical-lag 1500ms --log-format json
my_replica_q "START SLAVE SQL_THREAD" || fail "START SLAVE SQL_THREAD"
[ "$OSC_RC" = 1 ] || fail "past --critical-lag the in-place run exited $OSC_RC, expected 1"
grep -q '"aborting: replica 127\.0\.0\.1:[0-9]* is at least [0-9.]*s behind' "$OSC_ERR" \
    || fail "the abort does not name the replica and its lag"
assert_eq 0 "$(my_has_column $T d)" "column d after the aborted run"
assert_eq "$snap" "$(my_schema_snapshot)" "the schema after the aborted in-place run"

sleep 0.5
stop_mywriter
my_q "ALTER TABLE $R ADD COLUMN c INT" || fail "ALTER of the mirror"
my_tables_equal $T $R "id, v, n, extra, pad, c"
my_no_osc_leftovers $T
my_wait_replica_caught_up 60
echo "ok"
