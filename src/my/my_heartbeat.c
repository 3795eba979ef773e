/*
 * my_heartbeat.c — the MySQL/MariaDB side of the monitor (replicator/lag.c).
 *
 * The heartbeat is one row in `T_osc_hb`, beside the table (gh-ost keeps its
 * changelog table there too), written through the binary log like any other
 * row, so every replica down the chain shows it; it is dropped with osc's
 * other work tables.  Load metrics are global status variables
 * (SHOW GLOBAL STATUS, so any of them: Threads_running, Threads_connected,
 * ...).  With no --replica, osc watches the replicas the primary lists in
 * SHOW SLAVE HOSTS (they need report_host), reached with the primary's
 * credentials, as pt-online-schema-change's default recursion does.
 */
#include <stdlib.h>
#include <string.h>

#include "control.h" /* ReplicaState */
#include "my.h"
#include "xalloc.h"

static void *probe_open(const EngineEnv *env, const char *url, const char *host, int port, OscErr *e)
{
	MySession *p = xcalloc(1, sizeof(MySession));
	if (url == NULL)
		url = env->url; /* --database, else OSC_DATABASE_URL */
	OscErr ignored;
	if (!mys_connect(p, url, host, port, e)) {
		mys_disconnect(p);
		free(p);
		return NULL;
	}
	/* a replica that hangs must not hold the monitor for long (MariaDB's
	 * name; MySQL has no max_statement_time, hence no error check) */
	err_clear(&ignored);
	if (!mys_exec(p, "SET SESSION lock_wait_timeout = 1, max_statement_time = 2", NULL, &ignored))
		err_clear(&ignored);
	return p;
}

static void probe_close(void *probe)
{
	MySession *p = probe;
	mys_disconnect(p);
	free(p);
}

/* The worker's My: the database and table (fixed after preflight). */
static My *worker(EngineTable *t)
{
	return (My *)t;
}

static bool heartbeat_setup(EngineTable *t, void *probe, OscErr *e)
{
	MySession *p = probe;
	My *w = worker(t);
	char hb[MY_NAMELEN + 1];
	Sql q;

	my_heartbeat_name(w, hb, sizeof(hb));
	sql_init(&q, &p->dialect);
	/* marked as osc's (src/my/my_owned.c); preflight refused a table of this
	 * name that is not */
	char mark[256];
	my_marker(w, MY_ROLE_HEARTBEAT, mark, sizeof(mark));
	sql_add(&q,
	        "CREATE TABLE IF NOT EXISTS %I.%I (id TINYINT UNSIGNED PRIMARY KEY, beat BIGINT NOT NULL) ENGINE=InnoDB"
	        " COMMENT = %L",
	        w->db, hb, mark);
	bool ok = mys_exec_sql(p, &q, NULL, e);
	sql_free(&q);
	return ok;
}

static bool heartbeat_write(EngineTable *t, void *probe, int64_t beat_ms, OscErr *e)
{
	MySession *p = probe;
	My *w = worker(t);
	char hb[MY_NAMELEN + 1];
	Sql q;

	my_heartbeat_name(w, hb, sizeof(hb));
	sql_init(&q, &p->dialect);
	sql_add(&q, "INSERT INTO %I.%I (id, beat) VALUES (1, %ld) ON DUPLICATE KEY UPDATE beat = VALUES(beat)", w->db, hb,
	        (long)beat_ms);
	bool ok = mys_exec_sql(p, &q, NULL, e);
	sql_free(&q);
	return ok;
}

static bool heartbeat_read(EngineTable *t, void *probe, int64_t *beat_ms, OscErr *e)
{
	MySession *p = probe;
	My *w = worker(t);
	char hb[MY_NAMELEN + 1];
	MYSQL_RES *r = NULL;
	Sql q;

	*beat_ms = 0;
	my_heartbeat_name(w, hb, sizeof(hb));
	sql_init(&q, &p->dialect);
	sql_add(&q, "SELECT beat FROM %I.%I WHERE id = 1", w->db, hb);
	bool ok = mys_exec_sql(p, &q, &r, e);
	sql_free(&q);
	if (!ok)
		return strcmp(e->sqlstate, "1146") == 0; /* not replicated there yet */
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	if (row && row[MY_VALUE])
		*beat_ms = strtoll(row[MY_VALUE], NULL, 10);
	if (r)
		mysql_free_result(r);
	return true;
}

static bool load_read(void *probe, const char *name, double *value, OscErr *e)
{
	MySession *p = probe;
	MYSQL_RES *r = NULL;
	char pattern[160];
	size_t k = 0;
	Sql q;

	/* LIKE, with its wildcard '_' escaped: the exact variable */
	for (const char *s = name; *s && k + 3 < sizeof(pattern); s++) {
		if (*s == '_' || *s == '%' || *s == '\\')
			pattern[k++] = '\\';
		pattern[k++] = *s;
	}
	pattern[k] = '\0';
	sql_init(&q, &p->dialect);
	sql_add(&q, "SHOW GLOBAL STATUS LIKE %L", pattern);
	bool ok = mys_exec_sql(p, &q, &r, e);
	sql_free(&q);
	if (!ok)
		return false;
	enum { S_NAME, S_VALUE }; /* SHOW GLOBAL STATUS */
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	if (row == NULL || row[S_VALUE] == NULL) {
		if (r)
			mysql_free_result(r);
		err_set(e, OSC_EXIT_INPUT, "load metric '%s': the server has no such global status variable", name);
		return false;
	}
	*value = strtod(row[S_VALUE], NULL);
	mysql_free_result(r);
	return true;
}

static bool replicas_find(void *probe, ReplicaState *out, int max, int *n, bool *watch, OscErr *e)
{
	MySession *p = probe;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;

	*n = 0;
	*watch = true;
	if (!mys_exec(p, "SHOW SLAVE HOSTS", &r, e))
		return false;
	if (r == NULL)
		return true;
	int host = -1, port = -1;
	MYSQL_FIELD *f = mysql_fetch_fields(r);
	for (unsigned i = 0; i < mysql_num_fields(r); i++) {
		if (strcasecmp(f[i].name, "Host") == 0)
			host = (int)i;
		else if (strcasecmp(f[i].name, "Port") == 0)
			port = (int)i;
	}
	while (host >= 0 && port >= 0 && *n < max && (row = mysql_fetch_row(r)) != NULL) {
		if (row[host] == NULL || *row[host] == '\0')
			continue;
		ReplicaState *s = &out[(*n)++];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s:%s", row[host], row[port] ? row[port] : "3306");
		s->bytes_behind = -1;
		s->replay_lag_ms = -1;
	}
	mysql_free_result(r);
	return true;
}

const EngineMonitor my_monitor = {
	.probe_open = probe_open,
	.probe_close = probe_close,
	.heartbeat_setup = heartbeat_setup,
	.heartbeat_write = heartbeat_write,
	.heartbeat_read = heartbeat_read,
	.load_read = load_read,
	.replicas_find = replicas_find,
};
