#!/usr/bin/env bash
# t_proxy_faults — osc proxy when things go wrong (PostgreSQL, the shared
# test servers; the mirrored writer runs through the proxy).
#
# - Bad input: osc --proxy at a path nothing answers, or at a proxy of the
#   other protocol: exit 2, nothing changed; osc proxy with a bad command
#   line: exit 2; an admin socket path that is a file, a link, another
#   user's socket, a live proxy's, or in a directory others may write:
#   refused, and a file there is left as it was.
# - The admin socket is 0600 and checks its peer's uid: another user is
#   refused even when the mode lets them connect.
# - osc killed (SIGKILL) while it holds: the proxy releases at once; osc
#   stopped (SIGSTOP) while it holds: the proxy releases at --max-hold.
#   The rerun resumes and finishes, held.
# - A client that disconnects while its request is held: the request is
#   dropped, never sent.
# - A transaction through the proxy open longer than the drain timeout, and
#   a session that bypasses the proxy: osc says so, falls back to the lock
#   timeout (retrying), and finishes once the transaction ends.
# - osc plan --proxy names the session that bypasses the proxy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_proxy.sh"

PORT=$((PROXY_BASE_PORT + 40))
SOCK=$TEST_TMP/f.sock
proxy_start f PORT "postgres://127.0.0.1:$OSC_PG_PORT" --drain-timeout 500ms --max-hold 1500ms
PX=postgres://postgres@127.0.0.1:$PORT/osctest
PXC="host=127.0.0.1 port=$PORT dbname=osctest user=postgres"
chmod 0755 "$TEST_TMP"

# ---- bad input ---------------------------------------------------------------
fixture int ft ft_ref 20000
osc_state_forget ft
before=$(schema_snapshot)
rows=$(osc_state_rows ft)
expect_osc 2 --table ft --alter "ADD COLUMN c int" --proxy "$TEST_TMP/nothing.sock"
grep -q "no osc proxy answers on" "$OSC_ERR" || fail "unclear error for a missing proxy"
MYPORT=$((PROXY_BASE_PORT + 41))
proxy_start fmy MYPORT "mysql://127.0.0.1:${OSC_MY_PORT:-3306}"
expect_osc 2 --table ft --alter "ADD COLUMN c int" --proxy "$TEST_TMP/fmy.sock"
grep -q "is not a postgresql proxy" "$OSC_ERR" || fail "unclear error for a proxy of the other protocol"
proxy_stop fmy
assert_eq "$before" "$(schema_snapshot)" "the schema after bad --proxy runs"
assert_eq "$rows" "$(osc_state_rows ft)" "state rows after bad --proxy runs"

bad_proxy() { # WHAT ARGS...: osc proxy must exit 2
    local what=$1 rc=0
    shift
    "$OSC" proxy "$@" >"$TEST_TMP/bad.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] || { cat "$TEST_TMP/bad.out" >&2; fail "osc proxy $what: exit $rc, expected 2"; }
    note "osc proxy $what: $(grep -o 'error.*' "$TEST_TMP/bad.out" | head -n 1)"
}
B=(--listen "127.0.0.1:$((PROXY_BASE_PORT + 42))")
bad_proxy "without --upstream" "${B[@]}" --admin-socket "$TEST_TMP/b.sock"
bad_proxy "with a password in --upstream" "${B[@]}" --upstream "postgres://app:hunter2@127.0.0.1" --admin-socket "$TEST_TMP/b.sock"
grep -q "hunter2" "$TEST_TMP/bad.out" && fail "the refusal repeats the password"
bad_proxy "with a bad sslmode" "${B[@]}" --upstream "postgres://127.0.0.1?sslmode=often" --admin-socket "$TEST_TMP/b.sock"
bad_proxy "with verify-full and no CA" "${B[@]}" --upstream "postgres://127.0.0.1?sslmode=verify-full" --admin-socket "$TEST_TMP/b.sock"
bad_proxy "with a bad --listen" --listen nowhere --upstream "postgres://127.0.0.1" --admin-socket "$TEST_TMP/b.sock"
bad_proxy "with --tls-cert alone" "${B[@]}" --upstream "postgres://127.0.0.1" --tls-cert /etc/hostname --admin-socket "$TEST_TMP/b.sock"
bad_proxy "with a --tls-cert that is no certificate" "${B[@]}" --upstream "postgres://127.0.0.1" \
    --tls-cert /etc/hostname --tls-key /etc/hostname --admin-socket "$TEST_TMP/b.sock"
bad_proxy "with an unknown option" "${B[@]}" --upstream "postgres://127.0.0.1" --bogus
bad_proxy "with a bad --max-hold" "${B[@]}" --upstream "postgres://127.0.0.1" --max-hold soon
bad_proxy "status without --admin-socket" status
bad_proxy "status at a path nothing answers" status --admin-socket "$TEST_TMP/nothing.sock"
bad_proxy "on a port in use" --listen "127.0.0.1:$PORT" --upstream "postgres://127.0.0.1" --admin-socket "$TEST_TMP/b.sock"
echo "keep me" >"$TEST_TMP/plain.file"
bad_proxy "with the admin socket at a file" "${B[@]}" --upstream "postgres://127.0.0.1" --admin-socket "$TEST_TMP/plain.file"
assert_eq "keep me" "$(cat "$TEST_TMP/plain.file")" "the file at the admin socket's path"
ln -s "$SOCK" "$TEST_TMP/link.sock"
bad_proxy "with the admin socket at a link" "${B[@]}" --upstream "postgres://127.0.0.1" --admin-socket "$TEST_TMP/link.sock"
bad_proxy "with a live proxy's admin socket" "${B[@]}" --upstream "postgres://127.0.0.1" --admin-socket "$SOCK"
mkdir -m 0777 "$TEST_TMP/open"
bad_proxy "in a directory others may write" "${B[@]}" --upstream "postgres://127.0.0.1" --admin-socket "$TEST_TMP/open/a.sock"
mkdir -m 1777 "$TEST_TMP/shared"
runuser -u nobody -- python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" \
    "$TEST_TMP/shared/theirs.sock" || fail "cannot make another user's socket"
bad_proxy "at another user's socket" "${B[@]}" --upstream "postgres://127.0.0.1" --admin-socket "$TEST_TMP/shared/theirs.sock"
grep -q "not ours" "$TEST_TMP/bad.out" || fail "unclear error for another user's socket"

# ---- the admin socket: 0600, and its peer's uid checked -------------------------
assert_eq 600 "$(stat -c %a "$SOCK")" "the admin socket's mode"
PEERPORT=$((PROXY_BASE_PORT + 43))
PROXY_ADMIN=$TEST_TMP/shared/peer.sock proxy_start peer PEERPORT "postgres://127.0.0.1:$OSC_PG_PORT"
chmod 0666 "$TEST_TMP/shared/peer.sock" # an operator's mistake: the uid check still holds
out=$(runuser -u nobody -- socat -u "UNIX-CONNECT:$TEST_TMP/shared/peer.sock" - 2>&1)
[[ $out == "error permission denied"* ]] || fail "another user got an answer: $out"
proxy_log_has peer "refused a connection from uid $(id -u nobody)"
proxy_stop peer

# ---- osc killed while it holds -----------------------------------------------------
OSC_PG_URL=$PX start_writer int ft ft_ref
held_now() { proxy_status f json | grep -q '"hold":{'; }
OSC_FAULT=proxy-held:30000 osc_bg "$TEST_TMP/k.out" "$TEST_TMP/k.err" --table ft --alter "ADD COLUMN c int" \
    --proxy "$SOCK"
wait_for_text "pausing 30000ms at proxy-held" 60 "$TEST_TMP/k.err" || fail "osc did not reach the hold: $(tail -n 5 "$TEST_TMP/k.err")"
held_now || fail "no hold while osc is paused in it"
proxy_wait_field f held 1 5 # the writer's next transaction waits
t0=$(now_ms)
osc_bg_kill KILL
for _ in $(seq 1 50); do held_now || break; sleep 0.02; done
held_now && fail "the proxy still holds after osc was killed"
note "osc killed while holding: released within $(( $(now_ms) - t0 ))ms"
proxy_log_has f "released \(closed\)"
sleep 0.3
[ "$(writer_stat errors 2>/dev/null || echo 0)" = 0 ] || true

# stopped (not dead) while it holds: --max-hold releases
OSC_FAULT=proxy-held:30000 osc_bg "$TEST_TMP/s.out" "$TEST_TMP/s.err" --table ft --alter "ADD COLUMN c int" \
    --proxy "$SOCK"
wait_for_text "pausing 30000ms at proxy-held" 60 "$TEST_TMP/s.err" || fail "osc did not reach the hold again"
held_now || fail "no hold while osc is paused in it"
t0=$(now_ms)
kill -STOP "$OSC_BG_PID"
for _ in $(seq 1 100); do held_now || break; sleep 0.05; done
held_now && { kill -KILL "$OSC_BG_PID"; fail "the proxy still holds 5s after osc stopped"; }
took=$(( $(now_ms) - t0 ))
note "osc stopped while holding: released after ${took}ms (--max-hold 1500ms)"
[ "$took" -le 1700 ] || fail "released after ${took}ms, past --max-hold"
proxy_log_has f "after --max-hold 1500ms"
kill -CONT "$OSC_BG_PID"
osc_bg_kill KILL
# the rerun resumes the copy and swaps, held
expect_osc 0 --table ft --alter "ADD COLUMN c int" --proxy "$SOCK"
grep -q "the application is held" "$OSC_ERR" || fail "the rerun did not hold"
sleep 0.3
stop_writer
tables_equal ft ft_ref "id, v, n, extra, pad"
no_osc_leftovers ft

# ---- a client that disconnects while held -----------------------------------------------
psql_q "DROP TABLE IF EXISTS gone; CREATE TABLE gone (id int)"
"$OSC" proxy hold --admin-socket "$SOCK" --for 30s >"$TEST_TMP/hold.out" 2>&1 &
holdpid=$!
wait_for_text "^drained" 10 "$TEST_TMP/hold.out" || fail "the hold: $(cat "$TEST_TMP/hold.out")"
psql "$PXC" -XAtc "INSERT INTO gone VALUES (1)" >/dev/null 2>&1 &
psqlpid=$!
proxy_wait_field f held 1
kill -KILL "$psqlpid"
wait "$psqlpid" 2>/dev/null
proxy_wait_field f sessions 0
kill -TERM "$holdpid"
wait "$holdpid"
proxy_log_has f "disconnected while held: its request was dropped|hung up while held"
sleep 0.2
assert_eq 0 "$(psql_q "SELECT count(*) FROM gone")" "rows the disconnected client's held INSERT wrote"

# ---- a transaction longer than the drain timeout, and a session that bypasses the proxy ----
fixture int lt lt_ref 20000
osc_state_forget lt
OSC_PG_URL=$PX start_writer int lt lt_ref
# a direct session whose last query read the table: the proxy cannot hold it
mkfifo "$TEST_TMP/direct.in"
psql -XAtq -v ON_ERROR_STOP=1 <"$TEST_TMP/direct.in" >/dev/null 2>&1 &
directpid=$!
exec 8>"$TEST_TMP/direct.in"
echo "SELECT count(*) FROM lt;" >&8
for _ in $(seq 1 50); do
    [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT count(*) FROM lt;'")" = 1 ] && break
    sleep 0.1
done
expect_osc 0 plan --table lt --alter "ADD COLUMN c int" --proxy "$SOCK"
grep -q "do not come through the proxy" "$OSC_OUT" || fail "osc plan did not name the session that bypasses the proxy"
osc_bg "$TEST_TMP/l.out" "$TEST_TMP/l.err" --table lt --alter "ADD COLUMN c int" --proxy "$SOCK" \
    --postpone-cutover "$TEST_TMP/postpone" --cutover-retries 100
wait_for_text "cutover postponed" 60 "$TEST_TMP/l.err" || fail "osc did not reach the postponed cutover: $(tail -n 5 "$TEST_TMP/l.err")"
grep -q "do not come through the proxy" "$TEST_TMP/l.err" || fail "the run did not warn about the session that bypasses the proxy"
# a transaction through the proxy on the table, idle for 3s, longer than the drain timeout (500ms)
( echo "BEGIN; UPDATE lt SET n = n WHERE id = 1;"; sleep 3; echo "COMMIT;" ) | psql "$PXC" -XAtq >/dev/null 2>&1 &
txpid=$!
# (the writer's sessions are in transactions now and then too: wait for this one)
long_open() {
    [ "$(psql_q "SELECT count(*) FROM pg_stat_activity
                 WHERE state = 'idle in transaction' AND query LIKE 'UPDATE lt SET n = n%'")" = 1 ]
}
for _ in $(seq 1 100); do long_open && break; sleep 0.05; done
long_open || fail "the long transaction did not start"
rm -f "$TEST_TMP/postpone"
osc_bg_wait 60
wait "$txpid"
[ "$OSC_BG_RC" = 0 ] || { tail -n 20 "$TEST_TMP/l.err"; fail "osc exited $OSC_BG_RC"; }
grep -q "falling back to the lock timeout" "$TEST_TMP/l.err" || fail "the run did not say it fell back"
grep -q "idle in transaction" "$TEST_TMP/l.err" || fail "the run did not name the busy session"
grep -q "cutover attempt 1/100: lock not granted" "$TEST_TMP/l.err" || fail "the fallback did not wait on the lock"
# the swap then went through: held once the transaction ended, or under the
# lock timeout when the COMMIT came while a fallback attempt waited (both right)
grep -q '"msg":"swapped:' "$TEST_TMP/l.err" || fail "the run has no swap"
grep -oE '"msg":"proxy: not drained[^"]{0,160}' "$TEST_TMP/l.err" | head -n 1 | sed 's/^/#   /'
exec 8>&-
wait "$directpid" 2>/dev/null
sleep 0.3
stop_writer
tables_equal lt lt_ref "id, v, n, extra, pad"
proxy_stop f
note "ok"
