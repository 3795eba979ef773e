#!/usr/bin/env bash
# MariaDB: osc's sessions set their own sql_mode (strict, keeping zeros),
# whatever the server's default. The server's global sql_mode is '' here
# (restored at the end), as on many old installations.
#  A. MODIFY e ENUM('a','b') over rows holding 'c', under the mirrored
#     writer: the old code turned every 'c' into '' and exited 0 (the
#     checksum had left the column out, saying so on an info line). Now the
#     copy fails on the first 'c': exit 1, the original intact, equal to the
#     mirror, writable, and every osc object removed.
#  B. members added at the end: copied exactly, exit 0.
#  C. a 0 in an AUTO_INCREMENT key (gh-ost's localtest autoinc-zero-value),
#     under the mirrored writer: it stays 0 (the old code made it a new id).
#  D. a column the checksum cannot compare (VARCHAR to CHAR) is named on a
#     warning line.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
COLS="id, v, n, extra, pad, e"

mode0=$(my_q "SELECT @@GLOBAL.sql_mode") || fail "cannot read the global sql_mode"
restore_mode() { my_q "SET GLOBAL sql_mode = $(my_ql "$mode0")" >/dev/null 2>&1; }
trap 'restore_mode; _lib_cleanup' EXIT
my_q "SET GLOBAL sql_mode = ''" || fail "cannot set the global sql_mode"

# fixture_enum T R ROWS: the usual layout plus e ENUM('a','b','c'), a third of the rows 'c'
fixture_enum() {
    my_fixture int "$1" "$2" "$3"
    my_q "ALTER TABLE $1 ADD COLUMN e ENUM('a','b','c') NOT NULL DEFAULT 'a';
          ALTER TABLE $2 ADD COLUMN e ENUM('a','b','c') NOT NULL DEFAULT 'a';
          UPDATE $1 SET e = ELT(1 + id % 3, 'a', 'b', 'c'); UPDATE $2 SET e = ELT(1 + id % 3, 'a', 'b', 'c');" \
        || fail "fixture: the enum column"
}

note "---- A: a narrowing ENUM over 'c' values ----"
T=t_my_mode_enum R=t_my_mode_enum_ref
fixture_enum $T $R 30000
start_mywriter int $T $R
sleep 0.5
run_osc_my --table $T --alter "MODIFY e ENUM('a','b') NOT NULL DEFAULT 'a'" --log-format json
rc=$OSC_RC
sleep 0.3
stop_mywriter
assert_eq 1 "$rc" "osc's exit status over values the new column cannot hold"
grep -q "does not fit the new table" "$OSC_ERR" || fail "the failure does not say a value does not fit"
grep -q "Data truncated for column .e." "$OSC_ERR" || fail "the failure does not name the column"
assert_eq "enum('a','b','c')" "$(my_q "SELECT COLUMN_TYPE FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'e'")" "the original's column e"
my_tables_equal $T $R "$COLS"
assert_eq 0 "$(my_q "SELECT COUNT(*) FROM $T WHERE e = ''")" "rows of $T with e = ''"
my_no_osc_leftovers $T
my_q "INSERT INTO $T (id, v, e) VALUES (900000001, 'after', 'c')" || fail "$T is not writable after the failure"

note "---- B: members added at the end ----"
my_q "DELETE FROM $T WHERE id = 900000001"
my_migrate_with_writer int $T $R "MODIFY e ENUM('a','b','c','d') NOT NULL DEFAULT 'a'"
my_q "ALTER TABLE $R MODIFY e ENUM('a','b','c','d') NOT NULL DEFAULT 'a'"
my_tables_equal $T $R "$COLS"
grep -q "left out of the checksum" "$OSC_ERR" && fail "members added at the end were left out of the checksum"
my_no_osc_leftovers $T

note "---- C: a zero in an AUTO_INCREMENT key ----"
T=t_my_mode_zero R=t_my_mode_zero_ref
my_fixture int $T $R 20000
my_q "ALTER TABLE $T MODIFY id INT NOT NULL AUTO_INCREMENT; ALTER TABLE $R MODIFY id INT NOT NULL AUTO_INCREMENT" \
    || fail "fixture: AUTO_INCREMENT"
# the writer reads its key range first: it leaves the zero row alone
start_mywriter int $T $R
sleep 0.3
my_q "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';
      INSERT INTO $T (id, v, n, extra, pad) VALUES (0, 'zero', 0, 0, 'zero');
      INSERT INTO $R (id, v, n, extra, pad) VALUES (0, 'zero', 0, 0, 'zero');" || fail "fixture: the zero row"
run_osc_my --table $T --alter "ADD COLUMN c INT"
rc=$OSC_RC
sleep 0.3
stop_mywriter
assert_eq 0 "$rc" "osc's exit status"
assert_eq "zero" "$(my_q "SELECT v FROM $T WHERE id = 0")" "the row with key 0"
assert_eq 0 "$(my_q "SELECT COUNT(*) FROM $T WHERE v = 'zero' AND id <> 0")" "the zero row under another key"
my_tables_equal $T $R "id, v, n, extra, pad"
my_no_osc_leftovers $T

note "---- D: a column the checksum cannot compare ----"
T=t_my_mode_char R=t_my_mode_char_ref
my_fixture int $T $R 2000
expect_osc_my 0 --table $T --alter "MODIFY pad CHAR(200)" --log-format json
grep '"level":"warning"' "$OSC_ERR" | grep -q "column pad (varchar(200) to char(200)) is left out of the checksum" \
    || fail "the column left out of the checksum is not named on a warning line"
my_tables_equal $T $R "id, v, n, extra, pad"
echo "ok"
