/*
 * pg_replay.c — the replay's primitives on PostgreSQL (replicator/replay.c
 * runs the batches): take a batch of logged keys, merge keys, count the
 * backlog, and merge everything pending at once.
 *
 * A batch runs in one REPEATABLE READ transaction (one snapshot for all of
 * it): the take deletes up to N log rows, oldest first, returning their keys
 * as arrays (only what this statement saw is consumed: a change that commits
 * meanwhile stays for the next batch); the merge deletes those keys from the
 * shadow and inserts their current rows from the original, which it sees in
 * the same snapshot as the take, so every change whose log row the take
 * consumed.
 *
 * TRUNCATE: its statement trigger logs a marker row.  When a take consumes
 * it, the shadow is emptied before the batch's keys are merged.  That is
 * exact: every row the original holds after the TRUNCATE was written after
 * it, and so has a log row with a larger id than the marker (ids come from
 * one sequence, and nobody writes the table while TRUNCATE holds it); the
 * batches consume the log in id order, so none of those rows was merged
 * before the marker, and they are all merged after it (the copy's rows
 * above the watermark come from later snapshots, as always).
 *
 * Everything pending at once (pg_merge_pending, the engine's merge_stale):
 * a duplicate under a new unique key may come from two rows that traded a
 * value while their log rows sit in two batches.  Every pending key's row
 * leaves the shadow first, then the whole log is merged in one snapshot:
 * the shadow then equals the original at that snapshot, so a duplicate
 * that remains is in the original itself.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

bool pg_log_take(PgSession *s, Pg *pg, const PgKeyVal *wm, bool copy_done, int64_t limit, PgBatch **b,
                 int64_t *taken, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	bool ok = false;
	char lim[32];
	const char **params = xcalloc((size_t)pg->nkeys + 1, sizeof(char *));
	PgTakeKeys keys = copy_done ? PG_TAKE_ALL : wm ? PG_TAKE_UPTO : PG_TAKE_NONE;

	*b = NULL;
	*taken = 0;
	snprintf(lim, sizeof(lim), "%ld", (long)limit);
	params[0] = lim;
	int np = 1;
	for (int k = 0; keys == PG_TAKE_UPTO && k < pg->nkeys; k++)
		params[np++] = wm->v[k];
	sql_init(&q, &pg->dialect);
	pg_sql_take(pg, &q, keys);
	if (q.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the replay statement");
		goto out;
	}
	if (!pgs_exec(s, sql_text(&q), np, params, &r, e))
		goto out;
	*taken = strtoll(PQgetvalue(r, 0, PG_TAKE_TAKEN), NULL, 10);
	if (PQgetvalue(r, 0, PG_TAKE_KEY0 + pg->nkeys)[0] == 't') {
		/* a TRUNCATE of the original: the shadow follows (see the banner) */
		sql_reset(&q);
		sql_add(&q, "TRUNCATE %I.%I", pg->work, pg->shadow);
		if (!pgs_exec_sql(s, &q, NULL, e))
			goto out;
		log_msg(pg->log, LOG_INFO,
		        "a TRUNCATE of %s.%s was captured: the new table was emptied as well; the changes made since "
		        "are merged as usual",
		        pg->schema, pg->table);
	}
	if (*taken > 0) {
		PgBatch *nb = xcalloc(1, sizeof(PgBatch));
		nb->nkeys = pg->nkeys;
		nb->arrays = xcalloc((size_t)pg->nkeys + 1, sizeof(char *));
		nb->n = strtoll(PQgetvalue(r, 0, PG_TAKE_NKEYS), NULL, 10);
		for (int k = 0; k < pg->nkeys; k++)
			nb->arrays[k] = xstrdup(nb->n > 0 ? PQgetvalue(r, 0, PG_TAKE_KEY0 + k) : "{}");
		*b = nb;
	}
	ok = true;
out:
	PQclear(r);
	free(params);
	sql_free(&q);
	return ok;
}

/* The keys of b, taken at or below the watermark already. */
/* A revert's merge met a value the original cannot hold: the batch's keys
 * one at a time, each in a savepoint rolled back, until one fails; e then
 * names it (src/pg/pg_revert.c).  insert: the merge's INSERT. */
static void name_the_key(PgSession *s, Pg *pg, const PgBatch *b, Sql *insert, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	OscErr e2;

	err_clear(&e2);
	sql_init(&q, &pg->dialect);
	/* each key as one-element arrays, quoted by the server */
	sql_add(&q, "SELECT ");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(&q, "%sARRAY[u.k%d]::text, u.k%d::text", k ? ", " : "", k, k);
	sql_add(&q, " FROM ");
	pg_unnest_keys(pg, &q, 1);
	sql_add(&q, " u(");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(&q, "%sk%d", k ? ", " : "", k);
	sql_add(&q, ")");
	if (pg->nkeys > 32 || !pgs_command(s, "ROLLBACK TO SAVEPOINT osc_back", &e2) ||
	    !pgs_exec(s, sql_text(&q), pg->nkeys, (const char *const *)b->arrays, &r, &e2))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *one[32];
		for (int k = 0; k < pg->nkeys && k < 32; k++)
			one[k] = PQgetvalue(r, i, 2 * k);
		if (!pgs_command(s, "SAVEPOINT osc_key", &e2))
			goto out;
		OscErr why;
		err_clear(&why);
		bool fine = pgs_exec_sql_params(s, insert, pg->nkeys, one, &why);
		if (!pgs_command(s, "ROLLBACK TO SAVEPOINT osc_key", &e2))
			goto out;
		if (fine)
			continue;
		char key[512];
		size_t n = (size_t)snprintf(key, sizeof(key), "(");
		for (int k = 0; k < pg->nkeys && n < sizeof(key); k++)
			n += (size_t)snprintf(key + n, sizeof(key) - n, "%s%s", k ? ", " : "", PQgetvalue(r, i, 2 * k + 1));
		if (n < sizeof(key))
			snprintf(key + n, sizeof(key) - n, ")");
		char sqlstate[sizeof(why.sqlstate)];
		snprintf(sqlstate, sizeof(sqlstate), "%s", why.sqlstate);
		err_set(e, OSC_EXIT_INPUT, "the row with key %s of %s.%s cannot go back into the original: %s", key,
		        pg->schema, pg->table, why.msg);
		snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", sqlstate);
		break;
	}
out:
	PQclear(r);
	sql_free(&q);
}

bool pg_merge(PgSession *s, Pg *pg, const PgBatch *b, OscErr *e)
{
	Sql q;
	bool ok = false;

	if (b->n == 0)
		return true;
	sql_init(&q, &pg->dialect);
	pg_sql_merge_delete(pg, &q);
	if (!pgs_exec_sql_params(s, &q, pg->nkeys, (const char *const *)b->arrays, e))
		goto out;
	sql_reset(&q);
	pg_sql_merge_insert(pg, &q);
	if (pg->reverse && !pgs_command(s, "SAVEPOINT osc_back", e))
		goto out;
	ok = pgs_exec_sql_params(s, &q, pg->nkeys, (const char *const *)b->arrays, e);
	if (!ok && pg->reverse && pg_is_data_error(e))
		name_the_key(s, pg, b, &q, e);
out:
	sql_free(&q);
	return ok;
}

bool pg_merge_pending(PgSession *s, Pg *pg, int64_t *consumed, OscErr *e)
{
	Sql q;
	bool ok = false;
	PgBatch *b = NULL;
	int64_t n;

	*consumed = 0;
	sql_init(&q, &pg->dialect);
	if (!pgs_begin(s, true, e))
		goto out;
	/* every pending key's row leaves the shadow first: no stale row is left
	 * for a merged one to collide with */
	pg_sql_unmerge_pending(pg, &q);
	if (!pgs_exec_sql(s, &q, NULL, e))
		goto rollback;
	do {
		if (!pg_log_take(s, pg, NULL, true, 10000, &b, &n, e) || (b && !pg_merge(s, pg, b, e)))
			goto rollback;
		if (b && pg->env->verify != VERIFY_NONE) {
			bool same;
			char why[256];
			if (!pg_check_batch(s, pg, b, &same, why, sizeof(why), e))
				goto rollback;
			if (!same) {
				err_set(e, OSC_EXIT_FAILED,
				        "verification: the rows just merged from the change log differ from the original: %s", why);
				goto rollback;
			}
		}
		pg_batch_free(b);
		b = NULL;
		*consumed += n;
	} while (n > 0);
	if (!pgs_commit(s, e))
		goto rollback;
	ok = true;
	goto out;
rollback:
	pgs_abort(s);
	*consumed = 0;
out:
	pg_batch_free(b);
	sql_free(&q);
	return ok;
}

bool pg_backlog(PgSession *s, Pg *pg, int64_t *n, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	bool ok;

	sql_init(&q, &pg->dialect);
	/* counting is bounded: a huge backlog is reported as "at least" */
	sql_add(&q, "SELECT count(*) FROM (SELECT 1 FROM %I.%I LIMIT 1000000) b", pg->work, pg->log_table);
	ok = pgs_exec_sql(s, &q, &r, e);
	if (ok)
		*n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	sql_free(&q);
	return ok;
}
