#!/usr/bin/env bash
# The progress line on a terminal 80 columns wide (script(1) gives osc a
# pty; COLUMNS=80 is its width): every update rewrites the line in place
# (a carriage return, never a new line per update) and fits in 80 columns,
# percentage and ETA first, then the state: throttled by a pause file (rate
# and ETA say paused), paused by osc pause, copying, waiting for osc
# cutover.  A progress line ends only where a message interrupts it.  Under
# the mirrored writer; the result equals the mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
command -v script >/dev/null || fail "script(1) is needed for a terminal"
T=t_pline R=t_pline_ref
ALTER="ALTER COLUMN extra TYPE bigint"
PAUSE=$TEST_TMP/pause POSTPONE=$TEST_TMP/postpone TS=$TEST_TMP/typescript
fixture int $T $R 30000
start_writer int $T $R
: >"$PAUSE"
: >"$POSTPONE"
COLUMNS=80 script -qfec "$(printf '%q ' "$OSC" --table $T --alter "$ALTER" --database "$OSC_PG_URL" --strategy copy \
    --chunk-size 300 --chunk-size-max 300 --pause-file "$PAUSE" --postpone-cutover "$POSTPONE")" "$TS" \
    >/dev/null 2>&1 </dev/null &
OSC_BG_PID=$!
# a failed test: the run stops (script's terminal hangs up), what it made goes
stop_run() {
    local rc=$?
    if [ "$rc" != 0 ] && [ -n "${OSC_BG_PID:-}" ]; then
        kill -TERM "$OSC_BG_PID" 2>/dev/null
        wait "$OSC_BG_PID" 2>/dev/null
        "$OSC" cleanup --table $T --database "$OSC_PG_URL" >/dev/null 2>&1
    fi
    ctl_cleanup "$rc"
}
trap stop_run EXIT

# segments WORDS: progress updates so far that hold WORDS
segments() {
    local n=0
    [ -f "$TS" ] && n=$(tr '\r' '\n' <"$TS" | grep -c -- "$1")
    echo "${n:-0}"
}
# wait_segments WORDS N: until N updates hold WORDS (30 s at most)
wait_segments() {
    for _ in $(seq 1 300); do
        [ "$(segments "$1")" -ge "$2" ] && return 0
        kill -0 "$OSC_BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -c 600 "$TS" | cat -v >&2
    echo >&2
    fail "fewer than $2 progress updates with '$1'"
}

wait_segments "ETA paused | throttled | .* | rows/s paused |" 5
ctl pause --table $T >/dev/null || fail "osc pause"
rm -f "$PAUSE"
wait_segments "| paused (osc pause) |" 5
ctl resume --table $T >/dev/null || fail "osc resume"
wait_segments "| waiting for osc cutover |" 3
ctl cutover --table $T >/dev/null || fail "osc cutover"
osc_bg_wait 120
assert_eq 0 "$OSC_BG_RC" "exit status of the run"
stop_writer
grep -q 'migration complete' "$TS" || fail "the run did not complete: $(tail -n 3 "$TS")"
[ "$(segments '| copying |')" -ge 1 ] || fail "no progress update said copying"

# no progress update (between carriage returns and new lines, escape codes
# left out) is wider than 80 columns; messages are not cut (the terminal
# wraps them, once each, as it does any message)
python3 - "$TS" <<'PY' || fail "a line is wider than 80 columns, or progress updates took new lines"
import re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
raw = raw.split("\n", 1)[1]                      # script's own header
raw = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw)
wide = [s for s in re.split(r"[\r\n]", raw) if len(s) > 80 and "% ETA " in s]
if wide:
    sys.exit("wider than 80: %r" % wide[0])
# every line that ends with a progress update ends because a message follows
lines = raw.replace("\r\n", "\n").split("\n")
updates = sum(l.count("% ETA ") for l in lines)
broken = [l for l in lines if "% ETA " in l]
messages = [l for l in lines if l.startswith("osc: ") and "% ETA " not in l]
print("updates %d, lines holding updates %d, message lines %d" % (updates, len(broken), len(messages)))
if updates < 13 or len(broken) > len(messages):
    sys.exit("progress updates took new lines")
PY
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra, pad"
no_osc_leftovers $T
echo ok
