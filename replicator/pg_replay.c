/*
 * pg_replay.c — applying captured changes to the shadow on PostgreSQL.
 *
 * A batch, in one transaction:
 *   1. delete up to N rows from the log, oldest first, returning their keys
 *      as arrays (only what this statement saw is consumed; a change that
 *      commits meanwhile stays in the log for the next batch: no watermark
 *      over ids, which are assigned at insert, not at commit);
 *   2. delete those keys from the shadow;
 *   3. insert the current rows of those keys from the original.
 * Step 3 runs after step 1 in a later snapshot, so it sees at least every
 * change whose log row step 1 consumed.  Merging from the source makes the
 * batch idempotent and blind to order and duplicates.
 *
 * Keys beyond the copy's watermark are consumed and dropped: the copy has
 * not reached them, and when it does it reads them at a later snapshot.
 * Once the copy is done, every key is merged.
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
		if (!pg_command(pg, pg_verify_begin(pg), e))
			goto out;
		began = true;
	}
	snprintf(lim, sizeof(lim), "%ld", (long)limit);
	params[0] = lim;
	sql_add(&q, "WITH d AS (DELETE FROM %I.%I WHERE _osc_change_id = ANY (ARRAY("
	            "SELECT _osc_change_id FROM %I.%I ORDER BY _osc_change_id LIMIT $1)) RETURNING ",
	        pg->work, pg->log, pg->work, pg->log);
	pg_key_list(pg, &q, NULL, false);
	sql_add(&q, "), k AS (SELECT DISTINCT ");
	pg_key_list(pg, &q, NULL, false);
	sql_add(&q, " FROM d");
	int nparams = 1;
	if (!pg->copy_done && pg->watermark == NULL) {
		sql_add(&q, " WHERE false");
	} else if (!pg->copy_done) {
		sql_add(&q, " WHERE ");
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
	sql_add(&q, " FROM k");
	if (q.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the replay statement");
		goto out;
	}
	if (!pg_exec(pg, sql_text(&q), nparams, params, &r, e))
		goto out;
	*applied = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
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

/* A batch whose merged rows differ from the original is rolled back (its log
 * rows come back) and merged once more; a second difference aborts. */
bool pg_replay(Pg *pg, int64_t limit, int64_t *applied, OscErr *e)
{
	for (int attempt = 1;; attempt++) {
		pg->verify_mismatch = false;
		if (pg_replay_batch(pg, limit, applied, false, e))
			return true;
		if (!pg->verify_mismatch || attempt == 2)
			return false;
		log_msg(&pg->osc->log, LOG_WARN, "%s; merging the batch again", e->msg);
		pg->recopied++;
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
