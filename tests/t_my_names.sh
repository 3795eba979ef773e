#!/usr/bin/env bash
# MariaDB: a user's objects under osc's names. osc derives its work objects'
# names from the table's (T_osc_new, T_osc_log, T_osc_old, T_osc_hb,
# T_osc_ins/upd/del), and a user may have a table or trigger of that name.
# The old code refused with "an unfinished osc run left its objects; run osc
# cleanup", and following that advice dropped the user's table with its
# rows (or, for T_osc_hb, wrote its heartbeat into the user's table and
# dropped it after the swap). osc marks what it creates (src/my/my_owned.c):
#  A. for each of those names held by a user's table (with rows) or trigger:
#     the run and `osc plan` refuse before creating anything (exit 2),
#     naming it; nothing changes; `osc cleanup` leaves it, with its rows.
#  B. with the names free, a run under the mirrored writer succeeds, and a
#     user table beside it that merely looks like osc's (T_osc_log2) is
#     untouched.
#  C. a run killed mid-copy leaves marked objects: the next run says "run osc
#     cleanup", and `osc cleanup` removes them all.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=precious R=precious_ref
ALTER="ADD COLUMN c INT"

my_fixture int $T $R 20000
my_q "DROP TABLE IF EXISTS ${T}_audit, ${T}_osc_log2; CREATE TABLE ${T}_audit (id INT) ENGINE=InnoDB;
      CREATE TABLE ${T}_osc_log2 (x INT) ENGINE=InnoDB; INSERT INTO ${T}_osc_log2 VALUES (1), (2)" || fail "setup"

# user_object KIND NAME: create a user's table (with 3 rows) or trigger named NAME
user_object() {
    if [ "$1" = table ]; then
        my_q "CREATE TABLE $(my_qi "$2") (k INT PRIMARY KEY, what VARCHAR(20)) ENGINE=InnoDB COMMENT 'mine';
              INSERT INTO $(my_qi "$2") VALUES (1, 'precious'), (2, 'data'), (3, 'here')" || fail "create $2"
    else
        my_q "CREATE TRIGGER $(my_qi "$2") AFTER INSERT ON $T FOR EACH ROW INSERT INTO ${T}_audit VALUES (NEW.id)" \
            || fail "create trigger $2"
    fi
}
drop_user_object() {
    if [ "$1" = table ]; then my_q "DROP TABLE $(my_qi "$2")"; else my_q "DROP TRIGGER $(my_qi "$2")"; fi
}
user_object_intact() {
    if [ "$1" = table ]; then
        assert_eq "3 mine" "$(my_q "SELECT CONCAT(COUNT(*), ' ', (SELECT TABLE_COMMENT FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = $(my_ql "$2"))) FROM $(my_qi "$2")")" "the user's table $2"
    else
        assert_eq 1 "$(my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'osctest'
            AND TRIGGER_NAME = $(my_ql "$2")")" "the user's trigger $2"
    fi
}

note "---- A: each of osc's names held by a user's object ----"
for obj in table:${T}_osc_log table:${T}_osc_new table:${T}_osc_old table:${T}_osc_hb \
           trigger:${T}_osc_ins trigger:${T}_osc_del; do
    kind=${obj%%:*} name=${obj#*:}
    note "-- a user's $kind $name"
    user_object "$kind" "$name"
    before=$(my_schema_snapshot)
    expect_osc_my 2 --table $T --alter "$ALTER"
    grep -q "osctest.$name" "$OSC_ERR" || fail "the refusal does not name $name"
    grep -q "not osc's" "$OSC_ERR" || fail "the refusal does not say $name is not osc's"
    assert_eq "$before" "$(my_schema_snapshot)" "the schema after the refusal"
    expect_osc_my 2 plan --table $T --alter "$ALTER"
    expect_osc_my 0 cleanup --table $T
    user_object_intact "$kind" "$name"
    assert_eq "$before" "$(my_schema_snapshot)" "the schema after osc cleanup"
    my_tables_equal $T $R "*"
    drop_user_object "$kind" "$name"
done

note "---- B: the names free, under the writer ----"
my_migrate_with_writer int $T $R "$ALTER"
my_q "ALTER TABLE $R ADD COLUMN c INT" || fail "ALTER of $R"
my_tables_equal $T $R "*"
assert_eq 2 "$(my_q "SELECT COUNT(*) FROM ${T}_osc_log2")" "the user's ${T}_osc_log2"
my_no_osc_leftovers $T
assert_eq "" "$(my_q "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T'")" \
    "the new table's comment (osc's mark never reaches it)"

note "---- C: a killed run's objects, then osc cleanup ----"
T=precious2 R=precious2_ref
my_fixture int $T $R 20000
my_q "ALTER TABLE $T COMMENT = 'the original comment'" || fail "comment"
OSC_FAULT=chunk:200 osc_bg_my "$TEST_TMP/c.out" "$TEST_TMP/c.err" --table $T --alter "$ALTER" --chunk-size 500 --chunk-size-max 500
for _ in $(seq 1 100); do
    [ "$(my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'osctest' AND EVENT_OBJECT_TABLE = '$T'")" = 3 ] && break
    sleep 0.1
done
sleep 0.3
kill -KILL "$OSC_BG_PID"
wait "$OSC_BG_PID" 2>/dev/null
my_wait_sessions_at_most 0
assert_eq "osc work table: new table of $T" "$(my_q "SELECT TABLE_COMMENT FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '${T}_osc_new'")" "the shadow's mark"
expect_osc_my 2 --table $T --alter "ADD COLUMN other INT"
grep -q "osc cleanup" "$OSC_ERR" || fail "the refusal does not point at osc cleanup"
expect_osc_my 0 cleanup --table $T
my_no_osc_leftovers $T
my_tables_equal $T $R "*"
expect_osc_my 0 --table $T --alter "$ALTER"
assert_eq "the original comment" "$(my_q "SELECT TABLE_COMMENT FROM information_schema.TABLES
    WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T'")" "the new table's comment"
my_q "DROP TABLE ${T}_osc_old, precious_osc_old, precious_osc_log2, precious_audit" || fail "drop"
echo "ok"
