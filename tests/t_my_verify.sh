#!/usr/bin/env bash
# MariaDB --verify: each chunk is compared with the original right after its
# copy, each merged batch of captured changes too, and the drain under the
# swap's lock, all under the concurrent mirrored writer (inserts, updates to
# NULL, key changes, deletes).
#  1. composite key, a shadow row damaged once during the copy
#     (OSC_FAULT=corrupt-shadow:once): caught and the chunk copied again,
#     no other (false) mismatch, verified chunks and merged batches
#     reported, the new table equal to the mirror;
#  2. type changes (INT -> BIGINT, INT -> DECIMAL, DATETIME -> DATETIME(3))
#     verify without a false mismatch; VARCHAR -> CHAR (trailing spaces) is
#     left out of the checksum with one warning;
#  3. damaged on every attempt (corrupt-shadow:always): exit 1 naming the key
#     range, no swap, the original equal to the mirror, nothing of osc left;
#  4. --verify count and none run.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_verify R=t_my_verify_ref
COLS="id, v, n, extra, pad"
ROWS=5000

no_false_mismatch() {
    grep -q 'differs' "$OSC_ERR" && fail "a false mismatch was reported"
    return 0
}

# 1. composite key, one-off damage: caught, copied again, the migration completes
my_fixture composite $T $R $ROWS
OSC_FAULT=corrupt-shadow:once my_migrate_with_writer composite $T $R "ADD COLUMN c INT NOT NULL DEFAULT 7" \
    --chunk-size 500
grep -q 'fault injection: set v to NULL in 1 row' "$OSC_ERR" || fail "the fault was not injected"
grep -q 'verification: the copy of keys from the start up to ([0-9]*, [0-9]*) differs from the original (.*checksums differ)); copying it again' \
    "$OSC_ERR" || fail "the damaged chunk was not caught and copied again"
[ "$(grep -c 'differs' "$OSC_ERR")" = 1 ] || fail "a false mismatch was reported besides the damaged chunk"
grep -qE 'verified \(checksum\): [1-9][0-9]* chunks and [1-9][0-9]* merged batches .* 1 re-copied after a difference' \
    "$OSC_ERR" || fail "no verification summary with chunks, merged batches and the one re-copy"
my_q "ALTER TABLE $R ADD COLUMN c INT NOT NULL DEFAULT 7" || fail "ALTER of the reference table"
my_tables_equal $T $R "a, b, v, n, extra, pad, c"
my_no_osc_leftovers $T

# 2. type changes: the original's side is cast to the shadow's types
my_fixture int $T $R $ROWS
for t in $T $R; do
    my_q "ALTER TABLE $t ADD COLUMN d DATETIME NULL DEFAULT '2021-02-03 04:05:06';
          UPDATE $t SET d = IF(id % 9 = 0, NULL, '2020-01-01' + INTERVAL id MINUTE), pad = IF(id % 5 = 0, '', pad)" \
        || fail "adding d to $t"
done
ALTER="MODIFY n BIGINT, MODIFY extra DECIMAL(12,2) NOT NULL DEFAULT 0, MODIFY d DATETIME(3) NULL DEFAULT '2021-02-03 04:05:06', MODIFY pad CHAR(200)"
my_migrate_with_writer int $T $R "$ALTER" --chunk-size 500
grep -q 'verified (checksum): [1-9][0-9]* chunks' "$OSC_ERR" || fail "no verification summary in the log"
no_false_mismatch
grep -q 'column pad (varchar(200) to char(200)) is left out of the checksum' "$OSC_ERR" \
    || fail "VARCHAR -> CHAR was not left out of the checksum"
[ "$(grep -c 'left out of the checksum' "$OSC_ERR")" = 1 ] || fail "a mappable column was left out of the checksum"
my_q "ALTER TABLE $R $ALTER" || fail "ALTER of the reference table"
my_tables_equal $T $R "$COLS, d"
my_no_osc_leftovers $T

# 3. persistent damage: abort before the swap, the original intact and serving
my_fixture int $T $R $ROWS
start_mywriter int $T $R
sleep 0.5
OSC_FAULT=corrupt-shadow:always run_osc_my --table $T --alter "ADD COLUMN c INT NOT NULL DEFAULT 7" --chunk-size 500
rc=$OSC_RC
sleep 0.5
stop_mywriter
[ "$rc" = 1 ] || fail "osc exited $rc with a persistent mismatch, expected 1"
grep -q 'verification: the copy of keys from the start up to ([0-9]*) differs from the original twice' "$OSC_ERR" \
    || fail "the abort does not name the key range"
grep -q 'swapped:' "$OSC_ERR" && fail "the swap happened"
assert_eq 0 "$(my_has_column $T c)" "$T has no column c (no swap)"
assert_eq 0 "$(my_has_table "${T}_osc_old")" "no ${T}_osc_old"
my_tables_equal $T $R "$COLS"
my_no_osc_leftovers $T

# 4. count and none
my_fixture int $T $R $ROWS
my_migrate_with_writer int $T $R "ADD COLUMN c INT NOT NULL DEFAULT 7" --verify count --chunk-size 500
grep -q 'verified (count): [1-9][0-9]* chunks' "$OSC_ERR" || fail "no count verification summary"
no_false_mismatch
my_q "ALTER TABLE $R ADD COLUMN c INT NOT NULL DEFAULT 7" || fail "ALTER of the reference table"
my_tables_equal $T $R "$COLS, c"
my_fixture int $T $R $ROWS
my_migrate_with_writer int $T $R "ADD COLUMN c INT NOT NULL DEFAULT 7" --verify none --chunk-size 500
grep -q 'verified (' "$OSC_ERR" && fail "--verify none verified"
my_q "ALTER TABLE $R ADD COLUMN c INT NOT NULL DEFAULT 7" || fail "ALTER of the reference table"
my_tables_equal $T $R "$COLS, c"
my_no_osc_leftovers $T
echo ok
