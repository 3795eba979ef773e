#!/usr/bin/env bash
# ADD COLUMN ... NOT NULL DEFAULT under a concurrent mirrored writer, on
# PostgreSQL and MariaDB (one body): no lost, ghost or stale row; the old
# table is kept (_T_osc_old / T_osc_old) and readable, and is the original
# (no column c); the new column is NOT NULL DEFAULT 7; the primary key and
# the secondary index survive on the new table (PostgreSQL: the primary
# key's index keeps its name; MariaDB: the new table is InnoDB); nothing of
# osc is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
ALTER="ADD COLUMN c int NOT NULL DEFAULT 7"

add_column_test() {
    local T=t_adddef_$ENGINE R=t_adddef_${ENGINE}_ref old
    old=$(e_old_table $T)
    e_fixture $T $R 50000
    e_migrate_with_writer int $T $R "$ALTER"
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "id, v, n, extra, pad, c"
    assert_eq 1 "$(e_has_table "$old")" "$old exists"
    e_q "SELECT COUNT(*) FROM $old WHERE 1 = 0" >/dev/null || fail "$old is not readable"
    assert_eq 0 "$(e_has_column "$old" c)" "$old is the original (no column c)"
    assert_eq 1 "$(e_has_index $T "${T}_n_idx")" "index ${T}_n_idx on the new $T"
    if [ "$ENGINE" = pg ]; then
        assert_eq "${T}_pkey" "$(pk_index_of $T)" "name of the primary key index of $T"
        assert_true "(SELECT attnotnull AND pg_get_expr(d.adbin, d.adrelid) = '7'
                      FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                      WHERE a.attrelid = '$T'::regclass AND a.attname = 'c')" "c is NOT NULL DEFAULT 7"
    else
        assert_eq 1 "$(my_has_index $T PRIMARY)" "primary key of the new $T"
        my_assert_true "(SELECT IS_NULLABLE = 'NO' AND COLUMN_DEFAULT = '7' FROM information_schema.COLUMNS
                         WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'c')" "c is NOT NULL DEFAULT 7"
        my_assert_true "(SELECT ENGINE = 'InnoDB' FROM information_schema.TABLES
                         WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T')" "the new $T is InnoDB"
    fi
    e_no_leftovers $T
}

for_each_engine add_column_test
echo "ok"
