/*
 * pg_proxy.c — PostgreSQL's half of the proxy check (the engine's
 * proxy_bypass, which cutover/proxy_hold.c asks): the sessions on the
 * table that do not come through `osc proxy`.
 *
 * A session counts when it holds (or waits for) a lock on the table, or its
 * last query names it; it bypasses the proxy when its backend pid is not
 * one the proxy saw in a BackendKeyData.  osc's own sessions are left out by
 * their address and port (this process's sockets), or, over a Unix socket,
 * by their application_name.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {1,2,3} for an int[] or text[] parameter; the elements are numbers and
 * addresses this process formatted itself. */
static char *array_text(const uint32_t *ids, int nids, char *const *strs, int nstrs)
{
	size_t cap = 3 + (size_t)nids * 12, n = 0;
	for (int i = 0; i < nstrs; i++)
		cap += strlen(strs[i]) + 3;
	char *s = malloc(cap);
	if (s == NULL)
		return NULL;
	s[n++] = '{';
	for (int i = 0; i < nids; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s%u", i ? "," : "", ids[i]);
	for (int i = 0; i < nstrs; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s\"%s\"", i ? "," : "", strs[i]);
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

int pg_proxy_bypass(Pg *pg, const uint32_t *ids, int nids, char *const *mine, int nmine, char *out, size_t outsz)
{
	PGresult *r = NULL;
	OscErr e;
	char oid[16];
	int n = -1;
	char *pids = array_text(ids, nids, NULL, 0), *addrs = array_text(NULL, 0, mine, nmine);

	out[0] = '\0';
	err_clear(&e);
	if (pids == NULL || addrs == NULL) {
		snprintf(out, outsz, "out of memory");
		goto fail;
	}
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *params[4] = { oid, pids, addrs, pg->table };
	if (!pg_exec(pg,
	             "SELECT a.pid, coalesce(nullif(a.application_name, ''), '-'), coalesce(host(a.client_addr), 'local'),"
	             "       coalesce(a.state, ''), left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 60),"
	             "       EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.pid = a.pid AND l.relation = $1::oid)"
	             "  FROM pg_catalog.pg_stat_activity a"
	             " WHERE a.datname = pg_catalog.current_database() AND a.backend_type = 'client backend'"
	             "   AND a.pid <> pg_catalog.pg_backend_pid() AND NOT (a.pid = ANY ($2::int[]))"
	             "   AND CASE WHEN a.client_addr IS NULL THEN a.application_name NOT IN ('osc', 'osc monitor')"
	             "            ELSE NOT (host(a.client_addr) || ':' || a.client_port = ANY ($3::text[])) END"
	             "   AND (EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.pid = a.pid AND l.relation = $1::oid)"
	             "        OR strpos(lower(coalesce(a.query, '')), lower($4)) > 0)"
	             " ORDER BY a.pid",
	             4, params, &r, &e)) {
		snprintf(out, outsz, "%s", e.msg);
		goto fail;
	}
	enum { B_PID, B_APP, B_CLIENT, B_STATE, B_QUERY, B_LOCKS };
	n = PQntuples(r);
	size_t used = 0;
	for (int i = 0; i < n && i < 5 && used + 1 < outsz; i++) {
		snprintf(out + used, outsz - used, "%spid %s (%s from %s, %s%s: %s)", i ? "; " : "",
		         PQgetvalue(r, i, B_PID), PQgetvalue(r, i, B_APP), PQgetvalue(r, i, B_CLIENT),
		         PQgetvalue(r, i, B_STATE), PQgetvalue(r, i, B_LOCKS)[0] == 't' ? ", holding or awaiting a lock on it" : "",
		         PQgetvalue(r, i, B_QUERY));
		used = strlen(out);
	}
	if (n > 5 && used + 1 < outsz)
		snprintf(out + used, outsz - used, "; and %d more", n - 5);
fail:
	PQclear(r);
	free(pids);
	free(addrs);
	return n;
}
