#!/usr/bin/env bash
# The cutover's lock is never granted: after --cutover-retries attempts osc
# gives up at once.  It backs off between attempts, never after the last one
# (the old loop slept once more, and said "retrying", before giving up).
# Both engines: the copy is done and the swap postponed; a session holds the
# table (PostgreSQL: ACCESS SHARE in an open transaction; MariaDB: an open
# transaction that read it, whose metadata lock keeps LOCK TABLES out); the
# flag goes and the swap is tried twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

HOLDER=
release() {
    if [ "$ENGINE" = pg ]; then
        psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE application_name = 'osc_test_holder'" >/dev/null
    else
        local id
        id=$(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%osc_test_holder%' AND ID <> CONNECTION_ID()")
        [ -n "$id" ] && my_q "KILL $id" >/dev/null 2>&1
    fi
    [ -n "$HOLDER" ] && wait "$HOLDER" 2>/dev/null
    HOLDER=
}
# whatever ends the test, nothing of osc's stays behind for the next one
leave_clean() {
    release
    "$OSC" cleanup --table t_retry_last_pg --database "$OSC_PG_URL" >/dev/null 2>&1
    [ -n "${OSC_MY_URL:-}" ] && "$OSC" cleanup --table t_retry_last_my --database "$OSC_MY_URL" >/dev/null 2>&1
    _lib_cleanup
}
trap leave_clean EXIT

hold() { # an open transaction on $1 that keeps the swap's lock out
    if [ "$ENGINE" = pg ]; then
        PGAPPNAME=osc_test_holder psql -X -q -c "BEGIN" -c "LOCK TABLE $1 IN ACCESS SHARE MODE" \
            -c "SELECT pg_sleep(120)" -c "COMMIT" >/dev/null 2>&1 &
    else
        my_q "START TRANSACTION; SELECT COUNT(*) FROM $1 WHERE id = 1; SELECT SLEEP(120) AS osc_test_holder; COMMIT" \
            >/dev/null 2>&1 &
    fi
    HOLDER=$!
    local i
    for ((i = 0; i < 50; i++)); do
        if [ "$ENGINE" = pg ]; then
            [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'osc_test_holder'
                         AND query LIKE '%pg_sleep%'")" -ge 1 ] && return 0
        else
            [ -n "$(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(120)%' AND ID <> CONNECTION_ID()")" ] && return 0
        fi
        sleep 0.1
    done
    fail "the lock holder did not start"
}

for eng in pg my; do
    eng_use $eng
    T=t_retry_last_$eng R=t_retry_last_${eng}_ref
    e_fixture $T $R 5000
    flag=$TEST_TMP/postpone_$eng
    touch "$flag"
    if [ $eng = pg ]; then
        osc_bg "$TEST_TMP/$eng.out" "$TEST_TMP/$eng.err" --table $T --alter "ADD COLUMN c int" \
            --postpone-cutover "$flag" --lock-timeout 50ms --cutover-retries 2 --log-format text
    else
        osc_bg_my "$TEST_TMP/$eng.out" "$TEST_TMP/$eng.err" --table $T --alter "ADD COLUMN c INT" \
            --postpone-cutover "$flag" --lock-timeout 50ms --cutover-retries 2 --log-format text
    fi
    wait_for_text "cutover postponed" 60 "$TEST_TMP/$eng.err" || fail "osc did not reach the postponed cutover"
    hold $T
    t0=$(date +%s%N)
    rm -f "$flag"
    osc_bg_wait 60
    sed 's/^/#   osc: /' "$TEST_TMP/$eng.err" | grep -E "cutover|lock|abort" | tail -n 12
    assert_eq 1 "$OSC_BG_RC" "osc's exit status when the swap's lock is never granted"
    grep -q "cutover: the lock on the table was not granted in 2 attempts" "$TEST_TMP/$eng.err" \
        || fail "the failure does not say how many attempts were made"
    grep -q "cutover attempt 1/2: lock not granted.*retrying in" "$TEST_TMP/$eng.err" \
        || fail "no backoff after the first attempt"
    if grep -q "cutover attempt 2/2" "$TEST_TMP/$eng.err"; then
        fail "osc backed off after its last attempt: $(grep "cutover attempt 2/2" "$TEST_TMP/$eng.err")"
    fi
    release
    assert_eq 0 "$(e_has_column $T c)" "$T is the original"
    e_tables_equal $T $R "id, v, n, extra, pad"
    e_expect_osc 0 cleanup --table $T
    e_no_leftovers $T
done
echo ok
