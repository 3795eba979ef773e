/*
 * history.c — prints state rows for `osc history` and `osc status`.
 *
 * Each engine reads its own state table (src/pg/pg_state.c, src/my/my_state.c)
 * into a History, the columns history.h lists, as text; the printing is
 * here, so that both engines show the same line, or the same JSON object,
 * for a run.  Whatever a state row holds (another osc, or a person, may
 * have written it), the JSON stays valid: every column goes through the
 * JSON writer.  A --revertible run's row also says where its revert
 * stands (revertible, with the changes `osc revert` would replay and the
 * command; reverting; reverted; finished); a row without one reads as
 * before.
 */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static void print_json(FILE *out, char *const *v)
{
	Json j;

	json_start(&j, out);
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
	/* a run without --revertible: both null */
	if (v[HIST_REVERT][0])
		json_kv_string(&j, "revert", v[HIST_REVERT]);
	else
		json_kv_null(&j, "revert");
	json_kv_number_text(&j, "revert_backlog", v[HIST_BACKLOG]);
	json_object_end(&j);
	fputc('\n', out);
}

/* The table as a shell word for the command to paste: quoted when it
 * holds more than letters, digits, '_' and '.' (malloc'd). */
static char *shell_word(const char *s)
{
	if (s[0] && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") == strlen(s))
		return xstrdup(s);
	size_t n = strlen(s), k = 0;
	char *out = xmalloc(4 * n + 3);
	out[k++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'') {
			memcpy(out + k, "'\\''", 4);
			k += 4;
		} else {
			out[k++] = s[i];
		}
	}
	out[k++] = '\'';
	out[k] = '\0';
	return out;
}

/* A --revertible run's revert column (history.h): where it stands, and
 * the command that goes on from there. */
static void print_revert(FILE *out, char *const *v)
{
	const char *state = v[HIST_REVERT], *backlog = v[HIST_BACKLOG];
	if (strcmp(state, "revertible") == 0) {
		char *t = shell_word(v[HIST_TABLE]);
		if (backlog[0])
			fprintf(out, "    revert: revertible, %s change%s to replay (osc revert --table %s)\n", backlog,
			       strcmp(backlog, "1") == 0 ? "" : "s", t);
		else
			fprintf(out, "    revert: revertible (osc revert --table %s)\n", t);
		free(t);
	} else if (strcmp(state, "reverting") == 0 && backlog[0]) {
		fprintf(out, "    revert: reverting, %s change%s left to replay\n", backlog, strcmp(backlog, "1") == 0 ? "" : "s");
	} else {
		fprintf(out, "    revert: %s\n", state);
	}
}

static void print_text(FILE *out, char *const *v, bool latest)
{
	char took[32];
	duration_format(took, sizeof(took), strtoll(v[HIST_DURATION_MS], NULL, 10));
	fprintf(out, "#%s %s  %s  started %s  %s%s  outcome %s (phase %s)  %s/%s rows, %s changes, %s, %s run(s)\n",
	       v[HIST_ID], v[HIST_TABLE], v[HIST_ALTER], v[HIST_STARTED], v[HIST_FINISHED][0] ? "finished " : "updated ",
	       v[HIST_FINISHED][0] ? v[HIST_FINISHED] : v[HIST_UPDATED], v[HIST_OUTCOME], v[HIST_PHASE],
	       v[HIST_ROWS_COPIED], v[HIST_ROWS_ESTIMATE], v[HIST_CHANGES], took, v[HIST_RUNS]);
	if (latest && v[HIST_OUTCOME][0] == 'r')
		fprintf(out, "    running on %s, pid %s\n", v[HIST_HOST], v[HIST_PID]);
	if (v[HIST_OLD_TABLE][0])
		fprintf(out, "    old table: %s\n", v[HIST_OLD_TABLE]);
	if (v[HIST_REVERT][0])
		print_revert(out, v);
	if (v[HIST_MESSAGE][0])
		fprintf(out, "    %s\n", v[HIST_MESSAGE]);
}

void history_print(const History *h, bool json, bool latest, const char *table)
{
	history_fprint(stdout, h, json, latest, table);
}

void history_fprint(FILE *out, const History *h, bool json, bool latest, const char *table)
{
	if (!h->recorded) {
		fprintf(out, "no migrations recorded in this database\n");
		return;
	}
	if (h->n == 0)
		fprintf(out, "no migrations recorded%s%s\n", table ? " for " : "", table ? table : "");
	for (int i = 0; i < h->n; i++) {
		if (json)
			print_json(out, h->rows[i].v);
		else
			print_text(out, h->rows[i].v, latest);
	}
}
