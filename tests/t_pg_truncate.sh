#!/usr/bin/env bash
# TRUNCATE of the original while osc runs (PostgreSQL).  A statement trigger
# logs it, and the replayer empties the new table at that point of the log:
# the rows truncated never come back, the rows written afterwards are all
# there.  Under the mirrored writer, the table and its mirror are truncated
# in one statement at three moments:
#   1. in the middle of the copy;
#   2. after the copy, while the cutover is postponed (indexes built);
#   3. inside the swap's transaction, before its lock (drained under it).
# Each run ends with exit 0 and the new table equal to the mirror.
. "$(dirname "$0")/lib.sh"
need_osc
ALTER="ALTER COLUMN n TYPE bigint"
COLS="id, v, n, extra, pad"

# truncate_both T R: both tables in one statement (the mirror stays exact)
truncate_both() {
    psql_q "TRUNCATE $1, $2" || fail "TRUNCATE $1, $2"
    note "truncated $1 and $2 ($(psql_q "SELECT count(*) FROM $1") rows left)"
}

finish() {
    local t=$1 r=$2
    osc_bg_wait 120
    [ "$OSC_BG_RC" = 0 ] || { tail -n 20 "$TEST_TMP/$t.err" >&2; stop_writer; fail "osc on $t exited $OSC_BG_RC, expected 0"; }
    grep -q 'TRUNCATE of public.'"$t"' was captured' "$TEST_TMP/$t.err" \
        || { stop_writer; fail "osc did not say it applied the TRUNCATE"; }
    sleep 0.5
    stop_writer
    tables_equal "$t" "$r" "$COLS"
    no_osc_leftovers "$t"
}

note "--- 1. TRUNCATE in the middle of the copy"
T=t_pg_trunc1 R=t_pg_trunc1_ref
fixture int $T $R 30000
osc_state_forget $T
start_writer int $T $R
sleep 0.3
OSC_FAULT=chunk:40 osc_bg "$TEST_TMP/$T.out" "$TEST_TMP/$T.err" --table $T --alter "$ALTER" \
    --chunk-size 1000 --chunk-size-max 1000 --log-format json
for _ in $(seq 1 200); do
    [ "$(osc_state $T rows_copied)" -ge 8000 ] 2>/dev/null && break
    sleep 0.05
done
[ "$(osc_state $T phase)" = copy ] || { stop_writer; fail "the copy was not under way (phase $(osc_state $T phase))"; }
note "rows copied so far: $(osc_state $T rows_copied)"
truncate_both $T $R
finish $T $R

note "--- 2. TRUNCATE after the copy, while the cutover waits"
T=t_pg_trunc2 R=t_pg_trunc2_ref
fixture int $T $R 20000
osc_state_forget $T
FLAG=$TEST_TMP/postpone
start_writer int $T $R
sleep 0.3
osc_bg "$TEST_TMP/$T.out" "$TEST_TMP/$T.err" --table $T --alter "$ALTER" --postpone-cutover "$FLAG" --log-format json
wait_for_text 'cutover postponed' 60 "$TEST_TMP/$T.err" || { stop_writer; fail "the cutover was never postponed"; }
truncate_both $T $R
wait_for_text 'was captured' 30 "$TEST_TMP/$T.err" || { stop_writer; fail "the TRUNCATE was not replayed while postponed"; }
rm -f "$FLAG"
finish $T $R

note "--- 3. TRUNCATE in the swap's transaction, before its lock"
T=t_pg_trunc3 R=t_pg_trunc3_ref
fixture int $T $R 20000
osc_state_forget $T
start_writer int $T $R
sleep 0.3
# osc waits before its lock until the TRUNCATE committed, however slow the machine
OSC_FAULT=swap-before-lock:$TEST_TMP/go osc_bg "$TEST_TMP/$T.out" "$TEST_TMP/$T.err" --table $T --alter "$ALTER" --log-format json
wait_for_text 'waiting at swap-before-lock' 60 "$TEST_TMP/$T.err" || { stop_writer; fail "the swap never started"; }
truncate_both $T $R
touch "$TEST_TMP/go"
finish $T $R
grep -q '[1-9][0-9]* late changes applied under the lock' "$TEST_TMP/$T.err" \
    || fail "the swap applied no late change: the TRUNCATE was not drained under its lock"
echo ok
