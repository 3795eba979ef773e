#!/usr/bin/env bash
# MariaDB: CHANGE COLUMN (rename + type change) under the mirrored writer (which
# never writes extra): every row is copied with extra -> extra2, as a BIGINT.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_change R=t_my_change_ref
ALTER="CHANGE COLUMN extra extra2 BIGINT NOT NULL DEFAULT 0"

my_fixture int $T $R 100000
my_migrate_with_writer int $T $R "$ALTER"
my_q "ALTER TABLE $R $ALTER" || fail "ALTER of the reference table"
assert_eq 0 "$(my_has_column $T extra)" "$T has no column extra"
my_assert_true "(SELECT DATA_TYPE = 'bigint' AND IS_NULLABLE = 'NO' FROM information_schema.COLUMNS
                 WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'extra2')" "extra2 is BIGINT NOT NULL"
# (the fixture's extra = id, so the values of extra2 come from extra, not the default)
my_tables_equal $T $R "id, v, n, extra2, pad"
my_no_osc_leftovers $T
echo "ok"
