#!/usr/bin/env bash
# An in-place run (--strategy auto, here "direct") waits before its statement
# while a replica lags past --max-lag, and aborts past --critical-lag,
# although it makes no heartbeat: the lag is the one the primary reports
# (pg_stat_replication.replay_lag).  Pausing WAL replay on the replica under
# the writer holds the ALTER back; resuming replay lets it run.  The table
# equals its mirror with the same ALTER; the aborted run changed nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
OSC_STRATEGY=auto
T=t_inplace_lag R=t_inplace_lag_ref
ALTER="ADD COLUMN c int"

trap 'r=$?; psql_replica "SELECT pg_wal_replay_resume()" >/dev/null 2>&1; ctl_cleanup $r' EXIT
# replay_lag_over MS: until the primary reports a replay_lag over MS (10 s at most)
replay_lag_over() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(psql_q "SELECT count(*) FROM pg_stat_replication WHERE replay_lag > interval '$1 milliseconds'")" -ge 1 ] \
            && return 0
        sleep 0.1
    done
    fail "the primary never reported a replay_lag over $1 ms"
}

osc_state_forget $T
fixture int $T $R 20000
wait_replica_caught_up 60
start_writer int $T $R

# 1. over --max-lag: the ALTER waits, then runs once replay resumes
replica_replay pause
replay_lag_over 1200
osc_bg "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table $T --alter "$ALTER" --max-lag 1s --log-format json
wait_for_text '"throttled: replica [^"]* \(replay_lag as the primary reports it\) is [0-9.]+m?s behind' 10 "$TEST_TMP/o.err" \
    || fail "the in-place run did not wait for the lagging replica"
sleep 1
kill -0 "$OSC_BG_PID" 2>/dev/null || fail "the in-place run ended while the replica lagged"
[ "$(has_column $T c)" = f ] || fail "the ALTER ran while the replica lagged"
grep -q '"strategy: direct:' "$TEST_TMP/o.err" || fail "the strategy was not direct (in place)"
replica_replay resume
osc_bg_wait 30
[ "$OSC_BG_RC" = 0 ] || fail "the in-place run exited $OSC_BG_RC after replay resumed"
grep -q '"throttle released after' "$TEST_TMP/o.err" || fail "no release once replay resumed"
[ "$(has_column $T c)" = t ] || fail "no column c after the in-place run"
note "$(grep -oE '"msg":"(throttled|throttle released)[^"]*"' "$TEST_TMP/o.err" | head -n 2 | tr '\n' ' ')"

# 2. past --critical-lag: exit 1 before the statement, nothing changed
replica_replay pause
replay_lag_over 1200
snap=$(schema_snapshot)
run_osc --table $T --alter "ADD COLUMN d int" --max-lag 500ms --critical-lag 1s --critical-interval 200ms --log-format json
replica_replay resume
[ "$OSC_RC" = 1 ] || fail "past --critical-lag the in-place run exited $OSC_RC, expected 1"
grep -q 'aborting: .*replay_lag as the primary reports it' "$OSC_ERR" || fail "the abort does not name the lagging replica"
[ "$(has_column $T d)" = f ] || fail "the aborted run added column d"
assert_eq "$snap" "$(schema_snapshot)" "the schema after the aborted in-place run"

sleep 0.5
stop_writer
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra, pad, c"
no_osc_leftovers $T
echo "ok"
