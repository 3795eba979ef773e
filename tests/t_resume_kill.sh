#!/usr/bin/env bash
# Crash-safe resume, on PostgreSQL (state in osc.migrations) and MariaDB
# (_osc_migrations), one body:
#  A. SIGKILL osc at random moments of the copy (three on PostgreSQL, two on
#     MariaDB, the last one after the copy's first checkpoint; one each in
#     the sanitizer pass; seeds printed, RESUME_SEED=N repeats a run) under
#     the mirrored writer, which runs across the kill
#     (the capture trigger stays installed while osc is down, so no change is
#     lost); the same command resumes from the checkpoint, says so, and the
#     result equals the mirror with the ALTER;
#  B. without the writer, nothing is copied twice: rows copied before the
#     kill + rows copied by the resumed run = rows in the table (printed, must
#     be 0); the time the rerun took to decide to resume is printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"
base=${RESUME_SEED:-$RANDOM}
note "resume seed=$base (RESUME_SEED=$base repeats this run)"
SAN=0
case $OSC in *san*) SAN=1 ;; esac

# finish_equal T R: the ALTER applied to the mirror, both equal, nothing left behind
finish_equal() {
    assert_eq 1 "$(e_has_column "$1" c)" "$1 has column c"
    e_alter_ref "$2" "$ALTER"
    e_tables_equal "$1" "$2" "$COLS, c"
    e_no_leftovers "$1"
}

# stop_all MSG: stop the writer (if any) and fail
stop_all() {
    [ -n "$WRITER_PID" ] && { kill -TERM "$WRITER_PID" 2>/dev/null; wait "$WRITER_PID" 2>/dev/null; WRITER_PID=; }
    fail "$1"
}

# ---- A: SIGKILL mid-copy, under the writer ----
kill_rounds() {
    local rounds i j seed delay when T R outcome phase copied ntrig copied_seen=0
    rounds=$(e_pick 3 2)
    [ "$SAN" = 1 ] && rounds=1
    for ((i = 1; i <= rounds; i++)); do
        seed=$(((base + (i - 1) * 7919) % 32768))
        # the last round is killed at a random moment after the copy's first
        # checkpoint, so that one round at least resumes a copy (osc takes
        # from 0.5 to over 2 s to reach the copy, more in the sanitizer build)
        delay=$((500 + seed % 2001)) when="after ${delay} ms"
        ((i == rounds)) && delay=$((seed % 1001)) when="${delay} ms after the first checkpoint"
        T=t_resume_kill_${ENGINE}_$i R=t_resume_kill_${ENGINE}_${i}_ref
        note "---- A$i: seed=$seed, SIGKILL $when ----"
        e_fixture $T $R 40000
        e_start_writer $T $R
        sleep 0.3
        # 200 chunks of 200 rows, each cycle at least 20 ms longer (OSC_FAULT=chunk):
        # the copy outlasts the longest delay however fast the machine (CI once
        # finished a 40,000-row copy and swapped within 1.8 s)
        OSC_FAULT=chunk:20 e_osc_bg "$TEST_TMP/$T.k.out" "$TEST_TMP/$T.k.err" --table $T --alter "$ALTER" \
            --chunk-size 200 --chunk-size-max 200 --log-format json
        if ((i == rounds)); then
            for ((j = 0; j < 600; j++)); do
                [ "$(e_state $T rows_copied)" -gt 0 ] 2>/dev/null && break
                kill -0 "$OSC_BG_PID" 2>/dev/null || break
                sleep 0.05
            done
        fi
        sleep_ms $delay
        if ! osc_bg_kill KILL; then
            tail -n 20 "$TEST_TMP/$T.k.err" >&2
            stop_all "osc ended before the SIGKILL $when: the test needs a longer copy"
        fi
        note "osc killed $when; its last lines:"
        tail -n 3 "$TEST_TMP/$T.k.err" | sed 's/^/#   /'
        e_wait_sessions_at_most 1
        [ "$(e_has_column $T c)" = 0 ] || stop_all "$T has column c after a kill mid-copy: the swap must not have happened"
        outcome=$(e_state $T outcome) phase=$(e_state $T phase) copied=$(e_state $T rows_copied)
        note "state after the kill: outcome=$outcome phase=$phase rows_copied=$copied"
        case $outcome in
        running) ;;
        stopped) [ "$ENGINE" = pg ] || stop_all "state outcome '$outcome' after a kill mid-copy, expected running" ;;
        "")
            # killed before the migration's row: no shadow either
            [ "$ENGINE" = pg ] || [ "$(my_has_table ${T}_osc_new)" = 0 ] || stop_all "a shadow without a state row after the kill" ;;
        *) stop_all "state outcome '$outcome' after a kill mid-copy, expected running" ;;
        esac
        if [ "${copied:-0}" -gt 0 ]; then
            copied_seen=$((copied_seen + 1))
            case $phase in
            copy) ;;
            index | catch-up | cutover) note "(the kill came after the copy, in phase $phase)" ;;
            *) stop_all "phase '$phase' after a kill before the swap" ;;
            esac
            # (PostgreSQL: one or more; MariaDB: one per event)
            ntrig=$(e_capture_triggers $T)
            if [ "$ENGINE" = pg ]; then [ "$ntrig" -ge 1 ]; else [ "$ntrig" = 3 ]; fi \
                || stop_all "the capture trigger is gone while osc is down ($ntrig left): changes would be lost"
        fi
        sleep 0.5                                   # writes while osc is down
        e_tables_equal $T $R "$COLS"                # one statement each: the writer changes both in one transaction

        e_run_osc --table $T --alter "$ALTER" --chunk-size 200 --chunk-size-max 200 --log-format json
        [ "$OSC_RC" = 0 ] || stop_all "the rerun exited $OSC_RC, expected 0"
        if [ "${copied:-0}" -gt 0 ]; then
            grep -q "resuming the migration" "$OSC_OUT" "$OSC_ERR" || stop_all "the rerun does not say it is resuming"
        fi
        done_counts "$OSC_OUT" "$OSC_ERR" || stop_all "no 'migration complete: N rows copied (M in this run), K changes replayed' message"
        note "rerun: $DONE_TOTAL rows copied in all, $DONE_RUN in this run, $DONE_CHANGES changes replayed"
        sleep 0.5
        e_stop_writer
        assert_eq "done" "$(e_state $T outcome)" "state outcome after the rerun"
        assert_eq "done" "$(e_state $T phase)" "state phase after the rerun"
        [ -z "$outcome" ] || assert_eq 2 "$(e_state $T runs)" "runs in the state row"
        finish_equal $T $R
    done
    [ "$copied_seen" -ge 1 ] || fail "no round was killed after rows were copied (rows_copied > 0): the copy is too fast or the checkpoint is missing"
}

# ---- B: without the writer, nothing is copied twice ----
no_writer() {
    local T=t_resume_kill_${ENGINE}_nw R=t_resume_kill_${ENGINE}_nw_ref total before runs decided twice rows=40000
    [ "$SAN" = 1 ] && rows=20000
    note "---- B: without the writer ----"
    e_fixture $T $R $rows
    total=$(e_q "SELECT COUNT(*) FROM $T")
    OSC_FAULT=chunk:20 e_osc_bg "$TEST_TMP/nw.out" "$TEST_TMP/nw.err" --table $T --alter "$ALTER" \
        --chunk-size 300 --chunk-size-max 300 --log-format json
    for _ in $(seq 1 400); do
        [ "$(e_state $T rows_copied)" -gt 3000 ] 2>/dev/null && break
        kill -0 "$OSC_BG_PID" 2>/dev/null || break
        sleep 0.05
    done
    osc_bg_kill KILL || { tail -n 20 "$TEST_TMP/nw.err" >&2; fail "osc finished before the kill: the test needs a longer copy"; }
    e_wait_sessions_at_most 0
    before=$(e_state $T rows_copied)
    runs=$(e_state $T runs)
    note "killed with rows_copied=$before (runs=$runs) of $total"
    [ "${before:-0}" -gt 0 ] || fail "rows_copied is '${before}' after a kill mid-copy: no checkpoint"
    [ "$before" -lt "$total" ] || fail "rows_copied=$before already covers the table at the kill"
    [ "$(e_has_column $T c)" = 0 ] || fail "$T has column c after the kill"

    e_run_osc --table $T --alter "$ALTER" --chunk-size 300 --chunk-size-max 300 --log-format json
    [ "$OSC_RC" = 0 ] || fail "the rerun exited $OSC_RC, expected 0"
    grep -q "resuming the migration" "$OSC_OUT" "$OSC_ERR" || fail "the rerun does not say it is resuming"
    decided=$(grep -ohE 'decided [0-9]+ms after start' "$OSC_OUT" "$OSC_ERR" | grep -oE '[0-9]+' | head -n 1)
    echo "$ENGINE: rerun decided to resume ${decided:-?}ms after it started"
    done_counts "$OSC_OUT" "$OSC_ERR" || fail "no 'migration complete: N rows copied (M in this run), K changes replayed' message"
    twice=$((before + DONE_RUN - total))
    echo "$ENGINE: rows copied twice: $twice (before the kill $before + this run $DONE_RUN, table $total)"
    assert_eq 0 "$twice" "rows copied twice (before the kill + in this run - rows in the table)"
    assert_eq "$total" "$DONE_TOTAL" "rows copied in all (reported)"
    assert_eq "$total" "$(e_state $T rows_copied)" "rows_copied in the state table"
    assert_eq 2 "$(e_state $T runs)" "runs in the state table"
    assert_eq "done" "$(e_state $T outcome)" "state outcome"
    finish_equal $T $R
}

resume_kill_test() {
    kill_rounds
    no_writer
}
for_each_engine resume_kill_test
echo ok
