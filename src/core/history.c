/*
 * history.c — prints state rows for `osc history` and `osc status`.
 *
 * Each engine reads its own state table (src/pg/pg_state.c, src/my/my_state.c)
 * into the columns history.h lists, as text; the printing is shared so that
 * both engines show the same line, or the same JSON object, for a run.
 */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>

#include "duration.h"

void history_print_row(Osc *o, const char *const *v, bool latest)
{
	if (o->log.json) {
		printf("{\"id\":%s,\"table\":", v[HIST_ID]);
		log_json_string(stdout, v[HIST_TABLE]);
		printf(",\"alter\":");
		log_json_string(stdout, v[HIST_ALTER]);
		printf(",\"started_at\":\"%s\",\"finished_at\":\"%s\",\"outcome\":\"%s\",\"phase\":\"%s\","
		       "\"rows_copied\":%s,\"rows_estimate\":%s,\"changes_applied\":%s,\"duration_ms\":%s,"
		       "\"host\":",
		       v[HIST_STARTED], v[HIST_FINISHED], v[HIST_OUTCOME], v[HIST_PHASE], v[HIST_ROWS_COPIED],
		       v[HIST_ROWS_ESTIMATE], v[HIST_CHANGES], v[HIST_DURATION_MS]);
		log_json_string(stdout, v[HIST_HOST]);
		printf(",\"pid\":%s,\"runs\":%s,\"message\":", v[HIST_PID], v[HIST_RUNS]);
		log_json_string(stdout, v[HIST_MESSAGE]);
		printf(",\"updated_at\":\"%s\"}\n", v[HIST_UPDATED]);
		return;
	}
	char took[32];
	duration_format(took, sizeof(took), strtoll(v[HIST_DURATION_MS], NULL, 10));
	printf("#%s %s  %s  started %s  %s%s  outcome %s (phase %s)  %s/%s rows, %s changes, %s, %s run(s)\n",
	       v[HIST_ID], v[HIST_TABLE], v[HIST_ALTER], v[HIST_STARTED], v[HIST_FINISHED][0] ? "finished " : "updated ",
	       v[HIST_FINISHED][0] ? v[HIST_FINISHED] : v[HIST_UPDATED], v[HIST_OUTCOME], v[HIST_PHASE],
	       v[HIST_ROWS_COPIED], v[HIST_ROWS_ESTIMATE], v[HIST_CHANGES], took, v[HIST_RUNS]);
	if (latest && v[HIST_OUTCOME][0] == 'r')
		printf("    running on %s, pid %s\n", v[HIST_HOST], v[HIST_PID]);
	if (v[HIST_MESSAGE][0])
		printf("    %s\n", v[HIST_MESSAGE]);
}
