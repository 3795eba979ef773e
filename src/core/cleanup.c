/*
 * cleanup.c — how a run ends, in one order for every engine: the capture
 * off first (while it is on, the application's writes go to osc's log),
 * then osc's work objects (the shadow, the log, the heartbeat), then the
 * state row, and the old table last, only when asked.  The engines supply
 * each step's SQL (src/core/engine.h, "the end of a run").
 *
 *   after the swap   the swap's own loose ends (PostgreSQL validates the
 *                    foreign keys it re-created NOT VALID), the capture,
 *                    the work objects but the shadow, which is the table
 *                    now; then the old table goes with --drop-old-table,
 *                    unless it is gone already or must stay
 *   before a swap    the capture, then what an interrupted swap attempt
 *                    moved off the original goes back, then every work
 *                    object: the original is as it was.  When the
 *                    capture's lock is not granted, the engine leaves the
 *                    capture harmless and drops what it can; the message
 *                    says to run `osc cleanup`
 *   osc cleanup      under the run's lock, only what the engine can prove
 *                    osc's (a state row's OIDs, osc's mark): an abandoned
 *                    run's objects go the same way, and its state row ends
 *                    "aborted"; a run killed after its swap committed ends
 *                    "done"
 */
#include "cleanup.h"

#include <stdio.h>
#include <string.h>

#include "preflight.h"

bool cleanup_after_swap(Osc *o, OscErr *e)
{
	const Engine *E = o->engine;
	EngineTable *t = o->table;

	if (!E->session_ready(t, e) || (E->swap_settle && !E->swap_settle(t, e)) || !E->capture_remove(t, e) ||
	    !E->work_drop(t, false, e))
		return false;
	OldTable old;
	E->old_table(t, &old);
	/* after `osc revert` the table the swap took out has the new definition */
	const char *what = o->opt.command == CMD_REVERT ? "the table with the new definition" : "the original";
	if (o->env.revertible) {
		log_msg(&o->log, LOG_INFO,
		        "the original is kept in step as %s: `osc revert --table %s` goes back to it with every row written "
		        "since, `osc finish --table %s` ends that",
		        old.name, o->opt.table, o->opt.table);
	} else if (old.gone) {
		log_msg(&o->log, LOG_INFO, "%s was dropped at the swap (%s)", what, old.gone);
	} else if (!o->env.drop_old_table) {
		log_msg(&o->log, LOG_INFO, "%s is kept as %s (drop it when you are sure)", what, old.name);
	} else if (old.keep) {
		log_msg(&o->log, LOG_WARN, "the old table %s was kept: %s", old.name, old.keep);
	} else {
		OscErr e2;
		err_clear(&e2);
		if (!E->old_drop(t, &e2))
			log_msg(&o->log, LOG_WARN, "the old table %s was kept: %s", old.name, e2.msg);
		else
			log_msg(&o->log, LOG_INFO, "dropped the old table %s", old.name);
	}
	return true;
}

bool cleanup_abort(Osc *o, OscErr *e)
{
	const Engine *E = o->engine;
	EngineTable *t = o->table;

	if (t == NULL || o->info.name[0] == '\0')
		return true; /* the table was never found: osc made nothing */
	if (!E->session_ready(t, e))
		return false;
	OscErr ce;
	err_clear(&ce);
	bool off = E->capture_remove(t, &ce);
	if (E->swap_undo && !E->swap_undo(t, e))
		return false;
	if (off)
		return E->work_drop(t, true, e);
	*e = ce;
	return E->capture_leave(t, e);
}

/* The swap had committed (MySQL: a kill right after its RENAME): only the
 * cleanup after a swap is left. */
static bool finish_swapped(Osc *o, const Leftovers *lo, OscErr *e)
{
	const Engine *E = o->engine;
	char done[512];
	if (!E->capture_remove(o->table, e) || !E->leftovers_drop(o->table, lo, done, sizeof(done), e) ||
	    !E->state_close(o->table, "done", "the swap had committed; finished by osc cleanup", e))
		return false;
	log_msg(&o->log, LOG_INFO,
	        "the swap had committed before osc stopped: %s.%s is the new table, the original is %s; removed osc's "
	        "capture triggers%s%s",
	        o->info.schema, o->info.name, lo->old, done[0] ? ", " : "", done);
	return true;
}

bool cleanup_leftovers(Osc *o, OscErr *e)
{
	const Engine *E = o->engine;
	EngineTable *t = o->table;
	Leftovers lo;
	char done[512];

	/* a standby or replica first: it cannot be written, or finishing a
	 * swap there would rename a table the primary replicates into */
	if (!E->target_primary(t, e) || !E->table_find(t, &o->info, e) || !E->table_lock(t, e) ||
	    !E->leftovers_find(t, &lo, e))
		return false;
	if (lo.swapped)
		return finish_swapped(o, &lo, e);
	if (lo.shadow && E->swap_undo && !E->swap_undo(t, e))
		return false;
	if ((lo.capture && !E->capture_remove(t, e)) || !E->leftovers_drop(t, &lo, done, sizeof(done), e) ||
	    !E->state_close(t, "aborted", "removed by osc cleanup", e))
		return false;
	if (lo.foreign[0])
		log_msg(&o->log, LOG_WARN, "left alone, not osc's: %s", lo.foreign);
	if (!lo.capture && done[0] == '\0')
		log_msg(&o->log, LOG_INFO, "%s %s.%s", lo.none, o->info.schema, o->info.name);
	else
		log_msg(&o->log, LOG_INFO, "removed osc's %s%s%s; %s.%s is untouched", lo.capture ? "capture triggers" : "",
		        lo.capture && done[0] ? ", " : "", done, o->info.schema, o->info.name);
	return true;
}
