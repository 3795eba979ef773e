# shellcheck shell=bash
# One test body, both engines: `eng_use pg` or `eng_use my` points these
# helpers at PostgreSQL or MariaDB (the servers tests/servers.sh started), so a
# test whose behaviour is the same on both runs its body once per engine:
#     for_each_engine my_test_body
# OSC_TEST_ENGINES="pg" (or "my") runs one engine only (tests/run.sh's
# sanitizer pass uses it).  Source after lib.sh (and lib_control.sh, if the
# test uses it: eng_use points its commands at the engine too).
#
# Names: the e_* helpers take plain names; on MariaDB everything is in the
# database osctest, on PostgreSQL in the schema public.  ALTER text that both
# servers read the same way (ADD COLUMN c int DEFAULT 1, ...) is shared; where
# the engines differ, `e_pick PG MY` chooses.

ENGINE=pg
ENG_URL=${OSC_PG_URL:-}
eng_use() {
    ENGINE=$1
    case $ENGINE in
    pg) ENG_URL=$OSC_PG_URL; ENG_REPLICA_PORT=$OSC_PG_REPLICA_PORT ;;
    my) need_my; ENG_URL=$OSC_MY_URL; ENG_REPLICA_PORT=$OSC_MY_REPLICA_PORT ;;
    *) fail "eng_use: unknown engine $1" ;;
    esac
    CTL_URL=$ENG_URL        # lib_control.sh's commands (status, pause ...)
    note "--- engine: $ENGINE"
}

# for_each_engine FUNC [ARGS...]: FUNC once per engine of OSC_TEST_ENGINES
# (default: pg my), each after eng_use
for_each_engine() {
    local e
    for e in ${OSC_TEST_ENGINES:-pg my}; do
        eng_use "$e"
        "$@"
    done
}

# e_pick PG MY: prints PG on PostgreSQL, MY on MariaDB
e_pick() { if [ "$ENGINE" = pg ]; then printf '%s' "$1"; else printf '%s' "$2"; fi; }

e_q()              { if [ "$ENGINE" = pg ]; then psql_q "$@"; else my_q "$@"; fi; }
e_replica_q()      { if [ "$ENGINE" = pg ]; then psql_replica "$@"; else my_replica_q "$@"; fi; }
e_ql()             { if [ "$ENGINE" = pg ]; then ql "$@"; else my_ql "$@"; fi; }
e_start_writer()   { if [ "$ENGINE" = pg ]; then start_writer int "$@"; else start_mywriter int "$@"; fi; }
e_stop_writer()    { if [ "$ENGINE" = pg ]; then stop_writer; else stop_mywriter; fi; }
e_tables_equal()   { if [ "$ENGINE" = pg ]; then tables_equal "$@"; else my_tables_equal "$@"; fi; }
e_no_leftovers()   { if [ "$ENGINE" = pg ]; then no_osc_leftovers "$@"; else my_no_osc_leftovers "$@"; fi; }
e_run_osc()        { if [ "$ENGINE" = pg ]; then run_osc "$@"; else run_osc_my "$@"; fi; }
e_expect_osc()     { if [ "$ENGINE" = pg ]; then expect_osc "$@"; else expect_osc_my "$@"; fi; }
e_osc_bg()         { if [ "$ENGINE" = pg ]; then osc_bg "$@"; else osc_bg_my "$@"; fi; }
e_schema_snapshot() { if [ "$ENGINE" = pg ]; then schema_snapshot; else my_schema_snapshot; fi; }
e_assert_true()    { if [ "$ENGINE" = pg ]; then assert_true "$@"; else my_assert_true "$@"; fi; }

# e_fixture T R ROWS: the int-keyed fixture; e_fixture_kind KIND T R ROWS any
# layout the engine's fixture has (KIND text is varchar on MariaDB).  Both
# start without state rows of T (a test run twice against the same servers
# starts afresh).
e_fixture() { e_fixture_kind int "$@"; }
e_fixture_kind() {
    local kind=$1
    shift
    if [ "$ENGINE" = pg ]; then
        osc_state_forget "$1"
        fixture "$kind" "$@"
    else
        [ "$kind" = text ] && kind=varchar
        my_fixture "$kind" "$@"
    fi
}

# e_migrate_with_writer KIND T R ALTER [osc options...]
e_migrate_with_writer() {
    if [ "$ENGINE" = pg ]; then
        migrate_with_writer "$@"
    else
        local kind=$1
        shift
        [ "$kind" = text ] && kind=varchar
        my_migrate_with_writer "$kind" "$@"
    fi
}

# e_alter_ref R ALTER: the plain ALTER on the mirror
e_alter_ref() { e_q "ALTER TABLE $1 $2" >/dev/null || fail "ALTER of the mirror $1: $2"; }

# e_has_column T C: prints 1 or 0
e_has_column() {
    if [ "$ENGINE" = pg ]; then
        [ "$(has_column "$1" "$2")" = t ] && echo 1 || echo 0
    else
        my_has_column "$1" "$2"
    fi
}

# e_has_index T I: prints 1 or 0
e_has_index() {
    if [ "$ENGINE" = pg ]; then
        psql_q "SELECT count(*) FROM pg_index WHERE indrelid = $(ql "$1")::regclass
                AND indexrelid = to_regclass($(ql "$2"))"
    else
        my_has_index "$1" "$2"
    fi
}

# e_has_table T: prints 1 or 0
e_has_table() {
    if [ "$ENGINE" = pg ]; then
        psql_q "SELECT count(*) FROM pg_class WHERE oid = to_regclass($(ql "public.$(qi "$1")"))"
    else
        my_has_table "$1"
    fi
}

# e_old_table T: the name osc keeps the original under after a swap
e_old_table() { e_pick "_${1}_osc_old" "${1}_osc_old"; }

# ---- the state table (osc.migrations / _osc_migrations) ----
# e_state T FIELD: FIELD (SQL over the state table) of T's newest state row;
# empty without one
e_state() {
    if [ "$ENGINE" = pg ]; then
        osc_state "$1" "$2"
    else
        [ "$(my_has_table _osc_migrations)" = 1 ] || return 0
        my_q "SELECT $2 FROM _osc_migrations WHERE table_name = $(my_ql "$1") ORDER BY id DESC LIMIT 1"
    fi
}

# e_state_rows T: T's state rows (0 without a state table)
e_state_rows() {
    if [ "$ENGINE" = pg ]; then
        osc_state_rows "$1"
    elif [ "$(my_has_table _osc_migrations)" = 1 ]; then
        my_q "SELECT COUNT(*) FROM _osc_migrations WHERE table_name = $(my_ql "$1")"
    else
        echo 0
    fi
}

# e_capture_triggers T: osc's capture triggers on T (PostgreSQL: 1 when
# installed, MariaDB: 3, one per event)
e_capture_triggers() {
    if [ "$ENGINE" = pg ]; then
        osc_triggers "$1"
    else
        my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'osctest'
              AND EVENT_OBJECT_TABLE = $(my_ql "$1") AND TRIGGER_NAME LIKE $(my_ql "${1}_osc_%")"
    fi
}

# ---- sessions ----
# e_sessions / e_wait_sessions_at_most N: the server's other client sessions
e_sessions() {
    if [ "$ENGINE" = pg ]; then
        psql_q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    else
        my_sessions
    fi
}
e_wait_sessions_at_most() {
    local want=$1 n i
    for ((i = 0; i < 100; i++)); do
        n=$(e_sessions)
        [ "$n" -le "$want" ] && return 0
        sleep 0.1
    done
    note "warning: $n sessions still open (expected at most $want)"
}

# ---- the replica ----
# e_replica_stop / e_replica_start: the replica stops / goes on applying the
# primary's changes (WAL replay paused; the SQL thread stopped), so that its
# lag grows from now on
e_replica_stop() {
    if [ "$ENGINE" = pg ]; then
        psql_replica "SELECT pg_wal_replay_pause()" >/dev/null || fail "pg_wal_replay_pause failed"
    else
        my_replica_q "STOP SLAVE SQL_THREAD" || fail "STOP SLAVE SQL_THREAD"
    fi
}
e_replica_start() {
    if [ "$ENGINE" = pg ]; then
        psql_replica "SELECT pg_wal_replay_resume()" >/dev/null || fail "pg_wal_replay_resume failed"
    else
        my_replica_q "START SLAVE SQL_THREAD" || fail "START SLAVE SQL_THREAD"
    fi
}
# e_replica_start_quietly: the same, for an EXIT trap (never fails)
e_replica_start_quietly() {
    psql_replica "SELECT pg_wal_replay_resume()" >/dev/null 2>&1
    [ -n "${OSC_MY_PORT:-}" ] && my_replica_q "START SLAVE SQL_THREAD" >/dev/null 2>&1
    return 0
}
e_wait_replica_caught_up() {
    if [ "$ENGINE" = pg ]; then wait_replica_caught_up "$@"; else my_wait_replica_caught_up "$@"; fi
}

# plan_has REGEX...: the last osc run's output (an osc plan) has each
plan_has() {
    local re
    for re in "$@"; do
        grep -qE -- "$re" "$OSC_OUT" || { cat "$OSC_OUT" >&2; fail "the plan lacks /$re/"; }
    done
}
