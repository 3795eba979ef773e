/*
 * test_history.c — `osc history` / `osc status` lines and JSON objects
 * (src/core/history.c) for rows built by hand: a run without --revertible
 * reads as it always did; a revertible one says where its revert stands.
 */
#include "unit.h"

#include <stdlib.h>

#include "history.h"
#include "xalloc.h"

static HistoryRow *row(History *h, const char *table, const char *revert, const char *backlog)
{
	HistoryRow *r = history_add(h);
	history_set(r, HIST_ID, "7");
	history_set(r, HIST_TABLE, table);
	history_set(r, HIST_ALTER, "ALTER COLUMN n TYPE bigint");
	history_set(r, HIST_STARTED, "2026-01-02 03:04:05 UTC");
	history_set(r, HIST_FINISHED, "2026-01-02 03:05:05 UTC");
	history_set(r, HIST_OUTCOME, "done");
	history_set(r, HIST_PHASE, "done");
	history_set(r, HIST_ROWS_COPIED, "100");
	history_set(r, HIST_ROWS_ESTIMATE, "100");
	history_set(r, HIST_CHANGES, "5");
	history_set(r, HIST_DURATION_MS, "60000");
	history_set(r, HIST_RUNS, "1");
	history_set(r, HIST_OLD_TABLE, "public._t_osc_old");
	history_set(r, HIST_REVERT, revert);
	history_set(r, HIST_BACKLOG, backlog);
	return r;
}

/* What history_fprint prints for one row (malloc'd) */
static char *printed(const char *table, const char *revert, const char *backlog, bool json)
{
	History h = { .recorded = true };
	char *buf = NULL;
	size_t len = 0;
	row(&h, table, revert, backlog);
	FILE *f = xopen_memstream(&buf, &len);
	history_fprint(f, &h, json, false, NULL);
	fclose(f);
	history_free(&h);
	return buf;
}

static void check_has(const char *text, const char *part, bool want)
{
	if ((strstr(text, part) != NULL) != want)
		fprintf(stderr, "history: /%s/ %s in:\n%s\n", part, want ? "missing" : "unexpected", text);
	CHECK((strstr(text, part) != NULL) == want);
}

void test_history(void)
{
	char *s;

	/* without --revertible: the lines of before, nothing more */
	s = printed("public.t", "", "", false);
	CHECK_STR(s, "#7 public.t  ALTER COLUMN n TYPE bigint  started 2026-01-02 03:04:05 UTC  finished 2026-01-02 "
	             "03:05:05 UTC  outcome done (phase done)  100/100 rows, 5 changes, 1m00s, 1 run(s)\n"
	             "    old table: public._t_osc_old\n");
	free(s);
	s = printed("public.t", "", "", true);
	check_has(s, "\"old_table\":\"public._t_osc_old\",\"revert\":null,\"revert_backlog\":null}", true);
	free(s);

	/* revertible: the changes a revert would replay, and the command */
	s = printed("public.t", "revertible", "120", false);
	check_has(s, "\n    revert: revertible, 120 changes to replay (osc revert --table public.t)\n", true);
	free(s);
	s = printed("public.t", "revertible", "1", false);
	check_has(s, "    revert: revertible, 1 change to replay (osc revert --table public.t)\n", true);
	free(s);
	s = printed("public.t", "revertible", "", false);
	check_has(s, "    revert: revertible (osc revert --table public.t)\n", true);
	free(s);
	/* a name the shell would split is quoted to paste */
	s = printed("public.\"it's a\"", "revertible", "3", false);
	check_has(s, "(osc revert --table 'public.\"it'\\''s a\"')\n", true);
	free(s);
	s = printed("public.t", "revertible", "120", true);
	check_has(s, "\"revert\":\"revertible\",\"revert_backlog\":120}", true);
	free(s);

	/* reverting, reverted, finished */
	s = printed("db.t", "reverting", "40", false);
	check_has(s, "    revert: reverting, 40 changes left to replay\n", true);
	free(s);
	s = printed("db.t", "reverted", "", false);
	check_has(s, "    revert: reverted\n", true);
	free(s);
	s = printed("db.t", "finished", "", true);
	check_has(s, "\"revert\":\"finished\",\"revert_backlog\":null}", true);
	free(s);
	/* a backlog that is not a number stays valid JSON */
	s = printed("db.t", "revertible", "12; DROP", true);
	check_has(s, "\"revert_backlog\":null}", true);
	free(s);
}
