#!/usr/bin/env bash
# A replica follows the migration, on PostgreSQL (a streaming standby) and
# MariaDB (binlog replication), one body: after a migration under the
# writer, the replica's table has the new column and the same rows as the
# primary's, and the primary's table equals the mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 5"

replica_test() {
    local T=t_replica_$ENGINE R=t_replica_${ENGINE}_ref sum
    e_fixture $T $R 50000
    e_migrate_with_writer int $T $R "$ALTER"
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "id, v, n, extra, pad, c"
    e_wait_replica_caught_up 60
    if [ "$ENGINE" = pg ]; then
        assert_eq t "$(psql_replica "SELECT pg_is_in_recovery()")" "the replica is a standby"
        assert_eq 1 "$(psql_replica "SELECT count(*) FROM pg_attribute WHERE attrelid = '$T'::regclass
                                     AND attname = 'c' AND NOT attisdropped")" "column c on the replica"
        sum="SELECT count(*) || ' ' || md5(string_agg(id || ':' || coalesce(c, -1), ',' ORDER BY id)) FROM $T"
    else
        assert_eq 1 "$(my_replica_q "SELECT COUNT(*) FROM information_schema.COLUMNS
                                    WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = '$T' AND COLUMN_NAME = 'c'")" \
            "column c on the replica"
        sum="SELECT CONCAT_WS(' ', COUNT(*), SUM(CRC32(JSON_ARRAY(id, v, n, extra, pad, c)))) FROM $T"
    fi
    assert_eq "$(e_q "SELECT COUNT(*) FROM $T")" "$(e_replica_q "SELECT COUNT(*) FROM $T")" "row count replica vs primary"
    assert_eq "$(e_q "$sum")" "$(e_replica_q "$sum")" "rows (a checksum) replica vs primary"
}

for_each_engine replica_test
echo "ok"
