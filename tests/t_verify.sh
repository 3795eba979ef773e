#!/usr/bin/env bash
# --verify: each chunk is compared with the original right after its copy,
# each merged batch of captured changes too (and, on MariaDB, the drain
# under the swap's lock), all under the concurrent mirrored writer (inserts,
# updates to NULL, key changes, deletes).  On PostgreSQL and MariaDB, one body:
#  1. type changes verify without a false mismatch.  PostgreSQL: a type
#     change with USING, rows hashed by value; a json column (no hash
#     function) or an array: rows hashed by their text.  MariaDB: INT ->
#     BIGINT, INT -> DECIMAL, DATETIME -> DATETIME(3), the original's side
#     cast to the shadow's types; VARCHAR -> CHAR (trailing spaces) is left
#     out of the checksum with one warning;
#  2. a shadow row damaged once during the copy (OSC_FAULT=corrupt-shadow:once,
#     an integer key on PostgreSQL, a composite one on MariaDB): caught and the
#     chunk copied again, no other (false) mismatch, verified chunks and
#     merged batches reported, the new table equal to the mirror;
#  3. damaged on every attempt (corrupt-shadow:always): exit 1 naming the key
#     range, no swap, the original equal to the mirror, nothing of osc left;
#  4. --verify count and none run; a bad value is bad input.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
COLS="id, v, n, extra, pad"
ROWS=5000

no_false_mismatch() {
    grep -q 'differs' "$OSC_ERR" && fail "a false mismatch was reported"
    return 0
}

# 1. type changes
types_pg() {
    local T=$1 R=$2
    e_fixture $T $R $ROWS
    migrate_with_writer int $T $R "ALTER COLUMN extra TYPE bigint USING extra * 10" --chunk-size 500
    psql_q "ALTER TABLE $R ALTER COLUMN extra TYPE bigint USING extra * 10"
    grep -q 'verified (checksum): [1-9][0-9]* chunks and [0-9]* merged batches' "$OSC_ERR" \
        || fail "no verification summary in the log"
    no_false_mismatch
    grep -q 'rows hashed by their values (hash_record_extended)' "$OSC_ERR" || fail "plain types were not hashed by value"
    tables_equal $T $R "$COLS"
    no_osc_leftovers $T

    # a json column has no hash function, an array is hashed by its text too:
    # the row's text is hashed, without a false mismatch
    e_fixture $T $R $ROWS
    for t in $T $R; do
        psql_q "ALTER TABLE $t ADD COLUMN j json DEFAULT '{\"a\": [1, 2]}', ADD COLUMN arr int[] DEFAULT '{1,NULL,3}'"
    done
    migrate_with_writer int $T $R "ALTER COLUMN extra TYPE bigint" --chunk-size 500
    psql_q "ALTER TABLE $R ALTER COLUMN extra TYPE bigint"
    grep -q 'rows hashed by their text (a column is an array' "$OSC_ERR" || fail "an array column did not fall back to the text"
    no_false_mismatch
    tables_equal $T $R "$COLS, j::text, arr"
    no_osc_leftovers $T
    e_fixture $T $R $ROWS
    for t in $T $R; do psql_q "ALTER TABLE $t ADD COLUMN j json DEFAULT '{\"a\": 1}'"; done
    migrate_with_writer int $T $R "ADD COLUMN c int" --chunk-size 500
    psql_q "ALTER TABLE $R ADD COLUMN c int"
    grep -q 'rows hashed by their text (a column.s type has no hash function' "$OSC_ERR" || fail "json did not fall back to the text"
    no_false_mismatch
    tables_equal $T $R "$COLS, j::text, c"
    no_osc_leftovers $T
}

types_my() {
    local T=$1 R=$2 t
    e_fixture $T $R $ROWS
    for t in $T $R; do
        my_q "ALTER TABLE $t ADD COLUMN d DATETIME NULL DEFAULT '2021-02-03 04:05:06';
              UPDATE $t SET d = IF(id % 9 = 0, NULL, '2020-01-01' + INTERVAL id MINUTE), pad = IF(id % 5 = 0, '', pad)" \
            || fail "adding d to $t"
    done
    local alter="MODIFY n BIGINT, MODIFY extra DECIMAL(12,2) NOT NULL DEFAULT 0, MODIFY d DATETIME(3) NULL DEFAULT '2021-02-03 04:05:06', MODIFY pad CHAR(200)"
    my_migrate_with_writer int $T $R "$alter" --chunk-size 500
    grep -q 'verified (checksum): [1-9][0-9]* chunks' "$OSC_ERR" || fail "no verification summary in the log"
    no_false_mismatch
    grep -q 'column pad (varchar(200) to char(200)) is left out of the checksum' "$OSC_ERR" \
        || fail "VARCHAR -> CHAR was not left out of the checksum"
    [ "$(grep -c 'left out of the checksum' "$OSC_ERR")" = 1 ] || fail "a mappable column was left out of the checksum"
    my_q "ALTER TABLE $R $alter" || fail "ALTER of the reference table"
    my_tables_equal $T $R "$COLS, d"
    my_no_osc_leftovers $T
}

verify_test() {
    local T=t_verify_$ENGINE R=t_verify_${ENGINE}_ref kind keys rc
    local ALTER="ADD COLUMN c int NOT NULL DEFAULT 7"

    note "---- 1. type changes"
    "types_$ENGINE" $T $R

    note "---- 2. one-off damage: caught, copied again, the migration completes"
    kind=$(e_pick int composite)
    keys=$(e_pick '[0-9]*' '[0-9]*, [0-9]*')
    e_fixture_kind $kind $T $R $ROWS
    OSC_FAULT=corrupt-shadow:once e_migrate_with_writer $kind $T $R "$ALTER" --chunk-size 500
    grep -q 'fault injection: set v to NULL in 1 row' "$OSC_ERR" || fail "the fault was not injected"
    grep -q "verification: the copy of keys from the start up to ($keys) differs from the original (.*checksums differ)); copying it again" \
        "$OSC_ERR" || fail "the damaged chunk was not caught and copied again"
    [ "$(grep -c 'differs' "$OSC_ERR")" = 1 ] || fail "a false mismatch was reported besides the damaged chunk"
    grep -qE 'verified \(checksum\): [1-9][0-9]* chunks and [1-9][0-9]* merged batches .* 1 re-copied after a difference' \
        "$OSC_ERR" || fail "no verification summary with chunks, merged batches and the one re-copy"
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "$(e_pick id 'a, b'), v, n, extra, pad, c"
    e_no_leftovers $T

    note "---- 3. persistent damage: abort before the swap, the original intact and serving"
    e_fixture $T $R $ROWS
    e_start_writer $T $R
    sleep 0.5
    OSC_FAULT=corrupt-shadow:always e_run_osc --table $T --alter "$ALTER" --chunk-size 500
    rc=$OSC_RC
    sleep 0.5
    e_stop_writer
    [ "$rc" = 1 ] || fail "osc exited $rc with a persistent mismatch, expected 1"
    grep -q 'verification: the copy of keys from the start up to ([0-9]*) differs from the original twice' "$OSC_ERR" \
        || fail "the abort does not name the key range"
    grep -q 'swapped:' "$OSC_ERR" && fail "the swap happened"
    assert_eq 0 "$(e_has_column $T c)" "$T has no column c (no swap)"
    assert_eq 0 "$(e_has_table "$(e_old_table $T)")" "no $(e_old_table $T)"
    e_tables_equal $T $R "$COLS"
    e_no_leftovers $T

    note "---- 4. count and none"
    e_fixture $T $R $ROWS
    e_migrate_with_writer int $T $R "$ALTER" --verify count --chunk-size 500
    grep -q 'verified (count): [1-9][0-9]* chunks' "$OSC_ERR" || fail "no count verification summary"
    no_false_mismatch
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "$COLS, c"
    e_fixture $T $R $ROWS
    e_migrate_with_writer int $T $R "$ALTER" --verify none --chunk-size 500
    grep -q 'verified (' "$OSC_ERR" && fail "--verify none verified"
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "$COLS, c"
    e_expect_osc 2 --table $T --alter "ADD COLUMN d int" --verify sometimes
    grep -q -- '--verify: expected checksum, count or none' "$OSC_ERR" || fail "bad --verify not explained"
    e_no_leftovers $T
}

for_each_engine verify_test
echo ok
