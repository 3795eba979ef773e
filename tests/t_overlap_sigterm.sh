#!/usr/bin/env bash
# A second osc on a table that a running osc holds exits 3 at once, naming the
# holder, and changes nothing.  SIGTERM then stops the running osc: it removes
# its objects and exits 1, the original intact and equal to the mirror.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_overlap R=t_overlap_ref
fixture int $T $R 200000
start_writer int $T $R
"$OSC" --table $T --alter "ADD COLUMN c int DEFAULT 1" --chunk-size 100 --chunk-size-max 100 \
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
[ "$took_ms" -lt 5000 ] || { kill $first; fail "the second osc took ${took_ms} ms to give up"; }
note "second osc refused in ${took_ms} ms"
kill -0 $first 2>/dev/null || fail "the first osc finished before the SIGTERM: the test needs a longer copy"

kill -TERM $first
rc=0; wait $first || rc=$?
tail -n 4 "$TEST_TMP/first.err" | sed 's/^/#   /'
[ "$rc" = 1 ] || fail "osc exited $rc after SIGTERM, expected 1"
grep -q "interrupted" "$TEST_TMP/first.err" || fail "no word of the interruption"
assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname IN ('c', 'd'))" \
    "the original has no new column"
no_osc_leftovers $T
sleep 0.5
stop_writer
tables_equal $T $R "id, v, n, extra, pad"
echo ok
