/*
 * migrate.c — the pipeline, engine-neutral (DESIGN.md "The pipeline").
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
#include <time.h>

#include "chunk.h"
#include "cutover.h"
#include "duration.h"
#include "fault.h"
#include "hooks.h"
#include "lag.h"
#include "proxy_hold.h"
#include "window.h"
#include "osc.h"

bool osc_sleep_ms(Osc *o, int64_t ms)
{
	int64_t end = now_ms() + ms;
	while (!*o->stop) {
		int64_t left = end - now_ms();
		if (left <= 0)
			return true;
		if (left > 50)
			left = 50;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)left * 1000000L };
		nanosleep(&ts, NULL);
	}
	return false;
}

void osc_verify_summary(Osc *o, int64_t chunks, int64_t batches, int64_t recopied)
{
	if (o->opt.verify == VERIFY_NONE)
		return;
	summary_verified(o, chunks, batches);
	log_msg(&o->log, LOG_INFO,
	        "verified (%s): %lld chunks and %lld merged batches (the last ones under the swap's lock) equal the "
	        "original; %lld re-copied after a difference",
	        o->opt.verify == VERIFY_CHECKSUM ? "checksum" : "count", (long long)chunks, (long long)batches,
	        (long long)recopied);
}

static void phase(Osc *o, const char *name, const char *what)
{
	o->progress.phase = name;
	o->progress.phase_started_ms = now_ms();
	summary_phase(o, name);
	log_phase(&o->log, name, what);
	control_publish(o);
}

/* The control loop and the monitor stop with the run, whatever its end. */
static OscExit finish_run(Osc *o, OscExit rc)
{
	lag_stop(o);
	control_stop(o);
	return rc;
}

bool osc_may_continue(Osc *o, int64_t need_ms, OscErr *e)
{
	int64_t to_end, to_start;

	if (*o->stop) {
		err_set(e, OSC_EXIT_STOPPED, "interrupted by a signal");
		return false;
	}
	if (control_aborted(o, e))
		return false;
	if (o->opt.max_runtime_ms > 0 && now_ms() - o->started_ms > o->opt.max_runtime_ms) {
		err_set(e, OSC_EXIT_FAILED, "--max-runtime exceeded");
		return false;
	}
	if (!o->opt.window.set)
		return true;
	for (;;) {
		bool inside = window_inside_now(&o->opt.window, &to_end, &to_start);
		if (inside && to_end * 1000 >= need_ms)
			return true;
		if (!o->opt.window_wait) {
			char buf[64];
			if (inside) {
				err_set(e, OSC_EXIT_STOPPED,
				        "the window closes in %lds, too soon to go on; stopped, rerun in the next window to resume",
				        (long)to_end);
			} else {
				duration_format(buf, sizeof(buf), to_start * 1000);
				err_set(e, OSC_EXIT_STOPPED, "outside the window: it opens in %s; stopped, rerun to resume", buf);
			}
			return false;
		}
		int64_t wait = inside ? to_end + 1 : to_start;
		char buf[64];
		duration_format(buf, sizeof(buf), wait * 1000);
		log_msg(&o->log, LOG_INFO, "outside the window: waiting %s for it to open", buf);
		if (!osc_sleep_ms(o, wait * 1000 + 200)) {
			err_set(e, OSC_EXIT_STOPPED, "interrupted by a signal");
			return false;
		}
	}
}

static void update_rates(Osc *o, int64_t copy_started_ms, int64_t rows_at_start)
{
	Progress *p = &o->progress;
	double secs = (double)(now_ms() - copy_started_ms) / 1000.0;
	p->rows_per_sec = secs > 0.2 ? (double)(p->rows_copied - rows_at_start) / secs : 0;
	if (p->rows_per_sec > 0 && p->rows_estimate > p->rows_copied)
		p->eta_ms = (int64_t)((double)(p->rows_estimate - p->rows_copied) / p->rows_per_sec * 1000.0);
	else
		p->eta_ms = p->rows_per_sec > 0 ? 0 : -1;
}

static bool copy_phase(Osc *o, OscErr *e)
{
	ChunkSizer cs;
	bool done = false;
	int64_t started = now_ms(), last_backlog = 0, rows_at_start = o->progress.rows_copied;

	chunk_init(&cs, o->opt.chunk_size, 10, o->opt.chunk_size_max, o->opt.chunk_time_ms);
	while (!done) {
		int64_t rows, t0;
		if (!osc_may_continue(o, 0, e) || !control_gate(o, e))
			return false;
		/* osc set may have changed the target or the bound */
		control_chunk_limits(o, &cs.target_ms, &cs.max);
		if (cs.size > cs.max)
			cs.size = cs.max;
		t0 = now_us();
		if (!o->engine->copy_chunk(o, cs.size, &rows, &done, e))
			return false;
		int64_t took_us = now_us() - t0;
		fault_point(o, "chunk"); /* tests: a slow chunk cycle, unseen by the sizer */
		if (!done)
			chunk_observe(&cs, rows, took_us);
		o->progress.rows_copied += rows;
		o->progress.chunk_size = cs.size;
		if (o->progress.rows_copied > o->progress.rows_estimate)
			o->progress.rows_estimate = o->progress.rows_copied;
		/* the replayer's turn: about as long as the chunk took */
		int64_t applied = 0;
		int64_t budget = took_us / 1000 < 50 ? 50 : took_us / 1000;
		if (!cutover_catch_up(o, 1000, budget, &applied, e))
			return false;
		if (now_ms() - last_backlog > 1000 || done) {
			if (!o->engine->backlog(o, &o->progress.log_backlog, e))
				return false;
			last_backlog = now_ms();
		}
		update_rates(o, started, rows_at_start);
		control_publish(o);
		log_progress(&o->log, &o->progress, done);
	}
	return true;
}

static bool record(Osc *o, const char *phase_name, const char *outcome, const char *message, OscErr *e)
{
	return o->engine->record(o, phase_name, outcome, message, e);
}

/* Enters a phase and says so, in the log and in the state table. */
static bool enter(Osc *o, const char *name, const char *what, OscErr *e)
{
	phase(o, name, what);
	return record(o, name, "running", NULL, e);
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
	phase(o, "in-place", msg);
	/* paused (operator, --pause-file), over --max-load or a replica over
	 * --max-lag: wait before the statements, which cannot be paused once
	 * sent.  No heartbeat here (an in-place run makes no work objects): the
	 * lag is the one the primary reports (PostgreSQL's replay_lag) */
	control_gate_reported_lag(o, true);
	bool gated = control_gate(o, &e);
	if (gated)
		control_gate_reported_lag(o, false); /* nothing to pause once sent */
	bool ran = gated && o->engine->strategy_run(o, st, &e);
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
		if (!record(o, NULL, "failed", e.msg, &e2))
			log_error(&o->log, &e2);
		o->engine->close(o);
		if (e.exit == OSC_EXIT_FAILED || e.exit == OSC_EXIT_INPUT)
			hooks_run(o, o->opt.on_failure, "failure", e.exit, e.msg);
		*rc = finish_run(o, e.exit);
		return true;
	}
	char took[32];
	duration_format(took, sizeof(took), now_ms() - o->started_ms);
	snprintf(msg, sizeof(msg), "migration complete: applied in place (%s), no copy, in %s", strategy_name(st->kind),
	         took);
	phase(o, "done", msg);
	if (!record(o, "done", "done", msg, &e))
		log_error(&o->log, &e);
	o->engine->close(o);
	hooks_run(o, o->opt.on_success, "success", OSC_EXIT_OK, msg);
	*rc = finish_run(o, OSC_EXIT_OK);
	return true;
}

OscExit migrate_run(Osc *o)
{
	OscErr e;
	bool created = false, swapped = false;
	char msg[sizeof(e.msg)];

	err_clear(&e);
	o->started_ms = now_ms();
	phase(o, "preflight", "checking the table, its key and the ALTER");
	if (!o->engine->open(o, &e) || !o->engine->preflight(o, true, &e))
		goto fail;
	if (o->resume == RESUME_DONE) {
		o->engine->close(o);
		return OSC_EXIT_OK;
	}
	o->progress.rows_estimate = o->engine->estimate(o);
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
		if (!o->engine->strategy_pick(o, &st, &e))
			goto fail;
		log_msg(&o->log, LOG_INFO, "strategy: %s: %s", strategy_name(st.kind), st.why);
		OscExit rc;
		if (st.kind != STRAT_COPY && in_place(o, &st, &rc))
			return rc;
	}
	if (o->resume == RESUME_NONE) {
		phase(o, "shadow", "building the new table with the ALTER applied");
		if (!o->engine->shadow_create(o, true, &e))
			goto fail;
		created = true;
		phase(o, "capture", "installing the change-capture trigger");
		if (!o->engine->capture_start(o, &e))
			goto fail;
		lag_arm(o);
	}
	if (o->resume <= RESUME_COPY) {
		snprintf(msg, sizeof(msg), "copying about %lld rows in chunks of about %ldms",
		         (long long)(o->progress.rows_estimate - o->progress.rows_copied), (long)o->opt.chunk_time_ms);
		phase(o, "copy", msg);
		if (!copy_phase(o, &e))
			goto fail;
	}
	if (!swapped) {
		if (!osc_may_continue(o, 0, &e) ||
		    !enter(o, "index", "building secondary indexes and constraints on the new table", &e) ||
		    !o->engine->finish_shadow(o, &e))
			goto fail;
		int64_t applied = 0;
		if (!osc_may_continue(o, 0, &e) || !enter(o, "catch-up", "applying the changes captured meanwhile", &e) ||
		    !cutover_catch_up(o, 5000, 600000, &applied, &e))
			goto fail;
		if (!enter(o, "cutover", "swapping the tables", &e) || !cutover_run(o, &e))
			goto fail;
		swapped = true;
		fault_point(o, "swap-committed");
		hooks_run(o, o->opt.on_cutover, "cutover", OSC_EXIT_OK, "the swap committed");
	}

	lag_stop(o); /* its heartbeat goes with the work objects */
	phase(o, "cleanup", "removing the capture objects");
	if (!o->engine->finish(o, &e)) {
		log_error(&o->log, &e);
		log_msg(&o->log, LOG_WARN, "the migration is done, but cleanup failed: run `osc cleanup --table %s`",
		        o->opt.table);
	}
	char took[32];
	duration_format(took, sizeof(took), now_ms() - o->started_ms);
	snprintf(msg, sizeof(msg), "migration complete: %lld rows copied (%lld in this run), %lld changes replayed, in %s",
	         (long long)o->progress.rows_copied, (long long)(o->progress.rows_copied - o->rows_before),
	         (long long)o->progress.log_applied, took);
	phase(o, "done", msg);
	err_clear(&e);
	if (!record(o, "done", "done", msg, &e))
		log_error(&o->log, &e);
	o->engine->close(o);
	hooks_run(o, o->opt.on_success, "success", OSC_EXIT_OK, msg);
	return finish_run(o, OSC_EXIT_OK);

fail:
	lag_stop(o);
	log_error(&o->log, &e);
	summary_failed(o, &e);
	snprintf(msg, sizeof(msg), "%s", e.msg);
	if (e.exit == OSC_EXIT_OK)
		e.exit = OSC_EXIT_FAILED;
	if (created && !swapped && e.exit == OSC_EXIT_STOPPED && *o->stop < 2) {
		/* stopped, not failed: the capture stays, a rerun resumes */
		OscErr e2;
		err_clear(&e2);
		if (!record(o, NULL, "stopped", msg, &e2))
			log_error(&o->log, &e2);
		log_msg(&o->log, LOG_INFO,
		        "stopped; the original is intact and changes are still captured: rerun the same command to resume, "
		        "or `osc cleanup --table %s` to give up",
		        o->opt.table);
		o->engine->close(o);
		return finish_run(o, OSC_EXIT_STOPPED);
	}
	if (created && !swapped) {
		OscErr e2;
		err_clear(&e2);
		phase(o, "abort", "removing what osc created; the original stays as it is");
		if (!record(o, NULL, "failed", msg, &e2))
			log_error(&o->log, &e2);
		err_clear(&e2);
		if (!o->engine->abort(o, &e2)) {
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
	o->engine->close(o);
	if (e.exit == OSC_EXIT_FAILED || e.exit == OSC_EXIT_INPUT)
		hooks_run(o, o->opt.on_failure, "failure", e.exit, msg);
	return finish_run(o, e.exit);
}

OscExit migrate_plan(Osc *o)
{
	OscErr e;
	err_clear(&e);
	if (!o->engine->open(o, &e) || !o->engine->preflight(o, false, &e) ||
	    !o->engine->shadow_create(o, false, &e)) {
		log_error(&o->log, &e);
		o->engine->close(o);
		return e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
	}
	Plan p;
	plan_init(&p);
	if (!o->engine->plan_fill(o, &p, &e)) {
		plan_free(&p);
		log_error(&o->log, &e);
		o->engine->close(o);
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
	o->engine->close(o);
	return rc;
}

OscExit migrate_history(Osc *o, bool latest)
{
	OscErr e;
	err_clear(&e);
	if (!o->engine->open(o, &e) || !o->engine->history(o, latest, &e)) {
		log_error(&o->log, &e);
		o->engine->close(o);
		return e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
	}
	o->engine->close(o);
	return OSC_EXIT_OK;
}

OscExit migrate_cleanup(Osc *o)
{
	OscErr e;
	err_clear(&e);
	if (!o->engine->open(o, &e) || !o->engine->cleanup(o, &e)) {
		log_error(&o->log, &e);
		o->engine->close(o);
		return e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
	}
	o->engine->close(o);
	return OSC_EXIT_OK;
}
