#!/usr/bin/env bash
# osc plan changes nothing (PostgreSQL), even when the ALTER's own
# expressions write: its sampled read evaluates `USING f(n)`, and f inserts
# into another table.  The plan reads in a read-only transaction that is
# rolled back, says that the expression writes, and the other table stays
# empty; the schema and the object list are unchanged.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_pg_planro R=t_pg_planro_ref S=t_pg_planro_side
fixture int $T $R 30000
psql_q "SET client_min_messages = warning;
        DROP TABLE IF EXISTS $S; CREATE TABLE $S (v int);
        CREATE OR REPLACE FUNCTION t_pg_planro_f(x int) RETURNS bigint LANGUAGE plpgsql VOLATILE AS
        'BEGIN INSERT INTO $S VALUES (x); RETURN x; END'" || fail "setup"
before=$(schema_snapshot)
for fmt in text json; do
    expect_osc 0 plan --table $T --alter "ALTER COLUMN n TYPE bigint USING t_pg_planro_f(n)" --format $fmt
    assert_eq 0 "$(psql_q "SELECT count(*) FROM $S")" "rows the plan ($fmt) wrote into $S"
done
expect_osc 0 plan --table $T --alter "ALTER COLUMN n TYPE bigint USING t_pg_planro_f(n)"
grep -q 'plan only: nothing was changed' "$OSC_OUT" || fail "the plan does not say it changed nothing"
grep -q 'wrote to the database' "$OSC_OUT" || fail "the plan does not warn that the expression writes"
grep -qE '^eta:' "$OSC_OUT" || fail "no eta line"
assert_eq "$before" "$(schema_snapshot)" "schema after the plans"
no_osc_leftovers $T
tables_equal $T $R "id, v, n, extra, pad"
echo ok
