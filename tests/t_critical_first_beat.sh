#!/usr/bin/env bash
# --critical-lag before the first heartbeat: with the replica's replay
# stopped before osc starts, the replica never shows a heartbeat.  Its lag
# is at least the time since osc wrote its first one, so --critical-lag
# aborts the run (exit 1, the original intact and equal to the writer's
# mirror, osc's objects gone) instead of a pause "no heartbeat yet" that
# never ends.  PostgreSQL (replay paused) and MariaDB (SQL thread stopped).
. "$(dirname "$0")/lib.sh"
CTL_URL=${CTL_URL:-$OSC_PG_URL}
. "$(dirname "$0")/lib_control.sh"
need_osc
need_my
OSC_STRATEGY=copy
trap 'r=$?; psql_replica "SELECT pg_wal_replay_resume()" >/dev/null 2>&1;
      my_replica_q "START SLAVE SQL_THREAD" >/dev/null 2>&1; ctl_cleanup $r' EXIT
CRIT_MS=2000

# the abort came after --critical-lag, within a few seconds of it
check_abort() {
    local err=$1 took=$2
    grep -q '"aborting: replica [^"]* is at least [0-9.]*s behind: it has shown none of osc.s heartbeats since the first was written (--critical-lag 2.0s)' "$err" \
        || { grep -v '"progress"' "$err" >&2; fail "no critical-lag abort before the first heartbeat"; }
    grep -q 'aborted: the original table is untouched' "$err" || fail "no abort confirmation"
    grep -q '"throttled: replica [^"]* shows no heartbeat yet' "$err" || fail "no pause while no heartbeat showed"
    note "aborted $took ms after osc started (--critical-lag ${CRIT_MS}ms)"
    [ "$took" -ge "$CRIT_MS" ] || fail "aborted after $took ms, before the lag could reach --critical-lag"
}

# ---- PostgreSQL -----------------------------------------------------------------------
T=t_crit_first R=t_crit_first_ref
osc_state_forget $T
fixture int $T $R 20000
wait_replica_caught_up 30
psql_replica "SELECT pg_wal_replay_pause()" >/dev/null || fail "pg_wal_replay_pause"
start_writer int $T $R
t0=$(now_ms)
osc_bg "$TEST_TMP/pg.out" "$TEST_TMP/pg.err" --table $T --alter "ADD COLUMN c int DEFAULT 5" \
    --replica "$OSC_PG_REPLICA_URL" --max-lag 500ms --critical-lag ${CRIT_MS}ms --log-format json
osc_bg_wait 30
took=$(( $(now_ms) - t0 ))
psql_replica "SELECT pg_wal_replay_resume()" >/dev/null || fail "pg_wal_replay_resume"
[ "$OSC_BG_RC" = 1 ] || { grep -v '"progress"' "$TEST_TMP/pg.err" >&2; fail "osc exited $OSC_BG_RC, expected 1"; }
check_abort "$TEST_TMP/pg.err" "$took"
sleep 0.3
stop_writer
tables_equal $T $R "id, v, n, extra, pad"
[ "$(has_column $T c)" = f ] || fail "the original has the new column after the abort"
no_osc_leftovers $T
wait_replica_caught_up 60

# ---- MariaDB: the replica found in SHOW SLAVE HOSTS, its SQL thread stopped ------------
T=t_my_crit_first R=t_my_crit_first_ref
my_fixture int $T $R 20000
my_wait_replica_caught_up 30
my_replica_q "STOP SLAVE SQL_THREAD" || fail "STOP SLAVE SQL_THREAD"
start_mywriter int $T $R
t0=$(now_ms)
osc_bg_url "$OSC_MY_URL" "$TEST_TMP/my.out" "$TEST_TMP/my.err" --table $T --alter "ADD COLUMN c INT DEFAULT 5" \
    --max-lag 500ms --critical-lag ${CRIT_MS}ms --log-format json
osc_bg_wait 30
took=$(( $(now_ms) - t0 ))
my_replica_q "START SLAVE SQL_THREAD" || fail "START SLAVE SQL_THREAD"
[ "$OSC_BG_RC" = 1 ] || { grep -v '"progress"' "$TEST_TMP/my.err" >&2; fail "osc exited $OSC_BG_RC, expected 1"; }
check_abort "$TEST_TMP/my.err" "$took"
sleep 0.3
stop_mywriter
my_tables_equal $T $R "id, v, n, extra, pad"
assert_eq 0 "$(my_has_column $T c)" "column c on the original after the abort"
my_no_osc_leftovers $T
my_wait_replica_caught_up 60
echo "ok"
