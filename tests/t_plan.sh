#!/usr/bin/env bash
# osc plan validates and explains, and changes nothing, on PostgreSQL and
# MariaDB (one body, each engine with the ALTERs of its strategies).  For each
# strategy it names the strategy, a risk class with reasons, the SQL, sizes,
# a sampled ETA, the extra disk, the dependent objects; it warns ([high],
# exit 0) about a new UNIQUE key over duplicates, a column a view uses and a
# session holding (PostgreSQL) or waiting for (MariaDB) a lock on the table;
# --format json is valid JSON with the same facts (parsed by the server);
# --format yaml is refused (exit 2).  After every plan the schema is as
# before, and at the end the table equals its mirror.
#   PostgreSQL: direct, copy, unique-index, not-valid and not-null.
#   MariaDB: instant, nocopy (with no replica known), the copy; also a
#   replica that stopped applying (found by SHOW SLAVE HOSTS or named by
#   --replica, whose password never shows), a copy a run would refuse (child
#   tables without --alter-foreign-keys-method), a long transaction
#   (medium), and `osc cleanup` of a trial table a killed run left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

attached=1
bg_pids=()
_plan_cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    if [ "$attached" = 0 ]; then
        tests/servers.sh my-replica-attach "$OSC_TEST_DIR" || echo "could not reattach the replica" >&2
    fi
    [ -n "${OSC_MY_PORT:-}" ] && my_replica_q "START SLAVE SQL_THREAD" >/dev/null 2>&1
    _lib_cleanup
}
trap _plan_cleanup EXIT

# plan_schema: the schema as a run's absence would leave it (MariaDB: also
# the table list and SHOW CREATE TABLE of the table and its view)
plan_schema() {
    if [ "$ENGINE" = pg ]; then
        schema_snapshot
    else
        local t
        my_q "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest'"
        for t in $T ${T}_v; do my_q "SHOW CREATE TABLE $t"; done
        my_schema_snapshot
    fi
}

# plan_case STRATEGY-OPTION ALTER EXPECTED-STRATEGY EXPECTED-RISK [REGEX...]: the text plan
plan_case() {
    local strat=$1 alter=$2 want=$3 risk=$4
    shift 4
    OSC_STRATEGY=$strat e_expect_osc 0 plan --table $T --alter "$alter"
    if [ "$ENGINE" = my ]; then
        grep -q "^table:      osctest.$T (mariadb)$" "$OSC_OUT" || fail "plan of '$alter': no table line"
    fi
    grep -Eq "^strategy:   $want: " "$OSC_OUT" || fail "plan of '$alter': strategy is not $want"
    grep -q "^risk:       $risk$" "$OSC_OUT" || fail "plan of '$alter': risk is not $risk"
    grep -qE "^size:       about [0-9]+ rows; table [0-9.]+ MB, indexes [0-9.]+ MB" "$OSC_OUT" || fail "no sizes"
    [ "$ENGINE" = pg ] && sampled       # (on MariaDB where the case says so)
    grep -qE "^eta:        ${ETA_RE:-about [0-9.]+s}" "$OSC_OUT" || fail "no ETA"
    grep -qE "^extra disk: about [0-9.]+ MB" "$OSC_OUT" || fail "no extra disk"
    grep -q "^plan only: nothing was changed" "$OSC_OUT" || fail "no closing line"
    for re in "$@"; do
        grep -qE -- "$re" "$OSC_OUT" || fail "plan of '$alter' lacks /$re/"
    done
    assert_eq "$before" "$(plan_schema)" "the schema after osc plan '$alter'"
}

sampled() {
    grep -qE "^(sample:     read [0-9]+ rows in key order|trial:      copied [0-9]+ rows in key order into the shadow)" "$OSC_OUT" \
        || fail "no sampled read or trial copy"
}

pg_cases() {
    plan_case auto "ADD COLUMN c int DEFAULT 1" direct low 'ALTER TABLE "public"."t_plan" ADD COLUMN c int DEFAULT 1'
    plan_case copy "ADD COLUMN c int DEFAULT 1" copy medium 'INSERT INTO .* SELECT .* FROM ONLY "public"."t_plan" src' \
        'CREATE TRIGGER _osc_capture' 'LOCK TABLE ONLY "public"."t_plan" IN ACCESS EXCLUSIVE MODE' \
        '^  view t_plan_v$' '^  index t_plan_n_idx$' '^  v +<- src."v"'
    plan_case auto "ADD COLUMN r float8 DEFAULT random()" copy medium 'the ALTER rewrites the table'
    plan_case auto "ADD CONSTRAINT t_plan_idn UNIQUE (id, n)" unique-index medium \
        'CREATE UNIQUE INDEX CONCURRENTLY "t_plan_idn" ON "public"."t_plan" \("id", "n"\)' \
        'ADD CONSTRAINT "t_plan_idn" UNIQUE USING INDEX "t_plan_idn"'
    plan_case auto "ADD CONSTRAINT t_plan_x UNIQUE (extra)" unique-index high \
        '\[high\] the new UNIQUE key would fail: Key \(extra\)=\(77\) is duplicated \(3 rows\)'
    plan_case copy "ADD CONSTRAINT t_plan_x UNIQUE (extra)" copy high 'Key \(extra\)=\(77\) is duplicated'
    plan_case auto "ADD CONSTRAINT t_plan_c CHECK (extra >= 0)" not-valid medium \
        'ADD CONSTRAINT t_plan_c CHECK \(extra >= 0\) NOT VALID' 'VALIDATE CONSTRAINT'
    plan_case auto "ALTER COLUMN extra SET NOT NULL" not-null medium 'CHECK \("extra" IS NOT NULL\) NOT VALID' \
        'SET NOT NULL; ALTER TABLE "public"."t_plan" DROP CONSTRAINT'
    plan_case auto "DROP COLUMN n" direct high '\[high\] column n is used by view\(s\) t_plan_v'
    plan_case auto "ALTER COLUMN n TYPE bigint" copy high '\[high\] column n is used by view\(s\) t_plan_v'

    # a session holding a lock on the table right now
    psql -XAtq -c "BEGIN; LOCK TABLE $T IN ROW EXCLUSIVE MODE; SELECT pg_sleep(20); COMMIT" >/dev/null 2>&1 &
    local locker=$!
    bg_pids+=("$locker")
    # the plan names a lock held by a transaction open for over a second
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(psql_q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                     WHERE l.relation = '$T'::regclass AND l.granted AND l.mode = 'RowExclusiveLock'
                       AND a.xact_start < now() - interval '1100 milliseconds'")" -ge 1 ] && break
        sleep 0.1
    done
    plan_case auto "ADD COLUMN c int" direct high "\\[high\\] pid [0-9]+ holds RowExclusiveLock on public.t_plan"
    kill $locker 2>/dev/null; wait $locker 2>/dev/null
    bg_pids=()
    psql_q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()" >/dev/null

    # JSON: parsed by the server
    OSC_STRATEGY=auto expect_osc 0 plan --table $T --alter "ADD CONSTRAINT t_plan_x UNIQUE (extra)" --format json
    local json
    json=$(cat "$OSC_OUT")
    assert_eq "unique-index|high|t|10000" \
        "$(psql_q "SELECT concat_ws('|', j->>'strategy', j->>'risk', (j->'warnings'->0->>'high')::bool,
                                     j->>'rows_estimate') FROM (SELECT $(ql "$json")::json AS j) s")" "the JSON plan"
    assert_true "(SELECT json_array_length(j->'sql') = 2 AND (j->>'eta_ms')::bigint >= 0 AND (j->>'changes_nothing')::bool
                  FROM (SELECT $(ql "$json")::json AS j) s)" "the JSON plan's SQL, ETA"
    expect_osc 2 plan --table $T --alter "ADD COLUMN c int" --format yaml
}

my_cases() {
    plan_case auto "ADD COLUMN c INT" instant low \
        'ALTER TABLE `osctest`.`t_my_plan` ADD COLUMN c INT, ALGORITHM=INSTANT, LOCK=NONE' '^warnings: none$' \
        '^dependent objects the swap carries: none$'
    sampled
    plan_case copy "ADD COLUMN c INT" copy medium 'strategy:   copy: --strategy copy' \
        'CREATE TABLE `osctest`.`t_my_plan_osc_new` LIKE `osctest`.`t_my_plan`' \
        'CREATE TRIGGER `osctest`.`t_my_plan_osc_ins` AFTER INSERT ON `osctest`.`t_my_plan`' \
        'INSERT INTO `osctest`.`t_my_plan_osc_new` \(`id`, `v`, `n`, `extra`, `pad`\) SELECT `src`.`id`' \
        'RENAME TABLE `osctest`.`t_my_plan` TO `osctest`.`t_my_plan_osc_old`, `osctest`.`t_my_plan_osc_new` TO `osctest`.`t_my_plan`' \
        '^  index t_my_plan_n_idx$' '^  view osctest.t_my_plan_v ' '^  v +<- src.v$'
    sampled
    plan_case auto "ADD INDEX t_my_plan_v_idx (v)" copy medium \
        "a replica \\(127.0.0.1:$OSC_MY_REPLICA_PORT, from SHOW SLAVE HOSTS\\) would replay the build serially"
    plan_case auto "MODIFY n BIGINT" copy medium 'the server does it only by copying the table'
    plan_case auto "ADD UNIQUE KEY uq_extra (extra)" copy high \
        "\\[high\\] the new UNIQUE key uq_extra would fail: Duplicate entry '77' for key 'uq_extra' \\(3 rows\\)"
    plan_case auto "DROP COLUMN n" copy high "\\[high\\] column n is used by view\\(s\\) osctest.t_my_plan_v"

    # with no replica known: NOCOPY
    tests/servers.sh my-replica-detach "$OSC_TEST_DIR" || fail "cannot detach the replica"
    attached=0
    plan_case auto "ADD INDEX t_my_plan_v_idx (v)" nocopy medium \
        'ADD INDEX t_my_plan_v_idx \(v\), ALGORITHM=NOCOPY, LOCK=NONE' 'an online index build reads the whole table'
    plan_case auto "ADD UNIQUE KEY uq_extra (extra)" nocopy high "Duplicate entry '77' for key 'uq_extra'"
    # JSON: parsed by the server
    OSC_STRATEGY=auto expect_osc_my 0 plan --table $T --alter "ADD UNIQUE KEY uq_extra (extra)" --format json
    local json
    json=$(cat "$OSC_OUT")
    assert_eq "1|nocopy|high|true|1|1|1" \
        "$(my_q "SELECT CONCAT_WS('|', JSON_VALID(j), JSON_VALUE(j, '\$.strategy'), JSON_VALUE(j, '\$.risk'),
                                  JSON_EXTRACT(j, '\$.warnings[0].high'), JSON_VALUE(j, '\$.rows_estimate') > 5000,
                                  JSON_LENGTH(j, '\$.sql'), JSON_EXTRACT(j, '\$.changes_nothing') = 'true')
                 FROM (SELECT $(my_ql "$json") AS j) s")" "the JSON plan"
    tests/servers.sh my-replica-attach "$OSC_TEST_DIR" || fail "cannot reattach the replica"
    attached=1
    expect_osc_my 2 plan --table $T --alter "ADD COLUMN c INT" --format yaml

    # a replica that stopped applying (its SQL thread), found by SHOW SLAVE HOSTS
    # and named by --replica (the password in the URL never shows)
    my_replica_q "STOP SLAVE SQL_THREAD" || fail "STOP SLAVE SQL_THREAD"
    plan_case auto "ADD COLUMN c INT" instant high \
        "^  \\[high\\] replica 127.0.0.1:$OSC_MY_REPLICA_PORT is not applying changes \\(Slave_SQL_Running No\\)"
    OSC_STRATEGY=auto expect_osc_my 0 plan --table $T --alter "ADD COLUMN c INT" \
        --replica "mysql://root:sekrit@127.0.0.1:$OSC_MY_REPLICA_PORT/osctest"
    grep -qE "^  \\[high\\] replica 127.0.0.1:$OSC_MY_REPLICA_PORT, from --replica: cannot read|^  \\[high\\] replica 127.0.0.1:$OSC_MY_REPLICA_PORT, from --replica is not applying" "$OSC_OUT" \
        || fail "the plan does not report the --replica"
    grep -q sekrit "$OSC_OUT" "$OSC_ERR" && fail "the plan shows the replica URL's password"
    my_replica_q "START SLAVE SQL_THREAD" || fail "START SLAVE SQL_THREAD"
    my_wait_replica_caught_up

    # a child table's foreign key: a copy would be refused without
    # --alter-foreign-keys-method (a warning here), in place needs none
    my_q "CREATE TABLE t_my_plan_child (id INT PRIMARY KEY, tid INT, CONSTRAINT t_my_plan_child_fk
          FOREIGN KEY (tid) REFERENCES $T (id)) ENGINE=InnoDB" || fail "child table"
    before=$(plan_schema)
    plan_case copy "ADD COLUMN c INT" copy high \
        '\[high\] a run refuses this ALTER: osctest.t_my_plan is referenced by 1 foreign key' \
        '^  foreign key t_my_plan_child_fk from osctest.t_my_plan_child \(a run refuses it without --alter-foreign-keys-method\)$'
    plan_case auto "ADD COLUMN c INT" instant low '^warnings: none$'
    OSC_STRATEGY=copy expect_osc_my 0 plan --table $T --alter "ADD COLUMN c INT" --alter-foreign-keys-method rebuild_constraints
    grep -q 'a run refuses' "$OSC_OUT" && fail "refused with --alter-foreign-keys-method"
    grep -qE '^  foreign key t_my_plan_child_fk from .*rebuild_constraints' "$OSC_OUT" || fail "the child's key and its method"
    my_q "DROP TABLE t_my_plan_child"
    before=$(plan_schema)

    # a long transaction that read the table, then a session waiting for the
    # table's metadata lock behind it (LOCK TABLES ... WRITE, harmless if granted)
    my_client() { mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_PORT" -uroot osctest -N -B -e "$1" >/dev/null 2>&1; }
    my_client "START TRANSACTION; SELECT COUNT(*) FROM $T; UPDATE $R SET extra = extra WHERE id = 1;
               SELECT SLEEP(60); COMMIT" &
    bg_pids+=($!)
    sleep 11
    my_client "SET SESSION lock_wait_timeout = 60; LOCK TABLES $T WRITE; UNLOCK TABLES" &
    bg_pids+=($!)
    sleep 1
    # (the waiter queues osc's own reads of the table too: the plan says so, shows
    # what it could read without them, and exits 0)
    ETA_RE='unknown \(no sampled read\)' plan_case auto "ADD COLUMN c INT" '[a-z]+' high \
        "^  \\[high\\] the table's metadata lock was not granted within 1s" \
        "^  connection [0-9]+ has a transaction open for [0-9]+s \\(SELECT SLEEP\\(60\\)\\): if it has touched osctest.$T" \
        "^  \\[high\\] connection [0-9]+ has waited [0-9]+s for a metadata lock on osctest.$T \\(LOCK TABLES $T WRITE"
    # (the waiter, granted once the reader is gone, would only lock and unlock)
    local id p
    for id in $(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOCK TABLES $T WRITE%'
                      OR INFO LIKE 'SELECT SLEEP(60)%'"); do
        my_q "KILL $id" || true
    done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null; done
    bg_pids=()
    assert_eq 0 "$(my_has_table ${T}_osc_try)" "no trial table"
}

plan_test() {
    T=$(e_pick t_plan t_my_plan) R=$(e_pick t_plan_ref t_my_plan_ref)
    e_fixture $T $R 10000
    if [ "$ENGINE" = pg ]; then
        psql_q "UPDATE $T SET extra = 77 WHERE id IN (5, 6); CREATE OR REPLACE VIEW ${T}_v AS SELECT id, n FROM $T"
    else
        my_q "UPDATE $T SET extra = 77 WHERE id IN (5, 6); UPDATE $R SET extra = 77 WHERE id IN (5, 6);
              CREATE OR REPLACE VIEW ${T}_v AS SELECT id, n FROM $T" || fail "setup"
    fi
    before=$(plan_schema)
    "${ENGINE}_cases"
    assert_eq "$before" "$(plan_schema)" "the schema after every osc plan"
    assert_eq 0 "$(e_has_column $T c)" "no column c"
    if [ "$ENGINE" = my ]; then
        # a trial table a killed run left: osc cleanup removes it
        my_q "CREATE TABLE ${T}_osc_try LIKE $T" || fail "a leftover trial table"
        expect_osc_my 0 cleanup --table $T
        assert_eq 0 "$(my_has_table ${T}_osc_try)" "osc cleanup dropped the trial table"
    fi
    e_q "DROP VIEW ${T}_v"
    # (PostgreSQL's mirror keeps extra as it was: it is left out)
    e_tables_equal $T $R "$(e_pick "id, v, n, pad" "*")"
    e_no_leftovers $T
}

for_each_engine plan_test
echo "ok"
