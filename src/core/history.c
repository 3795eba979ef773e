/*
 * history.c — prints state rows for `osc history` and `osc status`.
 *
 * Each engine reads its own state table (src/pg/pg_state.c, src/my/my_state.c)
 * into a History, the columns history.h lists, as text; the printing is
 * here, so that both engines show the same line, or the same JSON object,
 * for a run.  Whatever a state row holds (another osc, or a person, may
 * have written it), the JSON stays valid: every column goes through the
 * JSON writer.
 */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>

#include "duration.h"
#include "json.h"
#include "xalloc.h"

HistoryRow *history_add(History *h)
{
	h->rows = xrealloc(h->rows, (size_t)(h->n + 1) * sizeof(HistoryRow));
	HistoryRow *row = &h->rows[h->n++];
	for (int c = 0; c < HIST_NCOLS; c++)
		row->v[c] = xstrdup("");
	return row;
}

void history_set(HistoryRow *row, int col, const char *value)
{
	free(row->v[col]);
	row->v[col] = xstrdup(value ? value : "");
}

void history_free(History *h)
{
	for (int i = 0; i < h->n; i++)
		for (int c = 0; c < HIST_NCOLS; c++)
			free(h->rows[i].v[c]);
	free(h->rows);
	h->rows = NULL;
	h->n = 0;
}

/* One row as a JSON object.  Every column is the server's text: strings
 * are escaped, and a number is written only when it is one (null else). */
static void print_json(char *const *v)
{
	Json j;

	json_start(&j, stdout);
	json_object(&j);
	json_kv_number_text(&j, "id", v[HIST_ID]);
	json_kv_string(&j, "table", v[HIST_TABLE]);
	json_kv_string(&j, "alter", v[HIST_ALTER]);
	json_kv_string(&j, "started_at", v[HIST_STARTED]);
	json_kv_string(&j, "finished_at", v[HIST_FINISHED]);
	json_kv_string(&j, "outcome", v[HIST_OUTCOME]);
	json_kv_string(&j, "phase", v[HIST_PHASE]);
	json_kv_number_text(&j, "rows_copied", v[HIST_ROWS_COPIED]);
	json_kv_number_text(&j, "rows_estimate", v[HIST_ROWS_ESTIMATE]);
	json_kv_number_text(&j, "changes_applied", v[HIST_CHANGES]);
	json_kv_number_text(&j, "duration_ms", v[HIST_DURATION_MS]);
	json_kv_string(&j, "host", v[HIST_HOST]);
	json_kv_number_text(&j, "pid", v[HIST_PID]);
	json_kv_number_text(&j, "runs", v[HIST_RUNS]);
	json_kv_string(&j, "message", v[HIST_MESSAGE]);
	json_kv_string(&j, "updated_at", v[HIST_UPDATED]);
	if (v[HIST_OLD_TABLE][0])
		json_kv_string(&j, "old_table", v[HIST_OLD_TABLE]);
	else
		json_kv_null(&j, "old_table");
	json_object_end(&j);
	putchar('\n');
}

static void print_text(char *const *v, bool latest)
{
	char took[32];
	duration_format(took, sizeof(took), strtoll(v[HIST_DURATION_MS], NULL, 10));
	printf("#%s %s  %s  started %s  %s%s  outcome %s (phase %s)  %s/%s rows, %s changes, %s, %s run(s)\n",
	       v[HIST_ID], v[HIST_TABLE], v[HIST_ALTER], v[HIST_STARTED], v[HIST_FINISHED][0] ? "finished " : "updated ",
	       v[HIST_FINISHED][0] ? v[HIST_FINISHED] : v[HIST_UPDATED], v[HIST_OUTCOME], v[HIST_PHASE],
	       v[HIST_ROWS_COPIED], v[HIST_ROWS_ESTIMATE], v[HIST_CHANGES], took, v[HIST_RUNS]);
	if (latest && v[HIST_OUTCOME][0] == 'r')
		printf("    running on %s, pid %s\n", v[HIST_HOST], v[HIST_PID]);
	if (v[HIST_OLD_TABLE][0])
		printf("    old table: %s\n", v[HIST_OLD_TABLE]);
	if (v[HIST_MESSAGE][0])
		printf("    %s\n", v[HIST_MESSAGE]);
}

void history_print(const History *h, bool json, bool latest, const char *table)
{
	if (!h->recorded) {
		printf("no migrations recorded in this database\n");
		return;
	}
	if (h->n == 0)
		printf("no migrations recorded%s%s\n", table ? " for " : "", table ? table : "");
	for (int i = 0; i < h->n; i++) {
		if (json)
			print_json(h->rows[i].v);
		else
			print_text(h->rows[i].v, latest);
	}
}
