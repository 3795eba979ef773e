/*
 * my_conn.c — the MySQL/MariaDB connection: the URL and ~/.my.cnf, TLS,
 * session bounds, running one statement, quoting through the client library.
 *
 * The connection never enables CLIENT_MULTI_STATEMENTS, so the server runs
 * one statement per call whatever the text holds.
 *
 * Every connection osc opens (the work connection, the swap's second one,
 * the monitor's probes) runs in the same session, whatever the server's
 * defaults (session_setup):
 *   - time_zone '+00:00': a TIMESTAMP reads and compares as the instant it
 *     stores.  In a zone with daylight saving (Europe/Berlin) the repeated
 *     autumn hour prints twice the same, so a key read in local time and
 *     given back as a literal names another row (a watermark lost 3,312
 *     rows of 21,600).
 *   - a sql_mode under which the copy is exact or fails: the server's own,
 *     plus strict (a value the new column cannot hold fails instead of being
 *     turned into '' or 0) and NO_AUTO_VALUE_ON_ZERO (a 0 in an
 *     AUTO_INCREMENT column stays 0), minus the modes that change what a
 *     value reads as (PAD_CHAR_TO_FULL_LENGTH, EMPTY_STRING_IS_NULL), that
 *     refuse values the original already holds (NO_ZERO_DATE,
 *     NO_ZERO_IN_DATE) or that change how osc's own SQL parses (ORACLE,
 *     ONLY_FULL_GROUP_BY).  What decides how the user's ALTER text parses
 *     (ANSI_QUOTES, PIPES_AS_CONCAT, ...) stays as the server has it.
 * A wait for a table's metadata lock is bounded by --lock-timeout for real
 * (my_lock_retry): MariaDB's lock_wait_timeout counts whole seconds, so a
 * "100ms" attempt held the application's writers queued behind it for a
 * second; SET STATEMENT max_statement_time takes fractions.
 */
#include "my.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dburl.h"
#include "url.h"

char *my_strdup(const char *s)
{
	char *r = xstrdup(s ? s : "");
	return r;
}

char *my_quote_ident(void *ctx, const char *s)
{
	(void)ctx;
	size_t n = 2;
	for (const char *p = s; *p; p++)
		n += *p == '`' ? 2 : 1;
	char *out = xmalloc(n + 1), *o = out;
	*o++ = '`';
	for (const char *p = s; *p; p++) {
		if (*p == '`')
			*o++ = '`';
		*o++ = *p;
	}
	*o++ = '`';
	*o = '\0';
	return out;
}

static char *quote_literal(void *ctx, const char *s)
{
	MYSQL *c = ctx;
	size_t n = strlen(s);
	char *out = xmalloc(n * 2 + 3);
	out[0] = '\'';
	unsigned long w = mysql_real_escape_string(c, out + 1, s, (unsigned long)n);
	if (w == (unsigned long)-1) {
		free(out);
		return NULL;
	}
	out[1 + w] = '\'';
	out[2 + w] = '\0';
	return out;
}

/* The modes osc's sessions add and take away (see the banner). */
static const char *const MODE_ADD[] = { "STRICT_TRANS_TABLES", "STRICT_ALL_TABLES", "NO_AUTO_VALUE_ON_ZERO",
	                                    "NO_ENGINE_SUBSTITUTION", NULL };
/* The names of combinations (TRADITIONAL, ANSI, ...) go too: @@sql_mode
 * lists their parts beside them, and setting the name again would bring
 * back a part taken away (TRADITIONAL: NO_ZERO_DATE). */
static const char *const MODE_DROP[] = { "PAD_CHAR_TO_FULL_LENGTH", "EMPTY_STRING_IS_NULL", "NO_ZERO_DATE",
	                                     "NO_ZERO_IN_DATE", "ORACLE", "ONLY_FULL_GROUP_BY", "TRADITIONAL",
	                                     "ANSI", "DB2", "MAXDB", "MSSQL", "MYSQL323", "MYSQL40", "POSTGRESQL",
	                                     NULL };

static bool listed(const char *w, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && strncasecmp(*list, w, n) == 0)
			return true;
	return false;
}

bool my_sql_mode_for_osc(const char *server, char *out, size_t outsz)
{
	size_t len = 0;
	out[0] = '\0';
	for (const char *p = server ? server : ""; *p;) {
		size_t n = strcspn(p, ",");
		if (n > 0 && !listed(p, n, MODE_DROP) && !listed(p, n, MODE_ADD)) {
			int w = snprintf(out + len, outsz - len, "%s%.*s", len ? "," : "", (int)n, p);
			if (w < 0 || (size_t)w >= outsz - len)
				return false;
			len += (size_t)w;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	for (const char *const *a = MODE_ADD; *a; a++) {
		int w = snprintf(out + len, outsz - len, "%s%s", len ? "," : "", *a);
		if (w < 0 || (size_t)w >= outsz - len)
			return false;
		len += (size_t)w;
	}
	return true;
}

/* UTC and osc's sql_mode on this connection (see the banner). */
static bool session_setup(MySession *s, OscErr *e)
{
	MYSQL_RES *r = NULL;
	char mode[1024];
	bool ok = false;
	Sql q;
	sql_init(&q, &s->dialect);
	if (!mys_exec(s, "SELECT @@SESSION.sql_mode", &r, e))
		goto out;
	MYSQL_ROW row = mysql_fetch_row(r);
	if (!my_sql_mode_for_osc(row && row[MY_VALUE] ? row[MY_VALUE] : "", mode, sizeof(mode))) {
		err_set(e, OSC_EXIT_FAILED, "the server's sql_mode is too long to extend: %.200s", row[MY_VALUE]);
		goto out;
	}
	sql_add(&q, "SET SESSION time_zone = '+00:00', sql_mode = %L", mode);
	ok = mys_exec_sql(s, &q, NULL, e);
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

bool mys_connect(MySession *s, const char *url, const char *host, int port, OscErr *e)
{
	Url u;
	/* only the parameters osc knows; every message masks the password */
	if (!dburl_check("--database", url, e))
		return false;
	if (!url_parse(url, &u)) {
		char *shown = url_masked(url);
		err_set(e, OSC_EXIT_INPUT, "--database: cannot read '%s' as mysql://user:password@host:port/db", shown);
		free(shown);
		return false;
	}
	if (host) {
		snprintf(u.host, sizeof(u.host), "%s", host);
		u.port = port;
	}
	s->conn = mysql_init(NULL);
	if (s->conn == NULL)
		abort();
	unsigned timeout = 10;
	/* ~/.my.cnf [client] supplies what the URL leaves out, as for mysql(1) */
	mysql_options(s->conn, MYSQL_READ_DEFAULT_GROUP, "client");
	mysql_options(s->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(s->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	const char *mode = url_param(&u, "ssl-mode");
	const char *ca = url_param(&u, "ssl-ca"), *cert = url_param(&u, "ssl-cert"), *key = url_param(&u, "ssl-key");
	if (ca || cert || key)
		mysql_ssl_set(s->conn, key, cert, ca, NULL, NULL);
	if (mode) {
		my_bool yes = 1;
		if (strcasecmp(mode, "REQUIRED") == 0 || strcasecmp(mode, "VERIFY_CA") == 0 ||
		    strcasecmp(mode, "VERIFY_IDENTITY") == 0)
			mysql_options(s->conn, MYSQL_OPT_SSL_ENFORCE, &yes);
		if (strcasecmp(mode, "VERIFY_CA") == 0 || strcasecmp(mode, "VERIFY_IDENTITY") == 0)
			mysql_options(s->conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
		else if (strcasecmp(mode, "DISABLED") != 0 && strcasecmp(mode, "PREFERRED") != 0 &&
		         strcasecmp(mode, "REQUIRED") != 0) {
			err_set(e, OSC_EXIT_INPUT, "--database: unknown ssl-mode '%s'", mode);
			return false;
		}
	}
	if (!mysql_real_connect(s->conn, u.host[0] ? u.host : NULL, u.user[0] ? u.user : NULL,
	                        u.password[0] ? u.password : NULL, u.db[0] ? u.db : NULL, (unsigned)u.port, NULL, 0)) {
		err_set(e, OSC_EXIT_INPUT, "cannot connect to the database: %s", mysql_error(s->conn));
		return false;
	}
	/* a client library that let an unencrypted connection through when TLS
	 * was required (seen with Connector/C 3.3 and a server without TLS) is
	 * not trusted on its word */
	if (mode && strcasecmp(mode, "DISABLED") != 0 && strcasecmp(mode, "PREFERRED") != 0 &&
	    mysql_get_ssl_cipher(s->conn) == NULL) {
		err_set(e, OSC_EXIT_INPUT, "cannot connect to the database: ssl-mode=%s, but the connection is not encrypted "
		                           "(does the server have TLS enabled?)",
		        mode);
		return false;
	}
	s->dialect.quote_ident = my_quote_ident;
	s->dialect.quote_literal = quote_literal;
	s->dialect.ctx = s->conn;
	const char *v = mysql_get_server_info(s->conn);
	s->mariadb = v && strstr(v, "MariaDB") != NULL;
	/* --lock-timeout in seconds, as max_statement_time reads it */
	int64_t ms = s->env ? s->env->lock_timeout_ms : 1000;
	if (ms < 1)
		ms = 1; /* 0 would mean no bound at all */
	snprintf(s->lock_bound, sizeof(s->lock_bound), "%ld.%03ld", (long)(ms / 1000), (long)(ms % 1000));
	return session_setup(s, e);
}

void mys_disconnect(MySession *s)
{
	if (s->conn)
		mysql_close(s->conn);
	s->conn = NULL;
}

bool my_is_lock_timeout(const OscErr *e)
{
	/* ER_LOCK_WAIT_TIMEOUT (metadata and row locks), ER_STATEMENT_TIMEOUT */
	return strcmp(e->sqlstate, "1205") == 0 || strcmp(e->sqlstate, "1969") == 0;
}

bool my_is_lock_refused(const OscErr *e)
{
	return strcmp(e->sqlstate, "1205") == 0;
}

bool my_is_duplicate(const OscErr *e)
{
	return strcmp(e->sqlstate, "1062") == 0 || strcmp(e->sqlstate, "1022") == 0;
}

bool my_is_connection_lost(const OscErr *e)
{
	return strcmp(e->sqlstate, "2006") == 0 || strcmp(e->sqlstate, "2013") == 0;
}

bool mys_exec(MySession *s, const char *sql, MYSQL_RES **res, OscErr *e)
{
	if (res)
		*res = NULL;
	if (s->log && s->log->verbosity >= 2)
		log_msg(s->log, LOG_DEBUG, "sql: %s", sql);
	if (mysql_real_query(s->conn, sql, (unsigned long)strlen(sql)) != 0) {
		err_set(e, OSC_EXIT_FAILED, "%s", mysql_error(s->conn));
		/* the MySQL error number stands where PostgreSQL puts its SQLSTATE */
		snprintf(e->sqlstate, sizeof(e->sqlstate), "%u", mysql_errno(s->conn));
		err_detail(e, "query: %.1900s", sql);
		return false;
	}
	MYSQL_RES *r = mysql_store_result(s->conn);
	if (r == NULL && mysql_field_count(s->conn) != 0) {
		err_set(e, OSC_EXIT_FAILED, "%s", mysql_error(s->conn));
		snprintf(e->sqlstate, sizeof(e->sqlstate), "%u", mysql_errno(s->conn));
		return false;
	}
	if (res)
		*res = r;
	else
		mysql_free_result(r);
	return true;
}

bool mys_exec_sql(MySession *s, Sql *q, MYSQL_RES **res, OscErr *e)
{
	if (q->failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote a name or value for SQL");
		return false;
	}
	return mys_exec(s, sql_text(q), res, e);
}

bool mys_count(MySession *s, Sql *q, int64_t *n, OscErr *e)
{
	MYSQL_RES *r = NULL;
	bool ok = mys_exec_sql(s, q, &r, e);
	if (ok) {
		MYSQL_ROW row = mysql_fetch_row(r);
		*n = row && row[MY_VALUE] ? strtoll(row[MY_VALUE], NULL, 10) : 0;
	}
	mysql_free_result(r);
	return ok;
}

bool my_exec_lock(MySession *s, Sql *q, int64_t *waited_us, OscErr *e)
{
	Sql b;
	int64_t t0 = now_us();
	sql_init(&b, &s->dialect);
	/* MySQL has no SET STATEMENT: there lock_wait_timeout (whole seconds) bounds it */
	if (s->mariadb)
		sql_add(&b, "SET STATEMENT max_statement_time = %s FOR ", s->lock_bound);
	sql_add(&b, "%s", sql_text(q));
	if (q->failed)
		b.failed = true;
	bool ok = mys_exec_sql(s, &b, NULL, e);
	int64_t took = now_us() - t0;
	if (waited_us)
		*waited_us = took;
	if (!ok && my_is_lock_timeout(e)) {
		/* the bound osc set, or the server's own lock wait: either way
		 * the lock was not granted (the core's classification, 1205) */
		snprintf(e->sqlstate, sizeof(e->sqlstate), "1205");
		if (took > s->lock_wait_max_us)
			s->lock_wait_max_us = took;
	}
	sql_free(&b);
	return ok;
}

bool mys_begin(MySession *s, OscErr *e)
{
	/* under LOCK TABLES, START TRANSACTION would release the locks */
	return s->in_lock || mys_exec(s, "START TRANSACTION", NULL, e);
}

bool mys_commit(MySession *s, OscErr *e)
{
	return s->in_lock || mys_exec(s, "COMMIT", NULL, e);
}

void mys_rollback(MySession *s)
{
	if (s->in_lock)
		return;
	OscErr e;
	err_clear(&e);
	if (!mys_exec(s, "ROLLBACK", NULL, &e) && s->log)
		log_error(s->log, &e);
}

/* The main session. */
bool my_connect(My *my, const char *url, OscErr *e)
{
	my->main.env = my->env;
	my->main.log = my->log;
	bool ok = mys_connect(&my->main, url, NULL, 0, e);
	my->dialect = my->main.dialect;
	return ok;
}

void my_disconnect(My *my)
{
	mys_disconnect(&my->main);
}

bool my_exec(My *my, const char *sql, MYSQL_RES **res, OscErr *e)
{
	return mys_exec(&my->main, sql, res, e);
}

bool my_exec_sql(My *my, Sql *q, MYSQL_RES **res, OscErr *e)
{
	return mys_exec_sql(&my->main, q, res, e);
}

bool my_count(My *my, Sql *q, int64_t *n, OscErr *e)
{
	return mys_count(&my->main, q, n, e);
}

/* One statement that waits for the table's metadata lock: bounded by
 * max_statement_time (bounded: my_exec_lock) or by lock_wait_timeout. */
typedef struct LockStmt {
	My *my;
	Sql *q;
	bool bounded;
} LockStmt;

static RetryResult lock_attempt(void *ctx, char *note, size_t notesz, OscErr *e)
{
	LockStmt *l = ctx;
	int64_t waited = 0;
	bool ok = l->bounded ? my_exec_lock(&l->my->main, l->q, &waited, e) : my_exec_sql(l->my, l->q, NULL, e);
	if (!ok && l->bounded)
		snprintf(note, notesz, "writers queued behind the request for %.1fms", (double)waited / 1000.0);
	return ok ? RETRY_DONE : my_is_lock_timeout(e) ? RETRY_AGAIN : RETRY_FAIL;
}

static bool lock_retry(My *my, const char *what, Sql *q, bool bounded, OscErr *e)
{
	char object[300];
	snprintf(object, sizeof(object), "%s.%s", my->db, my->table);
	LockStep step = { .what = what, .object = object, .cap_ms = 5000 };
	LockStmt l = { .my = my, .q = q, .bounded = bounded };
	if (retry_lock(my->env->retry, &step, lock_attempt, &l, e))
		return true;
	if (my_is_lock_timeout(e))
		snprintf(e->sqlstate, sizeof(e->sqlstate), "1205");
	return false;
}

bool my_ddl_retry(My *my, const char *what, Sql *q, OscErr *e)
{
	return lock_retry(my, what, q, false, e);
}

bool my_lock_retry(My *my, const char *what, Sql *q, OscErr *e)
{
	return lock_retry(my, what, q, true, e);
}

/* GET_LOCK is held by the session: a dead osc never blocks a rerun. */
bool my_take_lock(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT GET_LOCK(%L, 0)", my->lock_name);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row && row[MY_VALUE] && strcmp(row[MY_VALUE], "1") == 0) {
		ok = true;
		goto out;
	}
	mysql_free_result(r);
	r = NULL;
	sql_reset(&q);
	sql_add(&q,
	        "SELECT p.ID, p.HOST, p.TIME FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(%L)",
	        my->lock_name);
	enum { H_ID, H_HOST, H_TIME };
	if (my_exec_sql(my, &q, &r, e) && (row = mysql_fetch_row(r)) != NULL)
		err_set(e, OSC_EXIT_STOPPED, "another osc run holds %s.%s (connection %s from %s, connected %ss ago)",
		        my->db, my->table, row[H_ID], row[H_HOST] ? row[H_HOST] : "?", row[H_TIME] ? row[H_TIME] : "?");
	else
		err_set(e, OSC_EXIT_STOPPED, "another osc run holds %s.%s", my->db, my->table);
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}
