/*
 * pg_conn.c — a libpq session: connecting, the session's settings, running
 * one statement, turning a failed statement into an OscErr, quoting through
 * libpq, transactions; and the main session's reconnect and advisory lock.
 *
 * A PgSession is one connection (the engine's EngineSession): the main one
 * in Pg, another for each session the core opens, the monitor's probes.
 * Inside a swap attempt (in_swap) the swap's transaction holds the drain:
 * the drain's begin and commit do nothing, and its rollback returns to the
 * savepoint the swap set before the drain (src/pg/pg_swap.c).
 */
#include "pg.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pg_strdup(const char *s)
{
	char *r = xstrdup(s ? s : "");
	return r;
}

static char *quote_ident(void *ctx, const char *s)
{
	PGconn *c = ctx;
	char *q = PQescapeIdentifier(c, s, strlen(s));
	if (q == NULL)
		return NULL;
	char *r = pg_strdup(q);
	PQfreemem(q);
	return r;
}

static char *quote_literal(void *ctx, const char *s)
{
	PGconn *c = ctx;
	char *q = PQescapeLiteral(c, s, strlen(s));
	if (q == NULL)
		return NULL;
	char *r = pg_strdup(q);
	PQfreemem(q);
	return r;
}

static void notice_sink(void *arg, const PGresult *res)
{
	PgSession *s = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (s->log && msg && sev && strcmp(sev, "WARNING") == 0)
		log_msg(s->log, LOG_WARN, "server: %s", msg);
}

bool pgs_connect(PgSession *s, const char *url, OscErr *e)
{
	const char *keys[4], *vals[4];
	int n = 0;
	char tmo[32];

	if (url && *url) {
		keys[n] = "dbname";
		vals[n++] = url;
	}
	if (getenv("PGCONNECT_TIMEOUT") == NULL) {
		snprintf(tmo, sizeof(tmo), "%d", 10);
		keys[n] = "connect_timeout";
		vals[n++] = tmo;
	}
	keys[n] = "fallback_application_name";
	vals[n++] = "osc";
	keys[n] = NULL;
	vals[n] = NULL;

	s->conn = PQconnectdbParams(keys, vals, 1);
	if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
		err_set(e, OSC_EXIT_INPUT, "cannot connect to the database: %s",
		        s->conn ? PQerrorMessage(s->conn) : "out of memory");
		pgs_disconnect(s);
		return false;
	}
	PQsetNoticeReceiver(s->conn, notice_sink, s);
	s->dialect.quote_ident = quote_ident;
	s->dialect.quote_literal = quote_literal;
	s->dialect.ctx = s->conn;
	if (PQserverVersion(s->conn) < 110000) {
		err_set(e, OSC_EXIT_INPUT, "PostgreSQL %d is too old: osc needs 11 or later",
		        PQserverVersion(s->conn) / 10000);
		return false;
	}
	return true;
}

void pgs_disconnect(PgSession *s)
{
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
}

bool pgs_setup(PgSession *s, OscErr *e)
{
	char st[32], lt[32];
	snprintf(st, sizeof(st), "%ldms", (long)s->env->statement_timeout_ms);
	snprintf(lt, sizeof(lt), "%ldms", (long)s->env->lock_timeout_ms);
	const char *p[2] = { st, lt };
	/* every wait has a bound: statements, locks, idle transactions.
	 * row_security off: a policy that hides rows from osc would make it copy
	 * part of the table; with it off, such a read fails instead (preflight
	 * refuses a role for which it would, src/pg/pg_rls.c) */
	return pgs_exec(s,
	               "SELECT pg_catalog.set_config('statement_timeout', $1, false),"
	               "       pg_catalog.set_config('lock_timeout', $2, false),"
	               "       pg_catalog.set_config('idle_in_transaction_session_timeout', '300s', false),"
	               "       pg_catalog.set_config('default_transaction_isolation', 'read committed', false),"
	               "       pg_catalog.set_config('client_min_messages', 'warning', false),"
	               "       pg_catalog.set_config('row_security', 'off', false)",
	               2, p, NULL, e);
}

const char *pg_value(const PGresult *r, int row)
{
	return PQgetvalue(r, row, 0);
}

bool pg_is_connection_lost(const OscErr *e)
{
	return strcmp(e->sqlstate, "08006") == 0;
}

bool pg_try_table_lock(Pg *pg, bool *got, OscErr *e)
{
	PGresult *r = NULL;
	char *qname = pg_qualified(pg, pg->schema, pg->table);
	const char *p[1] = { qname };
	bool ok = pg_exec(pg, "SELECT pg_catalog.pg_try_advisory_lock(7564131, pg_catalog.hashtext($1))", 1, p, &r, e);
	*got = ok && pg_value(r, 0)[0] == 't';
	PQclear(r);
	free(qname);
	return ok;
}

bool pg_reconnect(Pg *pg, OscErr *e)
{
	PGconn *c = pg->main.conn;
	if (c == NULL) {
		err_set(e, OSC_EXIT_STOPPED, "not connected to the database");
		return false;
	}
	if (PQstatus(c) == CONNECTION_OK)
		return true;
	pg->main.in_swap = false; /* what was in flight is gone */
	/* a fast restart takes a second or two; a terminated session is back
	 * at once.  The wait between attempts ends on a stop request: the run
	 * stops as it would have, resumable */
	bool stopped = false;
	for (int attempt = 0; attempt < 8; attempt++) {
		PQreset(c);
		if (PQstatus(c) == CONNECTION_OK)
			break;
		if (attempt < 7 && !retry_sleep(pg->env->retry->stop, 500)) {
			stopped = true;
			break;
		}
	}
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
		err_set(e, OSC_EXIT_STOPPED, "lost the connection to the database and could not reconnect%s: %s",
		        stopped ? " (interrupted by a signal)" : "", msg);
		snprintf(e->sqlstate, sizeof(e->sqlstate), "08006");
		return false;
	}
	if (pg->log)
		log_msg(pg->log, LOG_WARN, "the connection to the database was lost; reconnected");
	bool got = true;
	if (!pgs_setup(&pg->main, e) || (pg->lock_held && !pg_try_table_lock(pg, &got, e)))
		return false;
	if (!got) {
		pg->lock_held = false;
		err_set(e, OSC_EXIT_STOPPED, "another osc run took %s.%s while the connection was down", pg->schema,
		        pg->table);
		return false;
	}
	return true;
}

bool pg_is_lock_timeout(const OscErr *e)
{
	/* lock_not_available, or query_canceled by statement_timeout */
	return strcmp(e->sqlstate, "55P03") == 0 || strcmp(e->sqlstate, "57014") == 0;
}

bool pg_is_lock_refused(const OscErr *e)
{
	return strcmp(e->sqlstate, "55P03") == 0;
}

bool pg_is_duplicate(const OscErr *e)
{
	/* unique_violation, exclusion_violation */
	return strcmp(e->sqlstate, "23505") == 0 || strcmp(e->sqlstate, "23P01") == 0;
}

bool pgs_exec(PgSession *s, const char *sql, int nparams, const char *const *params, PGresult **res, OscErr *e)
{
	PGresult *r;

	if (res)
		*res = NULL;
	if (s->conn == NULL) {
		err_set(e, OSC_EXIT_FAILED, "not connected to the database");
		return false;
	}
	if (s->log && s->log->verbosity >= 2)
		log_msg(s->log, LOG_DEBUG, "sql: %s", sql);
	r = PQexecParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (res)
			*res = r;
		else
			PQclear(r);
		return true;
	}
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *det = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
	/* "message: detail", without the detail's full stop: more text follows */
	int dlen = det ? (int)strlen(det) : 0;
	if (dlen > 0 && det[dlen - 1] == '.')
		dlen--;
	err_set(e, OSC_EXIT_FAILED, "%s%s%.*s", msg ? msg : PQerrorMessage(s->conn), det ? ": " : "", dlen,
	        det ? det : "");
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", state ? state : "");
	err_detail(e, "query: %.1900s", sql);
	PQclear(r);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		/* terminated, or the server went down: whatever was in flight
		 * was rolled back (or committed, for a COMMIT) by the server */
		char why[512];
		const char *m = e->msg;
		if (strncmp(m, "FATAL:", 6) == 0)
			for (m += 6; *m == ' ';)
				m++;
		snprintf(why, sizeof(why), "%.500s", m);
		why[strcspn(why, "\n")] = '\0';
		snprintf(e->msg, sizeof(e->msg), "lost the connection to the database (%s)", why);
		snprintf(e->sqlstate, sizeof(e->sqlstate), "08006");
	}
	return false;
}

bool pgs_exec_sql(PgSession *s, Sql *q, PGresult **res, OscErr *e)
{
	if (q->failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote a name or value for SQL (invalid encoding?)");
		return false;
	}
	return pgs_exec(s, sql_text(q), 0, NULL, res, e);
}

bool pgs_exec_sql_params(PgSession *s, Sql *q, int nparams, const char *const *params, OscErr *e)
{
	if (q->failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote a name or value for SQL (invalid encoding?)");
		return false;
	}
	return pgs_exec(s, sql_text(q), nparams, params, NULL, e);
}

bool pgs_command(PgSession *s, const char *sql, OscErr *e)
{
	return pgs_exec(s, sql, 0, NULL, NULL, e);
}

void pgs_rollback(PgSession *s)
{
	if (s->conn && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
		PGresult *r = PQexec(s->conn, "ROLLBACK");
		PQclear(r);
	}
}

bool pgs_begin(PgSession *s, bool snapshot, OscErr *e)
{
	if (s->in_swap)
		return true;
	return pgs_command(s, snapshot ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN", e);
}

bool pgs_commit(PgSession *s, OscErr *e)
{
	return s->in_swap || pgs_command(s, "COMMIT", e);
}

void pgs_abort(PgSession *s)
{
	if (!s->in_swap) {
		pgs_rollback(s);
		return;
	}
	OscErr e;
	err_clear(&e);
	if (!pgs_command(s, "ROLLBACK TO SAVEPOINT osc_drain", &e))
		pgs_rollback(s); /* the swap's transaction is lost: the attempt fails */
}

/* The main session: most of the engine runs there. */
bool pg_exec(Pg *pg, const char *sql, int nparams, const char *const *params, PGresult **res, OscErr *e)
{
	return pgs_exec(&pg->main, sql, nparams, params, res, e);
}

bool pg_exec_sql(Pg *pg, Sql *q, PGresult **res, OscErr *e)
{
	return pgs_exec_sql(&pg->main, q, res, e);
}

bool pg_command(Pg *pg, const char *sql, OscErr *e)
{
	return pgs_command(&pg->main, sql, e);
}

void pg_rollback(Pg *pg)
{
	pgs_rollback(&pg->main);
}

char *pg_qualified(Pg *pg, const char *schema, const char *name)
{
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "%I.%I", schema, name);
	return sql_take(&q);
}
