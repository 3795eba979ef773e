# shellcheck shell=bash
# Helpers for the osc proxy tests (t_proxy_*.sh). Source after lib.sh.
#
# Proxies listen on 127.0.0.1 ports from OSC_TEST_PROXY_PORT (default
# 57000; each test takes a few above it); each has its admin socket and log in
# TEST_TMP and is stopped when the test exits. OSC (build/osc or build-san/osc) runs the proxy too, so the
# sanitizer pass covers it.

PROXY_BASE_PORT=${OSC_TEST_PROXY_PORT:-57000}
PROXY_PIDS=()

_proxy_cleanup() {
    local p
    for p in "${PROXY_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${PROXY_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ -n "$PROXY_PG_DIR" ] && [ -f "$PROXY_PG_DIR/data/postmaster.pid" ]; then
        runuser -u postgres -- "${PGBIN:-/usr/lib/postgresql/15/bin}/pg_ctl" -D "$PROXY_PG_DIR/data" \
            -m immediate -w -t 20 stop >/dev/null 2>&1
    fi
    _lib_cleanup
}
trap _proxy_cleanup EXIT

# proxy_next_port PORT: the next port of the tests' range after PORT
proxy_next_port() {
    echo $((PROXY_BASE_PORT + ($1 - PROXY_BASE_PORT + 1) % 100))
}

# proxy_start NAME PORTVAR UPSTREAM [osc proxy options...]: the proxy in the
# background on the port in the variable PORTVAR (its pid in PROXY_PID_NAME,
# admin socket $TEST_TMP/NAME.sock or PROXY_ADMIN, log $TEST_TMP/NAME.log);
# returns once it answers on its admin socket. The range's ports are in the
# kernel's ephemeral range, so a client's connection (or its TIME_WAIT) may
# hold one for a while: on "Address already in use" the next port of the
# range is taken, and PORTVAR is set to the port the proxy got.
proxy_start() {
    local name=$1 portvar=$2 up=$3 pid _ try sock=${PROXY_ADMIN:-$TEST_TMP/$1.sock}
    local port=${!2}
    shift 3
    need_osc
    for ((try = 0; try < 100; try++)); do
        "$OSC" proxy --listen "127.0.0.1:$port" --upstream "$up" --admin-socket "$sock" \
            --log-format text -v "$@" >"$TEST_TMP/$name.log" 2>&1 &
        pid=$!
        PROXY_PIDS+=("$pid")
        printf -v "PROXY_PID_$name" '%s' "$pid"
        for _ in $(seq 1 200); do
            if [ -S "$sock" ] && "$OSC" proxy status --admin-socket "$sock" >/dev/null 2>&1; then
                printf -v "$portvar" '%s' "$port"
                note "proxy $name: 127.0.0.1:$port -> $up (pid $pid)"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -0 "$pid" 2>/dev/null && fail "proxy $name does not answer on $sock"
        wait "$pid" 2>/dev/null
        grep -q "Address already in use" "$TEST_TMP/$name.log" || { cat "$TEST_TMP/$name.log" >&2; fail "proxy $name did not start"; }
        note "port $port is taken: trying the next one"
        port=$(proxy_next_port "$port")
    done
    fail "proxy $name: no free port in $PROXY_BASE_PORT-$((PROXY_BASE_PORT + 99))"
}

# proxy_stop NAME: SIGTERM, wait; fails on a sanitizer report or a bad exit
proxy_stop() {
    local name=$1 pidvar="PROXY_PID_$1" rc=0
    local pid=${!pidvar}
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" || rc=$?
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TEST_TMP/$name.log"; then
        cat "$TEST_TMP/$name.log" >&2
        fail "sanitizer report from proxy $name"
    fi
    [ "$rc" = 0 ] || { tail -n 20 "$TEST_TMP/$name.log" >&2; fail "proxy $name exited $rc"; }
}

# proxy_status NAME [json]: its `osc proxy status`
proxy_status() {
    "$OSC" proxy status --admin-socket "$TEST_TMP/$1.sock" ${2:+--format "$2"}
}

# proxy_field NAME KEY: a number from its status JSON ("sessions", "held", "busy", ...)
proxy_field() {
    proxy_status "$1" json | grep -oE "\"$2\":-?[0-9]+" | head -n 1 | sed 's/.*://'
}

# proxy_wait_field NAME KEY VALUE [SECONDS]: until the status says so (default 10 s)
proxy_wait_field() {
    local name=$1 key=$2 want=$3 secs=${4:-10} i v=
    for ((i = 0; i < secs * 20; i++)); do
        v=$(proxy_field "$name" "$key")
        [ "$v" = "$want" ] && return 0
        sleep 0.05
    done
    fail "proxy $name: $key is '$v', expected $want after ${secs}s"
}

# proxy_log_has NAME REGEX: the proxy's log says so
proxy_log_has() {
    grep -qE -- "$2" "$TEST_TMP/$1.log" || { tail -n 30 "$TEST_TMP/$1.log" >&2; fail "proxy $1's log lacks /$2/"; }
}

# pgbench_check OUT: pgbench's summary in OUT: it ran, no transaction failed, no client aborted
pgbench_check() {
    local out=$1 n f
    grep -q "aborted" "$out" && { cat "$out" >&2; fail "pgbench: a client aborted ($out)"; }
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
    f=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
    [ "${n:-0}" -gt 0 ] || { cat "$out" >&2; fail "pgbench processed no transaction ($out)"; }
    [ "$f" = 0 ] || { cat "$out" >&2; fail "pgbench: $f failed transaction(s) ($out)"; }
    note "pgbench $(basename "$out"): $n transactions, 0 failed"
}

# pgbench_max_ms FROM_MS TO_MS PREFIX...: the longest latency (ms) of the
# transactions logged with -l under PREFIX* that ended between FROM and TO
# (epoch ms); pgbench 15 prints no percentiles, its log has each latency in
# microseconds (with --rate, counted from the scheduled start)
pgbench_max_ms() {
    local from=$1 to=$2
    shift 2
    local p files=()
    for p in "$@"; do files+=("$p".*); done
    cat "${files[@]}" | awk -v a="$from" -v b="$to" '
        { end = $5 * 1000 + $6 / 1000; if (end >= a && end <= b && $3 > m) m = $3 }
        END { printf "%.1f\n", m / 1000 }'
}

# pgbench_worst FROM_MS TO_MS PREFIX...: "LATENCY_MS END_EPOCH_MS" of the
# longest transaction logged under PREFIX* that ended between FROM and TO
pgbench_worst() {
    local from=$1 to=$2
    shift 2
    local p files=()
    for p in "$@"; do files+=("$p".*); done
    cat "${files[@]}" | awk -v a="$from" -v b="$to" '
        { end = $5 * 1000 + $6 / 1000; if (end >= a && end <= b && $3 > m) { m = $3; at = end } }
        END { printf "%.1f %d\n", m / 1000, at }'
}

# osc_phases FILE...: "EPOCH_MS phase" for each phase record of osc's JSON log
osc_phases() {
    cat "$@" | sed -n 's/.*"ts":"\([^"]*\)".*"event":"phase".*"phase":"\([^"]*\)".*/\1 \2/p; s/.*"ts":"\([^"]*\)".*"msg":"proxy: \(released the application\|the application is held\).*/\1 \2/p' |
        while read -r ts what; do echo "$(date -d "$ts" +%s%3N) $what"; done
}

# now_ms: epoch milliseconds
now_ms() { date +%s%3N; }

# proxy_tls_certs DIR: two throwaway CAs and a certificate for 127.0.0.1
# (and localhost) signed by each: ca.pem -> proxy-cert.pem/proxy-key.pem
# (the proxy's, for its clients), srvca.pem -> server-cert.pem/server-key.pem
# (a database server's)
proxy_tls_certs() {
    local d=$1 who
    mkdir -p "$d"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/ext.cnf"
    for who in ca:proxy srvca:server; do
        local ca=${who%%:*} leaf=${who#*:}
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=osc test $ca" \
            -keyout "$d/$ca-key.pem" -out "$d/$ca.pem" >>"$d/openssl.log" 2>&1 &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
            -keyout "$d/$leaf-key.pem" -out "$d/$leaf.csr" >>"$d/openssl.log" 2>&1 &&
        openssl x509 -req -in "$d/$leaf.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca-key.pem" -CAcreateserial \
            -days 2 -extfile "$d/ext.cnf" -out "$d/$leaf-cert.pem" >>"$d/openssl.log" 2>&1 ||
            { cat "$d/openssl.log" >&2; fail "cannot make test certificates"; }
    done
    chmod 0644 "$d"/*.pem
    chmod 0600 "$d"/*-key.pem
}

# proxy_pg_server DIR PORTVAR CERTDIR: a PostgreSQL of the test's own on the
# port in PORTVAR (the next free one of the range if it is taken; PORTVAR is
# set to it; the shared test servers allow 100 connections and speak no
# TLS): TLS with CERTDIR's server-cert.pem (signed by srvca.pem),
# max_connections 1100, the role osc_pw (password pw-secret, SCRAM) beside
# trust for the rest; stopped when the test exits
PROXY_PG_DIR=
proxy_pg_server() {
    local d=$1 portvar=$2 certs=$3 pgbin=${PGBIN:-/usr/lib/postgresql/15/bin} try
    local port=${!2}
    chmod 0755 "$TEST_TMP"
    mkdir -p "$d"
    cp "$certs/server-cert.pem" "$certs/server-key.pem" "$d/"
    chown -R postgres "$d"
    chmod 0600 "$d/server-key.pem"
    runuser -u postgres -- "$pgbin/initdb" -D "$d/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 \
        >"$d/initdb.log" 2>&1 || { cat "$d/initdb.log" >&2; fail "initdb"; }
    cat >>"$d/data/postgresql.conf" <<EOC
listen_addresses = '127.0.0.1'
unix_socket_directories = '$d'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 1100
ssl = on
ssl_cert_file = '$d/server-cert.pem'
ssl_key_file = '$d/server-key.pem'
logging_collector = off
log_min_messages = warning
EOC
    cat >"$d/data/pg_hba.conf" <<EOC
local all all              trust
host  all osc_pw 127.0.0.1/32 scram-sha-256
host  all all    127.0.0.1/32 trust
EOC
    PROXY_PG_DIR=$d
    for ((try = 0; try < 10; try++)); do
        if runuser -u postgres -- "$pgbin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 -o "-p $port" \
            start >/dev/null; then
            break
        fi
        grep -q "Address already in use" "$d/server.log" || { tail -n 20 "$d/server.log" >&2; fail "the test's own PostgreSQL did not start"; }
        port=$(proxy_next_port "$port")
    done
    echo "port = $port" >>"$d/data/postgresql.conf" # for restarts
    printf -v "$portvar" '%s' "$port"
    psql -XAtq -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE osc_pw LOGIN PASSWORD 'pw-secret'" -c "CREATE DATABASE own" || fail "own server setup"
    note "own PostgreSQL on 127.0.0.1:$port (TLS, max_connections 1100)"
}

# proxy_pg_server_ctl ACTION: pg_ctl ACTION (stop, start, restart) on it
proxy_pg_server_ctl() {
    local pgbin=${PGBIN:-/usr/lib/postgresql/15/bin} mode=()
    [ "$1" = start ] || mode=(-m fast)
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$PROXY_PG_DIR/data" -l "$PROXY_PG_DIR/server.log" -w -t 60 \
        "${mode[@]}" "$1" >/dev/null || { tail -n 20 "$PROXY_PG_DIR/server.log" >&2; fail "pg_ctl $1"; }
}
