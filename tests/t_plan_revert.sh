#!/usr/bin/env bash
# osc plan says whether the ALTER has an inverse and what a revert of the
# migration (osc revert, after a --revertible run) would lose or refuse; on
# PostgreSQL and MariaDB (one body), as text ("revert:" and its lines) and
# as JSON (.revert: known, possible, requested, why_not, loses, refuses):
#  - ADD COLUMN: possible, the added column's values left out (and, under
#    --strategy auto, that --revertible copies the table instead);
#  - DROP COLUMN of a nullable column: rows written after the swap get
#    NULL; of one with a default: its default;
#  - DROP COLUMN of a NOT NULL column without a default: not possible;
#    with --revertible the run would refuse: a [high] warning, risk high,
#    --fail-on high exits 4;
#  - a widened column (int to bigint): possible, and a value the old type
#    cannot hold makes the revert refuse, naming the key; --revertible then
#    is no warning;
#  - a rename: every column back exactly;
#  - a retyped key: not possible;
#  - nothing changed: the schema and the object list are as before, the
#    table equals its mirror, nothing of osc's is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
command -v jq >/dev/null || fail "jq is needed to read the JSON plan"


# revert_json: the JSON plan's revert object on one line, its lists as counts
revert_json() {
    jq -r '.revert | [.known, .possible, .requested, (.why_not | length), (.loses | length), (.refuses | length)]
           | map(tostring) | join(" ")' "$OSC_OUT"
}

snapshot() {
    e_schema_snapshot
    [ "$ENGINE" = my ] && my_q "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES
                              WHERE TABLE_SCHEMA = 'osctest'"
}

revert_plan_test() {
    local T=t_prev_$ENGINE R=t_prev_${ENGINE}_ref before int big
    int=$(e_pick integer 'int(11)')
    big=$(e_pick bigint 'bigint(20)')
    e_fixture $T $R 500
    # a NOT NULL column without a default (a run's rows all have one)
    e_q "ALTER TABLE $T ADD COLUMN code int NOT NULL DEFAULT 1" >/dev/null || fail "setup: add code"
    e_q "ALTER TABLE $T ALTER COLUMN code DROP DEFAULT" >/dev/null || fail "setup: code's default"
    before=$(snapshot)

    # ADD COLUMN: its values are left out
    e_expect_osc 0 plan --table $T --alter "ADD COLUMN note text"
    plan_has '^revert:     possible with --revertible$' \
        '^  a revert would lose: column note \(added\): its values are left out$'
    e_expect_osc 0 plan --table $T --alter "ADD COLUMN note text" --format json
    assert_eq "true true false 0 1 0" "$(revert_json)" "ADD COLUMN: the JSON revert"
    assert_eq "column note (added): its values are left out" "$(jq -r '.revert.loses[0]' "$OSC_OUT")" \
        "ADD COLUMN: the JSON loss"
    # in place by default: --revertible would copy instead
    OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "ADD COLUMN note text"
    plan_has '^revert:     possible with --revertible, which copies the table instead of changing it in place$'

    # DROP COLUMN: NULL, or the column's default
    e_expect_osc 0 plan --table $T --alter "DROP COLUMN n, DROP COLUMN extra"
    plan_has '^revert:     possible with --revertible$' \
        '^  a revert would lose: column n \(dropped\): rows inserted or updated after the swap get NULL$' \
        "^  a revert would lose: column extra \(dropped\): rows inserted or updated after the swap get its default, '?0'?$"
    e_expect_osc 0 plan --table $T --alter "DROP COLUMN n" --format json
    assert_eq "true true false 0 1 0" "$(revert_json)" "DROP COLUMN n: the JSON revert"
    assert_eq "column n (dropped): rows inserted or updated after the swap get NULL" \
        "$(jq -r '.revert.loses[0]' "$OSC_OUT")" "DROP COLUMN n: the JSON loss"

    # DROP COLUMN of a NOT NULL column without a default: no inverse
    e_expect_osc 0 plan --table $T --alter "DROP COLUMN code"
    plan_has '^revert:     not possible: the ALTER has no inverse$' \
        '^  - the ALTER drops column code, NOT NULL without a default: the original could not take a row written after the swap$'
    grep -q -- '--revertible' <(sed -n '/^warnings:/,$p' "$OSC_OUT") && fail "a warning about --revertible without it"
    e_expect_osc 0 plan --table $T --alter "DROP COLUMN code" --format json
    assert_eq "true false false 1 0 0" "$(revert_json)" "DROP COLUMN code: the JSON revert"
    # ... and a --revertible run would refuse it: high
    e_expect_osc 4 plan --table $T --alter "DROP COLUMN code" --revertible --fail-on high
    # (the warning in osc plan's words, or the engine's refusal in the run's)
    plan_has '^risk:       high$' \
        '^revert:     not possible: the ALTER has no inverse \(--revertible: a run refuses it\)$' \
        '^  \[high\] .*--revertible: .*drops column code, (which is )?NOT NULL without a default'
    e_expect_osc 0 plan --table $T --alter "DROP COLUMN code" --revertible --format json
    assert_eq "true false true 1 0 0" "$(revert_json)" "--revertible DROP COLUMN code: the JSON revert"
    assert_eq "high" "$(jq -r '.risk' "$OSC_OUT")" "--revertible DROP COLUMN code: the JSON risk"
    assert_eq "true" "$(jq '[.warnings[] | select(.high and (.text | contains("--revertible")))]
                            | length == 1' "$OSC_OUT")" "--revertible DROP COLUMN code: one high warning, not two"

    # widened: a value written after the swap that int cannot hold refuses
    local widen
    widen=$(e_pick "ALTER COLUMN n TYPE bigint" "MODIFY n BIGINT")
    e_expect_osc 0 plan --table $T --alter "$widen"
    plan_has '^revert:     possible with --revertible$' \
        "^  a revert would refuse: column n \(${big//[()]/\\&} back to ${int//[()]/\\&}\): a value written after the swap that ${int//[()]/\\&} cannot hold makes osc revert refuse, naming the key$"
    e_expect_osc 0 plan --table $T --alter "$widen" --format json
    assert_eq "true true false 0 0 1" "$(revert_json)" "widened: the JSON revert"
    # with --revertible: possible, so no warning of it
    e_expect_osc 0 plan --table $T --alter "$widen" --revertible --fail-on high
    plan_has '^revert:     possible: this run is --revertible \(`osc revert` after the swap, until `osc finish`\)$'
    grep -q -- '--revertible:' "$OSC_OUT" && fail "a --revertible warning for an ALTER with an inverse"

    # renamed: back exactly
    e_expect_osc 0 plan --table $T --alter "RENAME COLUMN n TO m"
    plan_has '^revert:     possible with --revertible$' '^  a revert gives every original column back exactly$'
    e_expect_osc 0 plan --table $T --alter "RENAME COLUMN n TO m" --format json
    assert_eq "true true false 0 0 0" "$(revert_json)" "renamed: the JSON revert"

    # the key retyped: no inverse (a revert finds each row by the key)
    e_expect_osc 0 plan --table $T --alter "$(e_pick "ALTER COLUMN id TYPE bigint" "MODIFY id BIGINT NOT NULL")"
    plan_has '^revert:     not possible: the ALTER has no inverse$' \
        "^  - key column id changes type \(${int//[()]/\\&} to ${big//[()]/\\&}\)"

    assert_eq "$before" "$(snapshot)" "the schema and the object list after every plan"
    [ "$ENGINE" = my ] && assert_eq 0 "$(my_has_table ${T}_osc_try)" "no trial table"
    e_tables_equal $T $R "id, v, n, extra, pad"
    e_no_leftovers $T
    e_q "DROP TABLE $T" >/dev/null
    e_q "DROP TABLE $R" >/dev/null
}

for_each_engine revert_plan_test
echo ok
