#!/usr/bin/env bash
# MariaDB: osc killed (SIGKILL) at each step of the swap's locked section
# (src/my/my_swap.c: OSC_FAULT pauses there, then the test kills):
#   swap-repointed       the log drained under the lock (the children's keys
#                        repointed: none here; t_my_fk_children kills there
#                        with children, and t_resume_swap at swap-locked)
#   swap-unmarked        the shadow has the comment the new table must carry
#   swap-triggers-moved  the user's triggers moved from T to the shadow
#   swap-sentry-dropped  the sentry dropped, the lock still held: the
#                        server may still run the queued RENAME when the
#                        locks go with osc's connections (it usually does:
#                        it drops a queued statement of a dead client only
#                        once it notices), so T is the original or the new
#                        table, and both must end right
# After each kill the application must be able to write T at once (the old
# code dropped the change log under the lock: a kill after that left the
# capture triggers writing to a missing table, and every write failed with
# 1146 until `osc cleanup`), and then, alternately:
#   - a rerun resumes and swaps: the new table equals the mirror, and the
#     user's audit triggers fire exactly once per application write (the old
#     code left them on the shadow, where the replay's delete and insert
#     fired them as 'd', 'i');
#   - `osc cleanup` removes every osc object, the sentry included (the old
#     code left it, and the next run refused), puts the user's triggers back
#     on T (the old code dropped them with the shadow), and the next run
#     succeeds.
# Two more rounds end the swap's second connection first, so that its
# RENAME cannot run: at swap-sentry-dropped the rerun then resumes the
# original, and with --alter-foreign-keys-method drop_swap (the original is
# dropped under the lock) T is missing until the rerun renames the complete
# new table in (a gap drop_swap has by design: README).
# The writer stops while the swap is postponed (--postpone-cutover), so the
# audit tables compare row for row; the writes the test makes right after a
# kill (keys >= 900000000) are left out of that comparison: a kill after the
# triggers moved leaves them on the shadow until the rerun or cleanup puts
# them back, and those writes do not fire them.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
ALTER="ADD COLUMN c INT NOT NULL DEFAULT 7"
COLS="id, v, n, extra, pad"

triggers_on() {
    my_q "SELECT COALESCE(GROUP_CONCAT(TRIGGER_NAME ORDER BY TRIGGER_NAME), '') FROM information_schema.TRIGGERS
          WHERE TRIGGER_SCHEMA = 'osctest' AND EVENT_OBJECT_TABLE = $(my_ql "$1")
            AND TRIGGER_NAME NOT LIKE '%\\_osc\\_%'"
}

# setup T R: the fixture, audit triggers on both (as t_my_user_trigger)
setup() {
    local t=$1 r=$2 x
    my_q "DROP TABLE IF EXISTS ${t}_osc_new, ${t}_osc_log, ${t}_osc_hb; DELETE FROM _osc_migrations WHERE table_name = '$t'" \
        2>/dev/null
    my_fixture int $t $r 3000
    for x in $t $r; do
        my_q "
            DROP TABLE IF EXISTS ${x}_audit;
            CREATE TABLE ${x}_audit (ev CHAR(1) NOT NULL, old_id INT, new_id INT) ENGINE=InnoDB;
            CREATE TRIGGER ${x}_ai AFTER INSERT ON $x FOR EACH ROW INSERT INTO ${x}_audit VALUES ('i', NULL, NEW.id);
            CREATE TRIGGER ${x}_au AFTER UPDATE ON $x FOR EACH ROW INSERT INTO ${x}_audit VALUES ('u', OLD.id, NEW.id);
            CREATE TRIGGER ${x}_ad AFTER DELETE ON $x FOR EACH ROW INSERT INTO ${x}_audit VALUES ('d', OLD.id, NULL);
        " || fail "setup of the triggers on $x"
    done
}

# mirrored_write T R K: insert, update and delete keys K.. on T and R, one transaction each
mirrored_write() {
    local t=$1 r=$2 k=$3 x out
    for x in "INSERT INTO %s (id, v, n) VALUES ($k, 'k', 1)" "UPDATE %s SET v = 'kk' WHERE id = $k" \
             "INSERT INTO %s (id, v, n) VALUES ($((k + 1)), 'k', 1)" "DELETE FROM %s WHERE id = $((k + 1))"; do
        # shellcheck disable=SC2059
        out=$(my_q "START TRANSACTION; $(printf "$x" "$t"); $(printf "$x" "$r"); COMMIT;" 2>&1) \
            || fail "the application cannot write $t after the kill: $out"
    done
}

# audits_equal T R: the audit tables agree, the writes made right after the kills left out
audits_equal() {
    my_q "CREATE OR REPLACE VIEW ${1}_audit_v AS SELECT * FROM ${1}_audit WHERE COALESCE(new_id, old_id) < 900000000;
          CREATE OR REPLACE VIEW ${2}_audit_v AS SELECT * FROM ${2}_audit WHERE COALESCE(new_id, old_id) < 900000000" \
        || fail "audit views"
    my_tables_equal "${1}_audit_v" "${2}_audit_v" "ev, old_id, new_id"
}

# kill_rename: end the swap's second connection (its RENAME queued behind
# osc's lock) before osc dies, so that the server never runs it
kill_rename() {
    local id
    id=$(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%' AND ID <> CONNECTION_ID()")
    [ -n "$id" ] || fail "no RENAME queued behind osc's lock"
    my_q "KILL $id"
}

round=0
for step in swap-repointed:cleanup swap-unmarked:rerun swap-triggers-moved:rerun swap-sentry-dropped:cleanup \
            swap-sentry-dropped:rerun:norename swap-sentry-dropped:rerun:norename:drop_swap; do
    round=$((round + 1))
    IFS=: read -r point mode how method <<<"$step"
    T=t_my_ck_$round R=t_my_ck_${round}_ref
    note "---- $point ----"
    setup $T $R
    fkopt=()
    if [ "${method:-}" = drop_swap ]; then
        # a child table, so that the swap drops the original under its lock
        my_q "DROP TABLE IF EXISTS ${T}_child; CREATE TABLE ${T}_child (id INT PRIMARY KEY, tid INT,
              FOREIGN KEY (tid) REFERENCES $T (id)) ENGINE=InnoDB" || fail "the child table"
        fkopt=(--alter-foreign-keys-method drop_swap)
    fi
    flag=$TEST_TMP/postpone.$round
    start_mywriter int $T $R
    sleep 0.3
    OSC_FAULT=$point:10000 osc_bg_my "$TEST_TMP/$round.out" "$TEST_TMP/$round.err" --table $T --alter "$ALTER" \
        --postpone-cutover "$flag" "${fkopt[@]}"
    wait_for_text "cutover postponed" 60 "$TEST_TMP/$round.err" \
        || { tail -n 20 "$TEST_TMP/$round.err" >&2; fail "osc did not reach the postponed cutover"; }
    stop_mywriter
    rm -f "$flag"
    wait_for_text "fault injection: pausing [0-9]+ms at $point" 30 "$TEST_TMP/$round.err" \
        || { tail -n 20 "$TEST_TMP/$round.err" >&2; fail "osc never reached $point"; }
    [ "${how:-}" = norename ] && kill_rename
    kill -KILL "$OSC_BG_PID"
    wait "$OSC_BG_PID" 2>/dev/null
    my_wait_sessions_at_most 0
    if [ "${method:-}" = drop_swap ]; then
        assert_eq 0 "$(my_has_table $T)" "$T after a kill past drop_swap's DROP, its RENAME gone"
        note "rerun: it renames the complete new table in"
        run_osc_my --table $T --alter "$ALTER" "${fkopt[@]}"
        [ "$OSC_RC" = 0 ] || fail "the rerun after an interrupted drop_swap exited $OSC_RC"
        grep -q "its new table, complete, is renamed in" "$OSC_ERR" || fail "the rerun does not say it renamed the new table in"
        my_q "ALTER TABLE $R ADD COLUMN c INT NOT NULL DEFAULT 7"
        my_tables_equal $T $R "$COLS, c"
        assert_eq "${T}_ad,${T}_ai,${T}_au" "$(triggers_on $T)" "the user's triggers on the new $T"
        audits_equal $T $R
        my_no_osc_leftovers $T
        my_q "DROP TABLE ${T}_child"
        continue
    fi
    swapped=$(my_has_column $T c)
    if [ $point = swap-sentry-dropped ] && [ "${how:-}" != norename ]; then
        note "after the kill at $point $T is $([ "$swapped" = 1 ] && echo the new table || echo the original)"
    else
        assert_eq 0 "$swapped" "$T is the original after a kill at $point"
    fi
    [ "$swapped" = 1 ] && my_q "ALTER TABLE $R ADD COLUMN c INT NOT NULL DEFAULT 7"
    mirrored_write $T $R $((900000000 + round * 10))
    if [ "$mode" = rerun ]; then
        note "rerun after the kill at $point"
        start_mywriter int $T $R
        sleep 0.3
        run_osc_my --table $T --alter "$ALTER"
        rc=$OSC_RC
        sleep 0.3
        stop_mywriter
        [ "$rc" = 0 ] || fail "the rerun after a kill at $point exited $rc"
        grep -q "resuming the migration" "$OSC_ERR" || fail "the rerun did not resume"
        assert_eq 1 "$(my_has_column $T c)" "$T has the new column after the rerun"
        [ "$swapped" = 1 ] || my_q "ALTER TABLE $R ADD COLUMN c INT NOT NULL DEFAULT 7"
        my_tables_equal $T $R "$COLS, c"
        assert_eq "" "$(triggers_on ${T}_osc_old)" "user triggers left on ${T}_osc_old"
    else
        note "cleanup after the kill at $point"
        expect_osc_my 0 cleanup --table $T
        assert_eq "$swapped" "$(my_has_column $T c)" "$T after osc cleanup"
        assert_eq "${T}_ad,${T}_ai,${T}_au" "$(triggers_on $T)" "the user's triggers on $T after osc cleanup"
        my_no_osc_leftovers $T
        if [ "$swapped" = 1 ]; then
            grep -q "the swap had committed" "$OSC_ERR" || fail "cleanup does not say the swap had committed"
            assert_eq done "$(my_q "SELECT outcome FROM _osc_migrations WHERE table_name = '$T' ORDER BY id DESC LIMIT 1")" \
                "the state row after cleanup finished a committed swap"
            my_tables_equal $T $R "$COLS, c"
        else
            assert_eq 0 "$(my_has_table ${T}_osc_old)" "the sentry after osc cleanup"
            my_tables_equal $T $R "$COLS"
            note "the next run, after cleanup"
            my_migrate_with_writer int $T $R "$ALTER"
            my_q "ALTER TABLE $R ADD COLUMN c INT NOT NULL DEFAULT 7"
            my_tables_equal $T $R "$COLS, c"
        fi
    fi
    assert_eq "${T}_ad,${T}_ai,${T}_au" "$(triggers_on $T)" "the user's triggers on the new $T"
    assert_eq "" "$(triggers_on ${T}_osc_new)" "triggers left on ${T}_osc_new"
    audits_equal $T $R
    my_no_osc_leftovers $T
done
echo "ok"
