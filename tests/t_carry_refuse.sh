#!/usr/bin/env bash
# What the swap cannot carry is refused before anything is created (exit 2,
# a clear message, the schema unchanged): an ALTER that drops, retypes or
# renames a column that a view, policy, trigger or foreign key uses (as
# PostgreSQL refuses the first two on the table itself), one that drops the
# unique index a foreign key into the table needs, rules, partitioned
# tables.  And the edges that are carried: an ALTER that drops a column no
# view uses keeps the view working, a renamed column keeps its grant and
# statistics target, a NOT VALID foreign key stays NOT VALID, UNLOGGED stays.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_cref
psql_q "
SET client_min_messages = warning;
DROP TABLE IF EXISTS ${T}_child, ${T}_part, ${T}_other, $T, _${T}_osc_old CASCADE;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'carry_reader') THEN CREATE ROLE carry_reader; END IF;
END \$\$;
CREATE UNLOGGED TABLE $T (id int PRIMARY KEY, code int CONSTRAINT ${T}_code_key UNIQUE, a int, b int, p int,
                          w int, g int, junk text);
INSERT INTO $T SELECT i, i, i, i, i, i, i, 'j' FROM generate_series(1, 2000) i;
CREATE UNLOGGED TABLE ${T}_child (id int PRIMARY KEY, code int CONSTRAINT ${T}_child_code_fk REFERENCES $T (code));
INSERT INTO ${T}_child SELECT i, i FROM generate_series(1, 100) i;
ALTER TABLE ${T}_child ADD CONSTRAINT ${T}_child_id_fk FOREIGN KEY (id) REFERENCES $T (id) NOT VALID;
CREATE VIEW ${T}_v AS SELECT id, a FROM $T;
CREATE POLICY ${T}_pol ON $T USING (p > 0);
CREATE OR REPLACE FUNCTION ${T}_fn() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RETURN NEW; END \$\$;
CREATE TRIGGER ${T}_trg BEFORE UPDATE ON $T FOR EACH ROW WHEN (NEW.w IS DISTINCT FROM OLD.w) EXECUTE FUNCTION ${T}_fn();
GRANT SELECT (g) ON $T TO carry_reader;
ALTER TABLE $T ALTER COLUMN g SET STATISTICS 77;
CREATE TABLE ${T}_part (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE ${T}_other (id int PRIMARY KEY);
" >/dev/null || fail "setup"

before=$(schema_snapshot)
refused() {  # WHAT REGEX ARGS...
    local what=$1 re=$2
    shift 2
    run_osc "$@"
    [ "$OSC_RC" = 2 ] || fail "$what: exit $OSC_RC, expected 2"
    grep -Eqi -- "$re" "$OSC_ERR" || fail "$what: stderr does not match /$re/: $(head -c 400 "$OSC_ERR")"
    assert_eq "$before" "$(schema_snapshot)" "$what: schema unchanged"
    note "$what: refused: $(grep -o '"msg":"[^"]*"' "$OSC_ERR" | tail -n 1)"
}
refused "drop a column a view uses" "drops column a, which view ${T}_v depends on" --table $T --alter "DROP COLUMN a"
refused "retype a column a policy uses" "changes the type of column p, which policy ${T}_pol" \
    --table $T --alter "ALTER COLUMN p TYPE bigint"
refused "rename a column a trigger uses" "renames column w, which trigger ${T}_trg" --table $T --alter "RENAME COLUMN w TO w2"
refused "drop a column a foreign key uses" "drops column code, which constraint ${T}_child_code_fk" \
    --table $T --alter "DROP COLUMN code"
refused "drop the unique key a foreign key needs" "drops index ${T}_code_key" \
    --table $T --alter "DROP CONSTRAINT ${T}_code_key"
# osc plan does not fail on it: it says, among its high-risk warnings, that a run refuses
run_osc plan --table $T --alter "DROP COLUMN a"
[ "$OSC_RC" = 0 ] || fail "osc plan: exit $OSC_RC, expected 0 (with a warning)"
grep -Eq -- "\[high\] a run refuses this ALTER: the ALTER drops column a, which view ${T}_v depends on" "$OSC_OUT" \
    || fail "osc plan does not warn that a run refuses the ALTER"
assert_eq "$before" "$(schema_snapshot)" "osc plan: schema unchanged"
refused "partitioned table" "partitioned" --table ${T}_part --alter "ADD COLUMN z int"
psql_q "CREATE RULE ${T}_rule AS ON INSERT TO ${T}_other DO ALSO INSERT INTO $T (id) VALUES (NEW.id + 100000)" \
    || fail "create rule"
before=$(schema_snapshot)
refused "a rule writes the table" "rule ${T}_rule .*cannot re-create rules" --table $T --alter "ADD COLUMN z int"
psql_q "DROP RULE ${T}_rule ON ${T}_other" || fail "drop rule"
assert_true "(SELECT count(*) = 0 FROM pg_namespace WHERE nspname LIKE '\_osc\_%')" "no work schema left"

# carried edges: drop a column nothing uses
expect_osc 0 --table $T --alter "DROP COLUMN junk"
assert_eq u "$(psql_q "SELECT relpersistence FROM pg_class WHERE oid = '$T'::regclass")" "UNLOGGED stays"
assert_eq 2000 "$(psql_q "SELECT count(*) FROM ${T}_v")" "the view over the untouched columns"
assert_eq "true false" "$(psql_q "SELECT string_agg(convalidated::text, ' ' ORDER BY conname) FROM pg_constraint
                           WHERE conrelid = '${T}_child'::regclass AND contype = 'f'")" \
    "the NOT VALID key stays NOT VALID, the valid one is validated"
assert_eq "${T}_child_code_fk ${T}_child_id_fk" "$(psql_q "SELECT string_agg(conname, ' ' ORDER BY conname) FROM pg_constraint
                           WHERE confrelid = '$T'::regclass")" "both keys point at the new table"
assert_true "(SELECT relrowsecurity = false FROM pg_class WHERE oid = '$T'::regclass)
             AND EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = '$T'::regclass AND polname = '${T}_pol')" \
    "a policy without ENABLE: the policy is there, RLS stays off"
psql_q "DROP TABLE _${T}_osc_old" || fail "the old table cannot be dropped without CASCADE"
# a rerun of the same command sees it done (the fingerprint saw the validation)
expect_osc 0 --table $T --alter "DROP COLUMN junk"
grep -q "already" "$OSC_ERR" || note "rerun: $(tail -n 1 "$OSC_ERR")"
assert_true "to_regclass('_${T}_osc_old') IS NULL" "the rerun did not migrate again"

# rename a column that has only a grant and a statistics target
expect_osc 0 --table $T --alter "RENAME COLUMN g TO g2"
assert_true "has_column_privilege('carry_reader', '$T', 'g2', 'SELECT')" "the column grant follows the rename"
assert_eq 77 "$(psql_q "SELECT attstattarget FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'g2'")" \
    "the statistics target follows the rename"
psql_q "DROP TABLE _${T}_osc_old" || fail "the old table cannot be dropped without CASCADE"
no_osc_leftovers $T

# hostile names on the dependents: every name the swap re-creates is quoted
H='c"ref; DROP TABLE victim; --'
HQ=$(qi "$H")
psql_q "SET client_min_messages = warning;
    DROP TABLE IF EXISTS $(qi "${H}_kid"), $HQ, $(qi "_${H}_osc_old") CASCADE;
    CREATE TABLE IF NOT EXISTS victim (x int);
    CREATE TABLE $HQ (\"i d\" int PRIMARY KEY, \"v'al\" text);
    INSERT INTO $HQ SELECT i, 'v' || i FROM generate_series(1, 500) i;
    CREATE TABLE $(qi "${H}_kid") (id int PRIMARY KEY,
        pid int CONSTRAINT $(qi "fk'${H}") REFERENCES $HQ (\"i d\"));
    INSERT INTO $(qi "${H}_kid") SELECT i, i FROM generate_series(1, 50) i;
    CREATE VIEW $(qi "v'${H}") AS SELECT \"i d\", \"v'al\" FROM $HQ;
    COMMENT ON TABLE $HQ IS 'it''s \"quoted\"';" >/dev/null || fail "hostile setup"
expect_osc 0 --table "$HQ" --alter "ADD COLUMN z int"
assert_eq 500 "$(psql_q "SELECT count(*) FROM $(qi "v'${H}")")" "the hostile view"
assert_true "(SELECT confrelid = $(ql "$HQ")::regclass AND convalidated FROM pg_constraint WHERE conname = $(ql "fk'${H}"))" \
    "the hostile foreign key"
assert_eq "it's \"quoted\"" "$(psql_q "SELECT obj_description($(ql "$HQ")::regclass, 'pg_class')")" "the quoted comment"
assert_true "to_regclass('victim') IS NOT NULL" "victim survives"
psql_q "DROP TABLE $(qi "_${H}_osc_old")" || fail "the old hostile table cannot be dropped without CASCADE"
echo ok
