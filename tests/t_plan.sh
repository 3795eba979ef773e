#!/usr/bin/env bash
# osc plan validates and explains, and changes nothing: for each strategy it
# names the strategy, a risk class with reasons, the SQL, sizes, a sampled
# ETA, the extra disk, the dependent objects; it warns about a new UNIQUE key
# over duplicates, a column used by a view, and a session holding a lock on
# the table; --format json is valid JSON with the same facts.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_plan R=t_plan_ref
fixture int $T $R 10000
psql_q "UPDATE $T SET extra = 77 WHERE id IN (5, 6); CREATE OR REPLACE VIEW t_plan_v AS SELECT id, n FROM $T"
before=$(schema_snapshot)

# plan_case STRATEGY-OPTION ALTER EXPECTED-STRATEGY EXPECTED-RISK [REGEX...]: the text plan
plan_case() {
    local strat=$1 alter=$2 want=$3 risk=$4
    shift 4
    OSC_STRATEGY=$strat expect_osc 0 plan --table $T --alter "$alter"
    grep -q "^strategy:   $want: " "$OSC_OUT" || fail "plan of '$alter': strategy is not $want"
    grep -q "^risk:       $risk$" "$OSC_OUT" || fail "plan of '$alter': risk is not $risk"
    grep -qE "^size:       about [0-9]+ rows; table [0-9.]+ MB, indexes [0-9.]+ MB" "$OSC_OUT" || fail "no sizes"
    grep -qE "^sample:     read [0-9]+ rows in key order" "$OSC_OUT" || fail "no sampled read"
    grep -qE "^eta:        about [0-9.]+s" "$OSC_OUT" || fail "no ETA"
    grep -qE "^extra disk: about [0-9.]+ MB" "$OSC_OUT" || fail "no extra disk"
    grep -q "^plan only: nothing was changed" "$OSC_OUT" || fail "no closing line"
    for re in "$@"; do
        grep -qE -- "$re" "$OSC_OUT" || fail "plan of '$alter' lacks /$re/"
    done
    assert_eq "$before" "$(schema_snapshot)" "schema snapshot after osc plan '$alter'"
}

plan_case auto "ADD COLUMN c int DEFAULT 1" direct low 'ALTER TABLE "public"."t_plan" ADD COLUMN c int DEFAULT 1'
plan_case copy "ADD COLUMN c int DEFAULT 1" copy medium 'INSERT INTO .* SELECT .* FROM ONLY "public"."t_plan" src' \
    'CREATE TRIGGER _osc_capture' 'LOCK TABLE ONLY "public"."t_plan" IN ACCESS EXCLUSIVE MODE' \
    '^  view t_plan_v$' '^  index t_plan_n_idx$' '^  v +<- src."v"'
plan_case auto "ADD COLUMN r float8 DEFAULT random()" copy medium 'the ALTER rewrites the table'
plan_case auto "ADD CONSTRAINT t_plan_idn UNIQUE (id, n)" unique-index medium \
    'CREATE UNIQUE INDEX CONCURRENTLY "t_plan_idn" ON "public"."t_plan" \("id", "n"\)' \
    'ADD CONSTRAINT "t_plan_idn" UNIQUE USING INDEX "t_plan_idn"'
plan_case auto "ADD CONSTRAINT t_plan_x UNIQUE (extra)" unique-index high \
    '\[high\] the new UNIQUE key would fail: Key \(extra\)=\(77\) is duplicated \(3 rows\)'
plan_case copy "ADD CONSTRAINT t_plan_x UNIQUE (extra)" copy high 'Key \(extra\)=\(77\) is duplicated'
plan_case auto "ADD CONSTRAINT t_plan_c CHECK (extra >= 0)" not-valid medium \
    'ADD CONSTRAINT t_plan_c CHECK \(extra >= 0\) NOT VALID' 'VALIDATE CONSTRAINT'
plan_case auto "ALTER COLUMN extra SET NOT NULL" not-null medium 'CHECK \("extra" IS NOT NULL\) NOT VALID' \
    'SET NOT NULL; ALTER TABLE "public"."t_plan" DROP CONSTRAINT'
plan_case auto "DROP COLUMN n" direct high '\[high\] column n is used by view\(s\) t_plan_v'
plan_case auto "ALTER COLUMN n TYPE bigint" copy high '\[high\] column n is used by view\(s\) t_plan_v'

# a session holding a lock on the table right now
psql -XAtq -c "BEGIN; LOCK TABLE $T IN ROW EXCLUSIVE MODE; SELECT pg_sleep(20); COMMIT" >/dev/null 2>&1 &
locker=$!
sleep 2
plan_case auto "ADD COLUMN c int" direct high "\\[high\\] pid [0-9]+ holds RowExclusiveLock on public.t_plan"
kill $locker 2>/dev/null; wait $locker 2>/dev/null
psql_q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()" >/dev/null

# JSON: parsed by the server
OSC_STRATEGY=auto expect_osc 0 plan --table $T --alter "ADD CONSTRAINT t_plan_x UNIQUE (extra)" --format json
json=$(cat "$OSC_OUT")
assert_eq "unique-index|high|t|10000" \
    "$(psql_q "SELECT concat_ws('|', j->>'strategy', j->>'risk', (j->'warnings'->0->>'high')::bool,
                                 j->>'rows_estimate') FROM (SELECT $(ql "$json")::json AS j) s")" "the JSON plan"
assert_true "(SELECT json_array_length(j->'sql') = 2 AND (j->>'eta_ms')::bigint >= 0 AND (j->>'changes_nothing')::bool
              FROM (SELECT $(ql "$json")::json AS j) s)" "the JSON plan's SQL, ETA"
expect_osc 2 plan --table $T --alter "ADD COLUMN c int" --format yaml
assert_eq "$before" "$(schema_snapshot)" "schema snapshot after every osc plan"
assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'c')" "no column c"
psql_q "DROP VIEW t_plan_v"
tables_equal $T $R "id, v, n, pad"
no_osc_leftovers $T
echo "ok"
