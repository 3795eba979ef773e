#!/usr/bin/env bash
# Bad input: exit 2, a clear message on stderr, and nothing changed.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_bad R=t_bad_ref
fixture int $T $R 1000
psql_q "
    SET client_min_messages = warning;
    DROP VIEW IF EXISTS t_bad_view;
    DROP TABLE IF EXISTS t_bad_nopk, victim;
    CREATE VIEW t_bad_view AS SELECT * FROM $T;
    CREATE TABLE t_bad_nopk (x int, u int UNIQUE, v text);  -- unique, but nullable
    INSERT INTO t_bad_nopk SELECT i, i, 'v' FROM generate_series(1, 100) i;
    CREATE TABLE victim (x int);
" || fail "setup"

before=$(schema_snapshot)

# check_bad WHAT GREP_REGEX: after an osc run expected to be refused
check_bad() {
    local what=$1 re=$2
    [ "$OSC_RC" = 2 ] || fail "$what: exit $OSC_RC, expected 2"
    [ -s "$OSC_ERR" ] || fail "$what: nothing on stderr"
    grep -Eqi -- "$re" "$OSC_ERR" || fail "$what: stderr does not match /$re/: $(head -c 300 "$OSC_ERR")"
    assert_eq "$before" "$(schema_snapshot)" "$what: schema snapshot"
    note "$what: refused with exit 2: $(head -n 1 "$OSC_ERR")"
}

run_osc --table t_bad_missing --alter "ADD COLUMN z int"
check_bad "missing table" "t_bad_missing"

run_osc --table t_bad_view --alter "ADD COLUMN z int"
check_bad "a view" "t_bad_view"

run_osc --table t_bad_nopk --alter "ADD COLUMN z int"
check_bad "no primary key" "primary key|unique"

run_osc --table $T --alter "ADD COLUMN id int"
check_bad "duplicate column" "already exists"

run_osc --table $T --alter "ADD COLUMN z int; DROP TABLE victim"
check_bad "two statements in --alter" "."
assert_true "to_regclass('victim') IS NOT NULL" "table victim still exists"
assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'z')" "no column z"

run_osc --table $T --alter ""
check_bad "empty --alter" "alter"

# these two call osc directly (run_osc would add --database)
OSC_RC=0
"$OSC" --table $T --alter "ADD COLUMN z int" --no-such-option --database "$OSC_PG_URL" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
check_bad "unknown option" "no-such-option"

OSC_RC=0
"$OSC" --table $T --alter "ADD COLUMN z int" --database "postgres://postgres@127.0.0.1:1/osctest" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
check_bad "unreachable database" "connect|refused"

tables_equal $T $R "*"
no_osc_leftovers $T
echo "ok"
