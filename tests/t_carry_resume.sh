#!/usr/bin/env bash
# Killed right after the swap committed, before the foreign keys it re-created
# NOT VALID were validated: they point at the new table and are enforced, and
# the rerun of the same command validates them (their list lives in the work
# schema, not in osc's memory) and leaves nothing behind.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_carry_res R=t_carry_res_ref
ALTER="ADD COLUMN c int DEFAULT 1"
osc_state_forget $T
fixture int $T $R 20000
psql_q "SET client_min_messages = warning; DROP TABLE IF EXISTS ${T}_child;
        CREATE TABLE ${T}_child (id int PRIMARY KEY, tid int CONSTRAINT ${T}_child_fk REFERENCES $T (id) ON DELETE CASCADE);
        INSERT INTO ${T}_child SELECT id, id FROM $T WHERE id % 3 = 0" >/dev/null || fail "child"
OSC_FAULT=swap-committed:3000 osc_bg "$TEST_TMP/k.out" "$TEST_TMP/k.err" --table $T --alter "$ALTER" --log-format json
wait_for_text "fault injection" 60 "$TEST_TMP/k.out" "$TEST_TMP/k.err" || { tail -n 20 "$TEST_TMP/k.err" >&2; fail "no fault injection"; }
osc_bg_kill KILL || fail "osc exited before the SIGKILL"
assert_eq t "$(has_column $T c)" "the swap committed"
assert_eq "f" "$(psql_q "SELECT convalidated FROM pg_constraint WHERE conname = '${T}_child_fk'")" \
    "the key is NOT VALID until the cleanup"
assert_true "(SELECT confrelid = '$T'::regclass FROM pg_constraint WHERE conname = '${T}_child_fk')" "it points at the new table"
out=$(psql_q "INSERT INTO ${T}_child VALUES (-1, -1)" 2>&1) && fail "an orphan child row was accepted while NOT VALID"
expect_osc 0 --table $T --alter "$ALTER" --log-format json
grep -q "validated foreign key ${T}_child_fk" "$OSC_ERR" || fail "the rerun did not validate the key"
assert_eq "t" "$(psql_q "SELECT convalidated FROM pg_constraint WHERE conname = '${T}_child_fk'")" "validated by the rerun"
expect_osc 0 --table $T --alter "$ALTER"
no_osc_leftovers $T
echo ok
