#!/usr/bin/env bash
# The revert (--revertible, osc revert, osc finish: src/core/revert.c), one
# body for PostgreSQL and MariaDB:
#  A. under the mirrored writer: a --revertible migration, writes after its
#     swap, `osc revert` while the writer goes on, more writes; the table then
#     has its old definition and equals the mirror row for row, and nothing of
#     osc's is left (--drop-old-table drops the new-schema table);
#  B. a value written after the swap that the old type cannot hold: `osc
#     revert` refuses (exit 2) naming its key, the table keeps serving with
#     its new definition and stays revertible; once the value fits, the revert
#     goes through;
#  C. SIGKILL of `osc revert` under the writer before the swap back's lock,
#     inside the swap back, and right after it committed: the table name
#     resolves to a complete table each time (the writer never fails) and a
#     rerun of `osc revert` finishes;
#  D. `osc finish` keeps the new definition and leaves no osc object behind
#     (with --drop-old-table, not the original either); a revert after it is
#     refused;
#  F. a --revertible run killed right after its swap committed, finished by
#     a rerun without --revertible: the migration stays revertible (the first
#     run's choice), and the revert goes through;
#  G. (PostgreSQL) through osc proxy: the mirrored writer connects through the
#     proxy, and the forward swap and the swap back both hold the application
#     at the proxy; the table then equals the mirror;
#  H. (PostgreSQL) a TRUNCATE of the new table after the swap, then new rows:
#     the revert empties the original too, and the table holds the new rows
#     only (MySQL fires no trigger for a TRUNCATE, forward or back);
#  E. bad input, exit 2 and nothing changed: osc revert of a table with no
#     revertible migration, --revertible for an ALTER without an inverse (a
#     NOT NULL column without a default dropped), a new migration of a table
#     that is revertible, osc revert --alter.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
. "$(dirname "$0")/lib_proxy.sh"
need_osc
COLS="id, v, n, extra, pad"

alter_fwd() { e_pick "ADD COLUMN c int DEFAULT 1, ALTER COLUMN n TYPE bigint" "ADD COLUMN c int DEFAULT 1, MODIFY n BIGINT"; }
alter_widen() { e_pick "ALTER COLUMN n TYPE bigint" "MODIFY n BIGINT"; }

# definition T: the table's columns and indexes, as text to compare
definition() {
    if [ "$ENGINE" = pg ]; then
        psql_q "SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
                                  || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum)
                  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE a.attrelid = $(ql "$1")::regclass AND a.attnum > 0 AND NOT a.attisdropped"
        psql_q "SELECT string_agg(replace(pg_get_indexdef(indexrelid), $(ql "$1"), 'T'), '; ' ORDER BY 1)
                  FROM pg_index WHERE indrelid = $(ql "$1")::regclass"
    else
        my_q "SHOW CREATE TABLE osctest.\`$1\`" | cut -f2- | sed 's/ AUTO_INCREMENT=[0-9]*//'
    fi
}

# revert_state T: the revert column of T's latest state row
revert_state() { e_state "$1" revert; }

# osc_objects T: osc's objects for T that are still there (work schema, log,
# kept original, triggers), one line each
osc_objects() {
    if [ "$ENGINE" = pg ]; then
        psql_q "SELECT nspname FROM pg_namespace WHERE nspname = $(ql "$(osc_state "$1" work_schema)")
                UNION ALL SELECT tgrelid::regclass || '.' || tgname FROM pg_trigger WHERE tgname LIKE '\_osc%'
                   AND tgrelid::regclass::text = $(ql "$1")
                UNION ALL SELECT oid::regclass::text FROM pg_class WHERE relname LIKE $(ql "_${1}_osc%")"
    else
        my_q "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest'
                AND TABLE_NAME LIKE $(my_ql "${1}\\_osc%")
              UNION ALL SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'osctest'
                AND TRIGGER_NAME LIKE $(my_ql "${1}\\_osc%")"
    fi
}

# fresh T R ROWS: the fixture, without what an earlier run of this test
# against the same servers left under T's names
fresh() {
    if [ "$ENGINE" = my ]; then
        local n
        for n in "$1_osc_rev" "$1_osc_rev_2" "$1_osc_old" "$1_osc_rlog"; do
            my_q "DROP TABLE IF EXISTS osctest.\`$n\`" >/dev/null
        done
    fi
    e_fixture "$@"
}

migrate_revertible() {
    e_run_osc --table "$1" --alter "$2" --revertible --log-format json
    [ "$OSC_RC" = 0 ] || fail "the --revertible migration exited $OSC_RC"
    assert_eq revertible "$(revert_state "$1")" "the state row's revert column after the swap"
}

case_revert_under_writer() {
    local T=t_rev_${ENGINE}_a R=t_rev_${ENGINE}_a_ref before after n
    note "---- A: migrate --revertible, write, revert under the writer ----"
    fresh $T $R 3000
    before=$(definition $T)
    e_start_writer $T $R
    migrate_revertible $T "$(alter_fwd)"
    [ "$(definition $T)" != "$before" ] || { e_stop_writer; fail "the migration did not change the definition"; }
    # the writer goes on against the new table; its writes are logged for the revert
    sleep 3
    e_run_osc revert --table $T --drop-old-table --log-format json
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "osc revert exited $OSC_RC"; }
    sleep 1
    e_stop_writer
    after=$(definition $T)
    assert_eq "$before" "$after" "the definition after the revert"
    e_tables_equal $T $R "$COLS"
    assert_eq reverted "$(revert_state $T)" "the state row's revert column"
    n=$(osc_objects $T)
    [ -z "$n" ] || fail "osc objects left after the revert with --drop-old-table: $n"
}

case_refused() {
    local T=t_rev_${ENGINE}_b R=t_rev_${ENGINE}_b_ref newdef
    note "---- B: a value the old type cannot hold: refused, naming its key ----"
    fresh $T $R 500
    migrate_revertible $T "$(alter_widen)"
    newdef=$(definition $T)
    e_q "UPDATE $T SET n = 3000000000 WHERE id = 77" >/dev/null
    e_expect_osc 2 revert --table $T
    grep -q "revert refused" "$OSC_ERR" || fail "osc revert does not say it refused"
    grep -q "77" "$OSC_ERR" || fail "the refusal does not name the key 77"
    assert_eq "$newdef" "$(definition $T)" "the definition after the refused revert"
    assert_eq 3000000000 "$(e_q "SELECT n FROM $T WHERE id = 77")" "the row's value after the refused revert"
    assert_eq revertible "$(revert_state $T)" "the state row's revert column after the refusal"
    e_q "UPDATE $T SET n = 77 WHERE id = 77" >/dev/null
    e_q "UPDATE $R SET n = 77 WHERE id = 77" >/dev/null
    e_expect_osc 0 revert --table $T --drop-old-table
    e_tables_equal $T $R "$COLS"
}

# kill_at POINT T: osc revert held at the fault point, killed there; the
# table answers a count and the writer keeps writing
kill_at() {
    local point=$1 T=$2 F=$TEST_TMP/hold.$1
    OSC_FAULT=$point:$F e_osc_bg "$TEST_TMP/C.out" "$TEST_TMP/C.err" revert --table $T --log-format json
    wait_for_text "waiting at $point" 60 "$TEST_TMP/C.err" || { e_stop_writer; tail -n 5 "$TEST_TMP/C.err" >&2; fail "osc revert never reached $point"; }
    osc_bg_kill KILL || { e_stop_writer; fail "osc revert ended before the kill at $point"; }
    e_q "SELECT COUNT(*) FROM $T" >/dev/null || { e_stop_writer; fail "$T does not answer after the kill at $point"; }
    note "killed at $point: $T is $(revert_state $T)"
}

case_kill() {
    local T=t_rev_${ENGINE}_c R=t_rev_${ENGINE}_c_ref before
    note "---- C: SIGKILL of osc revert before, inside and after the swap back ----"
    fresh $T $R 3000
    before=$(definition $T)
    e_start_writer $T $R
    migrate_revertible $T "$(alter_fwd)"
    sleep 1
    kill_at revert-cutover $T
    [ "$(definition $T)" != "$before" ] || { e_stop_writer; fail "killed before the swap back, the table has the old definition"; }
    kill_at swap-locked $T
    [ "$(definition $T)" != "$before" ] || { e_stop_writer; fail "killed inside the swap back, the table has the old definition"; }
    kill_at revert-committed $T
    assert_eq "$before" "$(definition $T)" "the definition once the swap back committed"
    e_run_osc revert --table $T --drop-old-table --log-format json
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "the rerun of osc revert exited $OSC_RC"; }
    sleep 1
    e_stop_writer
    e_tables_equal $T $R "$COLS"
    assert_eq reverted "$(revert_state $T)" "the state row's revert column after the rerun"
    local n
    n=$(osc_objects $T)
    [ -z "$n" ] || fail "osc objects left after the rerun: $n"
}

case_finish() {
    local T=t_rev_${ENGINE}_d R=t_rev_${ENGINE}_d_ref newdef n
    note "---- D: osc finish ends revertibility ----"
    fresh $T $R 500
    migrate_revertible $T "$(alter_fwd)"
    newdef=$(definition $T)
    e_q "UPDATE $T SET v = 'after' WHERE id = 3" >/dev/null
    e_expect_osc 0 finish --table $T --drop-old-table
    assert_eq "$newdef" "$(definition $T)" "the definition after osc finish"
    assert_eq finished "$(revert_state $T)" "the state row's revert column after osc finish"
    n=$(osc_objects $T)
    [ -z "$n" ] || fail "osc objects left after osc finish --drop-old-table: $n"
    e_no_leftovers $T
    e_expect_osc 2 revert --table $T
    grep -q "no revertible migration" "$OSC_ERR" || fail "osc revert after osc finish does not say why"
    # without --drop-old-table the original stays where a plain run leaves it
    fresh $T $R 500
    migrate_revertible $T "$(alter_fwd)"
    e_expect_osc 0 finish --table $T
    assert_eq 1 "$(e_has_table "$(e_old_table $T)")" "the original kept as $(e_old_table $T) after osc finish"
    assert_eq 500 "$(e_q "SELECT COUNT(*) FROM $(e_old_table $T)")" "the original's rows"
}

case_bad_input() {
    local T=t_rev_${ENGINE}_e R=t_rev_${ENGINE}_e_ref snap
    note "---- E: bad input changes nothing ----"
    fresh $T $R 200
    snap=$(e_schema_snapshot)
    e_expect_osc 2 revert --table $T
    grep -q "no revertible migration" "$OSC_ERR" || fail "osc revert of a plain table does not say why"
    assert_eq "$snap" "$(e_schema_snapshot)" "the schema after a refused osc revert"
    if [ "$ENGINE" = pg ]; then
        e_q "ALTER TABLE $T ADD COLUMN req int NOT NULL DEFAULT 0; ALTER TABLE $T ALTER COLUMN req DROP DEFAULT" >/dev/null
    else
        e_q "ALTER TABLE $T ADD COLUMN req int NOT NULL DEFAULT 0; ALTER TABLE $T ALTER COLUMN req DROP DEFAULT" >/dev/null
    fi
    snap=$(e_schema_snapshot)
    e_expect_osc 2 --table $T --alter "DROP COLUMN req" --revertible
    grep -q "revertible" "$OSC_ERR" || fail "the refusal of --revertible does not say why"
    assert_eq "$snap" "$(e_schema_snapshot)" "the schema after --revertible was refused"
    e_no_leftovers $T
    e_expect_osc 2 revert --table $T --alter "ADD COLUMN x int"
    # a revertible table takes no new migration until it is reverted or finished
    migrate_revertible $T "$(alter_widen)"
    # another session's DDL after the swap: the revert would lose it
    e_q "ALTER TABLE $T ADD COLUMN z int" >/dev/null
    e_expect_osc 2 revert --table $T
    grep -q "changed since the swap" "$OSC_ERR" || fail "osc revert of a table changed since the swap does not say why"
    e_q "ALTER TABLE $T DROP COLUMN z" >/dev/null
    snap=$(e_schema_snapshot)
    e_expect_osc 2 --table $T --alter "ADD COLUMN y int"
    grep -q "osc finish --table" "$OSC_ERR" || fail "a new migration of a revertible table does not say what to do"
    e_expect_osc 2 cleanup --table $T
    assert_eq "$snap" "$(e_schema_snapshot)" "the schema after the refused migration and cleanup"
    e_expect_osc 0 finish --table $T --drop-old-table
}

case_resumed() {
    local T=t_rev_${ENGINE}_f R=t_rev_${ENGINE}_f_ref before F=$TEST_TMP/hold.f
    note "---- F: killed after the swap, finished without --revertible: still revertible ----"
    fresh $T $R 500
    before=$(definition $T)
    OSC_FAULT=swap-committed:$F e_osc_bg "$TEST_TMP/F.out" "$TEST_TMP/F.err" --table $T --alter "$(alter_fwd)" \
        --revertible --log-format json
    wait_for_text "waiting at swap-committed" 60 "$TEST_TMP/F.err" || fail "the run never reached swap-committed"
    osc_bg_kill KILL || fail "the run ended before the kill"
    e_run_osc --table $T --alter "$(alter_fwd)" --log-format json
    [ "$OSC_RC" = 0 ] || fail "the rerun exited $OSC_RC"
    assert_eq revertible "$(revert_state $T)" "the state row's revert column after the rerun"
    e_q "UPDATE $T SET v = 'after' WHERE id = 9" >/dev/null
    e_q "UPDATE $R SET v = 'after' WHERE id = 9" >/dev/null
    e_expect_osc 0 revert --table $T --drop-old-table
    assert_eq "$before" "$(definition $T)" "the definition after the revert"
    e_tables_equal $T $R "$COLS"
}

case_proxy() {
    local T=t_rev_pg_g R=t_rev_pg_g_ref before PORT=$((PROXY_BASE_PORT + 7)) SOCK=$TEST_TMP/rev.sock
    note "---- G: the forward swap and the swap back held at osc proxy ----"
    proxy_start rev PORT "postgres://127.0.0.1:$OSC_PG_PORT"
    fresh $T $R 2000
    before=$(definition $T)
    OSC_PG_URL=postgres://postgres@127.0.0.1:$PORT/osctest e_start_writer $T $R
    e_run_osc --table $T --alter "$(alter_fwd)" --revertible --proxy "$SOCK" --log-format text
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "the --revertible run through the proxy exited $OSC_RC"; }
    grep -q "released the application after" "$OSC_ERR" || { e_stop_writer; fail "the forward swap did not hold the application"; }
    sleep 1
    e_run_osc revert --table $T --proxy "$SOCK" --drop-old-table --log-format text
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "osc revert through the proxy exited $OSC_RC"; }
    grep -q "released the application after" "$OSC_ERR" || { e_stop_writer; fail "the swap back did not hold the application"; }
    sleep 1
    e_stop_writer
    assert_eq "$before" "$(definition $T)" "the definition after the revert through the proxy"
    e_tables_equal $T $R "$COLS"
    proxy_stop rev
}

case_truncate() {
    local T=t_rev_pg_h R=t_rev_pg_h_ref
    note "---- H: a TRUNCATE after the swap goes back too ----"
    fresh $T $R 300
    migrate_revertible $T "$(alter_fwd)"
    e_q "TRUNCATE $T; INSERT INTO $T (id, v, n, extra, pad) VALUES (1, 'a', 1, 0, 'p'), (2, 'b', NULL, 0, 'q')" >/dev/null
    e_q "TRUNCATE $R; INSERT INTO $R (id, v, n, extra, pad) VALUES (1, 'a', 1, 0, 'p'), (2, 'b', NULL, 0, 'q')" >/dev/null
    e_expect_osc 0 revert --table $T --drop-old-table
    e_tables_equal $T $R "$COLS"
}

body() {
    case_revert_under_writer
    case_refused
    case_kill
    case_finish
    case_resumed
    [ "$ENGINE" = my ] || case_proxy
    [ "$ENGINE" = my ] || case_truncate
    case_bad_input
}
for_each_engine body
echo "ok"
