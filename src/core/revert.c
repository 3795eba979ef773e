/*
 * revert.c — `osc revert` and `osc finish`: the way back from a
 * --revertible migration (docs/ARCHITECTURE.md "The revert").
 *
 * A --revertible run's swap leaves the original kept in step: a capture on
 * the new table logs the key of every write after the swap, exactly as the
 * forward capture did, and the original stays (src/core/engine.h,
 * revert_attach).  `osc revert` is then the second half of a migration
 * from the new schema back to the old one, whose shadow is the original,
 * complete up to the log:
 *
 *   preflight   the table, the server, its key, the run's lock
 *   attach      the engine finds the revertible migration and turns the
 *               run around (the inverse column map, the reverse log)
 *   revert      the reverse log replayed into the original, each batch
 *               verified as the forward replay's (replicator/replay.c)
 *   cutover     the swap back under the same short lock with retries, and
 *               through `osc proxy` when it is in use (cutover/cutover.c);
 *               the swap carries back what the forward one carried
 *   cleanup     as after any swap; the new-schema table keeps the old
 *               table's name unless --drop-old-table
 *
 * Until the swap back commits nothing the application sees changes: a
 * failure or a stop leaves the new table serving and still revertible (no
 * abort path here: the "shadow" is the original, which is never dropped).
 * A value that cannot go back (a cast out of the old type's range, a NOT
 * NULL or CHECK of the old table) is refused with its key named, exit 2.
 * Killed after the swap back committed, a rerun finds that and finishes
 * the cleanup.
 *
 * `osc finish` ends revertibility: the reverse capture and its log go, and
 * with --drop-old-table the original.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cutover.h"
#include "duration.h"
#include "fault.h"
#include "hooks.h"
#include "lag.h"
#include "migrate_int.h"
#include "proxy_hold.h"
#include "replay.h"

/* The table, the server, its key, the lock, then the revertible migration. */
static bool revert_find(Osc *o, bool finish, RevertInfo *ri, OscErr *e)
{
	const Engine *E = o->engine;
	EngineTable *t = o->table;
	if (!E->revert_attach) {
		err_set(e, OSC_EXIT_INPUT, "osc %s: the %s engine has no revert", finish ? "finish" : "revert", E->name);
		return false;
	}
	return E->table_find(t, &o->info, e) && E->target_check(t, e) && E->key_find(t, e) && E->table_lock(t, e) &&
	       E->revert_attach(t, finish, ri, e);
}

/* After the swap back: the cleanup of any swap, the state row, the hooks. */
static OscExit revert_done(Osc *o, const RevertInfo *ri, int64_t applied)
{
	OscErr e;
	char msg[sizeof(e.msg)], took[32];

	err_clear(&e);
	lag_stop(o);
	mig_phase(o, "cleanup", "removing the reverse capture");
	if (!cleanup_after_swap(o, &e)) {
		log_error(&o->log, &e);
		log_msg(&o->log, LOG_WARN, "the revert is done, but its cleanup failed: rerun `osc revert --table %s`",
		        o->opt.table);
	}
	duration_format(took, sizeof(took), now_ms() - o->started_ms);
	snprintf(msg, sizeof(msg),
	         "reverted: %s.%s has its definition from before `%s` again, with %lld changes made since the swap "
	         "replayed, in %s",
	         o->info.schema, o->info.name, ri->alter ? ri->alter : "?", (long long)applied, took);
	mig_phase(o, "done", msg);
	err_clear(&e);
	if (!mig_record(o, "reverted", "reverted", msg, &e))
		log_error(&o->log, &e);
	mig_close(o);
	hooks_run(o, o->opt.on_success, "success", OSC_EXIT_OK, msg);
	return mig_finish(o, OSC_EXIT_OK);
}

/* Before the swap back: the new table serves on, revertible as before. */
static OscExit revert_failed(Osc *o, OscErr *err, bool attached)
{
	OscErr e = *err;

	lag_stop(o);
	o->retry.gate = NULL;
	if (o->engine->is_data_error && o->engine->is_data_error(&e)) {
		char msg[sizeof(e.msg)];
		snprintf(msg, sizeof(msg), "%s", e.msg);
		err_set(&e, OSC_EXIT_INPUT, "revert refused: %.*s", (int)sizeof(msg) - 20, msg);
	}
	if (e.exit == OSC_EXIT_OK)
		e.exit = OSC_EXIT_FAILED;
	log_error(&o->log, &e);
	summary_failed(o, &e);
	if (attached) {
		OscErr e2;
		err_clear(&e2);
		if (!mig_record(o, NULL, e.exit == OSC_EXIT_STOPPED ? "stopped" : "failed", e.msg, &e2))
			log_error(&o->log, &e2);
		log_msg(&o->log, LOG_INFO,
		        "%s.%s keeps its new definition and stays revertible: rerun `osc revert --table %s`, or end it "
		        "with `osc finish --table %s`",
		        o->info.schema, o->info.name, o->opt.table, o->opt.table);
	}
	mig_close(o);
	if (e.exit == OSC_EXIT_FAILED || e.exit == OSC_EXIT_INPUT)
		hooks_run(o, o->opt.on_failure, "failure", e.exit, e.msg);
	return mig_finish(o, e.exit);
}

OscExit migrate_revert(Osc *o)
{
	OscErr e;
	RevertInfo ri;
	bool attached = false;
	int64_t applied = 0;
	OscExit rc;

	memset(&ri, 0, sizeof(ri));
	err_clear(&e);
	o->started_ms = now_ms();
	run_init(o);
	o->copy_done = true; /* the original holds every row up to the log: every key is the replay's */
	mig_phase(o, "preflight", "checking the table and its revertible migration");
	if (!mig_open(o, &e) || !revert_find(o, false, &ri, &e))
		goto fail;
	attached = true;
	if (ri.swapped) {
		log_msg(&o->log, LOG_INFO, "the revert's swap had committed before osc stopped: finishing its cleanup");
		rc = revert_done(o, &ri, 0);
		free(ri.alter);
		return rc;
	}
	o->progress.rows_estimate = 0;
	o->progress.eta_ms = -1;
	o->progress.lag_ms = -1;
	if (!proxy_hold_check(o, &e) || !control_start(o, &e) || !lag_start(o, &e))
		goto fail;
	lag_arm(o);
	log_msg(&o->log, LOG_INFO, "reverting `%s`: about %lld changes made since the swap go into the original %s",
	        ri.alter ? ri.alter : "?", (long long)ri.backlog, ri.old);
	if (!osc_may_continue(o, 0, &e) ||
	    !mig_enter(o, "revert", "replaying the changes made since the swap into the original", &e) ||
	    !replay_catch_up(o, 5000, 600000, &applied, &e))
		goto fail;
	if (!mig_enter(o, "cutover", "swapping the original back in", &e))
		goto fail;
	fault_point(o, "revert-cutover");
	if (!cutover_run(o, &e))
		goto fail;
	o->retry.gate = NULL; /* nothing stops the cleanup after a swap */
	fault_point(o, "revert-committed");
	hooks_run(o, o->opt.on_cutover, "cutover", OSC_EXIT_OK, "the revert's swap committed");
	rc = revert_done(o, &ri, o->progress.log_applied);
	free(ri.alter);
	return rc;

fail:
	free(ri.alter);
	return revert_failed(o, &e, attached);
}

OscExit migrate_finish(Osc *o)
{
	OscErr e;
	RevertInfo ri;

	memset(&ri, 0, sizeof(ri));
	err_clear(&e);
	run_init(o);
	o->retry.gate = NULL;
	if (!mig_open(o, &e) || !revert_find(o, true, &ri, &e) ||
	    !o->engine->revert_finish(o->table, o->opt.drop_old_table, &e)) {
		free(ri.alter);
		log_error(&o->log, &e);
		mig_close(o);
		return e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
	}
	OldTable old;
	o->engine->old_table(o->table, &old);
	if (o->opt.drop_old_table)
		snprintf(old.name, sizeof(old.name), "%s", ri.old);
	log_msg(&o->log, LOG_INFO,
	        "finished: %s.%s keeps its definition after `%s`; the reverse capture is removed, and the original %s %s",
	        o->info.schema, o->info.name, ri.alter ? ri.alter : "?", old.name,
	        o->opt.drop_old_table ? "is dropped" : "is kept (drop it when you are sure)");
	free(ri.alter);
	mig_close(o);
	return OSC_EXIT_OK;
}
