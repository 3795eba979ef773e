#!/usr/bin/env bash
# osc's names over a user's objects (PostgreSQL).  osc drops only what it
# recorded making (the OIDs in its state row); a user's object under one of
# osc's names makes the run stop at preflight (exit 2, naming it, saying
# osc did not create it, nothing changed), and `osc cleanup` leaves it alone:
#   1. a user's schema with data under the work schema's name _osc_<hash>;
#   2. a user's trigger named _osc_capture on the table;
#   3. a user's table named _T_osc_old (osc's own old table, by contrast, is
#      stepped past: the next run keeps its original as _T_osc_old_2).
. "$(dirname "$0")/lib.sh"
need_osc
T=precious R=precious_ref
ALTER="ALTER COLUMN n TYPE bigint"
fixture int $T $R 3000
osc_state_forget $T
WORK=$(psql_q "SELECT '_osc_' || left(encode(sha256(convert_to('public', 'UTF8') || '\x00'::bytea
                                                    || convert_to('$T', 'UTF8')), 'hex'), 12)")
note "osc's work schema for $T: $WORK"

note "--- 1. a user's schema under the work schema's name"
psql_q "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $WORK CASCADE;
        CREATE SCHEMA $WORK; CREATE TABLE $WORK.ledger AS SELECT i FROM generate_series(1, 100) i" || fail "setup 1"
before=$(schema_snapshot)
expect_osc 2 --table $T --alter "$ALTER"
grep -q "schema $WORK exists and osc did not create it" "$OSC_ERR" || fail "the refusal does not say osc did not create the schema"
grep -q 'osc cleanup' "$OSC_ERR" && ! grep -q 'cleanup leaves it alone' "$OSC_ERR" && fail "osc advises a cleanup"
assert_eq "$before" "$(schema_snapshot)" "schema after the refusal"
expect_osc 0 cleanup --table $T
assert_eq 100 "$(psql_q "SELECT count(*) FROM $WORK.ledger")" "the user's rows after osc cleanup"
psql_q "DROP SCHEMA $WORK CASCADE" || fail "drop the user's schema"

note "--- 2. a user's trigger named _osc_capture"
psql_q "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS precious_audit (at timestamptz);
        CREATE OR REPLACE FUNCTION precious_audit_f() RETURNS trigger LANGUAGE plpgsql AS
          'BEGIN INSERT INTO precious_audit VALUES (now()); RETURN NULL; END';
        CREATE TRIGGER _osc_capture AFTER INSERT ON $T FOR EACH STATEMENT EXECUTE FUNCTION precious_audit_f()" \
    || fail "setup 2"
before=$(schema_snapshot)
expect_osc 2 --table $T --alter "$ALTER"
grep -q 'trigger _osc_capture on public.precious exists and osc did not create it' "$OSC_ERR" \
    || fail "the refusal does not say osc did not create the trigger"
assert_eq "$before" "$(schema_snapshot)" "schema after the refusal"
expect_osc 0 cleanup --table $T
assert_eq 1 "$(osc_triggers $T)" "the user's trigger after osc cleanup"
psql_q "DROP TRIGGER _osc_capture ON $T" || fail "drop the user's trigger"

note "--- 3. a user's table named _${T}_osc_old"
psql_q "CREATE TABLE _${T}_osc_old AS SELECT 1 AS keep" || fail "setup 3"
before=$(schema_snapshot)
expect_osc 2 --table $T --alter "$ALTER"
grep -q "osc did not create it" "$OSC_ERR" || fail "the refusal does not say osc did not create the table"
grep -q "kept by an earlier migration" "$OSC_ERR" && fail "osc calls the user's table its own"
assert_eq "$before" "$(schema_snapshot)" "schema after the refusal"
psql_q "DROP TABLE _${T}_osc_old" || fail "drop the user's table"
no_osc_leftovers $T

note "--- osc's own old table is stepped past, not refused"
psql_q "DROP TABLE IF EXISTS _${T}_osc_old_2" || fail "drop _${T}_osc_old_2"
migrate_with_writer int $T $R "$ALTER"
tables_equal $T $R "id, v, n, extra, pad"
expect_osc 0 --table $T --alter "ALTER COLUMN extra TYPE bigint"
grep -q "this run keeps the original as public._${T}_osc_old_2" "$OSC_ERR" || fail "osc does not say where the original goes"
assert_true "to_regclass('_${T}_osc_old') IS NOT NULL AND to_regclass('_${T}_osc_old_2') IS NOT NULL" "both old tables kept"
psql_q "DROP TABLE _${T}_osc_old_2" || fail "drop _${T}_osc_old_2"
no_osc_leftovers $T
echo ok
