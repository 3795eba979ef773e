#!/usr/bin/env bash
# The parallel copy (--threads N, src/core/copy_wave.c), one body for
# PostgreSQL and MariaDB, each case under the mirrored writer and ending with
# the table equal to the mirror:
#  A. SIGKILL while a wave's chunks are committed above the checkpoint
#     (OSC_FAULT=wave): the shadow holds more rows than the checkpoint says;
#     the rerun takes them out, copies them again and says so;
#  B. a worker's connection killed in the middle of its chunk
#     (OSC_FAULT=worker-chunk): the run goes on (exit 0), says the worker lost
#     its connection, and copies the wave again;
#  C. osc pause stops every worker: while paused no session of osc is inside
#     a transaction and the shadow's row count stands still; osc set
#     nice-ratio takes a good value and refuses a bad one (exit 2);
#  D. bad --threads / --nice-ratio: exit 2, nothing changed;
#  E. (MariaDB) a server that refuses a worker's connection (the user's
#     MAX_USER_CONNECTIONS): the copy goes on with fewer threads and says so.
#     PostgreSQL's CONNECTION LIMIT does not bind the tests' superuser.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"

# shadow_rows T: rows in T's shadow (empty when there is none)
shadow_rows() {
    local s
    if [ "$ENGINE" = pg ]; then
        s=$(psql_q "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c
                      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $(ql "_${1}_osc_new")")
        [ -n "$s" ] && psql_q "SELECT count(*) FROM $s"
    else
        s=$(my_q "SELECT table_name FROM information_schema.tables WHERE table_schema = 'osctest'
                    AND table_name IN ($(my_ql "_${1}_osc_new"), $(my_ql "${1}_osc_new"))")
        [ -n "$s" ] && my_q "SELECT COUNT(*) FROM osctest.\`$s\`"
    fi
}

# osc_in_txn: sessions of osc inside a transaction (the writer's are not counted:
# PostgreSQL by application_name, MariaDB by a transaction idle for over a second)
osc_in_txn() {
    if [ "$ENGINE" = pg ]; then
        psql_q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'osc'
                  AND state IN ('active', 'idle in transaction')"
    else
        my_q "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_query IS NULL
                AND trx_started < NOW() - INTERVAL 1 SECOND"
    fi
}

finish_equal() {
    e_alter_ref "$2" "$ALTER"
    e_tables_equal "$1" "$2" "$COLS, c"
    e_no_leftovers "$1"
}

case_kill_wave() {
    local T=t_par_${ENGINE}_kill R=t_par_${ENGINE}_kill_ref F=$TEST_TMP/wave.$ENGINE n ck
    note "---- A: SIGKILL with a wave's chunks committed above the checkpoint ----"
    e_fixture $T $R 8000
    e_start_writer $T $R
    OSC_FAULT=wave:$F e_osc_bg "$TEST_TMP/A.out" "$TEST_TMP/A.err" --table $T --alter "$ALTER" \
        --threads 3 --chunk-size 500 --chunk-size-max 500 --log-format json
    wait_for_text "waiting at wave" 60 "$TEST_TMP/A.err" || { e_stop_writer; fail "osc never reached a wave"; }
    n=$(shadow_rows $T) ck=$(e_state $T rows_copied)
    note "at the wave: shadow rows $n, checkpoint rows_copied $ck"
    [ "$n" -gt "${ck:-0}" ] || { e_stop_writer; fail "the shadow holds $n rows, no more than the checkpoint's $ck: no chunk above it"; }
    osc_bg_kill KILL || { e_stop_writer; fail "osc ended before the kill"; }
    e_run_osc --table $T --alter "$ALTER" --threads 3 --chunk-size 500 --chunk-size-max 500 --log-format json
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "the rerun exited $OSC_RC"; }
    grep -q "rows above the checkpoint" "$OSC_ERR" "$OSC_OUT" || { e_stop_writer; fail "the rerun does not say it copies the rows above the checkpoint again"; }
    e_stop_writer
    finish_equal $T $R
}

# kill_worker: terminates the connection of the worker held at worker-chunk
kill_worker() {
    local i id
    for ((i = 0; i < 300; i++)); do
        if [ "$ENGINE" = pg ]; then
            id=$(psql_q "SELECT pid FROM pg_stat_activity WHERE application_name = 'osc'
                           AND state = 'idle in transaction' AND state_change < now() - interval '500 ms' LIMIT 1")
        else
            id=$(my_q "SELECT trx_mysql_thread_id FROM information_schema.innodb_trx WHERE trx_query IS NULL
                         AND trx_rows_modified > 0 AND trx_started < NOW() - INTERVAL 1 SECOND LIMIT 1")
        fi
        [ -n "$id" ] && break
        sleep 0.1
    done
    [ -n "$id" ] || return 1
    note "killing the worker's session $id"
    if [ "$ENGINE" = pg ]; then psql_q "SELECT pg_terminate_backend($id)" >/dev/null; else my_q "KILL CONNECTION $id"; fi
}

case_worker_lost() {
    local T=t_par_${ENGINE}_lost R=t_par_${ENGINE}_lost_ref F=$TEST_TMP/worker.$ENGINE
    note "---- B: a worker's connection killed mid-chunk ----"
    e_fixture $T $R 8000
    e_start_writer $T $R
    OSC_FAULT=worker-chunk:$F e_osc_bg "$TEST_TMP/B.out" "$TEST_TMP/B.err" --table $T --alter "$ALTER" \
        --threads 2 --chunk-size 500 --chunk-size-max 500 --log-format json
    wait_for_text "waiting at worker-chunk" 60 "$TEST_TMP/B.err" || { e_stop_writer; fail "no worker reached its chunk"; }
    kill_worker || { e_stop_writer; touch "$F"; fail "no session of a worker inside its chunk was found"; }
    touch "$F"
    osc_bg_wait 120
    [ "$OSC_BG_RC" = 0 ] || { e_stop_writer; tail -n 15 "$TEST_TMP/B.err" >&2; fail "osc exited $OSC_BG_RC after a worker lost its connection"; }
    grep -q "a copy worker lost its connection" "$TEST_TMP/B.err" || { e_stop_writer; fail "osc does not say a worker lost its connection"; }
    grep -q "lost its connection; the chunks above" "$TEST_TMP/B.err" || { e_stop_writer; fail "osc does not say the wave is copied again"; }
    e_stop_writer
    finish_equal $T $R
}

case_pause() {
    local T=t_par_${ENGINE}_pause R=t_par_${ENGINE}_pause_ref a b i out rc
    note "---- C: osc pause stops every worker ----"
    e_fixture $T $R 12000
    e_start_writer $T $R
    OSC_FAULT=chunk:100 e_osc_bg "$TEST_TMP/C.out" "$TEST_TMP/C.err" --table $T --alter "$ALTER" \
        --threads 3 --chunk-size 300 --chunk-size-max 300 --log-format json
    for ((i = 0; i < 300; i++)); do
        [ "$(e_state $T rows_copied)" -gt 1000 ] 2>/dev/null && break
        sleep 0.1
    done
    out=$(ctl pause --table $T) || { e_stop_writer; fail "osc pause: $out"; }
    rows_frozen $T 1 >/dev/null || { e_stop_writer; fail "the copy went on while paused"; }
    a=$(shadow_rows $T)
    for ((i = 0; i < 10; i++)); do
        [ "$(osc_in_txn)" = 0 ] || { e_stop_writer; fail "a session of osc is inside a transaction while paused"; }
        sleep 0.1
    done
    b=$(shadow_rows $T)
    assert_eq "$a" "$b" "shadow rows while paused"
    rc=0
    out=$(ctl set --table $T nice-ratio=abc 2>&1) || rc=$?
    assert_eq 2 "$rc" "osc set nice-ratio=abc exit status ($out)"
    out=$(ctl set --table $T nice-ratio=0.5) || { e_stop_writer; fail "osc set nice-ratio=0.5: $out"; }
    ctl resume --table $T >/dev/null || { e_stop_writer; fail "osc resume failed"; }
    osc_bg_wait 120
    [ "$OSC_BG_RC" = 0 ] || { e_stop_writer; fail "osc exited $OSC_BG_RC"; }
    grep -q "osc set nice-ratio=0.5" "$TEST_TMP/C.err" || fail "the new nice ratio is not in the log"
    e_stop_writer
    finish_equal $T $R
}

case_bad_input() {
    local T=t_par_${ENGINE}_bad R=t_par_${ENGINE}_bad_ref before a
    note "---- D: bad --threads / --nice-ratio ----"
    e_fixture $T $R 100
    before=$(e_schema_snapshot)
    for a in "--threads 0" "--threads 17" "--threads two" "--nice-ratio -1" "--nice-ratio 101" "--nice-ratio x"; do
        # shellcheck disable=SC2086
        e_expect_osc 2 --table $T --alter "$ALTER" $a
    done
    assert_eq "$before" "$(e_schema_snapshot)" "schema after the refused runs"
}

case_fewer_workers() {
    local T=t_par_my_few R=t_par_my_few_ref url
    note "---- E: a worker's connection refused: fewer threads"
    # osc's main session, the monitor's and one worker fit; the swap's second
    # session finds room again once the workers are closed
    my_q "DROP USER IF EXISTS osc_few@'%'; CREATE USER osc_few@'%' IDENTIFIED BY 'few' WITH MAX_USER_CONNECTIONS 3;
          GRANT ALL ON *.* TO osc_few@'%'"
    url="mysql://osc_few:few@127.0.0.1:$OSC_MY_PORT/osctest"
    e_fixture $T $R 8000
    e_start_writer $T $R
    OSC_RC=0
    "$OSC" --table $T --alter "$ALTER" --strategy copy --threads 4 --chunk-size 1000 --chunk-size-max 1000 --log-format json \
        --database "$url" >"$TEST_TMP/E.out" 2>"$TEST_TMP/E.err" || OSC_RC=$?
    e_stop_writer
    my_q "DROP USER osc_few@'%'"
    [ "$OSC_RC" = 0 ] || { tail -n 5 "$TEST_TMP/E.err" >&2; fail "osc exited $OSC_RC with a worker refused"; }
    grep -q "a copy worker could not connect (.*max_user_connections.*): copying 2 chunks at a time" "$TEST_TMP/E.err" \
        || { grep -v progress "$TEST_TMP/E.err" | tail -n 4 | cut -c1-600 >&2; fail "osc does not say it copies with fewer threads"; }
    assert_eq 2 "$(tail -n 1 "$TEST_TMP/E.err" | jq -r .copy.threads)" "copy.threads in the summary"
    finish_equal $T $R
}

body() {
    case_kill_wave
    case_worker_lost
    case_pause
    case_bad_input
    [ "$ENGINE" = pg ] || case_fewer_workers
}
for_each_engine body
echo "ok"
