/*
 * pg_engine.c — the PostgreSQL Engine: wires the adapter's pieces into the
 * interface src/migrate.c drives, and owns the session's settings, abort,
 * cleanup and the plan text.
 */
#include "pg.h"
#include "pg_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Pg *PG(Osc *o)
{
	return o->db;
}

static bool pg_open(Osc *o, OscErr *e)
{
	Pg *pg = calloc(1, sizeof(Pg));
	Sql q;
	bool ok;

	if (pg == NULL)
		abort();
	pg->osc = o;
	o->db = pg;
	const char *url = o->opt.database ? o->opt.database : getenv("OSC_DATABASE_URL");
	if (!pg_connect(pg, url, e))
		return false;
	/* every wait has a bound: statements, locks, idle transactions */
	sql_init(&q, &pg->dialect);
	char st[32], lt[32];
	snprintf(st, sizeof(st), "%ldms", (long)o->opt.statement_timeout_ms);
	snprintf(lt, sizeof(lt), "%ldms", (long)o->opt.lock_timeout_ms);
	sql_add(&q,
	        "SELECT pg_catalog.set_config('statement_timeout', %L, false),"
	        "       pg_catalog.set_config('lock_timeout', %L, false),"
	        "       pg_catalog.set_config('idle_in_transaction_session_timeout', '300s', false),"
	        "       pg_catalog.set_config('default_transaction_isolation', 'read committed', false),"
	        "       pg_catalog.set_config('client_min_messages', 'warning', false)",
	        st, lt);
	ok = pg_exec_sql(pg, &q, NULL, e);
	sql_free(&q);
	return ok;
}

static void free_state(Pg *pg)
{
	free(pg->schema);
	free(pg->table);
	free(pg->key_index);
	for (int i = 0; i < pg->nkeys; i++) {
		free(pg->keys[i].name);
		free(pg->keys[i].shadow_name);
		free(pg->keys[i].type);
		if (pg->watermark)
			free(pg->watermark[i]);
	}
	free(pg->watermark);
	free(pg->keys);
	for (int i = 0; i < pg->nindexes; i++) {
		free(pg->indexes[i].name);
		free(pg->indexes[i].old_name);
	}
	free(pg->indexes);
	for (int i = 0; i < pg->ncols; i++) {
		free(pg->cols[i].name);
		free(pg->cols[i].expr);
	}
	free(pg->cols);
	for (int i = 0; i < pg->ndeferred; i++) {
		free(pg->deferred[i].name);
		free(pg->deferred[i].create_sql);
	}
	free(pg->deferred);
	for (int i = 0; i < pg->nseqs; i++) {
		free(pg->seqs[i].column);
		free(pg->seqs[i].old_seq);
		free(pg->seqs[i].old_schema);
		free(pg->seqs[i].old_name);
	}
	free(pg->seqs);
	free(pg->tmp_key_index);
	free(pg->plan_refusal);
	pg_verify_free(pg);
}

static void pg_close(Osc *o)
{
	Pg *pg = PG(o);
	if (pg == NULL)
		return;
	pg_disconnect(pg);
	free_state(pg);
	free(pg);
	o->db = NULL;
}

static bool pg_preflight(Osc *o, bool lock, OscErr *e)
{
	Pg *pg = PG(o);
	if (!pg_find_table(pg, &o->target, e) || !pg_target_check(pg, e) || !pg_find_key(pg, e) ||
	    !pg_check_dependents(pg, e))
		return false;
	if (!lock)
		return pg_check_leftovers(pg, e);
	if (!pg_lock_table(pg, e) || !pg_state_resume(pg, e))
		return false;
	return o->resume != RESUME_NONE || pg_check_leftovers(pg, e);
}

static bool eng_record(Osc *o, const char *phase, const char *outcome, const char *message, OscErr *e)
{
	return pg_state_record(PG(o), phase, outcome, message, e);
}

static bool eng_history(Osc *o, bool latest, OscErr *e)
{
	Pg *pg = PG(o);
	const char *table = o->target.table[0] ? o->target.table : NULL;
	if (table && !o->target.table_quoted) {
		/* unquoted names fold to lower case, as in psql */
		for (char *c = o->target.table; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		for (char *c = o->target.schema; *c && !o->target.schema_quoted; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	}
	return pg_state_history(pg, o->target.schema, table, latest, e);
}

static bool eng_shadow_create(Osc *o, bool keep, OscErr *e)
{
	return pg_shadow_create(PG(o), keep, e);
}

static bool eng_capture_start(Osc *o, OscErr *e)
{
	return pg_capture_install(PG(o), e);
}

static bool eng_copy_chunk(Osc *o, int64_t limit, int64_t *rows, bool *done, OscErr *e)
{
	return pg_copy_chunk(PG(o), limit, rows, done, e);
}

static bool eng_replay(Osc *o, int64_t limit, int64_t *applied, OscErr *e)
{
	return pg_replay(PG(o), limit, applied, e);
}

static bool eng_backlog(Osc *o, int64_t *n, OscErr *e)
{
	return pg_backlog(PG(o), n, e);
}

static bool eng_finish_shadow(Osc *o, OscErr *e)
{
	return pg_shadow_finish(PG(o), e);
}

static SwapResult eng_swap(Osc *o, OscErr *e)
{
	Pg *pg = PG(o);
	SwapResult r = pg_swap(pg, e);
	if (r == SWAP_DONE)
		osc_verify_summary(o, pg->verified_chunks, pg->verified_batches, pg->recopied);
	return r;
}

/* A connection lost mid-run is tried once more, so an abort can still clean
 * up after a server restart or a network blip. */
static bool ensure_connection(Pg *pg, OscErr *e)
{
	if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
		return true;
	if (pg->conn) {
		PQreset(pg->conn);
		if (PQstatus(pg->conn) == CONNECTION_OK)
			return true;
	}
	err_set(e, OSC_EXIT_FAILED, "the connection to the database is gone; run `osc cleanup --table %s` later",
	        pg->osc->opt.table);
	return false;
}

/* Called once the capture trigger is gone: nothing of the application
 * touches the work schema any more, so waiting longer for its locks (an
 * autovacuum worker on the log, a writer finishing its last insert into it)
 * stalls nobody; autovacuum yields to a wait longer than deadlock_timeout. */
static bool drop_work_schema(Pg *pg, OscErr *e)
{
	Sql q;
	bool ok;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "DROP SCHEMA IF EXISTS %I CASCADE", pg->work);
	ok = pg_command(pg, "BEGIN", e) &&
	     pg_command(pg, "SELECT pg_catalog.set_config('lock_timeout', '10s', true)", e) &&
	     pg_exec_sql(pg, &q, NULL, e) && pg_command(pg, "COMMIT", e);
	if (!ok)
		pg_rollback(pg);
	sql_free(&q);
	return ok;
}

/* The foreign keys the swap re-created NOT VALID are validated now (their
 * list is in the work schema, so do this before dropping it).  The state
 * row's fingerprint of the new table then drops the "NOT VALID" the swap
 * recorded, so a rerun of the same command still sees it done. */
static bool validate_foreign_keys(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool all_valid = false, ok = false;
	char *table = pg_qualified(pg, pg->schema, pg->table);

	if (!pg_carry_validate(pg, &all_valid, e))
		goto out;
	if (!all_valid || pg->state_id == 0) {
		ok = true;
		goto out;
	}
	if (!pg_exec(pg, "SELECT $1::regclass::oid", 1, (const char *[]){ table }, &r, e))
		goto out;
	ok = pg_state_fingerprint_new(pg, (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10), e);
out:
	PQclear(r);
	free(table);
	return ok;
}

static bool eng_finish(Osc *o, OscErr *e)
{
	Pg *pg = PG(o);
	if (!validate_foreign_keys(pg, e) || !drop_work_schema(pg, e))
		return false;
	if (o->opt.drop_old_table) {
		Sql q;
		OscErr e2;
		err_clear(&e2);
		sql_init(&q, &pg->dialect);
		sql_add(&q, "DROP TABLE %I.%I", pg->schema, pg->old);
		if (!pg_exec_sql(pg, &q, NULL, &e2))
			log_msg(&o->log, LOG_WARN, "the old table %s.%s was kept: %s", pg->schema, pg->old, e2.msg);
		else
			log_msg(&o->log, LOG_INFO, "dropped the old table %s.%s", pg->schema, pg->old);
		sql_free(&q);
	} else {
		log_msg(&o->log, LOG_INFO, "the original is kept as %s.%s (drop it when you are sure)", pg->schema,
		        pg->old);
	}
	return true;
}

static bool eng_abort(Osc *o, OscErr *e)
{
	Pg *pg = PG(o);
	if (pg == NULL || pg->schema == NULL)
		return true;
	if (!ensure_connection(pg, e))
		return false;
	pg_rollback(pg);
	if (pg_capture_drop(pg, pg->schema, pg->table, e))
		return drop_work_schema(pg, e);
	if (!pg_is_lock_timeout(e) && strstr(e->msg, "not granted") == NULL)
		return false;
	/* The lock that kept the swap out (a long transaction on the table)
	 * keeps the trigger's removal out too.  Make the trigger a no-op, which
	 * locks nothing on the table, and drop the shadow and the log; the
	 * empty trigger and its schema wait for `osc cleanup`. */
	OscErr e2;
	err_clear(&e2);
	if (!pg_capture_disarm(pg, &e2)) {
		log_error(&pg->osc->log, &e2);
		return false;
	}
	err_set(e, OSC_EXIT_FAILED,
	        "the capture trigger could not be removed (the lock on %s.%s was not granted); it now does "
	        "nothing and the shadow and log are gone; run `osc cleanup --table %s` when the table is quieter",
	        pg->schema, pg->table, pg->osc->opt.table);
	return false;
}

static bool eng_cleanup(Osc *o, OscErr *e)
{
	Pg *pg = PG(o);
	PGresult *r = NULL;
	bool ok = false;

	if (!pg_find_table(pg, &o->target, e) || !pg_lock_table(pg, e))
		return false;
	bool state = false;
	if (!pg_state_exists(pg, &state, e))
		return false;
	if (state) {
		const char *ps[2] = { pg->schema, pg->table };
		if (!pg_exec(pg,
		             "UPDATE osc.migrations SET outcome = 'aborted', finished_at = now(), updated_at = now(),"
		             " message = 'removed by osc cleanup'"
		             " WHERE schema_name = $1 AND table_name = $2 AND outcome IN ('running', 'stopped')",
		             2, ps, NULL, e))
			return false;
	}
	const char *p[3] = { pg->work, pg->schema, pg->table };
	if (!pg_exec(pg,
	             "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1),"
	             "       EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"
	             "                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	             "                WHERE n.nspname = $2 AND c.relname = $3 AND t.tgname = '_osc_capture')",
	             3, p, &r, e))
		goto out;
	bool schema = PQgetvalue(r, 0, 0)[0] == 't', trigger = PQgetvalue(r, 0, 1)[0] == 't';
	if (!schema && !trigger) {
		log_msg(&o->log, LOG_INFO, "nothing to clean up for %s.%s", pg->schema, pg->table);
		ok = true;
		goto out;
	}
	if (trigger && !pg_capture_drop(pg, pg->schema, pg->table, e))
		goto out;
	if (schema && !drop_work_schema(pg, e))
		goto out;
	log_msg(&o->log, LOG_INFO, "removed %s%s%s; %s.%s is untouched", trigger ? "the capture trigger" : "",
	        trigger && schema ? " and " : "", schema ? "the work schema (shadow, log)" : "", pg->schema,
	        pg->table);
	ok = true;
out:
	PQclear(r);
	return ok;
}

static bool eng_strategy_pick(Osc *o, Strategy *s, OscErr *e)
{
	return pg_strategy_pick(PG(o), s, e);
}

static bool eng_strategy_run(Osc *o, Strategy *s, OscErr *e)
{
	Pg *pg = PG(o);
	return pg_state_in_place(pg, strategy_name(s->kind), e) && pg_strategy_run(pg, s, e) &&
	       pg_state_fingerprint_new(pg, pg->oid, e);
}

static int64_t eng_estimate(Osc *o)
{
	return PG(o)->reltuples;
}

static bool eng_plan_fill(Osc *o, Plan *p, OscErr *e)
{
	return pg_plan_fill(PG(o), p, e);
}

const Engine pg_engine = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.preflight = pg_preflight,
	.shadow_create = eng_shadow_create,
	.capture_start = eng_capture_start,
	.copy_chunk = eng_copy_chunk,
	.replay = eng_replay,
	.backlog = eng_backlog,
	.finish_shadow = eng_finish_shadow,
	.swap = eng_swap,
	.finish = eng_finish,
	.abort = eng_abort,
	.cleanup = eng_cleanup,
	.strategy_pick = eng_strategy_pick,
	.strategy_run = eng_strategy_run,
	.plan_fill = eng_plan_fill,
	.estimate = eng_estimate,
	.record = eng_record,
	.history = eng_history,
	.monitor = &pg_monitor,
};
