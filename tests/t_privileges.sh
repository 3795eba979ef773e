#!/usr/bin/env bash
# Preflight checks every privilege the run needs and prints the GRANT
# statements that are missing (exit 2, nothing made), on PostgreSQL and
# MariaDB (one script; the privileges are each engine's own).  A role (a
# user, on MariaDB) with exactly what README.md ("Privileges") lists runs the
# migration end to end under the writer; the same role missing one privilege
# at a time is refused with that GRANT, and a --replica reached as a role
# that cannot read osc's heartbeat there is refused too.
#   PostgreSQL: membership of the table's owner, CREATE on the database, the
#   state schema and table, the owner's CREATE on the table's schema,
#   pg_read_all_stats and TEMPORARY for --strategy auto, the owner of a view
#   over the table, several missing at once.
#   MariaDB: each of SELECT, INSERT, UPDATE, DELETE, CREATE, LOCK TABLES,
#   TRIGGER, DROP, ALTER (part of it through a default role; TRIGGER not
#   through a role), SUPER, SLAVE MONITOR, REPLICATION MASTER ADMIN, the role
#   not enabled by default.  Before, a user without LOCK TABLES failed at LOCK
#   TABLES after making its shadow and log, and its own cleanup failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_target.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

# the roles and users each half makes, dropped at the end however it ends
PG_STARTED=0 MY_STARTED=0 MY_TRUST=0
drop_roles() {
    psql_q "SET client_min_messages = warning;
            DROP VIEW IF EXISTS t_priv_view;
            DO \$\$ DECLARE r text; BEGIN
              FOREACH r IN ARRAY ARRAY['$RUN', '$OWNER', '$VIEWER', '$REP'] LOOP
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                  EXECUTE format('DROP OWNED BY %I', r);
                  EXECUTE format('DROP ROLE %I', r);
                END IF;
              END LOOP; END \$\$" >/dev/null
    psql_q "GRANT TEMPORARY ON DATABASE osctest TO PUBLIC" >/dev/null
}
drop_users() {
    my_q "DROP USER IF EXISTS '$U'@'%'; DROP ROLE IF EXISTS $ROLE" >/dev/null
    mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_REPLICA_PORT" -uroot -e "DROP USER IF EXISTS '$REP'@'%'" >/dev/null
}
_priv_cleanup() {
    local r=$?
    [ "$PG_STARTED" = 1 ] && drop_roles 2>/dev/null
    if [ "$MY_STARTED" = 1 ]; then
        [ "$MY_TRUST" = 1 ] && my_q "SET GLOBAL log_bin_trust_function_creators = 0" >/dev/null 2>&1
        drop_users 2>/dev/null
    fi
    _lib_cleanup
    exit $r
}
trap _priv_cleanup EXIT

pg_privileges() {
    T=t_priv R=t_priv_ref
    RUN=osc_priv_run OWNER=osc_priv_app VIEWER=osc_priv_view REP=osc_priv_rep
    URL="postgres://$RUN@127.0.0.1:$OSC_PG_PORT/osctest"
    OSC_STRATEGY=auto
    PG_STARTED=1
    ALTER="ALTER COLUMN n TYPE bigint"

    osc_state_forget $T
    fixture int $T $R 20000
    drop_roles
    # the state schema and table exist, made by another role (the superuser)
    psql_q "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS osc" >/dev/null
    osc_with "$OSC_PG_URL" 0 plan --table $T --alter "$ALTER"
    [ "$(psql_q "SELECT to_regclass('osc.migrations') IS NOT NULL")" = t ] || {
        psql_q "CREATE TABLE t_priv_seed (id int PRIMARY KEY)" >/dev/null
        osc_with "$OSC_PG_URL" 0 --table t_priv_seed --alter "ADD COLUMN c int" --strategy copy
        psql_q "DROP TABLE t_priv_seed, _t_priv_seed_osc_old" >/dev/null
    }
    # exactly what README.md says a run needs
    psql_q "CREATE ROLE $OWNER; CREATE ROLE $RUN LOGIN; CREATE ROLE $VIEWER; CREATE ROLE $REP LOGIN;
            ALTER TABLE $T OWNER TO $OWNER; ALTER TABLE $R OWNER TO $OWNER;
            GRANT USAGE, CREATE ON SCHEMA public TO $OWNER;
            GRANT $OWNER TO $RUN;
            GRANT CREATE ON DATABASE osctest TO $RUN;
            GRANT USAGE, CREATE ON SCHEMA osc TO $RUN;
            GRANT SELECT, INSERT, UPDATE ON osc.migrations TO $RUN;
            GRANT pg_read_all_stats TO $RUN;" >/dev/null || fail "roles and grants"

    snap=$(schema_snapshot)
    rows=$(osc_state_rows $T)
    # refused REVOKE... GRANT... REGEX [osc options]: with one privilege taken
    # away, osc prints the statement that gives it back, and changes nothing
    refused() {
        local revoke=$1 grant=$2 re=$3
        shift 3
        psql_q "$revoke" >/dev/null || fail "$revoke"
        osc_with "$URL" 2 --table $T --alter "$ALTER" "$@"
        said "role $RUN lacks a privilege this run needs; nothing was changed"
        said "$re"
        psql_q "$grant" >/dev/null || fail "$grant"
        pg_untouched $T "$snap" "$rows"
    }
    refused "REVOKE $OWNER FROM $RUN" "GRANT $OWNER TO $RUN" \
        "GRANT \"$OWNER\" TO \"$RUN\";  -- $OWNER owns public.$T"
    refused "REVOKE CREATE ON DATABASE osctest FROM $RUN" "GRANT CREATE ON DATABASE osctest TO $RUN" \
        "GRANT CREATE ON DATABASE \"osctest\" TO \"$RUN\";"
    refused "REVOKE CREATE ON SCHEMA osc FROM $RUN" "GRANT CREATE ON SCHEMA osc TO $RUN" \
        "GRANT USAGE, CREATE ON SCHEMA osc TO \"$RUN\";"
    refused "REVOKE UPDATE ON osc.migrations FROM $RUN" "GRANT UPDATE ON osc.migrations TO $RUN" \
        "GRANT SELECT, INSERT, UPDATE ON osc.migrations TO \"$RUN\";"
    refused "REVOKE CREATE ON SCHEMA public FROM $OWNER" "GRANT CREATE ON SCHEMA public TO $OWNER" \
        "GRANT USAGE, CREATE ON SCHEMA \"public\" TO \"$OWNER\";"
    refused "REVOKE pg_read_all_stats FROM $RUN" "GRANT pg_read_all_stats TO $RUN" \
        "GRANT pg_read_all_stats TO \"$RUN\";  -- an in-place run waits on its replicas' replay_lag"
    refused "REVOKE TEMPORARY ON DATABASE osctest FROM PUBLIC" "GRANT TEMPORARY ON DATABASE osctest TO PUBLIC" \
        "GRANT TEMPORARY ON DATABASE \"osctest\" TO \"$RUN\";"
    # a view over the table, owned by a role osc's role is no member of
    psql_q "CREATE VIEW t_priv_view AS SELECT id, n FROM $T; ALTER VIEW t_priv_view OWNER TO $VIEWER" >/dev/null
    snap=$(schema_snapshot)
    osc_with "$URL" 2 --table $T --alter "ADD COLUMN c int DEFAULT 5" --strategy copy
    said "GRANT \"$VIEWER\" TO \"$RUN\";  -- $VIEWER owns a view over the table, which the swap re-creates"
    pg_untouched $T "$snap" "$rows"
    psql_q "DROP VIEW t_priv_view" >/dev/null
    snap=$(schema_snapshot)
    # a --replica reached as a role that cannot read osc's heartbeat
    osc_with "$URL" 2 --table $T --alter "$ALTER" --replica "postgres://$REP@127.0.0.1:$OSC_PG_REPLICA_PORT/osctest"
    said "GRANT \"$RUN\" TO \"$REP\";  -- --replica 127\.0\.0\.1:$OSC_PG_REPLICA_PORT connects as $REP"
    pg_untouched $T "$snap" "$rows"
    # several missing at once: every statement in one message
    psql_q "REVOKE $OWNER FROM $RUN; REVOKE CREATE ON DATABASE osctest FROM $RUN" >/dev/null
    osc_with "$URL" 2 --table $T --alter "$ALTER"
    said "role $RUN lacks privileges this run needs"
    said "GRANT \"$OWNER\" TO \"$RUN\";"
    said "GRANT CREATE ON DATABASE \"osctest\" TO \"$RUN\";"
    psql_q "GRANT $OWNER TO $RUN; GRANT CREATE ON DATABASE osctest TO $RUN" >/dev/null
    pg_untouched $T "$snap" "$rows"

    # everything README.md lists: the run succeeds under the writer, as that role
    # (the replica watched as the same role)
    wait_replica_caught_up 30
    start_writer int $T $R
    sleep 0.5
    osc_with "$URL" 0 --table $T --alter "$ALTER" --replica "postgres://$RUN@127.0.0.1:$OSC_PG_REPLICA_PORT/osctest"
    sleep 0.5
    stop_writer
    psql_q "ALTER TABLE $R $ALTER" >/dev/null
    tables_equal $T $R "id, v, n, extra, pad"
    assert_eq "$OWNER bigint" "$(psql_q "SELECT pg_get_userbyid(c.relowner) || ' ' || format_type(a.atttypid, a.atttypmod)
                                        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                                        WHERE c.oid = '$T'::regclass AND a.attname = 'n'")" "the new table's owner and type"
    no_osc_leftovers $T
    psql_q "DROP TABLE _${T}_osc_old" >/dev/null
    drop_roles
}

my_privileges() {
    T=t_my_priv R=t_my_priv_ref
    U=osc_priv ROLE=osc_priv_role REP=osc_priv_rep
    URL="mysql://$U:pw@127.0.0.1:$OSC_MY_PORT/osctest"
    OSC_STRATEGY=copy
    MY_STARTED=1
    ALTER="MODIFY n BIGINT"

    my_fixture int $T $R 20000
    drop_users
    # the state table exists (made by another user); exactly what README.md lists,
    # DROP, ALTER and SLAVE MONITOR through a default role (SELECT, INSERT and
    # TRIGGER cannot come from a role: the triggers run as their definer)
    osc_with "$OSC_MY_URL" 0 --table $R --alter "ADD COLUMN seed INT" >/dev/null
    my_q "ALTER TABLE $R DROP COLUMN seed; DROP TABLE ${R}_osc_old" >/dev/null
    my_q "CREATE USER '$U'@'%' IDENTIFIED BY 'pw'; CREATE ROLE $ROLE;
          GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, LOCK TABLES, TRIGGER ON osctest.* TO '$U'@'%';
          GRANT DROP, ALTER ON osctest.* TO $ROLE; GRANT SLAVE MONITOR ON *.* TO $ROLE;
          GRANT SUPER, REPLICATION MASTER ADMIN ON *.* TO '$U'@'%';
          GRANT $ROLE TO '$U'@'%'; SET DEFAULT ROLE $ROLE FOR '$U'@'%'" || fail "user and grants"
    my_wait_replica_caught_up 30

    snap=$(my_schema_snapshot)
    rows=$(my_state_count $T)
    # refused REVOKE GRANT REGEX: with one privilege taken away, osc prints the
    # statement that gives it back, and changes nothing
    refused() {
        my_q "$1" || fail "$1"
        osc_with "$URL" 2 --table $T --alter "$ALTER"
        said "user '$U'@'%' lacks (a privilege|privileges) this run needs; nothing was changed"
        said "$3"
        my_q "$2" || fail "$2"
        my_untouched $T "$snap" "$rows"
    }
    for p in SELECT INSERT UPDATE DELETE CREATE "LOCK TABLES" TRIGGER; do
        refused "REVOKE $p ON osctest.* FROM '$U'@'%'" "GRANT $p ON osctest.* TO '$U'@'%'" \
            "GRANT $p ON \`osctest\`\.\* TO '$U'@'%';  -- the shadow"
    done
    for p in DROP ALTER; do
        refused "REVOKE $p ON osctest.* FROM $ROLE" "GRANT $p ON osctest.* TO $ROLE" \
            "GRANT $p ON \`osctest\`\.\* TO '$U'@'%';  -- the shadow"
    done
    # TRIGGER through the role only: the triggers would run without it
    refused "REVOKE TRIGGER ON osctest.* FROM '$U'@'%'; GRANT TRIGGER ON osctest.* TO $ROLE" \
        "REVOKE TRIGGER ON osctest.* FROM $ROLE; GRANT TRIGGER ON osctest.* TO '$U'@'%'" \
        "GRANT TRIGGER ON \`osctest\`\.\* TO '$U'@'%';  -- to the user itself, not through a role"
    refused "REVOKE SUPER ON *.* FROM '$U'@'%'" "GRANT SUPER ON *.* TO '$U'@'%'" \
        "GRANT SUPER ON \*\.\* TO '$U'@'%';  -- with the binary log on, the server lets only SUPER create triggers"
    # SUPER lets SHOW SLAVE STATUS through too; without the binary log's need
    # for SUPER, SLAVE MONITOR is what tells a replica from a primary
    MY_TRUST=1          # (the EXIT trap sets log_bin_trust_function_creators back)
    refused "SET GLOBAL log_bin_trust_function_creators = 1; REVOKE SUPER ON *.* FROM '$U'@'%';
             REVOKE SLAVE MONITOR ON *.* FROM $ROLE" \
        "SET GLOBAL log_bin_trust_function_creators = 0; GRANT SUPER ON *.* TO '$U'@'%';
         GRANT SLAVE MONITOR ON *.* TO $ROLE" \
        "GRANT SLAVE MONITOR ON \*\.\* TO '$U'@'%';  -- SHOW SLAVE STATUS"
    refused "REVOKE REPLICATION MASTER ADMIN ON *.* FROM '$U'@'%'" "GRANT REPLICATION MASTER ADMIN ON *.* TO '$U'@'%'" \
        "GRANT REPLICATION MASTER ADMIN ON \*\.\* TO '$U'@'%';  -- SHOW SLAVE HOSTS finds the replicas"
    # the role not enabled by default: its privileges do not count
    refused "SET DEFAULT ROLE NONE FOR '$U'@'%'" "SET DEFAULT ROLE $ROLE FOR '$U'@'%'" \
        "GRANT DROP, ALTER ON \`osctest\`\.\* TO '$U'@'%';"
    # a --replica reached as a user (made on the replica only) that cannot read there
    mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_REPLICA_PORT" -uroot -e "CREATE USER '$REP'@'%' IDENTIFIED BY 'pw'" \
        || fail "the replica's user"
    osc_with "$URL" 2 --table $T --alter "$ALTER" --replica "mysql://$REP:pw@127.0.0.1:$OSC_MY_REPLICA_PORT/"
    said "GRANT SELECT ON \`osctest\`\.\* TO '$REP'@'%';  -- replica 127\.0\.0\.1:$OSC_MY_REPLICA_PORT, from --replica: osc reads its heartbeat"
    my_untouched $T "$snap" "$rows"

    # everything README.md lists: the run succeeds under the writer, as that user
    start_mywriter int $T $R
    sleep 0.5
    osc_with "$URL" 0 --table $T --alter "$ALTER"
    sleep 0.5
    stop_mywriter
    my_q "ALTER TABLE $R $ALTER" || fail "ALTER of the mirror"
    my_tables_equal $T $R "id, v, n, extra, pad"
    assert_eq bigint "$(my_q "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'osctest'
                              AND TABLE_NAME = '$T' AND COLUMN_NAME = 'n'")" "the type of n after the run"
    my_no_osc_leftovers $T
    my_q "DROP TABLE ${T}_osc_old" >/dev/null
}

privileges_test() { "${ENGINE}_privileges"; }
for_each_engine privileges_test
echo "ok"
