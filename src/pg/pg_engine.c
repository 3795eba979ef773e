/*
 * pg_engine.c — the PostgreSQL Engine: wires the adapter's pieces into the
 * interface the core drives (src/core/engine.h).  The SQL of a run's end
 * is src/pg/pg_finish.c.
 */
#include "pg.h"
#include "pg_target.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osc.h" /* plan_fill, which still takes the run */
#include "xalloc.h"

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

static bool eng_table_find(EngineTable *t, TableInfo *info, OscErr *e)
{
	Pg *pg = T(t);
	if (!pg_find_table(pg, pg->env->target, e))
		return false;
	snprintf(info->schema, sizeof(info->schema), "%s", pg->schema);
	snprintf(info->name, sizeof(info->name), "%s", pg->table);
	info->rows_estimate = pg->reltuples;
	return true;
}

static bool eng_target_primary(EngineTable *t, OscErr *e)
{
	return pg_target_primary(T(t), e);
}

static bool eng_target_check(EngineTable *t, OscErr *e)
{
	return pg_target_check(T(t), e);
}

static bool eng_key_find(EngineTable *t, OscErr *e)
{
	return pg_find_key(T(t), e);
}

static bool eng_dependents_check(EngineTable *t, OscErr *e)
{
	return pg_check_dependents(T(t), e);
}

static bool eng_table_lock(EngineTable *t, OscErr *e)
{
	return pg_lock_table(T(t), e);
}

static bool eng_leftovers_check(EngineTable *t, OscErr *e)
{
	return pg_revert_refuse_new(T(t), e) && pg_check_leftovers(T(t), e);
}

/* A resumed copy: what a new run's pg_shadow_create checks, again; the
 * swap's names among them. */
static bool eng_preflight_resumed(EngineTable *t, ResumeKind resume, OscErr *e)
{
	Pg *pg = T(t);
	(void)resume;
	return pg_check_row_security(pg, e) && pg_check_subscription(pg, e) && pg_names_check(pg, e);
}

static bool eng_state_read(EngineTable *t, StateRow *row, OscErr *e)
{
	return pg_state_read(T(t), row, e);
}

/* The swap's transaction records "swapped" with the rename: the row knows. */
static bool eng_state_swapped(EngineTable *t, const StateRow *row, bool *swapped, char *detail, size_t detailsz,
                              OscErr *e)
{
	(void)t;
	(void)e;
	*swapped = strcmp(row->phase, "swapped") == 0;
	snprintf(detail, detailsz, "recorded with the rename");
	return true;
}

static bool eng_state_attach(EngineTable *t, const StateRow *row, bool copy_done, const char **lost, OscErr *e)
{
	(void)row;
	return pg_state_attach(T(t), copy_done, lost, e);
}

static bool eng_state_claim(EngineTable *t, const char *phase, OscErr *e)
{
	(void)phase; /* the row's phase stands */
	return pg_state_claim(T(t), e);
}

static void eng_state_release(EngineTable *t)
{
	T(t)->state_id = 0;
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

static bool eng_state_record(EngineTable *t, const char *phase, const char *outcome, const char *message,
                             int64_t rows_copied, int64_t changes_applied, OscErr *e)
{
	Pg *pg = T(t);
	if (pg->state_id == 0)
		return true;
	/* after a lost connection the state row must still say how the run ended */
	return pg_reconnect(pg, e) && pg_state_record(pg, phase, outcome, message, rows_copied, changes_applied, e);
}

/* An unquoted name folds to lower case, as in psql. */
static void fold(char *s, bool quoted)
{
	for (; *s && !quoted; s++)
		*s = (char)tolower((unsigned char)*s);
}

static bool eng_history_read(EngineTable *t, bool latest, History *h, OscErr *e)
{
	Pg *pg = T(t);
	TableName n = *pg->env->target;
	fold(n.table, n.table_quoted);
	fold(n.schema, n.schema_quoted);
	return pg_history_read(pg, n.schema, n.table[0] ? n.table : NULL, latest, h, e);
}

static bool eng_shadow_create(EngineTable *t, bool keep, OscErr *e)
{
	return pg_shadow_create(T(t), keep, e);
}

static bool eng_capture_install(EngineTable *t, OscErr *e)
{
	return resumable(pg_capture_install(T(t), e), e);
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

static bool eng_shadow_trim(EngineSession *s, EngineTable *t, const EngineKey *above, int64_t *rows, OscErr *e)
{
	return pg_shadow_trim(S(s), T(t), K(above), rows, e);
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
static EngineKey *eng_resume_watermark(EngineTable *t)
{
	Pg *pg = T(t);
	return pg->watermark ? (EngineKey *)pg_key_new(pg->nkeys, (const char *const *)pg->watermark) : NULL;
}

static bool eng_index_build(EngineSession *s, EngineTable *t, char *what, size_t whatsz, OscErr *e)
{
	(void)s;
	return pg_index_build(T(t), what, whatsz, e);
}

static bool eng_shadow_complete(EngineSession *s, EngineTable *t, OscErr *e)
{
	Pg *pg = T(t);
	(void)s;
	/* --revertible: the reverse log before the catch-up (a resumed run's
	 * too), the swap puts its triggers on (src/pg/pg_revert_keep.c) */
	return pg_shadow_complete(pg, e) &&
	       (!pg->revertible || pg_revert_log_create(pg, e));
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
	*yes = PQntuples(r) == 1 && pg_value(r, 0)[0] == 't';
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

static bool eng_strategy_pick(EngineTable *t, Strategy *s, OscErr *e)
{
	return pg_strategy_pick(T(t), s, e);
}

static bool eng_state_in_place(EngineTable *t, const char *strategy, OscErr *e)
{
	return pg_state_in_place(T(t), strategy, e);
}

static bool eng_in_place(EngineTable *t, Strategy *s, OscErr *e)
{
	return pg_strategy_run(T(t), s, e);
}

static bool eng_state_result(EngineTable *t, OscErr *e)
{
	Pg *pg = T(t);
	return pg_state_fingerprint_new(pg, pg->oid, e);
}

/* The end of a run: the main session usable, outside a transaction. */
static bool eng_session_ready(EngineTable *t, OscErr *e)
{
	Pg *pg = T(t);
	if (!pg_reconnect(pg, e))
		return false;
	pg_rollback(pg);
	return true;
}

static bool eng_swap_settle(EngineTable *t, OscErr *e)
{
	return pg_swap_settle(T(t), e);
}

static bool eng_capture_remove(EngineTable *t, OscErr *e)
{
	return pg_capture_drop(T(t), e);
}

static bool eng_capture_leave(EngineTable *t, OscErr *e)
{
	return pg_capture_leave(T(t), e);
}

/* The work schema holds the shadow until the swap moves it out; after a
 * --revertible swap, the original and the reverse log. */
static bool eng_work_drop(EngineTable *t, bool shadow, OscErr *e)
{
	Pg *pg = T(t);
	if (!shadow && pg->revertible && !pg->reverse)
		return pg_revert_work_trim(pg, e);
	return pg_work_drop(pg, e);
}

static void eng_old_table(EngineTable *t, OldTable *out)
{
	pg_old_table(T(t), out);
}

static bool eng_old_drop(EngineTable *t, OscErr *e)
{
	return pg_old_drop(T(t), e);
}

static bool eng_leftovers_find(EngineTable *t, Leftovers *lo, OscErr *e)
{
	return pg_revert_refuse_new(T(t), e) && pg_leftovers_find(T(t), lo, e);
}

static bool eng_revert_attach(EngineTable *t, bool finish, RevertInfo *ri, OscErr *e)
{
	return pg_revert_attach(T(t), finish, ri, e);
}

static bool eng_revert_finish(EngineTable *t, bool drop_old, OscErr *e)
{
	return pg_revert_finish(T(t), drop_old, e);
}

static bool eng_leftovers_drop(EngineTable *t, const Leftovers *lo, char *done, size_t donesz, OscErr *e)
{
	return pg_leftovers_drop(T(t), lo, done, donesz, e);
}

static bool eng_state_close(EngineTable *t, const char *outcome, const char *message, OscErr *e)
{
	return pg_state_close(T(t), outcome, message, e);
}

static int eng_proxy_bypass(EngineTable *t, const uint32_t *ids, int nids, char *const *mine, int nmine, char *out,
                            size_t outsz)
{
	return pg_proxy_bypass(T(t), ids, nids, mine, nmine, out, outsz);
}

static bool eng_plan_fill(Osc *o, Plan *p, OscErr *e)
{
	return pg_plan_fill(T(o->table), p, e);
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
	.shadow_trim = eng_shadow_trim,
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
	.state_read = eng_state_read,
	.state_swapped = eng_state_swapped,
	.state_attach = eng_state_attach,
	.state_claim = eng_state_claim,
	.state_release = eng_state_release,
	.resume_watermark = eng_resume_watermark,
	.preflight_resumed = eng_preflight_resumed,
	.table_find = eng_table_find,
	.target_primary = eng_target_primary,
	.target_check = eng_target_check,
	.key_find = eng_key_find,
	.dependents_check = eng_dependents_check,
	.table_lock = eng_table_lock,
	.leftovers_check = eng_leftovers_check,
	.shadow_create = eng_shadow_create,
	.capture_install = eng_capture_install,
	.index_build = eng_index_build,
	.shadow_complete = eng_shadow_complete,
	.swap = eng_swap,
	.strategy_pick = eng_strategy_pick,
	.state_in_place = eng_state_in_place,
	.in_place = eng_in_place,
	.state_result = eng_state_result,
	.state_record = eng_state_record,
	.history_read = eng_history_read,
	.session_ready = eng_session_ready,
	.swap_settle = eng_swap_settle,
	.capture_remove = eng_capture_remove,
	.capture_leave = eng_capture_leave,
	.work_drop = eng_work_drop,
	.old_table = eng_old_table,
	.old_drop = eng_old_drop,
	.leftovers_find = eng_leftovers_find,
	.leftovers_drop = eng_leftovers_drop,
	.state_close = eng_state_close,
	.revert_attach = eng_revert_attach,
	.revert_finish = eng_revert_finish,
	.is_data_error = pg_is_data_error,
	.proxy_bypass = eng_proxy_bypass,
	.plan_fill = eng_plan_fill,
	.monitor = &pg_monitor,
};
