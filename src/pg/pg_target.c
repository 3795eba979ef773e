/*
 * pg_target.c — refusing the wrong PostgreSQL target before anything is
 * made (see pg_target.h).
 *
 *   a standby    pg_is_in_recovery(): osc changes tables on the primary,
 *                and replication carries the change; a standby cannot be
 *                written at all, so no option overrides this.  The primary
 *                is named from pg_stat_wal_receiver when the server shows it.
 *   --replica    each one must answer, be a standby (a primary never lags,
 *                so watching it would hide the real lag), and belong to this
 *                primary's cluster (same system identifier: a standby of
 *                another cluster never shows osc's heartbeat, and the run
 *                would wait for ever).  Its role must be able to read the
 *                heartbeat table, which the primary's role owns.
 *   privileges   src/pg/pg_privs.c; every missing one is reported as the GRANT
 *                statement that gives it, all at once.
 * A replica that goes away later counts as lagging (replicator/lag.c).
 */
#include "pg_target.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A libpq message on one line (it spans several). */
static void one_line(char *out, size_t outsz, const char *msg)
{
	size_t k = 0;
	for (const char *p = msg; *p && k + 1 < outsz; p++) {
		char ch = isspace((unsigned char)*p) ? ' ' : *p;
		if (ch == ' ' && (k == 0 || out[k - 1] == ' '))
			continue;
		out[k++] = ch;
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

/* "host:port" of a connection string or URL, never its password. */
static void label(const char *url, char *out, size_t outsz)
{
	char *err = NULL;
	const char *host = NULL, *port = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &err);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (strcmp(o->keyword, "host") == 0 && o->val && *o->val)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0 && o->val && *o->val && host == NULL)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0 && o->val && *o->val)
			port = o->val;
	}
	snprintf(out, outsz, "%s:%s", host ? host : "localhost", port ? port : "5432");
	PQconninfoFree(opts);
	PQfreemem(err);
}

/* The server's own reading of itself: [0] in recovery, [1] its primary
 * (host:port, NULL when not shown), [2] system identifier, [3] role,
 * [4] superuser. */
enum { S_IN_RECOVERY, S_PRIMARY, S_SYSID, S_USER, S_SUPERUSER };
static const char *self_sql =
    "SELECT pg_catalog.pg_is_in_recovery(),"
    "       (SELECT w.sender_host || ':' || w.sender_port FROM pg_catalog.pg_stat_wal_receiver w"
    "         WHERE w.sender_host IS NOT NULL LIMIT 1),"
    "       (SELECT s.system_identifier::text FROM pg_catalog.pg_control_system() s),"
    "       current_user, (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)";

/* A standby is refused (exit 2), for a run and for `osc cleanup` alike:
 * it cannot be written, and what osc does on the primary reaches it by
 * replication.  r: self_sql's row. */
static bool not_standby(Pg *pg, PGresult *r, OscErr *e)
{
	if (PQgetvalue(r, 0, S_IN_RECOVERY)[0] != 't')
		return true;
	char from[300];
	if (!PQgetisnull(r, 0, S_PRIMARY))
		snprintf(from, sizeof(from), "replicating from %s", PQgetvalue(r, 0, S_PRIMARY));
	else
		snprintf(from, sizeof(from), "its primary not shown in pg_stat_wal_receiver");
	err_set(e, OSC_EXIT_INPUT,
	        "%s:%s is a standby (in recovery, %s): osc changes a table on the primary only, and replication "
	        "brings the change here; point --database at the primary (--allow-on-replica does not apply to a "
	        "PostgreSQL standby, which cannot be written)",
	        PQhost(pg->main.conn), PQport(pg->main.conn), from);
	return false;
}

bool pg_target_primary(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = pg_exec(pg, self_sql, 0, NULL, &r, e) && not_standby(pg, r, e);
	PQclear(r);
	return ok;
}

/* One --replica: reachable, a standby of this cluster, its role able to
 * read the heartbeat. */
static bool check_replica(Pg *pg, const char *url, const char *sysid, const char *user, PgGrants *g, OscErr *e)
{
	PgSession rep;
	PGresult *r = NULL, *m = NULL;
	OscErr ce;
	Sql q;
	char name[300], msg[600];
	bool ok = false;

	memset(&rep, 0, sizeof(rep));
	sql_init(&q, &pg->dialect);
	label(url, name, sizeof(name));
	err_clear(&ce);
	if (!pgs_connect(&rep, url, &ce) || !pgs_exec(&rep, self_sql, 0, NULL, &r, &ce)) {
		one_line(msg, sizeof(msg), ce.msg);
		err_set(e, OSC_EXIT_INPUT,
		        "--replica %s cannot be read (%s); osc would wait for its lag for ever: fix the URL, start the "
		        "replica, or leave that --replica out",
		        name, msg);
		goto out;
	}
	if (PQgetvalue(r, 0, S_IN_RECOVERY)[0] != 't') {
		err_set(e, OSC_EXIT_INPUT,
		        "--replica %s is not a standby (it is not in recovery): its lag would always read as none; name "
		        "a streaming replica of this primary",
		        name);
		goto out;
	}
	if (strcmp(PQgetvalue(r, 0, S_SYSID), sysid) != 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "--replica %s is a standby of another cluster (system identifier %s, this primary's is %s): it "
		        "would never show osc's heartbeat",
		        name, PQgetvalue(r, 0, S_SYSID), sysid);
		goto out;
	}
	/* the heartbeat table belongs to the primary's role */
	const char *ruser = PQgetvalue(r, 0, S_USER);
	if (strcmp(ruser, user) != 0 && PQgetvalue(r, 0, S_SUPERUSER)[0] != 't') {
		const char *p[1] = { ruser };
		if (!pg_exec(pg,
		             "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)"
		             "            THEN pg_catalog.pg_has_role($1::name, current_user, 'USAGE') ELSE false END",
		             1, p, &m, e))
			goto out;
		if (pg_value(m, 0)[0] != 't') {
			sql_add(&q, "GRANT %I TO %I", user, ruser);
			snprintf(msg, sizeof(msg), "--replica %s connects as %s, which must read osc's heartbeat (owned by %s)",
			         name, ruser, user);
			pg_grants_add(g, &q, msg);
		}
	}
	ok = true;
out:
	PQclear(m);
	PQclear(r);
	pgs_disconnect(&rep);
	sql_free(&q);
	return ok;
}

bool pg_target_check(Pg *pg, OscErr *e)
{
	const EngineEnv *opt = pg->env;
	PGresult *r = NULL;
	PgGrants g;
	char *sysid = NULL, *user = NULL;
	bool ok = false;

	pg_grants_init(&g, pg);
	if (!pg_exec(pg, self_sql, 0, NULL, &r, e) || !not_standby(pg, r, e))
		goto out;
	sysid = pg_strdup(PQgetvalue(r, 0, S_SYSID));
	user = pg_strdup(PQgetvalue(r, 0, S_USER));
	for (int i = 0; i < opt->nreplicas; i++)
		if (!check_replica(pg, opt->replicas[i], sysid, user, &g, e))
			goto out;
	if (!pg_privs_check(pg, &g, e))
		goto out;
	if (g.n > 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "role %s lacks %s this run needs; nothing was changed. As a superuser (or the owners named), run:%s",
		        user, g.n == 1 ? "a privilege" : "privileges", sql_text(&g.text));
		goto out;
	}
	ok = true;
out:
	PQclear(r);
	pg_grants_free(&g);
	free(sysid);
	free(user);
	return ok;
}
