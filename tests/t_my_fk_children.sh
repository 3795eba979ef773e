#!/usr/bin/env bash
# MariaDB child tables under --alter-foreign-keys-method rebuild_constraints,
# drop_swap and auto, each under the mirrored writer. Two children reference
# T (ON DELETE CASCADE ON UPDATE CASCADE, and ON DELETE SET NULL), and two
# identical children reference the mirror R: the writer's deletes and
# primary-key changes cascade into both pairs, before, during and after the
# swap, so T's children must equal R's row for row (a write that reached T
# while a child's key pointed elsewhere shows as a difference). After each
# swap: the children's keys (same names, same rules) reference the new T, an
# orphan insert into a child is rejected, a delete on the new T cascades,
# the writer saw no error, nothing of osc is left. Then the failure paths:
# an ALTER whose new T cannot take the children's keys fails cleanly
# (rebuild_constraints: the keys go back to T under the lock; drop_swap:
# refused before the DROP), T and its children intact; osc killed after the
# repoint leaves the keys on the shadow, and osc cleanup puts them back.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_fkc R=t_my_fkc_ref

children() {  # creates the four children with a row for every fifth parent
    my_q "
        SET foreign_key_checks = 0;
        DROP TABLE IF EXISTS c1, c1_ref, c2, c2_ref;
        CREATE TABLE c1 (cid INT PRIMARY KEY, tid INT NOT NULL, note VARCHAR(20),
            CONSTRAINT fk_c1 FOREIGN KEY (tid) REFERENCES $T (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
        CREATE TABLE c1_ref (cid INT PRIMARY KEY, tid INT NOT NULL, note VARCHAR(20),
            CONSTRAINT fk_c1_ref FOREIGN KEY (tid) REFERENCES $R (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
        CREATE TABLE c2 (cid INT PRIMARY KEY, tid INT NULL,
            CONSTRAINT fk_c2 FOREIGN KEY (tid) REFERENCES $T (id) ON DELETE SET NULL ON UPDATE CASCADE) ENGINE=InnoDB;
        CREATE TABLE c2_ref (cid INT PRIMARY KEY, tid INT NULL,
            CONSTRAINT fk_c2_ref FOREIGN KEY (tid) REFERENCES $R (id) ON DELETE SET NULL ON UPDATE CASCADE) ENGINE=InnoDB;
        SET foreign_key_checks = 1;
        INSERT INTO c1 SELECT id, id, 'a' FROM $T WHERE id % 5 = 0;
        INSERT INTO c1_ref SELECT * FROM c1;
        INSERT INTO c2 SELECT id, id FROM $T WHERE id % 5 = 1;
        INSERT INTO c2_ref SELECT * FROM c2;
    " || fail "setup of the children"
}

# fixture [ROWS]: T and R with ROWS rows (20,000), and the children
fixture() {
    ROWS=${1:-20000}
    my_q "SET foreign_key_checks = 0; DROP TABLE IF EXISTS c1, c1_ref, c2, c2_ref, ${T}_osc_old" || fail "cleanup"
    my_fixture int $T $R $ROWS
    children
}

# refs_of FK: the table its key references, and its rules
refs_of() {
    my_q "SELECT CONCAT(REFERENCED_TABLE_NAME, ' ', DELETE_RULE, ' ', UPDATE_RULE)
          FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'osctest' AND CONSTRAINT_NAME = '$1'"
}

# after_swap METHOD: everything a migration with child tables must leave
after_swap() {
    my_q "ALTER TABLE $R ADD COLUMN c INT" || fail "ALTER of the reference table $R"
    my_tables_equal $T $R "*"
    my_tables_equal c1 c1_ref "*"
    my_tables_equal c2 c2_ref "*"
    local n
    n=$(my_q "SELECT COUNT(*) FROM c1")
    [ "$n" -gt $((ROWS * 3 / 20)) ] || fail "$1: only $n rows left in c1 (of $((ROWS / 5)))"
    [ "$(my_q "SELECT COUNT(*) FROM c2 WHERE tid IS NULL")" -gt 0 ] || fail "$1: no SET NULL happened in c2"
    assert_eq "$T CASCADE CASCADE" "$(refs_of fk_c1)" "$1: fk_c1 references the new $T"
    assert_eq "$T SET NULL CASCADE" "$(refs_of fk_c2)" "$1: fk_c2 references the new $T"
    if my_q "INSERT INTO c1 VALUES (990000001, 990000001, 'orphan')" 2>"$TEST_TMP/orphan.err"; then
        fail "$1: an orphan row was accepted by the child c1"
    fi
    grep -q "foreign key constraint fails" "$TEST_TMP/orphan.err" || fail "$1: orphan insert: $(cat "$TEST_TMP/orphan.err")"
    # the new T's rows are the children's parents: an insert and a cascade
    local id
    id=$(my_q "SELECT MIN(tid) FROM c1")
    my_q "INSERT INTO $T (id, v) VALUES (990000002, 'p'); INSERT INTO c1 VALUES (990000002, 990000002, 'new');
          DELETE FROM $T WHERE id = $id" || fail "$1: writes to the new $T and c1"
    assert_eq 0 "$(my_q "SELECT COUNT(*) FROM c1 WHERE tid = $id")" "$1: a delete on the new $T cascades to c1"
    assert_eq 0 "$(my_has_table "${T}_osc_old")" "$1: no old table is left (--drop-old-table)"
    my_no_osc_leftovers $T
}

for method in rebuild_constraints drop_swap; do
    note "---- $method"
    fixture
    my_migrate_with_writer int $T $R "ADD COLUMN c INT" --alter-foreign-keys-method $method --drop-old-table -v
    after_swap $method
done

# auto's choice depends on a timing: a --chunk-time far above (3s) and below
# (1ms: a DDL takes more than 0.5ms) what four metadata-only ALTERs cost
note "---- auto, when the repoints fit in --chunk-time"
fixture
my_migrate_with_writer int $T $R "ADD COLUMN c INT" --alter-foreign-keys-method auto --chunk-time 3s --drop-old-table
grep -q "auto: rebuild_constraints" "$OSC_ERR" "$OSC_OUT" || fail "auto with a long --chunk-time did not choose rebuild_constraints"
after_swap "auto (rebuild_constraints)"

note "---- auto, when the repoints would not fit in --chunk-time"
# 8,000 rows and --verify none: 1ms chunks shrink to 10 rows, and each chunk's
# checksum (a fixed cost of about a millisecond) made this run ten times
# longer; the checksums are t_verify's
fixture 8000
my_migrate_with_writer int $T $R "ADD COLUMN c INT" --alter-foreign-keys-method auto --chunk-time 1ms --drop-old-table \
    --verify none
grep -q "auto: drop_swap" "$OSC_ERR" "$OSC_OUT" || fail "auto with a short --chunk-time did not choose drop_swap"
after_swap "auto (drop_swap)"

note "---- a new T that cannot take the children's keys (id becomes BIGINT)"
fixture
before=$(my_q "SELECT COUNT(*), SUM(tid) FROM c1")
for method in rebuild_constraints drop_swap; do
    expect_osc_my 1 --table $T --alter "MODIFY id BIGINT NOT NULL" --alter-foreign-keys-method $method
    assert_eq "$T CASCADE CASCADE" "$(refs_of fk_c1)" "$method: fk_c1 still references $T"
    assert_eq "$T SET NULL CASCADE" "$(refs_of fk_c2)" "$method: fk_c2 still references $T"
    assert_eq "int" "$(my_q "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'osctest'
                              AND TABLE_NAME = '$T' AND COLUMN_NAME = 'id'")" "$method: $T is the original"
    assert_eq "$before" "$(my_q "SELECT COUNT(*), SUM(tid) FROM c1")" "$method: c1 is intact"
    assert_eq 0 "$(my_has_table "${T}_osc_old")" "$method: no old table"
    my_no_osc_leftovers $T
done
my_tables_equal $T $R "*"

note "---- rebuild_constraints: osc killed under the lock, after the repoint"
# DDL is not transactional: the children now reference the shadow, and the
# RENAME fails on the sentry when osc's connection goes. osc cleanup puts
# their keys back on T before it drops the shadow.
OSC_FAULT=swap-repointed:5000 "$OSC" --strategy copy --table $T --alter "ADD COLUMN c INT" --alter-foreign-keys-method rebuild_constraints \
    --database "$OSC_MY_URL" >"$OSC_OUT" 2>"$OSC_ERR" &
osc_pid=$!
for _ in $(seq 1 300); do
    [ "$(refs_of fk_c1 | cut -d' ' -f1)" = "${T}_osc_new" ] && break
    kill -0 $osc_pid 2>/dev/null || break
    sleep 0.1
done
assert_eq "${T}_osc_new CASCADE CASCADE" "$(refs_of fk_c1)" "fk_c1 references the shadow under the lock"
kill -KILL $osc_pid
wait $osc_pid 2>/dev/null
my_wait_sessions_at_most 0
assert_eq 0 "$(my_has_column $T c)" "$T is still the original"
expect_osc_my 0 cleanup --table $T
grep -q "fk_c1.*back to $T" "$OSC_ERR" || fail "cleanup did not say it put fk_c1 back"
assert_eq "$T CASCADE CASCADE" "$(refs_of fk_c1)" "fk_c1 references $T after cleanup"
assert_eq "$T SET NULL CASCADE" "$(refs_of fk_c2)" "fk_c2 references $T after cleanup"
if my_q "INSERT INTO c1 VALUES (990000001, 990000001, 'orphan')" 2>/dev/null; then
    fail "an orphan row was accepted by c1 after cleanup"
fi
assert_eq "$before" "$(my_q "SELECT COUNT(*), SUM(tid) FROM c1")" "c1 is intact"
my_no_osc_leftovers $T
my_tables_equal $T $R "*"
my_q "SET foreign_key_checks = 0; DROP TABLE IF EXISTS c1, c1_ref, c2, c2_ref, $T, $R" || fail "cleanup"
echo "ok"
