/*
 * pg_engine.c — the PostgreSQL Engine: wires the adapter's pieces into the
 * interface src/core/migrate.c drives, and owns the session's settings, abort,
 * cleanup and the plan text.
 */
#include "pg.h"
#include "pg_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* The phases that still take the run find the engine's state in it. */
static Pg *PG(Osc *o)
{
	Pg *pg = o->db;
	if (pg)
		pg->osc = o;
	return pg;
}

/* The engine's opaque types are these (src/core/engine.h). */
static Pg *T(EngineTable *t)
{
	return (Pg *)t;
}

static PgSession *S(EngineSession *s)
{
	return (PgSession *)s;
}

static const PgKeyVal *K(const EngineKey *k)
{
	return (const PgKeyVal *)k;
}

static PgBatch *B(const EngineBatch *b)
{
	return (PgBatch *)b;
}

static bool eng_open(const EngineEnv *env, EngineTable **t, EngineSession **s, OscErr *e)
{
	Pg *pg = xcalloc(1, sizeof(Pg));
	pg->env = env;
	pg->log = env->log;
	pg->main.env = env;
	pg->main.log = env->log;
	*t = (EngineTable *)pg;
	*s = (EngineSession *)&pg->main;
	if (!pgs_connect(&pg->main, env->url, e))
		return false;
	pg->dialect = pg->main.dialect;
	return pgs_setup(&pg->main, e);
}

static bool eng_session_open(EngineTable *t, EngineSession **s, OscErr *e)
{
	Pg *pg = T(t);
	PgSession *ns = xcalloc(1, sizeof(PgSession));
	ns->env = pg->env;
	ns->log = pg->log;
	*s = (EngineSession *)ns;
	return pgs_connect(ns, pg->env->url, e) && pgs_setup(ns, e);
}

static void eng_session_close(EngineSession *s)
{
	pgs_disconnect(S(s));
	free(s);
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
	pg_ddl_free(pg);
}

static void eng_close(EngineTable *t)
{
	Pg *pg = T(t);
	if (pg == NULL)
		return;
	pgs_disconnect(&pg->main);
	free_state(pg);
	free(pg);
}

static bool pg_preflight(Osc *o, bool lock, OscErr *e)
{
	Pg *pg = PG(o);
	if (!pg_find_table(pg, &o->target, e) || !pg_target_check(pg, e) || !pg_find_key(pg, e) ||
	    !pg_check_dependents(pg, e))
		return false;
	snprintf(o->info.schema, sizeof(o->info.schema), "%s", pg->schema);
	snprintf(o->info.name, sizeof(o->info.name), "%s", pg->table);
	o->info.rows_estimate = pg->reltuples;
	if (!lock)
		return pg_check_leftovers(pg, e);
	if (!pg_lock_table(pg, e) || !pg_state_resume(pg, e))
		return false;
	if (o->resume == RESUME_NONE)
		return pg_check_leftovers(pg, e);
	/* a resumed run still has every name of its swap (a new run checks
	 * them when it makes the shadow) */
	if (o->resume == RESUME_COPY || o->resume == RESUME_AFTER_COPY)
		return pg_check_row_security(pg, e) && pg_check_subscription(pg, e) && pg_names_check(pg, e);
	return true;
}

/* A connection lost before the swap (the session terminated, the server
 * restarted) stops the run, resumable (exit 3): the server rolled back
 * what was in flight, the capture triggers keep logging, and the state row
 * holds the last committed checkpoint, so a rerun continues from there. */
static bool resumable(bool ok, OscErr *e)
{
	if (!ok && pg_is_connection_lost(e))
		e->exit = OSC_EXIT_STOPPED;
	return ok;
}

static bool eng_record(Osc *o, const char *phase, const char *outcome, const char *message, OscErr *e)
{
	Pg *pg = PG(o);
	/* after a lost connection the state row must still say how the run ended */
	return pg_reconnect(pg, e) && pg_state_record(pg, phase, outcome, message, e);
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
	return resumable(pg_capture_install(PG(o), e), e);
}

static bool eng_begin(EngineSession *s, bool snapshot, OscErr *e)
{
	return pgs_begin(S(s), snapshot, e);
}

static bool eng_commit(EngineSession *s, OscErr *e)
{
	return pgs_commit(S(s), e);
}

static void eng_rollback(EngineSession *s)
{
	pgs_abort(S(s));
}

static bool eng_chunk_bound(EngineSession *s, EngineTable *t, const EngineKey *lo, int64_t limit, EngineKey **hi,
                            int64_t *spanned, OscErr *e)
{
	return pg_chunk_bound(S(s), T(t), K(lo), limit, (PgKeyVal **)hi, spanned, e);
}

static bool eng_copy_range(EngineSession *s, EngineTable *t, const EngineKey *lo, const EngineKey *hi, int64_t *rows,
                           OscErr *e)
{
	return pg_copy_range(S(s), T(t), K(lo), K(hi), rows, e);
}

static bool eng_check_range(EngineSession *s, EngineTable *t, const EngineKey *lo, const EngineKey *hi, bool *same,
                            char *why, size_t whysz, OscErr *e)
{
	return pg_check_range(S(s), T(t), K(lo), K(hi), same, why, whysz, e);
}

static bool eng_damage_range(EngineSession *s, EngineTable *t, const EngineKey *lo, const EngineKey *hi, OscErr *e)
{
	return pg_damage_range(S(s), T(t), K(lo), K(hi), e);
}

static void eng_key_describe(const EngineKey *k, char *out, size_t outsz)
{
	pg_key_describe(K(k), out, outsz);
}

static void eng_key_free(EngineKey *k)
{
	pg_key_free((PgKeyVal *)k);
}

static bool eng_log_take(EngineSession *s, EngineTable *t, CopyPos pos, int64_t limit, EngineBatch **b,
                         int64_t *taken, OscErr *e)
{
	return pg_log_take(S(s), T(t), K(pos.watermark), pos.done, limit, (PgBatch **)b, taken, e);
}

static bool eng_merge(EngineSession *s, EngineTable *t, const EngineBatch *b, const EngineBatch *extra, CopyPos pos,
                      OscErr *e)
{
	(void)pos;   /* the take kept only the keys to merge */
	(void)extra; /* PostgreSQL returns no stale keys (eng_merge_stale) */
	return pg_merge(S(s), T(t), B(b), e);
}

static bool eng_check_batch(EngineSession *s, EngineTable *t, const EngineBatch *b, CopyPos pos, bool *same,
                            char *why, size_t whysz, OscErr *e)
{
	(void)pos;
	return pg_check_batch(S(s), T(t), B(b), same, why, whysz, e);
}

/* PostgreSQL merges everything pending in one snapshot (pg_replay.c): no
 * shadow row is stale after it, whatever the scope. */
static bool eng_merge_stale(EngineSession *s, EngineTable *t, const EngineScope *scope, CopyPos pos,
                            EngineBatch **more, int64_t *found, int64_t *consumed, OscErr *e)
{
	(void)scope;
	(void)pos;
	*more = NULL;
	bool ok = pg_merge_pending(S(s), T(t), consumed, e);
	*found = *consumed;
	return ok;
}

static void eng_batch_join(EngineBatch *into, EngineBatch *more)
{
	pg_batch_join(B(into), B(more));
}

static void eng_batch_free(EngineBatch *b)
{
	pg_batch_free(B(b));
}

static bool eng_backlog(EngineSession *s, EngineTable *t, int64_t *n, OscErr *e)
{
	return pg_backlog(S(s), T(t), n, e);
}

static bool eng_definition_check(EngineSession *s, EngineTable *t, bool force, OscErr *e)
{
	(void)s; /* the definition is watched on the main session */
	return pg_ddl_check(T(t), force, false, e);
}

static bool eng_state_checkpoint(EngineSession *s, EngineTable *t, const EngineKey *wm, int64_t rows, int64_t applied,
                                 OscErr *e)
{
	return pg_state_checkpoint(S(s), T(t), K(wm), rows, applied, e);
}

/* The resumed run's checkpoint (the state row's watermark) for the core. */
static EngineKey *eng_resume_watermark(EngineTable *t, bool *copy_done)
{
	Pg *pg = T(t);
	*copy_done = pg->copy_done;
	return pg->watermark ? (EngineKey *)pg_key_new(pg->nkeys, (const char *const *)pg->watermark) : NULL;
}

static bool eng_index_build(EngineSession *s, EngineTable *t, char *what, size_t whatsz, OscErr *e)
{
	(void)s;
	return pg_index_build(T(t), what, whatsz, e);
}

static bool eng_shadow_complete(EngineSession *s, EngineTable *t, OscErr *e)
{
	(void)s;
	return pg_shadow_complete(T(t), e);
}

/* Did the swap commit?  Asked after the connection broke during it: the
 * state row says "swapped" exactly when it did. */
static bool swap_committed(Pg *pg, bool *yes, OscErr *e)
{
	PGresult *r = NULL;
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	const char *p[1] = { id };
	if (!pg_exec(pg, "SELECT phase = 'swapped' FROM osc.migrations WHERE id = $1::bigint", 1, p, &r, e))
		return false;
	*yes = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return true;
}

static SwapResult eng_swap(EngineSession *s, EngineTable *t, const SwapDrain *drain, OscErr *e)
{
	Pg *pg = T(t);
	(void)s;
	SwapResult r = pg_swap(pg, drain, e);
	if (r == SWAP_FAILED && pg_is_connection_lost(e)) {
		/* the attempt was rolled back, or its COMMIT went through just
		 * before the connection broke: the state row knows which */
		OscErr e2;
		bool yes = false;
		err_clear(&e2);
		if (pg_reconnect(pg, &e2) && swap_committed(pg, &yes, &e2)) {
			log_msg(pg->log, LOG_WARN, "%s; the swap %s", e->msg,
			        yes ? "had committed" : "was rolled back: trying again");
			err_clear(e);
			r = yes ? SWAP_DONE : SWAP_RETRY;
		} else {
			e->exit = OSC_EXIT_STOPPED;
		}
	}
	return r;
}

/* Called once the capture trigger is gone: nothing of the application
 * touches the work schema any more, so waiting longer for its locks (an
 * autovacuum worker on the log, a writer finishing its last insert into it)
 * stalls nobody; autovacuum yields to a wait longer than deadlock_timeout. */
static bool drop_work_schema(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok;
	char oid[16];

	/* only the schema this run made, or a state row proves osc's, by OID */
	if (pg->work_oid == 0)
		return true;
	snprintf(oid, sizeof(oid), "%u", pg->work_oid);
	const char *p[1] = { oid };
	sql_init(&q, &pg->dialect);
	ok = pg_command(pg, "BEGIN", e) &&
	     pg_command(pg, "SELECT pg_catalog.set_config('lock_timeout', '10s', true)", e) &&
	     pg_exec(pg, "SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = $1::oid", 1, p, &r, e);
	if (ok && PQntuples(r) == 1) {
		sql_add(&q, "DROP SCHEMA %I CASCADE", PQgetvalue(r, 0, 0));
		ok = pg_exec_sql(pg, &q, NULL, e);
	}
	ok = ok && pg_command(pg, "COMMIT", e);
	if (!ok)
		pg_rollback(pg);
	else
		pg->work_oid = 0;
	PQclear(r);
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
	if (!pg_reconnect(pg, e) || !validate_foreign_keys(pg, e) || !drop_work_schema(pg, e))
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
	if (!pg_reconnect(pg, e))
		return false;
	pg_rollback(pg);
	if (pg_capture_drop(pg, e))
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
		log_error(pg->log, &e2);
		return false;
	}
	err_set(e, OSC_EXIT_FAILED,
	        "the capture trigger could not be removed (the lock on %s.%s was not granted); it now does "
	        "nothing and the shadow and log are gone; run `osc cleanup --table %s` when the table is quieter",
	        pg->schema, pg->table, pg->env->table_arg);
	return false;
}

static bool eng_cleanup(Osc *o, OscErr *e)
{
	Pg *pg = PG(o);
	PgOwned own;

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
	/* only what a state row proves osc made, by OID: a user's schema or
	 * trigger under osc's names is left alone */
	if (!pg_owned_find(pg, &own, e))
		return false;
	if (own.schema_foreign)
		log_msg(&o->log, LOG_WARN, "schema %s was not created by osc (no osc run recorded it): left alone", pg->work);
	if (own.foreign_trigger[0])
		log_msg(&o->log, LOG_WARN, "trigger %s on %s.%s was not created by osc (no osc run recorded it): left alone",
		        own.foreign_trigger, pg->schema, pg->table);
	bool schema = own.schema_oid != 0, trigger = own.ntriggers > 0;
	if (!schema && !trigger) {
		log_msg(&o->log, LOG_INFO, "nothing of osc's to clean up for %s.%s", pg->schema, pg->table);
		return true;
	}
	memcpy(pg->trigger_oids, own.triggers, sizeof(own.triggers));
	pg->ntriggers = own.ntriggers;
	pg->work_oid = own.schema_oid;
	if ((trigger && !pg_capture_drop(pg, e)) || (schema && !drop_work_schema(pg, e)))
		return false;
	log_msg(&o->log, LOG_INFO, "removed %s%s%s; %s.%s is untouched", trigger ? "the capture triggers" : "",
	        trigger && schema ? " and " : "", schema ? "the work schema (shadow, log)" : "", pg->schema,
	        pg->table);
	return true;
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
	.open = eng_open,
	.session_open = eng_session_open,
	.session_close = eng_session_close,
	.close = eng_close,
	.is_lock_timeout = pg_is_lock_refused,
	.is_duplicate_key = pg_is_duplicate,
	.is_connection_lost = pg_is_connection_lost,
	.txn_begin = eng_begin,
	.txn_commit = eng_commit,
	.txn_rollback = eng_rollback,
	.chunk_bound = eng_chunk_bound,
	.copy_range = eng_copy_range,
	.check_range = eng_check_range,
	.damage_range = eng_damage_range,
	.key_describe = eng_key_describe,
	.key_free = eng_key_free,
	.log_take = eng_log_take,
	.merge = eng_merge,
	.check_batch = eng_check_batch,
	.merge_stale = eng_merge_stale,
	.batch_join = eng_batch_join,
	.batch_free = eng_batch_free,
	.backlog = eng_backlog,
	.definition_check = eng_definition_check,
	.state_checkpoint = eng_state_checkpoint,
	.resume_watermark = eng_resume_watermark,
	.preflight = pg_preflight,
	.shadow_create = eng_shadow_create,
	.capture_start = eng_capture_start,
	.index_build = eng_index_build,
	.shadow_complete = eng_shadow_complete,
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
