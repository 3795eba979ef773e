#!/usr/bin/env bash
# MariaDB: SIGKILL osc in the middle of the copy: the original stays intact and
# serving, and `osc cleanup` removes what the run left.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_kill R=t_my_kill_ref
seed=${KILL_SEED:-$RANDOM}
delay_ms=$((500 + seed % 1501))
note "kill seed=$seed: SIGKILL after ${delay_ms} ms"

my_fixture int $T $R 100000
start_mywriter int $T $R
sleep 0.5
base=$(my_sessions)
"$OSC" --table $T --alter "ADD COLUMN c INT DEFAULT 1" --chunk-size 100 --chunk-size-max 100 \
    --database "$OSC_MY_URL" >"$OSC_OUT" 2>"$OSC_ERR" &
osc_pid=$!
sleep_ms "$delay_ms"
if ! kill -0 $osc_pid 2>/dev/null; then
    rc=0; wait $osc_pid || rc=$?
    tail -n 20 "$OSC_ERR" >&2
    stop_writer
    fail "osc exited ($rc) before the kill after ${delay_ms} ms: the test needs a longer copy"
fi
kill -KILL $osc_pid
wait $osc_pid 2>/dev/null
note "osc killed; its output:"; tail -n 5 "$OSC_OUT" "$OSC_ERR" 2>/dev/null | sed 's/^/#   /'
my_wait_sessions_at_most "$base"
sleep 1                      # the writer keeps going against the original
stop_writer

assert_eq 0 "$(my_has_column $T c)" "$T is still the original (no column c)"
assert_eq 1 "$(my_has_index $T "${T}_n_idx")" "index ${T}_n_idx on $T"
my_tables_equal $T $R "id, v, n, extra, pad"
my_q "INSERT INTO $T (id, v) VALUES (900000000, 'after kill');
      UPDATE $T SET v = 'upd' WHERE id = 900000000;
      DELETE FROM $T WHERE id = 900000000;" || fail "$T is not writable after the kill"

expect_osc_my 0 cleanup --table $T
my_no_osc_leftovers $T
assert_eq 0 "$(my_has_column $T c)" "$T is still the original after cleanup"
my_tables_equal $T $R "id, v, n, extra, pad"
my_q "INSERT INTO $T (id, v) VALUES (900000001, 'after cleanup'); DELETE FROM $T WHERE id = 900000001" \
    || fail "$T is not writable after cleanup"
echo "ok"
