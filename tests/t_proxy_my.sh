#!/usr/bin/env bash
# t_proxy_my — osc proxy on MariaDB.
#
# 1. The mirrored writer (prepared statements, autocommit off: its
#    transactions are START TRANSACTION ... COMMIT) through the proxy while
#    osc runs 10 migrations in a row with --proxy: every swap held at its
#    first attempt, no writer error, the table equal to its mirror.
# 2. What the writer does not exercise, through the proxy: multi-statement
#    results, LOAD DATA LOCAL INFILE, a hold that keeps a session idle in
#    autocommit mode but lets one inside a transaction finish (SERVER_STATUS_
#    IN_TRANS), and `osc plan --proxy` naming a session that bypasses it.
# (TLS with the mariadb client is in t_proxy_tls.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_proxy.sh"
need_my

PORT=$((PROXY_BASE_PORT + 10))
SOCK=$TEST_TMP/my.sock
proxy_start my PORT "mysql://127.0.0.1:$OSC_MY_PORT" --drain-timeout 10s # section 2 waits for a COMMIT
PXURL=mysql://root@127.0.0.1:$PORT/osctest

# px_q SQL [mariadb args...]: through the proxy
px_q() {
    local sql=$1
    shift
    mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot --connect-timeout=5 "$@" osctest -N -B -e "$sql"
}

# ---- 1. the mirrored writer under 10 held migrations --------------------------
my_fixture int pw pw_ref 20000
OSC_MY_URL=$PXURL start_mywriter int pw pw_ref
sleep 0.5
for i in $(seq 1 10); do
    expect_osc_my 0 --table pw --alter "ADD COLUMN c$i INT NOT NULL DEFAULT $i" --drop-old-table --proxy "$SOCK"
    grep -q "the application is held" "$OSC_ERR" || fail "migration $i: osc did not hold the application"
    grep -q "released the application after" "$OSC_ERR" || fail "migration $i: osc did not release"
    ! grep -q "cutover attempt" "$OSC_ERR" || fail "migration $i: the held swap needed more than one attempt"
    grep -oE 'released the application after [0-9]+ms[^"]*' "$OSC_ERR" | sed 's/^/#   /'
done
sleep 0.5
stop_mywriter
note "writer through the proxy, 10 held migrations: $(writer_stat errors) errors, longest write $(writer_stat max_ms)ms"
[ "$(my_has_column pw c10)" = 1 ] || fail "the tenth migration's column is missing"
my_tables_equal pw pw_ref "id, v, n, extra, pad"
my_no_osc_leftovers pw
[ "$(proxy_field my holds_total)" -ge 10 ] || fail "the proxy recorded fewer holds than swaps"

# ---- 2. the protocol's corners -------------------------------------------------
# several result sets from one query (CLIENT_MULTI_STATEMENTS in the client)
out=$(px_q "SELECT 1; SELECT 2 UNION SELECT 3; DO 0; SELECT 4") || fail "a multi-statement query through the proxy"
assert_eq "1 2 3 4" "$(echo $out)" "the results of a multi-statement query"
# LOAD DATA LOCAL INFILE: the client's file goes as data, not as commands
my_q "DROP TABLE IF EXISTS li; CREATE TABLE li (a INT PRIMARY KEY, b VARCHAR(20))"
seq 1 5000 | awk '{ print $1 "\tx" $1 }' >"$TEST_TMP/li.tsv"
px_q "LOAD DATA LOCAL INFILE '$TEST_TMP/li.tsv' INTO TABLE li; SELECT COUNT(*) FROM li" --local-infile=1 \
    >"$TEST_TMP/li.out" || fail "LOAD DATA LOCAL INFILE through the proxy"
assert_eq 5000 "$(tail -n 1 "$TEST_TMP/li.out")" "rows loaded through the proxy"
assert_eq 0 "$(proxy_field my busy)" "busy sessions after the load"

# a hold: the session inside a transaction finishes it; the idle one waits
my_q "DROP TABLE IF EXISTS hz; CREATE TABLE hz (id INT PRIMARY KEY, at DATETIME(6))"
mkfifo "$TEST_TMP/tx.in"
mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot osctest -N -B <"$TEST_TMP/tx.in" >"$TEST_TMP/tx.out" 2>&1 &
txpid=$!
exec 7>"$TEST_TMP/tx.in"
echo "START TRANSACTION; INSERT INTO hz VALUES (1, NOW(6));" >&7
proxy_wait_field my busy 1
"$OSC" proxy hold --admin-socket "$SOCK" --for 3s >"$TEST_TMP/hold.out" 2>&1 &
holdpid=$!
sleep 0.5
assert_eq "" "$(cat "$TEST_TMP/hold.out")" "the hold's answer while a transaction is open"
# a plain session's statement is held ...
px_q "INSERT INTO hz VALUES (2, NOW(6))" &
idlepid=$!
proxy_wait_field my held 1
# ... the transaction's statements are not, and its COMMIT drains the hold
echo "INSERT INTO hz VALUES (3, NOW(6)); COMMIT; SELECT 'committed';" >&7
wait_for_text "^drained" 5 "$TEST_TMP/hold.out" || fail "the hold did not drain after the COMMIT: $(cat "$TEST_TMP/hold.out")"
assert_eq 2 "$(my_q "SELECT COUNT(*) FROM hz")" "rows while the plain INSERT is held"
wait "$holdpid" || fail "osc proxy hold failed: $(cat "$TEST_TMP/hold.out")"
wait "$idlepid" || fail "the held INSERT failed"
exec 7>&-
wait "$txpid"
assert_eq 3 "$(my_q "SELECT COUNT(*) FROM hz")" "rows after the release"
my_assert_true "(SELECT at FROM hz WHERE id = 2) > (SELECT at FROM hz WHERE id = 3)" \
    "the held INSERT ran after the transaction's COMMIT"
cat "$TEST_TMP/hold.out" | sed 's/^/#   /'

# osc plan names a session on the database that bypasses the proxy
(echo "SELECT SLEEP(20)" | mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_PORT" -uroot osctest >/dev/null 2>&1) &
bypass=$!
for _ in $(seq 1 50); do
    [ "$(my_q "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(20)%'")" = 1 ] && break
    sleep 0.1
done
expect_osc_my 0 plan --table pw --alter "ADD COLUMN z INT" --proxy "$SOCK"
grep -q "do not come through the proxy" "$OSC_OUT" || fail "osc plan did not name the session that bypasses the proxy"
grep -q "running: SELECT SLEEP(20)" "$OSC_OUT" || fail "osc plan did not say what the bypassing session runs"
kill "$bypass" 2>/dev/null
my_q "KILL QUERY $(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(20)%' LIMIT 1")" 2>/dev/null
wait "$bypass" 2>/dev/null

proxy_stop my
note "ok"
