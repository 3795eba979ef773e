#!/usr/bin/env bash
# GENERATED ALWAYS AS IDENTITY key: ids keep counting after the swap, the
# sequence belongs to the new table, the old one drops without CASCADE.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_identpk R=t_identpk_ref
ALTER="ADD COLUMN c int DEFAULT 1"

fixture identity $T $R 200000
migrate_with_writer identity $T $R "$ALTER"
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra, pad, c"
maxref=$(psql_q "SELECT max(id) FROM $R")
newid=$(psql_q "INSERT INTO $T (v) VALUES ('x') RETURNING id") || fail "insert into $T without id failed"
assert_true "$newid > $maxref" "new identity value $newid > max(id) $maxref"
assert_true "pg_get_serial_sequence('$T', 'id') IS NOT NULL" "identity sequence of $T"
assert_eq a "$(psql_q "SELECT attidentity FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'id'")" "id is GENERATED ALWAYS"
psql_q "DROP TABLE _${T}_osc_old" || fail "the old table cannot be dropped without CASCADE"
newid2=$(psql_q "INSERT INTO $T (v) VALUES ('y') RETURNING id") || fail "insert after dropping the old table failed"
assert_true "$newid2 > $newid" "identity keeps counting after dropping the old table"
no_osc_leftovers $T
echo "ok"
