#!/usr/bin/env bash
# MariaDB connections: ~/.my.cnf [client] fills in what the URL leaves out;
# TLS options reach the client library (ssl-mode=REQUIRED against this test
# server, which has no certificate, is refused with the library's message);
# a wrong ssl-mode or a malformed URL is bad input.  Each refusal exits 2 and
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
# TLS required, server without TLS: refused by the client library
with_url 2 "mysql://root@127.0.0.1:$OSC_MY_PORT/osctest?ssl-mode=REQUIRED" --table $T --alter "ADD COLUMN d INT"
grep -qi "ssl\|tls" "$OSC_ERR" || fail "no word of TLS in the refusal"
with_url 2 "mysql://root@127.0.0.1:$OSC_MY_PORT/osctest?ssl-mode=SOMETIMES" --table $T --alter "ADD COLUMN d INT"
grep -q "ssl-mode" "$OSC_ERR" || fail "the refusal does not name ssl-mode"
with_url 2 "mysql://root@127.0.0.1:notaport/osctest" --table $T --alter "ADD COLUMN d INT"
assert_eq "$before" "$(my_schema_snapshot)" "schema after the refusals"
echo ok
