/*
 * inplace.c — the ALTER applied in place (src/core/strategy.h): no shadow,
 * no capture, no swap, so nothing to clean up but what the engine's own
 * statements add, which the engine removes when they fail.
 *
 * The statements cannot be paused once sent, so the run waits before them
 * until the throttle lets it go: an operator's pause, --pause-file,
 * --max-load, and replicas behind --max-lag.  No work objects exist, so
 * there is no heartbeat table to read the replicas' lag from: PostgreSQL's
 * primary reports its replicas' replay lag, which the throttle reads
 * (control_gate_reported_lag); MySQL's does not, so the monitor writes a
 * heartbeat into a table of its own for the length of the wait (a replica
 * that never shows one counts from the first one written), and the table
 * goes again before the statements.
 *
 * The run has a state row like a copy's, so that `osc history` shows it
 * and a rerun of the same command from cron finds it done (by the table's
 * definition after it) instead of failing on "column already exists".
 */
#include "inplace.h"

#include "lag.h"

/* Waits until every watched replica shows the heartbeat within --max-lag
 * (see the banner); the heartbeat table goes whatever the wait's end. */
static bool wait_for_replicas(Osc *o, OscErr *e)
{
	const Engine *E = o->engine;
	if (!E->heartbeat_drop || !o->ctl.started || o->ctl.nreplicas == 0)
		return true;
	if (!E->heartbeat_free(o->table, e))
		return false;
	log_msg(&o->log, LOG_INFO, "waiting for the replicas to show osc's heartbeat within --max-lag before the ALTER");
	lag_arm(o);
	bool ok = control_gate(o, e);
	lag_stop(o);
	if (ok)
		lag_disarm(o); /* its readings would age during the ALTER */
	OscErr e2;
	err_clear(&e2);
	if (!E->heartbeat_drop(o->table, &e2)) {
		err_wrap(&e2, OSC_EXIT_FAILED, "could not drop osc's heartbeat table: ", "; drop it by hand");
		if (ok)
			*e = e2;
		else
			log_error(&o->log, &e2);
		ok = false;
	}
	return ok;
}

bool inplace_apply(Osc *o, Strategy *st, OscErr *e)
{
	const Engine *E = o->engine;
	EngineTable *t = o->table;

	/* paused (operator, --pause-file), over --max-load or a replica over
	 * --max-lag: wait before the statements */
	control_gate_reported_lag(o, true);
	bool gated = control_gate(o, e);
	if (gated)
		control_gate_reported_lag(o, false); /* nothing to pause once sent */
	if (!gated || !E->state_in_place(t, strategy_name(st->kind), e) || !wait_for_replicas(o, e) ||
	    !E->in_place(t, st, e))
		return false;
	if (st->kind == STRAT_COPY)
		return !E->state_forget || E->state_forget(t, e); /* the copy makes a row of its own */
	return E->state_result(t, e);
}
