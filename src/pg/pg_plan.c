/*
 * pg_plan.c — `osc plan` on PostgreSQL: fills a Plan (src/core/plan.h) without
 * changing anything.  Everything here reads: the catalog, the statistics
 * views, and the table's rows through the copy's own expressions.  The
 * strategy is picked as a run would (the probe on an empty temporary copy
 * is rolled back).  A check that fails (a missing privilege on
 * pg_stat_replication, say) becomes a warning, not an error.
 *
 * One transaction, rolled back at the end whatever happens.  It first makes
 * the shadow's definition as a temporary table (src/pg/pg_plan_shadow.c:
 * the definitions before and after, for the diff), then turns READ ONLY:
 * from there on only temporary tables can be written.  The trial copy
 * (src/pg/pg_plan_trial.c: the ETA) and the cast check on sampled rows
 * (src/pg/pg_plan_cast.c) evaluate the ALTER's own expressions (USING
 * f(v), defaults), and a function there that writes (to another table, a
 * sequence) fails instead of committing its side effects.  The plan says
 * so: the real copy would run that function once per row.  Each check runs
 * in a savepoint, so a failed one does not spoil the next.
 * pg_plan_int.h describes the parts.
 */
#include "pg_plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define SAMPLE_ROWS "20000"

static void oid_text(Pg *pg, char *out, size_t n)
{
	snprintf(out, n, "%u", pg->oid);
}

bool pg_plan_try(Pg *pg, const char *sql, int np, const char *const *params, PGresult **res, OscErr *e)
{
	PGresult *r = NULL;
	OscErr e2;
	*res = NULL;
	err_clear(e);
	err_clear(&e2);
	if (!pg_command(pg, "SAVEPOINT osc_plan", e))
		return false;
	if (!pg_exec(pg, sql, np, params, &r, e)) {
		if (!pg_command(pg, "ROLLBACK TO SAVEPOINT osc_plan", &e2))
			log_error(pg->log, &e2);
		return false;
	}
	if (!pg_command(pg, "RELEASE SAVEPOINT osc_plan", e)) {
		PQclear(r);
		return false;
	}
	*res = r;
	return true;
}

void pg_plan_warn_failed(Pg *pg, Plan *p, const char *what, const OscErr *e)
{
	char *m = pg_plan_untemp(pg, e->msg);
	if (strcmp(e->sqlstate, "25006") == 0)
		plan_warn(p, false,
		          "%s wrote to the database, which the plan's read-only transaction refused (%s): the copy "
		          "would evaluate the ALTER's expressions, and their writes, once per row (and --verify "
		          "checksum once more)",
		          what, m);
	else
		plan_warn(p, false, "could not check %s: %s", what, m);
	free(m);
}

PGresult *pg_plan_look(Pg *pg, Plan *p, const char *what, const char *sql, int np, const char *const *params)
{
	PGresult *r = NULL;
	OscErr e;
	if (!pg_plan_try(pg, sql, np, params, &r, &e)) {
		pg_plan_warn_failed(pg, p, what, &e);
		return NULL;
	}
	return r;
}

char *pg_plan_untemp(Pg *pg, const char *s)
{
	OscErr e;
	err_clear(&e);
	snprintf(e.msg, sizeof(e.msg), "%s", s ? s : "");
	err_replace(&e, pg->shadow, pg->table);
	return pg_strdup(e.msg);
}

static PGresult *look(Pg *pg, Plan *p, const char *what, const char *sql, int np, const char *const *params)
{
	return pg_plan_look(pg, p, what, sql, np, params);
}

static void copy_sql(Pg *pg, Plan *p)
{
	const EngineEnv *o = pg->env;
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "CREATE SCHEMA %I; CREATE TABLE %I.%I (LIKE %I.%I INCLUDING ALL); ALTER TABLE %I.%I ", pg->work,
	        pg->work, pg->shadow, pg->schema, pg->table, pg->work, pg->shadow);
	plan_sql(p, "%s%s;", sql_text(&q), o->alter->text);
	sql_reset(&q);
	sql_add(&q, "CREATE TRIGGER _osc_capture AFTER INSERT OR UPDATE OR DELETE ON %I.%I FOR EACH ROW ...  -- logs keys",
	        pg->schema, pg->table);
	plan_sql(p, "%s", sql_text(&q));
	sql_reset(&q);
	sql_add(&q, "CREATE TRIGGER _osc_truncate AFTER TRUNCATE ON %I.%I FOR EACH STATEMENT ...  -- logs a TRUNCATE; "
	            "both ENABLE ALWAYS",
	        pg->schema, pg->table);
	plan_sql(p, "%s", sql_text(&q));
	sql_reset(&q);
	pg_copy_head(pg, &q);
	sql_add(&q, " WHERE ");
	pg_key_tuple(pg, &q, "src", false);
	sql_add(&q, " > ");
	pg_param_tuple(pg, &q, 1, "");
	sql_add(&q, " AND ");
	pg_key_tuple(pg, &q, "src", false);
	sql_add(&q, " <= ");
	pg_param_tuple(pg, &q, 1 + pg->nkeys, "");
	plan_sql(p, "%s;  -- per chunk, sized to %ldms%s", sql_text(&q), (long)o->chunk_time_ms,
	         o->verify == VERIFY_NONE ? "" : ", REPEATABLE READ, compared with the original before COMMIT");
	for (int i = 0; i < pg->ndeferred; i++)
		plan_sql(p, "%s;  -- after the copy", pg->deferred[i].create_sql);
	sql_reset(&q);
	sql_add(&q, "LOCK TABLE ONLY %I.%I IN ACCESS EXCLUSIVE MODE; <drain log>; ALTER TABLE %I.%I RENAME TO %I; "
	            "ALTER TABLE %I.%I RENAME TO %I; ALTER TABLE ... SET SCHEMA %I; ...",
	        pg->schema, pg->table, pg->schema, pg->table, pg->old, pg->work, pg->shadow, pg->table, pg->schema);
	plan_sql(p, "%s  -- one transaction under a %ldms lock timeout, up to %d attempts", sql_text(&q),
	         (long)o->lock_timeout_ms, o->cutover_retries);
	for (int i = 0; i < pg->ncols; i++)
		plan_column(p, "%-24s <- %s", pg->cols[i].name, pg->cols[i].expr);
	sql_free(&q);
}

static void sizes(Pg *pg, Plan *p)
{
	char oid[16];
	oid_text(pg, oid, sizeof(oid));
	const char *params[1] = { oid };
	PGresult *r = look(pg, p, "the table's size",
	                   "SELECT pg_catalog.pg_relation_size(c.oid), pg_catalog.pg_indexes_size(c.oid),"
	                   "       pg_catalog.pg_total_relation_size(c.oid), c.reltuples::bigint, c.relpages,"
	                   "       pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::bigint"
	                   "  FROM pg_catalog.pg_class c WHERE c.oid = $1::oid",
	                   1, params);
	if (r == NULL)
		return;
	p->table_bytes = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	p->index_bytes = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	p->total_bytes = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	int64_t reltuples = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	int64_t relpages = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	int64_t pages = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
	PQclear(r);
	p->rows_estimate = reltuples > 0 ? reltuples : 0;
	pg_plan_estimate_rows(pg, p, reltuples, relpages, pages);
}

/* The copy's own SELECT over the first rows in key order, timed; false when
 * it could not run (its warning says why). */
static bool sample(Pg *pg, Plan *p)
{
	Sql q;
	sql_init(&q, &pg->dialect);
	pg_sql_sample(pg, &q, SAMPLE_ROWS);
	int64_t t0 = now_us();
	PGresult *r = look(pg, p, "a sampled read", sql_text(&q), 0, NULL);
	if (r) {
		p->sample_us = now_us() - t0;
		p->sample_rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	sql_free(&q);
	return r != NULL;
}

static void eta(Plan *p, bool sampled)
{
	double rate = p->sample_rows > 0 && p->sample_us > 0 ? (double)p->sample_rows * 1e6 / (double)p->sample_us : 0;
	double factor = 0;
	switch (p->strategy.kind) {
	case STRAT_DIRECT:
		p->eta_ms = 0;
		snprintf(p->eta_basis, sizeof(p->eta_basis), "catalog only: the lock wait and a few milliseconds");
		return;
	case STRAT_COPY:
		factor = 3;
		snprintf(p->eta_basis, sizeof(p->eta_basis),
		         "3x the sampled read: the copy also writes the rows, their WAL and the indexes");
		break;
	default:
		factor = 1.5;
		snprintf(p->eta_basis, sizeof(p->eta_basis), "1.5x the sampled read: one scan of the table, plus the build");
		break;
	}
	if (!sampled) {
		p->eta_ms = -1;
		snprintf(p->eta_basis, sizeof(p->eta_basis), "the sampled read failed; see the warnings");
	} else if (p->sample_rows == 0) {
		p->eta_ms = 0;
		snprintf(p->eta_basis, sizeof(p->eta_basis), "the table is empty");
	} else if (rate > 0) {
		p->eta_ms = (int64_t)((double)p->rows_estimate / rate * factor * 1000.0);
	}
}

static void extra_disk(Pg *pg, Plan *p)
{
	const AlterSub *sub = p->strategy.sub;
	if (p->strategy.kind == STRAT_COPY) {
		p->extra_bytes = p->total_bytes; /* the shadow and its indexes; the log is small */
		return;
	}
	if (p->strategy.kind != STRAT_UNIQUE_INDEX)
		return;
	/* a btree entry: the key's average width plus about 16 bytes */
	int64_t width = 16;
	for (int i = 0; i < sub->ncols; i++) {
		const char *params[3] = { pg->schema, pg->table, sub->cols[i] };
		PGresult *r = look(pg, p, "column widths",
		                   "SELECT coalesce(max(avg_width), 8) FROM pg_catalog.pg_stats"
		                   " WHERE schemaname = $1 AND tablename = $2 AND attname = $3",
		                   3, params);
		if (r) {
			width += strtoll(PQgetvalue(r, 0, 0), NULL, 10);
			PQclear(r);
		}
	}
	p->extra_bytes = p->rows_estimate * width;
}

static void dependents(Pg *pg, Plan *p)
{
	char oid[16];
	oid_text(pg, oid, sizeof(oid));
	const char *params[1] = { oid };
	PGresult *r = look(pg, p, "dependent objects",
	                   "SELECT 'view ' || v.oid::regclass::text FROM pg_catalog.pg_depend d"
	                   "  JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid JOIN pg_catalog.pg_class v ON v.oid = w.ev_class"
	                   " WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refobjid = $1::oid AND v.oid <> $1::oid"
	                   " GROUP BY v.oid"
	                   " UNION ALL SELECT 'index ' || indexrelid::regclass::text FROM pg_catalog.pg_index"
	                   " WHERE indrelid = $1::oid"
	                   " UNION ALL SELECT 'foreign key ' || quote_ident(conname) || ' from ' || conrelid::regclass::text"
	                   "  FROM pg_catalog.pg_constraint WHERE confrelid = $1::oid AND contype = 'f'"
	                   " UNION ALL SELECT 'foreign key ' || quote_ident(conname) || ' to ' || confrelid::regclass::text"
	                   "  FROM pg_catalog.pg_constraint WHERE conrelid = $1::oid AND contype = 'f'"
	                   " UNION ALL SELECT 'trigger ' || quote_ident(tgname) FROM pg_catalog.pg_trigger"
	                   " WHERE tgrelid = $1::oid AND NOT tgisinternal AND tgname NOT IN ('_osc_capture', '_osc_truncate')"
	                   " UNION ALL SELECT 'policy ' || quote_ident(polname) FROM pg_catalog.pg_policy"
	                   " WHERE polrelid = $1::oid"
	                   " UNION ALL SELECT 'publication ' || quote_ident(b.pubname) FROM pg_catalog.pg_publication_rel pr"
	                   "  JOIN pg_catalog.pg_publication b ON b.oid = pr.prpubid WHERE pr.prrelid = $1::oid"
	                   " UNION ALL SELECT 'sequence ' || d.objid::regclass::text FROM pg_catalog.pg_depend d"
	                   "  JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
	                   " WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refobjid = $1::oid"
	                   "   AND d.deptype IN ('a', 'i')",
	                   1, params);
	if (r == NULL)
		return;
	for (int i = 0; i < PQntuples(r); i++)
		plan_dep(p, "%s", PQgetvalue(r, i, 0));
	PQclear(r);
}

static void warn_sessions(Pg *pg, Plan *p)
{
	char oid[16];
	oid_text(pg, oid, sizeof(oid));
	const char *params[1] = { oid };
	PGresult *r = look(pg, p, "long transactions and locks",
	                   "SELECT a.pid, coalesce(extract(epoch FROM now() - a.xact_start), 0)::int,"
	                   "       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 80),"
	                   "       coalesce(string_agg(DISTINCT l.mode, ',') FILTER (WHERE l.granted), ''),"
	                   "       bool_or(NOT l.granted)"
	                   "  FROM pg_catalog.pg_stat_activity a"
	                   "  LEFT JOIN pg_catalog.pg_locks l ON l.pid = a.pid AND l.relation = $1::oid"
	                   " WHERE a.pid <> pg_catalog.pg_backend_pid() AND a.backend_type = 'client backend'"
	                   "   AND a.xact_start IS NOT NULL"
	                   " GROUP BY a.pid, a.xact_start, a.query"
	                   " HAVING a.xact_start < now() - interval '10 seconds'"
	                   "     OR (count(l.*) > 0 AND a.xact_start < now() - interval '1 second')",
	                   1, params);
	if (r == NULL)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *pid = PQgetvalue(r, i, 0), *age = PQgetvalue(r, i, 1), *query = PQgetvalue(r, i, 2);
		const char *modes = PQgetvalue(r, i, 3);
		bool waiting = PQgetvalue(r, i, 4)[0] == 't';
		if (modes[0])
			plan_warn(p, true,
			          "pid %s holds %s on %s.%s in a transaction open for %ss (%s): the lock osc needs would not be "
			          "granted",
			          pid, modes, pg->schema, pg->table, age, query);
		else if (waiting)
			plan_warn(p, true, "pid %s is waiting for a lock on %s.%s right now (%s)", pid, pg->schema, pg->table,
			          query);
		else
			plan_warn(p, false,
			          "pid %s has a transaction open for %ss (%s): it holds back vacuum, and an index build waits "
			          "for it",
			          pid, age, query);
	}
	PQclear(r);
}

static void warn_replicas(Pg *pg, Plan *p)
{
	char max[32];
	snprintf(max, sizeof(max), "%lld", (long long)pg->env->limits->max_lag_ms);
	const char *params[1] = { max };
	PGresult *r = look(pg, p, "the replicas",
	                   "SELECT coalesce(application_name, ''), state,"
	                   "       coalesce(extract(epoch FROM replay_lag) * 1000, 0)::bigint"
	                   "  FROM pg_catalog.pg_stat_replication"
	                   " WHERE state <> 'streaming' OR ($1::bigint > 0"
	                   "   AND coalesce(extract(epoch FROM replay_lag) * 1000, 0) > $1::bigint)",
	                   1, params);
	if (r == NULL)
		return;
	for (int i = 0; i < PQntuples(r); i++)
		plan_warn(p, true, "replica %s is %s, %sms behind (--max-lag %sms): the copy would pause",
		          PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), max);
	PQclear(r);
}

/* A new UNIQUE key or PRIMARY KEY over rows that already violate it. */
static void warn_duplicates(Pg *pg, Plan *p, const AlterSub *sub)
{
	Sql q;
	bool pk = sub->kind == ALTER_ADD_PRIMARY_KEY;
	sql_init(&q, &pg->dialect);
	/* the key as PostgreSQL prints it: Key (a, b)=(1, 2) */
	sql_add(&q, "SELECT concat_ws(', '");
	for (int i = 0; i < sub->ncols; i++)
		sql_add(&q, ", %L", sub->cols[i]);
	sql_add(&q, "), concat_ws(', '");
	for (int i = 0; i < sub->ncols; i++)
		sql_add(&q, ", coalesce(%I::text, 'NULL')", sub->cols[i]);
	sql_add(&q, "), count(*) FROM ONLY %I.%I", pg->schema, pg->table);
	if (!pk) {
		sql_add(&q, " WHERE ");
		for (int i = 0; i < sub->ncols; i++)
			sql_add(&q, "%s%I IS NOT NULL", i ? " AND " : "", sub->cols[i]);
	}
	sql_add(&q, " GROUP BY ");
	for (int i = 0; i < sub->ncols; i++)
		sql_add(&q, "%s%I", i ? ", " : "", sub->cols[i]);
	sql_add(&q, " HAVING count(*) > 1");
	for (int i = 0; pk && i < sub->ncols; i++)
		sql_add(&q, " OR bool_or(%I IS NULL)", sub->cols[i]);
	sql_add(&q, " LIMIT 1");
	PGresult *r = q.failed ? NULL : look(pg, p, "for duplicates under the new key", sql_text(&q), 0, NULL);
	if (r && PQntuples(r) > 0)
		plan_warn(p, true, "the new %s would fail: Key (%s)=(%s) is duplicated%s (%s rows); no row would be lost",
		          pk ? "PRIMARY KEY" : "UNIQUE key", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), pk ? " or NULL" : "",
		          PQgetvalue(r, 0, 2));
	PQclear(r);
	sql_free(&q);
}

/* A column the ALTER drops, renames or retypes that a view uses. */
static void warn_views(Pg *pg, Plan *p, const AlterSub *sub)
{
	char oid[16];
	oid_text(pg, oid, sizeof(oid));
	const char *params[2] = { oid, sub->column };
	PGresult *r = look(pg, p, "views using the column",
	                   "SELECT string_agg(DISTINCT v.oid::regclass::text, ', ') FROM pg_catalog.pg_depend d"
	                   "  JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid JOIN pg_catalog.pg_class v ON v.oid = w.ev_class"
	                   "  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
	                   " WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refobjid = $1::oid"
	                   "   AND v.oid <> $1::oid AND a.attname = $2",
	                   2, params);
	if (r && !PQgetisnull(r, 0, 0))
		plan_warn(p, true, "column %s is used by view(s) %s: '%s' would break them or be refused", sub->column,
		          PQgetvalue(r, 0, 0), sub->text);
	PQclear(r);
}

/* The cast check found rows that fail: the trial's failure says no more */
static bool cast_failed(const Plan *p)
{
	for (int i = 0; i < p->ncasts; i++)
		if (p->casts[i].fail)
			return true;
	return false;
}

bool pg_plan_fill(Pg *pg, Plan *p, OscErr *e)
{
	const EngineEnv *o = pg->env;
	PgPlanShadow sh;
	char *trial_failed = NULL;
	bool ok = false;
	p->engine = "postgresql";
	snprintf(p->table, sizeof(p->table), "%s.%s", pg->schema, pg->table);
	size_t n = (size_t)snprintf(p->key, sizeof(p->key), "%s (", pg->key_index);
	for (int k = 0; k < pg->nkeys && n < sizeof(p->key); k++)
		n += (size_t)snprintf(p->key + n, sizeof(p->key) - n, "%s%s %s", k ? ", " : "", pg->keys[k].name,
		                      pg->keys[k].type);
	if (n < sizeof(p->key))
		snprintf(p->key + n, sizeof(p->key) - n, ")");
	if (!pg_strategy_pick(pg, &p->strategy, e))
		return false;
	/* one transaction, rolled back whatever happens: the temporary shadow
	 * first, then read-only (see the banner) */
	memset(&sh, 0, sizeof(sh));
	if (!pg_command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ", e))
		return false;
	pg_plan_shadow_build(pg, p, &sh);
	if (!pg_command(pg, "SET TRANSACTION READ ONLY", e))
		goto out;
	if (pg->plan_refusal)
		plan_warn(p, true, "a run refuses this ALTER: %s", pg->plan_refusal);
	sizes(pg, p);
	if (p->strategy.kind == STRAT_COPY && sh.built)
		pg_plan_trial(pg, p, &sh, &trial_failed);
	else
		eta(p, sample(pg, p));
	extra_disk(pg, p);
	if (p->strategy.kind == STRAT_COPY) {
		copy_sql(pg, p);
		dependents(pg, p);
	} else {
		pg_strategy_describe(pg, &p->strategy, p);
	}
	warn_sessions(pg, p);
	warn_replicas(pg, p);
	/* a catalog-only change converts no value */
	if (sh.built && (p->strategy.kind != STRAT_DIRECT || sh.ncand > 0))
		pg_plan_cast(pg, p, &sh);
	else if (!sh.built)
		snprintf(p->cast_basis, sizeof(p->cast_basis), "no temporary shadow to try it on");
	if (trial_failed && !cast_failed(p))
		plan_warn(p, true,
		          "the trial copy of the first rows in key order into the shadow's definition failed (%s): the run "
		          "would stop at its first chunk",
		          trial_failed);
	for (int i = 0; i < o->alter->n_sub; i++) {
		const AlterSub *sub = &o->alter->sub[i];
		if (sub->kind == ALTER_ADD_UNIQUE || sub->kind == ALTER_ADD_PRIMARY_KEY)
			warn_duplicates(pg, p, sub);
		if (sub->column[0] && (sub->kind == ALTER_DROP_COLUMN || sub->kind == ALTER_RENAME || sub->kind == ALTER_OTHER))
			warn_views(pg, p, sub);
	}
	plan_def_check(p, o->alter);
	plan_classify(p);
	ok = true;
out:
	free(trial_failed);
	pg_plan_shadow_free(&sh);
	if (!pg_command(pg, "ROLLBACK", ok ? e : &(OscErr){ 0 }))
		ok = false;
	return ok;
}
