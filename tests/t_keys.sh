#!/usr/bin/env bash
# Primary keys other than one integer, each migrated (ADD COLUMN c int
# DEFAULT 1) under the mirrored writer, whose key changes move rows: a
# two-column key and a text key (VARCHAR on MariaDB) on both engines, and a
# BINARY(16) key on MariaDB.  The new table equals the mirror with the same
# ALTER, row for row; it has column c, the original is kept, nothing of osc is
# left, and (PostgreSQL) the primary key's index keeps its name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"

keys_test() {
    local kind T R
    for kind in composite text $(e_pick "" binary16); do
        T=t_keys_${ENGINE}_$kind R=t_keys_${ENGINE}_${kind}_ref
        note "---- $kind key"
        e_fixture_kind $kind $T $R 50000
        e_migrate_with_writer $kind $T $R "$ALTER"
        e_alter_ref $R "$ALTER"
        e_tables_equal $T $R "*"
        assert_eq 1 "$(e_has_column $T c)" "$T has column c"
        assert_eq 1 "$(e_has_table "$(e_old_table $T)")" "$(e_old_table $T) exists"
        [ "$ENGINE" = pg ] && assert_eq "${T}_pkey" "$(pk_index_of $T)" "name of the primary key index of $T"
        e_no_leftovers $T
    done
}

for_each_engine keys_test
echo "ok"
