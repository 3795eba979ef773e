/*
 * pg_conn.c — the libpq connection: connecting, running one statement,
 * turning a failed statement into an OscErr, quoting through libpq.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (pg->osc && msg && sev && strcmp(sev, "WARNING") == 0)
		log_msg(&pg->osc->log, LOG_WARN, "server: %s", msg);
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
	if (pg->osc && pg->osc->log.verbosity >= 2)
		log_msg(&pg->osc->log, LOG_DEBUG, "sql: %s", sql);
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
	if (PQstatus(pg->conn) != CONNECTION_OK)
		err_set(e, OSC_EXIT_FAILED, "lost the connection to the database: %s", PQerrorMessage(pg->conn));
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
