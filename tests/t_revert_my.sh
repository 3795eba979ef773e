#!/usr/bin/env bash
# MariaDB: --revertible, `osc revert` and `osc finish` (issue 19;
# src/my/my_revert.c):
#   a. under the mirrored writer: a --revertible migration, ten seconds of
#      writes to the new table, `osc revert`, more writes: the table equals
#      the mirror row for row, has its old definition again (SHOW CREATE
#      TABLE, its user triggers, which fired once per write throughout),
#      and no osc object is left but the new-schema table T_osc_rev;
#   b. a value that cannot go back (n = 3000000000 after MODIFY n BIGINT,
#      with a column renamed, which goes back to its name):
#      `osc revert` refuses, exit 2, naming the row; the table keeps its new
#      definition, serves, and stays revertible; once the value fits, the
#      revert goes through;
#   c. `osc finish` leaves no osc object (but the original, which
#      --drop-old-table drops too); while the migration is revertible a new
#      one (in place too) and `osc cleanup` are refused, nothing changed;
#   d. osc revert killed (SIGKILL) while its replay waits, under its swap's
#      lock (after T's triggers moved to the original; after the sentry
#      went, its RENAME ended first), right after its RENAME (the catalog
#      says it swapped) and after the swap back (the row says so): T always
#      resolves to a complete table the application writes at once, and a
#      rerun of `osc revert` finishes (one table and one writer for all the
#      rounds, a --revertible migration each: the swaps back leave
#      T_osc_rev, T_osc_rev_2, ...); and the --revertible migration's own
#      swap killed once its reverse capture is on the shadow: the rerun
#      takes it off and swaps, revertible;
#   e. bad input, exit 2, nothing changed: a revert or a finish of a table
#      without a revertible migration; --revertible with an ALTER that drops
#      a NOT NULL column without a default, or changes the key.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
COLS="id, v, n, extra, pad"
ALTER="ADD COLUMN bio TEXT, MODIFY n BIGINT"
trap 'my_replica_q "START SLAVE SQL_THREAD" >/dev/null 2>&1; _lib_cleanup' EXIT

# setup T R [ROWS]: the fixture, a user trigger on both that audits each write
setup() {
    local t=$1 r=$2 rows=${3:-2000} x old="" i
    for i in 2 3 4 5 6 7 8 9; do old+=", ${t}_osc_rev_$i"; done
    my_q "DROP TABLE IF EXISTS ${t}_osc_old, ${t}_osc_rev$old, ${t}_osc_rlog, ${t}_osc_hb" \
        || fail "setup: old tables of $t"
    my_fixture int "$t" "$r" "$rows"
    for x in "$t" "$r"; do
        my_q "
            DROP TABLE IF EXISTS ${x}_audit;
            CREATE TABLE ${x}_audit (ev CHAR(1) NOT NULL, old_id INT, new_id INT) ENGINE=InnoDB;
            CREATE TRIGGER ${x}_ai AFTER INSERT ON $x FOR EACH ROW INSERT INTO ${x}_audit VALUES ('i', NULL, NEW.id);
            CREATE TRIGGER ${x}_au AFTER UPDATE ON $x FOR EACH ROW INSERT INTO ${x}_audit VALUES ('u', OLD.id, NEW.id);
            CREATE TRIGGER ${x}_ad AFTER DELETE ON $x FOR EACH ROW INSERT INTO ${x}_audit VALUES ('d', OLD.id, NULL);
        " || fail "setup of the triggers on $x"
    done
}

# create_of T: SHOW CREATE TABLE, T's name left out
create_of() { my_q "SHOW CREATE TABLE $(my_qi "$1")" | cut -f2- | sed "s/\`$1\`/\`T\`/g"; }

# definition T: SHOW CREATE TABLE and the triggers on T
definition() {
    create_of "$1"
    my_q "SELECT CONCAT_WS(' ', TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, ACTION_STATEMENT)
          FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'osctest' AND EVENT_OBJECT_TABLE = $(my_ql "$1")
          ORDER BY TRIGGER_NAME"
}

# osc_objects T: the tables and triggers under osc's names for T, sorted
osc_objects() {
    my_q "SELECT COALESCE(GROUP_CONCAT(n ORDER BY BINARY n), '') FROM (
            SELECT TABLE_NAME n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest'
              AND LEFT(TABLE_NAME, $((${#1} + 5))) = $(my_ql "${1}_osc_")
            UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME) FROM information_schema.TRIGGERS
              WHERE TRIGGER_SCHEMA = 'osctest' AND LEFT(TRIGGER_NAME, $((${#1} + 5))) = $(my_ql "${1}_osc_")) x"
}

# revert_of T: the revert column of T's newest state row
revert_of() { my_q "SELECT IFNULL(revert, 'NULL') FROM _osc_migrations WHERE table_name = $(my_ql "$1") ORDER BY id DESC LIMIT 1"; }

# audits_equal T R: the user's triggers fired once per write on both
audits_equal() { my_tables_equal "${1}_audit" "${2}_audit" "ev, old_id, new_id"; }

# mirrored_write T R K: one transaction on each, at once after a kill
mirrored_write() {
    local out
    out=$(my_q "START TRANSACTION; INSERT INTO $1 (id, n) VALUES ($3, 1); INSERT INTO $2 (id, n) VALUES ($3, 1); COMMIT;
                START TRANSACTION; UPDATE $1 SET n = 2 WHERE id = $3; UPDATE $2 SET n = 2 WHERE id = $3; COMMIT" 2>&1) \
        || fail "the application cannot write $1: $out"
}

# kill_rename: end the swap's second connection (its RENAME queued behind
# osc's lock) before osc dies, so that the server never runs it
kill_rename() {
    local id
    id=$(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%' AND ID <> CONNECTION_ID()")
    [ -n "$id" ] || fail "no RENAME queued behind osc's lock"
    my_q "KILL $id"
}

# forward T: the --revertible migration, which must leave T revertible
forward() {
    local t=$1
    shift
    expect_osc_my 0 --table "$t" --alter "$@" --revertible
    assert_eq revertible "$(revert_of "$t")" "the state row of $t after a --revertible migration"
    assert_eq "${t}_osc_old,${t}_osc_rlog,trigger ${t}_osc_rdel,trigger ${t}_osc_rins,trigger ${t}_osc_rupd" \
        "$(osc_objects "$t")" "osc's objects of $t while revertible"
}

# ---- a. under the mirrored writer -------------------------------------------------
note "---- a. migrate, write, revert, write ----"
T=t_rv_a R=t_rv_a_ref
setup $T $R 2000
before=$(definition $T)
create=$(create_of $T)
start_mywriter int $T $R
forward $T "$ALTER"
assert_eq 1 "$(my_has_column $T bio)" "$T has the new column"
my_assert_true "(SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'osctest'
                 AND TABLE_NAME = '$T' AND COLUMN_NAME = 'n') = 'bigint'" "$T.n is a bigint"
# the original, kept, has its old definition; its triggers went with the swap
assert_eq "$create" "$(create_of ${T}_osc_old)" "the definition of ${T}_osc_old"
assert_eq "$create" "$(definition ${T}_osc_old)" "the triggers on ${T}_osc_old"
sleep 10 # the application writes to the new table; each write is logged for the revert
backlog=$(my_q "SELECT COUNT(*) FROM ${T}_osc_rlog")
[ "$backlog" -gt 0 ] || fail "no change was logged for the revert"
note "$backlog changes logged since the swap"
run_osc_my revert --table $T
rc=$OSC_RC
sleep 1 # and to the table the revert brought back
stop_mywriter
[ "$rc" = 0 ] || fail "osc revert exited $rc"
mx=$(writer_stat max_ms)
note "the writer's longest transaction across the swap and the revert: ${mx} ms"
awk -v m="$mx" -v lim="${WRITER_MAX_MS:-3000}" 'BEGIN { exit !(m + 0 <= lim + 0) }' \
    || fail "a writer transaction took ${mx} ms (limit ${WRITER_MAX_MS:-3000} ms)"
grep -q "reverted: osctest.$T has its definition from before" "$OSC_ERR" || fail "osc revert does not say it reverted"
my_tables_equal $T $R "*"
assert_eq "$before" "$(definition $T)" "the definition of $T after the revert"
audits_equal $T $R
assert_eq "${T}_osc_rev" "$(osc_objects $T)" "osc's objects after the revert"
assert_eq reverted "$(revert_of $T)" "the state row after the revert"
assert_eq "done" "$(my_q "SELECT outcome FROM _osc_migrations WHERE table_name = '$T' ORDER BY id DESC LIMIT 1")" \
    "the forward migration's outcome after the revert"
assert_eq 1 "$(my_has_column ${T}_osc_rev bio)" "${T}_osc_rev is the new-schema table"

# ---- b. a value that cannot go back -----------------------------------------------
note "---- b. a refused revert ----"
T=t_rv_b R=t_rv_b_ref
setup $T $R
before=$(definition $T)
forward $T "MODIFY n BIGINT, CHANGE v v2 VARCHAR(64)"
after=$(definition $T)
my_q "UPDATE $T SET n = 3000000000 WHERE id = 42; UPDATE $T SET v2 = 'w' WHERE id BETWEEN 100 AND 110;
      UPDATE $R SET v = 'w' WHERE id BETWEEN 100 AND 110" || fail "writes to $T"
expect_osc_my 2 revert --table $T
grep -q "revert refused: the row (id)=(42) cannot go back to the original: Out of range value for column 'n'" "$OSC_ERR" \
    || fail "the refusal does not name the row"
assert_eq "$after" "$(definition $T)" "$T after the refused revert"
mirrored_write $T $R 900001
assert_eq revertible "$(revert_of $T)" "the state row after the refused revert"
assert_eq "${T}_osc_old,${T}_osc_rlog,trigger ${T}_osc_rdel,trigger ${T}_osc_rins,trigger ${T}_osc_rupd" \
    "$(osc_objects $T)" "osc's objects after the refused revert"
my_q "UPDATE $T SET n = 42 WHERE id = 42" || fail "the fix of row 42"
expect_osc_my 0 revert --table $T
assert_eq "$before" "$(definition $T)" "the definition of $T after the second revert"
my_tables_equal $T $R "*"
assert_eq "${T}_osc_rev" "$(osc_objects $T)" "osc's objects after the revert"

# ---- c. osc finish; what a revertible migration refuses ---------------------------
note "---- c. osc finish ----"
T=t_rv_c R=t_rv_c_ref
setup $T $R
forward $T "ADD COLUMN bio TEXT"
my_q "UPDATE $T SET bio = 'b' WHERE id < 10" || fail "writes to $T"
snap=$(my_schema_snapshot)
expect_osc_my 2 --table $T --alter "ADD COLUMN z INT"
grep -q "has a revertible migration (\`ADD COLUMN bio TEXT\`): \`osc revert --table $T\` or \`osc finish --table $T\` first" \
    "$OSC_ERR" || fail "a new migration is not refused for the revertible one"
OSC_STRATEGY=auto expect_osc_my 2 --table $T --alter "ADD COLUMN z INT"
expect_osc_my 2 plan --table $T --alter "ADD COLUMN z INT"
expect_osc_my 2 cleanup --table $T
grep -q "has a revertible migration" "$OSC_ERR" || fail "osc cleanup is not refused for the revertible migration"
assert_eq "$snap" "$(my_schema_snapshot)" "the schema after the refusals"
expect_osc_my 0 finish --table $T
assert_eq "${T}_osc_old" "$(osc_objects $T)" "osc's objects after osc finish"
assert_eq finished "$(revert_of $T)" "the state row after osc finish"
assert_eq 1 "$(my_has_column $T bio)" "$T keeps its new definition"
expect_osc_my 2 revert --table $T
grep -q "has no revertible migration (its last --revertible migration was finished)" "$OSC_ERR" \
    || fail "a revert after osc finish is not refused"
T=t_rv_c2 R=t_rv_c2_ref
setup $T $R
forward $T "ADD COLUMN bio TEXT"
expect_osc_my 0 finish --table $T --drop-old-table
assert_eq "" "$(osc_objects $T)" "osc's objects after osc finish --drop-old-table"
my_tables_equal $T $R "$COLS"

# ---- d. osc revert killed ------------------------------------------------------------
# One table, one writer throughout: each round a --revertible migration,
# then its revert killed at one point and run again; the new-schema tables
# the swaps back take out pile up as T_osc_rev, T_osc_rev_2, ...
T=t_rv_k R=t_rv_k_ref
setup $T $R 1000
before=$(definition $T)
revs=""
start_mywriter int $T $R
round=0 rev=0
for step in replay swap-triggers-moved swap-sentry-dropped:norename swap-renamed revert-committed \
            swap-triggers-moved:forward; do
    round=$((round + 1))
    IFS=: read -r point how <<<"$step"
    note "---- d. killed: $point ${how:-} ----"
    if [ "${how:-}" = forward ]; then
        # the --revertible migration's own swap, killed after the reverse
        # capture went on the shadow: the rerun takes it off and swaps
        base=$(my_sessions)
        OSC_FAULT=$point:$TEST_TMP/never osc_bg_my "$TEST_TMP/k.out" "$TEST_TMP/k.err" --table $T --alter "$ALTER" \
            --revertible
        wait_for_text "fault injection: waiting at $point" 60 "$TEST_TMP/k.err" \
            || { tail -n 20 "$TEST_TMP/k.err" >&2; fail "osc never reached $point"; }
        kill -KILL "$OSC_BG_PID"
        wait "$OSC_BG_PID" 2>/dev/null
        my_wait_sessions_at_most "$base"
        assert_eq 0 "$(my_has_column $T bio)" "$T is the original after a kill at $point"
        mirrored_write $T $R $((900000000 + round))
        expect_osc_my 0 --table $T --alter "$ALTER" --revertible
        grep -q "resuming the migration" "$OSC_ERR" || fail "the rerun did not resume"
        assert_eq revertible "$(revert_of $T)" "the state row after the rerun"
        assert_eq "" "$(my_q "SELECT COALESCE(GROUP_CONCAT(TRIGGER_NAME), '') FROM information_schema.TRIGGERS
                              WHERE TRIGGER_SCHEMA = 'osctest' AND EVENT_OBJECT_TABLE = '${T}_osc_old'")" \
            "triggers on the original after the rerun"
        sleep 0.5
        expect_osc_my 0 revert --table $T
    else
        expect_osc_my 0 --table $T --alter "$ALTER" --revertible
        assert_eq revertible "$(revert_of $T)" "the state row of $T after a --revertible migration"
        sleep 0.5 # writes for the revert to replay
        base=$(my_sessions)
        if [ "$point" = replay ]; then
            # the replica stops applying: the revert's replay waits for its lag
            my_replica_q "STOP SLAVE SQL_THREAD" || fail "STOP SLAVE SQL_THREAD"
            osc_bg_my "$TEST_TMP/k.out" "$TEST_TMP/k.err" revert --table $T
            wait_for_text 'replaying the changes made since the swap' 30 "$TEST_TMP/k.err" \
                || { tail -n 20 "$TEST_TMP/k.err" >&2; fail "the revert never reached its replay"; }
            wait_for_text 'throttled' 30 "$TEST_TMP/k.err" || fail "the revert's replay never waited"
        else
            OSC_FAULT=$point:$TEST_TMP/never osc_bg_my "$TEST_TMP/k.out" "$TEST_TMP/k.err" revert --table $T
            wait_for_text "fault injection: waiting at $point" 60 "$TEST_TMP/k.err" \
                || { tail -n 20 "$TEST_TMP/k.err" >&2; fail "osc revert never reached $point"; }
        fi
        [ "${how:-}" = norename ] && kill_rename
        kill -KILL "$OSC_BG_PID"
        wait "$OSC_BG_PID" 2>/dev/null
        my_wait_sessions_at_most "$base"
        [ "$point" = replay ] && { my_replica_q "START SLAVE SQL_THREAD" || fail "START SLAVE SQL_THREAD"; }
        swapped=$((1 - $(my_has_column $T bio)))
        # past the RENAME T is the original; before it (its RENAME ended
        # first, at the sentry's drop) the new table
        case $point in
        swap-renamed | revert-committed) assert_eq 1 "$swapped" "$T is the original after a kill at $point" ;;
        *) assert_eq 0 "$swapped" "$T is the new table after a kill at $point" ;;
        esac
        mirrored_write $T $R $((900000000 + round))
        run_osc_my revert --table $T
        [ "$OSC_RC" = 0 ] || fail "the rerun of osc revert after a kill at $point exited $OSC_RC"
        if [ "$swapped" = 1 ]; then
            grep -q "the revert's swap had committed before osc stopped" "$OSC_ERR" \
                || fail "the rerun does not say the swap back had committed"
        fi
    fi
    my_tables_equal $T $R "*"
    assert_eq "$before" "$(definition $T)" "the definition of $T after the rerun"
    rev=$((rev + 1))
    revs="$revs${revs:+,}${T}_osc_rev$([ $rev -gt 1 ] && echo _$rev)"
    assert_eq "$revs" "$(osc_objects $T)" "osc's objects after the rerun"
    assert_eq reverted "$(revert_of $T)" "the state row after the rerun"
done
stop_mywriter
my_tables_equal $T $R "*"

# ---- e. bad input ---------------------------------------------------------------------
note "---- e. bad input ----"
T=t_rv_e R=t_rv_e_ref
setup $T $R 500
my_q "ALTER TABLE $T ADD COLUMN req INT NOT NULL, ADD COLUMN opt INT NOT NULL DEFAULT 3" || fail "the columns of $T"
snap=$(my_schema_snapshot)
rows=$(my_q "SELECT COUNT(*) FROM _osc_migrations WHERE table_name = '$T'")
expect_osc_my 2 revert --table $T
grep -q "osctest.$T has no revertible migration" "$OSC_ERR" || fail "osc revert without a revertible migration"
expect_osc_my 2 finish --table $T
grep -q "osctest.$T has no revertible migration" "$OSC_ERR" || fail "osc finish without a revertible migration"
expect_osc_my 2 --table $T --alter "DROP COLUMN req" --revertible
grep -q -- "--revertible: the ALTER drops column req, which is NOT NULL without a default" "$OSC_ERR" \
    || fail "a dropped NOT NULL column without a default is not refused"
expect_osc_my 2 --table $T --alter "MODIFY id BIGINT" --revertible
grep -q -- "--revertible: the ALTER changes key column id" "$OSC_ERR" || fail "a changed key is not refused"
assert_eq "$snap" "$(my_schema_snapshot)" "the schema after the refusals"
assert_eq "$rows" "$(my_q "SELECT COUNT(*) FROM _osc_migrations WHERE table_name = '$T'")" "state rows of $T"
assert_eq "" "$(osc_objects $T)" "osc's objects of $T after the refusals"
# a dropped column with a default, or nullable, has an inverse: the rows
# written since the swap get its default, or NULL; the others keep theirs
my_q "UPDATE $T SET opt = 4 WHERE id <= 20" || fail "opt of $T"
forward $T "DROP COLUMN opt, DROP COLUMN pad"
my_q "UPDATE $T SET v = 'w' WHERE id <= 10; INSERT INTO $T (id, v, n, extra, req) VALUES (900, 'x', 1, 1, 1)" \
    || fail "writes to $T"
expect_osc_my 0 revert --table $T
assert_eq "3 0" "$(my_q "SELECT GROUP_CONCAT(DISTINCT opt), COUNT(pad) FROM $T WHERE id <= 10 OR id = 900" | tr '\t' ' ')" \
    "the dropped columns of the rows written since the swap"
assert_eq "4 10" "$(my_q "SELECT GROUP_CONCAT(DISTINCT opt), COUNT(pad) FROM $T WHERE id BETWEEN 11 AND 20" | tr '\t' ' ')" \
    "the dropped columns of the rows not written since the swap"
echo "ok"
