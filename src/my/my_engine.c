/*
 * my_engine.c — the MySQL/MariaDB Engine: the session's bounds, the
 * advisory lock (GET_LOCK), abort and cleanup; the strategy (my_strategy.c)
 * and osc plan (my_plan.c) behind their hooks.  The state table
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

/* GET_LOCK is held by the session: a dead osc never blocks a rerun. */
static bool take_lock(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT GET_LOCK(%L, 0)", my->lock_name);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row && row[0] && strcmp(row[0], "1") == 0) {
		ok = true;
		goto out;
	}
	mysql_free_result(r);
	r = NULL;
	sql_reset(&q);
	sql_add(&q,
	        "SELECT p.ID, p.HOST, p.TIME FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(%L)",
	        my->lock_name);
	if (my_exec_sql(my, &q, &r, e) && (row = mysql_fetch_row(r)) != NULL)
		err_set(e, OSC_EXIT_STOPPED, "another osc run holds %s.%s (connection %s from %s, connected %ss ago)",
		        my->db, my->table, row[0], row[1] ? row[1] : "?", row[2] ? row[2] : "?");
	else
		err_set(e, OSC_EXIT_STOPPED, "another osc run holds %s.%s", my->db, my->table);
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* --alter-foreign-keys-method drop_swap drops T under the swap's lock and
 * the second connection's RENAME brings the new table in: osc killed in
 * between leaves T missing (src/my/my_swap.c).  A rerun or `osc cleanup`
 * finishes that swap: the complete new table, known by the fingerprint its
 * state row recorded, is renamed in. */
static bool finish_drop_swap(My *my, bool *done, OscErr *e)
{
	char fp[65], now[65];
	*done = false;
	if (my->db == NULL || my->table == NULL)
		return true;
	names_derive(my->shadow, sizeof(my->shadow), "", my->table, "_osc_new", MY_NAMELEN);
	if (!my_state_shadow_fp(my, fp, sizeof(fp), e))
		return false;
	if (fp[0] == '\0' || my_has_rows(my, my->shadow) < 0)
		return true;
	if (!my_fingerprint(my, my->shadow, now, sizeof(now), e))
		return false;
	if (strcmp(now, fp) != 0)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "RENAME TABLE %I.%I TO %I.%I", my->db, my->shadow, my->db, my->table);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	if (!ok)
		return false;
	log_msg(my->log, LOG_WARN,
	        "%s.%s was missing: a swap with --alter-foreign-keys-method drop_swap stopped after dropping the "
	        "original; its new table, complete, is renamed in",
	        my->db, my->table);
	free(my->db);
	free(my->table);
	my->db = my->table = NULL;
	*done = true;
	return true;
}

/* my_find_table, after finishing an interrupted drop_swap if that is why
 * the table is missing */
static bool find_table(My *my, OscErr *e)
{
	if (my_find_table(my, e))
		return true;
	bool done = false;
	OscErr e2;
	err_clear(&e2);
	if (e->exit != OSC_EXIT_INPUT || strstr(e->msg, "does not exist") == NULL || !finish_drop_swap(my, &done, &e2)) {
		if (e2.msg[0])
			log_error(my->log, &e2);
		return false;
	}
	if (!done)
		return false;
	err_clear(e);
	return my_find_table(my, e);
}

static bool eng_preflight(Osc *o, bool lock, OscErr *e)
{
	My *my = MY(o);
	o->resume = RESUME_NONE;
	/* osc plan changes nothing: it does not finish an interrupted swap */
	if (!(lock ? find_table(my, e) : my_find_table(my, e)) || !my_target_check(my, e))
		return false;
	if (strcmp(my->table, MY_STATE_TABLE) == 0) {
		err_set(e, OSC_EXIT_INPUT, "%s.%s is osc's own state table; osc does not migrate it", my->db, my->table);
		return false;
	}
	snprintf(o->info.schema, sizeof(o->info.schema), "%s", my->db);
	snprintf(o->info.name, sizeof(o->info.name), "%s", my->table);
	o->info.rows_estimate = my->rows_estimate;
	/* the lock proves that a row still "running" belongs to a run that is gone */
	return !lock || (take_lock(my, e) && my_state_resume(my, e));
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

static EngineKey *eng_resume_watermark(EngineTable *t, bool *copy_done)
{
	My *my = T(t);
	*copy_done = my->copy_done;
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

/* A resumed cleanup has not read the child tables: does a foreign key
 * reference the old table?  (In doubt, yes: it is kept.) */
static bool old_is_referenced(My *my)
{
	Sql q;
	OscErr e;
	int64_t n = 1;
	err_clear(&e);
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA = %L"
	        " AND REFERENCED_TABLE_NAME = %L AND NOT (CONSTRAINT_SCHEMA = %L AND TABLE_NAME = %L)",
	        my->db, my->old, my->db, my->old);
	if (!my_count(my, &q, &n, &e)) {
		log_error(my->log, &e);
		n = 1;
	}
	sql_free(&q);
	return n != 0;
}

static bool eng_finish(Osc *o, OscErr *e)
{
	My *my = MY(o);
	/* the capture triggers went along with the old table; the log is gone */
	if (!my_capture_drop(my, e) || !my_drop_work_tables(my, false, e))
		return false;
	if (my->nchildren > 0 && my->fk_method == MY_FK_DROP_SWAP) {
		log_msg(&o->log, LOG_INFO, "the original was dropped at the swap (--alter-foreign-keys-method drop_swap)");
	} else if (o->opt.drop_old_table && ((my->nchildren > 0 && my->fk_method == MY_FK_NONE) ||
	                                     (o->resume == RESUME_SWAPPED && old_is_referenced(my)))) {
		log_msg(&o->log, LOG_WARN, "the old table %s.%s was kept: other tables' foreign keys reference it", my->db,
		        my->old);
	} else if (o->opt.drop_old_table) {
		Sql q;
		OscErr e2;
		err_clear(&e2);
		sql_init(&q, &my->dialect);
		sql_add(&q, "DROP TABLE %I.%I", my->db, my->old);
		if (!my_exec_sql(my, &q, NULL, &e2))
			log_msg(&o->log, LOG_WARN, "the old table %s.%s was kept: %s", my->db, my->old, e2.msg);
		else
			log_msg(&o->log, LOG_INFO, "dropped the old table %s.%s", my->db, my->old);
		sql_free(&q);
	} else {
		log_msg(&o->log, LOG_INFO, "the original is kept as %s.%s (drop it when you are sure)", my->db, my->old);
	}
	return true;
}

/* Before a swap: everything osc made goes, the original stays.  When the
 * capture triggers cannot be dropped (the table's lock was not granted in
 * any attempt, each bounded by --lock-timeout), the rest still goes but the
 * change log stays, since the triggers write to it: the table keeps
 * working, and `osc cleanup` finishes later. */
static bool eng_abort(Osc *o, OscErr *e)
{
	My *my = MY(o);
	if (my == NULL || my->table == NULL)
		return true;
	if (my->main.conn == NULL || mysql_ping(my->main.conn) != 0) {
		err_set(e, OSC_EXIT_FAILED, "the connection to the database is gone; run `osc cleanup --table %s` later",
		        o->opt.table);
		return false;
	}
	OscErr ce;
	err_clear(&ce);
	bool captured_off = my_capture_drop(my, &ce);
	if (!my_triggers_home(my, e) || !my_fkeys_unpoint(my, e))
		return false;
	if (captured_off)
		return my_drop_work_tables(my, true, e);
	if (!my_drop_if_ours(my, MY_ROLE_SHADOW, e) || !my_drop_if_ours(my, MY_ROLE_HEARTBEAT, e))
		return false;
	*e = ce;
	err_wrap(e, OSC_EXIT_FAILED, "",
	         "; osc's capture triggers stay on the table and keep logging into its change log (the table works as "
	         "before): `osc cleanup` removes them once the lock can be had");
	return false;
}

/* `osc cleanup`: what an abandoned run left, and only what osc made
 * (src/my/my_owned.c): the user's triggers an interrupted swap left on the
 * shadow and children's keys it left pointing there go back to the table
 * first; a table or trigger under osc's names that osc did not make stays,
 * and is named. */
static bool eng_cleanup(Osc *o, OscErr *e)
{
	My *my = MY(o);
	MyObjects f;
	char fp[65], done[512] = "", foreign[1024] = "", trial[MY_NAMELEN + 1];
	if (!find_table(my, e) || !take_lock(my, e) || !my_state_shadow_fp(my, fp, sizeof(fp), e) ||
	    !my_objects_scan(my, fp, &f, e))
		return false;
	int captured = f.capture;
	/* a kill after the swap's last step under its lock: the RENAME may
	 * still have run (the server runs a queued statement whose client it
	 * has not yet seen go).  Then only the cleanup after a swap is left */
	bool swapped = false;
	if (fp[0] && f.table[MY_ROLE_SHADOW] == MY_ABSENT) {
		char now[65];
		if (!my_fingerprint(my, my->table, now, sizeof(now), e))
			return false;
		swapped = strcmp(now, fp) == 0;
	}
	if (swapped) {
		if (!my_capture_drop(my, e) || my_drop_ours(my, &f, false, done, sizeof(done), e) < 0 ||
		    !my_state_close(my, "done", "the swap had committed; finished by osc cleanup", e))
			return false;
		log_msg(&o->log, LOG_INFO,
		        "the swap had committed before osc stopped: %s.%s is the new table, the original is %s.%s; "
		        "removed osc's capture triggers%s%s",
		        my->db, my->table, my->db, my->old, done[0] ? ", " : "", done);
		return true;
	}
	if (f.table[MY_ROLE_SHADOW] == MY_OURS && (!my_triggers_home(my, e) || !my_fkeys_unpoint(my, e)))
		return false;
	if (!my_capture_drop(my, e) || my_drop_ours(my, &f, true, done, sizeof(done), e) < 0)
		return false;
	/* the empty trial table of an in-place strategy (my_strategy.c) has no
	 * mark: it goes only while it holds no row */
	names_derive(trial, sizeof(trial), "", my->table, "_osc_try", MY_NAMELEN);
	if (my_has_rows(my, trial) == 0) {
		if (!my_trial_drop(my, e))
			return false;
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "%sempty trial table", done[0] ? ", " : "");
	} else if (my_has_rows(my, trial) > 0) {
		log_msg(&o->log, LOG_WARN, "%s.%s has rows: it is not osc's empty trial table, and stays", my->db, trial);
	}
	if (!my_state_abandon(my, e))
		return false;
	my_objects_foreign(my, &f, foreign, sizeof(foreign));
	if (foreign[0])
		log_msg(&o->log, LOG_WARN, "left alone, not osc's: %s", foreign);
	if (captured == 0 && done[0] == '\0')
		log_msg(&o->log, LOG_INFO, "nothing of osc's to remove for %s.%s", my->db, my->table);
	else
		log_msg(&o->log, LOG_INFO, "removed osc's %s%s%s; %s.%s is untouched", captured ? "capture triggers" : "",
		        captured && done[0] ? ", " : "", done, my->db, my->table);
	return true;
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
	.resume_watermark = eng_resume_watermark,
	.preflight = eng_preflight,
	.shadow_create = eng_shadow_create,
	.capture_start = eng_capture_start,
	.finish = eng_finish,
	.abort = eng_abort,
	.cleanup = eng_cleanup,
	.strategy_pick = eng_strategy_pick,
	.strategy_run = eng_strategy_run,
	.plan_fill = eng_plan_fill,
	.estimate = eng_estimate,
	.record = eng_record,
	.history = eng_history,
	.monitor = &my_monitor,
};
