#!/usr/bin/env bash
# Live control over the socket, under the mirrored writer: osc pause stops the
# copy and osc resume restarts it; osc set changes limits while it runs (and
# a bad one changes nothing); --pause-file pauses; --postpone-cutover holds the
# swap (the shadow kept caught up) until osc cutover; status is answered at
# once in the middle of a long chunk; the socket is 0600; commands for a
# table with no run fail clearly.  The result equals the mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
T=t_ctl R=t_ctl_ref
ALTER="ADD COLUMN c int DEFAULT 5"
PAUSE=$TEST_TMP/pause
POSTPONE=$TEST_TMP/postpone

osc_state_forget $T
fixture int $T $R 100000
start_writer int $T $R
osc_bg "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table $T --alter "$ALTER" --chunk-time 50ms --chunk-size-max 1000 \
    --pause-file "$PAUSE" --postpone-cutover "$POSTPONE" --log-format json
wait_status_phase $T copy 30 || { cat "$TEST_TMP/o.err" >&2; fail "the copy did not start"; }
[ -f "$POSTPONE" ] || fail "--postpone-cutover did not create its flag file"

sock=$(grep -m1 -oE '"control socket: [^ ]+' "$TEST_TMP/o.err" | sed 's/.*: //')
[ -S "$sock" ] || fail "no control socket at '$sock'"
assert_eq 600 "$(stat -c %a "$sock")" "mode of the control socket"

# pause / resume
out=$(ctl pause --table $T) || fail "osc pause failed: $out"
grep -q '^ok: paused' <<<"$out" || fail "osc pause said: $out"
frozen=$(rows_frozen $T 2) || fail "the copy went on while paused ($frozen)"
st=$(status_json $T)
grep -q '"operator_paused":true' <<<"$st" || fail "status does not say paused: $st"
grep -q '"throttle_reason":"paused by the operator' <<<"$st" || fail "status gives no reason: $st"
ctl status --table $T --log-format text | grep -q '^throttle:  PAUSED for .*paused by the operator' \
    || fail "the text status does not say paused"
ctl resume --table $T | grep -q '^ok: resumed' || fail "osc resume failed"
for ((i = 0; i < 100; i++)); do
    after=$(rows_copied $T)
    [ "$after" -gt "$frozen" ] && break
    sleep 0.1
done
[ "$after" -gt "$frozen" ] || fail "the copy did not restart after osc resume ($frozen -> $after)"
note "paused at $frozen rows for 2 s, $after rows after resume"

# the pause file
touch "$PAUSE"
frozen=$(rows_frozen $T 2) || fail "the copy went on while the pause file existed ($frozen)"
grep -q "\"throttle_reason\":\"the pause file $PAUSE exists\"" <<<"$(status_json $T)" || fail "status does not name the pause file"
rm -f "$PAUSE"

# osc set: applied, shown; a bad pair changes nothing
ctl set --table $T chunk-time=20ms max-lag=3s >/dev/null || fail "osc set failed"
st=$(status_json $T)
assert_eq 20 "$(json_num "$st" chunk_time_ms)" "chunk_time_ms after osc set"
grep -q '"limits":{"max_lag_ms":3000' <<<"$st" || fail "max-lag not changed: $st"
if err=$(ctl set --table $T chunk-time=40ms bogus=1 2>&1); then fail "osc set with an unknown name succeeded"; fi
grep -q "unknown setting 'bogus'" <<<"$err" || fail "osc set error: $err"
assert_eq 20 "$(json_num "$(status_json $T)" chunk_time_ms)" "chunk_time_ms after a refused osc set"
grep -q '"msg":"osc set chunk-time=20ms max-lag=3s"' "$TEST_TMP/o.err" || fail "osc set is not in the log"
! grep -q 'osc set chunk-time=40ms' "$TEST_TMP/o.err" || fail "a refused osc set is in the log as if applied"

# the postponed cutover: copy done, changes still applied, no swap
wait_for_text '"cutover postponed' 120 "$TEST_TMP/o.err" || { tail -n 5 "$TEST_TMP/o.err" >&2; fail "no postponed cutover"; }
sleep 2
kill -0 "$OSC_BG_PID" 2>/dev/null || fail "osc did not wait at the swap"
[ "$(has_column $T c)" = f ] || fail "swapped although the cutover was postponed"
a1=$(json_num "$(status_json $T)" log_applied)
for ((i = 0; i < 100; i++)); do
    a2=$(json_num "$(status_json $T)" log_applied)
    [ "$a2" -gt "$a1" ] && break
    sleep 0.1
done
[ "$a2" -gt "$a1" ] || fail "changes were not applied while the cutover waited ($a1 -> $a2)"
ctl cutover --table $T | grep -q '^ok' || fail "osc cutover failed"
osc_bg_wait 60
[ "$OSC_BG_RC" = 0 ] || { tail -n 20 "$TEST_TMP/o.err" >&2; fail "osc exited $OSC_BG_RC"; }
grep -q 'cutover requested: swapping although' "$TEST_TMP/o.err" || fail "no message for osc cutover"
[ ! -S "$sock" ] || fail "the control socket outlived the run"
sleep 1
stop_writer
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra, pad, c"
no_osc_leftovers $T

# nothing runs: steering fails clearly, status falls back to the state table
if err=$(ctl pause --table $T 2>&1); then fail "osc pause with no run succeeded"; fi
grep -q "no running migration of $T answers on" <<<"$err" || fail "osc pause without a run said: $err"
ctl status --table $T --log-format text | grep -q 'outcome done' || fail "status without a run shows no history"

# status during a long chunk: a fixed 3000-row chunk of a slow volatile default
psql_q "CREATE OR REPLACE FUNCTION osc_test_slow() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT 1 FROM pg_sleep(0.001)'"
fixture int ${T}_slow ${R}_slow 6000
osc_state_forget ${T}_slow
osc_bg "$TEST_TMP/s.out" "$TEST_TMP/s.err" --table ${T}_slow --alter "ADD COLUMN s int DEFAULT osc_test_slow()" \
    --chunk-time 0 --chunk-size 3000 --log-format json
wait_status_phase ${T}_slow copy 30 || fail "the slow copy did not start"
worst=0 same=0 prev=
for _ in 1 2 3 4 5; do
    t0=$(date +%s%N)
    st=$(status_json ${T}_slow) || fail "no status during the chunk"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$ms" -gt "$worst" ] && worst=$ms
    grep -q '"phase":"copy"' <<<"$st" || fail "status: $st"
    rows=$(json_num "$st" rows_copied)
    [ "$rows" = "$prev" ] && same=$((same + 1))
    prev=$rows
    sleep 0.3
done
[ "$same" -ge 2 ] || fail "the statuses did not fall inside one chunk (the chunks are not long)"
note "MEASURED: osc status answered in at most $worst ms (client process included) during 3000-row chunks of ~3 s"
[ "$worst" -le 500 ] || fail "osc status took $worst ms during a chunk"
osc_bg_wait 120
[ "$OSC_BG_RC" = 0 ] || fail "the slow migration exited $OSC_BG_RC"
echo "ok"
