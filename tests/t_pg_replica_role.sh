#!/usr/bin/env bash
# Writes made with session_replication_role = replica (PostgreSQL): how a
# logical replication subscriber applies changes, and how some loaders
# write.  An ordinary trigger does not fire for them; osc's capture triggers
# are ENABLE ALWAYS, so nothing they write is lost.
#   1. the mirrored writer itself writes as replica (PGOPTIONS) during the copy;
#   2. a real publication/subscription pair between two databases of the
#      test primary: the writer writes on the publisher, osc migrates the
#      subscriber's table mid-stream; the subscriber's new table must equal
#      the publisher's mirror, and keep receiving changes after its apply
#      worker restarts (the swap moves the table's pg_subscription_rel row).
. "$(dirname "$0")/lib.sh"
need_osc
ALTER="ALTER COLUMN n TYPE bigint"
COLS="id, v, n, extra, pad"

note "--- 1. the writer writes with session_replication_role = replica"
T=t_pg_reprole R=t_pg_reprole_ref
fixture int $T $R 20000
osc_state_forget $T
export PGOPTIONS="-c session_replication_role=replica"
start_writer int $T $R
unset PGOPTIONS
sleep 0.5
OSC_FAULT=chunk:40 run_osc --table $T --alter "$ALTER" --chunk-size 1000 --chunk-size-max 1000
[ "$OSC_RC" = 0 ] || { stop_writer; fail "osc exited $OSC_RC, expected 0"; }
sleep 0.5
stop_writer
tables_equal $T $R "$COLS"
no_osc_leftovers $T

note "--- 2. a subscriber's table, migrated while the publisher is written to"
P=t_pg_pub PR=t_pg_pub_ref SUBDB=osc_sub_test SUB=osc_test_sub SLOT=osc_test_slot PUB=osc_test_pub
SUBURL="postgres://postgres@127.0.0.1:$PGPORT/$SUBDB"
sub_q() { psql_q "$1" -d "$SUBDB"; }
teardown() {
    sub_q "SELECT 1" >/dev/null 2>&1 || return 0
    if [ "$(sub_q "SELECT count(*) FROM pg_subscription WHERE subname = '$SUB'")" = 1 ]; then
        sub_q "ALTER SUBSCRIPTION $SUB DISABLE" >/dev/null
        sub_q "ALTER SUBSCRIPTION $SUB SET (slot_name = NONE)" >/dev/null
        sub_q "DROP SUBSCRIPTION $SUB" >/dev/null
    fi
    psql_q "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
    psql_q "DROP PUBLICATION IF EXISTS $PUB" >/dev/null 2>&1
}
teardown
[ "$(psql_q "SELECT count(*) FROM pg_database WHERE datname = '$SUBDB'")" = 1 ] || psql_q "CREATE DATABASE $SUBDB" \
    || fail "create the subscriber's database"
fixture int $P $PR 20000
sub_q "SET client_min_messages = warning; DROP TABLE IF EXISTS $P, _${P}_osc_old;
       CREATE TABLE $P (id int PRIMARY KEY, v text, n int, extra int NOT NULL DEFAULT 0, pad text);
       CREATE INDEX ${P}_n_idx ON $P (n)" || fail "the subscriber's table"
psql -XAtq -v ON_ERROR_STOP=1 -c "COPY $P TO STDOUT" | psql -XAtq -v ON_ERROR_STOP=1 -d "$SUBDB" -c "COPY $P FROM STDIN" \
    || fail "the subscriber's rows"
[ "$(sub_q "SELECT to_regclass('osc.migrations') IS NOT NULL")" = t ] && sub_q "DELETE FROM osc.migrations WHERE table_name = '$P'"
psql_q "CREATE PUBLICATION $PUB FOR TABLE $P" || fail "publication"
# the slot first: a subscription that makes its own slot in the same cluster waits for itself
psql_q "SELECT pg_create_logical_replication_slot('$SLOT', 'pgoutput')" >/dev/null || fail "slot"
sub_q "CREATE SUBSCRIPTION $SUB CONNECTION 'host=127.0.0.1 port=$PGPORT dbname=$PGDATABASE user=postgres'
       PUBLICATION $PUB WITH (create_slot = false, slot_name = '$SLOT', copy_data = false)" || fail "subscription"
trap 'teardown; _lib_cleanup' EXIT

# sums DB TABLE: row count and a checksum of every row
sums() {
    psql_q "SELECT count(*) || ' ' || coalesce(md5(string_agg(format('%s|%s|%s|%s|%s', $COLS), ',' ORDER BY id)), '')
            FROM $2" -d "$1"
}
# caught_up WHAT: the subscriber's table equals the publisher's mirror (waits up to 20 s for the apply worker)
caught_up() {
    local want got i
    want=$(sums "$PGDATABASE" $PR)
    for ((i = 0; i < 200; i++)); do
        got=$(sums "$SUBDB" $P)
        [ "$got" = "$want" ] && { note "subscriber equals the publisher's mirror ($1): ${got%% *} rows"; return 0; }
        sleep 0.1
    done
    fail "$1: the subscriber's $P ($got) differs from the publisher's $PR ($want)"
}
caught_up "before osc"

start_writer int $P $PR
sleep 0.5
need_osc
OSC_RC=0
OSC_FAULT=chunk:40 "$OSC" --table $P --alter "$ALTER" --strategy copy --chunk-size 1000 --chunk-size-max 1000 \
    --database "$SUBURL" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
note "osc on the subscriber -> exit $OSC_RC"
tail -n 5 "$OSC_ERR" | sed 's/^/#   err: /'
[ "$OSC_RC" = 0 ] || { stop_writer; fail "osc on the subscriber exited $OSC_RC, expected 0"; }
sleep 0.5
stop_writer
caught_up "after the swap"
assert_eq bigint "$(sub_q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '$P'::regclass AND attname = 'n'")" \
    "type of n on the subscriber"
assert_eq "$P" "$(sub_q "SELECT srrelid::regclass FROM pg_subscription_rel")" "the subscription's table"
assert_eq 0 "$(sub_q "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '\_osc\_%'")" "osc work schemas left on the subscriber"

note "--- the apply worker restarts; changes keep arriving in the new table"
sub_q "ALTER SUBSCRIPTION $SUB DISABLE" || fail "disable"
sub_q "ALTER SUBSCRIPTION $SUB ENABLE" || fail "enable"
WRITER_RATE=500 start_writer int $P $PR 1
sleep 1.5
stop_writer
caught_up "after the apply worker restarted"
echo ok
