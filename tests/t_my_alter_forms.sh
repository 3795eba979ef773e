#!/usr/bin/env bash
# MySQL ALTER forms through osc on MariaDB, each compared with the same ALTER
# run directly (blocking) on a reference copy: ADD/DROP/MODIFY/CHANGE COLUMN,
# ADD INDEX and UNIQUE, ENGINE=InnoDB, CONVERT TO CHARACTER SET, ENUM and SET,
# DATETIME and TIMESTAMP (osc's session time zone differs from the data's),
# JSON, a STORED generated column (recomputed, not copied), AUTO_INCREMENT
# carried over.  A small writer loop keeps changing rows during each run.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_myforms R=t_myforms_ref
ddl="(id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(20) NOT NULL, qty INT, note VARCHAR(100),
      status ENUM('a','b','c') NOT NULL DEFAULT 'a', tags SET('x','y','z'), made DATETIME(3), seen TIMESTAMP NULL,
      doc JSON, drop_me INT, g INT AS (qty * 2) STORED, KEY t_myforms_qty (qty)) ENGINE=InnoDB CHARSET=latin1"
my_q "DROP TABLE IF EXISTS $T, $R, ${T}_osc_old; CREATE TABLE $T $ddl; CREATE TABLE $R $ddl;
      SET time_zone = '+05:30';
      INSERT INTO $T (code, qty, note, status, tags, made, seen, doc, drop_me)
        SELECT CONCAT('c', seq), IF(seq % 7 = 0, NULL, seq), CONCAT('note ', seq), ELT(1 + seq % 3, 'a', 'b', 'c'),
               ELT(1 + seq % 4, 'x', 'x,y', '', 'y,z'), '2026-03-29 01:30:00.123' + INTERVAL seq MINUTE,
               FROM_UNIXTIME(1700000000 + seq), JSON_OBJECT('i', seq, 's', CONCAT('v', seq)), seq
        FROM seq_1_to_20000;
      DELETE FROM $T WHERE id > 19990;
      INSERT INTO $R (id, code, qty, note, status, tags, made, seen, doc, drop_me)
        SELECT id, code, qty, note, status, tags, made, seen, doc, drop_me FROM $T;" || fail "fixture"
auto_before=$(my_q "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T'")

# a writer loop touching both tables in one transaction (no key changes: AUTO_INCREMENT)
touch "$TEST_TMP/run"
( i=0; while [ -f "$TEST_TMP/run" ]; do
    i=$((i + 1)); id=$(( (i * 7919) % 19000 + 1 ))
    my_q "START TRANSACTION; UPDATE $T SET qty = qty + 1, note = IF($i % 5 = 0, NULL, CONCAT('w', $i)) WHERE id = $id;
          UPDATE $R SET qty = qty + 1, note = IF($i % 5 = 0, NULL, CONCAT('w', $i)) WHERE id = $id; COMMIT" || exit 1
  done ) &
loop=$!

step() { # ALTER
    run_osc_my --table $T --alter "$1" --chunk-size 500 --chunk-size-max 2000
    [ "$OSC_RC" = 0 ] || { rm -f "$TEST_TMP/run"; wait $loop; fail "osc --alter \"$1\" exited $OSC_RC"; }
    my_q "DROP TABLE ${T}_osc_old"
    # the reference gets the same ALTER under the loop's feet; pause it for that
    rm -f "$TEST_TMP/run"; wait $loop || fail "the writer loop failed"
    my_q "ALTER TABLE $R $1" || fail "reference ALTER failed: $1"
    touch "$TEST_TMP/run"
    ( i=1000000; while [ -f "$TEST_TMP/run" ]; do
        i=$((i + 1)); id=$(( (i * 7919) % 19000 + 1 ))
        my_q "START TRANSACTION; UPDATE $T SET note = CONCAT('w', $i) WHERE id = $id;
              UPDATE $R SET note = CONCAT('w', $i) WHERE id = $id; COMMIT" 2>/dev/null || true
      done ) &
    loop=$!
}

step "ADD COLUMN x INT DEFAULT 3, DROP COLUMN drop_me"
step "MODIFY COLUMN qty BIGINT NULL"
step "CHANGE COLUMN note note2 VARCHAR(200) NULL"
step "ADD INDEX t_myforms_code (code), ADD UNIQUE KEY t_myforms_code_uq (code)"
step "MODIFY COLUMN status ENUM('a','b','c','d') NOT NULL DEFAULT 'a', MODIFY COLUMN tags SET('x','y','z','w')"
step "ENGINE=InnoDB"
step "CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
rm -f "$TEST_TMP/run"; wait $loop

cols="id, code, qty, note2, status, tags, made, seen, doc, g, x"
my_tables_equal $T $R "$cols"
# the same definition, up to the order of the index lines (osc rebuilds the
# secondary indexes after the copy) and the AUTO_INCREMENT counter (osc's is
# the original's, which the server reserves in blocks)
normdef() { my_q "SHOW CREATE TABLE $1" | cut -f2 | sed 's/\\n/\n/g' | sed "s/\`$1\`/T/; s/ AUTO_INCREMENT=[0-9]*//; s/,$//" | sort; }
assert_eq "$(normdef $R)" "$(normdef $T)" "the new table's definition"
assert_eq "$(my_q "SELECT COUNT(*) FROM $T WHERE g <=> qty * 2")" "$(my_q "SELECT COUNT(*) FROM $T")" \
    "the generated column is computed"
new_id=$(my_q "INSERT INTO $T (code) VALUES ('new'); SELECT LAST_INSERT_ID()")
[ "$new_id" -ge "$auto_before" ] || fail "AUTO_INCREMENT went back: new id $new_id, before $auto_before"
my_no_osc_leftovers $T
echo ok
