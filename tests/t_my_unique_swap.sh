#!/usr/bin/env bash
# MariaDB: two rows swap a UNIQUE value inside one transaction, and the
# replay merges one of them before the other (src/my/my_conflict.c).
# A replay batch takes the oldest log rows up to its limit; a transaction
# that swaps u between rows A and B and also inserts more rows than the
# limit between the two updates puts A's log row in one batch and B's in a
# later one, every time. Merging A alone writes A's new u while the new
# table still holds B's old row with that value: the old code aborted the
# run on that duplicate (1 run in 7 under a random workload), although the
# workload was valid at every commit. All under the mirrored writer.
#  A. a UNIQUE secondary index, after the copy (the swap postponed: batches
#     of 5000, so the transaction inserts 6000 rows between the updates).
#  B. the ALTER moves the primary key to u, during the copy (batches of
#     1000, 1500 rows between the updates; both rows already copied).
# The swapping rows have keys below the writer's (-1..-4), so that the
# writer never touches them.
#     With the primary key moved, no index of the new table is left on the
#     key osc merges by: osc adds one while it copies, and the new table
#     ends without it (case 12; the old code scanned the whole new table in
#     each batch, under the swap's lock too).
# (A real duplicate under a new UNIQUE index, written during the run, fails
# naming the key: t_unique_duplicates (c), on both engines.)
. "$(dirname "$0")/lib.sh"
need_osc
need_my
COLS="id, v, n, extra, pad, u"

# fixture_u T R ROWS: the usual tables plus u INT UNIQUE (u = id)
fixture_u() {
    my_fixture int "$1" "$2" "$3"
    my_q "ALTER TABLE $1 ADD COLUMN u INT NULL, ADD UNIQUE KEY ${1}_uq (u); ALTER TABLE $2 ADD COLUMN u INT NULL;
          UPDATE $1 SET u = id; UPDATE $2 SET u = id;" || fail "fixture: column u"
}

# swap_rows T R: rows -1..-4 (u = 1000001..1000004), beside the writer's keys
# (it draws from the key range it read when it started: start it first)
swap_rows() {
    my_q "INSERT INTO $1 (id, v, n, extra, pad, u) SELECT -seq, 'swap', 1, 0, '', 1000000 + seq FROM seq_1_to_4;
          INSERT INTO $2 (id, v, n, extra, pad, u) SELECT -seq, 'swap', 1, 0, '', 1000000 + seq FROM seq_1_to_4;" \
        || fail "the rows that swap u"
}

# swap_u T R A B FILL BASE: in one transaction on both tables, rows A and B
# swap their u, with FILL new rows (keys BASE..) inserted between the updates
swap_u() {
    local t=$1 r=$2 a=$3 b=$4 fill=$5 base=$6 x stmts=""
    for x in $t $r; do
        stmts+="UPDATE $x SET u = 0 WHERE id = $a;"
    done
    for x in $t $r; do
        stmts+="INSERT INTO $x (id, v, n, extra, pad, u) SELECT $base + seq, 'fill', 1, 0, '', $base + seq FROM seq_1_to_$fill;"
    done
    for x in $t $r; do
        stmts+="UPDATE $x SET u = 1000000 - $a WHERE id = $b; UPDATE $x SET u = 1000000 - $b WHERE id = $a;"
    done
    my_q "START TRANSACTION; $stmts COMMIT;" || fail "the swap of u between $a and $b"
}

note "---- A: a UNIQUE index, the swap postponed ----"
T=t_my_uswap R=t_my_uswap_ref
fixture_u $T $R 10000
flag=$TEST_TMP/postpone.a
start_mywriter int $T $R
sleep 0.3
swap_rows $T $R
osc_bg_my "$TEST_TMP/a.out" "$TEST_TMP/a.err" --table $T --alter "ADD COLUMN c INT" --postpone-cutover "$flag"
wait_for_text "cutover postponed" 60 "$TEST_TMP/a.err" || { tail -n 20 "$TEST_TMP/a.err" >&2; fail "no postponed cutover"; }
swap_u $T $R -1 -2 6000 800000000
swap_u $T $R -3 -4 6000 800010000
sleep 1.5
rm -f "$flag"
osc_bg_wait 120
rc=$OSC_BG_RC
sleep 0.3
stop_mywriter
grep -E "duplicate|error" "$TEST_TMP/a.err" | sed 's/^/#   /' | tail -n 5
assert_eq 0 "$rc" "osc's exit status after the swaps of a UNIQUE value"
grep -q "merging those keys too" "$TEST_TMP/a.err" || fail "no batch met the swapped value (the test did not split the transaction)"
my_q "ALTER TABLE $R ADD COLUMN c INT"
my_tables_equal $T $R "$COLS, c"
assert_eq "1000003 1000004 1000001 1000002" "$(my_q "SELECT GROUP_CONCAT(u ORDER BY id SEPARATOR ' ') FROM $T WHERE id < 0")" \
    "u of the rows that swapped it"
my_no_osc_leftovers $T

note "---- B: the primary key moved to u, during the copy ----"
T=t_my_uswap_pk R=t_my_uswap_pk_ref
fixture_u $T $R 10000
# the writer's inserts name no u: it numbers them itself (the mirror's u is
# then another number, so B compares the rest, and the swapped u apart)
my_q "ALTER TABLE $T MODIFY u INT NOT NULL AUTO_INCREMENT" || fail "u NOT NULL"
start_mywriter int $T $R
sleep 0.3
swap_rows $T $R
# 500-row chunks, each cycle 150 ms longer: the swapping rows (the lowest keys) are copied well before the end
OSC_FAULT=chunk:150 osc_bg_my "$TEST_TMP/b.out" "$TEST_TMP/b.err" --table $T \
    --alter "DROP PRIMARY KEY, ADD PRIMARY KEY (u)" --chunk-size 500 --chunk-size-max 500
for _ in $(seq 1 100); do
    [ "$(my_q "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '${T}_osc_new'")" = 1 ] \
        && [ "$(my_q "SELECT COUNT(*) FROM ${T}_osc_new" 2>/dev/null)" -ge 1000 ] && break
    sleep 0.1
done
# case 12: no index of the new table is left on the old key (id); osc adds
# one for its merges (src/my/my_keyidx.c), or every batch scans the new table
explain=$(my_q "EXPLAIN DELETE FROM ${T}_osc_new WHERE id IN (1, 2)" | cut -f4)
note "the merge's DELETE on the new table, while it is copied: access type $explain"
[ "$explain" = range ] || [ "$explain" = ref ] || fail "the merge's DELETE scans the new table (access type $explain)"
assert_eq 1 "$(my_q "SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'osctest'
    AND TABLE_NAME = '${T}_osc_new' AND INDEX_COMMENT LIKE 'osc:%' AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = 'id'")" \
    "osc's index on the merge key of the new table"
swap_u $T $R -1 -2 1500 800000000
swap_u $T $R -3 -4 1500 800010000
osc_bg_wait 120
rc=$OSC_BG_RC
sleep 0.3
stop_mywriter
grep -E "duplicate|error" "$TEST_TMP/b.err" | sed 's/^/#   /' | tail -n 5
assert_eq 0 "$rc" "osc's exit status after the swaps of the new primary key"
grep -q "merging those keys" "$TEST_TMP/b.err" || fail "no merge met the swapped value (the test did not split the transaction)"
my_tables_equal $T $R "id, v, n, extra, pad"
assert_eq "1000003 1000004 1000001 1000002" "$(my_q "SELECT GROUP_CONCAT(u ORDER BY id SEPARATOR ' ') FROM $T WHERE id < 0")" \
    "u of the rows that swapped it"
assert_eq "PRIMARY:u" "$(my_q "SELECT CONCAT(INDEX_NAME, ':', GROUP_CONCAT(COLUMN_NAME)) FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND INDEX_NAME = 'PRIMARY' GROUP BY INDEX_NAME")" "the new primary key"
assert_eq "PRIMARY,${T}_n_idx,${T}_uq" "$(my_q "SELECT GROUP_CONCAT(DISTINCT INDEX_NAME ORDER BY INDEX_NAME)
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T'")" \
    "the new table's indexes (osc's own is gone)"
my_no_osc_leftovers $T

echo "ok"
