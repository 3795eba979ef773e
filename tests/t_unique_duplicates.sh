#!/usr/bin/env bash
# An ALTER that adds a UNIQUE constraint over data that has duplicates must
# fail with the duplicate named, never drop a row: exit 1, the original
# untouched and equal to the mirror, nothing of osc left.  The writer runs
# throughout.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_uniq R=t_uniq_ref
fixture int $T $R 100000
# two rows share extra = 77 (and the writer's inserts all take extra's default, 0)
psql_q "UPDATE $T SET extra = 77 WHERE id = 500; UPDATE $R SET extra = 77 WHERE id = 500"
start_writer int $T $R
sleep 0.5
run_osc --table $T --alter "ADD CONSTRAINT t_uniq_extra_key UNIQUE (extra)"
[ "$OSC_RC" = 1 ] || { stop_writer; fail "osc exited $OSC_RC, expected 1"; }
grep -q 't_uniq_extra_key' "$OSC_ERR" || { stop_writer; fail "the message does not name the constraint"; }
grep -q 'Key (extra)=([0-9]*) is duplicated' "$OSC_ERR" || { stop_writer; fail "the message does not name the duplicate key"; }
grep -q 'no row was dropped' "$OSC_ERR" || { stop_writer; fail "the message does not say that no row was lost"; }
sleep 0.5
stop_writer
assert_true "NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 't_uniq_extra_key')" "no constraint added"
# (the writer may have changed one of them: the mirror says how many remain)
assert_eq "$(psql_q "SELECT count(*) FROM $R WHERE extra IN (0, 77)")" \
    "$(psql_q "SELECT count(*) FROM $T WHERE extra IN (0, 77)")" "every duplicate row is still there"
tables_equal $T $R "id, v, n, extra, pad"
no_osc_leftovers $T
echo ok
