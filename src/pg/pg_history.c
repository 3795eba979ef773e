/*
 * pg_history.c — `osc history` and `osc status` on PostgreSQL: the rows of
 * osc.migrations (src/pg/pg_state.c) read into the core's History
 * (src/core/history.h), which prints them.  A row "running" that nobody's
 * advisory lock holds is a run that died ("interrupted"); the old table's
 * name is derived from the suffix the row recorded (src/pg/pg_old.c).
 */
#include "pg.h"

#include <stdio.h>
#include <string.h>

/* `osc history` / `osc status`: the columns history.h lists, in its order,
 * then what names the old table (the table's name and the suffix the
 * migration chose, src/pg/pg_old.c), which history.h has as one column. */
enum { H_TABLE_NAME = HIST_OLD_TABLE, H_OLD_SUFFIX, H_SCHEMA_NAME, H_REVERT, H_WORK, H_NCOLS };

/* The old table of a row whose swap happened, as the log names it
 * ("schema.name", the name pg_old_name gives it); "" when the row recorded
 * no suffix: an in-place run, an older osc. */
static void old_table_of(PGresult *r, int i, char *out, size_t outsz)
{
	char old[PG_NAMELEN + 1];
	out[0] = '\0';
	const char *revert = PQgetvalue(r, i, H_REVERT);
	if (strcmp(revert, "revertible") == 0 || strcmp(revert, "reverting") == 0) {
		/* kept in step in the work schema (src/pg/pg_revert_keep.c) */
		names_derive(old, sizeof(old), "_", PQgetvalue(r, i, H_TABLE_NAME), "_osc_orig", PG_NAMELEN);
		snprintf(out, outsz, "%s.%s", PQgetvalue(r, i, H_WORK), old);
		return;
	}
	if (PQgetisnull(r, i, H_OLD_SUFFIX))
		return;
	names_derive(old, sizeof(old), "_", PQgetvalue(r, i, H_TABLE_NAME), PQgetvalue(r, i, H_OLD_SUFFIX), PG_NAMELEN);
	snprintf(out, outsz, "%s.%s", PQgetvalue(r, i, H_SCHEMA_NAME), old);
}

bool pg_history_read(Pg *pg, const char *schema, const char *table, bool latest, History *h, OscErr *e)
{
	PGresult *r = NULL;

	if (!pg_state_exists(pg, &h->recorded, e))
		return false;
	if (!h->recorded)
		return true;
	const char *p[3] = { schema ? schema : "", table ? table : "", latest ? "t" : "f" };
	if (!pg_exec(pg,
	             "SELECT * FROM (SELECT DISTINCT ON (CASE WHEN $3 THEN schema_name || '.' || table_name ELSE id::text END)"
	             "  id, quote_ident(schema_name) || '.' || quote_ident(table_name), alter_spec,"
	             "  to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ'),"
	             "  coalesce(to_char(finished_at, 'YYYY-MM-DD HH24:MI:SS TZ'), ''),"
	             /* "running" with nobody holding the table's advisory lock: the
	              * run died (killed, its connection lost); a rerun resumes it */
	             "  CASE WHEN outcome = 'running' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l"
	             "         WHERE l.locktype = 'advisory' AND l.classid = 7564131 AND l.objsubid = 2 AND l.granted"
	             "           AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())"
	             "           AND l.objid = pg_catalog.hashtext('\"' || replace(schema_name, '\"', '\"\"') || '\".\"'"
	             "                                             || replace(table_name, '\"', '\"\"') || '\"')::oid)"
	             "       THEN 'interrupted' ELSE outcome END, phase, rows_copied,"
	             "  rows_estimate, changes_applied,"
	             "  (extract(epoch FROM coalesce(finished_at, updated_at) - started_at) * 1000)::bigint,"
	             "  coalesce(host, ''), coalesce(pid, 0), runs, coalesce(message, ''),"
	             "  to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS TZ'),"
	             /* the old table exists once the swap happened (an in-place
	              * run has none; the row of an older osc names no suffix) */
	             "  table_name, CASE WHEN phase IN ('swapped', 'done') AND cardinality(key_shadow) > 0"
	             "                   THEN old_suffix END, schema_name,"
	             /* an older osc's table has no revert column */
	             "  coalesce(pg_catalog.to_jsonb(m) ->> 'revert', ''), work_schema"
	             "  FROM osc.migrations m"
	             " WHERE ($2 = '' OR (table_name = $2 AND ($1 = '' OR schema_name = $1)))"
	             " ORDER BY CASE WHEN $3 THEN schema_name || '.' || table_name ELSE id::text END, id DESC) h"
	             " ORDER BY id",
	             3, p, &r, e))
		return false;
	for (int i = 0; i < PQntuples(r); i++) {
		HistoryRow *row = history_add(h);
		for (int c = 0; c < HIST_OLD_TABLE; c++)
			history_set(row, c, PQgetvalue(r, i, c));
		char old[2 * PG_NAMELEN + 4];
		old_table_of(r, i, old, sizeof(old));
		history_set(row, HIST_OLD_TABLE, old);
		const char *revert = PQgetvalue(r, i, H_REVERT);
		history_set(row, HIST_REVERT, revert);
		if (strcmp(revert, "revertible") == 0 || strcmp(revert, "reverting") == 0) {
			/* what a revert would replay: the reverse log's rows */
			PGresult *n = NULL;
			Sql q;
			char rlog[PG_NAMELEN + 1];
			OscErr e2;
			err_clear(&e2);
			names_derive(rlog, sizeof(rlog), "_", PQgetvalue(r, i, H_TABLE_NAME), "_osc_rlog", PG_NAMELEN);
			sql_init(&q, &pg->dialect);
			sql_add(&q, "SELECT count(*) FROM %I.%I", PQgetvalue(r, i, H_WORK), rlog);
			if (pg_exec_sql(pg, &q, &n, &e2))
				history_set(row, HIST_BACKLOG, pg_value(n, 0));
			PQclear(n);
			sql_free(&q);
		}
	}
	PQclear(r);
	return true;
}
