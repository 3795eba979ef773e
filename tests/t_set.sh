#!/usr/bin/env bash
# osc set changes, while the run goes on, every limit the command line sets
# and the run can still use: chunk-time, chunk-size-max, max-lag,
# critical-lag, critical-interval, lock-timeout, cutover-retries,
# max-runtime, max-load and critical-load, including a load metric the run
# was not started with (read once first, then watched).  A bad name or
# value is bad input: exit 2, and nothing of the request is applied.  On
# PostgreSQL and MariaDB, under the mirrored writer; the result equals the
# mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
command -v jq >/dev/null || fail "jq is needed to read the status"

# lim T KEY: a field of the status's limits
lim() { status_json "$1" | jq -c ".limits.$2"; }

# expect_set_bad T PAIR...: osc set exits 2 and says why
expect_set_bad() {
    local t=$1 rc=0 err
    shift
    err=$(ctl set --table "$t" "$@" 2>&1 >/dev/null) || rc=$?
    assert_eq 2 "$rc" "exit status of osc set $*"
    grep -q 'nothing was changed' <<<"$err" || fail "osc set $*: $err"
    echo "$err"
}

set_test() {
    local T=t_set_$ENGINE R=t_set_${ENGINE}_ref PAUSE=$TEST_TMP/pause-$ENGINE err
    local metric=$(e_pick wal_bytes_per_sec Threads_running)
    e_fixture $T $R 3000
    e_start_writer $T $R
    : >"$PAUSE"
    e_osc_bg "$TEST_TMP/o-$ENGINE.out" "$TEST_TMP/o-$ENGINE.err" --table $T --alter "ADD COLUMN c int DEFAULT 5" \
        --pause-file "$PAUSE" --log-format json --chunk-size 100
    for _ in $(seq 1 300); do
        status_json $T 2>/dev/null | grep -q '"throttle_reason":"the pause file' && break
        sleep 0.1
    done
    status_json $T | grep -q '"throttle_reason":"the pause file' || fail "the run is not held by its pause file"

    ctl set --table $T chunk-time=30ms chunk-size-max=400 lock-timeout=3s cutover-retries=7 max-runtime=1h \
        critical-interval=2s >/dev/null || fail "osc set failed"
    assert_eq '{"max_lag_ms":1500,"critical_lag_ms":0,"critical_interval_ms":2000,"chunk_size_max":400,"lock_timeout_ms":3000,"cutover_retries":7,"max_runtime_ms":3600000,"max_load":{},"critical_load":{}}' \
        "$(status_json $T | jq -c '.limits | .max_lag_ms = 1500')" "the limits after osc set"

    err=$(expect_set_bad $T bogus=1)
    grep -q "unknown setting 'bogus' (chunk-time, .*, max-runtime)" <<<"$err" || fail "unknown name: $err"
    expect_set_bad $T lock-timeout=soon >/dev/null
    expect_set_bad $T chunk-time=40ms cutover-retries=0 >/dev/null
    expect_set_bad $T max-load=$metric=x >/dev/null
    err=$(expect_set_bad $T lock-timeout=9s max-load=no_such_metric=5)
    grep -q "no_such_metric" <<<"$err" || fail "unknown metric: $err"
    expect_set_bad $T chunk-time >/dev/null
    assert_eq 3000 "$(lim $T lock_timeout_ms)" "lock-timeout after refused requests"
    assert_eq 7 "$(lim $T cutover_retries)" "cutover-retries after refused requests"
    assert_eq 30 "$(status_json $T | jq .chunk_time_ms)" "chunk-time after refused requests"
    assert_eq '{}' "$(lim $T max_load)" "max-load after refused requests"

    # a metric the run did not start with: read, watched, and it throttles
    ctl set --table $T max-load=$metric=0 >/dev/null || fail "osc set max-load=$metric=0 failed"
    assert_eq "{\"$metric\":0}" "$(lim $T max_load)" "max-load after osc set"
    status_json $T | jq -e ".load | has(\"$metric\")" >/dev/null || fail "the status shows no reading of $metric"
    # the pause file goes once the metric reads above its limit: the copy
    # of 3000 rows takes under a second, less than a rate's first two samples
    for _ in $(seq 1 200); do
        status_json $T 2>/dev/null | jq -e ".load[\"$metric\"] > 0" >/dev/null && break
        sleep 0.1
    done
    status_json $T | jq -e ".load[\"$metric\"] > 0" >/dev/null || fail "$metric never read above 0: $(status_json $T | jq -c .load)"
    rm -f "$PAUSE"
    local st=
    for _ in $(seq 1 200); do
        st=$(status_json $T 2>/dev/null) && grep -q "\"throttle_reason\":\"[^\"]*$metric" <<<"$st" && break
        sleep 0.1
    done
    grep -q "\"throttle_reason\":\"[^\"]*$metric" <<<"$st" || fail "the new metric does not throttle: $st"
    ctl set --table $T max-load=$metric=1e15 >/dev/null || fail "osc set max-load=$metric=1e15 failed"
    osc_bg_wait 120
    assert_eq 0 "$OSC_BG_RC" "exit status of the run"
    e_stop_writer
    grep -q "\"msg\":\"osc set max-load=$metric=0\"" "$TEST_TMP/o-$ENGINE.err" || fail "osc set is not in the log"
    e_alter_ref $R "ADD COLUMN c int DEFAULT 5"
    e_tables_equal $T $R "id, v, n, extra, pad, c"
    e_no_leftovers $T
}

for_each_engine set_test
echo ok
