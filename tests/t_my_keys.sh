#!/usr/bin/env bash
# MariaDB: composite, VARCHAR and BINARY(16) primary keys, each migrated
# (ADD COLUMN c INT DEFAULT 1) under the mirrored writer; the new table equals
# the mirror with the same ALTER, row for row.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
ALTER="ADD COLUMN c INT DEFAULT 1"
for kind in composite varchar binary16; do
    T=t_my_keys_$kind R=t_my_keys_${kind}_ref
    note "---- $kind key"
    my_fixture $kind $T $R 50000
    my_migrate_with_writer $kind $T $R "$ALTER"
    my_q "ALTER TABLE $R $ALTER" || fail "ALTER of the reference table $R"
    my_tables_equal $T $R "*"
    assert_eq 1 "$(my_has_column $T c)" "$T has column c"
    assert_eq 1 "$(my_has_table "${T}_osc_old")" "${T}_osc_old exists"
    my_no_osc_leftovers $T
done
echo "ok"
