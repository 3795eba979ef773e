#!/usr/bin/env bash
# osc plan --fail-on medium|high: CI and cron gate on the plan's risk.  The
# plan is printed as always; the exit status is 4 when its risk reaches the
# level given, 0 below it.  On PostgreSQL and MariaDB:
#  - a low-risk plan (a catalog-only ADD COLUMN) passes --fail-on medium;
#  - a medium one (the same ALTER by a copy) fails --fail-on medium with 4,
#    passes --fail-on high;
#  - a high one (a UNIQUE key over duplicates) fails both with 4, and with
#    --format json stdout is still the JSON plan;
#  - a bad level, or --fail-on given to a run, is bad input (2) and changes
#    nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
command -v jq >/dev/null || fail "jq is needed to read the JSON plan"

fail_on_test() {
    local T=t_failon_$ENGINE R=t_failon_${ENGINE}_ref before
    e_fixture $T $R 2000
    e_q "UPDATE $T SET extra = 77 WHERE id IN (5, 6)" >/dev/null || fail "duplicates"
    before=$(e_schema_snapshot)
    local low=$(e_pick "ADD COLUMN c int DEFAULT 1" "ADD COLUMN c INT")
    local high=$(e_pick "ADD CONSTRAINT ${T}_x UNIQUE (extra)" "ADD UNIQUE KEY uq_extra (extra)")

    OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "$low" --fail-on medium
    grep -q '^risk:       low$' "$OSC_OUT" || fail "the low plan is not low"
    OSC_STRATEGY=auto e_expect_osc 0 plan --table $T --alter "$low" --fail-on high

    OSC_STRATEGY=copy e_expect_osc 4 plan --table $T --alter "$low" --fail-on medium
    grep -q '^risk:       medium$' "$OSC_OUT" || fail "the copy plan is not medium"
    grep -q "^osc: the plan's risk is medium, which reaches --fail-on medium: exit 4$" "$OSC_ERR" \
        || fail "exit 4 not explained"
    grep -q '^plan only: nothing was changed' "$OSC_OUT" || fail "the plan was not printed"
    OSC_STRATEGY=copy e_expect_osc 0 plan --table $T --alter "$low" --fail-on high
    OSC_STRATEGY=copy e_expect_osc 0 plan --table $T --alter "$low"

    OSC_STRATEGY=auto e_expect_osc 4 plan --table $T --alter "$high" --fail-on high
    grep -q '^risk:       high$' "$OSC_OUT" || fail "the duplicate-key plan is not high"
    OSC_STRATEGY=auto e_expect_osc 4 plan --table $T --alter "$high" --fail-on medium --format json
    assert_eq high "$(jq -r .risk "$OSC_OUT")" "the JSON plan's risk (stdout is the JSON plan alone)"

    e_expect_osc 2 plan --table $T --alter "$low" --fail-on severe
    grep -q -- "--fail-on: expected medium or high, got 'severe'" "$OSC_ERR" || fail "bad level not explained"
    e_expect_osc 2 --table $T --alter "$low" --fail-on high
    grep -q -- "--fail-on is an option of osc plan" "$OSC_ERR" || fail "--fail-on on a run not refused"
    assert_eq "$before" "$(e_schema_snapshot)" "the schema after every plan"
    assert_eq 0 "$(e_has_column $T c)" "no column c"
    e_tables_equal $T $R "id, v, n, pad"
    e_no_leftovers $T
}

for_each_engine fail_on_test
echo ok
