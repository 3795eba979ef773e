#!/usr/bin/env bash
# MariaDB connections: ~/.my.cnf [client] fills in what the URL leaves out;
# TLS options reach the client library: the test primary speaks TLS with a
# certificate from its own CA (tests/servers.sh), and a user created with
# REQUIRE SSL migrates with ssl-mode=VERIFY_IDENTITY and ssl-ca, which proves
# osc's sessions are encrypted (without TLS the server refuses that user);
# a foreign CA, ssl-mode=REQUIRED against the replica (no TLS there), a
# wrong ssl-mode or a malformed URL are refused.  Each refusal exits 2 and
# changes nothing.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_conn
my_q "DROP TABLE IF EXISTS $T, ${T}_osc_old; CREATE TABLE $T (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
      INSERT INTO $T SELECT seq, seq FROM seq_1_to_1000;"
before=$(my_schema_snapshot)

# the URL names no user: ~/.my.cnf says root (with a wrong user the login fails)
home=$TEST_TMP/home
mkdir -p "$home"
printf '[client]\nuser=nobody_here\n' >"$home/.my.cnf"
HOME=$home "$OSC" --strategy copy --table $T --alter "ADD COLUMN c INT" --database "mysql://127.0.0.1:$OSC_MY_PORT/osctest" \
    >"$OSC_OUT" 2>"$OSC_ERR"
rc=$?
[ "$rc" = 2 ] || fail "a wrong user from ~/.my.cnf: exit $rc, expected 2"
grep -q "nobody_here" "$OSC_ERR" || fail "the login error does not show the user read from ~/.my.cnf"
printf '[client]\nuser=root\n' >"$home/.my.cnf"
HOME=$home "$OSC" --strategy copy --table $T --alter "ADD COLUMN c INT" --database "mysql://127.0.0.1:$OSC_MY_PORT/osctest" \
    >"$OSC_OUT" 2>"$OSC_ERR"
rc=$?
tail -n 3 "$OSC_ERR" | sed 's/^/#   /'
[ "$rc" = 0 ] || fail "user from ~/.my.cnf: exit $rc, expected 0"
assert_eq 1 "$(my_has_column $T c)" "$T has column c"
my_q "DROP TABLE ${T}_osc_old"
before=$(my_schema_snapshot)

# osc with exactly this URL (run_osc/expect_osc add their own --database)
with_url() { # RC URL ARGS...
    local want=$1 url=$2
    shift 2
    local rc=0
    "$OSC" "$@" --database "$url" >"$OSC_OUT" 2>"$OSC_ERR" || rc=$?
    note "osc $* --database $url -> exit $rc"
    tail -n 2 "$OSC_ERR" | sed 's/^/#   err: /'
    [ "$rc" = "$want" ] || fail "osc with $url exited $rc, expected $want"
}
# TLS: a user the server admits only over TLS
[ -s "${OSC_MY_TLS_CA:-}" ] || fail "no CA certificate from tests/servers.sh (OSC_MY_TLS_CA)"
my_q "DROP USER IF EXISTS osc_tls; CREATE USER osc_tls IDENTIFIED BY 'tls pw' REQUIRE SSL;
      GRANT ALL ON *.* TO osc_tls"
tls_url="mysql://osc_tls:tls%20pw@127.0.0.1:$OSC_MY_PORT/osctest"
# the replica has no TLS: name it, or the monitor would reach the replica
# the primary lists with the primary's TLS options and fail closed
with_url 2 "$tls_url?ssl-mode=DISABLED" --table $T --alter "ADD COLUMN d INT" --replica "$OSC_MY_REPLICA_URL"
grep -q "Access denied" "$OSC_ERR" || fail "the REQUIRE SSL user got in without TLS"
other=$TEST_TMP/other-ca
mkdir -p "$other"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=not the test CA" \
    -keyout "$other/key.pem" -out "$other/ca.pem" >/dev/null 2>&1 || fail "openssl could not make a CA"
with_url 2 "$tls_url?ssl-mode=VERIFY_CA&ssl-ca=$other/ca.pem" --table $T --alter "ADD COLUMN d INT" \
    --replica "$OSC_MY_REPLICA_URL"
grep -qi "ssl\|tls\|certificate" "$OSC_ERR" || fail "no word of TLS in the refusal of a foreign CA"
assert_eq 0 "$(my_has_column $T d)" "$T has no column d after the refusals"
with_url 0 "$tls_url?ssl-mode=VERIFY_IDENTITY&ssl-ca=$OSC_MY_TLS_CA" --strategy copy --table $T \
    --alter "ADD COLUMN d INT" --replica "$OSC_MY_REPLICA_URL"
assert_eq 1 "$(my_has_column $T d)" "$T has column d (migrated over TLS)"
assert_eq 1000 "$(my_q "SELECT count(*) FROM $T WHERE v = id")" "rows of $T after the TLS run"
my_q "DROP TABLE ${T}_osc_old; DROP USER osc_tls"
before=$(my_schema_snapshot)
# TLS required, a server without TLS (the replica): refused by osc or the library
with_url 2 "mysql://root@127.0.0.1:$OSC_MY_REPLICA_PORT/osctest?ssl-mode=REQUIRED" --table $T --alter "ADD COLUMN e INT"
grep -qi "ssl\|tls" "$OSC_ERR" || fail "no word of TLS in the refusal"
with_url 2 "mysql://root@127.0.0.1:$OSC_MY_PORT/osctest?ssl-mode=SOMETIMES" --table $T --alter "ADD COLUMN e INT"
grep -q "ssl-mode" "$OSC_ERR" || fail "the refusal does not name ssl-mode"
with_url 2 "mysql://root@127.0.0.1:notaport/osctest" --table $T --alter "ADD COLUMN e INT"
assert_eq "$before" "$(my_schema_snapshot)" "schema after the refusals"
echo ok
