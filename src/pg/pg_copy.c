/*
 * pg_copy.c — the copy's primitives on PostgreSQL (src/core/copy.c runs the
 * chunk loop): the bound of a chunk and the copy of a key range, each one
 * statement (pg_sql.c), and the key values that travel between them.
 *
 * The bound is an index range scan of `limit` entries after the watermark,
 * never OFFSET from the start of the table.  The copy of (lo, hi] streams
 * rows through the server, never through osc.  A row that changes between
 * the two statements is logged by the trigger; its key is at or below the
 * new watermark, so the replay merges it.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

PgKeyVal *pg_key_new(int n, const char *const *v)
{
	PgKeyVal *k = xcalloc(1, sizeof(PgKeyVal));
	k->n = n;
	k->v = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++)
		k->v[i] = xstrdup(v[i] ? v[i] : "");
	return k;
}

void pg_key_free(PgKeyVal *k)
{
	if (k == NULL)
		return;
	for (int i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	free(k);
}

void pg_key_describe(const PgKeyVal *k, char *out, size_t outsz)
{
	size_t n = 0;
	n += (size_t)snprintf(out + n, outsz - n, "(");
	for (int i = 0; i < k->n && n < outsz; i++)
		n += (size_t)snprintf(out + n, outsz - n, "%s%s", i ? ", " : "", k->v[i]);
	if (n < outsz)
		snprintf(out + n, outsz - n, ")");
}

void pg_batch_free(PgBatch *b)
{
	if (b == NULL)
		return;
	for (int k = 0; k < b->nkeys; k++)
		free(b->arrays[k]);
	free(b->arrays);
	free(b);
}

/* "{a,b}" and "{c}" make "{a,b,c}": text[] literals as array_agg()::text
 * prints them, elements already quoted. */
void pg_batch_join(PgBatch *into, PgBatch *more)
{
	for (int k = 0; k < into->nkeys && k < more->nkeys; k++) {
		const char *a = into->arrays[k], *b = more->arrays[k];
		size_t la = strlen(a), lb = strlen(b);
		if (lb <= 2) /* "{}" */
			continue;
		if (la <= 2) {
			free(into->arrays[k]);
			into->arrays[k] = xstrdup(b);
			continue;
		}
		char *j = xasprintf("%.*s,%s", (int)(la - 1), a, b + 1);
		free(into->arrays[k]);
		into->arrays[k] = j;
	}
	into->n += more->n;
	pg_batch_free(more);
}

/* One bound query: skip (the key `limit` rows on; most chunks) or the
 * tail's (the last key and how many rows are left).  *found: a row came. */
static bool bound_query(PgSession *s, Pg *pg, const PgKeyVal *lo, int64_t n, bool skip, PgKeyVal **hi,
                        int64_t *spanned, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	char num[32];
	int np = 0;
	const char **params = xcalloc((size_t)pg->nkeys + 1, sizeof(char *));

	for (int k = 0; lo && k < pg->nkeys; k++)
		params[np++] = lo->v[k];
	snprintf(num, sizeof(num), "%ld", (long)n);
	params[np++] = num;
	sql_init(&q, &pg->dialect);
	if (skip)
		pg_sql_bound_skip(pg, &q, lo != NULL);
	else
		pg_sql_bound(pg, &q, lo != NULL);
	bool ok = !q.failed && pgs_exec(s, sql_text(&q), np, params, &r, e);
	if (q.failed)
		err_set(e, OSC_EXIT_FAILED, "could not quote the copy statement");
	if (ok && PQntuples(r) > 0) {
		const char **v = xcalloc((size_t)pg->nkeys + 1, sizeof(char *));
		for (int k = 0; k < pg->nkeys; k++)
			v[k] = PQgetvalue(r, 0, k);
		*hi = pg_key_new(pg->nkeys, v);
		/* the tail's query counts after the key's columns */
		*spanned = skip ? n + 1 : strtoll(PQgetvalue(r, 0, pg->nkeys), NULL, 10);
		free(v);
	}
	PQclear(r);
	free(params);
	sql_free(&q);
	return ok;
}

bool pg_chunk_bound(PgSession *s, Pg *pg, const PgKeyVal *lo, int64_t limit, PgKeyVal **hi, int64_t *spanned,
                    OscErr *e)
{
	*hi = NULL;
	*spanned = 0;
	if (!bound_query(s, pg, lo, limit - 1, true, hi, spanned, e))
		return false;
	return *hi != NULL || bound_query(s, pg, lo, limit, false, hi, spanned, e);
}

bool pg_copy_range(PgSession *s, Pg *pg, const PgKeyVal *lo, const PgKeyVal *hi, int64_t *rows, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	int np = 0;
	const char **params = xcalloc((size_t)pg->nkeys * 2 + 1, sizeof(char *));

	*rows = 0;
	for (int k = 0; lo && k < pg->nkeys; k++)
		params[np++] = lo->v[k];
	for (int k = 0; k < pg->nkeys; k++)
		params[np++] = hi->v[k];
	sql_init(&q, &pg->dialect);
	pg_sql_copy_range(pg, &q, lo != NULL);
	bool ok = !q.failed && pgs_exec(s, sql_text(&q), np, params, &r, e);
	if (q.failed)
		err_set(e, OSC_EXIT_FAILED, "could not quote the copy statement");
	if (ok)
		*rows = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	free(params);
	sql_free(&q);
	return ok;
}

/* The shadow's rows above a key (all of them without one): what chunks of
 * a parallel copy committed above the checkpoint, which a resumed or a
 * fallen-back copy writes again (src/core/copy_wave.c). */
bool pg_shadow_trim(PgSession *s, Pg *pg, const PgKeyVal *above, int64_t *rows, OscErr *e)
{
	Sql q;
	PGresult *r = NULL;
	*rows = 0;
	sql_init(&q, &pg->dialect);
	pg_sql_trim(pg, &q, above != NULL);
	bool ok = !q.failed && pgs_exec(s, sql_text(&q), above ? above->n : 0,
	                                above ? (const char *const *)above->v : NULL, &r, e);
	if (q.failed)
		err_set(e, OSC_EXIT_FAILED, "could not quote the trim statement");
	if (ok)
		*rows = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	sql_free(&q);
	return ok;
}
