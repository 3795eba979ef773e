#!/usr/bin/env bash
# What osc refuses to resume, and what it does not do twice:
#  - after a SIGKILL mid-copy, a different --alter on the table exits 2 and
#    points at `osc cleanup`, changing nothing;
#  - after the original's schema changed behind osc's back, the same command
#    exits 2 saying so, changing nothing;
#  - `osc cleanup` removes what the run left and marks its state row aborted;
#  - a finished migration run again exits 0, "already done", changing nothing.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_resume_refuse R=t_resume_refuse_ref
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"
osc_state_forget $T
fixture int $T $R 200000

# ---- an unfinished migration: SIGKILL mid-copy ----
osc_bg "$TEST_TMP/k.out" "$TEST_TMP/k.err" --table $T --alter "$ALTER" \
    --chunk-size 300 --chunk-size-max 300 --log-format json
for _ in $(seq 1 200); do
    [ "$(osc_state $T rows_copied)" -gt 0 ] 2>/dev/null && break
    kill -0 "$OSC_BG_PID" 2>/dev/null || break
    sleep 0.05
done
osc_bg_kill KILL || { tail -n 20 "$TEST_TMP/k.err" >&2; fail "osc finished before the kill: the test needs a longer copy"; }
note "killed: state $(osc_state $T "outcome || ' ' || phase || ' rows_copied=' || rows_copied")"
[ "$(osc_state $T rows_copied)" -gt 0 ] 2>/dev/null || fail "no state row with rows_copied > 0 after the kill"
[ "$(has_column $T c)" = f ] || fail "$T has column c after the kill"

# ---- a different ALTER: refused, pointing at osc cleanup ----
snap=$(schema_snapshot)
rows_before=$(osc_state_rows $T)
expect_osc 2 --table $T --alter "ADD COLUMN d int"
cat "$OSC_OUT" "$OSC_ERR" | grep -q "osc cleanup" || fail "the refusal of a different ALTER does not mention 'osc cleanup'"
assert_eq "$snap" "$(schema_snapshot)" "schema after the refused different ALTER"
assert_eq "$rows_before" "$(osc_state_rows $T)" "state rows after the refused different ALTER"
[ "$(has_column $T d)" = f ] || fail "$T has column d"

# ---- the original changed since the migration started: refused ----
psql_q "ALTER TABLE $T ADD COLUMN drift int" || fail "cannot alter $T"
snap=$(schema_snapshot)
expect_osc 2 --table $T --alter "$ALTER"
cat "$OSC_OUT" "$OSC_ERR" | grep -q "changed" || fail "the refusal does not say that the table changed"
assert_eq "$snap" "$(schema_snapshot)" "schema after the refused resume of a changed table"
[ "$(has_column $T c)" = f ] || fail "$T has column c after the refused resume"
assert_eq "$rows_before" "$(osc_state_rows $T)" "state rows after the refused resume"

# ---- osc cleanup ----
expect_osc 0 cleanup --table $T
no_osc_leftovers $T
assert_eq aborted "$(osc_state $T outcome)" "state outcome after osc cleanup"
assert_eq 0 "$(osc_triggers $T)" "osc triggers on $T after cleanup"
psql_q "ALTER TABLE $T DROP COLUMN drift" || fail "cannot drop column drift"
tables_equal $T $R "$COLS"

# ---- a fresh run after the cleanup, then the same command again ----
expect_osc 0 --table $T --alter "$ALTER" --log-format json
cat "$OSC_OUT" "$OSC_ERR" | grep -q "resuming" && fail "a run after osc cleanup resumed the aborted migration"
assert_eq "done" "$(osc_state $T outcome)" "state outcome after the run"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T
snap=$(schema_snapshot)
rows_before=$(osc_state_rows $T)
expect_osc 0 --table $T --alter "$ALTER" --log-format json
cat "$OSC_OUT" "$OSC_ERR" | grep -q "already done" || fail "the rerun of a finished migration does not say 'already done'"
assert_eq "$snap" "$(schema_snapshot)" "schema after the rerun of a finished migration"
assert_eq "$rows_before" "$(osc_state_rows $T)" "state rows after the rerun of a finished migration"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T
echo ok
