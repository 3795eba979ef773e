/*
 * pg_verify.c — proving on PostgreSQL that the shadow holds the transformed
 * rows of the original (--verify checksum|count|none).
 *
 * A comparison is one statement over both tables:
 *   SELECT a.n, b.n, a.h IS NOT DISTINCT FROM b.h
 *     FROM (SELECT count(*), sum(h(ROW(CAST(expr AS shadow type), ...)))
 *             FROM ONLY orig src WHERE <scope>) a,
 *          (SELECT count(*), sum(h(ROW(s.col, ...))) FROM shadow s WHERE <scope>) b
 * where h is a 64-bit row hash: hash_record_extended(), which hashes each
 * column's value with its type's own hash function, when the server has it
 * (PostgreSQL 14) and every compared type is a plain scalar one that has a
 * hash function; otherwise hashtextextended() of the row's text.  Measured
 * on a million rows, the comparison took 1.1 s with the first and 4.0 s
 * with the second (the text output of every column is the cost; md5 of it
 * was slower still).  A sum is blind to row order, so neither side needs
 * sorting.  The original's side goes
 * through the copy's own column expressions (a USING expression, a rename),
 * cast to the shadow's type, so both sides print the same text.  Columns the
 * shadow computes itself (new columns, generated ones) are not compared.
 *
 * The comparison must see both tables at one instant, or a concurrent write
 * to the original shows up as a false mismatch.  So it runs inside the
 * transaction that wrote the rows, right after the write:
 *   - a chunk: the chunk's transaction is REPEATABLE READ, so its INSERT ...
 *     SELECT and the comparison share one snapshot, and the range
 *     (watermark, hi] of the shadow holds exactly what the chunk inserted
 *     (the replayer never writes keys above the watermark);
 *   - a replay batch: the same, over the batch's keys (REPEATABLE READ);
 *   - the drain under the swap's ACCESS EXCLUSIVE lock: the keys drained
 *     there, compared with the writers locked out.  That is the final delta:
 *     every row of the shadow was compared when it was last written.
 * What a difference leads to is the core's rule (src/core/verify.c): the
 * write is made again once, a second difference stops the run.
 * A USING expression that is volatile (random(), clock_timestamp()) cannot
 * be recomputed to the same value: such an ALTER needs --verify count.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* The shadow's type of each copied column, parallel to pg->cols, and how
 * rows are hashed; once, on the session of the first comparison, inside
 * its transaction. */
static bool load_types(PgSession *s, Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	const char *p[2] = { pg->work, pg->shadow };

	if (pg->col_types)
		return true;
	/* the third column: a scalar type (a base type that is no array, or an
	 * enum, maybe under one domain), whose hash function, if it has one, is
	 * found when hash_record_extended() meets the type, NULL or not */
	if (!pgs_exec(s,
	             "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
	             "       (b.typtype = 'e' OR (b.typtype = 'b' AND b.typcategory <> 'A'))"
	             "  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
	             "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	             "  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	             "  JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
	             " WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
	             2, p, &r, e))
		return false;
	pg->col_types = xcalloc((size_t)pg->ncols + 1, sizeof(char *));
	bool scalar = true;
	for (int i = 0; i < pg->ncols; i++)
		for (int j = 0; j < PQntuples(r); j++)
			if (strcmp(PQgetvalue(r, j, 0), pg->cols[i].name) == 0) {
				pg->col_types[i] = pg_strdup(PQgetvalue(r, j, 1));
				scalar = scalar && PQgetvalue(r, j, 2)[0] == 't';
			}
	PQclear(r);
	for (int i = 0; i < pg->ncols; i++)
		if (pg->col_types[i] == NULL) {
			err_set(e, OSC_EXIT_FAILED, "verify: column %s is not in the shadow table", pg->cols[i].name);
			return false;
		}
	pg->hash_record = false;
	if (pg->env->verify != VERIFY_CHECKSUM)
		return true;
	if (!scalar || PQserverVersion(s->conn) < 140000) {
		log_msg(pg->log, LOG_INFO, "verify (checksum): rows hashed by their text (%s)",
		        scalar ? "PostgreSQL before 14 has no hash_record_extended" : "a column is an array, a range or a composite");
		return true;
	}
	/* a type without a hash function (json, point, ...) fails here, in a
	 * savepoint of the chunk's transaction: then the row's text is hashed */
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "SELECT pg_catalog.hash_record_extended(ROW(");
	for (int i = 0; i < pg->ncols; i++)
		sql_add(&q, "%sNULL::%s", i ? ", " : "", pg->col_types[i]); /* format_type()'s output */
	sql_add(&q, "), 0)");
	OscErr pe;
	err_clear(&pe);
	bool ok = pgs_command(s, "SAVEPOINT osc_hash_probe", e);
	if (ok && pgs_command(s, sql_text(&q), &pe)) {
		pg->hash_record = true;
		ok = pgs_command(s, "RELEASE SAVEPOINT osc_hash_probe", e);
	} else if (ok) {
		ok = pgs_command(s, "ROLLBACK TO SAVEPOINT osc_hash_probe", e) &&
		     pgs_command(s, "RELEASE SAVEPOINT osc_hash_probe", e);
	}
	sql_free(&q);
	if (ok)
		log_msg(pg->log, LOG_INFO, "verify (checksum): rows hashed %s",
		        pg->hash_record ? "by their values (hash_record_extended)"
		                        : "by their text (a column's type has no hash function of its own)");
	return ok;
}

void pg_verify_free(Pg *pg)
{
	if (pg->col_types == NULL)
		return;
	for (int i = 0; i < pg->ncols; i++)
		free(pg->col_types[i]);
	free(pg->col_types);
	pg->col_types = NULL;
}

/* The parameters of a range (lo, hi]: lo's columns (when lo), then hi's. */
static const char **range_params(const PgKeyVal *lo, const PgKeyVal *hi, int *np)
{
	const char **params = xcalloc((size_t)hi->n * 2 + 1, sizeof(char *));
	*np = 0;
	for (int k = 0; lo && k < lo->n; k++)
		params[(*np)++] = lo->v[k];
	for (int k = 0; k < hi->n; k++)
		params[(*np)++] = hi->v[k];
	return params;
}

/* Runs the comparison built in q; *same, and a sentence for a mismatch. */
static bool compare(PgSession *s, Sql *q, int np, const char *const *params, bool *same, char *why, size_t whysz,
                    OscErr *e)
{
	PGresult *r = NULL;
	if (q->failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the verification statement");
		return false;
	}
	if (!pgs_exec(s, sql_text(q), np, params, &r, e))
		return false;
	const char *na = PQgetvalue(r, 0, 0), *nb = PQgetvalue(r, 0, 1);
	*same = strcmp(na, nb) == 0 && PQgetvalue(r, 0, 2)[0] == 't';
	if (!*same)
		snprintf(why, whysz, "the original has %s row(s), the new table %s%s", na, nb,
		         strcmp(na, nb) == 0 ? ", with different contents (checksums differ)" : "");
	PQclear(r);
	return true;
}

bool pg_damage_range(PgSession *s, Pg *pg, const PgKeyVal *lo, const PgKeyVal *hi, OscErr *e)
{
	/* the first non-key column */
	const char *col = NULL;
	for (int i = 0; i < pg->ncols && col == NULL; i++) {
		col = pg->cols[i].name;
		for (int k = 0; k < pg->nkeys && col != NULL; k++)
			if (strcmp(pg->keys[k].shadow_name, col) == 0)
				col = NULL;
	}
	if (col == NULL)
		return true;
	Sql q;
	PGresult *r = NULL;
	int np;
	const char **params = range_params(lo, hi, &np);
	sql_init(&q, &pg->dialect);
	pg_sql_damage(pg, &q, col, lo != NULL);
	bool ok = pgs_exec(s, sql_text(&q), np, params, &r, e);
	if (ok)
		log_msg(pg->log, LOG_WARN, "fault injection: set %s to NULL in %s row of the shadow", col, PQcmdTuples(r));
	PQclear(r);
	sql_free(&q);
	free(params);
	return ok;
}

bool pg_check_range(PgSession *s, Pg *pg, const PgKeyVal *lo, const PgKeyVal *hi, bool *same, char *why,
                    size_t whysz, OscErr *e)
{
	Sql q;
	int np;

	*same = true;
	if (!load_types(s, pg, e))
		return false;
	const char **params = range_params(lo, hi, &np);
	sql_init(&q, &pg->dialect);
	pg_sql_check(pg, &q, pg->env->verify == VERIFY_CHECKSUM, false, lo != NULL);
	bool ok = compare(s, &q, np, params, same, why, whysz, e);
	sql_free(&q);
	free(params);
	return ok;
}

bool pg_check_batch(PgSession *s, Pg *pg, const PgBatch *b, bool *same, char *why, size_t whysz, OscErr *e)
{
	Sql q;

	*same = true;
	if (b->n == 0)
		return true;
	if (!load_types(s, pg, e))
		return false;
	sql_init(&q, &pg->dialect);
	pg_sql_check(pg, &q, pg->env->verify == VERIFY_CHECKSUM, true, false);
	bool ok = compare(s, &q, pg->nkeys, (const char *const *)b->arrays, same, why, whysz, e);
	sql_free(&q);
	return ok;
}
