/*
 * control_state.c — the state a running migration shares between its
 * threads (control.h), and the worker's side of it.
 *
 * Three threads write into Control under its mutex: the worker its
 * progress, the monitor its readings, the control loop the operator's
 * requests and the flag files.  Whichever changes an input decides again
 * (control_evaluate_locked); a changed decision wakes the worker, which
 * only looks between its steps, in control_gate: it waits there while the
 * decision is "pause", and leaves with an error on "abort" or a signal.
 * Before control_start (a plan, a cleanup) every call here is a no-op that
 * answers from the options.
 */
#include "control_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "osc.h"

void control_state_init(Osc *o)
{
	Control *c = &o->ctl;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->changed, NULL);
	c->limits = o->opt.limits;
	c->chunk_time_ms = o->opt.chunk_time_ms;
	c->chunk_size_max = o->opt.chunk_size_max;
	c->nice_permille = o->opt.nice_permille;
	c->lock_timeout_ms = o->opt.lock_timeout_ms;
	c->cutover_retries = o->opt.cutover_retries;
	c->max_runtime_ms = o->opt.max_runtime_ms;
	c->decision.max_lag_ms = -1;
	c->progress = o->progress;
}

/* The throttle decision over everything the threads published (mu held).
 * The log says when it pauses or releases; an abort decision becomes an
 * abort request that the worker sees at its next step. */
void control_evaluate_locked(Osc *o)
{
	Control *c = &o->ctl;
	ReplicaLag lags[THROTTLE_MAX_REPLICAS];
	char names[THROTTLE_MAX_REPLICAS][sizeof(c->observed[0].name) + 48];
	ThrottleInputs in;
	ThrottleDecision d;

	memset(&in, 0, sizeof(in));
	in.now_ms = wall_ms();
	/* before the heartbeat table exists there is nothing to read, and
	 * nothing to throttle either, except for an in-place run: its replicas'
	 * lag is what the primary reports (NULL: caught up and idle), as if a
	 * heartbeat that old had been seen */
	int n = 0;
	if (c->heartbeat_armed) {
		for (; n < c->nreplicas; n++) {
			lags[n].name = c->replicas[n].name;
			lags[n].beat_ms = c->replicas[n].beat_ms;
			lags[n].error = c->replicas[n].error;
		}
	} else if (c->gate_reported) {
		for (; n < c->nobserved; n++) {
			const ReplicaState *r = &c->observed[n];
			snprintf(names[n], sizeof(names[n]), "%s (replay_lag as the primary reports it)", r->name);
			lags[n].name = names[n];
			lags[n].beat_ms = in.now_ms - (r->replay_lag_ms > 0 ? r->replay_lag_ms : 0);
			lags[n].error = NULL;
		}
	}
	in.operator_paused = c->operator_paused;
	in.pause_file = c->pause_file;
	in.panic_file = c->panic_file;
	in.pause_file_name = o->opt.pause_file;
	in.panic_file_name = o->opt.panic_file;
	in.replicas = lags;
	in.nreplicas = n;
	in.load = c->load;
	in.nload = c->nload;
	in.first_beat_ms = c->heartbeat_armed ? c->first_beat_ms : 0;
	throttle_evaluate(&c->limits, &in, &c->tstate, &d);

	bool was = c->decision.action != THROTTLE_GO;
	bool same = c->decision.action == d.action && strcmp(c->decision.cause, d.cause) == 0;
	int64_t now = now_ms();
	if (d.action == THROTTLE_ABORT && !c->abort_requested) {
		c->abort_requested = true;
		/* the worker says so, as the error that ends the run */
		snprintf(c->abort_reason, sizeof(c->abort_reason), "aborting: %s", d.reason);
	} else if (d.action == THROTTLE_PAUSE && !same) {
		log_msg(&o->log, LOG_INFO, "throttled: %s", d.reason);
	} else if (d.action == THROTTLE_GO && was) {
		char took[32];
		duration_format(took, sizeof(took), now - c->throttled_since_ms);
		log_msg(&o->log, LOG_INFO, "throttle released after %s (was: %s)", took, c->decision.reason);
	}
	if (d.action != THROTTLE_GO && !was)
		c->throttled_since_ms = now;
	if (d.action == THROTTLE_GO && was) {
		c->throttled_total_ms += now - c->throttled_since_ms;
		c->throttled_since_ms = 0;
	}
	c->decision = d;
	if (!same)
		pthread_cond_broadcast(&c->changed);
}

/* ---------------------------------------------------------------- the worker's side */

void control_publish(Osc *o)
{
	Control *c = &o->ctl;
	if (!c->started)
		return;
	pthread_mutex_lock(&c->mu);
	o->progress.lag_ms = c->decision.max_lag_ms;
	o->progress.throttled = c->decision.action != THROTTLE_GO;
	o->progress.paused = c->operator_paused;
	snprintf(o->progress.throttle_reason, sizeof(o->progress.throttle_reason), "%s", c->decision.reason);
	c->progress = o->progress;
	/* osc set's changes to what the worker reads from its options: the
	 * worker takes them here, between its steps, so no statement sees a
	 * value change under it */
	o->opt.lock_timeout_ms = c->lock_timeout_ms;
	o->opt.cutover_retries = c->cutover_retries > 100000 ? 100000 : (int)c->cutover_retries;
	o->opt.max_runtime_ms = c->max_runtime_ms;
	/* and where the engine and the lock retries read them (src/core/run.c) */
	o->env.lock_timeout_ms = o->opt.lock_timeout_ms;
	o->env.cutover_retries = o->opt.cutover_retries;
	o->retry.timeout_ms = o->opt.lock_timeout_ms;
	o->retry.tries = o->opt.cutover_retries;
	pthread_mutex_unlock(&c->mu);
}

bool control_aborted(Osc *o, OscErr *e)
{
	Control *c = &o->ctl;
	bool yes;
	if (!c->started)
		return false;
	pthread_mutex_lock(&c->mu);
	yes = c->abort_requested;
	if (yes)
		err_set(e, OSC_EXIT_FAILED, "%s", c->abort_reason);
	pthread_mutex_unlock(&c->mu);
	return yes;
}

bool control_gate(Osc *o, OscErr *e)
{
	Control *c = &o->ctl;
	if (!c->started)
		return true;
	for (;;) {
		control_publish(o);
		if (control_aborted(o, e))
			return false;
		if (*o->stop) {
			err_set(e, OSC_EXIT_STOPPED, "interrupted by a signal");
			return false;
		}
		pthread_mutex_lock(&c->mu);
		bool go = c->decision.action == THROTTLE_GO;
		if (!go) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&c->changed, &c->mu, &ts);
		}
		pthread_mutex_unlock(&c->mu);
		if (go)
			return true;
		control_publish(o);
		log_progress(&o->log, &o->progress, false);
	}
}

void control_gate_reported_lag(Osc *o, bool on)
{
	Control *c = &o->ctl;
	if (!c->started)
		return;
	pthread_mutex_lock(&c->mu);
	c->gate_reported = on;
	control_evaluate_locked(o);
	pthread_mutex_unlock(&c->mu);
}

bool control_take_cutover(Osc *o)
{
	Control *c = &o->ctl;
	bool yes;
	if (!c->started)
		return false;
	pthread_mutex_lock(&c->mu);
	yes = c->cutover_requested;
	c->cutover_requested = false;
	pthread_mutex_unlock(&c->mu);
	return yes;
}

void control_chunk_limits(Osc *o, int64_t *chunk_time_ms, int64_t *chunk_size_max)
{
	Control *c = &o->ctl;
	if (!c->started) {
		*chunk_time_ms = o->opt.chunk_time_ms;
		*chunk_size_max = o->opt.chunk_size_max;
		return;
	}
	pthread_mutex_lock(&c->mu);
	*chunk_time_ms = c->chunk_time_ms;
	*chunk_size_max = c->chunk_size_max;
	pthread_mutex_unlock(&c->mu);
}

int64_t control_nice_permille(Osc *o)
{
	Control *c = &o->ctl;
	if (!c->started)
		return o->opt.nice_permille;
	pthread_mutex_lock(&c->mu);
	int64_t n = c->nice_permille;
	pthread_mutex_unlock(&c->mu);
	return n;
}
