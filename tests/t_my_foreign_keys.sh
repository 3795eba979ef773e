#!/usr/bin/env bash
# MariaDB foreign keys. The table's own foreign key (T.extra -> P.id) is on
# the new table after a migration under the mirrored writer (CREATE TABLE
# LIKE copies none), so an orphan insert into T is rejected after the swap.
# A child table C referencing T makes osc refuse by default (exit 2, nothing
# changed); with --alter-foreign-keys-method none the migration runs, C's rows
# are intact and C's key references T_osc_old, which --drop-old-table keeps.
# DROP FOREIGN KEY in the ALTER drops the key from the new table (the empty
# shadow has none to drop: osc takes the clause out and does not re-add it);
# dropping a key T does not have is bad input. (rebuild_constraints,
# drop_swap and auto: tests/t_my_fk_children.sh.)
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_fk R=t_my_fk_ref P=t_my_fk_parent C=t_my_fk_child
my_q "SET foreign_key_checks = 0; DROP TABLE IF EXISTS $C, $P, ${T}_osc_old" || fail "cleanup"
my_fixture int $T $R 20000
my_q "
    CREATE TABLE $P (id INT PRIMARY KEY) ENGINE=InnoDB;
    INSERT INTO $P SELECT seq FROM seq_0_to_20000;
    ALTER TABLE $T ADD CONSTRAINT fk_t_extra FOREIGN KEY (extra) REFERENCES $P (id);
" || fail "setup of the parent"
my_assert_true "NOT EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_NAME = '$T' AND CONSTRAINT_TYPE = 'FOREIGN KEY' AND CONSTRAINT_NAME <> 'fk_t_extra')" "one foreign key before"

# 1. the table's own foreign key, under the writer
my_migrate_with_writer int $T $R "ADD COLUMN c INT" --drop-old-table
my_q "ALTER TABLE $R ADD COLUMN c INT" || fail "ALTER of the reference table $R"
my_tables_equal $T $R "*"
assert_eq 1 "$(my_q "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
                     WHERE CONSTRAINT_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND REFERENCED_TABLE_NAME = '$P'")" \
    "the new $T has its foreign key to $P"
if my_q "INSERT INTO $T (id, extra) VALUES (990000001, 999999)" 2>"$TEST_TMP/orphan.err"; then
    fail "an orphan row was accepted by the new $T"
fi
grep -q "foreign key constraint fails" "$TEST_TMP/orphan.err" || fail "orphan insert: unexpected error $(cat "$TEST_TMP/orphan.err")"
my_no_osc_leftovers $T

# 1b. DROP FOREIGN KEY (the key is now _fk_t_extra), under the writer, as the first clause, quoted
before=$(my_schema_snapshot)
expect_osc_my 2 --table $T --alter "ADD COLUMN d INT, DROP FOREIGN KEY no_such_fk"
grep -q "no_such_fk" "$OSC_ERR" || fail "the refusal does not name the missing key"
assert_eq "$before" "$(my_schema_snapshot)" "the refusal changed nothing"
my_migrate_with_writer int $T $R "DROP FOREIGN KEY \`_fk_t_extra\`, ADD COLUMN d INT" --drop-old-table
my_q "ALTER TABLE $R ADD COLUMN d INT" || fail "ALTER of the reference table $R"
my_tables_equal $T $R "*"
assert_eq 0 "$(my_q "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
                     WHERE CONSTRAINT_SCHEMA = 'osctest' AND TABLE_NAME = '$T'")" "the new $T has no foreign key"
my_q "INSERT INTO $T (id, extra) VALUES (990000003, 999999); INSERT INTO $R (id, extra) VALUES (990000003, 999999)" \
    || fail "an insert the dropped key would have refused"
my_no_osc_leftovers $T

# 2. a child table: refused by default
my_q "
    CREATE TABLE $C (cid INT PRIMARY KEY, tid INT NOT NULL,
                     CONSTRAINT fk_child_t FOREIGN KEY (tid) REFERENCES $T (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
    INSERT INTO $C SELECT id, id FROM $T WHERE id BETWEEN 100 AND 199;
" || fail "setup of the child"
before=$(my_schema_snapshot)
expect_osc_my 2 --table $T --alter "ADD COLUMN e INT"
grep -q "alter-foreign-keys-method" "$OSC_ERR" || fail "the refusal does not name --alter-foreign-keys-method"
assert_eq "$before" "$(my_schema_snapshot)" "the refusal changed nothing"
expect_osc_my 2 --table $T --alter "ADD COLUMN e INT" --alter-foreign-keys-method bogus
assert_eq "$before" "$(my_schema_snapshot)" "the refusals changed nothing"

# 3. --alter-foreign-keys-method none: the child keeps referencing the old table
children=$(my_q "SELECT COUNT(*), COALESCE(SUM(tid), 0) FROM $C")
expect_osc_my 0 --table $T --alter "ADD COLUMN e INT" --alter-foreign-keys-method none --drop-old-table
assert_eq 1 "$(my_has_column $T e)" "$T has column e"
assert_eq "$children" "$(my_q "SELECT COUNT(*), COALESCE(SUM(tid), 0) FROM $C")" "the child's rows are intact"
assert_eq "${T}_osc_old" "$(my_q "SELECT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
                                  WHERE CONSTRAINT_SCHEMA = 'osctest' AND CONSTRAINT_NAME = 'fk_child_t'")" \
    "the child references the old table"
assert_eq 1 "$(my_has_table "${T}_osc_old")" "the old table is kept although --drop-old-table was given"
my_q "SET foreign_key_checks = 0; DROP TABLE IF EXISTS $C, ${T}_osc_old, $P" || fail "cleanup"
echo "ok"
