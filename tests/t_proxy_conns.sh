#!/usr/bin/env bash
# t_proxy_conns — osc proxy with a thousand sessions, and under a server
# restart, against a PostgreSQL of the test's own (max_connections 1100:
# the shared test servers allow 100).
#
# - 1,000 idle client connections (libpq, tests/pgconns.c) through the
#   proxy: a hold drains at once; then each sends a query, all 1,000 are
#   held (none answered), and the release answers every one.  The proxy's
#   descriptors and memory are reported.
# - A client that reads nothing of a 200 MB result: the proxy's memory stays
#   flat (it stops reading the server), and every byte arrives once the
#   client reads.
# - The server restarts under the proxy: the sessions it had are closed
#   (their clients see the server's own shutdown message), a client that
#   connects while the server is down gets a clear error, and once it is
#   back new sessions work through the same proxy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_proxy.sh"

PGCONNS=${PGCONNS:-build/pgconns}
[ -x "$PGCONNS" ] || fail "$PGCONNS not found (make all builds it)"
N=1000
# each client costs the proxy two descriptors and pgconns one
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge $((N * 2 + 300)) ] ||
    fail "the open-files limit is $(ulimit -n) (hard $(ulimit -Hn)): $N connections through the proxy need $((N * 2 + 300))"

proxy_tls_certs "$TEST_TMP/tls"
DPORT=$((PROXY_BASE_PORT + 91))
proxy_pg_server "$TEST_TMP/own" DPORT "$TEST_TMP/tls"
PORT=$((PROXY_BASE_PORT + 30))
SOCK=$TEST_TMP/c.sock
proxy_start c PORT "postgres://127.0.0.1:$DPORT?sslmode=disable"
CONNINFO="host=127.0.0.1 port=$PORT dbname=own user=postgres sslmode=disable connect_timeout=20"

# pc_answer K: waits (60 s) for pgconns' K-th "done" line and prints it
pc_answer() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(grep -c '^done' "$TEST_TMP/pc.out")" -ge "$1" ] && break
        sleep 0.1
    done
    grep '^done' "$TEST_TMP/pc.out" | sed -n "$1p"
}

# ---- a thousand idle sessions held and released -------------------------------
mkfifo "$TEST_TMP/pc.in"
t0=$(now_ms)
"$PGCONNS" --db "$CONNINFO" --n "$N" <"$TEST_TMP/pc.in" >"$TEST_TMP/pc.out" 2>&1 &
pcpid=$!
exec 7>"$TEST_TMP/pc.in"
wait_for_text "^connected $N|^connect-failed" 90 "$TEST_TMP/pc.out" || fail "pgconns did not connect: $(cat "$TEST_TMP/pc.out")"
grep -q "^connected $N" "$TEST_TMP/pc.out" || fail "pgconns: $(cat "$TEST_TMP/pc.out")"
note "$N connections through the proxy in $(( $(now_ms) - t0 ))ms"
assert_eq "$N" "$(proxy_field c sessions)" "the proxy's sessions"
fds=$(ls "/proc/$PROXY_PID_c/fd" | wc -l)
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$PROXY_PID_c/status")
note "the proxy with $N sessions: $fds descriptors, RSS $((rss / 1024)) MB"
[ "$fds" -ge $((N * 2)) ] || fail "the proxy has $fds descriptors for $N sessions"
# warm: every session answers once without a hold
echo "query SELECT 1" >&7
a=$(pc_answer 1)
[[ $a == "done ok=$N failed=0"* ]] || fail "pgconns: ${a:-no answer}"

"$OSC" proxy hold --admin-socket "$SOCK" --for 120s >"$TEST_TMP/hold.out" 2>&1 &
holdpid=$!
wait_for_text "^drained sessions=$N" 10 "$TEST_TMP/hold.out" || fail "the hold: $(cat "$TEST_TMP/hold.out")"
note "hold: $(head -n 1 "$TEST_TMP/hold.out")"
echo "query SELECT pg_backend_pid()" >&7
proxy_wait_field c held "$N" 30
sleep 0.3
[ "$(grep -c '^done' "$TEST_TMP/pc.out")" = 1 ] || fail "a held session was answered: $(tail -n 1 "$TEST_TMP/pc.out")"
assert_eq 0 "$(proxy_field c busy)" "busy sessions while all are held"
t1=$(now_ms)
kill -TERM "$holdpid"
wait "$holdpid" || fail "osc proxy hold: $(cat "$TEST_TMP/hold.out")"
grep -q "^released .*requests=$N" "$TEST_TMP/hold.out" || fail "the release: $(cat "$TEST_TMP/hold.out")"
a=$(pc_answer 2)
[[ $a == "done ok=$N failed=0"* ]] || fail "after the release: ${a:-no answer}"
note "release: $N held queries answered within $(( $(now_ms) - t1 ))ms; $(tail -n 1 "$TEST_TMP/hold.out")"
proxy_status c | sed -n '3,8p' | sed 's/^/#   /'

# ---- a client that does not read: nothing buffers without bound ------------------
# a raw protocol-3 client (trust auth) asks for 200 MB of rows and reads
# nothing for 3 s: the proxy stops reading the server once its output to the
# client passes the high-water mark, so its memory stays flat; then the
# client reads every byte
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(( ($1 >> 24) & 255 )) $(( ($1 >> 16) & 255 )) $(( ($1 >> 8) & 255 )) $(( $1 & 255 )); }
rows=200000
query="SELECT repeat('x', 1000) FROM generate_series(1, $rows)"
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$PROXY_PID_c/status")
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
printf "$(be32 36)$(be32 196608)user\\0postgres\\0database\\0own\\0\\0" >&5
printf "Q$(be32 $(( ${#query} + 5 )))%s\\0" "$query" >&5
sleep 3
rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$PROXY_PID_c/status")
note "the proxy's RSS while a client reads nothing of 200 MB: $((rss1 / 1024)) MB (before: $((rss0 / 1024)) MB)"
[ "$rss1" -lt $((rss0 + 32768)) ] || fail "the proxy's memory grew by $(( (rss1 - rss0) / 1024 )) MB for a client that does not read"
# every row arrives once the client reads (each DataRow is 1011 bytes)
timeout 60 head -c $((rows * 1011)) <&5 | wc -c >"$TEST_TMP/read.count"
exec 5<&-
assert_eq $((rows * 1011)) "$(cat "$TEST_TMP/read.count")" "bytes read by the slow client"
proxy_wait_field c sessions "$N" # the raw client is gone, the 1,000 stay

# ---- the server restarts under the proxy --------------------------------------
proxy_pg_server_ctl stop
proxy_wait_field c sessions 0 20
echo "query SELECT 1" >&7
a=$(pc_answer 3)
[[ $a == "done ok=0 failed=$N"* ]] || fail "with the server gone: ${a:-no answer}"
note "the server stopped: $a"
echo quit >&7
exec 7>&-
wait "$pcpid"
if psql "host=127.0.0.1 port=$PORT dbname=own user=postgres sslmode=disable" -XAtc "SELECT 1" \
    >"$TEST_TMP/down.out" 2>&1; then
    fail "a session through the proxy worked while the server was down"
fi
grep -q "osc proxy: cannot connect to the server" "$TEST_TMP/down.out" ||
    fail "unexpected error while the server is down: $(cat "$TEST_TMP/down.out")"
note "while the server is down: $(head -n 1 "$TEST_TMP/down.out")"
proxy_pg_server_ctl start
r=$(psql "host=127.0.0.1 port=$PORT dbname=own user=postgres sslmode=disable" -XAtc "SELECT 'back'") ||
    fail "no session through the proxy once the server is back"
assert_eq back "$r" "a session after the restart"
kill -0 "$PROXY_PID_c" 2>/dev/null || fail "the proxy died"
assert_eq 0 "$(proxy_field c sessions)" "sessions left after the restart"
proxy_stop c
note "ok"
