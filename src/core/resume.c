/*
 * resume.c — the resume decision, written once for every engine.
 *
 * Every migration has a row in the engine's state table, which the engine
 * reads and writes (state_read, state_claim) and nothing else: the core
 * decides from it.  A rerun of the same command, under the run's lock on
 * the table (a row still "running" belongs to a run that is gone):
 *   - no unfinished migration: a new one, unless this exact migration
 *     (same ALTER, the table's definition now the one it made) is done
 *     already: then nothing to do ("already done", exit 0);
 *   - another ALTER unfinished: refused, naming it (exit 2);
 *   - the swap committed (the engine says how it knows: PostgreSQL's row
 *     says so in the swap's transaction; MySQL's RENAME commits on its own,
 *     so the catalog decides): only the cleanup is left;
 *   - the table's definition changed since (another session's DDL): the
 *     shadow no longer fits it, refused (exit 2);
 *   - its shadow or capture is gone: changes may have gone uncaptured,
 *     refused (exit 2);
 *   - otherwise the copy continues from the row's watermark, or after the
 *     copy when it was done.
 * A refused rerun leaves the row as it was: `osc cleanup` removes it.
 */
#include "resume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool refuse(Osc *o)
{
	if (o->engine->state_release)
		o->engine->state_release(o->table);
	return false;
}

/* The copy's checkpoint, for the log: "(1, 'a')". */
static void watermark_text(Osc *o, char *out, size_t outsz)
{
	if (o->watermark == NULL)
		snprintf(out, outsz, "(none)");
	else
		o->engine->key_describe(o->watermark, out, outsz);
}

static bool decide(Osc *o, StateRow *row, OscErr *e)
{
	const Engine *E = o->engine;
	const char *schema = o->info.schema, *table = o->info.name, *arg = o->opt.table;
	char detail[300] = "";
	bool swapped = false;

	if (!E->state_read(o->table, row, e))
		return false;
	if (row->found == STATE_DONE) {
		o->resume = RESUME_DONE;
		log_msg(&o->log, LOG_INFO, "already done: this migration of %s.%s finished at %s; nothing to do", schema,
		        table, row->done_at);
		return true;
	}
	if (row->found == STATE_NONE)
		return true;
	if (strcmp(row->alter, o->alter.text) != 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s has an unfinished migration (--alter \"%s\", started %s); rerun that command to resume "
		        "it, or remove it with `osc cleanup --table %s`",
		        schema, table, row->alter, row->started, arg);
		return refuse(o);
	}
	if (!E->state_swapped(o->table, row, &swapped, detail, sizeof(detail), e))
		return refuse(o);
	if (strcmp(row->fingerprint, swapped ? row->fp_new : row->fp_orig) != 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "the schema of %s.%s changed since its unfinished migration started (%s), so osc cannot resume "
		        "it; run `osc cleanup --table %s` and start again",
		        schema, table, row->started, arg);
		return refuse(o);
	}
	o->rows_before = row->rows_copied;
	o->progress.rows_copied = row->rows_copied;
	o->progress.log_applied = row->changes_applied;
	if (swapped) {
		if (!E->state_claim(o->table, "swapped", e))
			return false;
		o->resume = RESUME_SWAPPED;
		log_msg(&o->log, LOG_INFO,
		        "resuming the migration started %s (run %d): the swap is done (%s), finishing the cleanup "
		        "(decided %lldms after start)",
		        row->started, row->runs + 1, detail, (long long)(now_ms() - o->started_ms));
		return true;
	}
	bool copy_done = strcmp(row->phase, "copy") != 0;
	const char *lost = NULL;
	if (!E->state_attach(o->table, row, copy_done, &lost, e))
		return false;
	if (lost) {
		err_set(e, OSC_EXIT_INPUT,
		        "the unfinished migration of %s.%s lost its %s; changes may have gone uncaptured, so osc will "
		        "not resume it: run `osc cleanup --table %s` and start again",
		        schema, table, lost, arg);
		return refuse(o);
	}
	if (!E->state_claim(o->table, row->phase, e))
		return false;
	o->watermark = E->resume_watermark(o->table);
	o->copy_done = copy_done;
	o->resume = copy_done ? RESUME_AFTER_COPY : RESUME_COPY;
	char wm[256];
	watermark_text(o, wm, sizeof(wm));
	log_msg(&o->log, LOG_INFO,
	        "resuming the migration started %s (run %d): %lld rows copied so far, watermark %s, phase %s "
	        "(decided %lldms after start)",
	        row->started, row->runs + 1, (long long)o->rows_before, wm, row->phase,
	        (long long)(now_ms() - o->started_ms));
	return true;
}

bool resume_decide(Osc *o, OscErr *e)
{
	StateRow row;
	memset(&row, 0, sizeof(row));
	o->resume = RESUME_NONE;
	bool ok = decide(o, &row, e);
	free(row.alter);
	if (!ok)
		return false;
	/* a new migration: nothing of osc's may be in the way; a resumed copy:
	 * what a new one's shadow_create checks, again */
	const Engine *E = o->engine;
	if (o->resume == RESUME_NONE)
		return !E->leftovers_check || E->leftovers_check(o->table, e);
	if (o->resume == RESUME_COPY || o->resume == RESUME_AFTER_COPY)
		return !E->preflight_resumed || E->preflight_resumed(o->table, o->resume, e);
	return true;
}
