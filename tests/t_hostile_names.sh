#!/usr/bin/env bash
# Names that break naive SQL building, on PostgreSQL and MariaDB (one
# body): a schema (MariaDB: a database) with a space and capitals, a table
# whose name holds the engine's own quote character, a semicolon and a
# space, columns with a space, a semicolon and capitals, an index name with
# quotes, and an ALTER that adds a column whose name holds quotes.  The
# migration succeeds; the new table equals the mirror with the same ALTER,
# has the new column and keeps the index's name; the old table is kept in
# the same schema; the row count is the same; nothing of osc is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
S='My Schema'

hostile_names_test() {
    local T R QS QT QR COLS NEWCOL IDX
    if [ "$ENGINE" = pg ]; then
        T='a"b; DROP' R='ref; x' IDX='idx; "x"' NEWCOL='new "col"'
        QS=$(qi "$S") QT="$(qi "$S").$(qi "$T")" QR="$(qi "$S").$(qi "$R")"
        COLS='"I d", "V;al", "Up"'
        psql_q "
            SET client_min_messages = warning;
            DROP SCHEMA IF EXISTS $QS CASCADE;
            CREATE SCHEMA $QS;
            CREATE TABLE $QT (\"I d\" int PRIMARY KEY, \"V;al\" text, \"Up\" int);
            CREATE INDEX $(qi "$IDX") ON $QT (\"Up\");
            INSERT INTO $QT SELECT i, 'v''' || i || ';\"', i % 13 FROM generate_series(1, 1000) i;
            CREATE TABLE $QR (LIKE $QT);
            INSERT INTO $QR SELECT * FROM $QT;
        " || fail "setup"
        psql_q "VACUUM ANALYZE $QT" || fail "vacuum"
    else
        # MySQL quotes names with backticks: the table's name holds one
        T='a`b; DROP' R='ref; x' IDX='idx; `x`' NEWCOL='new `col`'
        QS=$(my_qi "$S") QT="$(my_qi "$S").$(my_qi "$T")" QR="$(my_qi "$S").$(my_qi "$R")"
        COLS='`I d`, `V;al`, `Up`'
        my_q "
            DROP DATABASE IF EXISTS $QS;
            CREATE DATABASE $QS;
            CREATE TABLE $QT (\`I d\` INT PRIMARY KEY, \`V;al\` VARCHAR(64), \`Up\` INT,
                              KEY $(my_qi "$IDX") (\`Up\`)) ENGINE=InnoDB;
            INSERT INTO $QT SELECT seq, CONCAT('v''', seq, ';\"\`'), seq % 13 FROM seq_1_to_1000;
            CREATE TABLE $QR (\`I d\` INT PRIMARY KEY, \`V;al\` VARCHAR(64), \`Up\` INT) ENGINE=InnoDB;
            INSERT INTO $QR SELECT * FROM $QT;
        " || fail "setup"
    fi

    # the table as osc reads --table: each part in double quotes ("" is one)
    e_expect_osc 0 --table "\"$S\".\"${T//\"/\"\"}\"" \
        --alter "ADD COLUMN $(e_pick "$(qi "$NEWCOL")" "$(my_qi "$NEWCOL")") int DEFAULT 3"
    if [ "$ENGINE" = pg ]; then
        psql_q "ALTER TABLE $QR ADD COLUMN $(qi "$NEWCOL") int DEFAULT 3" || fail "ALTER of the mirror"
        tables_equal "$QT" "$QR" "$COLS, $(qi "$NEWCOL")"
        assert_true "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $(ql "$QT")::regclass AND attname = $(ql "$NEWCOL"))" \
            "column $NEWCOL exists"
        assert_true "EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $(ql "$S") AND c.relname = $(ql "_${T}_osc_old"))" "old table kept in $S"
        assert_true "EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $(ql "$S") AND c.relname = $(ql "$IDX"))" "index name kept"
        assert_eq 1000 "$(psql_q "SELECT count(*) FROM $QT")" "row count"
        no_osc_leftovers "$T"
    else
        my_q "ALTER TABLE $QR ADD COLUMN $(my_qi "$NEWCOL") INT DEFAULT 3" || fail "ALTER of the mirror"
        my_tables_equal "$T" "$R" "$COLS, $(my_qi "$NEWCOL")" "$S"
        assert_eq 1 "$(my_q "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = $(my_ql "$S")
                             AND TABLE_NAME = $(my_ql "$T") AND COLUMN_NAME = $(my_ql "$NEWCOL")")" "column $NEWCOL exists"
        assert_eq 1 "$(my_q "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = $(my_ql "$S")
                             AND TABLE_NAME = $(my_ql "${T}_osc_old")")" "old table kept in $S"
        assert_eq 1 "$(my_q "SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS
                             WHERE TABLE_SCHEMA = $(my_ql "$S") AND TABLE_NAME = $(my_ql "$T")
                               AND INDEX_NAME = $(my_ql "$IDX")")" "index name kept"
        assert_eq 1000 "$(my_q "SELECT COUNT(*) FROM $QT")" "row count"
        my_no_osc_leftovers "$T" "$S"
        my_q "DROP DATABASE $QS" || fail "drop $S"
    fi
}
for_each_engine hostile_names_test
echo "ok"
