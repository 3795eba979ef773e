#!/usr/bin/env bash
# SIGKILL osc in the middle of the copy, then run the same command again: it
# resumes from the checkpoint in osc.migrations and finishes.  The writer runs
# across the kill (the capture trigger stays installed while osc is down, so no
# change is lost) and the result equals the mirror with the ALTER applied.
# Three kill moments (one in the sanitizer pass; seeds printed; RESUME_SEED=N
# repeats a run), then one run
# without the writer that proves the resumed copy re-copies nothing:
# rows copied before the kill + rows copied by the resumed run = rows in the table.
. "$(dirname "$0")/lib.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"
base=${RESUME_SEED:-$RANDOM}
note "resume seed=$base (RESUME_SEED=$base repeats this run)"

# kill_mid_copy T DELAY_MS: start osc on T with small chunks (600 of 200 rows,
# each cycle at least 5 ms longer through OSC_FAULT=chunk: the copy outlasts the
# longest delay however fast the machine), SIGKILL it after DELAY_MS; with
# AFTER_COPY=1 the delay starts once a chunk is checkpointed (a slow start,
# the sanitizer build on a loaded machine, cannot take the kill's rows away)
kill_mid_copy() {
    local t=$1 delay=$2 j
    OSC_FAULT=chunk:5 osc_bg "$TEST_TMP/$t.k.out" "$TEST_TMP/$t.k.err" --table "$t" --alter "$ALTER" \
        --chunk-size 200 --chunk-size-max 200 --log-format json
    if [ "${AFTER_COPY:-0}" = 1 ]; then
        for ((j = 0; j < 600; j++)); do
            [ "$(osc_state "$t" rows_copied)" -gt 0 ] 2>/dev/null && break
            kill -0 "$OSC_BG_PID" 2>/dev/null || break
            sleep 0.05
        done
        note "rows copied; the SIGKILL comes ${delay} ms later"
    fi
    sleep_ms "$delay"
    if ! osc_bg_kill KILL; then
        wait "$OSC_BG_PID"; local rc=$?
        tail -n 20 "$TEST_TMP/$t.k.err" >&2
        [ -n "$WRITER_PID" ] && stop_writer
        fail "osc exited ($rc) before the SIGKILL after ${delay} ms: the test needs a longer copy"
    fi
    note "osc killed after ${delay} ms; its last lines:"
    tail -n 3 "$TEST_TMP/$t.k.err" | sed 's/^/#   /'
}

copied_seen=0
rounds=3
case $OSC in *san*) rounds=1 ;; esac   # the sanitizer pass: one kill round (and the run without the writer)
for i in $(seq 1 $rounds); do
    seed=$(((base + (i - 1) * 7919) % 32768))
    delay=$((500 + seed % 2001))
    # the last round, when no earlier one killed with rows copied: after them
    AFTER_COPY=0
    [ "$i" = "$rounds" ] && [ "$copied_seen" = 0 ] && { AFTER_COPY=1; delay=$((seed % 1501)); }
    T=t_resume_kill_$i R=t_resume_kill_${i}_ref
    note "---- round $i: seed=$seed, SIGKILL after ${delay} ms ----"
    osc_state_forget $T
    fixture int $T $R 120000
    start_writer int $T $R
    sleep 0.3
    AFTER_COPY=$AFTER_COPY kill_mid_copy $T $delay

    [ "$(has_column $T c)" = f ] || { stop_writer; fail "$T has column c after the kill: the swap must not have happened"; }
    outcome=$(osc_state $T outcome)
    phase=$(osc_state $T phase)
    copied=$(osc_state $T rows_copied)
    note "state after the kill: outcome=$outcome phase=$phase rows_copied=$copied"
    if [ -n "$outcome" ]; then
        case $outcome in running | stopped) ;; *) stop_writer; fail "state outcome '$outcome' after a kill mid-copy, expected running" ;; esac
    fi
    if [ "${copied:-0}" -gt 0 ]; then
        copied_seen=$((copied_seen + 1))
        case $phase in
        copy) ;;
        index | catch-up | cutover) note "(the kill came after the copy, in phase $phase)" ;;
        *) stop_writer; fail "phase '$phase' after a kill before the swap" ;;
        esac
        [ "$(osc_triggers $T)" -ge 1 ] || { stop_writer; fail "the capture trigger is gone while osc is down: changes would be lost"; }
    fi
    sleep 0.5                                  # writes while osc is down
    tables_equal $T $R "$COLS"                 # one statement each: the writer changes both in one transaction

    run_osc --table $T --alter "$ALTER" --log-format json
    [ "$OSC_RC" = 0 ] || { stop_writer; fail "the rerun exited $OSC_RC, expected 0"; }
    if [ "${copied:-0}" -gt 0 ]; then
        cat "$OSC_OUT" "$OSC_ERR" | grep -q "resuming" || { stop_writer; fail "the rerun does not say it is resuming"; }
    fi
    done_counts "$OSC_OUT" "$OSC_ERR" || { stop_writer; fail "no 'migration complete: N rows copied (M in this run), K changes replayed' message"; }
    note "rerun: $DONE_TOTAL rows copied in all, $DONE_RUN in this run, $DONE_CHANGES changes replayed"
    sleep 0.5
    stop_writer
    assert_eq t "$(has_column $T c)" "$T has column c"
    assert_eq "done" "$(osc_state $T outcome)" "state outcome after the rerun"
    assert_eq "done" "$(osc_state $T phase)" "state phase after the rerun"
    psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
    tables_equal $T $R "$COLS, c"
    no_osc_leftovers $T
done
[ "$copied_seen" -ge 1 ] || fail "no round was killed after rows were copied (rows_copied > 0): the copy is too fast or the checkpoint is missing"

# ---- no writer: nothing is copied twice ----
T=t_resume_kill_nw R=t_resume_kill_nw_ref
note "---- without the writer ----"
osc_state_forget $T
fixture int $T $R 100000
total=$(psql_q "SELECT count(*) FROM $T")
OSC_FAULT=chunk:5 osc_bg "$TEST_TMP/nw.out" "$TEST_TMP/nw.err" --table $T --alter "$ALTER" \
    --chunk-size 300 --chunk-size-max 300 --log-format json
for _ in $(seq 1 200); do
    [ "$(osc_state $T rows_copied)" -gt 3000 ] 2>/dev/null && break
    kill -0 "$OSC_BG_PID" 2>/dev/null || break
    sleep 0.05
done
osc_bg_kill KILL || { tail -n 20 "$TEST_TMP/nw.err" >&2; fail "osc finished before the kill: the test needs a longer copy"; }
before=$(osc_state $T rows_copied)
runs=$(osc_state $T runs)
note "killed with rows_copied=$before (runs=$runs) of $total"
[ "${before:-0}" -gt 0 ] || fail "rows_copied is '${before}' after a kill mid-copy: no checkpoint"
[ "$before" -lt "$total" ] || fail "rows_copied=$before already covers the table at the kill"
[ "$(has_column $T c)" = f ] || fail "$T has column c after the kill"

run_osc --table $T --alter "$ALTER" --log-format json
[ "$OSC_RC" = 0 ] || fail "the rerun exited $OSC_RC, expected 0"
cat "$OSC_OUT" "$OSC_ERR" | grep -q "resuming" || fail "the rerun does not say it is resuming"
done_counts "$OSC_OUT" "$OSC_ERR" || fail "no 'migration complete: N rows copied (M in this run), K changes replayed' message"
twice=$((before + DONE_RUN - total))
echo "rows copied twice: $twice"
note "before the kill $before + this run $DONE_RUN = $((before + DONE_RUN)); table $total; reported total $DONE_TOTAL"
assert_eq 0 "$twice" "rows copied twice (before the kill + in this run - rows in the table)"
assert_eq "$total" "$DONE_TOTAL" "rows copied in all (reported)"
assert_eq "$total" "$(osc_state $T rows_copied)" "rows_copied in the state table"
assert_eq 2 "$(osc_state $T runs)" "runs in the state table"
assert_eq "done" "$(osc_state $T outcome)" "state outcome"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T
echo ok
