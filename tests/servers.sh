#!/usr/bin/env bash
# Throwaway database servers for osc's integration tests.
#
#   tests/servers.sh start DIR    start a PostgreSQL 15 primary + streaming replica in DIR,
#                                 and a MariaDB primary + replica
#   tests/servers.sh stop DIR     stop whatever runs in DIR
#   tests/servers.sh my-replica-detach|my-replica-attach DIR
#                                 the MariaDB replica stops (starts) replicating, so
#                                 the primary knows no replica (tests of NOCOPY)
#   tests/servers.sh my-primary-restart DIR
#                                 the MariaDB primary shuts down and starts again
#
# After `start`, DIR/env holds the variables the tests use (source it):
#   PGHOST PGPORT PGUSER PGDATABASE          libpq defaults -> the primary
#   OSC_PG_URL                               postgres://postgres@127.0.0.1:PORT/osctest
#   OSC_PG_REPLICA_URL                       the replica (PORT+1)
#   OSC_PG_REPLICA_PORT
#   OSC_MY_PORT OSC_MY_REPLICA_PORT          MariaDB primary and replica (GTID replication)
#   OSC_MY_URL                               mysql://root@127.0.0.1:PORT/osctest
#   OSC_MY_REPLICA_URL                       the MariaDB replica (PORT+1)
#   OSC_TLS_CA (and OSC_MY_TLS_CA)           the CA of both primaries' certificates
# Ports: primary ${OSC_TEST_PG_PORT:-55432}, replica +1; 127.0.0.1 only; unix sockets in DIR.
# MariaDB: ${OSC_TEST_MY_PORT:-53306} and +1.
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
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '256MB'
hot_standby = on
hot_standby_feedback = on
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %a '
EOF
    # the primary's certificate (tls_certs); its ssl stays off but while
    # t_connection switches it on, so that the suite's connections are plain
    install -o postgres -m 0644 "$dir/tls/server-cert.pem" "$pd/server.crt"
    install -o postgres -m 0600 "$dir/tls/server-key.pem" "$pd/server.key"
    cat >"$pd/pg_hba.conf" <<EOF
local   all          postgres                trust
host    all          postgres  127.0.0.1/32  trust
local   replication  postgres                trust
host    replication  postgres  127.0.0.1/32  trust
# tests that need a password (secrets, TLS) connect as the role osc_pw
host    all          osc_pw    127.0.0.1/32  scram-sha-256
# the role osc_tls gets in over TLS only (t_connection)
hostssl   all        osc_tls   127.0.0.1/32  trust
hostnossl all        osc_tls   127.0.0.1/32  reject
# tests of limited roles (privileges, row security) connect as other roles
local   all          all                     trust
host    all          all       127.0.0.1/32  trust
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
export OSC_TLS_CA=$dir/tls/ca.pem
EOF
    chmod 0644 "$dir/env"
}

pg_stop() {
    local dir=$1
    pg_stop_dir "$dir/pg-replica"
    pg_stop_dir "$dir/pg-primary"
}

# tls_certs DIR: a CA and a server certificate for 127.0.0.1 signed by it,
# in DIR/tls (ca.pem, server-cert.pem, server-key.pem; the key readable by
# mysql), for both primaries (t_connection): MariaDB's speaks TLS from the
# start, PostgreSQL's has the files and t_connection switches its ssl on
tls_certs() {
    local t=$1/tls
    rm -rf "$t"; mkdir -p "$t"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=osc test CA" \
        -keyout "$t/ca-key.pem" -out "$t/ca.pem" >"$t/openssl.log" 2>&1 &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$t/server-key.pem" -out "$t/server.csr" >>"$t/openssl.log" 2>&1 &&
    printf 'subjectAltName=IP:127.0.0.1\n' >"$t/ext.cnf" &&
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial \
        -days 2 -extfile "$t/ext.cnf" -out "$t/server-cert.pem" >>"$t/openssl.log" 2>&1 ||
        { cat "$t/openssl.log" >&2; return 1; }
    chmod 0755 "$t"
    chown -R mysql "$t"
}

# ---- MariaDB ---------------------------------------------------------------
# A primary on 127.0.0.1:${OSC_TEST_MY_PORT:-53306} and a GTID replica on +1.
# Each lives in DIR/my-primary or DIR/my-replica (owned by mysql): data/,
# mysqld.sock, mysqld.pid, error.log. Every MariaDB command runs with
# --no-defaults, so /etc/mysql is never read. root has no password (TCP from
# 127.0.0.1 and the socket). Test-speed settings (flush at commit 2,
# sync_binlog 0) are for these throwaway servers only.
MY_PORT=${OSC_TEST_MY_PORT:-53306}
MY_REPLICA_PORT=$((MY_PORT + 1))
MYBIN=${MYBIN:-/usr/sbin/mariadbd}

# my_cli PORT SQL: run SQL as root over TCP
my_cli() {
    mariadb --no-defaults -h127.0.0.1 -P"$1" -uroot --connect-timeout=5 -N -B -e "$2"
}

# my_pid_of D: the pid in D's pid file (fails when there is none)
my_pid_of() { [ -s "$1/mysqld.pid" ] && cat "$1/mysqld.pid"; }

# my_stop_dir D: shut down the server in D (socket), then kill it after a bound
my_stop_dir() {
    local d=$1 pid
    pid=$(my_pid_of "$d") || return 0
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        timeout 15 mariadb-admin --no-defaults --socket="$d/mysqld.sock" -uroot \
            --connect-timeout=2 shutdown >/dev/null 2>&1 || true
        local _
        for _ in $(seq 1 150); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "servers.sh: mariadbd $pid in $d did not shut down: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    fi
    rm -f "$d/mysqld.pid"
}

# my_init D: an empty data directory in D/data (owned by mysql)
my_init() {
    local d=$1
    mkdir -p "$d" "$d/tmp"
    chown mysql:mysql "$d" "$d/tmp"
    chmod 0755 "$d"
    chmod 0700 "$d/tmp"
    # one retry: a clean-clone CI run once saw install-db fail with an empty
    # log while the sanitizer build had just loaded the machine
    local try
    for try in 1 2; do
        rm -rf "$d/data"
        if mariadb-install-db --no-defaults --user=mysql --auth-root-authentication-method=normal \
            --skip-test-db --skip-name-resolve --datadir="$d/data" >"$d/install-db.log" 2>&1; then
            return 0
        fi
        echo "servers.sh: mariadb-install-db failed in $d (try $try); its log:" >&2
        tail -n 20 "$d/install-db.log" >&2
        sleep 1
    done
    return 1
}

# my_launch D PORT SERVER_ID [OPTION...]: start mariadbd in the background
my_launch() {
    local d=$1 port=$2 id=$3
    shift 3
    setsid "$MYBIN" --no-defaults --user=mysql "$@" \
        --datadir="$d/data" --socket="$d/mysqld.sock" --pid-file="$d/mysqld.pid" \
        --log-error="$d/error.log" --tmpdir="$d/tmp" \
        --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
        --server-id="$id" --log-bin=mysql-bin --binlog-format=ROW \
        --report-host=127.0.0.1 --report-port="$port" \
        --innodb-buffer-pool-size=128M --innodb-log-file-size=64M \
        --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
        --max-connections=200 --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_general_ci \
        </dev/null >>"$d/mariadbd.out" 2>&1 &
}

# my_launch_primary DIR PORT: the primary, which speaks TLS (t_connection);
# the replica does not
my_launch_primary() {
    my_launch "$1/my-primary" "$2" 1 --ssl-ca="$1/tls/ca.pem" \
        --ssl-cert="$1/tls/server-cert.pem" --ssl-key="$1/tls/server-key.pem"
}

# my_wait_ready D PORT: mariadb-admin ping answers (max 30 s) while the process lives
my_wait_ready() {
    local d=$1 port=$2 _
    for _ in $(seq 1 300); do
        if mariadb-admin --no-defaults -h127.0.0.1 -P"$port" -uroot --connect-timeout=1 \
            ping >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

my_fail() {  # D WHAT
    echo "servers.sh: MariaDB $2 (port ${3:-?}); last lines of $1/error.log:" >&2
    tail -n 20 "$1/error.log" "$1/mariadbd.out" "$1/install-db.log" 2>/dev/null >&2
    die "MariaDB $2"
}

my_start() {
    local dir=$1 md=$1/my-primary rd=$1/my-replica
    [ -x "$MYBIN" ] || die "MariaDB: $MYBIN not found (apt-get install mariadb-server mariadb-client)"
    my_stop_dir "$rd"; my_stop_dir "$md"
    rm -rf "$md" "$rd"
    mkdir -p "$dir"

    # both data directories and both servers in parallel
    local p1 p2
    my_init "$md" & p1=$!
    my_init "$rd" & p2=$!
    wait "$p1" || my_fail "$md" "install-db failed (primary)"
    wait "$p2" || my_fail "$rd" "install-db failed (replica)"
    my_launch_primary "$dir" "$MY_PORT"
    my_launch "$rd" "$MY_REPLICA_PORT" 2
    my_wait_ready "$md" "$MY_PORT" || my_fail "$md" "primary did not start" "$MY_PORT"
    my_wait_ready "$rd" "$MY_REPLICA_PORT" || my_fail "$rd" "replica did not start" "$MY_REPLICA_PORT"

    my_cli "$MY_PORT" "CREATE DATABASE osctest" || my_fail "$md" "CREATE DATABASE osctest failed" "$MY_PORT"
    # one named zone with daylight saving (t_my_timestamp_key), not all of
    # them: the whole zoneinfo takes about 3 s, this one about 0.1 s
    mariadb-tzinfo-to-sql /usr/share/zoneinfo/Europe/Berlin Europe/Berlin 2>/dev/null \
        | mariadb --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot --connect-timeout=5 mysql \
        || my_fail "$md" "loading the time zone Europe/Berlin failed" "$MY_PORT"
    my_cli "$MY_REPLICA_PORT" "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$MY_PORT,
            MASTER_USER='root', MASTER_PASSWORD='', MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos;
            START SLAVE" || my_fail "$rd" "CHANGE MASTER / START SLAVE failed" "$MY_REPLICA_PORT"
    local st="" _
    for _ in $(seq 1 100); do
        st=$(mariadb --no-defaults -h127.0.0.1 -P"$MY_REPLICA_PORT" -uroot --connect-timeout=5 \
                 -e "SHOW SLAVE STATUS\G" 2>/dev/null \
             | awk -F': ' '/^ *Slave_(IO|SQL)_Running:/ { printf "%s ", $2 }')
        [ "$st" = "Yes Yes " ] && break
        sleep 0.1
    done
    if [ "$st" != "Yes Yes " ]; then
        mariadb --no-defaults -h127.0.0.1 -P"$MY_REPLICA_PORT" -uroot -e "SHOW SLAVE STATUS\G" >&2 || true
        my_fail "$rd" "replica is not replicating (IO/SQL running: ${st:-?})" "$MY_REPLICA_PORT"
    fi
    # the database reached the replica
    local n=0
    for _ in $(seq 1 100); do
        n=$(my_cli "$MY_REPLICA_PORT" "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'osctest'")
        [ "$n" = 1 ] && break
        sleep 0.1
    done
    [ "$n" = 1 ] || my_fail "$rd" "database osctest did not reach the replica" "$MY_REPLICA_PORT"

    cat >"$dir/env.my" <<EOF
export OSC_MY_PORT=$MY_PORT
export OSC_MY_REPLICA_PORT=$MY_REPLICA_PORT
export OSC_MY_URL=mysql://root@127.0.0.1:$MY_PORT/osctest
export OSC_MY_REPLICA_URL=mysql://root@127.0.0.1:$MY_REPLICA_PORT/osctest
export OSC_MY_TLS_CA=$dir/tls/ca.pem
EOF
}

# my_wait_replicas PORT N: the primary at PORT lists N replicas (max 10 s)
my_wait_replicas() {
    local _
    for _ in $(seq 1 100); do
        [ "$(my_cli "$1" "SHOW SLAVE HOSTS" | wc -l)" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

my_stop() {
    local dir=$1 p1 p2
    my_stop_dir "$dir/my-replica" & p1=$!
    my_stop_dir "$dir/my-primary" & p2=$!
    wait "$p1" "$p2" || true
}
# ---------------------------------------------------------------------------

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|stop DIR"
[ "$(id -u)" = 0 ] || die "run as root (servers run as user postgres through runuser)"
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac

case $cmd in
start)
    # MariaDB starts in the background while PostgreSQL starts; its variables
    # are appended to DIR/env once both are up
    mkdir -p "$dir"
    rm -f "$dir/env.my"
    chown postgres "$dir"
    chmod 0755 "$dir"
    tls_certs "$dir" || die "could not make the TLS certificates (openssl)"
    ( my_start "$dir" ) & my_job=$!
    pg_rc=0
    ( pg_start "$dir" ) & pg_job=$!   # a job of its own, so that set -e holds inside
    wait "$pg_job" || pg_rc=$?
    my_rc=0
    wait "$my_job" || my_rc=$?
    [ "$pg_rc" = 0 ] || die "PostgreSQL did not start"
    [ "$my_rc" = 0 ] || die "MariaDB did not start"
    cat "$dir/env.my" >>"$dir/env"
    rm -f "$dir/env.my"
    echo "servers up in $dir (env: $dir/env)" ;;
stop)  my_stop "$dir"; pg_stop "$dir" ;;
# the PostgreSQL replica alone, for tests of a replica that goes away
pg-replica-stop)
    # a restartpoint first (a CHECKPOINT on the primary, replayed, then one on
    # the replica): a standby that never made one replays all the WAL since its
    # base backup when it starts again (11 s late in the suite)
    pp=${OSC_PG_PORT:-$PG_PORT} rp=${OSC_PG_REPLICA_PORT:-$PG_REPLICA_PORT}
    pg_cli() { "$PGBIN/psql" -XAtq -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"; }
    lsn=$(pg_cli "$pp" "CHECKPOINT; SELECT pg_current_wal_lsn()") || die "CHECKPOINT on the primary failed"
    for _ in $(seq 1 100); do
        [ "$(pg_cli "$rp" "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
        sleep 0.05
    done
    pg_cli "$rp" "CHECKPOINT" || true
    pg_stop_dir "$dir/pg-replica" ;;
pg-replica-start)
    as_pg "$PGBIN/pg_ctl" -D "$dir/pg-replica" -l "$dir/pg-replica.log" -w -t 30 start >/dev/null \
        || { tail -20 "$dir/pg-replica.log" >&2; die "replica did not start"; }
    pg_wait_ready "${OSC_PG_REPLICA_PORT:-$PG_REPLICA_PORT}" || die "replica not ready" ;;
# the MariaDB replica detached from the primary (its server keeps running):
# SHOW SLAVE HOSTS on the primary is empty until my-replica-attach
my-replica-detach)
    mp=${OSC_MY_PORT:-$MY_PORT} rp=${OSC_MY_REPLICA_PORT:-$MY_REPLICA_PORT}
    my_cli "$rp" "STOP SLAVE" || die "STOP SLAVE on the MariaDB replica failed"
    # the primary's dump thread notices the gone replica only at its next
    # event: end it, so that the replica leaves SHOW SLAVE HOSTS now
    for id in $(my_cli "$mp" "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'"); do
        my_cli "$mp" "KILL $id" 2>/dev/null || true
    done
    my_wait_replicas "$mp" 0 || die "the MariaDB primary still lists a replica" ;;
# the MariaDB primary shut down and started again (t_connection); its
# replica reconnects by itself
my-primary-restart)
    mp=${OSC_MY_PORT:-$MY_PORT}
    my_stop_dir "$dir/my-primary"
    my_launch_primary "$dir" "$mp"
    my_wait_ready "$dir/my-primary" "$mp" || my_fail "$dir/my-primary" "primary did not start again" "$mp" ;;
my-replica-attach)
    mp=${OSC_MY_PORT:-$MY_PORT} rp=${OSC_MY_REPLICA_PORT:-$MY_REPLICA_PORT}
    my_cli "$rp" "START SLAVE" || die "START SLAVE on the MariaDB replica failed"
    pos=$(my_cli "$mp" "SELECT @@GLOBAL.gtid_binlog_pos")
    [ "$(my_cli "$rp" "SELECT MASTER_GTID_WAIT('$pos', 30)")" = 0 ] || die "the MariaDB replica did not catch up"
    my_wait_replicas "$mp" 1 || die "the MariaDB primary does not list its replica again" ;;
*) die "usage: $0 start|stop|pg-replica-stop|pg-replica-start|my-replica-detach|my-replica-attach|my-primary-restart DIR" ;;
esac
