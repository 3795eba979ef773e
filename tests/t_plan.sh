#!/usr/bin/env bash
# osc plan validates and explains, and changes nothing.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_plan R=t_plan_ref
fixture int $T $R 10000
before=$(schema_snapshot)
expect_osc 0 plan --table $T --alter "ADD COLUMN c int DEFAULT 1"
[ -s "$OSC_OUT" ] || fail "osc plan printed nothing on stdout"
assert_eq "$before" "$(schema_snapshot)" "schema snapshot after osc plan"
assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'c')" "no column c"
tables_equal $T $R "*"
no_osc_leftovers $T
echo "ok"
