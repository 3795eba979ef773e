#!/usr/bin/env bash
# MariaDB: --lock-timeout bounds what the application waits for osc's lock
# requests, for real. A long transaction that has read T holds its metadata
# lock; while osc's LOCK TABLES (or DROP TRIGGER) waits for it, every writer
# of T queues behind osc's request. MariaDB's lock_wait_timeout counts whole
# seconds: each "lock not granted within 100ms" attempt of the old code held
# the writer for about a second, and its cleanup retried as long. Each
# attempt is now bounded by max_statement_time.
#   The copy is done and the swap postponed (--postpone-cutover); a blocker
#   session opens a transaction on T; the swap is let go with
#   --lock-timeout 100ms --cutover-retries 3 under the mirrored writer:
#   - every attempt fails; the log says how long writers queued behind each
#     request (about 100ms), and the writer's longest transaction stays far
#     below a second (it was above one);
#   - the abort cannot drop the capture triggers either (same lock): osc
#     exits 1, the original equals the mirror and takes writes, the shadow
#     is gone, the triggers and their log stay and the message says
#     `osc cleanup` removes them; with the blocker gone, `osc cleanup` does.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_lockw R=t_my_lockw_ref
COLS="id, v, n, extra, pad"
BLOCKER=

stop_blocker() {
    local id
    id=$(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%osc_test_blocker%' AND ID <> CONNECTION_ID()")
    [ -n "$id" ] && my_q "KILL $id" >/dev/null 2>&1
    [ -n "$BLOCKER" ] && wait "$BLOCKER" 2>/dev/null
    BLOCKER=
}
trap 'stop_blocker; _lib_cleanup' EXIT

my_q "DELETE FROM _osc_migrations WHERE table_name = '$T'" 2>/dev/null
my_fixture int $T $R 10000
flag=$TEST_TMP/postpone
start_mywriter int $T $R
sleep 0.3
osc_bg_my "$TEST_TMP/osc.out" "$TEST_TMP/osc.err" --table $T --alter "ADD COLUMN c INT" \
    --postpone-cutover "$flag" --lock-timeout 100ms --cutover-retries 3 --log-format text
wait_for_text "cutover postponed" 60 "$TEST_TMP/osc.err" \
    || { tail -n 20 "$TEST_TMP/osc.err" >&2; fail "osc did not reach the postponed cutover"; }
my_q "START TRANSACTION; SELECT COUNT(*) FROM $T WHERE id = 1; SELECT SLEEP(120) AS osc_test_blocker; COMMIT" \
    >/dev/null 2>&1 &
BLOCKER=$!
for _ in $(seq 1 50); do
    [ -n "$(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(120)%' AND ID <> CONNECTION_ID()")" ] && break
    sleep 0.1
done
# the writer's figures from here on: a fresh writer
stop_mywriter
start_mywriter int $T $R
sleep 0.5
rm -f "$flag"
osc_bg_wait 120
rc=$OSC_BG_RC
sleep 0.3
stop_mywriter
sed 's/^/#   osc: /' "$TEST_TMP/osc.err" | grep -vE "progress|copy " | tail -n 25
assert_eq 1 "$rc" "osc's exit status when the lock is never granted"
grep -q "cutover: the lock on the table was not granted in 3 attempts" "$TEST_TMP/osc.err" \
    || fail "the failure does not say the lock was not granted"
mx=$(writer_stat max_ms)
note "the writer's longest transaction while osc tried: ${mx} ms"
awk -v m="$mx" 'BEGIN { exit !(m + 0 < 600) }' || fail "a writer transaction took ${mx} ms (--lock-timeout 100ms)"
waits=$(grep -oE "writers queued behind the request for [0-9.]+ms" "$TEST_TMP/osc.err" | grep -oE "[0-9.]+ms")
note "writers queued behind each failed request: $(echo $waits)"
[ "$(echo "$waits" | wc -w)" -ge 3 ] || fail "the log does not say how long writers queued behind each request"
for w in $waits; do
    awk -v w="${w%ms}" 'BEGIN { exit !(w + 0 < 400) }' || fail "a lock request held writers for $w (--lock-timeout 100ms)"
done
grep -q "osc cleanup" "$TEST_TMP/osc.err" || fail "the abort does not point at osc cleanup"
assert_eq 0 "$(my_has_column $T c)" "$T is the original"
my_tables_equal $T $R "$COLS"
assert_eq 0 "$(my_has_table ${T}_osc_new)" "the shadow after the abort"
assert_eq 1 "$(my_has_table ${T}_osc_log)" "the change log stays while its triggers do"
assert_eq 3 "$(my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'osctest'
                     AND TRIGGER_NAME LIKE '${T}\\_osc\\_%'")" "the capture triggers the abort could not drop"
my_q "START TRANSACTION; INSERT INTO $T (id, v) VALUES (900000001, 'x'); INSERT INTO $R (id, v) VALUES (900000001, 'x'); COMMIT" \
    || fail "$T does not take writes after the abort"
stop_blocker
expect_osc_my 0 cleanup --table $T
my_no_osc_leftovers $T
my_tables_equal $T $R "$COLS"
echo "ok"
