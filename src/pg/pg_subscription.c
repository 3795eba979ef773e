/*
 * pg_subscription.c — a table that a logical replication subscription
 * writes into, on the subscriber's side.
 *
 * The apply worker writes with session_replication_role = replica, which
 * the capture triggers fire for (they are ENABLE ALWAYS, replicator/
 * pg_capture.c).  The subscription also keeps one row per table in
 * pg_subscription_rel, by OID; a table missing there is skipped without a
 * word by every apply worker started after the swap (the running one keeps
 * its cached state and goes on).  So the swap moves that row to the new
 * table in its own transaction.  There is no command for that (ALTER
 * SUBSCRIPTION ... REFRESH PUBLICATION cannot run in a transaction, and
 * would leave a window in which changes are dropped), so it is an UPDATE of
 * the catalog, as pg_repack updates pg_class: a superuser's right.  Preflight
 * refuses another role, and a table the subscription has not finished
 * synchronizing (its tablesync worker copies into the table by itself).
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pg_check_subscription(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false;
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *p[1] = { oid };

	pg->subscribed = false;
	if (!pg_exec(pg,
	             "SELECT s.subname, sr.srsubstate,"
	             "       (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)"
	             "  FROM pg_catalog.pg_subscription_rel sr JOIN pg_catalog.pg_subscription s ON s.oid = sr.srsubid"
	             " WHERE sr.srrelid = $1::oid ORDER BY sr.srsubstate <> 'r' DESC, s.subname",
	             1, p, &r, e))
		goto out;
	if (PQntuples(r) == 0) {
		ok = true;
		goto out;
	}
	enum { S_NAME, S_STATE, S_SUPERUSER };
	if (PQgetvalue(r, 0, S_STATE)[0] != 'r') {
		err_set(e, OSC_EXIT_INPUT,
		        "subscription %s is still synchronizing %s.%s (state %s): run osc once it is ready "
		        "(pg_subscription_rel.srsubstate = 'r'); nothing was changed",
		        PQgetvalue(r, 0, S_NAME), pg->schema, pg->table, PQgetvalue(r, 0, S_STATE));
		goto out;
	}
	if (PQgetvalue(r, 0, S_SUPERUSER)[0] != 't') {
		err_set(e, OSC_EXIT_INPUT,
		        "subscription %s replicates into %s.%s: the swap must move the table's row in "
		        "pg_subscription_rel to the new table (or the subscription would skip it after its next "
		        "restart), which only a superuser may do; run osc as a superuser; nothing was changed",
		        PQgetvalue(r, 0, S_NAME), pg->schema, pg->table);
		goto out;
	}
	pg->subscribed = true;
	ok = true;
out:
	PQclear(r);
	return ok;
}

bool pg_carry_subscription(Pg *pg, unsigned new_oid, OscErr *e)
{
	char o[16], n[16];
	if (!pg->subscribed)
		return true;
	snprintf(o, sizeof(o), "%u", pg->oid);
	snprintf(n, sizeof(n), "%u", new_oid);
	const char *p[2] = { o, n };
	return pg_exec(pg, "UPDATE pg_catalog.pg_subscription_rel SET srrelid = $2::oid WHERE srrelid = $1::oid", 2, p,
	               NULL, e);
}
