/*
 * my_engine.c — the MySQL/MariaDB Engine: the session's bounds, preflight;
 * the strategy (my_strategy.c), osc plan (my_plan.c) and the end of a run
 * (my_finish.c: finish, abort, cleanup) behind their hooks.  The state table
 * (my_state.c, in the table's database) checkpoints every chunk and keeps
 * the history: a run that stops (a signal, a kill, the window's end) leaves
 * the capture in place and the same command resumes it from the watermark;
 * a kill after the swap's RENAME committed leaves only the cleanup to the
 * rerun; a finished migration reruns as a no-op.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "my_target.h"
#include "names.h"
#include "xalloc.h"

/* The phases that still take the run find the engine's state in it. */
static My *MY(Osc *o)
{
	My *my = o->db;
	if (my)
		my->osc = o;
	return my;
}

/* The engine's opaque types are these (src/core/engine.h). */
static My *T(EngineTable *t)
{
	return (My *)t;
}

static MySession *S(EngineSession *s)
{
	return (MySession *)s;
}

static const MyKeyVal *K(const EngineKey *k)
{
	return (const MyKeyVal *)k;
}

static MyBatch *B(const EngineBatch *b)
{
	return (MyBatch *)b;
}

/* A run's session: bounded waits, autocommit, READ COMMITTED. */
static bool session_settings(MySession *s, const EngineEnv *env, OscErr *e)
{
	/* lock waits count whole seconds on the server */
	long lock_s = (long)((env->lock_timeout_ms + 999) / 1000);
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SET SESSION lock_wait_timeout = %ld, innodb_lock_wait_timeout = %ld, max_statement_time = %.3f,"
	         " autocommit = 1, foreign_key_checks = 0",
	         lock_s, lock_s, (double)env->statement_timeout_ms / 1000.0);
	if (!mys_exec(s, sql, NULL, e)) {
		/* MySQL has no max_statement_time (it has max_execution_time, for SELECT only) */
		snprintf(sql, sizeof(sql),
		         "SET SESSION lock_wait_timeout = %ld, innodb_lock_wait_timeout = %ld, autocommit = 1,"
		         " foreign_key_checks = 0",
		         lock_s, lock_s);
		if (!mys_exec(s, sql, NULL, e))
			return false;
	}
	/* foreign_key_checks is off above: osc writes only the shadow, with rows
	 * that held in the original (src/my/my_fkeys.c).  Consistent reads without
	 * locks: the copy and the replay never make the application wait */
	return mys_exec(s, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", NULL, e);
}

static bool eng_open(const EngineEnv *env, EngineTable **t, EngineSession **s, OscErr *e)
{
	My *my = xcalloc(1, sizeof(My));
	my->env = env;
	my->log = env->log;
	*t = (EngineTable *)my;
	*s = (EngineSession *)&my->main;
	my->url = my_strdup(env->url);
	return my_connect(my, env->url, e) && session_settings(&my->main, env, e);
}

static bool eng_session_open(EngineTable *t, EngineSession **s, OscErr *e)
{
	My *my = T(t);
	MySession *ns = xcalloc(1, sizeof(MySession));
	ns->env = my->env;
	ns->log = my->log;
	*s = (EngineSession *)ns;
	return mys_connect(ns, my->url, NULL, 0, e) && session_settings(ns, my->env, e);
}

static void eng_session_close(EngineSession *s)
{
	mys_disconnect(S(s));
	free(s);
}

static void free_state(My *my)
{
	free(my->db);
	free(my->url);
	free(my->table);
	free(my->key_index);
	for (int k = 0; k < my->nkeys; k++) {
		free(my->keys[k].name);
		free(my->keys[k].shadow);
		free(my->keys[k].charset);
		free(my->keys[k].type);
	}
	free(my->keys);
	my_key_value_free(my->watermark);
	for (int i = 0; i < my->ncols; i++) {
		free(my->cols[i].name);
		free(my->cols[i].source);
	}
	free(my->cols);
	free(my->deferred);
	free(my->shadow_comment);
	free(my->resume_deferred);
	my_fkeys_free(my);
	my_triggers_free(my->user_triggers, my->nuser_triggers);
	my_verify_free(my);
	free(my->plan_refusal);
	free(my->plan_blocked);
}

static void eng_close(EngineTable *t)
{
	My *my = T(t);
	if (my == NULL)
		return;
	my_disconnect(my);
	free_state(my);
	free(my);
}

static bool eng_preflight(Osc *o, bool lock, OscErr *e)
{
	My *my = MY(o);
	o->resume = RESUME_NONE;
	/* osc plan changes nothing: it does not finish an interrupted swap */
	if (!(lock ? my_find_table_finishing(my, e) : my_find_table_finishing(my, e)) || !my_target_check(my, e))
		return false;
	if (strcmp(my->table, MY_STATE_TABLE) == 0) {
		err_set(e, OSC_EXIT_INPUT, "%s.%s is osc's own state table; osc does not migrate it", my->db, my->table);
		return false;
	}
	snprintf(o->info.schema, sizeof(o->info.schema), "%s", my->db);
	snprintf(o->info.name, sizeof(o->info.name), "%s", my->table);
	o->info.rows_estimate = my->rows_estimate;
	/* the lock proves that a row still "running" belongs to a run that is gone */
	return !lock || my_take_lock(my, e);
}

static bool eng_state_read(EngineTable *t, StateRow *row, OscErr *e)
{
	return my_state_read(T(t), row, e);
}

static bool eng_state_swapped(EngineTable *t, const StateRow *row, bool *swapped, char *detail, size_t detailsz,
                              OscErr *e)
{
	return my_state_swapped(T(t), row, swapped, detail, detailsz, e);
}

static bool eng_state_attach(EngineTable *t, const StateRow *row, bool copy_done, const char **lost, OscErr *e)
{
	(void)row;
	return my_state_attach(T(t), copy_done, lost, e);
}

static bool eng_state_claim(EngineTable *t, const char *phase, OscErr *e)
{
	return my_state_claim(T(t), phase, e);
}

static void eng_state_release(EngineTable *t)
{
	T(t)->state_id = 0;
}

/* Past validation the migration gets its state row; without it, the work
 * objects just made go again. */
static bool state_row(My *my, OscErr *e)
{
	if (my_state_create(my, e))
		return true;
	OscErr e2;
	err_clear(&e2);
	if (my->created && !my_drop_work_tables(my, true, &e2))
		log_error(my->log, &e2);
	my->created = false;
	return false;
}

static bool eng_shadow_create(Osc *o, bool keep, OscErr *e)
{
	My *my = MY(o);
	if (my_shadow_create(my, keep, e))
		return !keep || state_row(my, e);
	if (!keep && my_is_lock_timeout(e)) {
		/* osc plan: someone holds the table, or waits for it (a waiting
		 * exclusive request queues every new reader); the plan says who,
		 * with what it could read without the table's metadata lock */
		free(my->plan_blocked);
		my->plan_blocked = my_strdup(e->msg);
		err_clear(e);
		return true;
	}
	if (keep || my->nchildren == 0 || my->fk_method != MY_FK_REFUSE)
		return false;
	/* osc plan: a copy refuses a table other tables' foreign keys reference
	 * without --alter-foreign-keys-method; the plan says so among its
	 * findings (an in-place strategy needs no method) and goes on as with
	 * "none" */
	free(my->plan_refusal);
	my->plan_refusal = my_strdup(e->msg);
	err_clear(e);
	my->fk_method_plan = "none";
	bool ok = my_shadow_create(my, keep, e);
	my->fk_method_plan = NULL;
	return ok;
}

static bool eng_capture_start(Osc *o, OscErr *e)
{
	return my_capture_install(MY(o), e);
}

static bool eng_begin(EngineSession *s, bool snapshot, OscErr *e)
{
	(void)snapshot; /* READ COMMITTED always: its reads take no locks (my.h) */
	return mys_begin(S(s), e);
}

static bool eng_commit(EngineSession *s, OscErr *e)
{
	return mys_commit(S(s), e);
}

static void eng_rollback(EngineSession *s)
{
	mys_rollback(S(s));
}

static bool eng_chunk_bound(EngineSession *s, EngineTable *t, const EngineKey *lo, int64_t limit, EngineKey **hi,
                            int64_t *spanned, OscErr *e)
{
	return my_chunk_bound(S(s), T(t), K(lo), limit, (MyKeyVal **)hi, spanned, e);
}

static bool eng_copy_range(EngineSession *s, EngineTable *t, const EngineKey *lo, const EngineKey *hi, int64_t *rows,
                           OscErr *e)
{
	return my_copy_range(S(s), T(t), K(lo), K(hi), rows, e);
}

static bool eng_check_range(EngineSession *s, EngineTable *t, const EngineKey *lo, const EngineKey *hi, bool *same,
                            char *why, size_t whysz, OscErr *e)
{
	return my_check_range(S(s), T(t), K(lo), K(hi), same, why, whysz, e);
}

static bool eng_shadow_trim(EngineSession *s, EngineTable *t, const EngineKey *above, int64_t *rows, OscErr *e)
{
	return my_shadow_trim(S(s), T(t), K(above), rows, e);
}

static bool eng_damage_range(EngineSession *s, EngineTable *t, const EngineKey *lo, const EngineKey *hi, OscErr *e)
{
	return my_damage_range(S(s), T(t), K(lo), K(hi), e);
}

static void eng_key_describe(const EngineKey *k, char *out, size_t outsz)
{
	my_key_value_describe(K(k), out, outsz);
}

static void eng_key_free(EngineKey *k)
{
	my_key_value_free((MyKeyVal *)k);
}

static bool eng_log_take(EngineSession *s, EngineTable *t, CopyPos pos, int64_t limit, EngineBatch **b,
                         int64_t *taken, OscErr *e)
{
	(void)pos; /* every key is taken; the merge leaves the copy's own */
	return my_log_take(S(s), T(t), limit, (MyBatch **)b, taken, e);
}

static bool eng_merge(EngineSession *s, EngineTable *t, const EngineBatch *b, const EngineBatch *extra, CopyPos pos,
                      OscErr *e)
{
	return my_merge(S(s), T(t), B(b), B(extra), K(pos.watermark), pos.done, e);
}

static bool eng_log_consume(EngineSession *s, EngineTable *t, const EngineBatch *b, OscErr *e)
{
	return my_log_consume(S(s), T(t), B(b), e);
}

static bool eng_check_batch(EngineSession *s, EngineTable *t, const EngineBatch *b, CopyPos pos, bool *same,
                            char *why, size_t whysz, OscErr *e)
{
	/* nothing merged before the copy reached a key */
	if (!pos.done && pos.watermark == NULL) {
		*same = true;
		return true;
	}
	return my_check_batch(S(s), T(t), B(b), pos.done ? NULL : K(pos.watermark), same, why, whysz, e);
}

/* MySQL's reads are READ COMMITTED, not one snapshot: the rows that collide
 * are found by what they collide with (my_conflict.c) and returned for the
 * core to merge with the write. */
static bool eng_merge_stale(EngineSession *s, EngineTable *t, const EngineScope *scope, CopyPos pos,
                            EngineBatch **more, int64_t *found, int64_t *consumed, OscErr *e)
{
	*consumed = 0;
	return my_stale_keys(S(s), T(t), K(scope->lo), K(scope->hi), B(scope->batch), B(scope->extra), K(pos.watermark),
	                     pos.done, (MyBatch **)more, found, e);
}

static void eng_batch_join(EngineBatch *into, EngineBatch *more)
{
	my_batch_join(B(into), B(more));
}

static void eng_batch_free(EngineBatch *b)
{
	my_batch_free(B(b));
}

static bool eng_backlog(EngineSession *s, EngineTable *t, int64_t *n, OscErr *e)
{
	return my_backlog(S(s), T(t), n, e);
}

static bool eng_state_checkpoint(EngineSession *s, EngineTable *t, const EngineKey *wm, int64_t rows, int64_t applied,
                                 OscErr *e)
{
	return my_state_checkpoint(S(s), T(t), K(wm), rows, applied, e);
}

static EngineKey *eng_resume_watermark(EngineTable *t)
{
	My *my = T(t);
	EngineKey *k = (EngineKey *)my->watermark;
	my->watermark = NULL; /* the core's now */
	return k;
}

static bool eng_index_build(EngineSession *s, EngineTable *t, char *what, size_t whatsz, OscErr *e)
{
	(void)s;
	return my_index_build(T(t), what, whatsz, e);
}

/* The indexes are built: the foreign keys, then the shadow is complete:
 * its fingerprint is the one the table's name will carry after the swap,
 * which is how a rerun recognises a swap that committed before the state
 * row could say so (my_state.c). */
static bool eng_shadow_complete(EngineSession *s, EngineTable *t, OscErr *e)
{
	My *my = T(t);
	(void)s;
	return my_fkeys_add(my, e) && my_keyidx_settle(my, e) && my_state_fingerprint_new(my, my->shadow, e);
}

static SwapResult eng_swap(EngineSession *s, EngineTable *t, const SwapDrain *drain, OscErr *e)
{
	My *my = T(t);
	(void)s;
	SwapResult r = my_swap(my, drain, e);
	if (r != SWAP_DONE)
		return r;
	/* the RENAME committed on the swap's second connection: the row says
	 * so now (a rerun after a kill right here decides from the catalog) */
	fault_pause(my->log, "swap-renamed");
	OscErr e2;
	err_clear(&e2);
	if (!my_state_record(my, "swapped", NULL, NULL, &e2))
		log_error(my->log, &e2);
	return r;
}

static bool eng_plan_fill(Osc *o, Plan *p, OscErr *e)
{
	return my_plan_fill(MY(o), p, e);
}

static bool eng_strategy_pick(Osc *o, Strategy *s, OscErr *e)
{
	return my_strategy_pick(MY(o), s, e);
}

static bool eng_strategy_run(Osc *o, Strategy *s, OscErr *e)
{
	My *my = MY(o);
	if (!my_state_in_place(my, strategy_name(s->kind), e))
		return false;
	if (!my_strategy_run(my, s, e))
		return false;
	/* refused by the server before it changed anything: the copy makes a
	 * row of its own */
	if (s->kind == STRAT_COPY)
		return my_state_forget(my, e);
	return my_state_fingerprint_new(my, my->table, e);
}

static int64_t eng_estimate(Osc *o)
{
	return MY(o)->rows_estimate;
}

static bool eng_record(Osc *o, const char *phase, const char *outcome, const char *message, OscErr *e)
{
	My *my = MY(o);
	return my == NULL || my_state_record(my, phase, outcome, message, e);
}

static bool eng_history(Osc *o, bool latest, OscErr *e)
{
	My *my = MY(o);
	if (o->target.schema[0]) {
		my->db = my_strdup(o->target.schema);
	} else {
		MYSQL_RES *r = NULL;
		if (!my_exec(my, "SELECT DATABASE()", &r, e))
			return false;
		MYSQL_ROW row = mysql_fetch_row(r);
		if (row && row[0])
			my->db = my_strdup(row[0]);
		mysql_free_result(r);
		if (my->db == NULL) {
			err_set(e, OSC_EXIT_INPUT, "no database: name it in --database (mysql://host/db) or as --table db.table");
			return false;
		}
	}
	return my_state_history(my, o->target.table[0] ? o->target.table : NULL, latest, e);
}

const Engine my_engine = {
	.name = "mysql",
	.open = eng_open,
	.session_open = eng_session_open,
	.session_close = eng_session_close,
	.close = eng_close,
	.is_lock_timeout = my_is_lock_refused,
	.is_duplicate_key = my_is_duplicate,
	.is_connection_lost = my_is_connection_lost,
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
	.log_consume = eng_log_consume,
	.check_batch = eng_check_batch,
	.merge_stale = eng_merge_stale,
	.batch_join = eng_batch_join,
	.batch_free = eng_batch_free,
	.backlog = eng_backlog,
	.state_checkpoint = eng_state_checkpoint,
	.index_build = eng_index_build,
	.shadow_complete = eng_shadow_complete,
	.swap = eng_swap,
	.state_read = eng_state_read,
	.state_swapped = eng_state_swapped,
	.state_attach = eng_state_attach,
	.state_claim = eng_state_claim,
	.state_release = eng_state_release,
	.resume_watermark = eng_resume_watermark,
	.preflight = eng_preflight,
	.shadow_create = eng_shadow_create,
	.capture_start = eng_capture_start,
	.finish = my_finish,
	.abort = my_abort,
	.cleanup = my_cleanup,
	.strategy_pick = eng_strategy_pick,
	.strategy_run = eng_strategy_run,
	.plan_fill = eng_plan_fill,
	.estimate = eng_estimate,
	.record = eng_record,
	.history = eng_history,
	.monitor = &my_monitor,
};
