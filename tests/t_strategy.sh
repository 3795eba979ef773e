#!/usr/bin/env bash
# --strategy auto picks the least-locking way for each kind of ALTER, on
# PostgreSQL and MariaDB (one script; the ways are each server's own), and
# each is correct under the concurrent mirrored writer (the table equals its
# mirror with the same ALTER, row for row).  An in-place run makes no shadow
# and swaps nothing; the failures leave nothing behind.
#   PostgreSQL:
#   ADD COLUMN with a constant default, DROP COLUMN, SET DEFAULT: in place (no shadow)
#   ADD COLUMN with a volatile default: the shadow copy
#   UNIQUE: CREATE UNIQUE INDEX CONCURRENTLY + ADD CONSTRAINT USING INDEX
#   PRIMARY KEY (on a table keyed by a unique index): the same
#   CHECK and FOREIGN KEY: NOT VALID, then VALIDATE
#   SET NOT NULL: through a validated CHECK
#   Each in-place run has its state row (history; a rerun finds it done) and
#   waits at its start while paused, and the failures leave nothing behind:
#   a UNIQUE over duplicates names a duplicate key, a CHECK the data violates
#   is removed again; a bad ALTER is still bad input (exit 2).
#   MariaDB:
#   ADD COLUMN (with a child table's foreign key on T, and no
#     --alter-foreign-keys-method), SET DEFAULT + DROP COLUMN: ALGORITHM=INSTANT in place
#   ADD INDEX with the replica attached, or named by --replica: the shadow copy
#     (a replica would lag behind a NOCOPY build that osc cannot throttle)
#   ADD INDEX with no replica known: ALGORITHM=NOCOPY in place
#   a UNIQUE over duplicates by NOCOPY: exit 1 naming the key, nothing left
#   a type change INSTANT/NOCOPY refuse: the shadow copy
#   widening a column the table's own foreign key uses: the empty trial copy
#     accepts INSTANT, the table itself refuses it (1832): the shadow copy
#   and --strategy copy still forces the copy.  osc's trial table never stays.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

attached=1
_strat_cleanup() {
    # the MariaDB replica must replicate again for the tests after this one
    [ "$attached" = 1 ] || tests/servers.sh my-replica-attach "$OSC_TEST_DIR" || echo "could not reattach the replica" >&2
    _lib_cleanup
}
trap _strat_cleanup EXIT

pg_strategy() {
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
    # waiting: osc says so (throttled by the pause file), and is still there
    wait_for_text "throttled: the pause file .* exists" 30 "$OSC_ERR" || fail "the in-place run does not say it waits for the pause file"
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
}

my_strategy() {
    OSC_STRATEGY=auto
    T=t_my_strat R=t_my_strat_ref

    # in_place STRATEGY: the log says STRATEGY was used, nothing was copied or swapped
    in_place() {
        grep -q "\"strategy: $1:" "$OSC_ERR" || fail "strategy $1 was not chosen"
        grep -q "applied in place ($1)" "$OSC_ERR" || fail "the ALTER was not applied in place ($1)"
        grep -q '"phase":"copy"' "$OSC_ERR" && fail "strategy $1 copied the table"
        assert_eq 0 "$(my_has_table "${T}_osc_old")" "no ${T}_osc_old (nothing was swapped)"
        no_trial
        my_no_osc_leftovers $T
    }

    # copied REGEX: the copy was chosen for the reason REGEX, and it swapped
    copied() {
        grep -Eq "\"strategy: copy: $1" "$OSC_ERR" || fail "the copy was not chosen because /$1/"
        grep -q '"phase":"copy"' "$OSC_ERR" || fail "nothing was copied"
        assert_eq 1 "$(my_has_table "${T}_osc_old")" "${T}_osc_old (the copy swapped)"
        no_trial
        my_no_osc_leftovers $T
        my_q "DROP TABLE \`${T}_osc_old\`"
    }

    no_trial() {
        assert_eq 0 "$(my_has_table "${T}_osc_try")" "no trial table ${T}_osc_try"
    }

    # alter_both ALTER: osc on T under the writer, then the plain ALTER on R
    alter_both() {
        my_migrate_with_writer int $T $R "$1"
        my_q "ALTER TABLE $R $1" || fail "the mirror refused: $1"
    }

    # ---- INSTANT ------------------------------------------------------------------
    my_fixture int $T $R 25000
    # a child table's foreign key (no rows, so the writer's deletes pass): in
    # place there is no swap, so no --alter-foreign-keys-method is needed
    my_q "DROP TABLE IF EXISTS t_my_strat_child;
          CREATE TABLE t_my_strat_child (id INT PRIMARY KEY, tid INT,
            CONSTRAINT t_my_strat_child_fk FOREIGN KEY (tid) REFERENCES $T (id)) ENGINE=InnoDB" || fail "child table"
    alter_both "ADD COLUMN c INT NOT NULL DEFAULT 7"
    in_place instant
    assert_eq "$T" "$(my_q "SELECT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
                            WHERE CONSTRAINT_SCHEMA = 'osctest' AND CONSTRAINT_NAME = 't_my_strat_child_fk'")" \
        "the child's foreign key still references $T"
    my_q "DROP TABLE t_my_strat_child"
    my_tables_equal $T $R "id, v, n, extra, pad, c"
    my_assert_true "(SELECT COLUMN_DEFAULT = '7' FROM information_schema.COLUMNS
                     WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'c')" "c DEFAULT 7"
    alter_both "ALTER COLUMN c SET DEFAULT 8, DROP COLUMN pad"
    in_place instant
    # (rows the writer inserted between the two ALTERs differ in c by design)
    my_tables_equal $T $R "id, v, n, extra"
    assert_eq 0 "$(my_has_column $T pad)" "pad dropped"
    my_assert_true "(SELECT COLUMN_DEFAULT = '8' FROM information_schema.COLUMNS
                     WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'c')" "c DEFAULT 8"

    # ---- NOCOPY needs no replica ----------------------------------------------------
    alter_both "ADD INDEX t_my_strat_v (v)"
    copied "ALGORITHM=NOCOPY would build online here, but a replica \(127.0.0.1:$OSC_MY_REPLICA_PORT, from SHOW SLAVE HOSTS\)"
    assert_eq 1 "$(my_has_index $T t_my_strat_v)" "index t_my_strat_v"
    my_tables_equal $T $R "id, v, n, extra"

    tests/servers.sh my-replica-detach "$OSC_TEST_DIR" || fail "cannot detach the replica"
    attached=0
    note "the replica is detached: the primary lists none"
    alter_both "ADD INDEX t_my_strat_n2 (n, extra)"
    in_place nocopy
    grep -q 'ALGORITHM=NOCOPY, LOCK=NONE' "$OSC_ERR" || fail "the run did not state ALGORITHM=NOCOPY, LOCK=NONE"
    assert_eq 1 "$(my_has_index $T t_my_strat_n2)" "index t_my_strat_n2"
    my_tables_equal $T $R "id, v, n, extra"
    alter_both "DROP INDEX t_my_strat_n2"
    in_place nocopy
    assert_eq 0 "$(my_has_index $T t_my_strat_n2)" "index t_my_strat_n2 dropped"

    # a UNIQUE over duplicates: the online build fails naming the key; nothing changes
    # (the writer has deleted and moved rows: the first two ids there are, in both)
    my_q "UPDATE $T SET extra = 77 ORDER BY id LIMIT 2; UPDATE $R SET extra = 77 ORDER BY id LIMIT 2" || fail "duplicates"
    n77=$(my_q "SELECT COUNT(*) FROM $T WHERE extra = 77")
    [ "$n77" -ge 2 ] || fail "no duplicates to test with ($n77 rows with extra = 77)"
    before=$(my_q "SHOW CREATE TABLE $T")
    run_osc_my --table $T --alter "ADD UNIQUE KEY uq_extra (extra)"
    [ "$OSC_RC" = 1 ] || fail "the UNIQUE over duplicates exited $OSC_RC, expected 1"
    grep -q '"strategy: nocopy:' "$OSC_ERR" || fail "the UNIQUE did not go by NOCOPY"
    # (77 twice, and 0 in every row the writer inserted)
    grep -Eq "Duplicate entry '(77|0)' for key 'uq_extra'" "$OSC_ERR" || fail "the message does not name a duplicate of uq_extra"
    grep -q 'nothing was changed, no row was dropped' "$OSC_ERR" || fail "the message does not say nothing changed"
    assert_eq "$before" "$(my_q "SHOW CREATE TABLE $T")" "the table after the failed UNIQUE"
    assert_eq "$n77" "$(my_q "SELECT COUNT(*) FROM $T WHERE extra = 77")" "the duplicate rows"
    my_tables_equal $T $R "id, v, n, extra"
    no_trial
    my_no_osc_leftovers $T

    tests/servers.sh my-replica-attach "$OSC_TEST_DIR" || fail "cannot reattach the replica"
    attached=1

    # a --replica given is a replica known (it comes first in the reason)
    run_osc_my --table $T --alter "ADD INDEX t_my_strat_x (extra)" --replica "$OSC_MY_REPLICA_URL"
    [ "$OSC_RC" = 0 ] || fail "osc with --replica exited $OSC_RC"
    copied "ALGORITHM=NOCOPY would build online here, but a replica \(127.0.0.1:$OSC_MY_REPLICA_PORT, from --replica\)"
    my_q "ALTER TABLE $R ADD INDEX t_my_strat_x (extra)"

    # ---- what INSTANT and NOCOPY refuse goes to the copy --------------------------------
    alter_both "MODIFY n BIGINT"
    copied "the server does it only by copying the table \(ALGORITHM=NOCOPY is not supported"
    my_tables_equal $T $R "id, v, n, extra"
    my_assert_true "(SELECT DATA_TYPE = 'bigint' FROM information_schema.COLUMNS
                     WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'n')" "n is BIGINT"

    # --strategy copy forces it
    OSC_STRATEGY=copy alter_both "ADD COLUMN d INT"
    copied "--strategy copy"
    my_tables_equal $T $R "id, v, n, extra, d"

    # the table's own foreign key on pad (the writer never writes pad): the empty
    # trial copy has no foreign key and takes INSTANT, the table refuses it
    my_fixture int $T $R 20000
    my_q "DROP TABLE IF EXISTS t_my_strat_pads;
          CREATE TABLE t_my_strat_pads (p VARCHAR(200) PRIMARY KEY) ENGINE=InnoDB;
          INSERT INTO t_my_strat_pads SELECT DISTINCT pad FROM $T;
          ALTER TABLE $T ADD CONSTRAINT t_my_strat_pad_fk FOREIGN KEY (pad) REFERENCES t_my_strat_pads (p)" \
        || fail "the foreign key on pad"
    alter_both "MODIFY pad VARCHAR(250)"
    copied "the server refused ALGORITHM=INSTANT on the table itself \(Cannot change column 'pad'"
    my_tables_equal $T $R "id, v, n, extra, pad"
    my_assert_true "(SELECT CHARACTER_MAXIMUM_LENGTH = 250 FROM information_schema.COLUMNS
                     WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'pad')" "pad is VARCHAR(250)"
    assert_eq 1 "$(my_q "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
                         WHERE CONSTRAINT_SCHEMA = 'osctest' AND TABLE_NAME = '$T'")" "the foreign key of the new $T"
    my_q "DROP TABLE $T, t_my_strat_pads"
}

strategy_test() { "${ENGINE}_strategy"; }
for_each_engine strategy_test
echo ok
