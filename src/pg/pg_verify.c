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
 * A chunk that differs is rolled back and copied again; a second difference
 * aborts the run naming the key range (src/pg/pg_copy.c, src/pg/pg_replay.c).
 * A USING expression that is volatile (random(), clock_timestamp()) cannot
 * be recomputed to the same value: such an ALTER needs --verify count.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

/* The shadow's type of each copied column, parallel to pg->cols. */
static bool load_types(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	const char *p[2] = { pg->work, pg->shadow };

	if (pg->col_types)
		return true;
	/* the third column: a scalar type (a base type that is no array, or an
	 * enum, maybe under one domain), whose hash function, if it has one, is
	 * found when hash_record_extended() meets the type, NULL or not */
	if (!pg_exec(pg,
	             "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),"
	             "       (b.typtype = 'e' OR (b.typtype = 'b' AND b.typcategory <> 'A'))"
	             "  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
	             "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	             "  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	             "  JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
	             " WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
	             2, p, &r, e))
		return false;
	pg->col_types = calloc((size_t)pg->ncols + 1, sizeof(char *));
	if (pg->col_types == NULL)
		abort();
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
	if (!scalar || PQserverVersion(pg->conn) < 140000) {
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
	bool ok = pg_command(pg, "SAVEPOINT osc_hash_probe", e);
	if (ok && pg_command(pg, sql_text(&q), &pe)) {
		pg->hash_record = true;
		ok = pg_command(pg, "RELEASE SAVEPOINT osc_hash_probe", e);
	} else if (ok) {
		ok = pg_command(pg, "ROLLBACK TO SAVEPOINT osc_hash_probe", e) &&
		     pg_command(pg, "RELEASE SAVEPOINT osc_hash_probe", e);
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

/* The aggregate over one side: count and, with checksum, the row hash sum. */
static void side(Pg *pg, Sql *q, bool shadow)
{
	sql_add(q, "(SELECT count(*) AS n, ");
	if (pg->env->verify != VERIFY_CHECKSUM) {
		sql_add(q, "NULL::numeric AS h");
	} else {
		sql_add(q, pg->hash_record ? "sum(pg_catalog.hash_record_extended(ROW(" : "sum(pg_catalog.hashtextextended(ROW(");
		for (int i = 0; i < pg->ncols; i++) {
			if (i)
				sql_add(q, ", ");
			if (shadow)
				sql_add(q, "s.%I", pg->cols[i].name);
			else /* expr: built by pg_shadow.c with quoting; the type: format_type()'s output */
				sql_add(q, "CAST(%s AS %s)", pg->cols[i].expr, pg->col_types[i]);
		}
		sql_add(q, pg->hash_record ? "), 0)) AS h" : ")::text, 0)) AS h");
	}
	if (shadow)
		sql_add(q, " FROM %I.%I s WHERE ", pg->work, pg->shadow);
	else
		sql_add(q, " FROM ONLY %I.%I src WHERE ", pg->schema, pg->table);
}

/* (lo, hi] over alias; lo NULL: from the start.  Parameters: lo then hi. */
static void range_cond(Pg *pg, Sql *q, const char *alias, bool shadow, bool has_lo)
{
	if (has_lo) {
		pg_key_tuple(pg, q, alias, shadow);
		sql_add(q, " > ");
		pg_param_tuple(pg, q, 1, "");
		sql_add(q, " AND ");
	}
	pg_key_tuple(pg, q, alias, shadow);
	sql_add(q, " <= ");
	pg_param_tuple(pg, q, has_lo ? pg->nkeys + 1 : 1, "");
}

/* The parameters of range_cond: lo's values (when lo), then hi's (malloc'd). */
static const char **range_params(Pg *pg, char **lo, char **hi, int *np)
{
	const char **params = calloc((size_t)pg->nkeys * 2 + 1, sizeof(char *));
	if (params == NULL)
		abort();
	*np = 0;
	for (int k = 0; lo && k < pg->nkeys; k++)
		params[(*np)++] = lo[k];
	for (int k = 0; k < pg->nkeys; k++)
		params[(*np)++] = hi[k];
	return params;
}

static void keys_cond(Pg *pg, Sql *q, const char *alias, bool shadow)
{
	pg_key_tuple(pg, q, alias, shadow);
	sql_add(q, " IN ");
	pg_unnest_keys(pg, q, 1);
}

/* The comparison statement over one scope: the keys passed as arrays, or
 * the range (lo, hi] (has_lo false: from the start). */
static void statement(Pg *pg, Sql *q, bool by_keys, bool has_lo)
{
	sql_add(q, "SELECT a.n, b.n, a.h IS NOT DISTINCT FROM b.h FROM ");
	for (int shadow = 0; shadow < 2; shadow++) {
		const char *alias = shadow ? "s" : "src";
		side(pg, q, shadow);
		if (by_keys)
			keys_cond(pg, q, alias, shadow);
		else
			range_cond(pg, q, alias, shadow, has_lo);
		sql_add(q, shadow ? ") b" : ") a, ");
	}
}

/* Runs the comparison built in q; *same, and a sentence for a mismatch. */
static bool compare(Pg *pg, Sql *q, int np, const char *const *params, bool *same, char *why, size_t whysz,
                    OscErr *e)
{
	PGresult *r = NULL;
	if (q->failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the verification statement");
		return false;
	}
	if (!pg_exec(pg, sql_text(q), np, params, &r, e))
		return false;
	const char *na = PQgetvalue(r, 0, 0), *nb = PQgetvalue(r, 0, 1);
	*same = strcmp(na, nb) == 0 && PQgetvalue(r, 0, 2)[0] == 't';
	if (!*same)
		snprintf(why, whysz, "the original has %s row(s), the new table %s%s", na, nb,
		         strcmp(na, nb) == 0 ? ", with different contents (checksums differ)" : "");
	PQclear(r);
	return true;
}

static void key_text(Pg *pg, char **key, char *out, size_t outsz)
{
	size_t n = 0;
	if (key == NULL) {
		snprintf(out, outsz, "the start");
		return;
	}
	n += (size_t)snprintf(out + n, outsz - n, "(");
	for (int k = 0; k < pg->nkeys && n < outsz; k++)
		n += (size_t)snprintf(out + n, outsz - n, "%s%s", k ? ", " : "", key[k]);
	if (n < outsz)
		snprintf(out + n, outsz - n, ")");
}

void pg_verify_range_text(Pg *pg, char **lo, char **hi, char *out, size_t outsz)
{
	char a[256], b[256];
	key_text(pg, lo, a, sizeof(a));
	key_text(pg, hi, b, sizeof(b));
	if (lo)
		snprintf(out, outsz, "keys above %s up to %s", a, b);
	else
		snprintf(out, outsz, "keys from the start up to %s", b);
}

/* OSC_FAULT=corrupt-shadow:once|always: the first chunk's first row with a
 * value in its first non-key column loses that value (test only). */
static bool fault_corrupt(Pg *pg, char **lo, char **hi, int attempt, OscErr *e)
{
	const char *f = fault_value("corrupt-shadow");
	if (f == NULL || pg->verified_chunks > 0 || (attempt > 1 && strcmp(f, "always") != 0))
		return true;
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
	const char **params = range_params(pg, lo, hi, &np);
	bool ok;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "UPDATE %I.%I SET %I = NULL WHERE ctid = (SELECT s.ctid FROM %I.%I s WHERE ", pg->work, pg->shadow,
	        col, pg->work, pg->shadow);
	range_cond(pg, &q, "s", true, lo != NULL);
	sql_add(&q, " AND s.%I IS NOT NULL LIMIT 1)", col);
	ok = pg_exec(pg, sql_text(&q), np, params, &r, e);
	if (ok)
		log_msg(pg->log, LOG_WARN, "fault injection: set %s to NULL in %s row of the shadow (attempt %d)", col,
		        PQcmdTuples(r), attempt);
	PQclear(r);
	sql_free(&q);
	free(params);
	return ok;
}

bool pg_verify_chunk(Pg *pg, char **lo, char **hi, int attempt, bool *same, char *why, size_t whysz, OscErr *e)
{
	Sql q;
	bool ok;
	const char **params;
	int np;

	*same = true;
	if (pg->env->verify == VERIFY_NONE)
		return true;
	if (!fault_corrupt(pg, lo, hi, attempt, e) || !load_types(pg, e))
		return false;
	params = range_params(pg, lo, hi, &np);
	sql_init(&q, &pg->dialect);
	statement(pg, &q, false, lo != NULL);
	ok = compare(pg, &q, np, params, same, why, whysz, e);
	if (ok && *same)
		pg->verified_chunks++;
	sql_free(&q);
	free(params);
	return ok;
}

bool pg_verify_keys(Pg *pg, char **arrays, bool *same, char *why, size_t whysz, OscErr *e)
{
	Sql q;
	bool ok;

	*same = true;
	if (pg->env->verify == VERIFY_NONE)
		return true;
	if (!load_types(pg, e))
		return false;
	sql_init(&q, &pg->dialect);
	statement(pg, &q, true, false);
	ok = compare(pg, &q, pg->nkeys, (const char *const *)arrays, same, why, whysz, e);
	if (ok && *same)
		pg->verified_batches++;
	sql_free(&q);
	return ok;
}

const char *pg_verify_begin(Pg *pg)
{
	return pg->env->verify == VERIFY_NONE ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ";
}
