#!/usr/bin/env bash
# osc plan tries the ALTER's conversions on sampled rows, in a transaction
# rolled back, and warns when values would fail or change; on PostgreSQL
# and MariaDB (one body):
#  - TYPE varchar(10) over 32-character values: [high], the column named,
#    how many sampled rows fail (all of them), one key; the plan says what
#    it sampled, at most 1000 rows plus each converted column's extremes;
#    the risk is high, so --fail-on high exits 4 (a copy was medium);
#  - three values too large for SMALLINT among 2000: found through the
#    column's index (its largest values), exactly 3;
#  - a numeric narrowed to 2 decimals: the values would change (medium:
#    the copy accepts them, rounded);
#  - PostgreSQL: a USING expression that overflows, a column whose name
#    holds a quote and a backslash, and a USING that calls nextval(): the
#    plan's read-only transaction refuses it, the sequence does not move;
#    MariaDB: a column named with a backtick;
#  - nothing changed: the schema and object list (no trial table left),
#    the rows (the table equals its mirror).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
command -v jq >/dev/null || fail "jq is needed to read the JSON plan"


snapshot() {
    e_schema_snapshot
    [ "$ENGINE" = my ] && my_q "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES
                              WHERE TABLE_SCHEMA = 'osctest'"
}

cast_test() {
    local T=t_pcast_$ENGINE R=t_pcast_${ENGINE}_ref before n
    e_fixture $T $R 2000
    # n: 3 values past SMALLINT; price: 4 decimals; a hostile name (20 chars in every 7th row)
    if [ "$ENGINE" = pg ]; then
        psql_q "SET client_min_messages = warning; DROP SEQUENCE IF EXISTS ${T}_seq; CREATE SEQUENCE ${T}_seq;
                UPDATE $T SET n = 70000 + id WHERE id IN (11, 12, 13);
                ALTER TABLE $T ADD COLUMN price numeric(12,4), ADD COLUMN \"we\"\"ird\\col\" text;
                UPDATE $T SET price = id / 7.0, \"we\"\"ird\\col\" = CASE WHEN id % 7 = 0 THEN repeat('z', 20) END" \
            || fail "setup"
    else
        my_q "UPDATE $T SET n = 70000 + id WHERE id IN (11, 12, 13);
              ALTER TABLE $T ADD COLUMN price DECIMAL(12,4), ADD COLUMN \`we\`\`ird\` VARCHAR(40);
              UPDATE $T SET price = id / 7, \`we\`\`ird\` = IF(id % 7 = 0, REPEAT('z', 20), NULL)" || fail "setup"
    fi
    before=$(snapshot)

    # every value too long: all sampled rows fail, and the plan says what it sampled
    OSC_STRATEGY=auto e_expect_osc 4 plan --table $T --alter "$(e_pick "ALTER COLUMN v TYPE varchar(10)" "MODIFY v VARCHAR(10)")" \
        --fail-on high
    plan_has '^risk:       high$' \
        "^  \[high\] column v: ([0-9]+) of \1 sampled rows would fail \(.*$(e_pick 'value too long for type character varying\(10\)' "Data too long for column 'v'")\), e\.g\. id=[0-9]+: the run would stop" \
        '^cast check: [0-9]+ rows sampled \((up to 1000 random rows|up to 1000 rows: 100 runs of 10 in key order, spread over the range of id)'
    n=$(sed -n 's/^cast check: \([0-9]*\) rows sampled.*/\1/p' "$OSC_OUT")
    [ "$n" -ge 500 ] && [ "$n" -le 1000 ] || fail "sampled $n rows: not about 1000"
    # (a copy without the cast check was medium: exit 0)
    OSC_STRATEGY=copy e_expect_osc 0 plan --table $T --alter "ADD COLUMN c int" --fail-on high

    # three overflows among 2000, found by the index on n; JSON too
    OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "$(e_pick "ALTER COLUMN n TYPE smallint" "MODIFY n SMALLINT")" \
        --format json
    assert_eq "n|fail|3" "$(jq -r '.cast_check.findings[] | select(.column == "n") | [.column, .outcome, .rows] | join("|")' "$OSC_OUT")" \
        "the overflowing values of n"
    assert_eq "true" "$(jq -r '.cast_check.findings[] | select(.column == "n") | .example_key | test("^id=1[123]$")' "$OSC_OUT")" \
        "the example key of n"
    assert_eq "true" "$(jq -r '.cast_check.sampled | test("the 10 largest and smallest values of n by their indexes")' "$OSC_OUT")" \
        "what was sampled"
    assert_eq high "$(jq -r .risk "$OSC_OUT")" "the risk with overflows"

    # rounded: would change, medium
    OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "$(e_pick "ALTER COLUMN price TYPE numeric(10,2)" "MODIFY price DECIMAL(10,2)")"
    plan_has "^  column price: [0-9]+ of [0-9]+ sampled rows would change \($(e_pick 'numeric\(12,4\) to numeric\(10,2\)' 'decimal\(12,4\) to decimal\(10,2\)') does not keep them as they are\), e\.g\. id=[0-9]+$"
    grep -q '\[high\] column price' "$OSC_OUT" && fail "a rounding called a failure"

    # a hostile column name through the row-by-row check
    if [ "$ENGINE" = pg ]; then
        OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter 'ALTER COLUMN "we""ird\col" TYPE varchar(5)'
        plan_has '^  \[high\] column we"ird\\col: [0-9]+ of [0-9]+ sampled rows would fail \(its cast to character varying\(5\): value too long'
        # USING that overflows for n >= 328
        OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "ALTER COLUMN n TYPE smallint USING n * 100"
        plan_has '^  \[high\] column n: [0-9]+ of [0-9]+ sampled rows would fail \(its USING expression to smallint: smallint out of range\)'
        # a USING that writes (nextval) is refused by the read-only transaction
        OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "ALTER COLUMN n TYPE bigint USING nextval('${T}_seq')"
        plan_has 'wrote to the database, which the plan.s read-only transaction refused'
        assert_eq "1|false" "$(psql_q "SELECT last_value || '|' || is_called FROM ${T}_seq")" "the sequence after the plan"
    else
        OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter 'MODIFY `we``ird` VARCHAR(5)'
        plan_has "^  \[high\] column we\`ird: [0-9]+ of [0-9]+ sampled rows would fail \(Data too long for column 'we\`ird'\)"
    fi

    assert_eq "$before" "$(snapshot)" "the schema and the object list after every plan"
    [ "$ENGINE" = my ] && assert_eq 0 "$(my_has_table ${T}_osc_try)" "no trial table"
    e_tables_equal $T $R "id, v, extra, pad"
    e_no_leftovers $T
    e_q "DROP TABLE $T" >/dev/null
    [ "$ENGINE" = pg ] && psql_q "DROP SEQUENCE ${T}_seq"
    return 0
}

for_each_engine cast_test
echo ok
