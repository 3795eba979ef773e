#!/usr/bin/env bash
# The copy ends while the application keeps inserting above it.  The writer
# inserts new keys above the table's maximum about 450 times a second, and
# OSC_FAULT=chunk:200 makes every chunk cycle last 200 ms more, so about 90
# new rows sit above the watermark whenever a chunk looks.  A copy that
# waits for "no row left above the watermark" chases them for ever (a 10M-row
# bench run did so for minutes); osc's copy ends with the chunk that found
# fewer rows than its limit, and the replayer merges the later inserts.
# One body on PostgreSQL and MariaDB; --max-runtime turns a chase into a
# failure instead of a hang.  The result equals the mirror row for row.
# OSC_TEST_ENGINES="pg" (or "my") runs one engine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

converge_test() {
    local T=t_conv_$ENGINE R=t_conv_${ENGINE}_ref t0 took
    e_fixture $T $R 20000
    e_start_writer $T $R
    sleep 0.5
    t0=$(date +%s%N)
    export OSC_FAULT=chunk:200
    # chunks of 2500: the first alone, then waves of two (--threads 2,
    # the default), one cycle each
    e_expect_osc 0 --table $T --alter "ADD COLUMN c INT DEFAULT 1" \
        --chunk-size 2500 --chunk-size-max 2500 --max-runtime 60s --log-format json
    unset OSC_FAULT
    took=$(( ($(date +%s%N) - t0) / 1000000 ))
    sleep 1                      # the new table takes writes too
    e_stop_writer
    local chunks
    chunks=$(grep -c "pausing 200ms at chunk" "$OSC_ERR")
    note "osc took ${took} ms, ${chunks} chunk cycles"
    # 20000 rows in chunks of 2500 (and the rows inserted meanwhile): a few
    # cycles, not one per 200 ms of the writer's inserts
    [ "$chunks" -ge 4 ] || fail "only $chunks chunk cycles: the fault point did not slow the copy"
    [ "$chunks" -le 15 ] || fail "$chunks chunk cycles for 20000 rows: the copy chased the writer's inserts"
    assert_eq 1 "$(e_has_column $T c)" "$T has column c"
    e_tables_equal $T $R "id, v, n, extra, pad"
    e_no_leftovers $T
}

for_each_engine converge_test
echo "ok"
