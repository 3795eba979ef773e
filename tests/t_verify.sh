#!/usr/bin/env bash
# --verify: each chunk is compared with the original in its own snapshot, and
# each merged batch of captured changes too, under a concurrent writer.
#  1. checksum on a type change with USING: no false mismatch, tables equal;
#     rows hashed by value, or by their text where a type has no hash
#     function (json) or is a container (an array);
#  2. a shadow row damaged once during the copy (OSC_FAULT=corrupt-shadow:once)
#     is caught and the chunk copied again: the run succeeds, tables equal;
#  3. damaged on every attempt (corrupt-shadow:always): the run aborts naming
#     the key range, the swap does not happen, the original is intact;
#  4. --verify count and none run too; a bad value is bad input.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_verify R=t_verify_ref
COLS="id, v, n, extra, pad"

fixture int $T $R 40000
migrate_with_writer int $T $R "ALTER COLUMN extra TYPE bigint USING extra * 10" --strategy copy --chunk-size 5000
psql_q "ALTER TABLE $R ALTER COLUMN extra TYPE bigint USING extra * 10"
grep -q 'verified (checksum): [1-9][0-9]* chunks and [0-9]* merged batches' "$OSC_ERR" \
    || fail "no verification summary in the log"
grep -q 'differs' "$OSC_ERR" && fail "a false mismatch was reported"
grep -q 'rows hashed by their values (hash_record_extended)' "$OSC_ERR" || fail "plain types were not hashed by value"
tables_equal $T $R "$COLS"
no_osc_leftovers $T

# 1b. a json column has no hash function, an array is hashed by its text too:
# the row's text is hashed, without a false mismatch
fixture int $T $R 20000
for t in $T $R; do
    psql_q "ALTER TABLE $t ADD COLUMN j json DEFAULT '{\"a\": [1, 2]}', ADD COLUMN arr int[] DEFAULT '{1,NULL,3}'"
done
migrate_with_writer int $T $R "ALTER COLUMN extra TYPE bigint" --strategy copy --chunk-size 5000
psql_q "ALTER TABLE $R ALTER COLUMN extra TYPE bigint"
grep -q 'rows hashed by their text (a column is an array' "$OSC_ERR" || fail "an array column did not fall back to the text"
grep -q 'differs' "$OSC_ERR" && fail "a false mismatch was reported (json, array)"
tables_equal $T $R "$COLS, j::text, arr"
no_osc_leftovers $T
fixture int $T $R 20000
for t in $T $R; do psql_q "ALTER TABLE $t ADD COLUMN j json DEFAULT '{\"a\": 1}'"; done
migrate_with_writer int $T $R "ADD COLUMN c int" --strategy copy --chunk-size 5000
psql_q "ALTER TABLE $R ADD COLUMN c int"
grep -q 'rows hashed by their text (a column.s type has no hash function' "$OSC_ERR" || fail "json did not fall back to the text"
grep -q 'differs' "$OSC_ERR" && fail "a false mismatch was reported (json)"
tables_equal $T $R "$COLS, j::text, c"
no_osc_leftovers $T

# 2. one-off damage: caught, re-copied, the migration completes
fixture int $T $R 30000
OSC_FAULT=corrupt-shadow:once migrate_with_writer int $T $R "ADD COLUMN c int DEFAULT 1" --strategy copy --chunk-size 5000
grep -q 'fault injection: set v to NULL in 1 row' "$OSC_ERR" || fail "the fault was not injected"
grep -q 'verification: the copy of keys from the start up to ([0-9]*) differs from the original' "$OSC_ERR" \
    || fail "the damaged chunk was not caught"
grep -q 'copying it again' "$OSC_ERR" || fail "the damaged chunk was not copied again"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T

# 3. persistent damage: abort, no swap, the original intact and serving
fixture int $T $R 30000
start_writer int $T $R
sleep 0.5
OSC_FAULT=corrupt-shadow:always run_osc --table $T --alter "ADD COLUMN c int DEFAULT 1" --strategy copy --chunk-size 5000
rc=$OSC_RC
sleep 0.5
stop_writer
[ "$rc" = 1 ] || fail "osc exited $rc with a persistent mismatch, expected 1"
grep -q 'verification: the copy of keys from the start up to ([0-9]*) differs from the original twice' "$OSC_ERR" \
    || fail "the abort does not name the key range"
grep -q 'swapped:' "$OSC_ERR" && fail "the swap happened"
[ "$(has_column $T c)" = f ] || fail "$T has column c: the swap happened"
tables_equal $T $R "$COLS"
no_osc_leftovers $T

# 4. count and none
fixture int $T $R 20000
migrate_with_writer int $T $R "ADD COLUMN c int DEFAULT 1" --strategy copy --verify count --chunk-size 5000
grep -q 'verified (count)' "$OSC_ERR" || fail "no count verification summary"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
fixture int $T $R 20000
migrate_with_writer int $T $R "ADD COLUMN c int DEFAULT 1" --strategy copy --verify none
grep -q 'verified (' "$OSC_ERR" && fail "--verify none verified"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
expect_osc 2 --table $T --alter "ADD COLUMN d int" --verify sometimes
grep -q -- '--verify: expected checksum, count or none' "$OSC_ERR" || fail "bad --verify not explained"
no_osc_leftovers $T
echo ok
