/*
 * history.h — `osc history` and `osc status` (when nothing runs): one state
 * row per migration, read by the engine into a History (the engine's
 * history_read, src/core/engine.h) and printed here, the same way whatever
 * the engine.
 */
#ifndef OSC_HISTORY_H
#define OSC_HISTORY_H

#include <stdbool.h>
#include <stdio.h>

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
	HIST_OLD_TABLE,   /* the original's name after the swap, qualified; '' before the swap, for an
	                   * in-place run, and in rows of an osc that did not record it */
	HIST_REVERT,      /* "revertible", "reverting", "reverted", "finished"; '' for a run without --revertible */
	HIST_BACKLOG,     /* revertible: the changes `osc revert` would replay; '' otherwise */
	HIST_NCOLS
};

/* One state row: every column malloc'd text ("" for NULL). */
typedef struct HistoryRow {
	char *v[HIST_NCOLS];
} HistoryRow;

/* What the engine read.  recorded false: the database has no state table. */
typedef struct History History; /* also declared in engine.h */
struct History {
	bool recorded;
	HistoryRow *rows;
	int n;
};

/* Appends a row of empty columns; the engine sets each with history_set. */
HistoryRow *history_add(History *h);
/* Sets column col of row to a copy of value (NULL: ""). */
void history_set(HistoryRow *row, int col, const char *value);
void history_free(History *h);

/* Prints every row: text lines, or one JSON object a line (json).
 * latest: `osc status` (says where a running migration runs); table: what
 * --table named, for "no migrations recorded for <it>" (NULL: none). */
void history_print(const History *h, bool json, bool latest, const char *table);
/* The same into out. */
void history_fprint(FILE *out, const History *h, bool json, bool latest, const char *table);

#endif
