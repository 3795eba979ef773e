#!/usr/bin/env bash
# A second signal aborts: osc removes its objects and exits 1, the original
# intact and equal to the mirror (the writer runs throughout), and the state row
# is no longer resumable, so the same command starts afresh and finishes.
# Deterministic: osc is stopped (SIGSTOP) while SIGTERM and SIGINT are sent, so
# both are pending when it continues (two SIGTERMs would merge into one).
. "$(dirname "$0")/lib.sh"
need_osc
T=t_resume_signal R=t_resume_signal_ref
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"
osc_state_forget $T
fixture int $T $R 100000
start_writer int $T $R
sleep 0.3
osc_bg "$TEST_TMP/a.out" "$TEST_TMP/a.err" --table $T --alter "$ALTER" \
    --chunk-size 100 --chunk-size-max 100 --log-format json
for _ in $(seq 1 100); do
    [ "$(osc_state $T rows_copied)" -gt 0 ] 2>/dev/null && break
    kill -0 "$OSC_BG_PID" 2>/dev/null || break
    sleep 0.05
done
kill -STOP "$OSC_BG_PID" 2>/dev/null || { stop_writer; fail "osc finished before the signals: the test needs a longer copy"; }
kill -TERM "$OSC_BG_PID"
kill -INT "$OSC_BG_PID"
kill -CONT "$OSC_BG_PID"
osc_bg_wait 60
note "osc after SIGTERM + SIGINT: exit $OSC_BG_RC; its last lines:"
tail -n 4 "$TEST_TMP/a.err" | sed 's/^/#   /'
[ "$OSC_BG_RC" = 1 ] || { stop_writer; fail "osc exited $OSC_BG_RC after two signals, expected 1 (aborted)"; }
[ "$(has_column $T c)" = f ] || { stop_writer; fail "$T has column c after the abort"; }
no_osc_leftovers $T
outcome=$(osc_state $T outcome)
case $outcome in aborted | failed) ;; *) stop_writer; fail "state outcome '$outcome' after an abort, expected aborted (or failed)" ;; esac
sleep 0.5
tables_equal $T $R "$COLS"                 # one statement each: the writer changes both in one transaction

run_osc --table $T --alter "$ALTER" --log-format json
[ "$OSC_RC" = 0 ] || { stop_writer; fail "the run after the abort exited $OSC_RC, expected 0"; }
cat "$OSC_OUT" "$OSC_ERR" | grep -q "resuming" && { stop_writer; fail "the run after an abort resumed it"; }
sleep 0.5
stop_writer
assert_eq "done" "$(osc_state $T outcome)" "state outcome"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T
echo ok
