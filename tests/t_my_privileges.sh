#!/usr/bin/env bash
# MariaDB: preflight checks every privilege the run needs and prints the
# GRANT statements that are missing (exit 2, nothing made).  Before, a user
# without LOCK TABLES failed at LOCK TABLES after making its shadow and log,
# and its own cleanup failed.  A user with exactly what README.md
# ("Privileges") lists (part of it through a role) runs the migration end to
# end under the writer; the same user missing one privilege at a time is
# refused with that GRANT.  A --replica reached as a user that cannot read
# osc's heartbeat there is refused too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_target.sh"
need_osc
need_my
T=t_my_priv R=t_my_priv_ref
U=osc_priv ROLE=osc_priv_role REP=osc_priv_rep
URL="mysql://$U:pw@127.0.0.1:$OSC_MY_PORT/osctest"
OSC_STRATEGY=copy
ALTER="MODIFY n BIGINT"

drop_users() {
    my_q "DROP USER IF EXISTS '$U'@'%'; DROP ROLE IF EXISTS $ROLE" >/dev/null
    mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_REPLICA_PORT" -uroot -e "DROP USER IF EXISTS '$REP'@'%'" >/dev/null
}
trap 'r=$?; drop_users 2>/dev/null; _lib_cleanup; exit $r' EXIT

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
trap 'r=$?; my_q "SET GLOBAL log_bin_trust_function_creators = 0" >/dev/null 2>&1; drop_users 2>/dev/null; _lib_cleanup; exit $r' EXIT
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
echo "ok"
