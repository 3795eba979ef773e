#!/usr/bin/env bash
# Load thresholds on PostgreSQL: sessions running pg_sleep drive
# active_sessions; above --max-load the copy pauses and goes on when they
# end (the result equals the mirror); at --critical-load the run aborts with
# the original intact; an unknown metric is bad input and changes nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
T=t_thr_load R=t_thr_load_ref
ALTER="ADD COLUMN c int DEFAULT 5"
SLEEPERS=()
sleepers() {  # sleepers N SECONDS
    for ((i = 0; i < $1; i++)); do
        psql -XAtq -c "SELECT pg_sleep($2)" >/dev/null 2>&1 &
        SLEEPERS+=($!)
    done
}
trap 'r=$?; kill "${SLEEPERS[@]}" 2>/dev/null; ctl_cleanup $r' EXIT

osc_state_forget $T
fixture int $T $R 200000

# an unknown metric: exit 2 before anything is made
expect_osc 2 --table $T --alter "$ALTER" --max-load load_average=3
grep -q "load metric 'load_average': PostgreSQL has active_sessions and wal_bytes_per_sec" "$OSC_ERR" \
    || fail "unclear error for an unknown metric"
no_osc_leftovers $T

# above --max-load: paused while the sleepers run
start_writer int $T $R
osc_bg "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table $T --alter "$ALTER" --max-load active_sessions=2,wal_bytes_per_sec=1e12 \
    --chunk-time 50ms --chunk-size-max 1000 --log-format json
wait_status_phase $T copy 30 || fail "the copy did not start"
sleepers 4 4
wait_for_text '"throttled: active_sessions is [0-9]+ \(--max-load active_sessions=2\)' 5 "$TEST_TMP/o.err" \
    || fail "4 active sessions did not throttle at --max-load active_sessions=2"
frozen=$(rows_frozen $T 1.5) || fail "the copy went on above --max-load ($frozen)"
grep -q '"load":{"active_sessions":[0-9]*,"wal_bytes_per_sec":' <<<"$(status_json $T)" || fail "status shows no load"
wait "${SLEEPERS[@]}" 2>/dev/null
SLEEPERS=()
wait_for_text '"throttle released after' 5 "$TEST_TMP/o.err" || fail "not released when the load went away"
osc_bg_wait 120
[ "$OSC_BG_RC" = 0 ] || fail "osc exited $OSC_BG_RC"
sleep 1
stop_writer
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra, pad, c"
no_osc_leftovers $T

# at --critical-load: abort, original intact
fixture int $T $R 200000
osc_state_forget $T
osc_bg "$TEST_TMP/c.out" "$TEST_TMP/c.err" --table $T --alter "$ALTER" --critical-load active_sessions=4 \
    --chunk-time 50ms --chunk-size-max 1000 --log-format json
wait_status_phase $T copy 30 || fail "the copy did not start"
sleepers 6 3
osc_bg_wait 30
[ "$OSC_BG_RC" = 1 ] || fail "critical load: osc exited $OSC_BG_RC, expected 1"
grep -q '"aborting: active_sessions is [0-9]* (--critical-load active_sessions=4)' "$TEST_TMP/c.err" \
    || fail "no critical-load message"
tables_equal $T $R "id, v, n, extra, pad"
[ "$(has_column $T c)" = f ] || fail "the original changed"
no_osc_leftovers $T
echo "ok"
