#!/usr/bin/env bash
# t_proxy_pg — osc proxy on PostgreSQL, under real load.
#
# 1. pgbench through the proxy in its three protocols at once (-M simple,
#    extended, prepared; 8 clients each, 60 transactions/s each, the
#    simple-update transaction over 20,000 accounts) while osc runs 10
#    migrations in a row on pgbench_accounts with --proxy: every swap is
#    held and succeeds at its first attempt, no pgbench transaction fails,
#    the longest transaction during the migrations took at most the longest
#    hold plus 50 ms, and the money balances (each transaction's UPDATE of
#    pgbench_accounts and its pgbench_history row: sum(abalance) =
#    sum(delta)).
# 2. The view readers: 300 SELECTs/s through a view over the table (through
#    the proxy), the mirrored writer through it too: with --proxy the swap
#    succeeds at its first attempt and the new table equals its mirror.
#    (Without the hold, a swap that locks the table before it re-creates the
#    view deadlocks with a reader holding the view; the outcome is noted.)
# 3. Eight clients in 200-400 ms transactions on the table, one after another:
#    every unheld attempt times out (the lock waits for all of them, longer
#    than --lock-timeout); the held swap waits for them at the proxy and
#    succeeds at its first attempt.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_proxy.sh"

PORT=$((PROXY_BASE_PORT + 1))
SOCK=$TEST_TMP/pg.sock
# (a drain of up to 2 s: part 3's transactions last up to 400 ms, more on a busy machine)
proxy_start pg PORT "postgres://127.0.0.1:$OSC_PG_PORT" --drain-timeout 2s
PX=postgres://postgres@127.0.0.1:$PORT/osctest

# held swaps: every run says it held, released, and needed one attempt
check_held_run() {
    grep -q "the application is held" "$OSC_ERR" || fail "osc did not hold the application"
    grep -q "released the application after" "$OSC_ERR" || fail "osc did not release the application"
    ! grep -q "cutover attempt" "$OSC_ERR" || fail "the held swap needed more than one attempt"
}
held_ms_of_run() {
    grep -oE 'released the application after [0-9]+ms' "$OSC_ERR" | grep -oE '[0-9]+' | sort -n | tail -n 1
}

# ---- 1. pgbench, three protocols, 10 held migrations -------------------------
psql_q "DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history,
        _pgbench_accounts_osc_old CASCADE" 2>/dev/null
osc_state_forget pgbench_accounts
pgbench -i -s 1 -q -n osctest >"$TEST_TMP/pgbench-init.log" 2>&1 || { cat "$TEST_TMP/pgbench-init.log"; fail "pgbench -i"; }
psql_q "DELETE FROM pgbench_accounts WHERE aid > 20000" || fail "shrinking pgbench_accounts"
psql_q "VACUUM ANALYZE pgbench_accounts" || fail "vacuum"
cat >"$TEST_TMP/simple-update.sql" <<'EOF'
\set aid random(1, 20000)
\set bid 1
\set tid random(1, 10)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
EOF

# one migration alone first: it sizes pgbench's run to the machine's speed
t0=$(now_ms)
expect_osc 0 --table pgbench_accounts --alter "ADD COLUMN c0 int NOT NULL DEFAULT 0" --drop-old-table --proxy "$SOCK"
check_held_run
one=$(( $(now_ms) - t0 ))
secs=$(( (one * 10 * 2) / 1000 + 4 ))
[ "$secs" -lt 15 ] && secs=15
[ "$secs" -gt 90 ] && secs=90
note "one migration took ${one}ms alone: pgbench runs ${secs}s"

pids=()
for mode in simple extended prepared; do
    pgbench -h 127.0.0.1 -p "$PORT" -U postgres -n -c 8 -j 2 -R 60 -T "$secs" -M "$mode" \
        -f "$TEST_TMP/simple-update.sql" -l --log-prefix="$TEST_TMP/pgb-$mode" osctest \
        >"$TEST_TMP/pgbench-$mode.out" 2>&1 &
    pids+=($!)
done
sleep 1
from=$(now_ms)
max_hold=0
held_runs=0
for i in $(seq 1 10); do
    expect_osc 0 --table pgbench_accounts --alter "ADD COLUMN c$i int NOT NULL DEFAULT $i" --drop-old-table \
        --proxy "$SOCK"
    check_held_run
    osc_phases "$OSC_ERR" | sed "s/\$/ (migration $i)/" >>"$TEST_TMP/phases"
    h=$(held_ms_of_run)
    [ "$h" -gt "$max_hold" ] && max_hold=$h
    held_runs=$((held_runs + 1))
done
to=$(now_ms)
note "10 held migrations in $((to - from))ms, the longest hold ${max_hold}ms"
for p in "${pids[@]}"; do
    wait "$p" || true
done
[ "$to" -lt $((from + secs * 1000)) ] || note "warning: pgbench ended before the last migration"
for mode in simple extended prepared; do
    pgbench_check "$TEST_TMP/pgbench-$mode.out"
done
worst=0
for mode in simple extended prepared; do
    m=$(pgbench_max_ms "$from" "$((to + 200))" "$TEST_TMP/pgb-$mode")
    note "pgbench -M $mode: longest transaction during the migrations ${m}ms"
    worst=$(awk -v a="$worst" -v b="$m" 'BEGIN { print (b > a) ? b : a }')
done
# where each mode's longest one started and ended: the osc phases it overlapped
for mode in simple extended prepared; do
    read -r wm wat <<<"$(pgbench_worst "$from" "$((to + 200))" "$TEST_TMP/pgb-$mode")"
    note "-M $mode: the longest transaction (${wm}ms) $(awk -v t="$wat" -v d="$wm" '
        function at(x,  last, f) { last = ""; for (i = 1; i <= n; i++) if (ts[i] <= x) last = i
            return last == "" ? "before the first run" : sprintf("%dms into %s", x - ts[last], what[last]) }
        { n++; ts[n] = $1; sub(/^[0-9]+ /, ""); what[n] = $0 }
        END { printf "began %s, ended %s", at(t - d), at(t) }' "$TEST_TMP/phases")"
done
awk -v m="$worst" -v h="$max_hold" 'BEGIN { exit !(m <= h + 50) }' ||
    fail "the longest pgbench transaction took ${worst}ms, more than the longest hold (${max_hold}ms) plus 50ms"
note "held swaps: 0 failed transactions, longest transaction ${worst}ms (longest hold ${max_hold}ms)"
assert_true "(SELECT sum(abalance) FROM pgbench_accounts) = (SELECT coalesce(sum(delta), 0) FROM pgbench_history)" \
    "every pgbench UPDATE has its history row (sum(abalance) = sum(delta))"
assert_true "(SELECT count(*) FROM pgbench_accounts) = 20000" "pgbench_accounts kept its 20000 rows"
assert_true "(SELECT count(*) FROM pgbench_history) > 0" "pgbench wrote history"
[ "$(has_column pgbench_accounts c10)" = t ] || fail "the tenth migration's column is missing"
proxy_status pg | sed 's/^/#   /' | head -n 12
[ "$(proxy_field pg holds_total)" -ge 11 ] || fail "the proxy recorded fewer holds than swaps"
psql_q "DROP TABLE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history"

# ---- 2. readers through a view --------------------------------------------
fixture int vr vr_ref 20000
osc_state_forget vr
psql_q "CREATE VIEW vr_v AS SELECT id, v, n FROM vr" || fail "create view"
cat >"$TEST_TMP/reader.sql" <<'EOF'
\set a random(1, 19900)
SELECT count(*), sum(n) FROM vr_v WHERE id BETWEEN :a AND :a + 100;
EOF
OSC_PG_URL=$PX start_writer int vr vr_ref
pgbench -h 127.0.0.1 -p "$PORT" -U postgres -n -c 4 -j 1 -R 300 -T 600 -f "$TEST_TMP/reader.sql" osctest \
    >"$TEST_TMP/readers.out" 2>&1 &
readers=$!
sleep 0.5
# without the hold, for the record: a swap that re-creates the view after
# locking the table meets a reader holding the view and waiting for the
# table (the lock timeout ends it); one that locks the views first does not
run_osc --table vr --alter "ADD COLUMN c int" --cutover-retries 3 --drop-old-table
note "without the hold: exit $OSC_RC, $(grep -c 'cutover attempt' "$OSC_ERR") failed attempt(s)"
if [ "$OSC_RC" = 0 ]; then
    expect_osc 0 --table vr --alter "DROP COLUMN c" --cutover-retries 3 --drop-old-table --proxy "$SOCK"
    check_held_run
else
    no_osc_leftovers vr
fi
# with it: the first attempt
expect_osc 0 --table vr --alter "ADD COLUMN c2 int" --cutover-retries 3 --drop-old-table --proxy "$SOCK"
check_held_run
sleep 0.5
stop_writer
kill -TERM "$readers" 2>/dev/null
wait "$readers" 2>/dev/null
grep -q "aborted" "$TEST_TMP/readers.out" && { cat "$TEST_TMP/readers.out" >&2; fail "a view reader aborted"; }
[ "$(has_column vr c2)" = t ] || fail "vr has no column c2"
tables_equal vr vr_ref "id, v, n, extra, pad"
assert_true "(SELECT count(*) FROM vr_v) = (SELECT count(*) FROM vr)" "the view reads the new table"

# ---- 3. transactions longer than the lock timeout ------------------------------
# Eight clients through the proxy, each in 200-400 ms transactions that write
# the table, one after another: a swap's lock request waits for all of them,
# and the lock timeout (100 ms) ends it first, every time. Held, the swap
# waits for them at the proxy instead (within its drain timeout), then
# takes the lock at once.
fixture int lx lx_ref 20000
osc_state_forget lx
# (each a random 200-400 ms: transactions of one length fall into step
# after a failed attempt releases them together, and end together)
cat >"$TEST_TMP/long.sql" <<'EOF'
\set id random(1, 20000)
\set ms random(200, 400)
BEGIN;
UPDATE lx SET n = n WHERE id = :id;
SELECT pg_sleep(:ms / 1000.0);
END;
EOF
long_load() { # the clients, while the osc in the background waits at its postponed cutover
    pgbench -h 127.0.0.1 -p "$PORT" -U postgres -n -c 8 -j 2 -T 600 -f "$TEST_TMP/long.sql" osctest \
        >"$TEST_TMP/long.out" 2>&1 &
    long=$!
    sleep 1
}
long_stop() {
    kill -TERM "$long" 2>/dev/null
    wait "$long" 2>/dev/null
    grep -q "aborted" "$TEST_TMP/long.out" && { cat "$TEST_TMP/long.out" >&2; fail "a long-transaction client aborted"; }
    return 0
}
osc_bg "$TEST_TMP/x1.out" "$TEST_TMP/x1.err" --table lx --alter "ADD COLUMN c int" --cutover-retries 3 \
    --postpone-cutover "$TEST_TMP/postpone"
wait_for_text "cutover postponed" 60 "$TEST_TMP/x1.err" || fail "the first run did not reach its cutover"
long_load
rm -f "$TEST_TMP/postpone"
osc_bg_wait 60
long_stop
assert_eq 1 "$OSC_BG_RC" "the unheld swap under transactions longer than the lock timeout"
grep -q "not granted in 3 attempts" "$TEST_TMP/x1.err" || fail "the unheld swap failed for another reason"
note "without the hold: every one of 3 attempts timed out"
expect_osc 0 cleanup --table lx
osc_bg "$TEST_TMP/x2.out" "$TEST_TMP/x2.err" --table lx --alter "ADD COLUMN c int" --cutover-retries 3 \
    --postpone-cutover "$TEST_TMP/postpone" --proxy "$SOCK"
wait_for_text "cutover postponed" 60 "$TEST_TMP/x2.err" || fail "the second run did not reach its cutover"
long_load
rm -f "$TEST_TMP/postpone"
osc_bg_wait 60
long_stop
assert_eq 0 "$OSC_BG_RC" "the held swap under transactions longer than the lock timeout"
grep -q "the application is held" "$TEST_TMP/x2.err" || fail "the swap was not held"
! grep -q "cutover attempt" "$TEST_TMP/x2.err" || fail "the held swap needed more than one attempt"
grep -oE 'released the application after [0-9]+ms[^"]*' "$TEST_TMP/x2.err" | sed 's/^/#   /'
[ "$(has_column lx c)" = t ] || fail "lx has no column c"
proxy_stop pg
note "ok"
