/*
 * pg_replay.c — applying captured changes to the shadow on PostgreSQL.
 *
 * A batch, in one REPEATABLE READ transaction (one snapshot for all of it):
 *   1. delete up to N rows from the log, oldest first, returning their keys
 *      as arrays (only what this statement saw is consumed; a change that
 *      commits meanwhile stays in the log for the next batch: no watermark
 *      over ids, which are assigned at insert, not at commit);
 *   2. delete those keys from the shadow;
 *   3. insert the current rows of those keys from the original.
 * Step 3 sees the same snapshot as step 1, so every change whose log row
 * step 1 consumed.  Merging from the source makes the batch idempotent and
 * blind to order and duplicates.
 *
 * Keys beyond the copy's watermark are consumed and dropped: the copy has
 * not reached them, and when it does it reads them at a later snapshot.
 * Once the copy is done, every key is merged.
 *
 * TRUNCATE: its statement trigger logs a marker row.  When a batch consumes
 * it, the shadow is emptied before the batch's keys are merged.  That is
 * exact: every row the original holds after the TRUNCATE was written after
 * it, and so has a log row with a larger id than the marker (ids come from
 * one sequence, and nobody writes the table while TRUNCATE holds it); the
 * batches consume the log in id order, so none of those rows was merged
 * before the marker, and they are all merged after it (the copy's rows
 * above the watermark come from later snapshots, as always).
 *
 * UNIQUE keys of the new table: a batch merges only part of the pending
 * keys, and the rest of the shadow may still hold rows older than the
 * snapshot.  Two rows that swap a unique value in one transaction can then
 * meet in the shadow when their log rows fall into two batches: a
 * duplicate that no snapshot of the original ever had.  So a duplicate in a
 * batch is not taken at its word: the batch is rolled back, and every key
 * pending in the log is merged at once, in one snapshot (its shadow rows are
 * removed first, then the log is consumed batch by batch).  The shadow then
 * equals the original at that snapshot, so a duplicate that remains is in
 * the original itself, and the run fails naming the key.
 */
#include "pg.h"

#include <stdlib.h>
#include <string.h>

void pg_unnest_keys(Pg *pg, Sql *q, int first)
{
	sql_add(q, "(SELECT * FROM unnest(");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, "%s$%d::%s[]", k ? ", " : "", first + k, pg->keys[k].type);
	sql_add(q, "))");
}

bool pg_replay_batch(Pg *pg, int64_t limit, int64_t *applied, bool in_txn, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	bool ok = false, began = false;
	char lim[32];
	const char **params = calloc((size_t)pg->nkeys + 1, sizeof(char *));
	char **arrays = calloc((size_t)pg->nkeys, sizeof(char *));

	if (params == NULL || arrays == NULL)
		abort();
	*applied = 0;
	sql_init(&q, &pg->dialect);
	if (!in_txn) {
		if (!pg_command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ", e))
			goto out;
		began = true;
	}
	snprintf(lim, sizeof(lim), "%ld", (long)limit);
	params[0] = lim;
	sql_add(&q, "WITH d AS (DELETE FROM %I.%I WHERE _osc_change_id = ANY (ARRAY("
	            "SELECT _osc_change_id FROM %I.%I ORDER BY _osc_change_id LIMIT $1)) RETURNING _osc_truncate, ",
	        pg->work, pg->log, pg->work, pg->log);
	pg_key_list(pg, &q, NULL, false);
	sql_add(&q, "), k AS (SELECT DISTINCT ");
	pg_key_list(pg, &q, NULL, false);
	sql_add(&q, " FROM d WHERE NOT _osc_truncate");
	int nparams = 1;
	if (!pg->copy_done && pg->watermark == NULL) {
		sql_add(&q, " AND false");
	} else if (!pg->copy_done) {
		sql_add(&q, " AND ");
		pg_key_tuple(pg, &q, NULL, false);
		sql_add(&q, " <= ");
		pg_param_tuple(pg, &q, 2, "");
		for (int k = 0; k < pg->nkeys; k++)
			params[1 + k] = pg->watermark[k];
		nparams += pg->nkeys;
	}
	sql_add(&q, ") SELECT (SELECT count(*) FROM d), count(*)");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(&q, ", array_agg(%I)::text", pg->keys[k].name);
	sql_add(&q, ", (SELECT coalesce(bool_or(_osc_truncate), false) FROM d) FROM k");
	if (q.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the replay statement");
		goto out;
	}
	if (!pg_exec(pg, sql_text(&q), nparams, params, &r, e))
		goto out;
	*applied = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (PQgetvalue(r, 0, 2 + pg->nkeys)[0] == 't') {
		/* a TRUNCATE of the original: the shadow follows (see above) */
		sql_reset(&q);
		sql_add(&q, "TRUNCATE %I.%I", pg->work, pg->shadow);
		if (!pg_exec_sql(pg, &q, NULL, e))
			goto out;
		log_msg(&pg->osc->log, LOG_INFO,
		        "a TRUNCATE of %s.%s was captured: the new table was emptied as well; the changes made since "
		        "are merged as usual",
		        pg->schema, pg->table);
	}
	if (strcmp(PQgetvalue(r, 0, 1), "0") != 0) {
		for (int k = 0; k < pg->nkeys; k++)
			arrays[k] = pg_strdup(PQgetvalue(r, 0, 2 + k));
		PQclear(r);
		r = NULL;

		sql_reset(&q);
		sql_add(&q, "DELETE FROM %I.%I s WHERE ", pg->work, pg->shadow);
		pg_key_tuple(pg, &q, "s", true);
		sql_add(&q, " IN ");
		pg_unnest_keys(pg, &q, 1);
		if (!pg_exec(pg, sql_text(&q), pg->nkeys, (const char *const *)arrays, NULL, e))
			goto out;

		sql_reset(&q);
		pg_copy_head(pg, &q);
		sql_add(&q, " WHERE ");
		pg_key_tuple(pg, &q, "src", false);
		sql_add(&q, " IN ");
		pg_unnest_keys(pg, &q, 1);
		if (q.failed) {
			err_set(e, OSC_EXIT_FAILED, "could not quote the replay statement");
			goto out;
		}
		if (!pg_exec(pg, sql_text(&q), pg->nkeys, (const char *const *)arrays, NULL, e)) {
			if (strcmp(e->sqlstate, "23505") == 0 || strcmp(e->sqlstate, "23P01") == 0) {
				err_wrap(e, OSC_EXIT_FAILED, "a row written during the migration violates the new table's constraints: ",
				         "; nothing was changed, no row was dropped");
				snprintf(e->sqlstate, sizeof(e->sqlstate), "23505");
			}
			goto out;
		}
		/* the merged keys, compared in the snapshot that merged them (or
		 * under the swap's lock) */
		bool same;
		char why[256];
		if (!pg_verify_keys(pg, arrays, &same, why, sizeof(why), e))
			goto out;
		if (!same) {
			pg->verify_mismatch = true;
			err_set(e, OSC_EXIT_FAILED,
			        "verification: the rows just merged from the change log differ from the original: %s", why);
			goto out;
		}
	}
	if (began && !pg_command(pg, "COMMIT", e))
		goto out;
	began = false;
	ok = true;
out:
	if (began)
		pg_rollback(pg);
	PQclear(r);
	for (int k = 0; k < pg->nkeys; k++)
		free(arrays[k]);
	free(arrays);
	free(params);
	sql_free(&q);
	return ok;
}

static bool is_duplicate(const OscErr *e)
{
	return strcmp(e->sqlstate, "23505") == 0 || strcmp(e->sqlstate, "23P01") == 0;
}

bool pg_replay_all(Pg *pg, int64_t *applied, bool in_txn, OscErr *e)
{
	Sql q;
	bool ok = false, began = false;
	int64_t n;

	*applied = 0;
	sql_init(&q, &pg->dialect);
	if (!in_txn) {
		if (!pg_command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ", e))
			goto out;
		began = true;
	}
	/* every pending key's row leaves the shadow first: no stale row is left
	 * for a merged one to collide with (markers have no key: IN skips them) */
	sql_add(&q, "DELETE FROM %I.%I s WHERE ", pg->work, pg->shadow);
	pg_key_tuple(pg, &q, "s", true);
	sql_add(&q, " IN (SELECT ");
	pg_key_list(pg, &q, "l", false);
	sql_add(&q, " FROM %I.%I l)", pg->work, pg->log);
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;
	do {
		if (!pg_replay_batch(pg, 10000, &n, true, e))
			goto out;
		*applied += n;
	} while (n > 0);
	if (began && !pg_command(pg, "COMMIT", e))
		goto out;
	began = false;
	ok = true;
out:
	if (began)
		pg_rollback(pg);
	sql_free(&q);
	return ok;
}

/* A batch whose merged rows differ from the original is rolled back (its log
 * rows come back) and merged once more; a second difference aborts.  A
 * duplicate under the new table's keys sends every pending change through
 * at once (see above). */
bool pg_replay(Pg *pg, int64_t limit, int64_t *applied, OscErr *e)
{
	if (!pg_ddl_check(pg, false, false, e))
		return false;
	for (int attempt = 1;; attempt++) {
		pg->verify_mismatch = false;
		if (pg_replay_batch(pg, limit, applied, false, e))
			return true;
		if (is_duplicate(e)) {
			log_msg(&pg->osc->log, LOG_INFO,
			        "a merged batch met a duplicate under the new table's keys (%s); rows that change together "
			        "may sit in two batches: merging every pending change at once",
			        e->msg);
			err_clear(e);
			return pg_replay_all(pg, applied, false, e);
		}
		if (!pg->verify_mismatch || attempt == 2)
			return false;
		log_msg(&pg->osc->log, LOG_WARN, "%s; merging the batch again", e->msg);
		pg->recopied++;
		summary_verify_mismatch(pg->osc);
		err_clear(e);
	}
}

bool pg_backlog(Pg *pg, int64_t *n, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	bool ok;

	sql_init(&q, &pg->dialect);
	/* counting is bounded: a huge backlog is reported as "at least" */
	sql_add(&q, "SELECT count(*) FROM (SELECT 1 FROM %I.%I LIMIT 1000000) b", pg->work, pg->log);
	ok = pg_exec_sql(pg, &q, &r, e);
	if (ok)
		*n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	sql_free(&q);
	return ok;
}
