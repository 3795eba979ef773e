#!/usr/bin/env bash
# A text primary key, with key changes by the writer.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_textpk R=t_textpk_ref
ALTER="ADD COLUMN c int DEFAULT 1"

fixture text $T $R 200000
migrate_with_writer text $T $R "$ALTER"
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "k, v, n, extra, pad, c"
assert_eq "${T}_pkey" "$(pk_index_of $T)" "name of the primary key index of $T"
no_osc_leftovers $T
echo "ok"
