#!/usr/bin/env bash
# A second osc on a table that a running osc holds exits 3 at once, naming the
# holder (its host and pid), and changes nothing.  SIGTERM then stops the
# running osc at the next chunk: exit 3, everything needed to resume kept
# (trigger, work schema, state row 'stopped'), the original intact and equal to
# the mirror.  The same command run again resumes and finishes.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_overlap R=t_overlap_ref
ALTER="ADD COLUMN c int DEFAULT 1"
osc_state_forget $T
fixture int $T $R 200000
start_writer int $T $R
"$OSC" --strategy copy --table $T --alter "$ALTER" --chunk-size 100 --chunk-size-max 100 \
    --database "$OSC_PG_URL" --log-format json >"$OSC_OUT" 2>"$TEST_TMP/first.err" &
first=$!
for _ in $(seq 1 100); do
    grep -q '"phase":"copy"' "$TEST_TMP/first.err" && break
    sleep 0.1
done
grep -q '"phase":"copy"' "$TEST_TMP/first.err" || { kill $first; fail "the first osc did not reach the copy"; }

t0=$(date +%s%N)
run_osc --table $T --alter "ADD COLUMN d int"
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$OSC_RC" = 3 ] || { kill $first; fail "second osc exited $OSC_RC, expected 3"; }
grep -q "another osc run holds" "$OSC_ERR" || { kill $first; fail "the message does not name the holder"; }
grep -qw -- "$first" "$OSC_ERR" || { kill $first; fail "the message does not name the holder's pid ($first)"; }
grep -qF -- "$(hostname)" "$OSC_ERR" || { kill $first; fail "the message does not name the holder's host ($(hostname))"; }
[ "$took_ms" -lt 5000 ] || { kill $first; fail "the second osc took ${took_ms} ms to give up"; }
note "second osc refused in ${took_ms} ms"
kill -0 $first 2>/dev/null || fail "the first osc finished before the SIGTERM: the test needs a longer copy"

kill -TERM $first
rc=0; wait $first || rc=$?
tail -n 4 "$TEST_TMP/first.err" | sed 's/^/#   /'
[ "$rc" = 3 ] || { stop_writer; fail "osc exited $rc after SIGTERM, expected 3 (stopped, resumable)"; }
assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname IN ('c', 'd'))" \
    "the original has no new column"
[ "$(osc_work_schemas)" -ge 1 ] || { stop_writer; fail "the work schema is gone after SIGTERM: nothing to resume"; }
[ "$(osc_triggers $T)" -ge 1 ] || { stop_writer; fail "the capture trigger is gone after SIGTERM: changes would be lost"; }
assert_eq stopped "$(osc_state $T outcome)" "state outcome after SIGTERM"
sleep 0.5                                  # the writer goes on while osc is stopped
tables_equal $T $R "id, v, n, extra, pad"  # one statement each: the writer changes both in one transaction

run_osc --table $T --alter "$ALTER" --log-format json
[ "$OSC_RC" = 0 ] || { stop_writer; fail "the rerun after SIGTERM exited $OSC_RC, expected 0"; }
cat "$OSC_OUT" "$OSC_ERR" | grep -q "resuming" || { stop_writer; fail "the rerun after SIGTERM does not say it is resuming"; }
sleep 0.5
stop_writer
assert_eq "done" "$(osc_state $T outcome)" "state outcome after the rerun"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "id, v, n, extra, pad, c"
no_osc_leftovers $T
echo ok
