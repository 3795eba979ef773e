#!/usr/bin/env bash
# MariaDB: after a migration under the writer, the replica has the new table
# (column c) with the same rows as the primary.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_repl R=t_my_repl_ref
my_fixture int $T $R 100000
my_migrate_with_writer int $T $R "ADD COLUMN c INT DEFAULT 1"
my_wait_replica_caught_up 60
assert_eq 1 "$(my_replica_q "SELECT COUNT(*) FROM information_schema.COLUMNS
                            WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'c'")" \
    "the replica's $T has column c"
assert_eq "$(my_q "SELECT COUNT(*) FROM $T")" "$(my_replica_q "SELECT COUNT(*) FROM $T")" "row count of $T on the replica"
sum="SELECT CONCAT_WS(' ', COUNT(*), SUM(CRC32(JSON_ARRAY(id, v, n, extra, pad, c)))) FROM $T"
assert_eq "$(my_q "$sum")" "$(my_replica_q "$sum")" "checksum of $T on the primary and the replica"
my_q "ALTER TABLE $R ADD COLUMN c INT DEFAULT 1" || fail "ALTER of the reference table"
my_tables_equal $T $R "id, v, n, extra, pad, c"
echo "ok"
