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

static void phase(Osc *o, const char *name, const char *what)
{
	o->progress.phase = name;
	o->progress.phase_started_ms = now_ms();
	log_phase(&o->log, name, what);
}

static bool check_limits(Osc *o, OscErr *e)
{
	if (*o->stop) {
		err_set(e, OSC_EXIT_FAILED, "interrupted by a signal");
		return false;
	}
	if (o->opt.max_runtime_ms > 0 && now_ms() - o->started_ms > o->opt.max_runtime_ms) {
		err_set(e, OSC_EXIT_FAILED, "--max-runtime exceeded");
		return false;
	}
	return true;
}

static void update_rates(Osc *o, int64_t copy_started_ms)
{
	Progress *p = &o->progress;
	double secs = (double)(now_ms() - copy_started_ms) / 1000.0;
	p->rows_per_sec = secs > 0.2 ? (double)p->rows_copied / secs : 0;
	if (p->rows_per_sec > 0 && p->rows_estimate > p->rows_copied)
		p->eta_ms = (int64_t)((double)(p->rows_estimate - p->rows_copied) / p->rows_per_sec * 1000.0);
	else
		p->eta_ms = p->rows_per_sec > 0 ? 0 : -1;
}

static bool copy_phase(Osc *o, OscErr *e)
{
	ChunkSizer cs;
	bool done = false;
	int64_t started = now_ms(), last_backlog = 0;

	chunk_init(&cs, o->opt.chunk_size, 10, o->opt.chunk_size_max, o->opt.chunk_time_ms);
	while (!done) {
		int64_t rows, t0 = now_us();
		if (!check_limits(o, e))
			return false;
		if (!o->engine->copy_chunk(o, cs.size, &rows, &done, e))
			return false;
		int64_t took_us = now_us() - t0;
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
		update_rates(o, started);
		log_progress(&o->log, &o->progress, done);
	}
	return true;
}

OscExit migrate_run(Osc *o)
{
	OscErr e;
	bool created = false;
	char msg[256];

	err_clear(&e);
	o->started_ms = now_ms();
	phase(o, "preflight", "checking the table, its key and the ALTER");
	if (!o->engine->open(o, &e) || !o->engine->preflight(o, true, &e))
		goto fail;
	o->progress.rows_estimate = o->engine->estimate(o);
	o->progress.eta_ms = -1;

	phase(o, "shadow", "building the new table with the ALTER applied");
	if (!o->engine->shadow_create(o, true, &e))
		goto fail;
	created = true;

	phase(o, "capture", "installing the change-capture trigger");
	if (!o->engine->capture_start(o, &e))
		goto fail;

	snprintf(msg, sizeof(msg), "copying about %lld rows in chunks of about %ldms",
	         (long long)o->progress.rows_estimate, (long)o->opt.chunk_time_ms);
	phase(o, "copy", msg);
	if (!copy_phase(o, &e))
		goto fail;

	phase(o, "index", "building secondary indexes and constraints on the new table");
	if (!check_limits(o, &e) || !o->engine->finish_shadow(o, &e))
		goto fail;

	phase(o, "catch-up", "applying the changes captured meanwhile");
	int64_t applied = 0;
	if (!check_limits(o, &e) || !cutover_catch_up(o, 5000, 600000, &applied, &e))
		goto fail;

	phase(o, "cutover", "swapping the tables");
	if (!check_limits(o, &e) || !cutover_run(o, &e))
		goto fail;
	created = false; /* from here on the new table is the table */

	phase(o, "cleanup", "removing the capture objects");
	if (!o->engine->finish(o, &e)) {
		log_error(&o->log, &e);
		log_msg(&o->log, LOG_WARN, "the migration is done, but cleanup failed: run `osc cleanup --table %s`",
		        o->opt.table);
	}
	char took[32];
	duration_format(took, sizeof(took), now_ms() - o->started_ms);
	snprintf(msg, sizeof(msg), "migration complete: %lld rows copied, %lld changes replayed, in %s",
	         (long long)o->progress.rows_copied, (long long)o->progress.log_applied, took);
	phase(o, "done", msg);
	o->engine->close(o);
	return OSC_EXIT_OK;

fail:
	log_error(&o->log, &e);
	if (created) {
		OscErr e2;
		err_clear(&e2);
		phase(o, "abort", "removing what osc created; the original stays as it is");
		if (!o->engine->abort(o, &e2)) {
			log_error(&o->log, &e2);
			log_msg(&o->log, LOG_ERROR,
			        "could not remove osc's objects; the original is intact; run `osc cleanup --table %s`",
			        o->opt.table);
		} else {
			log_msg(&o->log, LOG_INFO, "aborted: the original table is untouched and osc's objects are removed");
		}
		if (e.exit == OSC_EXIT_OK || e.exit == OSC_EXIT_INPUT)
			e.exit = OSC_EXIT_FAILED;
	}
	o->engine->close(o);
	return e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
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
	o->engine->plan_print(o, stdout);
	printf("plan only: nothing was changed\n");
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
