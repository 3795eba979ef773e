#!/usr/bin/env bash
# osc refuses to run on a replica, before it makes anything, naming the
# primary: a PostgreSQL standby always (--allow-on-replica does not apply,
# osc plan too), a MariaDB replica while replication runs, or while
# read_only is ON.  --allow-on-replica runs on a MariaDB replica anyway
# (here in a database only the replica has, so replication is not hurt),
# and replication keeps running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_target.sh"
need_osc
need_my
OSC_STRATEGY=copy
trap 'my_replica_q "SET GLOBAL read_only = 0; START SLAVE" >/dev/null 2>&1;
      my_replica_q "DROP DATABASE IF EXISTS osc_replica_only" >/dev/null 2>&1; _lib_cleanup' EXIT

# ---- PostgreSQL: a standby --------------------------------------------------------
T=t_refuse_rep R=t_refuse_rep_ref
osc_state_forget $T
fixture int $T $R 2000
wait_replica_caught_up 30
snap=$(schema_snapshot)
rows=$(osc_state_rows $T)
osc_with "$OSC_PG_REPLICA_URL" 2 --table $T --alter "ADD COLUMN c int"
said "127\.0\.0\.1:$OSC_PG_REPLICA_PORT is a standby \(in recovery, replicating from 127\.0\.0\.1:$OSC_PG_PORT\)" \
    "the refusal does not say it is a standby, and of which primary"
said "point --database at the primary"
osc_with "$OSC_PG_REPLICA_URL" 2 --table $T --alter "ADD COLUMN c int" --allow-on-replica
said "--allow-on-replica does not apply to a PostgreSQL standby"
osc_with "$OSC_PG_REPLICA_URL" 2 plan --table $T --alter "ADD COLUMN c int"
said "is a standby"
pg_untouched $T "$snap" "$rows"
assert_eq f "$(psql_replica "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '$T'::regclass AND attname = 'c')")" \
    "column c on the standby"

# ---- MariaDB: a replica -------------------------------------------------------------
T=t_refuse_myrep R=t_refuse_myrep_ref
my_fixture int $T $R 2000
my_wait_replica_caught_up 30
snap=$(my_schema_snapshot)
rows=$(my_state_count $T)
rshape=$(my_replica_shape osctest)
osc_with "$OSC_MY_REPLICA_URL" 2 --table $T --alter "ADD COLUMN c INT"
said "127\.0\.0\.1:$OSC_MY_REPLICA_PORT is a replica \(replication is running here, from 127\.0\.0\.1:$OSC_MY_PORT\)" \
    "the refusal does not say it is a replica, and of which primary"
said "give --allow-on-replica"
osc_with "$OSC_MY_REPLICA_URL" 2 plan --table $T --alter "ADD COLUMN c INT"
said "is a replica"
# its SQL thread stopped (lagging, not detached): still a replica
my_replica_q "STOP SLAVE SQL_THREAD" || fail "STOP SLAVE SQL_THREAD"
osc_with "$OSC_MY_REPLICA_URL" 2 --table $T --alter "ADD COLUMN c INT"
said "is a replica \(replication is running here"
my_replica_q "START SLAVE SQL_THREAD" || fail "START SLAVE SQL_THREAD"
# replication stopped, but read_only: refused too
my_replica_q "STOP SLAVE; SET GLOBAL read_only = 1" || fail "STOP SLAVE; read_only"
osc_with "$OSC_MY_REPLICA_URL" 2 --table $T --alter "ADD COLUMN c INT"
said "is a replica \(read_only is ON\)" "a read_only server is not refused as one"
my_replica_q "SET GLOBAL read_only = 0; START SLAVE" || fail "START SLAVE"
my_wait_replica_caught_up 30
assert_eq "$rshape" "$(my_replica_shape osctest)" "the replica's osctest after the refusals"
my_untouched $T "$snap" "$rows"

# --allow-on-replica: a table only the replica has (its own database, which
# the primary never writes), migrated there; replication goes on
my_replica_q "CREATE DATABASE osc_replica_only;
              CREATE TABLE osc_replica_only.t (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB;
              INSERT INTO osc_replica_only.t SELECT seq, MD5(seq) FROM seq_1_to_3000" || fail "replica-only table"
RONLY="mysql://root@127.0.0.1:$OSC_MY_REPLICA_PORT/osc_replica_only"
osc_with "$RONLY" 2 --table t --alter "ADD COLUMN c INT DEFAULT 7"
osc_with "$RONLY" 0 --table t --alter "ADD COLUMN c INT DEFAULT 7" --allow-on-replica
said "is a replica \(replication is running here, from 127\.0\.0\.1:$OSC_MY_PORT\); running anyway \(--allow-on-replica\)"
assert_eq "3000 3000" "$(my_replica_q "SELECT CONCAT_WS(' ', COUNT(*), SUM(c = 7 AND v = MD5(id))) FROM osc_replica_only.t")" \
    "rows of the replica-only table after the run"
assert_eq "Yes Yes" "$(mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_REPLICA_PORT" -uroot -e 'SHOW SLAVE STATUS\G' \
    | awk -F': ' '/^ *Slave_(IO|SQL)_Running:/ { printf "%s%s", sep, $2; sep=" " }')" "replication after --allow-on-replica"
my_q "UPDATE $T SET v = 'after' WHERE id = 1" || fail "a write on the primary"
my_wait_replica_caught_up 30
assert_eq after "$(my_replica_q "SELECT v FROM $T WHERE id = 1")" "the write replicated"
echo "ok"
