#!/usr/bin/env bash
# osc plan measures instead of guessing; on PostgreSQL and MariaDB:
#  - the ETA of a copy comes from a trial chunk (its bound, the copy into
#    the shadow's definition, the comparison) of the first rows in key
#    order, rolled back: the plan prints the trial ("copied N rows ...")
#    and says the ETA is from a trial chunk of N rows; the JSON has the
#    trial's rows and a positive ETA;
#  - a table never analyzed is estimated from its size, not "about 0
#    rows": PostgreSQL's reltuples -1 (a table loaded without ANALYZE, its
#    autovacuum off) is counted in a block sample; MariaDB's TABLE_ROWS 0
#    (OSC_FAULT=plan-table-rows:0: MariaDB shows it only after a restart)
#    is the table's size over its average row;
#  - nothing changed: the schema, the object list and the rows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
command -v jq >/dev/null || fail "jq is needed to read the JSON plan"


snapshot() {
    e_schema_snapshot
    [ "$ENGINE" = my ] && my_q "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES
                              WHERE TABLE_SCHEMA = 'osctest'"
}

eta_test() {
    local T=t_peta_$ENGINE R=t_peta_${ENGINE}_ref U=t_peta_${ENGINE}_fresh before rows fault=
    e_fixture $T $R 3000
    # 20000 rows the statistics never saw
    if [ "$ENGINE" = pg ]; then
        psql_q "SET client_min_messages = warning; DROP TABLE IF EXISTS $U;
                CREATE TABLE $U (id int PRIMARY KEY, v text, pad text) WITH (autovacuum_enabled = false);
                INSERT INTO $U SELECT i, md5(i::text), repeat('x', 100) FROM generate_series(1, 20000) i" || fail "setup"
        assert_eq -1 "$(psql_q "SELECT reltuples::bigint FROM pg_class WHERE oid = '$U'::regclass")" "reltuples of $U"
    else
        my_q "DROP TABLE IF EXISTS $U; CREATE TABLE $U (id INT PRIMARY KEY, v VARCHAR(64), pad VARCHAR(200)) ENGINE=InnoDB;
              INSERT INTO $U SELECT seq, MD5(seq), REPEAT('x', 100) FROM seq_1_to_20000; ANALYZE TABLE $U" >/dev/null \
            || fail "setup"
        fault=plan-table-rows:0
    fi
    before=$(snapshot)

    # the ETA of a copy: a trial chunk of the first rows
    OSC_STRATEGY=copy e_expect_osc 0 plan --table $T --alter "ADD COLUMN c int"
    plan_has "^trial:      copied 3000 rows in key order into the shadow's definition as a chunk \(its bound, the copy, the comparison\) in [0-9.]+ms \([0-9]+ rows/s\)(, sorted them for 1 deferred index in [0-9.]+ms)?; rolled back$" \
        "^eta:        about [0-9.]+s \(a trial chunk of 3000 rows: [0-9]+ rows/s over about [0-9]+ rows"
    OSC_STRATEGY=copy e_expect_osc 0 plan --table $T --alter "ADD COLUMN c int" --format json
    assert_eq "3000|true|true" "$(jq -r '[.trial.rows, .trial.compared, .eta_ms > 0] | map(tostring) | join("|")' "$OSC_OUT")" \
        "the JSON trial"

    # never analyzed: estimated, not 0
    OSC_FAULT=$fault OSC_STRATEGY=copy e_expect_osc 0 plan --table $U --alter "ADD COLUMN c int"
    rows=$(sed -n 's/^size:       about \([0-9]*\) rows.*/\1/p' "$OSC_OUT")
    [ "${rows:-0}" -ge 10000 ] && [ "$rows" -le 60000 ] || { cat "$OSC_OUT" >&2; fail "$U (20000 rows) estimated at '$rows' rows"; }
    plan_has "$(e_pick '^estimate:   never analyzed \(reltuples -1\): counted in all of its [0-9]+ pages$' \
        '^estimate:   TABLE_ROWS is 0, but the table has rows \(statistics never gathered\): [0-9]+ bytes')" \
        "^trial:      copied 20000 rows in key order" "^eta:        about [0-9.]+s \(a trial chunk of 20000 rows: [0-9]+ rows/s over about $rows rows"

    assert_eq "$before" "$(snapshot)" "the schema and the object list after every plan"
    [ "$ENGINE" = my ] && assert_eq 0 "$(my_has_table ${T}_osc_try)" "no trial table"
    [ "$ENGINE" = pg ] && assert_eq -1 "$(psql_q "SELECT reltuples::bigint FROM pg_class WHERE oid = '$U'::regclass")" \
        "reltuples after the plans"
    assert_eq 20000 "$(e_q "SELECT COUNT(*) FROM $U")" "the rows of $U"
    e_tables_equal $T $R "id, v, n, extra, pad"
    e_no_leftovers $T
    e_q "DROP TABLE $U" >/dev/null
}

for_each_engine eta_test
echo ok
