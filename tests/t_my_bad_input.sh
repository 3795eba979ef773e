#!/usr/bin/env bash
# MariaDB: bad input: exit 2, a clear message on stderr, and nothing changed.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_bad R=t_my_bad_ref
my_fixture int $T $R 1000
my_q "
    DROP VIEW IF EXISTS t_my_bad_view;
    DROP TABLE IF EXISTS t_my_bad_nopk, victim;
    CREATE VIEW t_my_bad_view AS SELECT * FROM $T;
    CREATE TABLE t_my_bad_nopk (x INT, u INT, v VARCHAR(10), UNIQUE KEY (u)) ENGINE=InnoDB;  -- unique, but nullable
    INSERT INTO t_my_bad_nopk SELECT seq, seq, 'v' FROM seq_1_to_100;
    CREATE TABLE victim (x INT) ENGINE=InnoDB;
" || fail "setup"

before=$(my_schema_snapshot)

# check_bad WHAT GREP_REGEX: after an osc run expected to be refused
check_bad() {
    local what=$1 re=$2
    [ "$OSC_RC" = 2 ] || fail "$what: exit $OSC_RC, expected 2"
    [ -s "$OSC_ERR" ] || fail "$what: nothing on stderr"
    grep -Eqi -- "$re" "$OSC_ERR" || fail "$what: stderr does not match /$re/: $(head -c 300 "$OSC_ERR")"
    assert_eq "$before" "$(my_schema_snapshot)" "$what: schema snapshot"
    note "$what: refused with exit 2: $(head -n 1 "$OSC_ERR")"
}

run_osc_my --table t_my_bad_missing --alter "ADD COLUMN z INT"
check_bad "missing table" "t_my_bad_missing"

run_osc_my --table t_my_bad_view --alter "ADD COLUMN z INT"
check_bad "a view" "t_my_bad_view"

run_osc_my --table t_my_bad_nopk --alter "ADD COLUMN z INT"
check_bad "no primary key" "primary key|unique"

run_osc_my --table $T --alter "ADD COLUMN id INT"
check_bad "duplicate column" "Duplicate column"

run_osc_my --table $T --alter "ADD COLUMN z INT; DROP TABLE victim"
check_bad "two statements in --alter" "."
assert_eq 1 "$(my_has_table victim)" "table victim still exists"
assert_eq 0 "$(my_has_column $T z)" "no column z"

run_osc_my --table $T --alter ""
check_bad "empty --alter" "alter"

# these two call osc directly (run_osc_my would add --database)
OSC_RC=0
"$OSC" --table $T --alter "ADD COLUMN z INT" --no-such-option --database "$OSC_MY_URL" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
check_bad "unknown option" "no-such-option"

OSC_RC=0
"$OSC" --table $T --alter "ADD COLUMN z INT" --database "mysql://root@127.0.0.1:1/osctest" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
check_bad "unreachable database" "connect|refused"

my_tables_equal $T $R "*"
my_no_osc_leftovers $T
echo "ok"
