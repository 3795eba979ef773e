/*
 * pg_strategy.c — applying an ALTER in place on PostgreSQL, without the
 * shadow copy, by the least-locking route (see strategy.h).
 *
 * Confirmation: strategy_classify reads only the text.  Before trusting it,
 * the ALTER is tried on an empty temporary copy of the table (LIKE ...
 * INCLUDING ALL) in a transaction that is rolled back: if the ALTER fails
 * there, or the copy's relfilenode changed (the ALTER rewrote it: a volatile
 * default, a type change), the shadow copy is used, and it reports a bad
 * ALTER with the usual exit 2.  A FOREIGN KEY cannot be tried on a temporary
 * table; its errors come from the server when it is added.
 *
 * Every statement that locks the table runs in its own short transaction
 * under --lock-timeout; a lock timeout rolls it back, waits (exponential
 * backoff with jitter, src/lib/backoff.c) and tries again, --cutover-retries
 * times.  The long parts — CREATE UNIQUE INDEX CONCURRENTLY and VALIDATE
 * CONSTRAINT — take locks that do not block writers.  When one fails (the
 * data violates the new constraint), what osc added is dropped again: an
 * invalid index, a NOT VALID constraint.  Nothing else has changed.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "strategy.h"

static bool set_timeout(Pg *pg, const char *name, int64_t ms, bool local, OscErr *e)
{
	char v[32];
	snprintf(v, sizeof(v), "%ldms", (long)ms);
	const char *p[3] = { name, v, local ? "true" : "false" };
	return pg_exec(pg, "SELECT pg_catalog.set_config($1, $2, $3::bool)", 3, p, NULL, e);
}

/* Statements in one transaction under the lock timeout.  long_scan: no
 * statement timeout (VALIDATE scans the table, with locks that do not
 * block writers; the lock timeout still bounds the wait). */
typedef struct Locked {
	Pg *pg;
	bool long_scan;
	Sql *stmts;
	int n;
} Locked;

static RetryResult locked_attempt(void *ctx, char *note, size_t notesz, OscErr *e)
{
	Locked *l = ctx;
	Pg *pg = l->pg;
	(void)note;
	(void)notesz;
	bool ok = pg_command(pg, "BEGIN", e) && set_timeout(pg, "lock_timeout", pg->env->lock_timeout_ms, true, e) &&
	          (!l->long_scan || set_timeout(pg, "statement_timeout", 0, true, e));
	for (int i = 0; ok && i < l->n; i++)
		ok = pg_exec_sql(pg, &l->stmts[i], NULL, e);
	if (ok && pg_command(pg, "COMMIT", e))
		return RETRY_DONE;
	pg_rollback(pg);
	return pg_is_lock_timeout(e) ? RETRY_AGAIN : RETRY_FAIL;
}

/* ... retried on lock timeouts (src/core/retry.h); the run may be stopped
 * before each statement (the operator's abort, the window) */
static bool locked(Pg *pg, const char *what, bool long_scan, Sql *stmts, int n, OscErr *e)
{
	const RetryPolicy *p = pg->env->retry;
	char object[600];
	snprintf(object, sizeof(object), "%s.%s", pg->schema, pg->table);
	LockStep step = {
		.what = what,
		.object = object,
		.after = "; nothing was changed (long transactions on the table? try a quieter time or --cutover-retries)",
	};
	Locked l = { .pg = pg, .long_scan = long_scan, .stmts = stmts, .n = n };
	if (p->gate && !p->gate(p->gate_ctx, e))
		return false;
	return retry_lock(p, &step, locked_attempt, &l, e);
}

static bool locked1(Pg *pg, const char *what, bool long_scan, Sql *q, OscErr *e)
{
	bool ok = locked(pg, what, long_scan, q, 1, e);
	sql_reset(q);
	return ok;
}

/* The server's rejection of the text is bad input, as on the copy path. */
static void rejected(OscErr *e)
{
	if (strncmp(e->sqlstate, "42", 2) == 0)
		err_wrap(e, OSC_EXIT_INPUT, "the database rejected the ALTER: ", "; nothing was changed");
}

/* Tries the ALTER on an empty temporary copy; *rewrites when it rewrote it.
 * false with *tried=false when it could not be tried (the copy decides). */
static bool probe(Pg *pg, bool *tried, bool *rewrites, char *why, size_t whysz, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	char before[32] = "";
	bool ok = false;
	OscErr pe;

	*tried = false;
	*rewrites = false;
	err_clear(&pe);
	sql_init(&q, &pg->dialect);
	if (!pg_command(pg, "BEGIN", e) || !set_timeout(pg, "lock_timeout", pg->env->lock_timeout_ms, true, e))
		goto out;
	sql_add(&q, "CREATE TEMPORARY TABLE _osc_probe (LIKE %I.%I INCLUDING ALL) ON COMMIT DROP", pg->schema, pg->table);
	if (!pg_exec_sql(pg, &q, NULL, &pe))
		goto tried;
	if (!pg_exec(pg, "SELECT relfilenode FROM pg_catalog.pg_class WHERE oid = 'pg_temp._osc_probe'::regclass", 0, NULL,
	             &r, e))
		goto out;
	snprintf(before, sizeof(before), "%s", pg_value(r, 0));
	PQclear(r);
	r = NULL;
	sql_reset(&q);
	sql_add(&q, "ALTER TABLE pg_temp._osc_probe %s", pg->env->alter->text);
	if (!pg_exec_sql(pg, &q, NULL, &pe))
		goto tried;
	if (!pg_exec(pg, "SELECT relfilenode FROM pg_catalog.pg_class WHERE oid = 'pg_temp._osc_probe'::regclass", 0, NULL,
	             &r, e))
		goto out;
	*tried = true;
	*rewrites = strcmp(before, pg_value(r, 0)) != 0;
tried:
	if (!*tried)
		snprintf(why, whysz, "%.200s", pe.msg);
	ok = true;
out:
	pg_rollback(pg);
	PQclear(r);
	sql_free(&q);
	return ok;
}

static bool column_nullable(Pg *pg, const char *col, bool *nullable, OscErr *e)
{
	PGresult *r = NULL;
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *p[2] = { oid, col };
	if (!pg_exec(pg,
	             "SELECT NOT attnotnull FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid AND attname = $2"
	             " AND attnum > 0 AND NOT attisdropped",
	             2, p, &r, e))
		return false;
	*nullable = PQntuples(r) == 1 && pg_value(r, 0)[0] == 't';
	PQclear(r);
	return true;
}

bool pg_strategy_pick(Pg *pg, Strategy *s, OscErr *e)
{
	strategy_classify(pg->env->alter, pg->env->strategy, s);
	if (s->kind == STRAT_COPY)
		return true;
	if (s->kind == STRAT_UNIQUE_INDEX && s->sub->kind == ALTER_ADD_PRIMARY_KEY)
		for (int i = 0; i < s->sub->ncols; i++) {
			bool nullable;
			if (!column_nullable(pg, s->sub->cols[i], &nullable, e))
				return false;
			if (nullable) {
				strategy_copy(s, "PRIMARY KEY over the nullable column %s: SET NOT NULL would scan under the lock",
				              s->sub->cols[i]);
				return true;
			}
		}
	if (s->kind == STRAT_NOT_VALID && s->sub->kind == ALTER_ADD_FOREIGN_KEY)
		return true;
	bool tried, rewrites;
	char why[300] = "";
	if (!probe(pg, &tried, &rewrites, why, sizeof(why), e))
		return false;
	if (!tried)
		strategy_copy(s, "the ALTER could not be tried on an empty copy of the table (%s); the shadow copy judges it",
		              why);
	else if (rewrites)
		strategy_copy(s, "the ALTER rewrites the table (a volatile default, a type change, a stored column)");
	return true;
}

static bool run_direct(Pg *pg, OscErr *e)
{
	Sql q;
	bool ok;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "ALTER TABLE %I.%I %s", pg->schema, pg->table, pg->env->alter->text);
	ok = locked1(pg, "ALTER TABLE", false, &q, e);
	if (!ok)
		rejected(e);
	sql_free(&q);
	return ok;
}

/* Session-wide, for statements that cannot run in a transaction: no
 * statement timeout (an index build), the lock waits bounded by
 * --statement-timeout; restored afterwards. */
static bool long_session(Pg *pg, bool on, OscErr *e)
{
	const EngineEnv *opt = pg->env;
	return set_timeout(pg, "statement_timeout", on ? 0 : opt->statement_timeout_ms, false, e) &&
	       set_timeout(pg, "lock_timeout", on ? opt->statement_timeout_ms : opt->lock_timeout_ms, false, e);
}

static bool index_exists(Pg *pg, const char *name, bool *exists, OscErr *e)
{
	PGresult *r = NULL;
	char *qn = pg_qualified(pg, pg->schema, name);
	const char *p[1] = { qn };
	bool ok = pg_exec(pg, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, p, &r, e);
	if (ok)
		*exists = pg_value(r, 0)[0] == 't';
	PQclear(r);
	free(qn);
	return ok;
}

static void drop_index(Pg *pg, const char *name)
{
	Sql q;
	OscErr e2;
	err_clear(&e2);
	sql_init(&q, &pg->dialect);
	sql_add(&q, "DROP INDEX CONCURRENTLY IF EXISTS %I.%I", pg->schema, name);
	if (!long_session(pg, true, &e2) || !pg_exec_sql(pg, &q, NULL, &e2))
		log_msg(pg->log, LOG_ERROR, "could not drop the index %s.%s osc made: %s; drop it by hand", pg->schema,
		        name, e2.msg);
	err_clear(&e2);
	if (!long_session(pg, false, &e2))
		log_error(pg->log, &e2);
	sql_free(&q);
}

/* The index (and constraint) name: the one given, else PostgreSQL's own
 * default (t_pkey, t_a_b_key). */
static void unique_name(Pg *pg, const AlterSub *sub, char *name, size_t namesz)
{
	char base[512];
	bool pk = sub->kind == ALTER_ADD_PRIMARY_KEY;
	if (sub->constraint[0]) {
		snprintf(name, namesz, "%.63s", sub->constraint);
		return;
	}
	size_t n = (size_t)snprintf(base, sizeof(base), "%s", pg->table);
	for (int i = 0; !pk && i < sub->ncols && n < sizeof(base); i++)
		n += (size_t)snprintf(base + n, sizeof(base) - n, "_%s", sub->cols[i]);
	names_derive(name, namesz, "", base, pk ? "_pkey" : "_key", PG_NAMELEN);
}

static void unique_sql(Pg *pg, const AlterSub *sub, const char *name, Sql *build, Sql *attach)
{
	sql_add(build, "CREATE UNIQUE INDEX CONCURRENTLY %I ON %I.%I (", name, pg->schema, pg->table);
	for (int i = 0; i < sub->ncols; i++)
		sql_add(build, "%s%I", i ? ", " : "", sub->cols[i]);
	sql_add(build, ")");
	sql_add(attach, "ALTER TABLE %I.%I ADD CONSTRAINT %I %s USING INDEX %I", pg->schema, pg->table, name,
	        sub->kind == ALTER_ADD_PRIMARY_KEY ? "PRIMARY KEY" : "UNIQUE", name);
}

static bool run_unique_index(Pg *pg, const AlterSub *sub, OscErr *e)
{
	Sql q, attach;
	char name[PG_NAMELEN + 1];
	bool exists = false, ok = false;

	unique_name(pg, sub, name, sizeof(name));
	if (!index_exists(pg, name, &exists, e))
		return false;
	if (exists) {
		err_set(e, OSC_EXIT_INPUT, "a relation named %s already exists in schema %s; name the constraint", name,
		        pg->schema);
		return false;
	}
	sql_init(&q, &pg->dialect);
	sql_init(&attach, &pg->dialect);
	unique_sql(pg, sub, name, &q, &attach);
	log_msg(pg->log, LOG_INFO, "building the unique index %s concurrently (writers go on)", name);
	if (!long_session(pg, true, e))
		goto out;
	bool built = pg_exec_sql(pg, &q, NULL, e);
	OscErr e2;
	err_clear(&e2);
	if (!long_session(pg, false, built ? e : &e2))
		built = false;
	if (!built) {
		bool dup = strcmp(e->sqlstate, "23505") == 0;
		drop_index(pg, name);
		if (dup)
			err_wrap(e, OSC_EXIT_FAILED, "the new unique key is violated by rows already in the table: ",
			         "; nothing was changed, no row was dropped, the index osc built was removed");
		else
			rejected(e);
		goto out;
	}
	if (!locked1(pg, "ADD CONSTRAINT ... USING INDEX", false, &attach, e)) {
		drop_index(pg, name);
		goto out;
	}
	ok = true;
out:
	sql_free(&q);
	sql_free(&attach);
	return ok;
}

/* The table's constraints that are not validated, as a text[] literal. */
static bool not_validated(Pg *pg, char **out, OscErr *e)
{
	PGresult *r = NULL;
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *p[1] = { oid };
	if (!pg_exec(pg,
	             "SELECT coalesce(array_agg(conname ORDER BY oid DESC), '{}')::text FROM pg_catalog.pg_constraint"
	             " WHERE conrelid = $1::oid AND NOT convalidated",
	             1, p, &r, e))
		return false;
	*out = pg_strdup(pg_value(r, 0));
	PQclear(r);
	return true;
}

/* ADD ... NOT VALID, VALIDATE; on a failed VALIDATE the constraint goes. */
static bool add_then_validate(Pg *pg, Sql *add, const char *given, char *name, size_t namesz, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	char *before = NULL;
	bool ok = false;

	if (!given && !not_validated(pg, &before, e))
		return false;
	if (!locked1(pg, "ADD CONSTRAINT ... NOT VALID", false, add, e)) {
		rejected(e);
		free(before);
		return false;
	}
	sql_init(&q, &pg->dialect);
	if (given) {
		snprintf(name, namesz, "%s", given);
	} else {
		/* the server named it: the one not-validated constraint that is new */
		char oid[16];
		snprintf(oid, sizeof(oid), "%u", pg->oid);
		const char *p[2] = { oid, before };
		if (!pg_exec(pg,
		             "SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = $1::oid AND NOT convalidated"
		             " AND conname <> ALL ($2::text[]) ORDER BY oid DESC LIMIT 1",
		             2, p, &r, e))
			goto out;
		if (PQntuples(r) != 1) {
			err_set(e, OSC_EXIT_FAILED, "could not find the constraint just added to %s.%s", pg->schema, pg->table);
			goto out;
		}
		snprintf(name, namesz, "%s", pg_value(r, 0));
	}
	log_msg(pg->log, LOG_INFO, "validating %s (a scan that does not block writers)", name);
	sql_add(&q, "ALTER TABLE %I.%I VALIDATE CONSTRAINT %I", pg->schema, pg->table, name);
	if (!locked1(pg, "VALIDATE CONSTRAINT", true, &q, e)) {
		OscErr e2;
		err_clear(&e2);
		sql_add(&q, "ALTER TABLE %I.%I DROP CONSTRAINT %I", pg->schema, pg->table, name);
		if (!locked1(pg, "DROP CONSTRAINT", false, &q, &e2))
			log_msg(pg->log, LOG_ERROR, "could not drop the constraint %s osc added NOT VALID: %s; drop it by hand",
			        name, e2.msg);
		else
			err_wrap(e, e->exit, "", "; the constraint osc added was removed again, nothing else was changed");
		goto out;
	}
	ok = true;
out:
	PQclear(r);
	free(before);
	sql_free(&q);
	return ok;
}

static void not_valid_sql(Pg *pg, const AlterSub *sub, Sql *add)
{
	/* the user's subcommand, as the user wrote it, made NOT VALID */
	sql_add(add, "ALTER TABLE %I.%I %s NOT VALID", pg->schema, pg->table, sub->text);
}

static bool run_not_valid(Pg *pg, const AlterSub *sub, OscErr *e)
{
	Sql add;
	char name[PG_NAMELEN + 1];
	bool ok;
	sql_init(&add, &pg->dialect);
	not_valid_sql(pg, sub, &add);
	ok = add_then_validate(pg, &add, sub->constraint[0] ? sub->constraint : NULL, name, sizeof(name), e);
	sql_free(&add);
	return ok;
}

/* The helper CHECK's ADD, then SET NOT NULL and its DROP (one transaction). */
static void not_null_sql(Pg *pg, const AlterSub *sub, char *name, size_t namesz, Sql *add, Sql q[2])
{
	names_derive(name, namesz, "_", sub->column, "_osc_not_null", PG_NAMELEN);
	sql_add(add, "ALTER TABLE %I.%I ADD CONSTRAINT %I CHECK (%I IS NOT NULL) NOT VALID", pg->schema, pg->table, name,
	        sub->column);
	/* the validated CHECK lets SET NOT NULL skip its scan */
	sql_add(&q[0], "ALTER TABLE %I.%I ALTER COLUMN %I SET NOT NULL", pg->schema, pg->table, sub->column);
	sql_add(&q[1], "ALTER TABLE %I.%I DROP CONSTRAINT %I", pg->schema, pg->table, name);
}

static bool run_not_null(Pg *pg, const AlterSub *sub, OscErr *e)
{
	Sql add, q[2];
	char name[PG_NAMELEN + 1], got[PG_NAMELEN + 1];
	bool ok = false;

	sql_init(&add, &pg->dialect);
	sql_init(&q[0], &pg->dialect);
	sql_init(&q[1], &pg->dialect);
	not_null_sql(pg, sub, name, sizeof(name), &add, q);
	if (!add_then_validate(pg, &add, name, got, sizeof(got), e))
		goto out;
	ok = locked(pg, "SET NOT NULL", false, q, 2, e);
	if (!ok) {
		OscErr e2;
		err_clear(&e2);
		if (!locked(pg, "DROP CONSTRAINT", false, &q[1], 1, &e2))
			log_msg(pg->log, LOG_ERROR, "could not drop the constraint %s osc added: %s; drop it by hand", name,
			        e2.msg);
	}
out:
	sql_free(&add);
	sql_free(&q[0]);
	sql_free(&q[1]);
	return ok;
}

void pg_strategy_describe(Pg *pg, const Strategy *s, Plan *p)
{
	Sql a, b[2];
	char name[PG_NAMELEN + 1];
	const char *lt = "  -- under the lock timeout, retried";
	sql_init(&a, &pg->dialect);
	sql_init(&b[0], &pg->dialect);
	sql_init(&b[1], &pg->dialect);
	switch (s->kind) {
	case STRAT_DIRECT:
		sql_add(&a, "ALTER TABLE %I.%I %s", pg->schema, pg->table, pg->env->alter->text);
		plan_sql(p, "%s;%s", sql_text(&a), lt);
		break;
	case STRAT_UNIQUE_INDEX:
		unique_name(pg, s->sub, name, sizeof(name));
		unique_sql(pg, s->sub, name, &a, &b[0]);
		plan_sql(p, "%s;  -- writers go on; dropped again if it fails", sql_text(&a));
		plan_sql(p, "%s;%s", sql_text(&b[0]), lt);
		break;
	case STRAT_NOT_VALID:
		not_valid_sql(pg, s->sub, &a);
		plan_sql(p, "%s;%s", sql_text(&a), lt);
		plan_sql(p, "ALTER TABLE ... VALIDATE CONSTRAINT <it>;  -- a scan that does not block writers");
		break;
	case STRAT_NOT_NULL:
		not_null_sql(pg, s->sub, name, sizeof(name), &a, b);
		plan_sql(p, "%s;%s", sql_text(&a), lt);
		sql_reset(&a);
		sql_add(&a, "ALTER TABLE %I.%I VALIDATE CONSTRAINT %I", pg->schema, pg->table, name);
		plan_sql(p, "%s;  -- a scan that does not block writers", sql_text(&a));
		plan_sql(p, "%s; %s;  -- one transaction, no scan%s", sql_text(&b[0]), sql_text(&b[1]), lt + 4);
		break;
	case STRAT_COPY:
	case STRAT_INSTANT:
	case STRAT_NOCOPY:
		break;
	}
	sql_free(&a);
	sql_free(&b[0]);
	sql_free(&b[1]);
}

bool pg_strategy_run(Pg *pg, const Strategy *s, OscErr *e)
{
	switch (s->kind) {
	case STRAT_DIRECT: return run_direct(pg, e);
	case STRAT_UNIQUE_INDEX: return run_unique_index(pg, s->sub, e);
	case STRAT_NOT_VALID: return run_not_valid(pg, s->sub, e);
	case STRAT_NOT_NULL: return run_not_null(pg, s->sub, e);
	case STRAT_COPY:
	case STRAT_INSTANT:
	case STRAT_NOCOPY: break;
	}
	err_set(e, OSC_EXIT_FAILED, "internal: the shadow copy is not an in-place strategy");
	return false;
}
