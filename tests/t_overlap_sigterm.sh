#!/usr/bin/env bash
# On PostgreSQL and MariaDB (one body), under the mirrored writer: a second
# osc on a table that a running osc holds exits 3 at once, naming the holder
# (PostgreSQL: its host and pid; MariaDB: its connection), and changes nothing.  SIGTERM then stops the running
# osc at the next chunk: exit 3, everything needed to resume kept (capture
# trigger(s), work schema or shadow, state row 'stopped'), the original intact
# and equal to the mirror.  The same command run again resumes and finishes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"

overlap_test() {
    local T=t_overlap_$ENGINE R=t_overlap_${ENGINE}_ref first t0 took_ms rc
    e_fixture $T $R 40000
    e_start_writer $T $R
    # 200 chunks, each cycle at least 20 ms longer: the copy outlasts what follows
    OSC_FAULT=chunk:20 "$OSC" --strategy copy --table $T --alter "$ALTER" --chunk-size 200 --chunk-size-max 200 \
        --database "$ENG_URL" --log-format json >"$OSC_OUT" 2>"$TEST_TMP/first.err" &
    first=$!
    for _ in $(seq 1 100); do
        grep -q '"phase":"copy"' "$TEST_TMP/first.err" && break
        sleep 0.1
    done
    grep -q '"phase":"copy"' "$TEST_TMP/first.err" || { kill $first; fail "the first osc did not reach the copy"; }

    t0=$(date +%s%N)
    e_run_osc --table $T --alter "ADD COLUMN d int"
    took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$OSC_RC" = 3 ] || { kill $first; fail "second osc exited $OSC_RC, expected 3"; }
    grep -q "another osc run holds" "$OSC_ERR" || { kill $first; fail "the message does not name the holder"; }
    if [ "$ENGINE" = pg ]; then
        grep -qw -- "$first" "$OSC_ERR" || { kill $first; fail "the message does not name the holder's pid ($first)"; }
        grep -qF -- "$(hostname)" "$OSC_ERR" || { kill $first; fail "the message does not name the holder's host ($(hostname))"; }
    else
        # (the server knows the lock's session, not the process behind it)
        grep -qE "another osc run holds osctest.$T \(connection [0-9]+ from 127\.0\.0\.1:[0-9]+" "$OSC_ERR" \
            || { kill $first; fail "the message does not name the holder's connection"; }
    fi
    [ "$took_ms" -lt 5000 ] || { kill $first; fail "the second osc took ${took_ms} ms to give up"; }
    note "second osc refused in ${took_ms} ms"
    # some rows checkpointed, so that the rerun has a copy to resume
    for _ in $(seq 1 400); do
        [ "$(e_state $T rows_copied)" -gt 2000 ] 2>/dev/null && break
        kill -0 $first 2>/dev/null || break
        sleep 0.05
    done
    kill -0 $first 2>/dev/null || fail "the first osc finished before the SIGTERM: the test needs a longer copy"

    kill -TERM $first
    rc=0; wait $first || rc=$?
    tail -n 4 "$TEST_TMP/first.err" | sed 's/^/#   /'
    [ "$rc" = 3 ] || { e_stop_writer; fail "osc exited $rc after SIGTERM, expected 3 (stopped, resumable)"; }
    assert_eq 0 "$(e_has_column $T c)" "the original has no column c"
    assert_eq 0 "$(e_has_column $T d)" "the original has no column d"
    if [ "$ENGINE" = pg ]; then
        [ "$(osc_work_schemas)" -ge 1 ] || { stop_writer; fail "the work schema is gone after SIGTERM: nothing to resume"; }
        [ "$(osc_triggers $T)" -ge 1 ] || { stop_writer; fail "the capture trigger is gone after SIGTERM: changes would be lost"; }
    else
        [ "$(e_capture_triggers $T)" = 3 ] || { stop_mywriter; fail "the capture triggers are gone after SIGTERM: changes would be lost"; }
        [ "$(my_has_table ${T}_osc_new)" = 1 ] || { stop_mywriter; fail "the shadow is gone after SIGTERM: nothing to resume"; }
    fi
    assert_eq stopped "$(e_state $T outcome)" "state outcome after SIGTERM"
    sleep 0.5                                  # the writer goes on while osc is stopped
    e_tables_equal $T $R "id, v, n, extra, pad"  # one statement each: the writer changes both in one transaction

    e_run_osc --table $T --alter "$ALTER" --log-format json
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "the rerun after SIGTERM exited $OSC_RC, expected 0"; }
    grep -q "resuming the migration" "$OSC_OUT" "$OSC_ERR" || { e_stop_writer; fail "the rerun after SIGTERM does not say it is resuming"; }
    sleep 0.5
    e_stop_writer
    assert_eq "done" "$(e_state $T outcome)" "state outcome after the rerun"
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "id, v, n, extra, pad, c"
    e_no_leftovers $T
}

for_each_engine overlap_test
echo ok
