#!/usr/bin/env bash
# MariaDB: a user trigger on the table (AFTER INSERT, writes an audit table)
# is on the new table after the swap and keeps firing there; it never fired for
# osc's copy. (A RENAME TABLE takes the triggers along to T_osc_old, so osc
# has to move it.)
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_trig R=t_my_trig_ref
my_fixture int $T $R 20000
my_q "
    DROP TABLE IF EXISTS ${T}_audit_log;
    CREATE TABLE ${T}_audit_log (id INT NOT NULL) ENGINE=InnoDB;
    CREATE TRIGGER ${T}_audit AFTER INSERT ON $T FOR EACH ROW INSERT INTO ${T}_audit_log (id) VALUES (NEW.id);
    INSERT INTO $T (id, v) VALUES (800000001, 'before');
" || fail "setup"
assert_eq 1 "$(my_q "SELECT COUNT(*) FROM ${T}_audit_log WHERE id = 800000001")" "the trigger fires before the migration"

expect_osc_my 0 --table $T --alter "ADD COLUMN c INT"
assert_eq 1 "$(my_has_column $T c)" "$T has column c"
assert_eq 1 "$(my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS
                     WHERE TRIGGER_SCHEMA = 'osctest' AND TRIGGER_NAME = '${T}_audit' AND EVENT_OBJECT_TABLE = '$T'")" \
    "trigger ${T}_audit is on the new $T"
assert_eq 1 "$(my_q "SELECT COUNT(*) FROM ${T}_audit_log")" "the audit log holds only the one insert (the copy did not fire the trigger)"
my_q "INSERT INTO $T (id, v, c) VALUES (800000002, 'after', 5)" || fail "insert after the migration"
assert_eq 1 "$(my_q "SELECT COUNT(*) FROM ${T}_audit_log WHERE id = 800000002")" "the trigger fires on the new $T"
my_no_osc_leftovers $T
echo "ok"
