#!/usr/bin/env bash
# SIGKILL osc in the middle of the copy: the original stays intact and serving,
# and `osc cleanup` removes what the run left.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_kill R=t_kill_ref
seed=${KILL_SEED:-$RANDOM}
delay_ms=$((500 + seed % 2001))
note "kill seed=$seed: SIGKILL after ${delay_ms} ms"

fixture int $T $R 200000
start_writer int $T $R
sleep 0.5
need_osc
"$OSC" --strategy copy --table $T --alter "ADD COLUMN c int DEFAULT 1" --chunk-size 200 --chunk-size-max 200 \
    --database "$OSC_PG_URL" >"$OSC_OUT" 2>"$OSC_ERR" &
osc_pid=$!
sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
if ! kill -0 $osc_pid 2>/dev/null; then
    wait $osc_pid; rc=$?
    tail -n 20 "$OSC_ERR" >&2
    stop_writer
    fail "osc exited ($rc) before the kill after ${delay_ms} ms: the test needs a longer copy"
fi
kill -KILL $osc_pid
wait $osc_pid 2>/dev/null
note "osc killed; its output:"; tail -n 5 "$OSC_OUT" "$OSC_ERR" 2>/dev/null | sed 's/^/#   /'
wait_osc_sessions_gone
sleep 1                      # the writer keeps going against the original
stop_writer

assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'c')" "$T is still the original (no column c)"
assert_eq "${T}_pkey" "$(pk_index_of $T)" "primary key index of $T"
tables_equal $T $R "id, v, n, extra, pad"
psql_q "INSERT INTO $T (id, v) VALUES (900000000, 'after kill');
        UPDATE $T SET v = 'upd' WHERE id = 900000000;
        DELETE FROM $T WHERE id = 900000000;" || fail "$T is not writable after the kill"

expect_osc 0 cleanup --table $T
no_osc_leftovers $T
tables_equal $T $R "id, v, n, extra, pad"
psql_q "INSERT INTO $T (id, v) VALUES (900000001, 'after cleanup'); DELETE FROM $T WHERE id = 900000001" \
    || fail "$T is not writable after cleanup"
echo "ok"
