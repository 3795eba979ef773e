#!/usr/bin/env bash
# MariaDB: a table with a FULLTEXT and a SPATIAL index, under the mirrored
# writer. The old code dropped them from the shadow and failed at their
# rebuild after the whole copy: FULLTEXT cannot be added with LOCK=NONE, and
# SPATIAL came back with the prefix length information_schema shows (32),
# which the server refuses. They now stay on the shadow through the copy.
#  A. ADD COLUMN: the new table has both indexes (and the ordinary one), and
#     equals the mirror; a full-text search and a spatial search answer.
#  B. an ALTER that adds a second FULLTEXT index: built on the empty shadow.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_ftsp R=t_my_ftsp_ref
COLS="id, v, n, extra, pad, ST_AsText(g)"

my_fixture int $T $R 10000
my_q "
    ALTER TABLE $T ADD COLUMN g POINT NOT NULL DEFAULT (POINT(0, 0)), ADD FULLTEXT KEY ${T}_ft (v, pad),
        ADD SPATIAL KEY ${T}_sp (g);
    ALTER TABLE $R ADD COLUMN g POINT NOT NULL DEFAULT (POINT(0, 0));
    UPDATE $T SET g = POINT(id % 100, id DIV 100), v = CONCAT('word', id % 50, ' ', v);
    UPDATE $R SET g = POINT(id % 100, id DIV 100), v = CONCAT('word', id % 50, ' ', v);
" || fail "fixture: the FULLTEXT and SPATIAL indexes"

# index_types T: "name:type" of each index, sorted
index_types() {
    my_q "SELECT GROUP_CONCAT(DISTINCT CONCAT(INDEX_NAME, ':', INDEX_TYPE) ORDER BY INDEX_NAME)
          FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = $(my_ql "$1")"
}
before=$(index_types $T)

note "---- A: ADD COLUMN ----"
my_migrate_with_writer int $T $R "ADD COLUMN c INT"
my_q "ALTER TABLE $R ADD COLUMN c INT" || fail "ALTER of $R"
my_tables_equal $T $R "$COLS, c"
assert_eq "$before" "$(index_types $T)" "the indexes of the new $T"
assert_eq "$(my_q "SELECT COUNT(*) FROM $R WHERE v LIKE 'word7 %'")" \
    "$(my_q "SELECT COUNT(*) FROM $T WHERE MATCH (v, pad) AGAINST ('word7' IN BOOLEAN MODE)")" "a full-text search"
assert_eq "$(my_q "SELECT COUNT(*) FROM $R WHERE ST_X(g) BETWEEN 10 AND 20 AND ST_Y(g) BETWEEN 10 AND 20")" \
    "$(my_q "SELECT COUNT(*) FROM $T WHERE MBRContains(ST_GeomFromText('POLYGON((10 10, 20 10, 20 20, 10 20, 10 10))'), g)")" \
    "a spatial search"
my_no_osc_leftovers $T
my_q "DROP TABLE ${T}_osc_old"

note "---- B: an ALTER that adds a FULLTEXT index ----"
my_migrate_with_writer int $T $R "ADD FULLTEXT INDEX ${T}_ft2 (pad)"
my_tables_equal $T $R "$COLS, c"
assert_eq "FULLTEXT" "$(my_q "SELECT DISTINCT INDEX_TYPE FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND INDEX_NAME = '${T}_ft2'")" "the new FULLTEXT index"
my_no_osc_leftovers $T
echo "ok"
