#!/usr/bin/env bash
# t_proxy_metrics — osc proxy --metrics HOST:PORT serves the proxy's numbers
# at /metrics in Prometheus's text format, scraped with curl, on PostgreSQL
# and MariaDB (TLS on the client leg; on MariaDB on the server leg too):
#  - its info (protocol, listen, upstream); connections now and accepted,
#    bytes each way, TLS handshakes by leg after a client's query;
#  - a hold (osc proxy hold): hold_active 1 and a client's request held
#    (held_requests 1) while it lasts; after its release holds_total 1,
#    held_requests_total 1, hold time > 0;
#  - a client that speaks no protocol: errors_total{kind="protocol"} 1;
#  - other paths are 404; the endpoint ends with the proxy;
#  - an address that cannot be used (malformed, taken) is bad input: exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_proxy.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
command -v curl >/dev/null || fail "curl is needed to scrape the metrics"

CERTS=$TEST_TMP/tls
proxy_tls_certs "$CERTS"
MPORT=$((OSC_PG_PORT + 54))
MADDR=127.0.0.1:$MPORT
MURL=http://$MADDR/metrics

# metric SCRAPE NAME{LABELS}: the value of one series (empty when absent)
metric() { grep -F -- "$2 " "$1" | grep -v '^#' | head -n 1 | awk '{print $NF}'; }

# scrape_until FILE SERIES VALUE: scrapes into FILE until SERIES has VALUE (20 s)
scrape_until() {
    local i
    for ((i = 0; i < 200; i++)); do
        curl -sf "$MURL" >"$1" 2>/dev/null && [ "$(metric "$1" "$2")" = "$3" ] && return 0
        sleep 0.1
    done
    cat "$1" >&2
    fail "$2 is not $3: '$(metric "$1" "$2")'"
}

proxy_metrics_test() {
    local name=pm_$ENGINE PORT=$((PROXY_BASE_PORT + 30)) S=$TEST_TMP/scrape up
    if [ "$ENGINE" = pg ]; then
        up="postgres://127.0.0.1:$OSC_PG_PORT?sslmode=disable"
    else
        up="mysql://127.0.0.1:$OSC_MY_PORT?ssl-mode=VERIFY_IDENTITY&ssl-ca=$OSC_MY_TLS_CA"
    fi
    proxy_start "$name" PORT "$up" --tls-cert "$CERTS/proxy-cert.pem" --tls-key "$CERTS/proxy-key.pem" \
        --metrics "$MADDR"
    # a client of the proxy over TLS
    client() {
        if [ "$ENGINE" = pg ]; then
            psql "host=127.0.0.1 port=$PORT dbname=osctest user=postgres sslmode=require" -XAtc "$1"
        else
            mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot --ssl --ssl-ca="$CERTS/ca.pem" \
                --ssl-verify-server-cert osctest -N -B -e "$1"
        fi
    }

    scrape_until "$S" osc_proxy_connections 0
    grep -qE "^osc_proxy_info\{engine=\"$(e_pick postgresql mysql)\",listen=\"127.0.0.1:$PORT\",upstream=\"$(e_pick postgres mysql)://127.0.0.1:$(e_pick "$OSC_PG_PORT" "$OSC_MY_PORT")\"\} 1$" "$S" \
        || { cat "$S" >&2; fail "no osc_proxy_info"; }
    grep -q '^# TYPE osc_proxy_connections_total counter$' "$S" || fail "no TYPE line"
    assert_eq 1 "$(client "SELECT 1")" "a query through the proxy"
    scrape_until "$S" osc_proxy_connections 0
    [ "$(metric "$S" osc_proxy_connections_total)" -ge 1 ] || fail "no connection counted"
    [ "$(metric "$S" 'osc_proxy_bytes_total{direction="client_to_server"}')" -gt 0 ] || fail "no bytes to the server"
    [ "$(metric "$S" 'osc_proxy_bytes_total{direction="server_to_client"}')" -gt 0 ] || fail "no bytes to the client"
    assert_eq 1 "$(metric "$S" 'osc_proxy_tls_handshakes_total{leg="client"}')" "client TLS handshakes"
    assert_eq "$(e_pick 0 1)" "$(metric "$S" 'osc_proxy_tls_handshakes_total{leg="server"}')" "server TLS handshakes"
    assert_eq 0 "$(metric "$S" osc_proxy_holds_total)" "holds before the hold"

    # a hold: a client's request waits in it, then goes
    "$OSC" proxy hold --admin-socket "$TEST_TMP/$name.sock" --for 3s >"$TEST_TMP/hold.out" 2>&1 &
    local holder=$!
    scrape_until "$S" osc_proxy_hold_active 1
    client "SELECT 2" >"$TEST_TMP/held.out" 2>&1 &
    local held=$!
    scrape_until "$S" osc_proxy_held_requests 1
    [ "$(metric "$S" osc_proxy_connections)" -ge 1 ] || fail "the held client is not a connection"
    wait "$held" || { cat "$TEST_TMP/held.out" >&2; fail "the held client failed"; }
    assert_eq 2 "$(cat "$TEST_TMP/held.out")" "the held client's answer"
    wait "$holder"
    scrape_until "$S" osc_proxy_holds_total 1
    assert_eq 0 "$(metric "$S" osc_proxy_hold_active)" "hold_active after the release"
    assert_eq 0 "$(metric "$S" osc_proxy_held_requests)" "held requests after the release"
    assert_eq 1 "$(metric "$S" osc_proxy_held_requests_total)" "requests that waited"
    awk '$1 == "osc_proxy_hold_seconds_total" && $2 > 0 { ok = 1 } END { exit !ok }' "$S" || fail "no hold time"

    # a client that speaks no database protocol (and reads until the proxy
    # hangs up: on MariaDB the server's greeting comes first)
    timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3 >/dev/null' \
        _ "$PORT" || fail "the proxy did not hang up on a client that speaks no protocol"
    scrape_until "$S" 'osc_proxy_errors_total{kind="protocol"}' 1
    assert_eq 0 "$(metric "$S" 'osc_proxy_errors_total{kind="upstream"}')" "upstream errors"
    assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://$MADDR/")" "another path"
    proxy_stop "$name"
    curl -sf "$MURL" >/dev/null 2>&1 && fail "the endpoint outlived the proxy"
    return 0
}

for_each_engine proxy_metrics_test

# bad addresses: exit 2, the proxy does not start
rc=0
"$OSC" proxy --listen 127.0.0.1:$((PROXY_BASE_PORT + 31)) --upstream "postgres://127.0.0.1:$OSC_PG_PORT" \
    --admin-socket "$TEST_TMP/bad.sock" --metrics nonsense >"$TEST_TMP/bad.out" 2>&1 || rc=$?
assert_eq 2 "$rc" "exit status for --metrics nonsense"
grep -q -- "--metrics: expected HOST:PORT" "$TEST_TMP/bad.out" || fail "a malformed address not explained"
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); open(sys.argv[2], "w").close(); time.sleep(30)' \
    "$MPORT" "$TEST_TMP/taken" &
holder=$!
for _ in $(seq 1 100); do [ -e "$TEST_TMP/taken" ] && break; sleep 0.05; done
[ -e "$TEST_TMP/taken" ] || fail "could not take port $MPORT"
rc=0
"$OSC" proxy --listen 127.0.0.1:$((PROXY_BASE_PORT + 31)) --upstream "postgres://127.0.0.1:$OSC_PG_PORT" \
    --admin-socket "$TEST_TMP/bad.sock" --metrics "$MADDR" >"$TEST_TMP/bad.out" 2>&1 || rc=$?
kill $holder 2>/dev/null
wait $holder 2>/dev/null
assert_eq 2 "$rc" "exit status for a taken --metrics port"
grep -q -- "--metrics $MADDR: cannot listen there" "$TEST_TMP/bad.out" || fail "a taken port not explained"
[ -e "$TEST_TMP/bad.sock" ] && fail "the refused proxy left its admin socket"
echo ok
