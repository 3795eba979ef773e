#!/usr/bin/env bash
# MariaDB: the table's own triggers (AFTER INSERT, UPDATE, DELETE, each
# writing an audit row) are on the new table after the swap, fire for every
# write the application makes, before, during and after the swap, and never
# fire for osc's copy. The mirror table R carries the same triggers into its
# own audit table; the mirrored writer runs throughout, so the two audit
# tables must be equal row for row: a write to T that missed its trigger, or
# an extra firing, shows as a difference. (A RENAME TABLE takes triggers
# along, so osc moves them to the shadow under the swap's lock.)
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_trig R=t_my_trig_ref
my_fixture int $T $R 20000
for x in $T $R; do
    my_q "
        DROP TABLE IF EXISTS ${x}_audit;
        CREATE TABLE ${x}_audit (ev CHAR(1) NOT NULL, old_id INT, new_id INT) ENGINE=InnoDB;
        CREATE TRIGGER ${x}_ai AFTER INSERT ON $x FOR EACH ROW INSERT INTO ${x}_audit VALUES ('i', NULL, NEW.id);
        CREATE TRIGGER ${x}_au AFTER UPDATE ON $x FOR EACH ROW INSERT INTO ${x}_audit VALUES ('u', OLD.id, NEW.id);
        CREATE TRIGGER ${x}_ad AFTER DELETE ON $x FOR EACH ROW INSERT INTO ${x}_audit VALUES ('d', OLD.id, NULL);
    " || fail "setup of the triggers on $x"
done
my_q "UPDATE $T SET v = 'before' WHERE id = 1; UPDATE $R SET v = 'before' WHERE id = 1" || fail "update before the migration"
assert_eq 1 "$(my_q "SELECT COUNT(*) FROM ${T}_audit WHERE ev = 'u' AND new_id = 1")" "the trigger fires before the migration"

my_migrate_with_writer int $T $R "ADD COLUMN c INT"
my_q "ALTER TABLE $R ADD COLUMN c INT" || fail "ALTER of the reference table $R"
my_tables_equal $T $R "*"
n=$(my_q "SELECT COUNT(*) FROM ${T}_audit")
[ "$n" -gt 100 ] || fail "only $n audit rows: the writer did not run through the migration"
my_tables_equal ${T}_audit ${R}_audit "ev, old_id, new_id"
assert_eq 3 "$(my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS
                     WHERE TRIGGER_SCHEMA = 'osctest' AND TRIGGER_NAME IN ('${T}_ai', '${T}_au', '${T}_ad')
                       AND EVENT_OBJECT_TABLE = '$T'")" \
    "the three triggers are on the new $T"
assert_eq 0 "$(my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS
                     WHERE TRIGGER_SCHEMA = 'osctest' AND EVENT_OBJECT_TABLE = '${T}_osc_old'")" \
    "no trigger is left on ${T}_osc_old"
my_q "INSERT INTO $T (id, v, c) VALUES (900000002, 'after', 5)" || fail "insert after the migration"
assert_eq 1 "$(my_q "SELECT COUNT(*) FROM ${T}_audit WHERE new_id = 900000002")" "the trigger fires on the new $T"
my_no_osc_leftovers $T
echo "ok"
