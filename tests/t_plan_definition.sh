#!/usr/bin/env bash
# osc plan shows the table's definition before and after the ALTER, and
# warns when the ALTER drops something without saying so; on PostgreSQL and
# MariaDB (one body):
#  - the text: "definition (- before, + after):", unchanged lines as they
#    are, the changed column's old line "-" and its new line "+", indexes;
#    the JSON: definition.before/after (columns with type, NOT NULL,
#    default; after: the column each is copied from) and the diff;
#  - a MODIFY that restates a column without its NOT NULL, DEFAULT,
#    comment and collation (MariaDB), TYPE resetting a collation
#    (PostgreSQL): one warning each, the subcommand named;
#  - an index that goes with a dropped column though it covered another,
#    and the foreign key that needed it; a MODIFY that drops AUTO_INCREMENT
#    ([high]);
#  - the risk and --fail-on follow the new warnings: a catalog-only ALTER
#    that drops something is medium (exit 4 with --fail-on medium), a lost
#    AUTO_INCREMENT high;
#  - nothing changed: the schema (object list included, no trial table
#    left) is as before, the table equals its mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
command -v jq >/dev/null || fail "jq is needed to read the JSON plan"


snapshot() {
    e_schema_snapshot
    [ "$ENGINE" = my ] && my_q "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES
                              WHERE TABLE_SCHEMA = 'osctest'"
}

definition_test() {
    local T=t_pdef_$ENGINE R=t_pdef_${ENGINE}_ref P=t_pdef_${ENGINE}_parent before
    e_fixture $T $R 2000
    # a collated, commented column; a reference to a parent, indexed with n
    if [ "$ENGINE" = pg ]; then
        psql_q "SET client_min_messages = warning; DROP TABLE IF EXISTS $P;
                CREATE TABLE $P (id int PRIMARY KEY); INSERT INTO $P SELECT generate_series(1, 10);
                ALTER TABLE $T ADD COLUMN tag varchar(20) COLLATE \"C\" NOT NULL DEFAULT 'x',
                               ADD COLUMN ref int REFERENCES $P (id);
                COMMENT ON COLUMN $T.tag IS 'the tag';
                CREATE INDEX ${T}_ref_n ON $T (ref, n)" || fail "setup"
    else
        my_q "DROP TABLE IF EXISTS $P, ${T}_ai; CREATE TABLE $P (id INT PRIMARY KEY) ENGINE=InnoDB;
              INSERT INTO $P SELECT seq FROM seq_1_to_10;
              CREATE TABLE ${T}_ai (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB;
              INSERT INTO ${T}_ai (v) SELECT seq FROM seq_1_to_100;
              ALTER TABLE $T ADD COLUMN tag VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
                  DEFAULT 'x' COMMENT 'the tag', ADD COLUMN ref INT,
                  ADD KEY ${T}_ref_n (ref, n), ADD CONSTRAINT ${T}_ref_fk FOREIGN KEY (ref) REFERENCES $P (id)" \
            || fail "setup"
    fi
    before=$(snapshot)

    # the diff, text and JSON
    OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "$(e_pick "ALTER COLUMN n TYPE bigint" "MODIFY n BIGINT")"
    plan_has '^definition \(- before, \+ after\):$' \
        "^    id $(e_pick integer 'int\(11\)') NOT NULL$" \
        "^  - n $(e_pick integer 'int\(11\)')$" "^  \+ n bigint$(e_pick '' '\(20\)')$" \
        "^    INDEX ${T}_n_idx $(e_pick btree BTREE) \(n\)$" \
        "^    tag $(e_pick 'character varying\(20\)' 'varchar\(20\)') NOT NULL DEFAULT 'x'.* COLLATE [^ ]+ COMMENT 'the tag'$"
    OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "$(e_pick "ALTER COLUMN n TYPE bigint" "MODIFY n BIGINT")" \
        --format json
    assert_eq "$(e_pick integer 'int(11)')|bigint$(e_pick '' '(20)')|n|false" \
        "$(jq -r '[(.definition.before.columns[] | select(.name == "n") | .type),
                   (.definition.after.columns[] | select(.name == "n") | .type, .from, .not_null)] | join("|")' "$OSC_OUT")" \
        "the JSON definitions of n"
    assert_eq "true" "$(jq '.definition.diff | any(. == "- n '"$(e_pick integer 'int(11)')"'")' "$OSC_OUT")" \
        "the JSON diff"
    assert_eq "x" "$(jq -r '.definition.before.columns[] | select(.name == "tag") | .default' "$OSC_OUT" | tr -d "'" |
        sed 's/::character varying//')" "the JSON default of tag"

    # what a restatement of the column leaves out
    if [ "$ENGINE" = pg ]; then
        OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "ALTER COLUMN tag TYPE varchar(40)"
        plan_has "^  'ALTER COLUMN tag TYPE varchar\(40\)' changes column tag's collation from \"C\" to the default"
    else
        # catalog-only: low before the warning, medium with it
        OSC_STRATEGY=auto e_expect_osc 4 plan --table $T --alter "MODIFY tag VARCHAR(30)" --fail-on medium
        plan_has "^  'MODIFY tag VARCHAR\(30\)' drops NOT NULL from column tag" \
            "^  'MODIFY tag VARCHAR\(30\)' drops column tag's DEFAULT 'x'" \
            "^  'MODIFY tag VARCHAR\(30\)' drops column tag's comment 'the tag'" \
            "^  'MODIFY tag VARCHAR\(30\)' changes column tag's collation from utf8mb4_bin to the default" \
            '^risk:       medium$'
        # said in so many words: no warning
        OSC_STRATEGY=auto e_expect_osc 0 plan --table $T \
            --alter "MODIFY tag VARCHAR(30) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL DEFAULT NULL COMMENT ''"
        grep -qE "^  'MODIFY tag" "$OSC_OUT" && fail "a restatement that says it all was warned about"
        # AUTO_INCREMENT lost: inserts would fail, high
        OSC_STRATEGY=auto e_expect_osc 4 plan --table ${T}_ai --alter "MODIFY id INT" --fail-on high
        plan_has "^  \[high\] 'MODIFY id INT' drops column id's auto_increment" '^risk:       high$' \
            '^  - id int\(11\) NOT NULL auto_increment$' '^  \+ id int\(11\) NOT NULL$'
    fi

    # an index over the dropped column and another: the reference loses it
    OSC_STRATEGY=auto e_expect_osc 4 plan --table $T --alter "DROP COLUMN n" --fail-on medium
    if [ "$ENGINE" = pg ]; then
        # catalog-only: low before these warnings
        plan_has "^strategy:   direct: " '^risk:       medium$' \
            "^  index ${T}_ref_n \(ref,n\) goes with column n \('DROP COLUMN n'\)" \
            "^  foreign key ${T}_ref_fkey loses its index over \(ref\)" "^  - INDEX ${T}_ref_n btree \(ref, n\)$"
    else
        plan_has "^  index ${T}_ref_n shrinks from \(ref,n\) to \(ref\): 'DROP COLUMN n' takes the column out of it" \
            "^  - INDEX ${T}_ref_n BTREE \(ref, n\)$" "^  \+ INDEX ${T}_ref_n BTREE \(ref\)$"
        OSC_STRATEGY=copy e_expect_osc 0 plan --table $T --alter "DROP INDEX ${T}_ref_n"
        plan_has "^  foreign key ${T}_ref_fk needs an index over \(ref\), and the ALTER drops it"
        OSC_STRATEGY=copy e_expect_osc 4 plan --table $T --alter "DROP COLUMN ref" --fail-on high
        plan_has "^  \[high\] foreign key ${T}_ref_fk goes with column ref, which the ALTER drops: osc adds"
    fi

    assert_eq "$before" "$(snapshot)" "the schema and the object list after every plan"
    [ "$ENGINE" = my ] && assert_eq 0 "$(my_has_table ${T}_osc_try)" "no trial table"
    e_tables_equal $T $R "id, v, n, extra, pad"
    e_no_leftovers $T
    e_q "DROP TABLE $T" >/dev/null
    [ "$ENGINE" = my ] && my_q "DROP TABLE ${T}_ai"
    e_q "DROP TABLE $P" >/dev/null
}

for_each_engine definition_test
echo ok
