#!/usr/bin/env bash
# DROP COLUMN under a concurrent writer.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_dropcol R=t_dropcol_ref
ALTER="DROP COLUMN pad"

fixture int $T $R 200000
migrate_with_writer int $T $R "$ALTER"
tables_equal $T $R "id, v, n, extra"
assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'pad' AND NOT attisdropped)" "pad is gone"
no_osc_leftovers $T
echo "ok"
