#!/usr/bin/env bash
# --window HH:MM:SS-HH:MM:SS (local time):
#  A. started outside the window: exit 3 at once, nothing created;
#  B. the window ends during the copy (writer running): osc stops like on
#     SIGTERM, exit 3, "window" in the log, trigger and work schema kept, state
#     'stopped'; run again inside a window, it resumes and finishes;
#  C. --window-wait with a window that opens in 3 s: osc waits, then finishes.
# Window ends are computed from one `date +%s` each, so they are right across
# midnight too; the test still keeps clear of midnight for the first part.
. "$(dirname "$0")/lib.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"
away_from_midnight

# ---- A: a window that ended a minute ago ----
T=t_window R=t_window_ref
osc_state_forget $T
fixture int $T $R 100000
now=$(date +%s)
win="$(hhmmss $((now - 120)))-$(hhmmss $((now - 60)))"
snap=$(schema_snapshot)
t0=$(date +%s%N)
run_osc --table $T --alter "$ALTER" --window "$win" --log-format json
took_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$OSC_RC" = 3 ] || fail "osc outside its window ($win) exited $OSC_RC, expected 3"
[ "$took_ms" -lt 5000 ] || fail "osc outside its window took ${took_ms} ms to exit"
cat "$OSC_OUT" "$OSC_ERR" | grep -q "window" || note "warning: the message does not mention the window"
assert_eq "$snap" "$(schema_snapshot)" "schema after a run outside the window"
assert_eq 0 "$(osc_state_rows $T)" "state rows after a run outside the window"
note "outside the window ($win, now $(hhmmss "$now")): exit 3 in ${took_ms} ms, nothing changed"

# ---- B: the window closes during the copy ----
start_writer int $T $R
sleep 0.3
now=$(date +%s)
win="$(hhmmss $((now - 10)))-$(hhmmss $((now + 3)))"
t0=$(date +%s%N)
osc_bg "$TEST_TMP/b.out" "$TEST_TMP/b.err" --table $T --alter "$ALTER" --window "$win" \
    --chunk-size 100 --chunk-size-max 100 --log-format json
osc_bg_wait 60
took_ms=$((($(date +%s%N) - t0) / 1000000))
note "window $win: osc exited $OSC_BG_RC after ${took_ms} ms; its last lines:"
tail -n 4 "$TEST_TMP/b.err" | sed 's/^/#   /'
[ "$OSC_BG_RC" = 3 ] || { stop_writer; fail "osc exited $OSC_BG_RC when its window closed, expected 3"; }
grep -q "window" "$TEST_TMP/b.out" "$TEST_TMP/b.err" || { stop_writer; fail "the log does not say that the window closed"; }
[ "$took_ms" -lt 15000 ] || { stop_writer; fail "osc took ${took_ms} ms to stop after a window that closed 3 s in"; }
[ "$(has_column $T c)" = f ] || { stop_writer; fail "$T has column c: osc swapped with less than 10 s of window left"; }
[ "$(osc_work_schemas)" -ge 1 ] || { stop_writer; fail "the work schema is gone after the window closed: nothing to resume"; }
[ "$(osc_triggers $T)" -ge 1 ] || { stop_writer; fail "the capture trigger is gone after the window closed: changes would be lost"; }
assert_eq stopped "$(osc_state $T outcome)" "state outcome after the window closed"
sleep 0.5                                  # the writer goes on while osc waits for its window
tables_equal $T $R "$COLS"
now=$(date +%s)
win="$(hhmmss $((now - 60)))-$(hhmmss $((now + 1200)))"
run_osc --table $T --alter "$ALTER" --window "$win" --log-format json
[ "$OSC_RC" = 0 ] || { stop_writer; fail "osc inside its window ($win) exited $OSC_RC, expected 0"; }
cat "$OSC_OUT" "$OSC_ERR" | grep -q "resuming" || { stop_writer; fail "the run in the next window does not say it is resuming"; }
sleep 0.5
stop_writer
assert_eq "done" "$(osc_state $T outcome)" "state outcome"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T

# ---- C: --window-wait, the window opens in 3 s ----
T=t_window_c R=t_window_c_ref
osc_state_forget $T
fixture int $T $R 20000
now=$(date +%s)
win="$(hhmmss $((now + 3)))-$(hhmmss $((now + 1200)))"
t0=$(date +%s%N)
osc_bg "$TEST_TMP/c.out" "$TEST_TMP/c.err" --table $T --alter "$ALTER" --window "$win" --window-wait --log-format json
sleep 1
kill -0 "$OSC_BG_PID" 2>/dev/null || { osc_bg_wait 1; tail -n 10 "$TEST_TMP/c.err" >&2; fail "osc --window-wait exited ($OSC_BG_RC) before its window opened"; }
[ "$(has_column $T c)" = f ] || fail "$T has column c before the window opened"
osc_bg_wait 60
took_ms=$((($(date +%s%N) - t0) / 1000000))
note "window $win with --window-wait: osc exited $OSC_BG_RC after ${took_ms} ms"
tail -n 3 "$TEST_TMP/c.err" | sed 's/^/#   /'
[ "$OSC_BG_RC" = 0 ] || fail "osc --window-wait exited $OSC_BG_RC, expected 0"
[ "$took_ms" -ge 2000 ] || fail "osc --window-wait finished after ${took_ms} ms: it did not wait for the window"
assert_eq t "$(has_column $T c)" "$T has column c"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T
echo ok
