#!/usr/bin/env bash
# MariaDB: ADD COLUMN ... NOT NULL DEFAULT under a concurrent mirrored writer:
# no lost, ghost or stale row; the old table is kept as T_osc_old; the
# secondary index survives on the new table; nothing of osc is left.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_add R=t_my_add_ref
ALTER="ADD COLUMN c INT NOT NULL DEFAULT 7"

my_fixture int $T $R 100000
my_migrate_with_writer int $T $R "$ALTER"
my_q "ALTER TABLE $R $ALTER" || fail "ALTER of the reference table"
my_tables_equal $T $R "id, v, n, extra, pad, c"
assert_eq 1 "$(my_has_table "${T}_osc_old")" "${T}_osc_old exists"
my_q "SELECT COUNT(*) FROM \`${T}_osc_old\` WHERE 0" >/dev/null || fail "${T}_osc_old is not readable"
assert_eq 0 "$(my_has_column "${T}_osc_old" c)" "${T}_osc_old is the original (no column c)"
assert_eq 1 "$(my_has_index $T "${T}_n_idx")" "index ${T}_n_idx on the new $T"
assert_eq 1 "$(my_has_index $T PRIMARY)" "primary key of the new $T"
my_assert_true "(SELECT IS_NULLABLE = 'NO' AND COLUMN_DEFAULT = '7' FROM information_schema.COLUMNS
                 WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'c')" "c is NOT NULL DEFAULT 7"
my_assert_true "(SELECT ENGINE = 'InnoDB' FROM information_schema.TABLES
                 WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T')" "the new $T is InnoDB"
my_no_osc_leftovers $T
echo "ok"
