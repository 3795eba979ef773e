#!/usr/bin/env bash
# A streaming replica follows the migration: the new column and every row arrive.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_replica R=t_replica_ref
ALTER="ADD COLUMN c int DEFAULT 5"

fixture int $T $R 200000
migrate_with_writer int $T $R "$ALTER"
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra, pad, c"
wait_replica_caught_up 30
assert_eq t "$(psql_replica "SELECT pg_is_in_recovery()")" "the replica is a standby"
assert_eq 1 "$(psql_replica "SELECT count(*) FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'c' AND NOT attisdropped")" "column c on the replica"
assert_eq "$(psql_q "SELECT count(*) FROM $T")" "$(psql_replica "SELECT count(*) FROM $T")" "row count replica vs primary"
assert_eq "$(psql_q "SELECT md5(string_agg(id || ':' || coalesce(c, -1), ',' ORDER BY id)) FROM $T")" \
          "$(psql_replica "SELECT md5(string_agg(id || ':' || coalesce(c, -1), ',' ORDER BY id)) FROM $T")" "rows replica vs primary"
echo "ok"
