#!/usr/bin/env bash
# What osc refuses to resume, and what it does not do twice, on PostgreSQL
# and MariaDB (one body).  After an unfinished migration (PostgreSQL: osc
# SIGKILLed mid-copy; MariaDB: SIGTERMed, exit 3):
#  - a different --alter on the table exits 2 and points at `osc cleanup`,
#    changing nothing (schema, state row, capture);
#  - the original's schema changed behind osc's back: the same command exits 2
#    saying so, changing nothing;
#  - `osc cleanup` (of the changed table) removes what the run left and marks
#    its state row aborted;
#    the next run starts afresh (a second state row);
#  - a finished migration run again exits 0, "already done", doing nothing;
#  - `osc history --table T` lists both runs, `osc status` the last state;
#  - MariaDB: osc's own state table is refused as --table;
#  - an in-place run (--strategy auto) writes its state row too: its rerun is
#    "already done".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"

refuse_test() {
    local T=t_resume_refuse_$ENGINE R=t_resume_refuse_${ENGINE}_ref rc snap state_before state_rows st
    st=$(e_pick "concat_ws(' ', outcome, phase, rows_copied, runs, coalesce(watermark::text, '-'))" \
                "CONCAT_WS(' ', outcome, phase, rows_copied, runs, IFNULL(watermark, '-'))")
    e_fixture $T $R 40000

    note "---- an unfinished migration"
    # each chunk cycle at least 20 ms longer: the copy outlasts the wait below
    OSC_FAULT=chunk:20 e_osc_bg "$TEST_TMP/k.out" "$TEST_TMP/k.err" --table $T --alter "$ALTER" \
        --chunk-size 200 --chunk-size-max 200 --log-format json
    for _ in $(seq 1 400); do
        [ "$(e_state $T rows_copied)" -gt 2000 ] 2>/dev/null && break
        kill -0 "$OSC_BG_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ "$ENGINE" = pg ]; then
        osc_bg_kill KILL || { tail -n 20 "$TEST_TMP/k.err" >&2; fail "osc finished before the kill: the test needs a longer copy"; }
    else
        osc_bg_kill TERM || { tail -n 20 "$TEST_TMP/k.err" >&2; fail "osc finished before the SIGTERM"; }
        [ "$OSC_BG_RC" = 3 ] || fail "osc exited $OSC_BG_RC after SIGTERM, expected 3"
    fi
    note "interrupted: state $(e_state $T "$st")"
    [ "$(e_state $T rows_copied)" -gt 0 ] 2>/dev/null || fail "no state row with rows_copied > 0 after the interruption"
    assert_eq 0 "$(e_has_column $T c)" "$T has column c after the interruption"
    state_before=$(e_state $T "$st")
    state_rows=$(e_state_rows $T)

    # unchanged WHAT: the state row, the capture and the work objects are as osc left them
    unchanged() {
        assert_eq "$state_before" "$(e_state $T "$st")" "the state row after $1"
        assert_eq "$state_rows" "$(e_state_rows $T)" "state rows after $1"
        if [ "$ENGINE" = pg ]; then
            [ "$(osc_triggers $T)" -ge 1 ] || fail "capture trigger after $1"
            [ "$(osc_work_schemas)" -ge 1 ] || fail "the work schema after $1"
        else
            assert_eq 3 "$(e_capture_triggers $T)" "capture triggers after $1"
            assert_eq 1 "$(my_has_table ${T}_osc_new)" "the shadow after $1"
        fi
    }

    note "---- a different ALTER: refused, pointing at osc cleanup"
    snap=$(e_schema_snapshot)
    e_expect_osc 2 --table $T --alter "ADD COLUMN d int"
    grep -q "has an unfinished migration" "$OSC_OUT" "$OSC_ERR" && grep -q "osc cleanup" "$OSC_OUT" "$OSC_ERR" \
        || fail "the refusal of a different ALTER does not point at osc cleanup"
    assert_eq "$snap" "$(e_schema_snapshot)" "schema after the refused different ALTER"
    assert_eq 0 "$(e_has_column $T d)" "$T has column d"
    unchanged "refusing another ALTER"

    note "---- the original changed since the migration started: refused"
    e_q "ALTER TABLE $T ADD COLUMN drift int" || fail "cannot alter $T"
    snap=$(e_schema_snapshot)
    e_expect_osc 2 --table $T --alter "$ALTER"
    grep -q "changed since its unfinished migration started" "$OSC_OUT" "$OSC_ERR" \
        || fail "the refusal does not say that the table changed"
    assert_eq "$snap" "$(e_schema_snapshot)" "schema after the refused resume of a changed table"
    assert_eq 0 "$(e_has_column $T c)" "$T has column c after the refused resume"
    unchanged "the drift refusal"

    note "---- osc cleanup, then a fresh run"
    # (still with the drift: cleanup must not depend on the table being as it was)
    e_expect_osc 0 cleanup --table $T
    e_no_leftovers $T
    assert_eq aborted "$(e_state $T outcome)" "state outcome after osc cleanup"
    assert_eq 0 "$(e_capture_triggers $T)" "osc triggers on $T after cleanup"
    e_q "ALTER TABLE $T DROP COLUMN drift" || fail "cannot drop column drift"
    e_tables_equal $T $R "$COLS"
    e_expect_osc 0 --table $T --alter "$ALTER" --log-format json
    grep -q "resuming" "$OSC_OUT" "$OSC_ERR" && fail "a run after osc cleanup resumed the aborted migration"
    assert_eq "done" "$(e_state $T outcome)" "state outcome after the run"
    assert_eq 2 "$(e_state_rows $T)" "state rows of $T"
    assert_eq 1 "$(e_has_column $T c)" "$T has column c"
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "$COLS, c"
    e_no_leftovers $T

    note "---- the same command again: already done"
    snap=$(e_schema_snapshot)
    state_rows=$(e_state_rows $T)
    e_expect_osc 0 --table $T --alter "$ALTER" --log-format text
    grep -q "already done" "$OSC_ERR" || fail "the rerun of a finished migration does not say 'already done'"
    grep -qE "copying|shadow" "$OSC_ERR" && fail "a finished migration's rerun did work"
    assert_eq "$snap" "$(e_schema_snapshot)" "schema after the rerun of a finished migration"
    assert_eq "$state_rows" "$(e_state_rows $T)" "state rows after the rerun of a finished migration"
    e_tables_equal $T $R "$COLS, c"
    e_no_leftovers $T

    note "---- history and status"
    e_expect_osc 0 history --table $T --log-format text
    sed 's/^/#   /' "$OSC_OUT"
    assert_eq 2 "$(grep -c "^#[0-9]* $(e_pick public osctest).$T " "$OSC_OUT")" "runs listed by osc history --table $T"
    grep -q "outcome aborted" "$OSC_OUT" && grep -q "outcome done" "$OSC_OUT" || fail "osc history lacks the aborted or the done run"
    e_expect_osc 0 status --table $T --log-format text
    grep -q "outcome done" "$OSC_OUT" || fail "osc status without a run does not show the last state"

    if [ "$ENGINE" = my ]; then
        note "---- osc's own state table"
        expect_osc_my 2 --table _osc_migrations --alter "ADD COLUMN x int"
        assert_eq 0 "$(my_has_column _osc_migrations x)" "osc's state table after a run on it was refused"
    fi

    note "---- an in-place run"
    T=t_resume_inplace_$ENGINE R=t_resume_inplace_${ENGINE}_ref
    e_fixture $T $R 2000
    OSC_STRATEGY=auto e_expect_osc 0 --table $T --alter "ADD COLUMN c2 int"
    grep -q "strategy: $(e_pick direct instant)" "$OSC_ERR" \
        || note "(the strategy was not in place: $(grep -o 'strategy: [a-z-]*' "$OSC_ERR" | head -n 1))"
    assert_eq "done done" "$(e_state $T "$(e_pick "phase || ' ' || outcome" "CONCAT(phase, ' ', outcome)")")" \
        "state row of the in-place run"
    OSC_STRATEGY=auto e_expect_osc 0 --table $T --alter "ADD COLUMN c2 int" --log-format text
    grep -q "already done" "$OSC_ERR" || fail "the in-place migration's rerun does not say already done"
}

for_each_engine refuse_test
echo ok
