#!/usr/bin/env bash
# The swap's lock is not granted (a transaction holds a lock on the table):
#  A. after --cutover-retries attempts osc gives up, exit 1, the original is
#     intact and equal to the mirror, and nothing of osc keeps working on it;
#  B. when the transaction ends between attempts, osc retries and finishes.
# The writer runs throughout and must never wait much longer than the lock
# timeout.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_retry R=t_retry_ref
fixture int $T $R 50000

hold_lock() { # SECONDS: a transaction that holds ACCESS SHARE on T
    PGAPPNAME=osc_test_holder psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN" -c "LOCK TABLE $T IN ACCESS SHARE MODE" \
        -c "SELECT pg_sleep($1)" -c "COMMIT" >/dev/null 2>&1 &
    HOLDER=$!
    for _ in $(seq 1 50); do
        [ "$(psql_q "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                     WHERE c.relname = '$T' AND l.mode = 'AccessShareLock' AND l.granted
                       AND l.pid <> pg_backend_pid()")" -ge 1 ] && return 0
        sleep 0.1
    done
    fail "the lock holder did not start"
}
release_lock() { # ends the holder's transaction now (killing psql alone would not)
    psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE application_name = 'osc_test_holder'" >/dev/null
    wait $HOLDER 2>/dev/null
}

# ---- A: gives up ----
start_writer int $T $R
hold_lock 60
run_osc --table $T --alter "ADD COLUMN c int DEFAULT 1" --lock-timeout 50ms --cutover-retries 3
[ "$OSC_RC" = 1 ] || { release_lock; fail "expected exit 1 when the lock is never granted, got $OSC_RC"; }
grep -q "not granted in 3 attempts" "$OSC_ERR" || { release_lock; fail "no message about the lock attempts"; }
assert_true "NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'c')" \
    "the original has no new column"
# the trigger could not be dropped either (same lock): it must now do nothing
sleep 1
before=$(psql_q "SELECT count(*) FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
                 WHERE n.nspname LIKE '\_osc\_%' AND c.relkind = 'r'")
assert_eq 0 "$before" "osc tables left after the abort"
release_lock
sleep 0.5
stop_writer
tables_equal $T $R "id, v, n, extra, pad"
expect_osc 0 cleanup --table $T
no_osc_leftovers $T
max=$(writer_stat max_ms)
note "writer max latency with a blocked swap: ${max} ms"

# ---- B: succeeds once the transaction is gone ----
start_writer int $T $R
hold_lock 60
need_osc
"$OSC" --strategy copy --table $T --alter "ADD COLUMN c int DEFAULT 1" --lock-timeout 50ms --cutover-retries 100 \
    --database "$OSC_PG_URL" --log-format json >"$OSC_OUT" 2>"$OSC_ERR" &
pid=$!
for _ in $(seq 1 200); do
    grep -q "cutover attempt 2/100" "$OSC_ERR" && break
    sleep 0.1
done
grep -q "cutover attempt 2/100" "$OSC_ERR" || { release_lock; kill $pid; fail "osc did not retry the swap"; }
release_lock
rc=0; wait $pid || rc=$?
tail -n 5 "$OSC_ERR" | sed 's/^/#   /'
[ "$rc" = 0 ] || fail "osc exited $rc after the lock was released"
sleep 0.5
stop_writer
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "id, v, n, extra, pad, c"
no_osc_leftovers $T
echo ok
