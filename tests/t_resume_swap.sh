#!/usr/bin/env bash
# SIGKILL osc inside the swap (test-only fault injection OSC_FAULT makes it
# sleep there), with the writer running throughout, on PostgreSQL and
# MariaDB (one body):
#  A. swap-locked: killed holding the swap's lock, before the renames.  The
#     table is still the original (its primary key index keeps its name) and
#     equals the mirror, the capture stays; the same command resumes and
#     finishes (the indexes were built already).
#  B. swap-committed: killed right after the swap committed, before the
#     cleanup (and before --on-cutover fires).  The table has the new schema,
#     the original is kept, the state row says swapped; the same command says
#     the swap is done, copies nothing, exits 0 and leaves nothing behind.
#  C. MariaDB: swap-renamed, killed right after the RENAME committed on the
#     swap's second connection, before the state row says so: the rerun decides
#     from the catalog.  (PostgreSQL's swap commits with its state row.)
#  D. MariaDB: the hooks --on-cutover and --on-success fire.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"

# kill_at_fault T POINT [ARGS...]: osc on T with OSC_FAULT=POINT:3000 (it sleeps
# there), SIGKILLed as soon as it says it reached the point
kill_at_fault() {
    local t=$1 point=$2 i
    shift 2
    OSC_FAULT=$point:3000 e_osc_bg "$TEST_TMP/$t.k.out" "$TEST_TMP/$t.k.err" --table "$t" --alter "$ALTER" \
        --log-format json "$@"
    for ((i = 0; i < 600; i++)); do
        grep -qs "fault injection" "$TEST_TMP/$t.k.out" "$TEST_TMP/$t.k.err" && break
        kill -0 "$OSC_BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -qs "fault injection" "$TEST_TMP/$t.k.out" "$TEST_TMP/$t.k.err"; then
        kill -KILL "$OSC_BG_PID" 2>/dev/null; wait "$OSC_BG_PID" 2>/dev/null
        tail -n 20 "$TEST_TMP/$t.k.err" >&2
        e_stop_writer
        fail "osc with OSC_FAULT=$point never said \"fault injection\" (did it sleep there?)"
    fi
    osc_bg_kill KILL || { e_stop_writer; fail "osc exited before the SIGKILL (the fault must sleep 3 s)"; }
    e_wait_sessions_at_most 1
    note "osc killed during OSC_FAULT=$point; its last lines:"
    tail -n 3 "$TEST_TMP/$t.k.err" | sed 's/^/#   /'
}

# rerun T: the same command; it must exit 0
rerun() {
    e_run_osc --table "$1" --alter "$ALTER" --log-format json
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "the rerun exited $OSC_RC, expected 0"; }
}

swap_locked() {
    local T=t_resume_swap_${ENGINE}_a R=t_resume_swap_${ENGINE}_a_ref
    note "---- A: OSC_FAULT=swap-locked ----"
    e_fixture $T $R 20000
    e_start_writer $T $R
    sleep 0.3
    kill_at_fault $T swap-locked
    assert_eq 0 "$(e_has_column $T c)" "$T is the original after a kill before the swap committed"
    [ "$ENGINE" = pg ] && assert_eq "${T}_pkey" "$(pk_index_of $T)" "primary key index of $T"
    note "state after the kill: $(e_state $T "$(e_pick "outcome || ' ' || phase" "CONCAT(outcome, ' ', phase)")")"
    assert_eq cutover "$(e_state $T phase)" "state phase after a kill inside the swap"
    [ "$(e_capture_triggers $T)" -ge 1 ] || { e_stop_writer; fail "the capture trigger is gone while osc is down: changes would be lost"; }
    sleep 0.5                                  # the writer goes on against the original
    e_tables_equal $T $R "$COLS"               # one statement each: the writer changes both in one transaction
    rerun $T
    grep -q "resuming the migration" "$OSC_OUT" "$OSC_ERR" || { e_stop_writer; fail "the rerun does not say it is resuming"; }
    sleep 0.5
    e_stop_writer
    assert_eq 1 "$(e_has_column $T c)" "$T has column c after the rerun"
    assert_eq "done" "$(e_state $T outcome)" "state outcome"
    assert_eq 1 "$(e_has_index $T ${T}_n_idx)" "index ${T}_n_idx on the new $T"
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "$COLS, c"
    e_no_leftovers $T
}

# swap_done POINT: killed at POINT, past the swap's commit
swap_done() {
    local point=$1 T=t_resume_swap_${ENGINE}_${1//-/_} R=t_resume_swap_${ENGINE}_${1//-/_}_ref
    note "---- OSC_FAULT=$point ----"
    e_fixture $T $R 20000
    e_start_writer $T $R
    sleep 0.3
    kill_at_fault $T $point --on-cutover "echo cutover-hook-fired"
    if [ "$point" = swap-committed ]; then
        grep -q "cutover-hook-fired" "$TEST_TMP/$T.k.out" "$TEST_TMP/$T.k.err" \
            && { e_stop_writer; fail "--on-cutover fired before the fault point"; }
    fi
    assert_eq 1 "$(e_has_column $T c)" "$T has the new schema after a kill past the swap's commit"
    assert_eq 1 "$(e_has_table "$(e_old_table $T)")" "the original is kept as $(e_old_table $T)"
    note "state after the kill: phase=$(e_state $T phase) outcome=$(e_state $T outcome)"
    if [ "$point" = swap-renamed ]; then
        assert_eq cutover "$(e_state $T phase)" "the row does not say swapped yet (the rerun must read the catalog)"
    else
        assert_eq swapped "$(e_state $T phase)" "the row says swapped"
    fi
    e_alter_ref $R "$ALTER"                   # the mirror now has the new schema too
    sleep 0.5                                  # the writer goes on against the new table
    e_tables_equal $T $R "$COLS, c"
    rerun $T
    grep -q "the swap is done" "$OSC_OUT" "$OSC_ERR" || { e_stop_writer; fail "the rerun after $point does not say the swap is done"; }
    grep -q "copying" "$OSC_OUT" "$OSC_ERR" && { e_stop_writer; fail "the rerun after $point copied again"; }
    e_no_leftovers $T
    sleep 0.3
    e_stop_writer
    assert_eq 1 "$(e_has_column $T c)" "$T has column c after the rerun"
    assert_eq "done" "$(e_state $T outcome)" "state outcome"
    e_tables_equal $T $R "$COLS, c"
}

hooks() {
    local T=t_resume_swap_${ENGINE}_hook R=t_resume_swap_${ENGINE}_hook_ref
    e_fixture $T $R 2000
    e_expect_osc 0 --table $T --alter "$ALTER" --on-cutover "echo cutover-hook-fired" --on-success "echo success-hook-fired"
    grep -q "cutover-hook-fired" "$OSC_OUT" "$OSC_ERR" || fail "--on-cutover did not fire"
    grep -q "success-hook-fired" "$OSC_OUT" "$OSC_ERR" || fail "--on-success did not fire"
}

resume_swap_test() {
    swap_locked
    # the sanitizer pass, on MariaDB: the catalog's decision (swap-renamed) only
    case $ENGINE:$OSC in my:*san*) ;; *) swap_done swap-committed ;; esac
    if [ "$ENGINE" = my ]; then
        swap_done swap-renamed
        hooks
    fi
}
for_each_engine resume_swap_test
echo ok
