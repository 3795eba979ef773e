/*
 * pg_copy.c — the bulk copy on PostgreSQL: keyset chunks in key order.
 *
 * A chunk is two statements, each its own short transaction:
 *   SELECT the key of the limit-th row after the watermark (an index range
 *   scan of `limit` entries: never OFFSET from the start of the table), then
 *   INSERT INTO shadow SELECT ... FROM ONLY orig WHERE key > watermark AND
 *   key <= that key.
 * Rows stream through the server, never through osc.  A row that changes
 * between the two statements is logged by the trigger; its key is at or
 * below the new watermark, so the replayer merges it.
 *
 * The copy is done after the chunk that found fewer than `limit` rows above
 * the watermark (or none): it took every row that existed then.  A row
 * committed after that SELECT was logged by the trigger in its transaction,
 * and the replayer merges every key once the copy is done.  (Waiting until
 * no row at all is left above the watermark never ends while the
 * application inserts a row per chunk cycle: a 10M-row bench run chased
 * the writer's inserts for minutes.)
 */
#include "pg.h"

#include <stdlib.h>
#include <string.h>

static void order_by(Pg *pg, Sql *q, const char *alias, const char *dir)
{
	sql_add(q, " ORDER BY ");
	for (int k = 0; k < pg->nkeys; k++) {
		if (k)
			sql_add(q, ", ");
		if (alias)
			sql_add(q, "%I.", alias);
		sql_add(q, "%I%s", pg->keys[k].name, dir);
	}
}

bool pg_copy_chunk(Pg *pg, int64_t limit, int64_t *rows, bool *done, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	bool ok = false;
	char lim[32];
	int nk = pg->nkeys;
	const char **params = calloc((size_t)nk * 2 + 1, sizeof(char *));
	char **hi = calloc((size_t)nk, sizeof(char *));

	if (params == NULL || hi == NULL)
		abort();
	*rows = 0;
	*done = false;
	sql_init(&q, &pg->dialect);
	/* DDL by another session since the shadow was made: stop before copying more */
	if (!pg_ddl_check(pg, false, false, e))
		goto out;

	/* 1. the upper bound of this chunk, and how many rows it spans (fewer
	 * than limit: the last chunk) */
	int np = 0;
	/* the columns, not a row constructor, which would come back as one record */
	sql_add(&q, "SELECT b.*, count(*) OVER () FROM (SELECT ");
	pg_key_list(pg, &q, "src", false);
	sql_add(&q, " FROM ONLY %I.%I src", pg->schema, pg->table);
	if (pg->watermark) {
		sql_add(&q, " WHERE ");
		pg_key_tuple(pg, &q, "src", false);
		sql_add(&q, " > ");
		pg_param_tuple(pg, &q, 1, "");
		for (int k = 0; k < nk; k++)
			params[np++] = pg->watermark[k];
	}
	order_by(pg, &q, "src", "");
	snprintf(lim, sizeof(lim), "%ld", (long)limit);
	params[np++] = lim;
	sql_add(&q, " LIMIT $%d) b", np);
	order_by(pg, &q, NULL, " DESC");
	sql_add(&q, " LIMIT 1");
	if (q.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the copy statement");
		goto out;
	}
	if (!pg_exec(pg, sql_text(&q), np, params, &r, e))
		goto out;
	if (PQntuples(r) == 0) {
		pg->copy_done = true;
		*done = true;
		ok = true;
		goto out;
	}
	for (int k = 0; k < nk; k++)
		hi[k] = pg_strdup(PQgetvalue(r, 0, k));
	bool last = strtoll(PQgetvalue(r, 0, nk), NULL, 10) < limit;
	PQclear(r);
	r = NULL;

	/* 2. the copy of (watermark, hi] */
	np = 0;
	sql_reset(&q);
	pg_copy_head(pg, &q);
	sql_add(&q, " WHERE ");
	if (pg->watermark) {
		pg_key_tuple(pg, &q, "src", false);
		sql_add(&q, " > ");
		pg_param_tuple(pg, &q, 1, "");
		sql_add(&q, " AND ");
		for (int k = 0; k < nk; k++)
			params[np++] = pg->watermark[k];
	}
	pg_key_tuple(pg, &q, "src", false);
	sql_add(&q, " <= ");
	pg_param_tuple(pg, &q, np + 1, "");
	for (int k = 0; k < nk; k++)
		params[np++] = hi[k];
	if (q.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the copy statement");
		goto out;
	}
	/* the chunk and its checkpoint commit together: a resumed copy starts
	 * exactly where the committed rows end.  Verified, the chunk is compared
	 * with the original in its own snapshot (src/pg/pg_verify.c); a difference
	 * rolls it back and copies it again, a second one aborts. */
	for (int attempt = 1;; attempt++) {
		bool same = true;
		char why[256];
		if (!pg_command(pg, pg_verify_begin(pg), e))
			goto out;
		if (!pg_exec(pg, sql_text(&q), np, params, &r, e) ||
		    !pg_verify_chunk(pg, pg->watermark, hi, attempt, &same, why, sizeof(why), e)) {
			pg_rollback(pg);
			goto out;
		}
		if (same)
			break;
		pg_rollback(pg);
		PQclear(r);
		r = NULL;
		char range[600];
		pg_verify_range_text(pg, pg->watermark, hi, range, sizeof(range));
		if (attempt == 2) {
			err_set(e, OSC_EXIT_FAILED,
			        "verification: the copy of %s differs from the original twice (%s); stopped before the swap",
			        range, why);
			goto out;
		}
		pg->recopied++;
		summary_verify_mismatch(pg->osc);
		log_msg(&pg->osc->log, LOG_WARN, "verification: the copy of %s differs from the original (%s); copying it again",
		        range, why);
	}
	if (!pg_state_checkpoint(pg, hi, pg->osc->progress.rows_copied + strtoll(PQcmdTuples(r), NULL, 10), e) ||
	    !pg_command(pg, "COMMIT", e)) {
		pg_rollback(pg);
		goto out;
	}
	*rows = strtoll(PQcmdTuples(r), NULL, 10);

	/* the watermark moves only once the chunk is committed */
	if (pg->watermark == NULL) {
		pg->watermark = hi;
		hi = NULL;
	} else {
		for (int k = 0; k < nk; k++) {
			free(pg->watermark[k]);
			pg->watermark[k] = hi[k];
		}
		free(hi);
		hi = NULL;
	}
	if (last) {
		pg->copy_done = true;
		*done = true;
	}
	ok = true;
out:
	if (hi) {
		for (int k = 0; k < nk; k++)
			free(hi[k]);
		free(hi);
	}
	PQclear(r);
	free(params);
	sql_free(&q);
	return ok;
}
