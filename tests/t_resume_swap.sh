#!/usr/bin/env bash
# SIGKILL osc inside the swap, on either side of its commit (test-only fault
# injection OSC_FAULT makes it sleep there), with the writer running throughout:
#  A. swap-locked: killed holding the lock, before the renames.  The swap rolls
#     back with the session: the table is still the original and equals the
#     mirror.  Running the same command again finishes the migration.
#  B. swap-committed: killed right after the commit, before the cleanup.  The
#     table already has the new schema and equals the mirror with the ALTER
#     applied; running the same command again exits 0 and leaves nothing behind.
. "$(dirname "$0")/lib.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"

# kill_in_swap T FAULT: run osc with OSC_FAULT=FAULT, SIGKILL it once it says "fault injection"
kill_in_swap() {
    local t=$1
    OSC_FAULT=$2 osc_bg "$TEST_TMP/$t.k.out" "$TEST_TMP/$t.k.err" --table "$t" --alter "$ALTER" --log-format json
    local i
    for ((i = 0; i < 600; i++)); do
        grep -q "fault injection" "$TEST_TMP/$t.k.out" "$TEST_TMP/$t.k.err" && break
        kill -0 "$OSC_BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q "fault injection" "$TEST_TMP/$t.k.out" "$TEST_TMP/$t.k.err"; then
        kill -KILL "$OSC_BG_PID" 2>/dev/null; wait "$OSC_BG_PID" 2>/dev/null
        tail -n 20 "$TEST_TMP/$t.k.err" >&2
        stop_writer
        fail "osc with OSC_FAULT=$2 never said \"fault injection\" (did it sleep there?)"
    fi
    osc_bg_kill KILL || { stop_writer; fail "osc exited before the SIGKILL (the fault must sleep 3 s)"; }
    note "osc killed during OSC_FAULT=$2; its last lines:"
    tail -n 3 "$TEST_TMP/$t.k.err" | sed 's/^/#   /'
}

# ---- A: killed holding the swap's lock, before the renames ----
T=t_resume_swap_a R=t_resume_swap_a_ref
note "---- A: OSC_FAULT=swap-locked ----"
osc_state_forget $T
fixture int $T $R 50000
start_writer int $T $R
sleep 0.5
kill_in_swap $T swap-locked:3000
[ "$(has_column $T c)" = f ] || { stop_writer; fail "$T has column c after a kill before the swap committed"; }
assert_eq "${T}_pkey" "$(pk_index_of $T)" "primary key index of $T"
note "state after the kill: $(osc_state $T "outcome || ' ' || phase || ' rows_copied=' || rows_copied")"
[ "$(osc_triggers $T)" -ge 1 ] || { stop_writer; fail "the capture trigger is gone while osc is down: changes would be lost"; }
sleep 0.5                                  # the writer goes on against the original
tables_equal $T $R "$COLS"                 # one statement each: the writer changes both in one transaction
run_osc --table $T --alter "$ALTER" --log-format json
[ "$OSC_RC" = 0 ] || { stop_writer; fail "the rerun exited $OSC_RC, expected 0"; }
cat "$OSC_OUT" "$OSC_ERR" | grep -q "resuming" || { stop_writer; fail "the rerun does not say it is resuming"; }
sleep 0.5
stop_writer
assert_eq t "$(has_column $T c)" "$T has column c after the rerun"
assert_eq "done" "$(osc_state $T outcome)" "state outcome"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T

# ---- B: killed after the swap committed, before the cleanup ----
T=t_resume_swap_b R=t_resume_swap_b_ref
note "---- B: OSC_FAULT=swap-committed ----"
osc_state_forget $T
fixture int $T $R 50000
start_writer int $T $R
sleep 0.5
kill_in_swap $T swap-committed:3000
[ "$(has_column $T c)" = t ] || { stop_writer; fail "$T has no column c after a kill after the swap committed"; }
assert_true "to_regclass('public._${T}_osc_old') IS NOT NULL" "the original is kept as _${T}_osc_old"
note "state after the kill: $(osc_state $T "outcome || ' ' || phase")"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"    # the mirror now has the new schema too
sleep 0.5                                  # the writer goes on against the new table
tables_equal $T $R "$COLS, c"
run_osc --table $T --alter "$ALTER" --log-format json
[ "$OSC_RC" = 0 ] || { stop_writer; fail "the rerun exited $OSC_RC, expected 0"; }
cat "$OSC_OUT" "$OSC_ERR" | grep -qE "resuming|already done" || { stop_writer; fail "the rerun says neither 'resuming' nor 'already done'"; }
no_osc_leftovers $T
sleep 0.5
stop_writer
assert_eq t "$(has_column $T c)" "$T has column c after the rerun"
assert_eq "done" "$(osc_state $T outcome)" "state outcome"
tables_equal $T $R "$COLS, c"
echo ok
