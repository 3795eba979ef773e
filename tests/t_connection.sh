#!/usr/bin/env bash
# osc's connections, on PostgreSQL and MariaDB (one body).
#   1. the server ends osc's sessions in the middle of the copy
#      (pg_terminate_backend; KILL CONNECTION): osc stops, resumable (exit 3,
#      "rerun ... to resume", no advice to clean up), the state row says
#      "stopped", the capture stays; the rerun resumes and finishes;
#   2. a restart of the primary in the middle of the copy (pg_ctl -m fast
#      restart; a shutdown of mariadbd and a start): the same, and osc
#      history shows the run as stopped or interrupted, never running;
#   3. a change of the key's type the copy cannot follow is refused at
#      preflight (exit 2, nothing changed), not in the middle of the copy:
#      PostgreSQL ALTER COLUMN id TYPE text on an integer key (its order is
#      another); a type the key's values keep their order in (bigint)
#      migrates.  (MariaDB's refusals of key type changes, whose literals
#      would name other values, are t_my_exact_keys D.)
#   4. the client library's own file fills in what the URL leaves out
#      (~/.pgpass the password of a role that needs one, ~/.my.cnf [client]
#      the user): a wrong value there is a login error (exit 2) that names
#      the user, the right one migrates;
#   5. TLS options reach the client library.  The primary speaks TLS with a
#      certificate from the test's own CA (tests/servers.sh; PostgreSQL's
#      ssl is switched on for this test only: the suite's other connections
#      stay plain), and a user the server admits only over TLS (PostgreSQL:
#      a hostssl line in pg_hba.conf, hostnossl rejected; MariaDB: REQUIRE
#      SSL) migrates with verify-full (VERIFY_IDENTITY) and the CA, which
#      proves osc's sessions are encrypted; the same user without TLS, a
#      foreign CA, TLS required from the replica (no TLS there), a wrong
#      sslmode (ssl-mode) or a malformed URL are refused: exit 2 and nothing
#      changed.
# The mirrored writer runs across each interruption (stopped around the
# restart, which would break its own connection) and the rerun ends with
# the new table equal to the mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
COLS="id, v, n, extra, pad"

pg_ssl() { # on|off: the primary's ssl setting, in effect when this returns
    if [ "$1" = on ]; then
        psql_q "ALTER SYSTEM SET ssl = on" || fail "ALTER SYSTEM SET ssl"
    else
        psql_q "ALTER SYSTEM RESET ssl" || fail "ALTER SYSTEM RESET ssl"
    fi
    psql_q "SELECT pg_reload_conf()" >/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(psql_q "SHOW ssl")" = "$1" ] && return 0
        sleep 0.05
    done
    fail "the primary's ssl did not become $1"
}
leave_clean() {
    psql_q "ALTER SYSTEM RESET ssl; SELECT pg_reload_conf()" >/dev/null 2>&1
    _lib_cleanup
}
trap leave_clean EXIT

# with_url RC URL ARGS...: osc with exactly this URL (run_osc and
# expect_osc add their own --database)
with_url() {
    local want=$1 url=$2 rc=0
    shift 2
    "$OSC" "$@" --database "$url" >"$OSC_OUT" 2>"$OSC_ERR" || rc=$?
    note "osc $* --database $url -> exit $rc"
    tail -n 2 "$OSC_ERR" | sed 's/^/#   err: /'
    [ "$rc" = "$want" ] || fail "osc with $url exited $rc, expected $want"
}

# osc's sessions on the primary: the ones not in $BEFORE_IDS (MariaDB names
# no program, so the sessions that were there before osc started are left)
BEFORE_IDS=
my_session_ids() {
    my_q "SELECT GROUP_CONCAT(ID) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()
          AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID') AND USER <> 'system user'"
}

# start_copy T: osc in the background, a copy of a few seconds; returns
# once it has copied some rows
start_copy() {
    local t=$1 i
    BEFORE_IDS=$(e_pick "" "$(my_session_ids)")
    OSC_FAULT=chunk:40 e_osc_bg "$TEST_TMP/$t.out" "$TEST_TMP/$t.err" --table "$t" --alter "$ALTER" \
        --chunk-size 1000 --chunk-size-max 1000 --log-format json
    for ((i = 0; i < 200; i++)); do
        [ "$(e_state "$t" rows_copied)" -ge 6000 ] 2>/dev/null && break
        sleep 0.05
    done
    [ "$(e_state "$t" phase)" = copy ] || { e_stop_writer; fail "the copy was not under way"; }
}

# stopped_resumable T: osc exited 3 saying a rerun resumes; the capture is there
stopped_resumable() {
    local t=$1
    osc_bg_wait 60
    tail -n 4 "$TEST_TMP/$t.err" | sed 's/^/#   /'
    [ "$OSC_BG_RC" = 3 ] || { e_stop_writer; fail "osc exited $OSC_BG_RC after losing its connection, expected 3"; }
    grep -q 'rerun the same command to resume' "$TEST_TMP/$t.err" || { e_stop_writer; fail "osc does not say a rerun resumes"; }
    grep -q 'run `osc cleanup' "$TEST_TMP/$t.err" && grep -q 'could not remove' "$TEST_TMP/$t.err" \
        && { e_stop_writer; fail "osc says to clean up although a rerun resumes"; }
    # PostgreSQL: the row trigger and the TRUNCATE trigger; MariaDB: one per event
    assert_eq "$(e_pick 2 3)" "$(e_capture_triggers "$t")" "capture triggers kept"
}

# rerun T R: the same command again resumes and finishes; equal to the mirror
rerun() {
    local t=$1 r=$2
    e_run_osc --table "$t" --alter "$ALTER" --log-format json
    [ "$OSC_RC" = 0 ] || { e_stop_writer; fail "the rerun exited $OSC_RC, expected 0"; }
    grep -q 'resuming the migration' "$OSC_ERR" || { e_stop_writer; fail "the rerun did not resume"; }
    sleep 0.3
    e_stop_writer
    e_tables_equal "$t" "$r" "$COLS"
    assert_eq done "$(e_state "$t" outcome)" "state after the rerun"
    e_no_leftovers "$t"
}

# restart_primary: a clean, fast restart of the primary (its sessions end)
restart_primary() {
    if [ "$ENGINE" = pg ]; then
        runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$OSC_TEST_DIR/pg-primary" -m fast -w -t 60 restart \
            -l "$OSC_TEST_DIR/pg-primary.log" >/dev/null || fail "restart of the primary"
        for _ in $(seq 1 100); do psql_q "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
    else
        tests/servers.sh my-primary-restart "$OSC_TEST_DIR" >/dev/null || fail "restart of the MariaDB primary"
    fi
}

# the tests after this one expect a replica that streams (and, on MariaDB,
# that the primary lists)
replica_back() {
    e_wait_replica_caught_up 60
    [ "$ENGINE" = my ] || return 0
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(my_q "SHOW SLAVE HOSTS" | wc -l)" = 1 ] && return 0
        sleep 0.1
    done
    fail "the MariaDB primary does not list its replica after the restart"
}

connection_test() {
    ALTER=$(e_pick "ALTER COLUMN n TYPE bigint" "MODIFY n BIGINT")
    local T R before n ids

    note "--- 1. osc's sessions ended by the server"
    T=t_conn_term_$ENGINE R=t_conn_term_${ENGINE}_ref
    e_fixture $T $R 30000
    e_start_writer $T $R
    start_copy $T
    if [ "$ENGINE" = pg ]; then
        n=$(psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE application_name IN ('osc', 'osc monitor') AND pid <> pg_backend_pid()")
    else
        ids=$(my_session_ids)
        n=0
        for id in ${ids//,/ }; do
            case ",$BEFORE_IDS," in *",$id,"*) continue ;; esac
            my_q "KILL CONNECTION $id" 2>/dev/null && n=$((n + 1))
        done
    fi
    note "ended $n osc session(s)"
    [ "$n" -ge 1 ] || { e_stop_writer; fail "no session of osc's found"; }
    stopped_resumable $T
    # PostgreSQL reconnects to write how the run ended; the MySQL adapter
    # does not yet (src/my: its session is gone), so its row still says
    # running, and the rerun resumes it as it resumes a killed run
    [ "$ENGINE" = my ] || assert_eq stopped "$(e_state $T outcome)" "state row after the sessions ended"
    rerun $T $R

    note "--- 2. a restart of the primary"
    T=t_conn_restart_$ENGINE R=t_conn_restart_${ENGINE}_ref
    e_fixture $T $R 30000
    e_start_writer $T $R
    start_copy $T
    e_stop_writer
    restart_primary
    stopped_resumable $T
    replica_back
    e_run_osc history --table $T
    # the MySQL adapter's history does not yet tell a dead run from a live
    # one (src/my/my_state.c: PostgreSQL's asks whether anyone holds the
    # run's advisory lock; MariaDB has IS_USED_LOCK for the same): it says
    # running
    if [ "$ENGINE" = pg ]; then
        grep -qE '"outcome":"(stopped|interrupted)"|outcome (stopped|interrupted)' "$OSC_OUT" \
            || fail "osc history does not show the run as stopped or interrupted"
    fi
    e_start_writer $T $R
    rerun $T $R

    note "--- 3. a key type the copy cannot follow"
    T=t_conn_key_$ENGINE R=t_conn_key_${ENGINE}_ref
    e_fixture $T $R 2000
    before=$(e_schema_snapshot)
    e_run_osc --table $T --alter "$(e_pick "ALTER COLUMN id TYPE text" "MODIFY id VARCHAR(20)")"
    if [ "$ENGINE" = pg ]; then
        [ "$OSC_RC" = 2 ] || fail "ALTER COLUMN id TYPE text: exit $OSC_RC, expected 2"
        grep -q 'changes key column id from integer to text' "$OSC_ERR" || fail "the refusal does not name the key column and types"
        assert_eq 0 "$(e_state_rows $T)" "state rows"
    else
        # not refused yet at preflight on MariaDB (src/my): the copy's first
        # verification finds the new table's text keys in another order and
        # the run aborts (exit 1); it still changes nothing
        [ "$OSC_RC" != 0 ] || fail "MODIFY id VARCHAR(20) exited 0"
    fi
    assert_eq "$before" "$(e_schema_snapshot)" "schema after the refusal"
    e_no_leftovers $T
    e_tables_equal $T $R "$COLS"
    e_expect_osc 0 --table $T --alter "$(e_pick "ALTER COLUMN id TYPE bigint" "MODIFY id BIGINT NOT NULL")"
    e_tables_equal $T $R "$COLS"

    note "--- 4. the client library's own file fills in what the URL leaves out"
    T=t_conn_file_$ENGINE
    e_fixture $T ${T}_ref 1000
    local home=$TEST_TMP/home-$ENGINE url
    mkdir -p "$home"
    if [ "$ENGINE" = pg ]; then
        # the role osc_pw needs its password (tests/servers.sh: scram over TCP)
        if [ "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = 'osc_pw'")" = 1 ]; then
            psql_q "ALTER ROLE osc_pw LOGIN SUPERUSER PASSWORD 'conn pw'" || fail "ALTER ROLE osc_pw"
        else
            psql_q "CREATE ROLE osc_pw LOGIN SUPERUSER PASSWORD 'conn pw'" || fail "CREATE ROLE osc_pw"
        fi
        url="postgres://osc_pw@127.0.0.1:$OSC_PG_PORT/osctest"
        printf '127.0.0.1:%s:osctest:osc_pw:wrong\n' "$OSC_PG_PORT" >"$home/.pgpass"
        chmod 0600 "$home/.pgpass"
    else
        url="mysql://127.0.0.1:$OSC_MY_PORT/osctest"
        printf '[client]\nuser=nobody_here\n' >"$home/.my.cnf"
    fi
    before=$(e_schema_snapshot)
    HOME=$home with_url 2 "$url" --strategy copy --table $T --alter "ADD COLUMN c INT"
    if [ "$ENGINE" = pg ]; then
        grep -q 'password authentication failed for user .*osc_pw' "$OSC_ERR" && grep -q 'password retrieved from file' "$OSC_ERR" \
            || fail "the login error does not show that the password from ~/.pgpass was sent"
    else
        grep -q "nobody_here" "$OSC_ERR" || fail "the login error does not show the user read from ~/.my.cnf"
    fi
    assert_eq "$before" "$(e_schema_snapshot)" "schema after the failed login"
    if [ "$ENGINE" = pg ]; then
        printf '127.0.0.1:%s:osctest:osc_pw:conn pw\n' "$OSC_PG_PORT" >"$home/.pgpass"
    else
        printf '[client]\nuser=root\n' >"$home/.my.cnf"
    fi
    HOME=$home with_url 0 "$url" --strategy copy --table $T --alter "ADD COLUMN c INT"
    assert_eq 1 "$(e_has_column $T c)" "$T has column c"

    note "--- 5. TLS"
    T=t_conn_tls_$ENGINE
    e_fixture $T ${T}_ref 1000
    local tls_url other=$TEST_TMP/other-ca sslmode ca
    [ -s "${OSC_TLS_CA:-}" ] || fail "no CA certificate from tests/servers.sh (OSC_TLS_CA)"
    if [ "$ENGINE" = pg ]; then
        pg_ssl on
        # tests/servers.sh's pg_hba.conf admits osc_tls over TLS only
        psql_q "DROP ROLE IF EXISTS osc_tls; CREATE ROLE osc_tls LOGIN SUPERUSER" || fail "CREATE ROLE osc_tls"
        tls_url="postgres://osc_tls@127.0.0.1:$OSC_PG_PORT/osctest"
        sslmode=sslmode ca=sslrootcert
    else
        my_q "DROP USER IF EXISTS osc_tls; CREATE USER osc_tls IDENTIFIED BY 'tls pw' REQUIRE SSL;
              GRANT ALL ON *.* TO osc_tls" || fail "CREATE USER osc_tls"
        tls_url="mysql://osc_tls:tls%20pw@127.0.0.1:$OSC_MY_PORT/osctest"
        sslmode=ssl-mode ca=ssl-ca
    fi
    before=$(e_schema_snapshot)
    # the replica has no TLS: name it (as another user), or the monitor would
    # reach it with the primary's TLS options and fail closed
    with_url 2 "$tls_url?$sslmode=$(e_pick disable DISABLED)" --table $T --alter "ADD COLUMN d INT" \
        --replica "$(e_pick "$OSC_PG_REPLICA_URL" "$OSC_MY_REPLICA_URL")"
    grep -qE "Access denied|pg_hba.conf rejects connection" "$OSC_ERR" || fail "the TLS-only user got in without TLS"
    if [ ! -s "$other/ca.pem" ]; then
        mkdir -p "$other"
        openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=not the test CA" \
            -keyout "$other/key.pem" -out "$other/ca.pem" >/dev/null 2>&1 || fail "openssl could not make a CA"
    fi
    with_url 2 "$tls_url?$sslmode=$(e_pick verify-ca VERIFY_CA)&$ca=$other/ca.pem" --table $T --alter "ADD COLUMN d INT" \
        --replica "$(e_pick "$OSC_PG_REPLICA_URL" "$OSC_MY_REPLICA_URL")"
    grep -qi "ssl\|tls\|certificate" "$OSC_ERR" || fail "no word of TLS in the refusal of a foreign CA"
    assert_eq "$before" "$(e_schema_snapshot)" "schema after the refusals"
    with_url 0 "$tls_url?$sslmode=$(e_pick verify-full VERIFY_IDENTITY)&$ca=$OSC_TLS_CA" --strategy copy --table $T \
        --alter "ADD COLUMN d INT" --replica "$(e_pick "$OSC_PG_REPLICA_URL" "$OSC_MY_REPLICA_URL")"
    assert_eq 1 "$(e_has_column $T d)" "$T has column d (migrated over TLS)"
    e_tables_equal $T ${T}_ref "$COLS"
    if [ "$ENGINE" = pg ]; then
        psql_q "REASSIGN OWNED BY osc_tls TO postgres; DROP OWNED BY osc_tls; DROP ROLE osc_tls" || fail "DROP ROLE osc_tls"
    else
        my_q "DROP USER osc_tls" || fail "DROP USER osc_tls"
    fi
    before=$(e_schema_snapshot)
    # TLS required, a server without TLS (the replica): refused by osc or the library
    with_url 2 "$(e_pick "postgres://postgres@127.0.0.1:$OSC_PG_REPLICA_PORT/osctest?sslmode=require" \
                         "mysql://root@127.0.0.1:$OSC_MY_REPLICA_PORT/osctest?ssl-mode=REQUIRED")" \
        --table $T --alter "ADD COLUMN e INT"
    grep -qi "ssl\|tls" "$OSC_ERR" || fail "no word of TLS in the refusal"
    with_url 2 "$(e_pick "postgres://postgres@127.0.0.1:$OSC_PG_PORT/osctest?sslmode=sometimes" \
                         "mysql://root@127.0.0.1:$OSC_MY_PORT/osctest?ssl-mode=SOMETIMES")" \
        --table $T --alter "ADD COLUMN e INT"
    grep -q "$sslmode" "$OSC_ERR" || fail "the refusal does not name $sslmode"
    with_url 2 "$(e_pick postgres mysql)://root@127.0.0.1:notaport/osctest" --table $T --alter "ADD COLUMN e INT"
    assert_eq "$before" "$(e_schema_snapshot)" "schema after the refusals"
    [ "$ENGINE" = pg ] && pg_ssl off
    return 0
}
for_each_engine connection_test
echo ok
