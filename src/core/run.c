/*
 * run.c — whether the run may go on: a signal, an abort from the operator
 * or the throttle, --max-runtime, and the window (waited for with
 * --window-wait); and the sleep that hears a stop request.  Every loop of
 * the run asks here between its steps.
 */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "osc.h"
#include "retry.h"
#include "window.h"

bool osc_sleep_ms(Osc *o, int64_t ms)
{
	return retry_sleep(o->stop, ms);
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
		char buf[64];
		if (!o->opt.window_wait) {
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
		duration_format(buf, sizeof(buf), wait * 1000);
		log_msg(&o->log, LOG_INFO, "outside the window: waiting %s for it to open", buf);
		if (!osc_sleep_ms(o, wait * 1000 + 200)) {
			err_set(e, OSC_EXIT_STOPPED, "interrupted by a signal");
			return false;
		}
	}
}

static bool gate(void *ctx, OscErr *e)
{
	return osc_may_continue(ctx, 0, e);
}

void run_init(Osc *o)
{
	EngineEnv *v = &o->env;
	memset(v, 0, sizeof(*v));
	v->log = &o->log;
	v->retry = &o->retry;
	v->alter = &o->alter;
	v->target = &o->target;
	v->table_arg = o->opt.table ? o->opt.table : "";
	v->drop_old_table = o->opt.drop_old_table;
	v->revertible = o->opt.revertible;
	v->url = o->opt.database ? o->opt.database : getenv("OSC_DATABASE_URL");
	v->plan = o->opt.command == CMD_PLAN;
	v->lock_timeout_ms = o->opt.lock_timeout_ms;
	v->statement_timeout_ms = o->opt.statement_timeout_ms;
	v->cutover_retries = o->opt.cutover_retries;
	v->chunk_time_ms = o->opt.chunk_time_ms;
	v->verify = o->opt.verify;
	/* an ALTER in place has no swap to keep the original in step across */
	v->strategy = o->opt.revertible ? STRATEGY_COPY : o->opt.strategy;
	v->allow_on_replica = o->opt.allow_on_replica;
	v->alter_fk_method = o->opt.alter_fk_method;
	v->replicas = o->opt.replicas;
	v->nreplicas = o->opt.nreplicas;
	v->limits = &o->opt.limits;

	o->retry.tries = o->opt.cutover_retries;
	o->retry.timeout_ms = o->opt.lock_timeout_ms;
	o->retry.stop = o->stop;
	o->retry.log = &o->log;
	o->retry.is_lock_timeout = o->engine->is_lock_timeout;
	o->retry.gate = gate;
	o->retry.gate_ctx = o;
}

bool osc_lost_is_stop(Osc *o, bool ok, OscErr *e)
{
	if (!ok && o->engine->is_connection_lost(e))
		e->exit = OSC_EXIT_STOPPED;
	return ok;
}

CopyPos osc_copy_pos(const Osc *o)
{
	CopyPos p = { .watermark = o->watermark, .done = o->copy_done };
	return p;
}
