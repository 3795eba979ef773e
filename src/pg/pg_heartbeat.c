/*
 * pg_heartbeat.c — the PostgreSQL side of the monitor (replicator/lag.c).
 *
 * The heartbeat is one row in osc's work schema, `heartbeat(id, beat)`, a
 * logged table so that it travels with the WAL to every physical replica;
 * osc updates it every --heartbeat-interval with its own wall clock, and a
 * replica's lag is osc's clock minus the value the replica shows.  It goes
 * away with the work schema.  Load metrics: active_sessions (client
 * backends in state active, osc's monitor excluded) and wal_bytes_per_sec
 * (the WAL position's rate between two readings).  Replicas in
 * pg_stat_replication are shown with byte and replay lag, but osc cannot
 * connect to them without a URL, so only --replica ones are watched.
 */
#include <stdlib.h>
#include <string.h>

#include "control.h" /* ReplicaState */
#include "xalloc.h"
#include "pg.h"

typedef struct PgProbe {
	PgSession s;
	int64_t wal_pos;      /* the last reading of pg_current_wal_lsn(), bytes */
	int64_t wal_at_ms;
	double wal_rate;
} PgProbe;

/* The monitor's own settings: short bounds, row security off like every
 * osc session, and a name that tells it apart from the worker. */
static bool probe_settings(PgProbe *p, OscErr *e)
{
	/* a replica that hangs must not hold the monitor for long */
	return pgs_command(&p->s,
	                  "SELECT pg_catalog.set_config('statement_timeout', '2s', false),"
	                  "       pg_catalog.set_config('lock_timeout', '1s', false),"
	                  "       pg_catalog.set_config('row_security', 'off', false),"
	                  "       pg_catalog.set_config('application_name', 'osc monitor', false)",
	                  e);
}

/* A probe whose session was terminated (or whose server restarted) comes
 * back on its next use: the monitor never reopens the primary's probe, and
 * a heartbeat that stopped would read as replica lag for ever. */
static bool probe_alive(PgProbe *p, OscErr *e)
{
	if (p->s.conn == NULL)
		return false;
	if (PQstatus(p->s.conn) == CONNECTION_OK)
		return true;
	PQreset(p->s.conn);
	if (PQstatus(p->s.conn) != CONNECTION_OK) {
		err_set(e, OSC_EXIT_FAILED, "no connection: %s", PQerrorMessage(p->s.conn));
		return false;
	}
	return probe_settings(p, e);
}

static void *probe_open(const EngineEnv *env, const char *url, const char *host, int port, OscErr *e)
{
	(void)host;
	(void)port;
	PgProbe *p = xcalloc(1, sizeof(PgProbe));
	if (url == NULL)
		url = env->url; /* --database, else OSC_DATABASE_URL */
	if (!pgs_connect(&p->s, url, e)) {
		free(p);
		return NULL;
	}
	if (!probe_settings(p, e)) {
		pgs_disconnect(&p->s);
		free(p);
		return NULL;
	}
	return p;
}

static void probe_close(void *probe)
{
	PgProbe *p = probe;
	pgs_disconnect(&p->s);
	free(p);
}

/* The worker's work schema (fixed once preflight derived the names). */
static const char *work_schema(EngineTable *t)
{
	return ((Pg *)t)->work;
}

static bool heartbeat_setup(EngineTable *t, void *probe, OscErr *e)
{
	PgProbe *p = probe;
	Sql q;
	if (!probe_alive(p, e))
		return false;
	sql_init(&q, &p->s.dialect);
	sql_add(&q, "CREATE TABLE IF NOT EXISTS %I.heartbeat (id int PRIMARY KEY, beat bigint NOT NULL)", work_schema(t));
	bool ok = pgs_exec_sql(&p->s, &q, NULL, e);
	sql_free(&q);
	return ok;
}

static bool heartbeat_write(EngineTable *t, void *probe, int64_t beat_ms, OscErr *e)
{
	PgProbe *p = probe;
	Sql q;
	char v[32];
	const char *params[1] = { v };

	if (!probe_alive(p, e))
		return false;
	snprintf(v, sizeof(v), "%lld", (long long)beat_ms);
	sql_init(&q, &p->s.dialect);
	sql_add(&q, "INSERT INTO %I.heartbeat (id, beat) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET beat = excluded.beat",
	        work_schema(t));
	bool ok = !q.failed && pgs_exec(&p->s, sql_text(&q), 1, params, NULL, e);
	sql_free(&q);
	return ok;
}

static bool heartbeat_read(EngineTable *t, void *probe, int64_t *beat_ms, OscErr *e)
{
	PgProbe *p = probe;
	PGresult *r = NULL;
	Sql q;

	*beat_ms = 0;
	sql_init(&q, &p->s.dialect);
	sql_add(&q, "SELECT beat FROM %I.heartbeat WHERE id = 1", work_schema(t));
	bool ok = pgs_exec_sql(&p->s, &q, &r, e);
	sql_free(&q);
	if (!ok) {
		/* not replayed there yet: no heartbeat, not a failure */
		return strcmp(e->sqlstate, "42P01") == 0 || strcmp(e->sqlstate, "3F000") == 0;
	}
	if (PQntuples(r) == 1)
		*beat_ms = strtoll(pg_value(r, 0), NULL, 10);
	PQclear(r);
	return true;
}

static bool load_read(void *probe, const char *name, double *value, OscErr *e)
{
	PgProbe *p = probe;
	PGresult *r = NULL;

	if (!probe_alive(p, e))
		return false;
	if (strcmp(name, "active_sessions") == 0) {
		if (!pgs_exec(&p->s,
		             "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE state = 'active'"
		             " AND backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()",
		             0, NULL, &r, e))
			return false;
		*value = strtod(pg_value(r, 0), NULL);
		PQclear(r);
		return true;
	}
	if (strcmp(name, "wal_bytes_per_sec") == 0) {
		if (!pgs_exec(&p->s, "SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), '0/0')::bigint", 0,
		             NULL, &r, e))
			return false;
		int64_t pos = strtoll(pg_value(r, 0), NULL, 10), now = now_ms();
		PQclear(r);
		if (p->wal_at_ms > 0 && now - p->wal_at_ms >= 200) {
			p->wal_rate = (double)(pos - p->wal_pos) * 1000.0 / (double)(now - p->wal_at_ms);
			p->wal_pos = pos;
			p->wal_at_ms = now;
		} else if (p->wal_at_ms == 0) {
			p->wal_pos = pos;
			p->wal_at_ms = now;
		}
		*value = p->wal_rate;
		return true;
	}
	err_set(e, OSC_EXIT_INPUT, "load metric '%s': PostgreSQL has active_sessions and wal_bytes_per_sec", name);
	return false;
}

static bool replicas_find(void *probe, ReplicaState *out, int max, int *n, bool *watch, OscErr *e)
{
	PgProbe *p = probe;
	PGresult *r = NULL;

	*n = 0;
	*watch = false;
	if (!probe_alive(p, e))
		return false;
	if (!pgs_exec(&p->s,
	             "SELECT coalesce(application_name, ''), coalesce(host(client_addr), 'local'),"
	             "       coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn)::bigint, -1),"
	             "       coalesce((extract(epoch FROM replay_lag) * 1000)::bigint, -1)"
	             "  FROM pg_catalog.pg_stat_replication ORDER BY 1, 2",
	             0, NULL, &r, e))
		return false;
	enum { R_APPLICATION, R_CLIENT, R_BYTES_BEHIND, R_REPLAY_LAG };
	for (int i = 0; i < PQntuples(r) && *n < max; i++) {
		ReplicaState *s = &out[(*n)++];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s@%s", PQgetvalue(r, i, R_APPLICATION), PQgetvalue(r, i, R_CLIENT));
		s->bytes_behind = strtoll(PQgetvalue(r, i, R_BYTES_BEHIND), NULL, 10);
		s->replay_lag_ms = strtoll(PQgetvalue(r, i, R_REPLAY_LAG), NULL, 10);
	}
	PQclear(r);
	return true;
}

const EngineMonitor pg_monitor = {
	.probe_open = probe_open,
	.probe_close = probe_close,
	.heartbeat_setup = heartbeat_setup,
	.heartbeat_write = heartbeat_write,
	.heartbeat_read = heartbeat_read,
	.load_read = load_read,
	.replicas_find = replicas_find,
};
