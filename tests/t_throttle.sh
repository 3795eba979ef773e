#!/usr/bin/env bash
# The throttle, on PostgreSQL and MariaDB (one body), in one run under the
# mirrored writer:
#  1. replica lag, measured by osc's heartbeat: the replica stops applying
#     (WAL replay paused; STOP SLAVE SQL_THREAD on the replica osc found in
#     SHOW SLAVE HOSTS); the copy stops soon after the lag passes --max-lag
#     (the time from lag onset to the throttle, and on PostgreSQL the
#     overshoot past --max-lag, are printed and bounded), the status says
#     throttled and why, and the copy goes on once the replica applies again;
#  2. load: sessions sleeping on the server (pg_sleep: active_sessions;
#     SELECT SLEEP: Threads_running) above --max-load pause the copy; it goes
#     on when they end;
#  3. the operator's pause and resume over the socket;
# and the result equals the mirror.  Each chunk cycle is slowed (OSC_FAULT=
# chunk:100) so that the copy outlasts the three, however fast the machine
# (each case checks that rows were still to be copied).
# The abort thresholds (--critical-lag, --critical-load, the panic file) are
# t_throttle_abort's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 5"
MAXLAG=1000
SLEEPERS=()
trap 'r=$?; e_replica_start_quietly; kill "${SLEEPERS[@]}" 2>/dev/null; ctl_cleanup $r' EXIT

# released_at_least N SECONDS: until the log has N "throttle released" lines
released_at_least() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ "$(grep -c '"throttle released after' "$TEST_TMP/o.err")" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

throttle_test() {
    local T=t_thr_$ENGINE R=t_thr_${ENGINE}_ref lag0 st onset thr frozen est i released
    # 60 chunks of 500 rows, each cycle at least 100 ms: at least 6 s of copy,
    # of which the three cases use about 3 (the rest stays for the pause)
    e_fixture $T $R 30000
    e_wait_replica_caught_up 60
    e_start_writer $T $R
    OSC_FAULT=chunk:100 e_osc_bg "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table $T --alter "$ALTER" \
        --max-lag ${MAXLAG}ms $(e_pick "--replica $OSC_PG_REPLICA_URL" "") \
        --max-load "$(e_pick active_sessions=2,wal_bytes_per_sec=1e12 Threads_running=4)" \
        --chunk-time 50ms --chunk-size-max 500 --log-format json
    wait_status_phase $T copy 60 || { cat "$TEST_TMP/o.err" >&2; fail "the copy did not start"; }
    wait_for_text '"watching the lag of replica 127\.0\.0\.1:'"$ENG_REPLICA_PORT" 5 "$TEST_TMP/o.err" \
        || fail "osc does not watch the replica (MariaDB: found in SHOW SLAVE HOSTS)"
    # the replica may still be replaying the fixture: wait until osc reads a small lag
    for ((i = 0; i < 100; i++)); do
        lag0=$(json_num "$(status_json $T)" max_lag_ms)
        [ -n "$lag0" ] && [ "$lag0" -ge 0 ] && [ "$lag0" -lt 500 ] && break
        sleep 0.2
    done
    [ -n "$lag0" ] && [ "$lag0" -ge 0 ] && [ "$lag0" -lt 500 ] || fail "the replica's lag did not settle (last: $lag0 ms)"

    note "---- 1. replica lag"
    onset=$(now_ms)
    e_replica_stop
    wait_for_text '"throttled: replica 127\.0\.0\.1:[0-9]+ is [0-9.]+m?s behind' $((MAXLAG / 1000 + 10)) "$TEST_TMP/o.err" \
        || fail "no throttle after the replica stopped applying"
    thr=$(json_ts_ms "$TEST_TMP/o.err" '"throttled: replica [^ ]+ is ') || fail "no timestamp on the throttle message"
    frozen=$(rows_frozen $T 2) || fail "the copy went on while the replica lagged ($frozen)"
    st=$(status_json $T)
    grep -q '"throttled":true' <<<"$st" || fail "status does not say throttled: $st"
    grep -q '"throttle_reason":"replica' <<<"$st" || fail "status gives no reason: $st"
    note "status while throttled: $st"
    est=$(json_num "$st" rows_estimate)
    [ "$frozen" -lt "$est" ] || fail "the copy had finished before the lag could throttle it ($frozen rows)"
    note "MEASURED: lag onset to throttle: $((thr - onset)) ms with --max-lag ${MAXLAG}ms and ${lag0} ms of lag" \
         "before; from the lag passing --max-lag to the throttle: $((thr - onset - MAXLAG + lag0)) ms" \
         "(lag overshoot past --max-lag); rows frozen at $frozen of ~$est"
    [ $((thr - onset)) -le $((MAXLAG + 1500)) ] || fail "throttle came $((thr - onset)) ms after the lag began (max-lag ${MAXLAG}ms)"
    if [ "$ENGINE" = pg ]; then
        # the lag was lag0 when replay stopped, so it reached --max-lag at onset + MAXLAG - lag0
        [ "$thr" -ge $((onset + MAXLAG - lag0 - 150)) ] \
            || fail "throttle came before the lag could reach --max-lag ($((thr - onset)) ms after onset)"
    fi
    e_replica_start
    released_at_least 1 30 || fail "the throttle was not released"

    note "---- 2. load"
    # the replica may lag on a busy machine, and lag comes first in the
    # throttle's rules: lift --max-lag so that the reason seen is the load
    # (osc set, while it runs)
    ctl set --table $T max-lag=120s | grep -q '^ok' || fail "osc set max-lag"
    for ((i = 0; i < $(e_pick 4 6); i++)); do
        if [ "$ENGINE" = pg ]; then
            psql -XAtq -c "SELECT pg_sleep(4)" >/dev/null 2>&1 &
        else
            mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_PORT" -uroot -e "SELECT SLEEP(4)" >/dev/null 2>&1 &
        fi
        SLEEPERS+=($!)
    done
    wait_for_text "$(e_pick '"throttled: active_sessions is [0-9]+ \(--max-load active_sessions=2\)' \
                            '"throttled: Threads_running is [0-9]+ \(--max-load Threads_running=4\)')" 5 "$TEST_TMP/o.err" \
        || fail "the sleeping sessions did not throttle at --max-load"
    released=$(grep -c '"throttle released after' "$TEST_TMP/o.err")
    frozen=$(rows_frozen $T 1.5) || fail "the copy went on above --max-load ($frozen)"
    note "rows frozen at $frozen under the load"
    grep -qE "$(e_pick '"load":\{"active_sessions":[0-9]*,"wal_bytes_per_sec":' '"load":\{"Threads_running":[0-9]*')" \
        <<<"$(status_json $T)" || fail "status shows no load"
    wait "${SLEEPERS[@]}" 2>/dev/null
    SLEEPERS=()
    released_at_least $((released + 1)) 5 || fail "not released when the load went away"

    note "---- 3. the operator's pause"
    ctl pause --table $T | grep -q '^ok: paused' || fail "osc pause"
    frozen=$(rows_frozen $T 1.5) || fail "the copy went on while paused ($frozen)"
    [ "$frozen" -lt "$est" ] || fail "the copy had finished before the pause ($frozen rows)"
    note "rows frozen at $frozen while paused"
    ctl resume --table $T | grep -q '^ok: resumed' || fail "osc resume"
    # the three cases are done: the rest of the copy need not crawl (the
    # chunks grow by half each from here; OSC_FAULT still adds 100 ms each)
    ctl set --table $T chunk-time=2s chunk-size-max=100000 | grep -q '^ok' || fail "osc set"

    osc_bg_wait 240
    [ "$OSC_BG_RC" = 0 ] || fail "osc exited $OSC_BG_RC"
    sleep 1
    e_stop_writer
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "id, v, n, extra, pad, c"
    e_no_leftovers $T
    [ "$ENGINE" = my ] && assert_eq 0 "$(my_has_table "${T}_osc_hb")" "the heartbeat table is gone"
    e_wait_replica_caught_up 60
}

for_each_engine throttle_test
echo "ok"
