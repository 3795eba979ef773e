#!/usr/bin/env bash
# ADD COLUMN with a volatile default: every row gets its own value.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_addvol R=t_addvol_ref
ALTER="ADD COLUMN r float8 DEFAULT random()"

fixture int $T $R 200000
migrate_with_writer int $T $R "$ALTER"
tables_equal $T $R "id, v, n, extra, pad"
assert_true "(SELECT count(DISTINCT r) > 1 FROM $T)" "count(DISTINCT r) > 1"
assert_true "(SELECT count(*) = 0 FROM $T WHERE r IS NULL)" "no NULL r"
no_osc_leftovers $T
echo "ok"
