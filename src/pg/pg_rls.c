/*
 * pg_rls.c — row-level security at preflight on PostgreSQL.
 *
 * osc must read and write every row of the table.  A policy that hides
 * rows from osc's role (ENABLE + FORCE ROW LEVEL SECURITY for the owner, or
 * any enabled policy for a role that does not own the table) would make the
 * copy, the replay and the checksums see only the visible rows, and the
 * swap would leave the hidden ones behind in the old table.  So every osc
 * session runs with row_security = off (src/pg/pg_conn.c): a query that row
 * security would filter then fails instead of returning part of the table.
 * For a role whose queries would fail that way, this refuses the run before
 * anything is made, naming the policies and what would do: BYPASSRLS or a
 * superuser.  row_security_active() is the server's own answer to "do the
 * policies apply to me here", so the rule is PostgreSQL's, not a copy of it.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>

bool pg_check_row_security(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false;
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *p[1] = { oid };

	if (!pg_exec(pg,
	             "SELECT pg_catalog.row_security_active($1::oid), c.relforcerowsecurity,"
	             "       pg_catalog.pg_has_role(c.relowner, 'USAGE'), pg_catalog.quote_ident(current_user),"
	             "       coalesce((SELECT string_agg(pg_catalog.quote_ident(polname), ', ' ORDER BY polname)"
	             "                   FROM pg_catalog.pg_policy WHERE polrelid = c.oid), '')"
	             "  FROM pg_catalog.pg_class c WHERE c.oid = $1::oid",
	             1, p, &r, e))
		goto out;
	enum { R_ACTIVE, R_FORCE, R_OWNER, R_ROLE, R_POLICIES };
	if (PQntuples(r) != 1 || PQgetvalue(r, 0, R_ACTIVE)[0] != 't') {
		ok = true;
		goto out;
	}
	bool force = PQgetvalue(r, 0, R_FORCE)[0] == 't', owner = PQgetvalue(r, 0, R_OWNER)[0] == 't';
	const char *role = PQgetvalue(r, 0, R_ROLE), *policies = PQgetvalue(r, 0, R_POLICIES);
	err_set(e, OSC_EXIT_INPUT,
	        "row-level security on %s.%s applies to role %s (%s; %s%s): osc must read and write every row, so it "
	        "runs with row_security = off, which this role may not do; run osc as a role with BYPASSRLS "
	        "(ALTER ROLE %s BYPASSRLS) or as a superuser; nothing was changed",
	        pg->schema, pg->table, role,
	        owner && force ? "FORCE ROW LEVEL SECURITY holds the owner to the policies"
	                       : "the role does not own the table",
	        policies[0] ? "policies: " : "no policy, so every row is hidden", policies, role);
out:
	PQclear(r);
	return ok;
}
