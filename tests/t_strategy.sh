#!/usr/bin/env bash
# --strategy auto picks the least-locking way for each kind of ALTER, and each
# is correct under the concurrent mirrored writer (the table equals its mirror
# with the same ALTER, row for row):
#   ADD COLUMN with a constant default, DROP COLUMN, SET DEFAULT: in place (no shadow)
#   ADD COLUMN with a volatile default: the shadow copy
#   UNIQUE: CREATE UNIQUE INDEX CONCURRENTLY + ADD CONSTRAINT USING INDEX
#   PRIMARY KEY (on a table keyed by a unique index): the same
#   CHECK and FOREIGN KEY: NOT VALID, then VALIDATE
#   SET NOT NULL: through a validated CHECK
# Each in-place run has its state row (history; a rerun finds it done) and
# waits at its start while paused, and
# the failures leave nothing behind: a UNIQUE over duplicates names a
# duplicate key, a CHECK the data violates is removed again.
. "$(dirname "$0")/lib.sh"
need_osc
OSC_STRATEGY=auto
T=t_strat R=t_strat_ref
COLS="id, v, n, extra, pad"

# in_place STRATEGY: the log says the strategy was STRATEGY and no shadow was made
in_place() {
    grep -q "\"strategy: $1:" "$OSC_ERR" || fail "strategy $1 was not chosen"
    grep -q '"phase":"copy"' "$OSC_ERR" && fail "strategy $1 copied the table"
    assert_true "to_regclass('_${T}_osc_old') IS NULL" "no _${T}_osc_old (nothing was swapped)"
    no_osc_leftovers $T
}

# alter_both ALTER [REF_ALTER]: osc on T under the writer, then the plain ALTER
# (or REF_ALTER, when names must differ: index names are per schema) on R
alter_both() {
    local alter=$1 ref=${2:-$1}
    migrate_with_writer int $T $R "$alter"
    psql_q "ALTER TABLE $R $ref" || fail "the mirror refused: $ref"
}

osc_state_forget $T          # a rerun against the same servers starts afresh
fixture int $T $R 50000
alter_both "ADD COLUMN c int NOT NULL DEFAULT 7"
in_place direct
tables_equal $T $R "$COLS, c"
# an in-place run is in the history, and the same command again (cron) finds
# it done instead of failing on "column already exists"
assert_eq "done/done" "$(psql_q "SELECT phase || '/' || outcome FROM osc.migrations
                                 WHERE table_name = '$T' AND alter_spec = 'ADD COLUMN c int NOT NULL DEFAULT 7'")" \
    "the in-place run's state row"
expect_osc 0 --table $T --alter "ADD COLUMN c int NOT NULL DEFAULT 7"
grep -q '"already done: this migration' "$OSC_ERR" || fail "a rerun of an in-place ALTER did not find it done"
# an in-place run waits at its start while the pause file is there
PAUSE=$(mktemp /tmp/osc-pause.XXXXXX)
osc_bg "$OSC_OUT" "$OSC_ERR" --table $T --alter "ADD COLUMN paused int" --pause-file "$PAUSE"
sleep 2
kill -0 "$OSC_BG_PID" 2>/dev/null || fail "the in-place run did not wait for the pause file"
assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'paused')" \
    "nothing applied while paused"
rm -f "$PAUSE"
osc_bg_wait 30
[ "$OSC_BG_RC" = 0 ] || fail "the in-place run exited $OSC_BG_RC after the pause file went"
assert_true "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'paused')" \
    "applied once the pause file went"
psql_q "ALTER TABLE $T DROP COLUMN paused"
alter_both "ALTER COLUMN c SET DEFAULT 8, DROP COLUMN pad"
in_place direct
# (rows the writer inserted after the swap of defaults differ in c by design)
tables_equal $T $R "id, v, n, extra"
assert_eq 8 "$(psql_q "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef d JOIN pg_attribute a
                       ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                       WHERE d.adrelid = '$T'::regclass AND a.attname = 'c'")" "default of c"

# a volatile default must be evaluated per row: the copy
alter_both "ADD COLUMN r float8 DEFAULT 0.5 + 0 * random()"
grep -q '"strategy: copy: the ALTER rewrites the table' "$OSC_ERR" || fail "a volatile default did not pick the copy"
assert_true "to_regclass('_${T}_osc_old') IS NOT NULL" "the copy swapped"
tables_equal $T $R "id, v, n, extra, r"

fixture int $T $R 50000
alter_both "ADD CONSTRAINT t_strat_id_n_key UNIQUE (id, n)" "ADD UNIQUE (id, n)"
in_place unique-index
grep -q 'building the unique index t_strat_id_n_key concurrently' "$OSC_ERR" || fail "no concurrent index build"
assert_true "(SELECT contype = 'u' AND convalidated FROM pg_constraint WHERE conname = 't_strat_id_n_key')" "the UNIQUE constraint"
assert_true "(SELECT indisvalid FROM pg_index WHERE indexrelid = 't_strat_id_n_key'::regclass)" "its index is valid"

psql_q "SET client_min_messages = warning; DROP TABLE IF EXISTS t_strat_parent; CREATE TABLE t_strat_parent (id int PRIMARY KEY);
        INSERT INTO t_strat_parent SELECT generate_series(0, 999)"
alter_both "ADD CONSTRAINT t_strat_chk CHECK (extra >= 0)" "ADD CONSTRAINT t_sref_chk CHECK (extra >= 0)"
in_place not-valid
assert_true "(SELECT convalidated FROM pg_constraint WHERE conname = 't_strat_chk')" "the CHECK is validated"
alter_both "ADD FOREIGN KEY (n) REFERENCES t_strat_parent (id)"
in_place not-valid
assert_true "(SELECT convalidated FROM pg_constraint WHERE conrelid = '$T'::regclass AND contype = 'f')" "the FOREIGN KEY is validated"
psql_q "ALTER TABLE $T ALTER COLUMN extra DROP NOT NULL; ALTER TABLE $R ALTER COLUMN extra DROP NOT NULL"
alter_both "ALTER COLUMN extra SET NOT NULL"
in_place not-null
assert_true "(SELECT attnotnull FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'extra')" "extra is NOT NULL"
assert_true "NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname LIKE '%osc_not_null%')" "the helper CHECK is gone"
tables_equal $T $R "$COLS"

# PRIMARY KEY on a table keyed by a unique index over a NOT NULL column
fixture int $T $R 50000
psql_q "ALTER TABLE $T DROP CONSTRAINT t_strat_pkey; CREATE UNIQUE INDEX t_strat_id_uq ON $T (id)"
migrate_with_writer int $T $R "ADD PRIMARY KEY (id)"
in_place unique-index
assert_eq t_strat_pkey "$(pk_index_of $T)" "the new primary key's index"
tables_equal $T $R "$COLS"

# failures: nothing lost, nothing left behind
fixture int $T $R 50000
psql_q "UPDATE $T SET extra = 77 WHERE id = 500; UPDATE $R SET extra = 77 WHERE id = 500"
# fails_cleanly ALTER REGEX...: osc exits 1 under the writer, the log matches
# each REGEX, the table still equals its mirror
fails_cleanly() {
    local alter=$1 rc
    shift
    start_writer int $T $R
    sleep 0.5
    run_osc --table $T --alter "$alter"
    rc=$OSC_RC
    sleep 0.5
    stop_writer
    [ "$rc" = 1 ] || fail "'$alter' exited $rc, expected 1"
    for re in "$@"; do
        grep -qE -- "$re" "$OSC_ERR" || fail "'$alter': the message lacks /$re/"
    done
    tables_equal $T $R "$COLS"
}
fails_cleanly "ADD CONSTRAINT t_strat_extra_key UNIQUE (extra)" 'Key \(extra\)=\([0-9]*\) is duplicated' \
    'no row was dropped'
assert_true "to_regclass('t_strat_extra_key') IS NULL" "the invalid index was dropped"
fails_cleanly "ADD CONSTRAINT t_strat_no77 CHECK (extra <> 77)" 'violated by some row' \
    'the constraint osc added was removed again'
assert_true "NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 't_strat_no77')" "the CHECK was removed"
assert_eq "in-place/failed" "$(psql_q "SELECT phase || '/' || outcome FROM osc.migrations
                                       WHERE table_name = '$T' ORDER BY id DESC LIMIT 1")" "the failed run's state row"
no_osc_leftovers $T
# a bad ALTER is still bad input (exit 2), judged by the shadow copy
expect_osc 2 --table $T --alter "ADD COLUMN"
expect_osc 2 --table $T --alter "ADD COLUMN q no_such_type"
expect_osc 2 --table $T --alter "RENAME TO t_strat_other"
grep -q 'renames the table' "$OSC_ERR" || fail "a table rename is not refused with its reason"
echo ok
