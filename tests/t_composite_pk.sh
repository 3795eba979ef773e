#!/usr/bin/env bash
# A two-column primary key, with key changes by the writer.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_comppk R=t_comppk_ref
ALTER="ADD COLUMN c int DEFAULT 1"

fixture composite $T $R 200000
migrate_with_writer composite $T $R "$ALTER"
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "a, b, v, n, extra, pad, c"
assert_eq "${T}_pkey" "$(pk_index_of $T)" "name of the primary key index of $T"
no_osc_leftovers $T
echo "ok"
