#!/usr/bin/env bash
# SIGKILL osc in the middle of the copy, under the mirrored writer, on
# PostgreSQL and on MariaDB (one body): the original stays intact and
# serving, and `osc cleanup` removes what the run left (tests/run.sh's
# sanitizer pass runs the PostgreSQL half).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
seed=${KILL_SEED:-$RANDOM}

kill_test() {
    local T=t_kill_$ENGINE R=t_kill_${ENGINE}_ref base osc_pid
    local delay_ms=$((500 + seed % 1501))
    note "kill seed=$seed: SIGKILL after ${delay_ms} ms"
    e_fixture $T $R 150000
    e_start_writer $T $R
    sleep 0.5
    base=$(e_sessions)
    # 1,500 chunks, each cycle at least 2 ms longer (OSC_FAULT=chunk): the copy
    # outlasts the longest delay however fast the machine
    OSC_FAULT=chunk:2 "$OSC" --strategy copy --table $T --alter "ADD COLUMN c INT DEFAULT 1" --chunk-size 100 --chunk-size-max 100 \
        --database "$ENG_URL" >"$OSC_OUT" 2>"$OSC_ERR" &
    osc_pid=$!
    sleep_ms "$delay_ms"
    if ! kill -0 $osc_pid 2>/dev/null; then
        local rc=0
        wait $osc_pid || rc=$?
        tail -n 20 "$OSC_ERR" >&2
        e_stop_writer
        fail "osc exited ($rc) before the kill after ${delay_ms} ms: the test needs a longer copy"
    fi
    kill -KILL $osc_pid
    wait $osc_pid 2>/dev/null
    note "osc killed; its output:"; tail -n 5 "$OSC_OUT" "$OSC_ERR" 2>/dev/null | sed 's/^/#   /'
    e_wait_sessions_at_most "$base"
    sleep 1                      # the writer keeps going against the original
    e_stop_writer

    assert_eq 0 "$(e_has_column $T c)" "$T is still the original (no column c)"
    assert_eq 1 "$(e_has_index $T "${T}_n_idx")" "index ${T}_n_idx on $T"
    e_tables_equal $T $R "id, v, n, extra, pad"
    e_q "INSERT INTO $T (id, v) VALUES (900000000, 'after kill');
         UPDATE $T SET v = 'upd' WHERE id = 900000000;
         DELETE FROM $T WHERE id = 900000000;" || fail "$T is not writable after the kill"

    e_expect_osc 0 cleanup --table $T
    e_no_leftovers $T
    assert_eq 0 "$(e_has_column $T c)" "$T is still the original after cleanup"
    e_tables_equal $T $R "id, v, n, extra, pad"
    e_q "INSERT INTO $T (id, v) VALUES (900000001, 'after cleanup'); DELETE FROM $T WHERE id = 900000001" \
        || fail "$T is not writable after cleanup"
}

for_each_engine kill_test
echo "ok"
