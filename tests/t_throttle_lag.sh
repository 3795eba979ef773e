#!/usr/bin/env bash
# Replica lag throttles the copy and the replay, measured by osc's heartbeat:
# pausing WAL replay on the replica stops the copy soon after the lag passes
# --max-lag, resuming replay lets it finish, and the result equals the
# mirror written concurrently.  Prints the time from lag onset to the
# throttle and the lag overshoot past --max-lag.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
T=t_thr_lag R=t_thr_lag_ref
MAXLAG=1000

trap 'r=$?; psql_replica "SELECT pg_wal_replay_resume()" >/dev/null 2>&1; ctl_cleanup $r' EXIT
osc_state_forget $T
fixture int $T $R 300000
start_writer int $T $R
osc_bg "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table $T --alter "ADD COLUMN c int DEFAULT 5" \
    --replica "$OSC_PG_REPLICA_URL" --max-lag ${MAXLAG}ms --chunk-time 50ms --chunk-size-max 1000 --log-format json
wait_status_phase $T copy 30 || { cat "$TEST_TMP/o.err" >&2; fail "the copy did not start"; }
wait_for_text '"watching the lag of replica' 5 "$TEST_TMP/o.err" || fail "osc does not watch the replica"
sleep 0.5
st=$(status_json $T); lag0=$(json_num "$st" max_lag_ms)
[ "$lag0" -ge 0 ] && [ "$lag0" -lt $MAXLAG ] || fail "lag before the pause: $lag0 ms (status: $st)"

onset=$(now_ms)
replica_replay pause
wait_for_text '"throttled: replica 127\.0\.0\.1:[0-9]+ is [0-9.]+m?s behind' $((MAXLAG / 1000 + 10)) "$TEST_TMP/o.err" \
    || { cat "$TEST_TMP/o.err" >&2; fail "no throttle after the replica stopped replaying"; }
thr=$(json_ts_ms "$TEST_TMP/o.err" '"throttled: replica [^ ]+ is ') || fail "no timestamp on the throttle message"
reading=$(grep -m1 -oE 'throttled: replica [^ ]+ is [0-9.]+m?s' "$TEST_TMP/o.err" | grep -oE '[0-9.]+m?s$')
frozen=$(rows_frozen $T 2) || fail "the copy went on while throttled ($frozen)"
st=$(status_json $T)
grep -q '"throttled":true' <<<"$st" || fail "status does not say throttled: $st"
grep -q '"throttle_reason":"replica' <<<"$st" || fail "status gives no reason: $st"
note "status while throttled: $st"
est=$(json_num "$st" rows_estimate)
[ "$frozen" -lt "$est" ] || fail "the copy had finished before the lag could throttle it ($frozen rows)"

replica_replay resume
wait_for_text '"throttle released after' 30 "$TEST_TMP/o.err" || fail "the throttle was not released"
osc_bg_wait 180
[ "$OSC_BG_RC" = 0 ] || { tail -n 20 "$TEST_TMP/o.err" >&2; fail "osc exited $OSC_BG_RC"; }
sleep 1
stop_writer

to_ms() { awk -v s="$1" 'BEGIN { if (s ~ /ms$/) { sub(/ms$/, "", s); print s + 0 } else { sub(/s$/, "", s); print s * 1000 } }'; }
reading_ms=$(to_ms "$reading")
# the lag was lag0 when replay stopped, so it reached --max-lag at onset + MAXLAG - lag0
crossed=$((onset + MAXLAG - lag0))
note "MEASURED: lag onset (pg_wal_replay_pause) to throttle: $((thr - onset)) ms with --max-lag ${MAXLAG}ms" \
     "and ${lag0} ms of lag before; from the lag passing --max-lag to the throttle: $((thr - crossed)) ms" \
     "(lag overshoot past --max-lag); the throttle message read $reading_ms ms; rows frozen at $frozen of ~$est"
[ $((thr - onset)) -le $((MAXLAG + 1500)) ] || fail "throttle came $((thr - onset)) ms after the lag began (max-lag ${MAXLAG}ms)"
[ "$thr" -ge $((crossed - 150)) ] || fail "throttle came before the lag could reach --max-lag ($((thr - onset)) ms after onset)"

psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 5"
tables_equal $T $R "id, v, n, extra, pad, c"
no_osc_leftovers $T
echo "ok"
