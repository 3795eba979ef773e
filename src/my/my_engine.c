/*
 * my_engine.c — the MySQL/MariaDB Engine: wires the adapter's pieces into
 * the interface the core drives (src/core/engine.h), and owns the
 * session's bounds.  The strategy is my_strategy.c, osc plan my_plan.c,
 * the SQL of a run's end my_finish.c.  The state table
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
#include "osc.h" /* plan_fill, which still takes the run */
#include "xalloc.h"

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

/* osc plan changes nothing: it does not finish an interrupted swap. */
static bool eng_table_find(EngineTable *t, TableInfo *info, OscErr *e)
{
	My *my = T(t);
	if (!(my->env->plan ? my_find_table(my, e) : my_find_table_finishing(my, e)))
		return false;
	if (strcmp(my->table, MY_STATE_TABLE) == 0) {
		err_set(e, OSC_EXIT_INPUT, "%s.%s is osc's own state table; osc does not migrate it", my->db, my->table);
		return false;
	}
	snprintf(info->schema, sizeof(info->schema), "%s", my->db);
	snprintf(info->name, sizeof(info->name), "%s", my->table);
	info->rows_estimate = my->rows_estimate;
	return true;
}

static bool eng_target_primary(EngineTable *t, OscErr *e)
{
	return my_target_primary(T(t), e);
}

static bool eng_target_check(EngineTable *t, OscErr *e)
{
	return my_target_check(T(t), e);
}

static bool eng_key_find(EngineTable *t, OscErr *e)
{
	return my_find_key(T(t), e);
}

/* The lock proves that a row still "running" belongs to a run that is gone. */
static bool eng_table_lock(EngineTable *t, OscErr *e)
{
	return my_take_lock(T(t), e);
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
	My *my = T(t);
	my->resumed_swapped = strcmp(phase, "swapped") == 0;
	/* killed between the RENAME and the row's "swapped": a --revertible
	 * migration is revertible now */
	return my_state_claim(my, phase, e) && (!my->resumed_swapped || my_revert_armed(my, e));
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

/* A new migration (an in-place one too) and osc plan: the original of a
 * revertible migration and its reverse capture stay until `osc revert` or
 * `osc finish` (src/my/my_revert.c).  osc's other leftovers are
 * shadow_create's to refuse. */
static bool eng_leftovers_check(EngineTable *t, OscErr *e)
{
	return my_revert_refuse_new(T(t), "a new migration", e);
}

static bool eng_shadow_create(EngineTable *t, bool keep, OscErr *e)
{
	My *my = T(t);
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

static bool eng_capture_install(EngineTable *t, OscErr *e)
{
	return my_capture_install(T(t), e);
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
	/* a revert's swap back: a rerun knows it by this phase (my_revert.c);
	 * a --revertible one's forward swap: revertible from now on */
	if (!my_state_record_phase(my, my->reverting ? "reverted" : "swapped", &e2) ||
	    (!my->reverting && !my_revert_armed(my, &e2)))
		log_error(my->log, &e2);
	return r;
}

static bool eng_strategy_pick(EngineTable *t, Strategy *s, OscErr *e)
{
	return my_strategy_pick(T(t), s, e);
}

static bool eng_state_in_place(EngineTable *t, const char *strategy, OscErr *e)
{
	return my_state_in_place(T(t), strategy, e);
}

static bool eng_in_place(EngineTable *t, Strategy *s, OscErr *e)
{
	return my_strategy_run(T(t), s, e);
}

static bool eng_state_forget(EngineTable *t, OscErr *e)
{
	return my_state_forget(T(t), e);
}

static bool eng_state_result(EngineTable *t, OscErr *e)
{
	My *my = T(t);
	return my_state_fingerprint_new(my, my->table, e);
}

static bool eng_heartbeat_free(EngineTable *t, OscErr *e)
{
	return my_heartbeat_free(T(t), e);
}

static bool eng_heartbeat_drop(EngineTable *t, OscErr *e)
{
	return my_heartbeat_drop(T(t), e);
}

static bool eng_state_record(EngineTable *t, const char *phase, const char *outcome, const char *message,
                             int64_t rows_copied, int64_t changes_applied, OscErr *e)
{
	return my_state_record(T(t), phase, outcome, message, rows_copied, changes_applied, e);
}

static bool eng_history_read(EngineTable *t, bool latest, History *h, OscErr *e)
{
	return my_history_read(T(t), latest, h, e);
}

/* The end of a run needs the main session; a lost one is not resumed. */
static bool eng_session_ready(EngineTable *t, OscErr *e)
{
	My *my = T(t);
	if (my->main.conn != NULL && mysql_ping(my->main.conn) == 0)
		return true;
	err_set(e, OSC_EXIT_FAILED, "the connection to the database is gone; run `osc cleanup --table %s` later",
	        my->env->table_arg);
	return false;
}

static bool eng_capture_remove(EngineTable *t, OscErr *e)
{
	return my_capture_drop(T(t), e);
}

static bool eng_capture_leave(EngineTable *t, OscErr *e)
{
	return my_capture_leave(T(t), e);
}

static bool eng_swap_undo(EngineTable *t, OscErr *e)
{
	return my_swap_undo(T(t), e);
}

static bool eng_work_drop(EngineTable *t, bool shadow, OscErr *e)
{
	return my_drop_work_tables(T(t), shadow, e);
}

static void eng_old_table(EngineTable *t, OldTable *out)
{
	my_old_table(T(t), out);
}

static bool eng_old_drop(EngineTable *t, OscErr *e)
{
	return my_old_drop(T(t), e);
}

static bool eng_leftovers_find(EngineTable *t, Leftovers *lo, OscErr *e)
{
	return my_leftovers_find(T(t), lo, e);
}

static bool eng_leftovers_drop(EngineTable *t, const Leftovers *lo, char *done, size_t donesz, OscErr *e)
{
	return my_leftovers_drop(T(t), lo, done, donesz, e);
}

static bool eng_state_close(EngineTable *t, const char *outcome, const char *message, OscErr *e)
{
	return my_state_close(T(t), outcome, message, e);
}

static bool eng_revert_attach(EngineTable *t, bool finish, RevertInfo *ri, OscErr *e)
{
	return my_revert_attach(T(t), finish, ri, e);
}

static bool eng_revert_finish(EngineTable *t, bool drop_old, OscErr *e)
{
	return my_revert_finish(T(t), drop_old, e);
}

static int eng_proxy_bypass(EngineTable *t, const uint32_t *ids, int nids, char *const *mine, int nmine, char *out,
                            size_t outsz)
{
	return my_proxy_bypass(T(t), ids, nids, mine, nmine, out, outsz);
}

static bool eng_plan_fill(Osc *o, Plan *p, OscErr *e)
{
	return my_plan_fill(T(o->table), p, e);
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
	.table_find = eng_table_find,
	.target_primary = eng_target_primary,
	.target_check = eng_target_check,
	.key_find = eng_key_find,
	.table_lock = eng_table_lock,
	.leftovers_check = eng_leftovers_check,
	.shadow_create = eng_shadow_create,
	.capture_install = eng_capture_install,
	.strategy_pick = eng_strategy_pick,
	.state_in_place = eng_state_in_place,
	.in_place = eng_in_place,
	.state_forget = eng_state_forget,
	.state_result = eng_state_result,
	.heartbeat_free = eng_heartbeat_free,
	.heartbeat_drop = eng_heartbeat_drop,
	.state_record = eng_state_record,
	.history_read = eng_history_read,
	.session_ready = eng_session_ready,
	.capture_remove = eng_capture_remove,
	.capture_leave = eng_capture_leave,
	.swap_undo = eng_swap_undo,
	.work_drop = eng_work_drop,
	.old_table = eng_old_table,
	.old_drop = eng_old_drop,
	.leftovers_find = eng_leftovers_find,
	.leftovers_drop = eng_leftovers_drop,
	.state_close = eng_state_close,
	.revert_attach = eng_revert_attach,
	.revert_finish = eng_revert_finish,
	.is_data_error = my_is_data_error,
	.proxy_bypass = eng_proxy_bypass,
	.plan_fill = eng_plan_fill,
	.monitor = &my_monitor,
};
