/*
 * migrate.c — the pipeline, engine-neutral (docs/ARCHITECTURE.md "The pipeline").
 *
 *   preflight -> shadow -> capture -> copy <-> replay -> indexes -> catch-up
 *   -> cutover -> cleanup
 *
 * Copy and replay take turns on one connection: after each chunk, the
 * replayer gets about as much time as the chunk took, so the backlog stays
 * small and a chunk's snapshot never straddles a merge.  Anything that fails
 * after the shadow exists runs the engine's abort, which removes what osc
 * made and leaves the original as it was; only then does main exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "copy.h"
#include "cutover.h"
#include "duration.h"
#include "fault.h"
#include "history.h"
#include "hooks.h"
#include "indexes.h"
#include "inplace.h"
#include "lag.h"
#include "preflight.h"
#include "proxy_hold.h"
#include "replay.h"
#include "resume.h"
#include "migrate_int.h"
#include "osc.h"

void mig_phase(Osc *o, const char *name, const char *what)
{
	o->progress.phase = name;
	o->progress.phase_started_ms = now_ms();
	summary_phase(o, name);
	log_phase(&o->log, name, what);
	control_publish(o);
}

/* The control loop and the monitor stop with the run, whatever its end. */
OscExit mig_finish(Osc *o, OscExit rc)
{
	lag_stop(o);
	control_stop(o);
	return rc;
}

/* The engine's main session and table description. */
bool mig_open(Osc *o, OscErr *e)
{
	return o->engine->open(&o->env, &o->table, &o->session, e);
}

void mig_close(Osc *o)
{
	copy_free(o);
	if (o->table)
		o->engine->close(o->table);
	o->table = NULL;
	o->session = NULL;
}

/* The state row says where the run stands, with the counters. */
bool mig_record(Osc *o, const char *phase_name, const char *outcome, const char *message, OscErr *e)
{
	return o->engine->state_record(o->table, phase_name, outcome, message, o->progress.rows_copied,
	                               o->progress.log_applied, e);
}

/* Enters a phase and says so, in the log and in the state table. */
bool mig_enter(Osc *o, const char *name, const char *what, OscErr *e)
{
	mig_phase(o, name, what);
	return mig_record(o, name, "running", NULL, e);
}

/* The ALTER applied in place (src/core/strategy.h): no shadow, no capture, no
 * swap; what a failure leaves is removed by the engine itself.  false: the
 * engine turned *st into the shadow copy (the server refused the strategy
 * on the table itself, nothing changed) and the caller goes on with it. */
static bool in_place(Osc *o, Strategy *st, OscExit *rc)
{
	OscErr e;
	char msg[sizeof(e.msg)];

	err_clear(&e);
	snprintf(msg, sizeof(msg), "applying the ALTER in place (%s)", strategy_name(st->kind));
	mig_phase(o, "in-place", msg);
	bool ran = inplace_apply(o, st, &e);
	if (ran && st->kind == STRAT_COPY) {
		log_msg(&o->log, LOG_INFO, "strategy: %s: %s", strategy_name(st->kind), st->why);
		return false;
	}
	if (!ran) {
		log_error(&o->log, &e);
		summary_failed(o, &e);
		if (e.exit == OSC_EXIT_OK)
			e.exit = OSC_EXIT_FAILED;
		OscErr e2;
		if (!mig_record(o, NULL, "failed", e.msg, &e2))
			log_error(&o->log, &e2);
		mig_close(o);
		if (e.exit == OSC_EXIT_FAILED || e.exit == OSC_EXIT_INPUT)
			hooks_run(o, o->opt.on_failure, "failure", e.exit, e.msg);
		*rc = mig_finish(o, e.exit);
		return true;
	}
	char took[32];
	duration_format(took, sizeof(took), now_ms() - o->started_ms);
	snprintf(msg, sizeof(msg), "migration complete: applied in place (%s), no copy, in %s", strategy_name(st->kind),
	         took);
	mig_phase(o, "done", msg);
	if (!mig_record(o, "done", "done", msg, &e))
		log_error(&o->log, &e);
	mig_close(o);
	hooks_run(o, o->opt.on_success, "success", OSC_EXIT_OK, msg);
	*rc = mig_finish(o, OSC_EXIT_OK);
	return true;
}

/* After the swap: the engine's cleanup, the summary, the hooks. */
static OscExit run_done(Osc *o)
{
	OscErr e;
	char msg[sizeof(e.msg)];

	err_clear(&e);
	lag_stop(o); /* its heartbeat goes with the work objects */
	mig_phase(o, "cleanup", "removing the capture objects");
	if (!cleanup_after_swap(o, &e)) {
		log_error(&o->log, &e);
		log_msg(&o->log, LOG_WARN, "the migration is done, but cleanup failed: run `osc cleanup --table %s`",
		        o->opt.table);
	}
	char took[32];
	duration_format(took, sizeof(took), now_ms() - o->started_ms);
	snprintf(msg, sizeof(msg), "migration complete: %lld rows copied (%lld in this run), %lld changes replayed, in %s",
	         (long long)o->progress.rows_copied, (long long)(o->progress.rows_copied - o->rows_before),
	         (long long)o->progress.log_applied, took);
	mig_phase(o, "done", msg);
	err_clear(&e);
	if (!mig_record(o, "done", "done", msg, &e))
		log_error(&o->log, &e);
	mig_close(o);
	hooks_run(o, o->opt.on_success, "success", OSC_EXIT_OK, msg);
	return mig_finish(o, OSC_EXIT_OK);
}

/* A run that failed or stopped: before the swap, the original stays as it
 * was (a stop keeps the capture for a rerun; anything else removes what osc
 * made); after it, the migration stands. */
static OscExit run_failed(Osc *o, OscErr *err, bool created, bool swapped)
{
	OscErr e = *err;
	char msg[sizeof(e.msg)];

	lag_stop(o);
	o->retry.gate = NULL; /* the abort's own retries stop only on a signal */
	log_error(&o->log, &e);
	summary_failed(o, &e);
	snprintf(msg, sizeof(msg), "%s", e.msg);
	if (e.exit == OSC_EXIT_OK)
		e.exit = OSC_EXIT_FAILED;
	if (created && !swapped && e.exit == OSC_EXIT_STOPPED && *o->stop < 2) {
		/* stopped, not failed: the capture stays, a rerun resumes */
		OscErr e2;
		err_clear(&e2);
		if (!mig_record(o, NULL, "stopped", msg, &e2))
			log_error(&o->log, &e2);
		log_msg(&o->log, LOG_INFO,
		        "stopped; the original is intact and changes are still captured: rerun the same command to resume, "
		        "or `osc cleanup --table %s` to give up",
		        o->opt.table);
		mig_close(o);
		return mig_finish(o, OSC_EXIT_STOPPED);
	}
	if (created && !swapped) {
		OscErr e2;
		err_clear(&e2);
		mig_phase(o, "abort", "removing what osc created; the original stays as it is");
		if (!mig_record(o, NULL, "failed", msg, &e2))
			log_error(&o->log, &e2);
		err_clear(&e2);
		if (!cleanup_abort(o, &e2)) {
			log_error(&o->log, &e2);
			log_msg(&o->log, LOG_ERROR,
			        "could not remove osc's objects; the original is intact; run `osc cleanup --table %s`",
			        o->opt.table);
		} else {
			log_msg(&o->log, LOG_INFO, "aborted: the original table is untouched and osc's objects are removed");
		}
		if (e.exit == OSC_EXIT_INPUT || e.exit == OSC_EXIT_STOPPED)
			e.exit = OSC_EXIT_FAILED;
	} else if (swapped) {
		/* after the swap only the cleanup can fail: the migration stands */
		log_msg(&o->log, LOG_WARN, "the new table is in place; run `osc cleanup --table %s` to finish tidying",
		        o->opt.table);
	}
	mig_close(o);
	if (e.exit == OSC_EXIT_FAILED || e.exit == OSC_EXIT_INPUT)
		hooks_run(o, o->opt.on_failure, "failure", e.exit, msg);
	return mig_finish(o, e.exit);
}

OscExit migrate_run(Osc *o)
{
	OscErr e;
	bool created = false, swapped = false;
	char msg[sizeof(e.msg)];

	err_clear(&e);
	o->started_ms = now_ms();
	run_init(o);
	mig_phase(o, "preflight", "checking the table, its key and the ALTER");
	if (!mig_open(o, &e) || !preflight_run(o, true, &e) || !resume_decide(o, &e))
		goto fail;
	if (o->resume == RESUME_DONE) {
		mig_close(o);
		return OSC_EXIT_OK;
	}
	o->progress.rows_estimate = o->info.rows_estimate;
	if (o->progress.rows_estimate < o->progress.rows_copied)
		o->progress.rows_estimate = o->progress.rows_copied;
	o->progress.eta_ms = -1;
	o->progress.lag_ms = -1;
	created = o->resume != RESUME_NONE;
	swapped = o->resume == RESUME_SWAPPED;

	/* the socket, the flag files and the monitor: before anything is made,
	 * so that a bad --max-load metric or socket path changes nothing */
	if (!swapped && (!proxy_hold_check(o, &e) || !control_start(o, &e) || !lag_start(o, &e)))
		goto fail;
	if (created)
		lag_arm(o);

	if (!swapped && !osc_may_continue(o, 0, &e))
		goto fail;
	if (o->resume == RESUME_NONE && o->engine->strategy_pick) {
		Strategy st;
		if (!o->engine->strategy_pick(o->table, &st, &e))
			goto fail;
		log_msg(&o->log, LOG_INFO, "strategy: %s: %s", strategy_name(st.kind), st.why);
		OscExit rc;
		if (st.kind != STRAT_COPY && in_place(o, &st, &rc))
			return rc;
		/* the server refused the in-place way: the copy needs the monitor,
		 * which MySQL's wait before its ALTER stopped */
		if (!o->ctl.monitor_started && !lag_start(o, &e))
			goto fail;
	}
	if (o->resume == RESUME_NONE) {
		mig_phase(o, "shadow", "building the new table with the ALTER applied");
		if (!o->engine->shadow_create(o->table, true, &e))
			goto fail;
		created = true;
		mig_phase(o, "capture", "installing the change-capture trigger");
		if (!o->engine->capture_install(o->table, &e))
			goto fail;
		lag_arm(o);
	}
	if (o->resume <= RESUME_COPY) {
		snprintf(msg, sizeof(msg), "copying about %lld rows in chunks of about %ldms",
		         (long long)(o->progress.rows_estimate - o->progress.rows_copied), (long)o->opt.chunk_time_ms);
		mig_phase(o, "copy", msg);
		if (!copy_run(o, &e))
			goto fail;
	}
	if (!swapped) {
		if (!osc_may_continue(o, 0, &e) ||
		    !mig_enter(o, "index", "building secondary indexes and constraints on the new table", &e) ||
		    !indexes_build(o, &e))
			goto fail;
		int64_t applied = 0;
		if (!osc_may_continue(o, 0, &e) || !mig_enter(o, "catch-up", "applying the changes captured meanwhile", &e) ||
		    !replay_catch_up(o, 5000, 600000, &applied, &e))
			goto fail;
		if (!mig_enter(o, "cutover", "swapping the tables", &e) || !cutover_run(o, &e))
			goto fail;
		swapped = true;
		o->retry.gate = NULL; /* nothing stops the cleanup after a swap */
		fault_point(o, "swap-committed");
		hooks_run(o, o->opt.on_cutover, "cutover", OSC_EXIT_OK, "the swap committed");
	}

	return run_done(o);

fail:
	return run_failed(o, &e, created, swapped);
}

OscExit migrate_plan(Osc *o)
{
	OscErr e;
	err_clear(&e);
	run_init(o);
	o->retry.gate = NULL;
	if (!mig_open(o, &e) || !preflight_run(o, false, &e) || !o->engine->shadow_create(o->table, false, &e)) {
		log_error(&o->log, &e);
		mig_close(o);
		return e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
	}
	Plan p;
	plan_init(&p);
	p.revertible = o->opt.revertible;
	if (!o->engine->plan_fill(o, &p, &e)) {
		plan_free(&p);
		log_error(&o->log, &e);
		mig_close(o);
		return e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
	}
	proxy_hold_plan(o, &p);
	if (o->opt.plan_json) {
		plan_print_json(&p, stdout);
	} else {
		plan_print_text(&p, stdout);
		printf("plan only: nothing was changed\n");
	}
	OscExit rc = plan_exit(&p, o->opt.plan_fail_on);
	plan_free(&p);
	mig_close(o);
	return rc;
}

OscExit migrate_history(Osc *o, bool latest)
{
	OscErr e;
	err_clear(&e);
	run_init(o);
	o->retry.gate = NULL;
	History h = { 0 };
	if (!mig_open(o, &e) || !o->engine->history_read(o->table, latest, &h, &e)) {
		history_free(&h);
		log_error(&o->log, &e);
		mig_close(o);
		return e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
	}
	history_print(&h, o->log.json, latest, o->target.table[0] ? o->target.table : NULL);
	history_free(&h);
	mig_close(o);
	return OSC_EXIT_OK;
}

OscExit migrate_cleanup(Osc *o)
{
	OscErr e;
	err_clear(&e);
	run_init(o);
	o->retry.gate = NULL;
	if (!mig_open(o, &e) || !cleanup_leftovers(o, &e)) {
		log_error(&o->log, &e);
		mig_close(o);
		return e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
	}
	mig_close(o);
	return OSC_EXIT_OK;
}
