# shellcheck shell=bash
# One test body, both engines: `eng_use pg` or `eng_use my` points these
# helpers at PostgreSQL or MariaDB (the servers tests/servers.sh started), so a
# test whose behaviour is the same on both runs its body once per engine.
# Source after lib.sh.

ENGINE=pg
eng_use() {
    ENGINE=$1
    case $ENGINE in
    pg) ENG_URL=$OSC_PG_URL ;;
    my) need_my; ENG_URL=$OSC_MY_URL ;;
    *) fail "eng_use: unknown engine $1" ;;
    esac
    note "--- engine: $ENGINE"
}

e_q()              { if [ "$ENGINE" = pg ]; then psql_q "$@"; else my_q "$@"; fi; }
e_fixture()        { if [ "$ENGINE" = pg ]; then fixture int "$@"; else my_fixture int "$@"; fi; }
e_start_writer()   { if [ "$ENGINE" = pg ]; then start_writer int "$@"; else start_mywriter int "$@"; fi; }
e_stop_writer()    { if [ "$ENGINE" = pg ]; then stop_writer; else stop_mywriter; fi; }
e_tables_equal()   { if [ "$ENGINE" = pg ]; then tables_equal "$@"; else my_tables_equal "$@"; fi; }
e_no_leftovers()   { if [ "$ENGINE" = pg ]; then no_osc_leftovers "$@"; else my_no_osc_leftovers "$@"; fi; }
e_expect_osc()     { if [ "$ENGINE" = pg ]; then expect_osc "$@"; else expect_osc_my "$@"; fi; }

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
