#!/usr/bin/env bash
# Throwaway database servers for osc's integration tests.
#
#   tests/servers.sh start DIR    start a PostgreSQL 15 primary + streaming replica in DIR
#   tests/servers.sh stop DIR     stop whatever runs in DIR
#
# After `start`, DIR/env holds the variables the tests use (source it):
#   PGHOST PGPORT PGUSER PGDATABASE          libpq defaults -> the primary
#   OSC_PG_URL                               postgres://postgres@127.0.0.1:PORT/osctest
#   OSC_PG_REPLICA_URL                       the replica (PORT+1)
#   OSC_PG_REPLICA_PORT
# Ports: primary ${OSC_TEST_PG_PORT:-55432}, replica +1; 127.0.0.1 only; unix sockets in DIR.
# Test-speed settings (fsync=off etc.) are for these throwaway servers only.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${OSC_TEST_PG_PORT:-55432}
PG_REPLICA_PORT=$((PG_PORT + 1))

die() { echo "servers.sh: $*" >&2; exit 1; }

as_pg() { runuser -u postgres -- "$@"; }

pg_stop_dir() {  # DATADIR
    local d=$1
    if [ -f "$d/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
    fi
}

pg_wait_ready() {  # PORT SOCKDIR
    local _
    for _ in $(seq 1 100); do
        if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres; then return 0; fi
        sleep 0.1
    done
    return 1
}

pg_start() {
    local dir=$1 pd=$1/pg-primary rd=$1/pg-replica
    pg_stop_dir "$rd"; pg_stop_dir "$pd"
    rm -rf "$pd" "$rd"
    mkdir -p "$dir"
    chown postgres "$dir"
    chmod 0755 "$dir"

    as_pg "$PGBIN/initdb" -D "$pd" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 \
        >"$dir/pg-initdb.log" 2>&1 || { cat "$dir/pg-initdb.log" >&2; die "initdb failed"; }
    cat >>"$pd/postgresql.conf" <<EOF
# osc tests (throwaway server: speed over durability)
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '256MB'
hot_standby = on
hot_standby_feedback = on
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %a '
EOF
    cat >"$pd/pg_hba.conf" <<EOF
local   all          postgres                trust
host    all          postgres  127.0.0.1/32  trust
local   replication  postgres                trust
host    replication  postgres  127.0.0.1/32  trust
EOF
    as_pg "$PGBIN/pg_ctl" -D "$pd" -l "$dir/pg-primary.log" -w -t 30 start >/dev/null \
        || { tail -20 "$dir/pg-primary.log" >&2; die "primary did not start"; }
    pg_wait_ready "$PG_PORT" || die "primary not ready"
    "$PGBIN/psql" -XAtq -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
        -c "CREATE DATABASE osctest" || die "CREATE DATABASE failed"

    as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$rd" \
        -R -X stream -C -S replica1 -c fast --no-sync >"$dir/pg-basebackup.log" 2>&1 \
        || { cat "$dir/pg-basebackup.log" >&2; die "pg_basebackup failed"; }
    # the copied configuration names the primary's port; append ours (last one wins)
    echo "port = $PG_REPLICA_PORT" >>"$rd/postgresql.conf"
    # -R wrote primary_conninfo into postgresql.auto.conf: add the application_name
    sed -i "s/^primary_conninfo = '\(.*\)'$/primary_conninfo = '\1 application_name=replica1'/" \
        "$rd/postgresql.auto.conf"
    grep -q "application_name=replica1" "$rd/postgresql.auto.conf" || die "cannot set application_name"
    as_pg "$PGBIN/pg_ctl" -D "$rd" -l "$dir/pg-replica.log" -w -t 30 start >/dev/null \
        || { tail -20 "$dir/pg-replica.log" >&2; die "replica did not start"; }
    pg_wait_ready "$PG_REPLICA_PORT" || die "replica not ready"

    local n=0
    for _ in $(seq 1 100); do
        n=$("$PGBIN/psql" -XAtq -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
            -c "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'replica1' AND state = 'streaming'")
        [ "$n" = 1 ] && break
        sleep 0.1
    done
    [ "$n" = 1 ] || die "replica is not streaming"

    cat >"$dir/env" <<EOF
export PGHOST=127.0.0.1
export PGPORT=$PG_PORT
export PGUSER=postgres
export PGDATABASE=osctest
export OSC_PG_PORT=$PG_PORT
export OSC_PG_REPLICA_PORT=$PG_REPLICA_PORT
export OSC_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/osctest
export OSC_PG_REPLICA_URL=postgres://postgres@127.0.0.1:$PG_REPLICA_PORT/osctest
export OSC_TEST_DIR=$dir
EOF
    chmod 0644 "$dir/env"
}

pg_stop() {
    local dir=$1
    pg_stop_dir "$dir/pg-replica"
    pg_stop_dir "$dir/pg-primary"
}

# ---- MariaDB ---------------------------------------------------------------
# TODO(mariadb): start a MariaDB primary + replica here (see ENVIRONMENT.md:
# mariadb-install-db --no-defaults --user=mysql --auth-root-authentication-method=normal,
# mariadbd --no-defaults --user=mysql, ports ${OSC_TEST_MY_PORT:-53306} and +1, 127.0.0.1)
# and append OSC_MY_URL / OSC_MY_REPLICA_URL to DIR/env. Stop it in my_stop.
my_start() { :; }
my_stop() { :; }
# ---------------------------------------------------------------------------

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|stop DIR"
[ "$(id -u)" = 0 ] || die "run as root (servers run as user postgres through runuser)"
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac

case $cmd in
start) pg_start "$dir"; my_start "$dir"; echo "servers up in $dir (env: $dir/env)" ;;
stop)  my_stop "$dir"; pg_stop "$dir" ;;
*) die "usage: $0 start|stop DIR" ;;
esac
