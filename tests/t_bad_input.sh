#!/usr/bin/env bash
# Bad input, on PostgreSQL and MariaDB (one body): exit 2, a clear message on
# stderr, and nothing changed (the schema snapshot is the same, the table
# equals its mirror, nothing of osc is left).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

bad_input_test() {
    local T=t_bad_$ENGINE R=t_bad_${ENGINE}_ref before
    local VIEW=${T}_view NOPK=${T}_nopk MISSING=${T}_missing
    e_fixture $T $R 1000
    if [ "$ENGINE" = pg ]; then
        psql_q "
            SET client_min_messages = warning;
            DROP VIEW IF EXISTS $VIEW;
            DROP TABLE IF EXISTS $NOPK, victim;
            CREATE VIEW $VIEW AS SELECT * FROM $T;
            CREATE TABLE $NOPK (x int, u int UNIQUE, v text);  -- unique, but nullable
            INSERT INTO $NOPK SELECT i, i, 'v' FROM generate_series(1, 100) i;
            CREATE TABLE victim (x int);
        " || fail "setup"
    else
        my_q "
            DROP VIEW IF EXISTS $VIEW;
            DROP TABLE IF EXISTS $NOPK, victim;
            CREATE VIEW $VIEW AS SELECT * FROM $T;
            CREATE TABLE $NOPK (x INT, u INT, v VARCHAR(10), UNIQUE KEY (u)) ENGINE=InnoDB;  -- unique, but nullable
            INSERT INTO $NOPK SELECT seq, seq, 'v' FROM seq_1_to_100;
            CREATE TABLE victim (x INT) ENGINE=InnoDB;
        " || fail "setup"
    fi
    before=$(e_schema_snapshot)

    # check_bad WHAT GREP_REGEX: after an osc run expected to be refused
    check_bad() {
        local what=$1 re=$2
        [ "$OSC_RC" = 2 ] || fail "$what: exit $OSC_RC, expected 2"
        [ -s "$OSC_ERR" ] || fail "$what: nothing on stderr"
        grep -Eqi -- "$re" "$OSC_ERR" || fail "$what: stderr does not match /$re/: $(head -c 300 "$OSC_ERR")"
        assert_eq "$before" "$(e_schema_snapshot)" "$what: schema snapshot"
        note "$what: refused with exit 2: $(head -n 1 "$OSC_ERR")"
    }

    e_run_osc --table $MISSING --alter "ADD COLUMN z int"
    check_bad "missing table" "$MISSING"

    e_run_osc --table $VIEW --alter "ADD COLUMN z int"
    check_bad "a view" "$VIEW"

    e_run_osc --table $NOPK --alter "ADD COLUMN z int"
    check_bad "no primary key" "primary key|unique"

    e_run_osc --table $T --alter "ADD COLUMN id int"
    check_bad "duplicate column" "$(e_pick "already exists" "Duplicate column")"

    e_run_osc --table $T --alter "ADD COLUMN z int; DROP TABLE victim"
    check_bad "two statements in --alter" "."
    assert_eq 1 "$(e_has_table victim)" "table victim still exists"
    assert_eq 0 "$(e_has_column $T z)" "no column z"

    e_run_osc --table $T --alter ""
    check_bad "empty --alter" "alter"

    # these two call osc directly (e_run_osc would add --database)
    OSC_RC=0
    "$OSC" --table $T --alter "ADD COLUMN z int" --no-such-option --database "$ENG_URL" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
    check_bad "unknown option" "no-such-option"

    OSC_RC=0
    "$OSC" --table $T --alter "ADD COLUMN z int" --database "$(e_pick postgres mysql)://root@127.0.0.1:1/osctest" \
        >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
    check_bad "unreachable database" "connect|refused"

    e_tables_equal $T $R "*"
    e_no_leftovers $T
}

for_each_engine bad_input_test
echo "ok"
