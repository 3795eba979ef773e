/*
 * indexes.c — after the copy: the secondary indexes and constraints that
 * were left out of the shadow during the bulk copy (building them once,
 * at the end, is much faster than keeping them up to date row by row),
 * then the shadow's last touches.
 *
 * A new UNIQUE index (or exclusion constraint) may meet a duplicate that is
 * not one: two rows that traded a unique value, one merged, the other's
 * change still in the change log.  So a duplicate sends every stale row
 * that may cause it through (the engine's merge_stale: PostgreSQL merges
 * everything pending in one snapshot), then the log until a batch comes
 * back short, and the build is tried again; one that stays after three
 * builds is the original's own, and the run fails naming it, no row
 * dropped.  (The copy left a short backlog: the replay took its turn after
 * every chunk.)
 */
#include "indexes.h"

#include <stdio.h>

#include "replay.h"
#include "run.h"

bool indexes_build(Osc *o, OscErr *e)
{
	const Engine *E = o->engine;
	char what[600];

	for (int build = 1;; build++) {
		if (E->index_build(o->session, o->table, what, sizeof(what), e))
			break;
		if (!E->is_duplicate_key(e)) {
			osc_lost_is_stop(o, false, e);
			return false;
		}
		if (build >= 3) {
			char before[700];
			snprintf(before, sizeof(before), "the table's rows violate %s: ", what);
			err_wrap(e, OSC_EXIT_FAILED, before, "; nothing was changed, no row was dropped");
			return false;
		}
		log_msg(&o->log, LOG_INFO, "%s met a duplicate (%s): applying the changes captured meanwhile, then building "
		        "it again", what, e->msg);
		EngineScope all = { 0 };
		EngineBatch *more = NULL;
		int64_t found = 0, consumed = 0;
		err_clear(e);
		bool ok = E->merge_stale(o->session, o->table, &all, osc_copy_pos(o), &more, &found, &consumed, e);
		o->progress.log_applied += consumed;
		if (more)
			E->batch_free(more);
		int64_t applied = 0;
		/* the shadow as close to the original as the log allows */
		if (!ok || !replay_catch_up(o, 5000, 60000, &applied, e))
			return false;
	}
	return osc_lost_is_stop(o, E->shadow_complete(o->session, o->table, e), e);
}
