#!/usr/bin/env bash
# `osc cleanup` is refused on a replica, as a run is, before it touches
# anything: a PostgreSQL standby always (it cannot be written: the cleanup
# failed there on its first write), a MariaDB replica unless
# --allow-on-replica (a cleanup there would drop or rename tables the
# primary still replicates into).  The same command against the primary
# cleans up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_target.sh"
need_osc
need_my
OSC_STRATEGY=copy

# ---- PostgreSQL: a standby --------------------------------------------------------
T=t_cleanup_rep R=t_cleanup_rep_ref
osc_state_forget $T
fixture int $T $R 500
wait_replica_caught_up 30
snap=$(schema_snapshot)
rows=$(osc_state_rows $T)
osc_with "$OSC_PG_REPLICA_URL" 2 cleanup --table $T
said "127\.0\.0\.1:$OSC_PG_REPLICA_PORT is a standby \(in recovery, replicating from 127\.0\.0\.1:$OSC_PG_PORT\)" \
    "the cleanup's refusal does not say it is a standby, and of which primary"
pg_untouched $T "$snap" "$rows"
osc_with "$OSC_PG_URL" 0 cleanup --table $T
said "nothing of osc's to clean up"

# ---- MariaDB: a replica -------------------------------------------------------------
T=t_cleanup_myrep R=t_cleanup_myrep_ref
my_fixture int $T $R 500
my_wait_replica_caught_up 30
snap=$(my_schema_snapshot)
rows=$(my_state_count $T)
osc_with "$OSC_MY_REPLICA_URL" 2 cleanup --table $T
said "127\.0\.0\.1:$OSC_MY_REPLICA_PORT is a replica \(replication is running here, from 127\.0\.0\.1:$OSC_MY_PORT\)" \
    "the cleanup's refusal does not say it is a replica, and of which primary"
said "give --allow-on-replica"
my_untouched $T "$snap" "$rows"
# --allow-on-replica: the cleanup runs there (nothing of osc's to remove)
osc_with "$OSC_MY_REPLICA_URL" 0 cleanup --table $T --allow-on-replica
said "running anyway \(--allow-on-replica\)"
osc_with "$OSC_MY_URL" 0 cleanup --table $T
said "nothing of osc's to remove"
my_untouched $T "$snap" "$rows"
echo "ok"
