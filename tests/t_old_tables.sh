#!/usr/bin/env bash
# Runs that follow runs (a nightly cron job): every migration of one table
# keeps its old table, and the next one does not refuse for it.  On
# PostgreSQL and MariaDB (one body), under the mirrored writer throughout:
#  1. run 1 keeps the original as T_osc_old (PostgreSQL: _T_osc_old, its
#     indexes, identity sequence and statistics as _<name>_osc_old);
#  2. run 2 finds those names held by run 1's old table and keeps its
#     original as T_osc_old_2, every derived name with the same suffix;
#  3. run 3 is killed holding the swap's lock (swap-locked): the rerun
#     finishes with the names the killed run chose (_osc_old_3);
#  4. run 4 is killed past the swap (PostgreSQL: swap-committed, its state
#     row says swapped; MariaDB: swap-renamed, the RENAME committed and the
#     row does not say so yet): the rerun finds T_osc_old_4 and finishes;
#  5. run 5 is killed at the swap, then `osc cleanup`: it removes run 5's
#     objects (MariaDB: its sentry T_osc_old_5) and leaves every old table of
#     runs 1-4 as it was.
# The table ends equal to the mirror row for row; each old table keeps the
# rows it had right after its swap (count and checksum), and on PostgreSQL
# each old table's indexes, sequence and statistics carry its own suffix.
#  6. A user's table under the next name is refused (exit 2, nothing changed).
#  7. run 6 is killed past the swap, and its rerun with --drop-old-table
#     drops the old table the killed run chose (T_osc_old_5), and only it.
#  9. The bound: with T_osc_old to T_osc_old_100 all kept by earlier runs
#     (their state rows say so), the run refuses (exit 2, nothing changed).
# osc history and osc status name each finished migration's old table (text
# and JSON), the long name's included.
#  8. A table name at the longest osc takes (PostgreSQL 63 bytes, MariaDB 56:
#     the RENAME must queue on T first, so every old name starts with T's
#     whole name): two runs, two old tables, distinct names (PostgreSQL cuts
#     and hashes; MariaDB's second is T_osc_2).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
COLS="id, v, n, extra, pad"

old_name() { e_pick "_${1}_osc_old${2}" "${1}_osc_old${2}"; }
# a fingerprint of a table's rows: count and a sum of row hashes
rows_print() {
    e_q "$(e_pick "SELECT count(*) || '/' || coalesce(sum(hashtext(concat_ws(':', id, v, n, extra)))::text, '') FROM $(qi "$1")" \
                  "SELECT CONCAT(COUNT(*), '/', IFNULL(SUM(CRC32(CONCAT_WS(':', id, v, n, extra))), '')) FROM $(my_qi "$1")")"
}

# status_old T: the old table `osc status` names for T's latest migration (JSON)
status_old() {
    e_expect_osc 0 status --table "$1" --log-format json >&2
    python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"id\"")]
print(rows[-1].get("old_table") or "" if rows else "no row")' "$OSC_OUT"
}

# kill_at T POINT ALTER: osc on T sleeping at POINT, SIGKILLed there.  Each
# kill has files of its own: the shell opens a background job's redirections
# after it returns, so a file of an earlier kill would still say "fault
# injection" when the loop first looks.
KILLS=0
kill_at() {
    local t=$1 point=$2 alter=$3 i out err
    KILLS=$((KILLS + 1))
    out=$TEST_TMP/$t.k$KILLS.out err=$TEST_TMP/$t.k$KILLS.err
    OSC_FAULT=$point:3000 e_osc_bg "$out" "$err" --table "$t" --alter "$alter"
    for ((i = 0; i < 600; i++)); do
        grep -qs "fault injection" "$out" "$err" && break
        kill -0 "$OSC_BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    grep -qs "fault injection" "$out" "$err" || {
        kill -KILL "$OSC_BG_PID" 2>/dev/null; wait "$OSC_BG_PID" 2>/dev/null
        tail -n 20 "$out" "$err" >&2; e_stop_writer
        fail "osc with OSC_FAULT=$point never reached it"
    }
    osc_bg_kill KILL || { e_stop_writer; fail "osc exited before the SIGKILL"; }
    e_wait_sessions_at_most 1
    note "osc killed at $point"
}

# check_old T N SUFFIX: the old table of run N exists under SUFFIX with the
# rows it had after its swap
declare -A PRINT
check_old() {
    local t=$1 n=$2 sfx=$3 old
    old=$(old_name "$t" "$sfx")
    assert_eq 1 "$(e_has_table "$old")" "run $n's old table $old"
    if [ -z "${PRINT[$n]:-}" ]; then
        PRINT[$n]=$(rows_print "$old")
        note "run $n's old table $old: ${PRINT[$n]} (rows/hash)"
        [ "${PRINT[$n]%%/*}" -gt 0 ] || fail "run $n's old table $old is empty"
    else
        assert_eq "${PRINT[$n]}" "$(rows_print "$old")" "the rows of run $n's old table $old"
    fi
    [ "$ENGINE" = pg ] || return 0
    # every name that stepped aside with it carries the same suffix
    assert_eq "_${t}_n_idx_osc_old$sfx,_${t}_pkey_osc_old$sfx" \
        "$(psql_q "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) FROM pg_index
                   WHERE indrelid = $(ql "$old")::regclass")" "indexes of $old"
    assert_eq "public._${t}_s_seq_osc_old$sfx" \
        "$(psql_q "SELECT pg_get_serial_sequence($(ql "$old"), 's')")" "identity sequence of $old"
    assert_eq "_${t}_st_osc_old$sfx" \
        "$(psql_q "SELECT stxname FROM pg_statistic_ext WHERE stxrelid = $(ql "$old")::regclass")" "statistics of $old"
}

old_tables_test() {
    local T=t_old_${ENGINE} R=t_old_${ENGINE}_ref i
    local A1 A2 A3 A4 A5
    if [ "$ENGINE" = pg ]; then
        A1="ALTER COLUMN n TYPE bigint" A2="ALTER COLUMN extra TYPE bigint" A3="ALTER COLUMN n TYPE numeric"
        A4="ALTER COLUMN extra TYPE numeric" A5="ALTER COLUMN n TYPE bigint"
    else
        A1="MODIFY n BIGINT" A2="MODIFY extra BIGINT NOT NULL DEFAULT 0" A3="MODIFY n DECIMAL(20,0)"
        A4="MODIFY extra DECIMAL(20,0) NOT NULL DEFAULT 0" A5="MODIFY n BIGINT"
    fi
    PRINT=()
    for i in "" _2 _3 _4 _5 _6; do
        e_q "DROP TABLE IF EXISTS $(e_pick "$(qi "$(old_name $T "$i")") CASCADE" "$(my_qi "$(old_name $T "$i")")")" \
            || fail "drop $(old_name $T "$i")"
    done
    e_fixture $T $R 5000
    if [ "$ENGINE" = pg ]; then
        # an identity sequence and statistics step aside with the original too
        psql_q "ALTER TABLE $T ADD COLUMN s bigint GENERATED BY DEFAULT AS IDENTITY;
                CREATE STATISTICS ${T}_st ON n, extra FROM $T" || fail "identity and statistics on $T"
    fi
    e_start_writer $T $R
    sleep 0.3

    note "--- 1. the first run keeps today's name"
    e_expect_osc 0 --table $T --alter "$A1"
    e_alter_ref $R "$A1"
    check_old $T 1 ""

    note "--- 2. the second run steps past the first one's old table"
    e_expect_osc 0 --table $T --alter "$A2"
    grep -q "this run keeps the original as .*$(old_name $T _2)" "$OSC_OUT" "$OSC_ERR" \
        || { e_stop_writer; fail "run 2 does not say which name it keeps the original under"; }
    e_alter_ref $R "$A2"
    check_old $T 2 _2
    check_old $T 1 ""
    local S
    S=$(e_pick public osctest)
    e_expect_osc 0 history --table $T --log-format text
    grep -q "^    old table: $S\.$(old_name $T "")\$" "$OSC_OUT" || fail "osc history does not name run 1's old table"
    grep -q "^    old table: $S\.$(old_name $T _2)\$" "$OSC_OUT" || fail "osc history does not name run 2's old table"

    note "--- 3. killed holding the swap's lock, then rerun"
    kill_at $T swap-locked "$A3"
    # PostgreSQL rolled the swap back; MariaDB keeps the sentry under that name
    assert_eq "$(e_pick 0 1)" "$(e_has_table "$(old_name $T _3)")" "$(old_name $T _3) after the kill"
    e_run_osc --table $T --alter "$A3"
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "the rerun of run 3 exited $OSC_RC"; }
    e_alter_ref $R "$A3"
    check_old $T 3 _3

    note "--- 4. killed past the swap, then rerun"
    local point
    point=$(e_pick swap-committed swap-renamed)
    kill_at $T "$point" "$A4"
    assert_eq 1 "$(e_has_table "$(old_name $T _4)")" "the original is kept as $(old_name $T _4) after the kill"
    assert_eq "$(e_pick swapped cutover)" "$(e_state $T phase)" "the state row after a kill at $point"
    e_alter_ref $R "$A4"
    e_run_osc --table $T --alter "$A4"
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "the rerun of run 4 exited $OSC_RC"; }
    grep -q "the swap is done" "$OSC_OUT" "$OSC_ERR" || { e_stop_writer; fail "the rerun of run 4 does not say the swap is done"; }
    assert_eq done "$(e_state $T outcome)" "run 4's state"
    assert_eq "$S.$(old_name $T _4)" "$(status_old $T)" "the old table osc status names after run 4"
    check_old $T 4 _4

    note "--- 5. killed at the swap, then osc cleanup"
    kill_at $T swap-locked "$A5"
    [ "$ENGINE" = my ] && assert_eq 1 "$(e_has_table "$(old_name $T _5)")" "run 5's sentry after the kill"
    e_expect_osc 0 cleanup --table $T
    assert_eq 0 "$(e_has_table "$(old_name $T _5)")" "run 5's names after osc cleanup"
    assert_eq aborted "$(e_state $T outcome)" "run 5's state after osc cleanup"
    e_no_leftovers $T
    sleep 0.3
    e_stop_writer
    e_tables_equal $T $R "$COLS"
    for i in 1 2 3 4; do
        check_old $T $i "$([ $i = 1 ] || echo _$i)"
    done

    note "--- 6. a user's table under the next name is refused"
    e_q "CREATE TABLE $(e_pick "$(qi "$(old_name $T _5)")" "$(my_qi "$(old_name $T _5)")") (keep int)" \
        || fail "the user's table"
    local before
    before=$(e_schema_snapshot)
    e_expect_osc 2 --table $T --alter "$A5"
    grep -q "$(old_name $T _5)" "$OSC_ERR" || fail "the refusal does not name $(old_name $T _5)"
    grep -q "osc did not create it\|is not osc's" "$OSC_ERR" || fail "the refusal does not say the table is not osc's"
    assert_eq "$before" "$(e_schema_snapshot)" "schema after the refusal"
    e_q "DROP TABLE $(e_pick "$(qi "$(old_name $T _5)")" "$(my_qi "$(old_name $T _5)")")" || fail "drop the user's table"

    note "--- 7. killed past the swap, rerun with --drop-old-table: this run's old table only"
    e_start_writer $T $R
    sleep 0.3
    kill_at $T "$point" "$A5"
    assert_eq 1 "$(e_has_table "$(old_name $T _5)")" "the original is kept as $(old_name $T _5) after the kill"
    e_alter_ref $R "$A5"
    e_run_osc --table $T --alter "$A5" --drop-old-table
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "the rerun of run 6 exited $OSC_RC"; }
    e_stop_writer
    e_tables_equal $T $R "$COLS"
    grep -q "dropped the old table .*$(old_name $T _5)" "$OSC_OUT" "$OSC_ERR" || fail "run 6 does not say it dropped $(old_name $T _5)"
    assert_eq 0 "$(e_has_table "$(old_name $T _5)")" "run 6's old table after --drop-old-table"
    for i in 1 2 3 4; do
        check_old $T $i "$([ $i = 1 ] || echo _$i)"
    done

    note "--- 8. the longest name, twice"
    local L LR old1 old2
    L=t_old_long_$(printf 'x%.0s' $(seq 1 $(e_pick 52 45)))
    LR=t_old_long_ref
    [ ${#L} = "$(e_pick 63 56)" ] || fail "the long name has ${#L} bytes"
    if [ "$ENGINE" = pg ]; then
        psql_q "SET client_min_messages = warning;
                DO \$\$DECLARE r record; BEGIN
                  FOR r IN SELECT oid::regclass AS t FROM pg_class WHERE relkind = 'r' AND relname LIKE '\_t\_old\_long%' LOOP
                    EXECUTE 'DROP TABLE ' || r.t || ' CASCADE';
                  END LOOP; END\$\$" || fail "drop the long old tables"
    else
        for i in "${L}_osc_old" "${L}_osc_2"; do my_q "DROP TABLE IF EXISTS $(my_qi "$i")" || fail "drop $i"; done
    fi
    if [ "$ENGINE" = pg ]; then
        # the fixture's explicit index name would be cut onto the table's:
        # PostgreSQL names these itself (63 bytes each)
        osc_state_forget "$L"
        psql_q "SET client_min_messages = warning; DROP TABLE IF EXISTS $LR, $L;
                CREATE TABLE $L (id int PRIMARY KEY, v text, n int, extra int NOT NULL DEFAULT 0, pad text);
                CREATE INDEX ON $L (n);
                INSERT INTO $L SELECT i, md5(i::text), i % 100, i, 'p' FROM generate_series(1, 500) i" \
            || fail "the long table"
    else
        # (the fixture's list of names to drop has names over 64 bytes)
        my_q "DELETE FROM _osc_migrations WHERE table_name = $(my_ql "$L");
              DROP TABLE IF EXISTS $(my_qi "$L");
              CREATE TABLE $(my_qi "$L") (id INT NOT NULL PRIMARY KEY, v VARCHAR(64), n INT,
                                         extra INT NOT NULL DEFAULT 0, pad VARCHAR(200), KEY (n));
              INSERT INTO $(my_qi "$L") SELECT seq, MD5(seq), seq % 100, seq, 'p' FROM seq_1_to_500" \
            || fail "the long table"
    fi
    e_expect_osc 0 --table $L --alter "$A1"
    e_expect_osc 0 --table $L --alter "$A2"
    old2=$(status_old $L)
    note "osc status names the old table $old2"
    if [ "$ENGINE" = pg ]; then
        old1=$(psql_q "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'r'
                       AND relname LIKE '\_t\_old\_long%osc\_old%'")
        note "the old tables: $old1"
        assert_eq 2 "$(tr ',' '\n' <<<"$old1" | grep -c .)" "two old tables of the long name"
        grep -q "_osc_old_2" <<<"$old1" || fail "the second long old table's name has no _osc_old_2"
        assert_eq "public.$(tr ',' '\n' <<<"$old1" | grep _osc_old_2)" "$old2" "the long old table osc status names"
        assert_eq 0 "$(psql_q "SELECT count(*) FROM pg_class WHERE length(relname) > 63")" "names over 63 bytes"
        assert_eq 4 "$(psql_q "SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                               WHERE t.relname LIKE '\_t\_old\_long%osc\_old%'")" "the old tables' indexes"
    else
        assert_eq 1 "$(e_has_table "${L}_osc_old")" "the first long old table"
        assert_eq 1 "$(e_has_table "${L}_osc_2")" "the second long old table"
        assert_eq "osctest.${L}_osc_2" "$old2" "the long old table osc status names"
        my_q "DROP TABLE $(my_qi "${L}_osc_old"), $(my_qi "${L}_osc_2")" || fail "drop the long old tables"
    fi
    e_q "DROP TABLE IF EXISTS $LR" || fail "drop $LR"

    note "--- 9. every numbered name kept by an earlier run: refused"
    local F=t_old_full_${ENGINE} FR=t_old_full_${ENGINE}_ref names
    e_fixture $F $FR 100
    names=$(for i in $(seq 1 100); do old_name $F "$([ $i = 1 ] || echo _$i)"; echo; done)
    if [ "$ENGINE" = pg ]; then
        psql_q "SET client_min_messages = warning;
                DO \$\$DECLARE n text; BEGIN
                  FOR n IN SELECT unnest(string_to_array($(ql "$(tr '\n' ' ' <<<"$names")"), ' ')) LOOP
                    CONTINUE WHEN n = '';
                    EXECUTE format('DROP TABLE IF EXISTS %I; CREATE TABLE %I (id int)', n, n);
                  END LOOP; END\$\$;
                CREATE SCHEMA IF NOT EXISTS osc;
                INSERT INTO osc.migrations (schema_name, table_name, alter_spec, phase, outcome, work_schema,
                    fingerprint_orig, key_shadow, col_names, col_exprs, overriding, deferred_names, deferred_sql,
                    table_oid)
                SELECT 'public', $(ql "$F"), 'an earlier run', 'done', 'done', 'x', 'x', '{}', '{}', '{}', false,
                       '{}', '{}', c.oid
                  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
                   AND c.relname = ANY (string_to_array($(ql "$(tr '\n' ' ' <<<"$names")"), ' '))" \
            || fail "the earlier runs' old tables of $F"
    else
        local sql="" rows="" n
        for n in $names; do
            sql+="DROP TABLE IF EXISTS $(my_qi "$n"); CREATE TABLE $(my_qi "$n") (id INT);"
            rows+="${rows:+, }($(my_ql "$F"), 'an earlier run', 'done', 'done', NOW(), NOW(), 'x', $(my_ql "$n"))"
        done
        # one client for all of them (a hundred clients took 16 s here)
        my_q "$sql" || fail "the earlier runs' old tables of $F"
        my_q "INSERT INTO _osc_migrations (table_name, alter_spec, phase, outcome, started_at, updated_at,
                  fingerprint_orig, old_table) VALUES $rows" || fail "the state rows of $F's old tables"
    fi
    local before
    before=$(e_schema_snapshot)
    e_expect_osc 2 --table $F --alter "$A1"
    grep -q "kept by earlier osc runs hold every name" "$OSC_ERR" || fail "the refusal does not say every name is held"
    assert_eq "$before" "$(e_schema_snapshot)" "schema after the refusal"
    e_no_leftovers $F
    local drop=""
    for n in $names; do drop+="${drop:+, }$(e_pick "$(qi "$n")" "$(my_qi "$n")")"; done
    e_q "DROP TABLE $drop" >/dev/null || fail "drop $F's old tables"
    e_q "DROP TABLE $F, $FR" || fail "drop $F"
}
for_each_engine old_tables_test
echo ok
