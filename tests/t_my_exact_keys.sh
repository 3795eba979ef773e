#!/usr/bin/env bash
# MariaDB: keys whose text does not name their value exactly. The copy's
# watermark and the change log's keys travel as text and come back as
# literals (src/my/my_keys.c); each must name exactly the row it came from.
#  A. FLOAT key of whole numbers above 10^6 under the mirrored writer: a
#     FLOAT prints 6 significant digits (1000001 reads back as 1e6), so the
#     old code lost the highest rows and the replayed changes, exit 0.
#  B. BIT(32) key under the mirrored writer: a BIT prints raw bytes; the old
#     code failed mid-copy.
#  C. ENUM key whose members are not in alphabetical order: it sorts by
#     member number, but a quoted label compares as a string.
#  D. an ALTER that changes the FLOAT key's type: refused (exit 2), nothing
#     changed (the same literal would name another value).
. "$(dirname "$0")/lib.sh"
need_osc
need_my
ALTER="ADD COLUMN c INT NOT NULL DEFAULT 7"

# mk T R KEYDEF KEYEXPR ROWS: T and R with key id KEYDEF = KEYEXPR(seq), the usual columns
mk() {
    local t=$1 r=$2 keydef=$3 keyexpr=$4 rows=$5
    my_q "
        DROP TABLE IF EXISTS $t, $r, ${t}_osc_old;
        CREATE TABLE $t (id $keydef NOT NULL, v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0,
                         pad VARCHAR(200), PRIMARY KEY (id), KEY ${t}_n_idx (n)) ENGINE=InnoDB;
        CREATE TABLE $r LIKE $t;
        ALTER TABLE $r DROP INDEX ${t}_n_idx;
        INSERT INTO $t SELECT $keyexpr, MD5(s.seq), s.seq % 1000, s.seq, REPEAT('x', 100) FROM seq_1_to_$rows s;
        INSERT INTO $r SELECT * FROM $t;
    " || fail "fixture $t"
}

note "---- A: FLOAT key, under the writer ----"
T=t_my_fkey R=t_my_fkey_ref
mk $T $R FLOAT "1000000 + s.seq" 4000
assert_eq 1 "$(my_q "SELECT COUNT(DISTINCT CAST(id AS CHAR)) < 1000 FROM $T")" "FLOAT keys print alike"
my_migrate_with_writer int $T $R "$ALTER" --chunk-size 200 --chunk-size-max 200
my_tables_equal $T $R "CAST(id AS DOUBLE), v, n, extra, pad"
assert_eq 1 "$(my_has_column $T c)" "$T has column c"
my_no_osc_leftovers $T

note "---- B: BIT(32) key, under the writer ----"
T=t_my_bkey R=t_my_bkey_ref
mk $T $R "BIT(32)" "s.seq" 4000
my_migrate_with_writer int $T $R "$ALTER" --chunk-size 200 --chunk-size-max 200
my_tables_equal $T $R "id + 0, v, n, extra, pad"
assert_eq 1 "$(my_has_column $T c)" "$T has column c"
my_no_osc_leftovers $T

note "---- C: ENUM key, members in reverse order ----"
T=t_my_ekey R=t_my_ekey_ref
members=$(for i in $(seq 400 -1 1); do printf "'k%03d'," "$i"; done)
mk $T $R "ENUM(${members%,})" "s.seq" 400
expect_osc_my 0 --table $T --alter "$ALTER" --chunk-size 30 --chunk-size-max 30
my_tables_equal $T $R "id + 0, v, n, extra, pad"
assert_eq 1 "$(my_has_column $T c)" "$T has column c"
my_no_osc_leftovers $T

note "---- D: the FLOAT key's type changed: refused ----"
T=t_my_fkey2 R=t_my_fkey2_ref
mk $T $R FLOAT "1000000 + s.seq" 100
before=$(my_schema_snapshot)
expect_osc_my 2 --table $T --alter "MODIFY id DOUBLE NOT NULL"
grep -q "changes the type of key column id" "$OSC_ERR" || fail "the refusal does not say why"
assert_eq "$before" "$(my_schema_snapshot)" "the schema after the refusal"
echo "ok"
