#!/usr/bin/env bash
# MariaDB: the replica osc finds in SHOW SLAVE HOSTS is watched through osc's
# heartbeat; STOP SLAVE SQL_THREAD on it throttles the copy and START SLAVE
# lets it finish; sessions in SELECT SLEEP drive Threads_running above
# --max-load and pause the copy too; pause/resume over the socket; the result
# equals the mirror the writer kept.
. "$(dirname "$0")/lib.sh"
CTL_URL=$OSC_MY_URL
. "$(dirname "$0")/lib_control.sh"
need_osc
need_my
T=t_my_thr R=t_my_thr_ref
ALTER="ADD COLUMN c INT DEFAULT 5"
MAXLAG=1000
SLEEPERS=()
trap 'r=$?; my_replica_q "START SLAVE SQL_THREAD" >/dev/null 2>&1; kill "${SLEEPERS[@]}" 2>/dev/null; ctl_cleanup $r' EXIT

my_fixture int $T $R 200000
my_wait_replica_caught_up 60
start_mywriter int $T $R
osc_bg_url "$OSC_MY_URL" "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table $T --alter "$ALTER" --max-lag ${MAXLAG}ms \
    --max-load Threads_running=4 --chunk-time 50ms --chunk-size-max 500 --log-format json
wait_status_phase $T copy 60 || { cat "$TEST_TMP/o.err" >&2; fail "the copy did not start"; }
grep -q '"watching the lag of replica 127.0.0.1:'"$OSC_MY_REPLICA_PORT" "$TEST_TMP/o.err" \
    || fail "osc did not find the replica in SHOW SLAVE HOSTS"
# the replica may still be replaying the fixture: wait until osc reads a small lag
for _ in $(seq 1 100); do
    lag0=$(json_num "$(status_json $T)" max_lag_ms)
    [ -n "$lag0" ] && [ "$lag0" -ge 0 ] && [ "$lag0" -lt 500 ] && break
    sleep 0.2
done
[ "$lag0" -ge 0 ] && [ "$lag0" -lt 500 ] || fail "the replica's lag did not settle (last: $lag0 ms)"

# replica lag
onset=$(now_ms)
my_replica_q "STOP SLAVE SQL_THREAD" || fail "STOP SLAVE SQL_THREAD"
wait_for_text '"throttled: replica 127\.0\.0\.1:[0-9]+ is [0-9.]+m?s behind' 10 "$TEST_TMP/o.err" \
    || fail "no throttle after the replica stopped applying"
thr=$(json_ts_ms "$TEST_TMP/o.err" '"throttled: replica [^ ]+ is ')
frozen=$(rows_frozen $T 2) || fail "the copy went on while the replica lagged ($frozen)"
note "MEASURED: MariaDB lag onset (STOP SLAVE SQL_THREAD) to throttle: $((thr - onset)) ms with --max-lag ${MAXLAG}ms" \
     "and $lag0 ms of lag before (lag passing the limit to the throttle: $((thr - onset - MAXLAG + lag0)) ms)"
[ $((thr - onset)) -le $((MAXLAG + 1500)) ] || fail "throttle $((thr - onset)) ms after the lag began"
my_replica_q "START SLAVE SQL_THREAD" || fail "START SLAVE SQL_THREAD"
wait_for_text '"throttle released after' 30 "$TEST_TMP/o.err" || fail "the throttle was not released"

# load: 6 sessions sleeping on the server.  The replica may lag on a busy
# machine, and lag comes first in the throttle's rules: lift --max-lag so that
# the reason seen is the load (osc set, while it runs)
ctl set --table $T max-lag=120s | grep -q '^ok' || fail "osc set max-lag"
wait_for_text '"throttle released after' 30 "$TEST_TMP/o.err" || true
for ((i = 0; i < 6; i++)); do
    mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_PORT" -uroot -e "SELECT SLEEP(3)" >/dev/null 2>&1 &
    SLEEPERS+=($!)
done
wait_for_text '"throttled: Threads_running is [0-9]+ \(--max-load Threads_running=4\)' 5 "$TEST_TMP/o.err" \
    || fail "Threads_running did not throttle"
wait "${SLEEPERS[@]}" 2>/dev/null
SLEEPERS=()

# the operator's pause
ctl pause --table $T | grep -q '^ok: paused' || fail "osc pause"
frozen=$(rows_frozen $T 1.5) || fail "the copy went on while paused ($frozen)"
ctl resume --table $T | grep -q '^ok: resumed' || fail "osc resume"

osc_bg_wait 240
[ "$OSC_BG_RC" = 0 ] || fail "osc exited $OSC_BG_RC"
sleep 1
stop_mywriter
my_q "ALTER TABLE $R $ALTER" || fail "ALTER of the reference"
my_tables_equal $T $R "id, v, n, extra, pad, c"
my_no_osc_leftovers $T
my_assert_true "(SELECT COUNT(*) = 0 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '${T}_osc_hb')" \
    "the heartbeat table is gone"
echo "ok"
