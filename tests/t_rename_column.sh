#!/usr/bin/env bash
# A column renamed under the mirrored writer, on PostgreSQL and MariaDB (one
# body): the copy maps the new name to the old column.  PostgreSQL: RENAME
# COLUMN extra TO extra2.  MariaDB: CHANGE COLUMN, a rename and a type change
# at once (the writer never writes extra): every row is copied with
# extra -> extra2, as a BIGINT NOT NULL.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

rename_test() {
    local T=t_rencol_$ENGINE R=t_rencol_${ENGINE}_ref ALTER
    ALTER=$(e_pick "RENAME COLUMN extra TO extra2" "CHANGE COLUMN extra extra2 BIGINT NOT NULL DEFAULT 0")
    e_fixture $T $R "$(e_pick 200000 100000)"
    e_migrate_with_writer int $T $R "$ALTER"
    e_alter_ref $R "$ALTER"
    assert_eq 0 "$(e_has_column $T extra)" "$T has no column extra (extra is renamed)"
    if [ "$ENGINE" = my ]; then
        my_assert_true "(SELECT DATA_TYPE = 'bigint' AND IS_NULLABLE = 'NO' FROM information_schema.COLUMNS
                         WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'extra2')" \
            "extra2 is BIGINT NOT NULL"
    fi
    # (the fixture's extra = id, so the values of extra2 come from extra, not a default)
    e_tables_equal $T $R "id, v, n, extra2, pad"
    e_no_leftovers $T
}

for_each_engine rename_test
echo "ok"
