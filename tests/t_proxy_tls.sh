#!/usr/bin/env bash
# t_proxy_tls — osc proxy and TLS: PostgreSQL against a server of the
# test's own (TLS on, SCRAM for the role osc_pw), and MariaDB.
#
# - psql with sslmode=require and sslmode=verify-full (the proxy's
#   certificate checked against its CA; another CA refused) through a proxy
#   that terminates TLS and speaks TLS to the server (verify-full against
#   the server's CA); a plaintext client through it still gets TLS upstream.
# - SCRAM through TLS that ends at the proxy: SCRAM-SHA-256-PLUS is not
#   offered (its channel binding names a certificate the client never saw):
#   channel_binding=require fails with libpq's own message, and =disable
#   authenticates; libpq's default (prefer) then sends the 'y' flag, which
#   PostgreSQL refuses on its own TLS connection: the README says so.
# - The server's certificate signed by another CA: the proxy refuses the
#   server leg and tells the client why.
# - Plaintext sent after SSLRequest, before the handshake (CVE-2021-23214),
#   is refused, not read as if it came inside TLS; likewise a server that
#   sends bytes after its 'S' (CVE-2021-23222).
# - MariaDB: the mariadb client with --ssl (the proxy's certificate checked)
#   through a proxy that terminates TLS and speaks TLS to the primary
#   (VERIFY_IDENTITY against the primary's own CA), and every mix of
#   plaintext and TLS on the two legs; the mirrored writer through the TLS
#   server leg, held once, its table equal to the mirror; a client that
#   requires TLS is refused by a proxy that offers none.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_proxy.sh"

CERTS=$TEST_TMP/tls
proxy_tls_certs "$CERTS"
DPORT=$((PROXY_BASE_PORT + 90))
proxy_pg_server "$TEST_TMP/own" DPORT "$CERTS"

APORT=$((PROXY_BASE_PORT + 20))
proxy_start tls APORT "postgres://127.0.0.1:$DPORT?sslmode=verify-full&sslrootcert=$CERTS/srvca.pem" \
    --tls-cert "$CERTS/proxy-cert.pem" --tls-key "$CERTS/proxy-key.pem"
A="host=127.0.0.1 port=$APORT dbname=own user=postgres"
# through the proxy, what the server sees of the session's own leg
server_leg="SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

r=$(psql "$A sslmode=require" -XAtc "$server_leg") || fail "psql sslmode=require through the proxy"
assert_eq t "$r" "TLS on the server leg (sslmode=require)"
r=$(psql "$A sslmode=verify-full sslrootcert=$CERTS/ca.pem" -XAtc "$server_leg") ||
    fail "psql sslmode=verify-full through the proxy"
assert_eq t "$r" "TLS on the server leg (sslmode=verify-full)"
if psql "$A sslmode=verify-full sslrootcert=$CERTS/srvca.pem" -XAtc "SELECT 1" >"$TEST_TMP/wrongca.out" 2>&1; then
    fail "verify-full against another CA connected"
fi
grep -q "certificate verify failed" "$TEST_TMP/wrongca.out" || fail "unexpected error: $(cat "$TEST_TMP/wrongca.out")"
r=$(psql "$A sslmode=disable" -XAtc "$server_leg") || fail "a plaintext client through the proxy"
assert_eq t "$r" "TLS on the server leg for a plaintext client"

# SCRAM through TLS that ends at the proxy
export PGPASSWORD=pw-secret
S="host=127.0.0.1 port=$APORT dbname=own user=osc_pw sslmode=require"
r=$(psql "$S channel_binding=disable" -XAtc "SELECT current_user") || fail "SCRAM with channel_binding=disable"
assert_eq osc_pw "$r" "SCRAM through the proxy"
if psql "$S channel_binding=require" -XAtc "SELECT 1" >"$TEST_TMP/cb.out" 2>&1; then
    fail "channel_binding=require authenticated through TLS that ends at the proxy"
fi
grep -q "channel binding" "$TEST_TMP/cb.out" || fail "unexpected error: $(cat "$TEST_TMP/cb.out")"
note "channel_binding=require: $(tail -n 1 "$TEST_TMP/cb.out")"
if psql "$S" -XAtc "SELECT 1" >"$TEST_TMP/prefer.out" 2>&1; then
    fail "libpq's default channel binding authenticated with TLS on both legs (the README says it cannot)"
fi
grep -q "channel binding" "$TEST_TMP/prefer.out" || fail "unexpected error: $(cat "$TEST_TMP/prefer.out")"
note "channel_binding=prefer, TLS on both legs: $(tail -n 1 "$TEST_TMP/prefer.out")"
# with the server leg in plaintext the default works (the server offers no -PLUS)
PPORT=$((PROXY_BASE_PORT + 21))
proxy_start plainup PPORT "postgres://127.0.0.1:$DPORT?sslmode=disable" \
    --tls-cert "$CERTS/proxy-cert.pem" --tls-key "$CERTS/proxy-key.pem"
r=$(psql "host=127.0.0.1 port=$PPORT dbname=own user=osc_pw sslmode=verify-full sslrootcert=$CERTS/ca.pem" \
    -XAtc "SELECT current_user || ' ' || (SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid())") ||
    fail "SCRAM with the default channel binding, plaintext server leg"
assert_eq "osc_pw false" "$r" "SCRAM through TLS to the proxy, plaintext to the server"
if PGPASSWORD=wrong psql "host=127.0.0.1 port=$PPORT dbname=own user=osc_pw sslmode=require" -XAtc "SELECT 1" \
    >/dev/null 2>&1; then
    fail "a wrong password authenticated through the proxy"
fi
unset PGPASSWORD

# the server's certificate signed by a CA the upstream URL does not trust
BPORT=$((PROXY_BASE_PORT + 22))
proxy_start badca BPORT "postgres://127.0.0.1:$DPORT?sslmode=verify-full&sslrootcert=$CERTS/ca.pem"
if psql "host=127.0.0.1 port=$BPORT dbname=own user=postgres sslmode=disable" -XAtc "SELECT 1" \
    >"$TEST_TMP/badca.out" 2>&1; then
    fail "the proxy reached a server whose certificate its CA did not sign"
fi
grep -q "TLS to the server" "$TEST_TMP/badca.out" || fail "unexpected error: $(cat "$TEST_TMP/badca.out")"
grep -q "certificate verify failed" "$TEST_TMP/badca.out" || fail "the reason is not given: $(cat "$TEST_TMP/badca.out")"
note "server certificate from another CA: $(head -n 1 "$TEST_TMP/badca.out")"

# CVE-2021-23214: plaintext right behind SSLRequest is refused
ssl_request='\x00\x00\x00\x08\x04\xd2\x16\x2f'
startup='\x00\x00\x00\x17\x00\x03\x00\x00user\x00postgres\x00\x00'
exec 5<>"/dev/tcp/127.0.0.1/$APORT"
printf "$ssl_request$startup" >&5
reply=$(timeout 5 head -c 1 <&5 | od -An -c | tr -d ' ')
exec 5<&-
assert_eq "" "$reply" "the proxy's answer to SSLRequest with plaintext behind it"
proxy_log_has tls "data after SSLRequest, before the TLS handshake: refused"
# SSLRequest alone is answered 'S'
exec 5<>"/dev/tcp/127.0.0.1/$APORT"
printf "$ssl_request" >&5
reply=$(timeout 5 head -c 1 <&5 | od -An -c | tr -d ' ')
exec 5<&-
assert_eq S "$reply" "the proxy's answer to SSLRequest"

# CVE-2021-23222: a server that sends bytes behind its 'S'
FPORT=$((PROXY_BASE_PORT + 23))
fake=
for _ in $(seq 1 20); do
    # a port something already answers on (a proxy of this test took it) is no use
    if ! (exec 6<>"/dev/tcp/127.0.0.1/$FPORT") 2>/dev/null; then
        socat "TCP-LISTEN:$FPORT,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"head -c 8 >/dev/null; printf 'SEXTRA'; sleep 5" \
            2>"$TEST_TMP/socat.err" &
        fake=$!
        for _ in $(seq 1 50); do
            kill -0 "$fake" 2>/dev/null || break
            (exec 6<>"/dev/tcp/127.0.0.1/$FPORT") 2>/dev/null && break 2
            sleep 0.1
        done
        kill "$fake" 2>/dev/null
        fake=
    fi
    FPORT=$(proxy_next_port "$FPORT")
done
[ -n "$fake" ] || fail "no port for the fake server"
CPORT=$((PROXY_BASE_PORT + 24))
proxy_start fake CPORT "postgres://127.0.0.1:$FPORT?sslmode=require"
if psql "host=127.0.0.1 port=$CPORT dbname=own user=postgres sslmode=disable connect_timeout=5" -XAtc "SELECT 1" \
    >"$TEST_TMP/fake.out" 2>&1; then
    fail "the proxy went on after a server sent data behind its 'S'"
fi
grep -q "the server sent data before the TLS handshake" "$TEST_TMP/fake.out" ||
    fail "unexpected error: $(cat "$TEST_TMP/fake.out")"
kill "$fake" 2>/dev/null
wait "$fake" 2>/dev/null

# ---- MariaDB: the mariadb client with --ssl -----------------------------------------
need_my
TPORT=$((PROXY_BASE_PORT + 25))
proxy_start mytls TPORT "mysql://127.0.0.1:$OSC_MY_PORT?ssl-mode=VERIFY_IDENTITY&ssl-ca=$OSC_MY_TLS_CA" \
    --tls-cert "$CERTS/proxy-cert.pem" --tls-key "$CERTS/proxy-key.pem"
tls_q() {
    mariadb --no-defaults -h127.0.0.1 -P"$TPORT" -uroot --connect-timeout=5 "$@" osctest -N -B \
        -e "SELECT 'ok', (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher') <> ''; \\s"
}
# the mariadb client with --ssl, checking the proxy's certificate
out=$(tls_q --ssl --ssl-ca="$CERTS/ca.pem" --ssl-verify-server-cert) || fail "mariadb --ssl through the proxy"
echo "$out" | grep -q "^ok	1" || fail "the server leg is not TLS: $out"
echo "$out" | grep -qE "SSL:.*Cipher in use" || fail "the client leg is not TLS: $out"
# a client that trusts another CA is refused by its own check
if tls_q --ssl --ssl-ca="$OSC_MY_TLS_CA" --ssl-verify-server-cert >/dev/null 2>&1; then
    fail "a client checking against another CA connected"
fi
# plaintext client, TLS server leg
out=$(tls_q --skip-ssl) || fail "a plaintext client through the TLS proxy"
echo "$out" | grep -q "^ok	1" || fail "the server leg is not TLS for a plaintext client: $out"
echo "$out" | grep -qE "SSL:.*Not in use" || fail "the plaintext client's leg says TLS: $out"
# TLS client, plaintext server leg (the first proxy has no certificate: it offers no TLS)
TPORT2=$((PROXY_BASE_PORT + 26))
proxy_start mytls2 TPORT2 "mysql://127.0.0.1:$OSC_MY_PORT" \
    --tls-cert "$CERTS/proxy-cert.pem" --tls-key "$CERTS/proxy-key.pem"
out=$(mariadb --no-defaults -h127.0.0.1 -P"$TPORT2" -uroot --ssl --ssl-ca="$CERTS/ca.pem" \
      --ssl-verify-server-cert osctest -N -B -e "SELECT 'ok'; \\s") || fail "TLS client, plaintext server leg"
echo "$out" | grep -qE "SSL:.*Cipher in use" || fail "the client leg is not TLS: $out"
# the mirrored writer (prepared statements) through the TLS server leg, held once
my_fixture int tw tw_ref 2000
WRITER_RATE=300 OSC_MY_URL=mysql://root@127.0.0.1:$TPORT/osctest start_mywriter int tw tw_ref
"$OSC" proxy hold --admin-socket "$TEST_TMP/mytls.sock" --for 300ms >"$TEST_TMP/myhold.out" 2>&1 ||
    fail "hold through the TLS proxy: $(cat "$TEST_TMP/myhold.out")"
grep -q "^released .*requests=1" "$TEST_TMP/myhold.out" || fail "the writer was not held: $(cat "$TEST_TMP/myhold.out")"
sleep 0.5
stop_mywriter
my_tables_equal tw tw_ref "*"
NPORT=$((PROXY_BASE_PORT + 27))
proxy_start mynotls NPORT "mysql://127.0.0.1:$OSC_MY_PORT"
if mariadb --no-defaults -h127.0.0.1 -P"$NPORT" -uroot --ssl --ssl-verify-server-cert --ssl-ca="$CERTS/ca.pem" \
    osctest -e "SELECT 1" >"$TEST_TMP/notls.out" 2>&1; then
    fail "a client that requires TLS connected to a proxy that offers none"
fi
note "a proxy without --tls-cert: $(head -c 200 "$TEST_TMP/notls.out")"
proxy_status tls | sed 's/^/#   /' | head -n 5
for p in fake badca plainup tls mytls mytls2 mynotls; do proxy_stop "$p"; done
note "ok"
