#!/usr/bin/env bash
# ALTER COLUMN ... TYPE ... USING expr: the copy and the replay apply the expression.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_typeusing R=t_typeusing_ref
ALTER="ALTER COLUMN extra TYPE bigint USING extra * 10"

fixture int $T $R 200000
migrate_with_writer int $T $R "$ALTER"
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra, pad"
assert_eq bigint "$(psql_q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'extra'")" "type of extra"
no_osc_leftovers $T
echo "ok"
