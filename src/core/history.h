/*
 * history.h — `osc history` and `osc status` (when nothing runs): one state
 * row per migration, printed the same way whatever the engine.
 */
#ifndef OSC_HISTORY_H
#define OSC_HISTORY_H

#include <stdbool.h>

#include "osc.h"

/* The columns of a state row as text, in this order (the engines' queries
 * select them so): */
enum {
	HIST_ID,
	HIST_TABLE,       /* quoted, schema- or database-qualified */
	HIST_ALTER,
	HIST_STARTED,     /* 'YYYY-MM-DD HH:MM:SS TZ' */
	HIST_FINISHED,    /* '' while unfinished */
	HIST_OUTCOME,
	HIST_PHASE,
	HIST_ROWS_COPIED,
	HIST_ROWS_ESTIMATE,
	HIST_CHANGES,
	HIST_DURATION_MS,
	HIST_HOST,
	HIST_PID,
	HIST_RUNS,
	HIST_MESSAGE,
	HIST_UPDATED,
	HIST_NCOLS
};

/* Prints one row: a text line (and its running host and message) or one
 * JSON object, as o->log.json says.  latest: `osc status` (says where a
 * running migration runs). */
void history_print_row(Osc *o, const char *const *v, bool latest);

#endif
