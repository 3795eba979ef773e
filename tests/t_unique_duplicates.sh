#!/usr/bin/env bash
# A new UNIQUE key over data with duplicates must fail with the duplicate
# named, never drop a row: exit 1, the original untouched and equal to the
# mirror, nothing of osc left.
#  (a) on PostgreSQL and MariaDB (one body), the duplicates exist before the
#      run, in rows the mirrored writer (which runs throughout) never touches:
#      the message names the key and the duplicate value and says no row was
#      dropped, both rows are still there, the key was not added;
#  (b) MariaDB: the duplicates are written (into T and R, in one transaction)
#      while osc copies in small chunks: one duplicates a row the copy has
#      passed, one a row it has not reached yet;
#  (c) on PostgreSQL and MariaDB (one body), a duplicate written after the
#      copy, while the swap is postponed (the new table has its UNIQUE index
#      already): the replay meets it, and the run fails naming the key and
#      the value (PostgreSQL: and saying no row was dropped); the key is not
#      added.  (Here until it was the last case of t_pg_unique_swap and
#      t_my_unique_swap, one each.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

# ---- (a) existing duplicates ------------------------------------------------------
existing_test() {
    local T=t_uniq_$ENGINE R=t_uniq_${ENGINE}_ref K=t_uniq_${ENGINE}_u_key t
    e_fixture $T $R 20000
    for t in $T $R; do e_q "ALTER TABLE $t ADD COLUMN u int NULL" || fail "column u"; done
    e_q "UPDATE $T SET u = id; UPDATE $R SET u = id" || fail "u = id"
    # the writer reads its key range when it starts: rows -1 and -2, below it,
    # are never changed, and they are the only ones with u = 77 (the writer's
    # inserts leave u NULL)
    e_start_writer $T $R
    e_q "UPDATE $T SET u = NULL WHERE id = 77; UPDATE $R SET u = NULL WHERE id = 77;
         INSERT INTO $T (id, v, u) VALUES (-1, 'dup', 77), (-2, 'dup', 77);
         INSERT INTO $R (id, v, u) VALUES (-1, 'dup', 77), (-2, 'dup', 77)" || fail "the duplicate rows"
    sleep 0.3
    e_run_osc --table $T --alter "$(e_pick "ADD CONSTRAINT $K UNIQUE (u)" "ADD UNIQUE KEY $K (u)")"
    [ "$OSC_RC" = 1 ] || { e_stop_writer; fail "osc exited $OSC_RC, expected 1"; }
    grep -q '77' "$OSC_ERR" || { e_stop_writer; fail "the message does not name the duplicate value 77"; }
    grep -q "$K" "$OSC_ERR" || { e_stop_writer; fail "the message does not name the key $K"; }
    grep -q "$(e_pick 'Key (u)=(77) is duplicated' "Duplicate entry '77' for key '$K'")" "$OSC_ERR" \
        || { e_stop_writer; fail "the message does not name the duplicate key"; }
    grep -q 'no row was dropped' "$OSC_ERR" || { e_stop_writer; fail "the message does not say that no row was lost"; }
    sleep 0.3
    e_stop_writer
    if [ "$ENGINE" = pg ]; then
        assert_true "NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '$K')" "no constraint added"
    else
        assert_eq 0 "$(my_has_index $T $K)" "no index $K on $T"
    fi
    assert_eq 2 "$(e_q "SELECT COUNT(*) FROM $T WHERE u = 77")" "both duplicate rows are still there"
    e_tables_equal $T $R "id, v, n, extra, pad, u"
    e_no_leftovers $T
}
for_each_engine existing_test

# ---- (b) MariaDB: duplicates written during the copy -------------------------------
written_during_copy_test() {
    local T=t_uniq_my2 R=t_uniq_my2_ref v_early v_late osc_err osc_out osc_pid started shadow rc
    my_fixture int $T $R 100000
    v_early=$(my_q "SELECT v FROM $T WHERE id = 10")
    v_late=$(my_q "SELECT v FROM $T WHERE id = 99990")
    osc_err=$TEST_TMP/osc_b.err
    osc_out=$TEST_TMP/osc_b.out
    "$OSC" --strategy copy --table $T --alter "ADD UNIQUE KEY uq_v (v)" --chunk-size 100 --chunk-size-max 100 \
        --database "$OSC_MY_URL" >"$osc_out" 2>"$osc_err" &
    osc_pid=$!
    note "(b) osc running (pid $osc_pid); waiting for the copy to start"
    # the shadow is T_osc_new on MySQL (_T_osc_new is accepted here too,
    # so that this wait does not hide the real failure)
    started=0 shadow=
    for _ in $(seq 1 500); do
        kill -0 $osc_pid 2>/dev/null || break
        [ -n "$shadow" ] || shadow=$(my_q "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest'
                                           AND TABLE_NAME IN ('_${T}_osc_new', '${T}_osc_new') LIMIT 1")
        if [ -n "$shadow" ] && [ "$(my_q "SELECT COUNT(*) >= 100 FROM \`$shadow\`" 2>/dev/null)" = 1 ]; then
            started=1
            break
        fi
        sleep 0.02
    done
    if [ "$started" != 1 ]; then
        kill -KILL $osc_pid 2>/dev/null; rc=0; wait $osc_pid || rc=$?
        tail -n 20 "$osc_err" >&2
        fail "(b) osc (exit $rc) never showed a copy in progress (_${T}_osc_new with 100 rows)"
    fi
    # the application writes the duplicates: these must succeed
    my_q "START TRANSACTION;
          INSERT INTO $T (id, v, n) VALUES (900000001, '$v_early', 1);
          INSERT INTO $R (id, v, n) VALUES (900000001, '$v_early', 1);
          COMMIT" || fail "(b) the application's INSERT of a duplicate v (of a copied row) failed while osc ran"
    my_q "START TRANSACTION;
          INSERT INTO $T (id, v, n) VALUES (900000002, '$v_late', 2);
          INSERT INTO $R (id, v, n) VALUES (900000002, '$v_late', 2);
          COMMIT" || fail "(b) the application's INSERT of a duplicate v (of a row not yet copied) failed while osc ran"
    note "(b) inserted duplicates of v=$v_early and v=$v_late"
    kill -0 $osc_pid 2>/dev/null || note "(b) warning: osc had already exited when the duplicates were written"
    rc=0
    for _ in $(seq 1 600); do kill -0 $osc_pid 2>/dev/null || break; sleep 0.1; done
    if kill -0 $osc_pid 2>/dev/null; then
        kill -KILL $osc_pid
        wait $osc_pid 2>/dev/null
        fail "(b) osc still running after 60 s"
    fi
    wait $osc_pid || rc=$?
    note "(b) osc exited $rc"
    tail -n 15 "$osc_err" | sed 's/^/#   err: /'
    grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$osc_err" && fail "(b) sanitizer report from osc"
    [ "$rc" = 1 ] || fail "(b) osc exited $rc, expected 1"
    grep -Eq "$v_early|$v_late" "$osc_err" || fail "(b) the message does not name the duplicate value ($v_early or $v_late)"
    assert_eq 0 "$(my_has_index $T uq_v)" "(b) no index uq_v on $T"
    assert_eq 2 "$(my_q "SELECT COUNT(*) FROM $T WHERE v = '$v_early'")" "(b) both rows with v=$v_early"
    assert_eq 2 "$(my_q "SELECT COUNT(*) FROM $T WHERE v = '$v_late'")" "(b) both rows with v=$v_late"
    my_tables_equal $T $R "*"
    my_no_osc_leftovers $T
}
case " ${OSC_TEST_ENGINES:-pg my} " in *" my "*) eng_use my; written_during_copy_test ;; esac

# ---- (c) a duplicate written while the swap waits -----------------------------------
written_while_postponed_test() {
    local T=t_uniq_${ENGINE}3 R=t_uniq_${ENGINE}3_ref K=t_uniq_${ENGINE}3_uw t flag=$TEST_TMP/postpone.$ENGINE
    e_fixture $T $R 10000
    for t in $T $R; do e_q "ALTER TABLE $t ADD COLUMN w int NULL" || fail "column w"; done
    e_q "UPDATE $T SET w = id; UPDATE $R SET w = id" || fail "w = id"
    e_start_writer $T $R
    # rows the writer never touches (below its keys)
    e_q "INSERT INTO $T (id, v, w) VALUES (-1, 'dup', -1), (-2, 'dup', -2);
         INSERT INTO $R (id, v, w) VALUES (-1, 'dup', -1), (-2, 'dup', -2)" || fail "the rows of the duplicate"
    touch "$flag"
    e_osc_bg "$TEST_TMP/c.out" "$TEST_TMP/c.err" --table $T --alter "$(e_pick "ADD CONSTRAINT $K UNIQUE (w)" "ADD UNIQUE KEY $K (w)")" \
        --postpone-cutover "$flag" --log-format json
    wait_for_text "cutover postponed" 60 "$TEST_TMP/c.err" || { tail -n 20 "$TEST_TMP/c.err" >&2; e_stop_writer; fail "no postponed cutover"; }
    e_q "$(e_pick BEGIN "START TRANSACTION"); UPDATE $T SET w = -1 WHERE id = -2; UPDATE $R SET w = -1 WHERE id = -2; COMMIT" \
        || { e_stop_writer; fail "the duplicate"; }
    osc_bg_wait 60
    rm -f "$flag"
    e_stop_writer
    grep -E "error" "$TEST_TMP/c.err" | sed 's/^/#   /' | tail -n 3
    assert_eq 1 "$OSC_BG_RC" "osc's exit status over a real duplicate"
    grep -q "$(e_pick 'Key (w)=(-1) already exists' "Duplicate entry '-1' for key '$K'")" "$TEST_TMP/c.err" \
        || fail "the failure does not name the duplicate key"
    if [ "$ENGINE" = pg ]; then
        grep -q 'no row was dropped' "$TEST_TMP/c.err" || fail "the message does not say no row was lost"
        assert_true "NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '$K')" "no constraint added"
    else
        assert_eq 0 "$(my_has_index $T $K)" "the original's indexes"
    fi
    e_tables_equal $T $R "id, v, n, extra, pad, w"
    e_no_leftovers $T
}
for_each_engine written_while_postponed_test
echo "ok"
