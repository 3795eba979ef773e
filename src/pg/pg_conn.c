/*
 * pg_conn.c — the libpq connection: connecting, running one statement,
 * turning a failed statement into an OscErr, quoting through libpq.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *pg_strdup(const char *s)
{
	char *r = strdup(s ? s : "");
	if (r == NULL)
		abort();
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
	Pg *pg = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (pg->log && msg && sev && strcmp(sev, "WARNING") == 0)
		log_msg(pg->log, LOG_WARN, "server: %s", msg);
}

bool pg_connect(Pg *pg, const char *url, OscErr *e)
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

	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		err_set(e, OSC_EXIT_INPUT, "cannot connect to the database: %s",
		        pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
		pg_disconnect(pg);
		return false;
	}
	PQsetNoticeReceiver(pg->conn, notice_sink, pg);
	pg->dialect.quote_ident = quote_ident;
	pg->dialect.quote_literal = quote_literal;
	pg->dialect.ctx = pg->conn;
	if (PQserverVersion(pg->conn) < 110000) {
		err_set(e, OSC_EXIT_INPUT, "PostgreSQL %d is too old: osc needs 11 or later",
		        PQserverVersion(pg->conn) / 10000);
		return false;
	}
	return true;
}

void pg_disconnect(Pg *pg)
{
	if (pg->conn)
		PQfinish(pg->conn);
	pg->conn = NULL;
}

bool pg_session_setup(Pg *pg, OscErr *e)
{
	char st[32], lt[32];
	snprintf(st, sizeof(st), "%ldms", (long)pg->env->statement_timeout_ms);
	snprintf(lt, sizeof(lt), "%ldms", (long)pg->env->lock_timeout_ms);
	const char *p[2] = { st, lt };
	/* every wait has a bound: statements, locks, idle transactions.
	 * row_security off: a policy that hides rows from osc would make it copy
	 * part of the table; with it off, such a read fails instead (preflight
	 * refuses a role for which it would, src/pg/pg_rls.c) */
	return pg_exec(pg,
	               "SELECT pg_catalog.set_config('statement_timeout', $1, false),"
	               "       pg_catalog.set_config('lock_timeout', $2, false),"
	               "       pg_catalog.set_config('idle_in_transaction_session_timeout', '300s', false),"
	               "       pg_catalog.set_config('default_transaction_isolation', 'read committed', false),"
	               "       pg_catalog.set_config('client_min_messages', 'warning', false),"
	               "       pg_catalog.set_config('row_security', 'off', false)",
	               2, p, NULL, e);
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
	*got = ok && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	free(qname);
	return ok;
}

bool pg_reconnect(Pg *pg, OscErr *e)
{
	if (pg->conn == NULL) {
		err_set(e, OSC_EXIT_STOPPED, "not connected to the database");
		return false;
	}
	if (PQstatus(pg->conn) == CONNECTION_OK)
		return true;
	/* a fast restart takes a second or two; a terminated session is back at once */
	for (int attempt = 0; attempt < 8; attempt++) {
		PQreset(pg->conn);
		if (PQstatus(pg->conn) == CONNECTION_OK)
			break;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 500000000L };
		nanosleep(&ts, NULL);
	}
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(pg->conn));
		msg[strcspn(msg, "\n")] = '\0';
		err_set(e, OSC_EXIT_STOPPED, "lost the connection to the database and could not reconnect: %s", msg);
		snprintf(e->sqlstate, sizeof(e->sqlstate), "08006");
		return false;
	}
	if (pg->log)
		log_msg(pg->log, LOG_WARN, "the connection to the database was lost; reconnected");
	bool got = true;
	if (!pg_session_setup(pg, e) || (pg->lock_held && !pg_try_table_lock(pg, &got, e)))
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

bool pg_exec(Pg *pg, const char *sql, int nparams, const char *const *params, PGresult **res,
             OscErr *e)
{
	PGresult *r;

	if (res)
		*res = NULL;
	if (pg->conn == NULL) {
		err_set(e, OSC_EXIT_FAILED, "not connected to the database");
		return false;
	}
	if (pg->log && pg->log->verbosity >= 2)
		log_msg(pg->log, LOG_DEBUG, "sql: %s", sql);
	r = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
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
	err_set(e, OSC_EXIT_FAILED, "%s%s%.*s", msg ? msg : PQerrorMessage(pg->conn), det ? ": " : "", dlen,
	        det ? det : "");
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", state ? state : "");
	err_detail(e, "query: %.1900s", sql);
	PQclear(r);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
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

bool pg_exec_sql(Pg *pg, Sql *q, PGresult **res, OscErr *e)
{
	if (q->failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote a name or value for SQL (invalid encoding?)");
		return false;
	}
	return pg_exec(pg, sql_text(q), 0, NULL, res, e);
}

bool pg_command(Pg *pg, const char *sql, OscErr *e)
{
	return pg_exec(pg, sql, 0, NULL, NULL, e);
}

void pg_rollback(Pg *pg)
{
	if (pg->conn && PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
		PGresult *r = PQexec(pg->conn, "ROLLBACK");
		PQclear(r);
	}
}

char *pg_qualified(Pg *pg, const char *schema, const char *name)
{
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "%I.%I", schema, name);
	return sql_take(&q);
}
