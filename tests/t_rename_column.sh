#!/usr/bin/env bash
# RENAME COLUMN: the copy maps the new name to the old column.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_rencol R=t_rencol_ref
ALTER="RENAME COLUMN extra TO extra2"

fixture int $T $R 200000
migrate_with_writer int $T $R "$ALTER"
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra2, pad"
assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'extra' AND NOT attisdropped)" "extra is renamed"
no_osc_leftovers $T
echo "ok"
