#!/usr/bin/env bash
# ADD COLUMN ... NOT NULL DEFAULT under a concurrent mirrored writer:
# no lost, ghost or stale row; the old table is kept; the PK index keeps its name.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_adddef R=t_adddef_ref
ALTER="ADD COLUMN c int NOT NULL DEFAULT 7"

fixture int $T $R 200000
migrate_with_writer int $T $R "$ALTER"
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra, pad, c"
assert_true "to_regclass('_${T}_osc_old') IS NOT NULL" "_${T}_osc_old exists"
assert_true "(SELECT count(*) = 0 FROM _${T}_osc_old WHERE false)" "_${T}_osc_old readable"
assert_eq "${T}_pkey" "$(pk_index_of $T)" "name of the primary key index of $T"
assert_true "(SELECT attnotnull FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'c')" "c is NOT NULL"
no_osc_leftovers $T
echo "ok"
