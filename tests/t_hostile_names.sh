#!/usr/bin/env bash
# Names that break naive SQL building: quotes, spaces, semicolons, capitals.
. "$(dirname "$0")/lib.sh"
need_osc
S='My Schema'
T='a"b; DROP'
QS=$(qi "$S")                 # "My Schema"
QT="$QS.$(qi "$T")"           # "My Schema"."a""b; DROP"
QR="$QS.\"ref; x\""
COLS='"I d", "V;al", "Up"'
psql_q "
    SET client_min_messages = warning;
    DROP SCHEMA IF EXISTS $QS CASCADE;
    CREATE SCHEMA $QS;
    CREATE TABLE $QT (\"I d\" int PRIMARY KEY, \"V;al\" text, \"Up\" int);
    CREATE INDEX \"idx; \"\"x\"\"\" ON $QT (\"Up\");
    INSERT INTO $QT SELECT i, 'v''' || i || ';\"', i % 13 FROM generate_series(1, 1000) i;
    CREATE TABLE $QR (LIKE $QT);
    INSERT INTO $QR SELECT * FROM $QT;
" || fail "setup"
psql_q "VACUUM ANALYZE $QT" || fail "vacuum"

expect_osc 0 --table '"My Schema"."a""b; DROP"' --alter 'ADD COLUMN "new ""col""" int DEFAULT 3'
psql_q "ALTER TABLE $QR ADD COLUMN \"new \"\"col\"\"\" int DEFAULT 3"
tables_equal "$QT" "$QR" "$COLS, \"new \"\"col\"\"\""
assert_true "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$(printf '%s' "$QT" | sed "s/'/''/g")'::regclass AND attname = 'new \"col\"')" 'column "new ""col""" exists'
assert_true "EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'My Schema' AND c.relname = '_a\"b; DROP_osc_old')" "old table kept in My Schema"
assert_true "EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'My Schema' AND c.relname = 'idx; \"x\"')" "index name kept"
assert_eq 1000 "$(psql_q "SELECT count(*) FROM $QT")" "row count"
no_osc_leftovers "$T"
echo "ok"
