#!/usr/bin/env bash
# Crash-safe resume on MariaDB, from the state table _osc_migrations (src/my/my_state.c):
#  A. SIGKILL at two random moments of the copy (one in the sanitizer pass;
#     seeds printed; RESUME_SEED=N repeats a run) under the mirrored writer; the same command resumes from
#     the checkpoint, says so, and the result equals the mirror with the ALTER.
#  B. without the writer: rows copied before the kill + rows copied by the
#     resumed run = rows in the table (rows copied twice: printed, must be 0);
#     the time the rerun took to decide to resume is printed.
#  C. SIGTERM mid-copy under the writer: exit 3, the rerun resumes and finishes.
#  D. SIGKILL right after the swap's RENAME committed, before the state row says
#     so (swap-renamed: the rerun decides from the catalog) and after it
#     (swap-committed): the rerun only cleans up, exit 0, equal to the mirror.
#  E. schema drift while osc is stopped: refused with exit 2, nothing changed; a
#     different ALTER on the unfinished migration: exit 2; `osc cleanup` marks
#     the row aborted, the next run starts afresh; a finished migration reruns
#     as a no-op ("already done"); `osc history --table T` lists the runs.
#  F. an in-place (INSTANT) run writes a row too: its rerun is "already done".
. "$(dirname "$0")/lib.sh"
need_osc
need_my
ALTER="ADD COLUMN c INT DEFAULT 1"
COLS="id, v, n, extra, pad"
base=${RESUME_SEED:-$RANDOM}
note "resume seed=$base (RESUME_SEED=$base repeats this run)"

# my_state T FIELD: FIELD of T's newest state row (empty without one)
my_state() {
    [ "$(my_has_table _osc_migrations)" = 1 ] || return 0
    my_q "SELECT $2 FROM _osc_migrations WHERE table_name = $(my_ql "$1") ORDER BY id DESC LIMIT 1"
}
# my_state_forget T: a test run twice against the same server starts afresh
my_state_forget() {
    [ "$(my_has_table _osc_migrations)" = 1 ] || return 0
    my_q "DELETE FROM _osc_migrations WHERE table_name = $(my_ql "$1")" || fail "cannot reset the state rows of $1"
}
# fresh T R ROWS: the fixture, with no state row nor work table of an earlier
# run of this test against the same server
fresh() {
    my_state_forget "$1"
    my_q "DROP TABLE IF EXISTS $(my_qi "${1}_osc_new"), $(my_qi "${1}_osc_log"), $(my_qi "${1}_osc_hb")"
    my_fixture int "$1" "$2" "$3"
}
# my_capture_triggers T: osc's capture triggers on T
my_capture_triggers() {
    my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'osctest'
          AND EVENT_OBJECT_TABLE = $(my_ql "$1") AND TRIGGER_NAME LIKE $(my_ql "${1}_osc_%")"
}
# bg_osc OUT ERR ARGS...: osc in the background against MariaDB (pid in BG)
bg_osc() {
    local out=$1 err=$2
    shift 2
    "$OSC" "$@" --strategy copy --database "$OSC_MY_URL" >"$out" 2>"$err" &
    BG=$!
    note "osc $* (background, pid $BG)"
}
# wait_copied T N: until T's state row has more than N rows copied (or osc ended)
wait_copied() {
    local i
    for ((i = 0; i < 400; i++)); do
        [ "$(my_state "$1" rows_copied)" -gt "$2" ] 2>/dev/null && return 0
        kill -0 "$BG" 2>/dev/null || return 0
        sleep 0.05
    done
}
# kill_at_fault T POINT [ARGS...]: osc on T with OSC_FAULT=POINT (a 5 s pause
# there), SIGKILLed as soon as it says it reached the point
kill_at_fault() {
    local t=$1 point=$2 j
    shift 2
    OSC_FAULT=$point:5000 bg_osc "$TEST_TMP/$t.out" "$TEST_TMP/$t.err" --table "$t" --alter "$ALTER" "$@"
    for ((j = 0; j < 600; j++)); do
        grep -qs "fault injection" "$TEST_TMP/$t.out" "$TEST_TMP/$t.err" && break
        kill -0 $BG 2>/dev/null || break
        sleep 0.1
    done
    grep -qs "fault injection" "$TEST_TMP/$t.out" "$TEST_TMP/$t.err" \
        || { tail -n 20 "$TEST_TMP/$t.err" >&2; stop_all "osc never reached $point"; }
    kill -KILL $BG
    wait $BG 2>/dev/null
}
# stop_all MSG: stop the writer (if any) and fail
stop_all() {
    [ -n "$WRITER_PID" ] && { kill -TERM "$WRITER_PID" 2>/dev/null; wait "$WRITER_PID" 2>/dev/null; WRITER_PID=; }
    fail "$1"
}
# finish_equal T R: the ALTER applied to the mirror, both equal, nothing left behind
finish_equal() {
    assert_eq 1 "$(my_has_column "$1" c)" "$1 has column c"
    my_q "ALTER TABLE $2 ADD COLUMN c INT DEFAULT 1"
    my_tables_equal "$1" "$2" "$COLS, c"
    my_no_osc_leftovers "$1"
}

# ---- A: SIGKILL mid-copy, under the writer ----
# two kill rounds (CI time: t_resume_kill has three on PostgreSQL); the
# sanitizer pass (under 60 s): one, and 20,000-row tables in B and C
rounds=2 rows=40000
case $OSC in *san*) rounds=1 rows=20000 ;; esac
copied_seen=0
for ((i = 1; i <= rounds; i++)); do
    seed=$(((base + (i - 1) * 7919) % 32768))
    delay=$((600 + seed % 1501))
    T=t_my_resume_$i R=t_my_resume_${i}_ref
    note "---- A$i: seed=$seed, SIGKILL after ${delay} ms ----"
    fresh $T $R 40000
    start_mywriter int $T $R
    sleep 0.3
    # 200 chunks of 200 rows, each cycle at least 20 ms longer (OSC_FAULT=chunk):
    # the copy outlasts the longest delay however fast the machine (CI once
    # finished a 40,000-row copy and swapped within 1.8 s)
    OSC_FAULT=chunk:20 bg_osc "$TEST_TMP/$T.k.out" "$TEST_TMP/$T.k.err" --table $T --alter "$ALTER" --chunk-size 200 --chunk-size-max 200
    if [ "$i" = "$rounds" ] && [ "$copied_seen" = 0 ]; then
        # the last chance to kill with rows copied: a slow start (the
        # sanitizer build on a loaded machine) must not take it away, so the
        # random delay starts once the first chunk is checkpointed
        wait_copied $T 0
        delay=$((delay - 600))
        note "A$i: rows copied; SIGKILL ${delay} ms later"
    fi
    sleep_ms $delay
    kill -0 $BG 2>/dev/null || { tail -n 20 "$TEST_TMP/$T.k.err" >&2; stop_all "osc ended before the SIGKILL after ${delay} ms: the test needs a longer copy"; }
    kill -KILL $BG
    wait $BG 2>/dev/null
    my_wait_sessions_at_most 1
    [ "$(my_has_column $T c)" = 0 ] || stop_all "$T has column c after a kill mid-copy"
    outcome=$(my_state $T outcome) phase=$(my_state $T phase) copied=$(my_state $T rows_copied)
    note "state after the kill: outcome=$outcome phase=$phase rows_copied=$copied"
    if [ -z "$outcome" ]; then
        # killed before the migration's row: no shadow either
        [ "$(my_has_table ${T}_osc_new)" = 0 ] || stop_all "a shadow without a state row after the kill"
    else
        [ "$outcome" = running ] || stop_all "state outcome '$outcome' after a kill mid-copy, expected running"
    fi
    if [ "${copied:-0}" -gt 0 ]; then
        copied_seen=$((copied_seen + 1))
        [ "$(my_capture_triggers $T)" = 3 ] || stop_all "the capture triggers are gone while osc is down"
    fi
    sleep 0.5                                   # writes while osc is down
    run_osc_my --table $T --alter "$ALTER" --chunk-size 200 --chunk-size-max 200 --log-format json
    [ "$OSC_RC" = 0 ] || stop_all "the rerun exited $OSC_RC, expected 0"
    if [ "${copied:-0}" -gt 0 ]; then
        grep -q "resuming the migration" "$OSC_OUT" "$OSC_ERR" || stop_all "the rerun does not say it is resuming"
    fi
    done_counts "$OSC_OUT" "$OSC_ERR" || stop_all "no 'migration complete' message"
    note "rerun: $DONE_TOTAL rows copied in all, $DONE_RUN in this run, $DONE_CHANGES changes replayed"
    sleep 0.5
    stop_mywriter
    assert_eq done "$(my_state $T outcome)" "state outcome after the rerun"
    [ -z "$outcome" ] || assert_eq 2 "$(my_state $T runs)" "runs in the state row"
    finish_equal $T $R
done
[ "$copied_seen" -ge 1 ] || fail "no round was killed after rows were copied: the copy is too fast or the checkpoint is missing"

# ---- B: without the writer, nothing is copied twice ----
T=t_my_resume_nw R=t_my_resume_nw_ref
note "---- B: without the writer ----"
fresh $T $R $rows
total=$(my_q "SELECT COUNT(*) FROM $T")
OSC_FAULT=chunk:20 bg_osc "$TEST_TMP/nw.out" "$TEST_TMP/nw.err" --table $T --alter "$ALTER" --chunk-size 300 --chunk-size-max 300
wait_copied $T 3000
kill -0 $BG 2>/dev/null || fail "osc finished before the kill: the test needs a longer copy"
kill -KILL $BG
wait $BG 2>/dev/null
my_wait_sessions_at_most 0
before=$(my_state $T rows_copied)
note "killed with rows_copied=$before of $total"
[ "${before:-0}" -gt 0 ] && [ "$before" -lt "$total" ] || fail "rows_copied is '$before' after a kill mid-copy"
run_osc_my --table $T --alter "$ALTER" --chunk-size 300 --chunk-size-max 300 --log-format json
[ "$OSC_RC" = 0 ] || fail "the rerun exited $OSC_RC, expected 0"
grep -q "resuming the migration" "$OSC_OUT" "$OSC_ERR" || fail "the rerun does not say it is resuming"
decided=$(grep -ohE 'decided [0-9]+ms after start' "$OSC_OUT" "$OSC_ERR" | grep -oE '[0-9]+' | head -n 1)
echo "rerun decided to resume ${decided:-?}ms after it started"
done_counts "$OSC_OUT" "$OSC_ERR" || fail "no 'migration complete' message"
twice=$((before + DONE_RUN - total))
echo "rows copied twice: $twice (before the kill $before + this run $DONE_RUN, table $total)"
assert_eq 0 "$twice" "rows copied twice"
assert_eq "$total" "$DONE_TOTAL" "rows copied in all (reported)"
assert_eq "$total" "$(my_state $T rows_copied)" "rows_copied in the state row"
finish_equal $T $R

# ---- C: SIGTERM mid-copy, under the writer ----
T=t_my_resume_term R=t_my_resume_term_ref
note "---- C: SIGTERM ----"
fresh $T $R $rows
start_mywriter int $T $R
sleep 0.3
OSC_FAULT=chunk:20 bg_osc "$TEST_TMP/term.out" "$TEST_TMP/term.err" --table $T --alter "$ALTER" --chunk-size 200 --chunk-size-max 200
wait_copied $T 2000
kill -0 $BG 2>/dev/null || stop_all "osc finished before the SIGTERM"
kill -TERM $BG
rc=0
wait $BG || rc=$?
[ "$rc" = 3 ] || { tail -n 5 "$TEST_TMP/term.err" >&2; stop_all "osc exited $rc after SIGTERM, expected 3"; }
assert_eq stopped "$(my_state $T outcome)" "state outcome after SIGTERM"
[ "$(my_capture_triggers $T)" = 3 ] || stop_all "the capture triggers are gone after SIGTERM"
[ "$(my_has_table ${T}_osc_new)" = 1 ] || stop_all "the shadow is gone after SIGTERM"
sleep 0.5
run_osc_my --table $T --alter "$ALTER" --chunk-size 200 --chunk-size-max 200 --log-format json
[ "$OSC_RC" = 0 ] || stop_all "the rerun after SIGTERM exited $OSC_RC, expected 0"
grep -q "resuming the migration" "$OSC_OUT" "$OSC_ERR" || stop_all "the rerun after SIGTERM does not say it is resuming"
sleep 0.5
stop_mywriter
finish_equal $T $R

# ---- D: SIGKILL right after the swap committed ----
points="swap-renamed swap-committed"
case $OSC in *san*) points=swap-renamed ;; esac  # the sanitizer pass: the catalog's decision only
for point in $points; do
    T=t_my_resume_${point//-/_} R=t_my_resume_${point//-/_}_ref
    note "---- D: OSC_FAULT=$point ----"
    fresh $T $R 20000
    start_mywriter int $T $R
    sleep 0.3
    kill_at_fault $T $point --on-cutover "echo cutover-hook-fired"
    if [ $point = swap-committed ]; then
        grep -q "cutover-hook-fired" "$TEST_TMP/$T.out" "$TEST_TMP/$T.err" \
            && stop_all "--on-cutover fired before the fault point" || true
    fi
    assert_eq 1 "$(my_has_column $T c)" "$T has the new schema after a kill past the RENAME"
    assert_eq 1 "$(my_has_table ${T}_osc_old)" "the original is kept as ${T}_osc_old"
    note "state after the kill: phase=$(my_state $T phase) outcome=$(my_state $T outcome)"
    if [ $point = swap-renamed ]; then
        assert_eq cutover "$(my_state $T phase)" "the row does not say swapped yet (the rerun must read the catalog)"
    else
        assert_eq swapped "$(my_state $T phase)" "the row says swapped"
    fi
    sleep 0.3                                   # the writer goes on against the new table
    run_osc_my --table $T --alter "$ALTER" --log-format json
    [ "$OSC_RC" = 0 ] || stop_all "the rerun after $point exited $OSC_RC, expected 0"
    grep -q "the swap is done" "$OSC_OUT" "$OSC_ERR" || stop_all "the rerun after $point does not say the swap is done"
    grep -q "copying" "$OSC_OUT" "$OSC_ERR" && stop_all "the rerun after $point copied again"
    sleep 0.3
    stop_mywriter
    assert_eq done "$(my_state $T outcome)" "state outcome"
    finish_equal $T $R
done
# killed holding the swap's lock, before the RENAME: the original stays, the
# swap's sentry is left behind; the rerun resumes after the copy (the indexes
# are built already) and swaps
T=t_my_resume_swap_locked R=t_my_resume_swap_locked_ref
note "---- D: OSC_FAULT=swap-locked ----"
fresh $T $R 20000
start_mywriter int $T $R
sleep 0.3
kill_at_fault $T swap-locked
my_wait_sessions_at_most 1
assert_eq 0 "$(my_has_column $T c)" "$T is the original after a kill before the RENAME"
assert_eq cutover "$(my_state $T phase)" "state phase after a kill inside the swap"
sleep 0.3
run_osc_my --table $T --alter "$ALTER" --log-format json
[ "$OSC_RC" = 0 ] || stop_all "the rerun after swap-locked exited $OSC_RC, expected 0"
grep -q "resuming the migration" "$OSC_OUT" "$OSC_ERR" || stop_all "the rerun after swap-locked does not say it is resuming"
sleep 0.3
stop_mywriter
assert_eq 1 "$(my_has_index $T ${T}_n_idx)" "index ${T}_n_idx on the new $T"
finish_equal $T $R

# the hook fires on MySQL as on PostgreSQL
T=t_my_resume_hook R=t_my_resume_hook_ref
fresh $T $R 2000
expect_osc_my 0 --table $T --alter "$ALTER" --on-cutover "echo cutover-hook-fired" --on-success "echo success-hook-fired"
grep -q "cutover-hook-fired" "$OSC_OUT" "$OSC_ERR" || fail "--on-cutover did not fire"
grep -q "success-hook-fired" "$OSC_OUT" "$OSC_ERR" || fail "--on-success did not fire"

# ---- E: drift, another ALTER, cleanup, already done, history ----
T=t_my_resume_drift R=t_my_resume_drift_ref
note "---- E: refusals, cleanup, already done, history ----"
fresh $T $R $rows
bg_osc "$TEST_TMP/drift.out" "$TEST_TMP/drift.err" --table $T --alter "$ALTER" --chunk-size 200 --chunk-size-max 200
wait_copied $T 2000
kill -TERM $BG
rc=0
wait $BG || rc=$?
[ "$rc" = 3 ] || fail "osc exited $rc after SIGTERM, expected 3"
snap() { my_state $T "CONCAT_WS(' ', outcome, phase, rows_copied, runs, IFNULL(watermark, '-'))"; }
state_before=$(snap)
my_q "ALTER TABLE $T ADD COLUMN drift INT"
expect_osc_my 2 --table $T --alter "$ALTER"
grep -q "changed since its unfinished migration started" "$OSC_ERR" || fail "the drift refusal does not say why"
assert_eq "$state_before" "$(snap)" "the state row after the drift refusal"
assert_eq 3 "$(my_capture_triggers $T)" "capture triggers after the drift refusal"
assert_eq 1 "$(my_has_table ${T}_osc_new)" "the shadow after the drift refusal"
assert_eq 0 "$(my_has_column $T c)" "$T after the drift refusal"
my_q "ALTER TABLE $T DROP COLUMN drift"
expect_osc_my 2 --table $T --alter "ADD COLUMN d INT"
grep -q "has an unfinished migration" "$OSC_ERR" && grep -q "osc cleanup" "$OSC_ERR" \
    || fail "the refusal of another ALTER does not point at osc cleanup"
assert_eq "$state_before" "$(snap)" "the state row after refusing another ALTER"
assert_eq 0 "$(my_has_column $T d)" "$T after refusing another ALTER"
expect_osc_my 0 cleanup --table $T
assert_eq aborted "$(my_state $T outcome)" "state outcome after osc cleanup"
my_no_osc_leftovers $T
my_tables_equal $T $R "$COLS"
expect_osc_my 0 --table $T --alter "$ALTER" --log-format json
grep -q "resuming" "$OSC_OUT" "$OSC_ERR" && fail "the run after osc cleanup resumed instead of starting afresh"
assert_eq 2 "$(my_q "SELECT COUNT(*) FROM _osc_migrations WHERE table_name = '$T'")" "state rows of $T"
finish_equal $T $R
state_rows=$(my_q "SELECT COUNT(*) FROM _osc_migrations WHERE table_name = '$T'")
expect_osc_my 0 --table $T --alter "$ALTER" --log-format text
grep -q "already done" "$OSC_ERR" || fail "a finished migration's rerun does not say already done"
grep -qE "copying|shadow" "$OSC_ERR" && fail "a finished migration's rerun did work"
assert_eq "$state_rows" "$(my_q "SELECT COUNT(*) FROM _osc_migrations WHERE table_name = '$T'")" "state rows after a no-op rerun"
expect_osc_my 0 history --table $T --log-format text
cat "$OSC_OUT" | sed 's/^/#   /'
assert_eq 2 "$(grep -c "^#[0-9]* osctest.$T " "$OSC_OUT")" "runs listed by osc history --table $T"
grep -q "outcome aborted" "$OSC_OUT" && grep -q "outcome done" "$OSC_OUT" || fail "osc history lacks the aborted or the done run"
expect_osc_my 0 status --table $T --log-format text
grep -q "outcome done" "$OSC_OUT" || fail "osc status without a run does not show the last state"

expect_osc_my 2 --table _osc_migrations --alter "ADD COLUMN x INT"
assert_eq 0 "$(my_has_column _osc_migrations x)" "osc's state table after a run on it was refused"

# ---- F: in place ----
T=t_my_resume_inplace R=t_my_resume_inplace_ref
note "---- F: in place ----"
fresh $T $R 2000
OSC_STRATEGY=auto expect_osc_my 0 --table $T --alter "ADD COLUMN c2 INT"
grep -q "strategy: instant" "$OSC_ERR" || note "(the strategy was not instant: $(grep -o 'strategy: [a-z-]*' "$OSC_ERR" | head -n 1))"
assert_eq "done done" "$(my_state $T "CONCAT(phase, ' ', outcome)")" "state row of the in-place run"
OSC_STRATEGY=auto expect_osc_my 0 --table $T --alter "ADD COLUMN c2 INT" --log-format text
grep -q "already done" "$OSC_ERR" || fail "the in-place migration's rerun does not say already done"
echo ok
