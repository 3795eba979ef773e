#!/usr/bin/env bash
# osc's names over a user's objects, on PostgreSQL and MariaDB (one body).
# osc derives its work objects' names from the table's, and a user may have
# an object of that name.  osc drops only what it made (PostgreSQL: the
# OIDs its state row recorded; MariaDB: the mark it puts on what it creates,
# src/my/my_owned.c); the old MariaDB code refused with "an unfinished osc
# run left its objects; run osc cleanup", and following that advice dropped
# the user's table with its rows (or, for T_osc_hb, wrote its heartbeat into
# the user's table and dropped it after the swap).
#  A. for each of osc's names held by a user's object (PostgreSQL: the work
#     schema _osc_<hash> with data, a trigger _osc_capture on the table, a
#     table _T_osc_old; MariaDB: tables T_osc_log, T_osc_new, T_osc_old,
#     T_osc_hb with rows, triggers T_osc_ins and T_osc_del): the run
#     refuses before creating anything (exit 2), naming it and saying osc
#     did not create it, without advising a cleanup, and so does `osc plan`
#     (PostgreSQL, the old table's name: the plan's [high] warning says a
#     run refuses); nothing changes; `osc cleanup` leaves it as it was,
#     with its rows.
#  B. with the names free, a run under the mirrored writer succeeds; a user
#     table beside it that merely looks like osc's (T_osc_log2) is
#     untouched; on MariaDB osc's mark never reaches the new table.  osc's
#     own old table, by contrast, is stepped past: the next run keeps its
#     original as T_osc_old_2 and says so.
#  C. a run killed mid-copy leaves osc's objects (MariaDB: marked as
#     osc's): the next run with another ALTER refuses and points at `osc
#     cleanup`, which removes them all; the table equals its mirror and a
#     run then keeps the table's own comment (MariaDB).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

# user_object KIND NAME / drop_user_object KIND NAME / user_object_intact
# KIND NAME: a user's schema (with 100 rows), table (with rows) or trigger
# named NAME, on the table T
user_object() {
    local kind=$1 name=$2
    if [ "$ENGINE" = pg ]; then
        case $kind in
        schema) psql_q "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $name CASCADE;
                        CREATE SCHEMA $name; CREATE TABLE $name.ledger AS SELECT i FROM generate_series(1, 100) i" ;;
        table) psql_q "CREATE TABLE $(qi "$name") AS SELECT 1 AS keep" ;;
        trigger) psql_q "SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS ${T}_audit (at timestamptz);
                         CREATE OR REPLACE FUNCTION ${T}_audit_f() RETURNS trigger LANGUAGE plpgsql AS
                           'BEGIN INSERT INTO ${T}_audit VALUES (now()); RETURN NULL; END';
                         CREATE TRIGGER $name AFTER INSERT ON $T FOR EACH STATEMENT EXECUTE FUNCTION ${T}_audit_f()" ;;
        esac
    elif [ "$kind" = table ]; then
        my_q "CREATE TABLE $(my_qi "$name") (k INT PRIMARY KEY, what VARCHAR(20)) ENGINE=InnoDB COMMENT 'mine';
              INSERT INTO $(my_qi "$name") VALUES (1, 'precious'), (2, 'data'), (3, 'here')"
    else
        my_q "CREATE TRIGGER $(my_qi "$name") AFTER INSERT ON $T FOR EACH ROW INSERT INTO ${T}_audit VALUES (NEW.id)"
    fi || fail "create the user's $kind $name"
}
drop_user_object() {
    local kind=$1 name=$2
    if [ "$ENGINE" = pg ]; then
        case $kind in
        schema) psql_q "DROP SCHEMA $name CASCADE" ;;
        table) psql_q "DROP TABLE $(qi "$name")" ;;
        trigger) psql_q "DROP TRIGGER $name ON $T" ;;
        esac
    elif [ "$kind" = table ]; then
        my_q "DROP TABLE $(my_qi "$name")"
    else
        my_q "DROP TRIGGER $(my_qi "$name")"
    fi || fail "drop the user's $kind $name"
}
user_object_intact() {
    local kind=$1 name=$2
    if [ "$ENGINE" = pg ]; then
        case $kind in
        schema) assert_eq 100 "$(psql_q "SELECT count(*) FROM $name.ledger")" "the user's rows in schema $name" ;;
        table) assert_eq 1 "$(psql_q "SELECT keep FROM $(qi "$name")")" "the user's table $name" ;;
        trigger) assert_eq 1 "$(osc_triggers $T)" "the user's trigger $name" ;;
        esac
    elif [ "$kind" = table ]; then
        assert_eq "3 mine" "$(my_q "SELECT CONCAT(COUNT(*), ' ', (SELECT TABLE_COMMENT FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = $(my_ql "$name"))) FROM $(my_qi "$name")")" "the user's table $name"
    else
        assert_eq 1 "$(my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'osctest'
            AND TRIGGER_NAME = $(my_ql "$name")")" "the user's trigger $name"
    fi
}

# refusal_text KIND NAME: what the refusal says of a user's object
refusal_text() {
    if [ "$ENGINE" = my ]; then
        echo "not osc's"
    elif [ "$1" = table ]; then
        echo "osc did not create it"
    else
        echo "$1 $2$([ "$1" = trigger ] && echo " on public.$T") exists and osc did not create it"
    fi
}

names_owner_test() {
    T=precious
    local R=precious_ref COLS="id, v, n, extra, pad" ALTER ALTER2 objs obj kind name before
    ALTER=$(e_pick "ALTER COLUMN n TYPE bigint" "ADD COLUMN c INT")
    ALTER2=$(e_pick "ALTER COLUMN extra TYPE bigint" "MODIFY extra BIGINT NOT NULL DEFAULT 0")
    e_fixture $T $R 5000
    e_q "DROP TABLE IF EXISTS ${T}_audit, ${T}_osc_log2, $(e_pick "_${T}_osc_old_2" "${T}_osc_old_2")" || fail "setup"
    e_q "CREATE TABLE ${T}_osc_log2 (x INT)" || fail "setup"
    e_q "INSERT INTO ${T}_osc_log2 VALUES (1), (2)" || fail "setup"
    if [ "$ENGINE" = pg ]; then
        local work
        work=$(psql_q "SELECT '_osc_' || left(encode(sha256(convert_to('public', 'UTF8') || '\x00'::bytea
                                                              || convert_to('$T', 'UTF8')), 'hex'), 12)")
        note "osc's work schema for $T: $work"
        objs="schema:$work trigger:_osc_capture table:_${T}_osc_old"
    else
        my_q "CREATE TABLE ${T}_audit (id INT) ENGINE=InnoDB" || fail "setup"
        objs="table:${T}_osc_log table:${T}_osc_new table:${T}_osc_old table:${T}_osc_hb
              trigger:${T}_osc_ins trigger:${T}_osc_del"
    fi

    note "---- A: each of osc's names held by a user's object ----"
    for obj in $objs; do
        kind=${obj%%:*} name=${obj#*:}
        note "-- a user's $kind $name"
        user_object "$kind" "$name"
        before=$(e_schema_snapshot)
        e_expect_osc 2 --table $T --alter "$ALTER"
        grep -qF "$(e_pick "$name" "osctest.$name")" "$OSC_ERR" || fail "the refusal does not name $name"
        grep -qF "$(refusal_text "$kind" "$name")" "$OSC_ERR" || fail "the refusal does not say osc did not create $name"
        grep -q 'osc cleanup' "$OSC_ERR" && ! grep -q 'cleanup leaves it alone' "$OSC_ERR" && fail "osc advises a cleanup"
        grep -q "kept by an earlier migration" "$OSC_ERR" && fail "osc calls the user's $kind its own"
        assert_eq "$before" "$(e_schema_snapshot)" "the schema after the refusal"
        # osc plan refuses too, or (PostgreSQL, a table under the old
        # table's name) plans with a [high] warning that a run refuses
        e_run_osc plan --table $T --alter "$ALTER"
        [ "$OSC_RC" = 2 ] || { [ "$OSC_RC" = 0 ] && grep -q "\[high\] a run refuses this ALTER: .*osc did not create it" "$OSC_OUT"; } \
            || fail "osc plan exited $OSC_RC and does not say that a run refuses"
        e_expect_osc 0 cleanup --table $T
        user_object_intact "$kind" "$name"
        assert_eq "$before" "$(e_schema_snapshot)" "the schema after osc cleanup"
        e_tables_equal $T $R "$COLS"
        drop_user_object "$kind" "$name"
    done
    e_no_leftovers $T

    note "---- B: the names free, under the writer ----"
    e_migrate_with_writer int $T $R "$ALTER"
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "$COLS$(e_pick "" ", c")"
    assert_eq 2 "$(e_q "SELECT COUNT(*) FROM ${T}_osc_log2")" "the user's ${T}_osc_log2"
    e_no_leftovers $T
    if [ "$ENGINE" = my ]; then
        assert_eq "" "$(my_q "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T'")" \
            "the new table's comment (osc's mark never reaches it)"
    fi
    note "-- osc's own old table is stepped past, not refused"
    e_expect_osc 0 --table $T --alter "$ALTER2"
    grep -q "this run keeps the original as .*$(e_pick "_${T}_osc_old_2" "${T}_osc_old_2")" "$OSC_OUT" "$OSC_ERR" \
        || fail "osc does not say where the original goes"
    assert_eq 1 "$(e_has_table "$(e_old_table $T)")" "the first old table kept"
    assert_eq 1 "$(e_has_table "$(e_old_table $T)_2")" "the second old table kept"
    e_no_leftovers $T

    note "---- C: a killed run's objects, then osc cleanup ----"
    local T2=precious2 R2=precious2_ref i
    e_fixture $T2 $R2 5000
    [ "$ENGINE" = pg ] || my_q "ALTER TABLE $T2 COMMENT = 'the original comment'" || fail "comment"
    OSC_FAULT=chunk:200 e_osc_bg "$TEST_TMP/c.out" "$TEST_TMP/c.err" --table $T2 --alter "$ALTER" \
        --chunk-size 500 --chunk-size-max 500
    for ((i = 0; i < 200; i++)); do
        [ "$(e_state $T2 rows_copied)" -ge 500 ] 2>/dev/null && break
        sleep 0.05
    done
    [ "$(e_state $T2 phase)" = copy ] || fail "the copy was not under way"
    osc_bg_kill KILL || fail "osc exited before the SIGKILL"
    e_wait_sessions_at_most 0
    if [ "$ENGINE" = my ]; then
        assert_eq "osc work table: new table of $T2" "$(my_q "SELECT TABLE_COMMENT FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '${T2}_osc_new'")" "the shadow's mark"
    fi
    e_expect_osc 2 --table $T2 --alter "$(e_pick "ALTER COLUMN v TYPE varchar(80)" "ADD COLUMN other INT")"
    grep -q "osc cleanup" "$OSC_ERR" || fail "the refusal does not point at osc cleanup"
    e_expect_osc 0 cleanup --table $T2
    e_no_leftovers $T2
    e_tables_equal $T2 $R2 "$COLS"
    e_expect_osc 0 --table $T2 --alter "$ALTER"
    if [ "$ENGINE" = my ]; then
        assert_eq "the original comment" "$(my_q "SELECT TABLE_COMMENT FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T2'")" "the new table's comment"
    fi
    e_q "DROP TABLE $(e_old_table $T2), $(e_old_table $T), $(e_old_table $T)_2, ${T}_osc_log2, ${T}_audit" || fail "drop"
    [ "$ENGINE" = my ] || psql_q "DROP FUNCTION ${T}_audit_f()" || fail "drop"
}
for_each_engine names_owner_test
echo "ok"
