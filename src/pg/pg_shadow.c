/*
 * pg_shadow.c — the shadow table on PostgreSQL: built from the original with
 * the ALTER applied, and the map from its columns back to the original's.
 *
 * All of it happens in one transaction, so a rejected ALTER leaves nothing:
 *   1. CREATE SCHEMA work; CREATE TABLE work.shadow (LIKE orig INCLUDING ALL)
 *   2. give each index and extended statistics object the original's name
 *      (LIKE invents names; the shadow's own schema leaves the real ones
 *      free), paired by creation order, which is the order LIKE walks them in
 *   3. note each column's position, apply the ALTER, read the columns again:
 *      a column that kept its position came from the original column of that
 *      position (renamed or retyped perhaps; a USING expression is applied by
 *      the copy); a new position is a new column and takes its default;
 *      STORED generated columns are computed, not copied
 *   4. keep one index over the key for the replay, remember and drop every
 *      other index: they are rebuilt after the bulk copy (as pg_repack does)
 *   5. the capture's log table and trigger function (src/pg/pg_capture.c)
 */
#include "pg.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct PreCol {
	int attnum;
	char *name;
} PreCol;

static bool set_local_timeouts(Pg *pg, OscErr *e)
{
	Sql q;
	char v[32];
	bool ok;

	sql_init(&q, &pg->dialect);
	snprintf(v, sizeof(v), "%ldms", (long)pg->env->lock_timeout_ms);
	sql_add(&q, "SELECT pg_catalog.set_config('lock_timeout', %L, true)", v);
	ok = pg_exec_sql(pg, &q, NULL, e);
	sql_free(&q);
	return ok;
}

/* Step 2: the shadow's indexes and extended statistics take the original's
 * names.  `sel` lists one relation's ($1) objects, in the order LIKE walks
 * them: the name first, then what must match in each pair.  ALTER `kw`
 * renames them. */
static bool pair_names(Pg *pg, const char *sel, const char *kw, OscErr *e)
{
	PGresult *a = NULL, *b = NULL;
	Sql q;
	bool ok = false;
	char o1[16], o2[16];
	snprintf(o1, sizeof(o1), "%u", pg->oid);
	snprintf(o2, sizeof(o2), "%u", pg->shadow_oid);

	sql_init(&q, &pg->dialect);
	if (!pg_exec(pg, sel, 1, (const char *[]){ o1 }, &a, e) || !pg_exec(pg, sel, 1, (const char *[]){ o2 }, &b, e))
		goto out;
	if (PQntuples(a) != PQntuples(b)) {
		err_set(e, OSC_EXIT_FAILED, "internal: the shadow has %d %s objects, the original %d", PQntuples(b), kw,
		        PQntuples(a));
		goto out;
	}
	enum { PAIR_NAME, PAIR_MATCH }; /* the name, then from PAIR_MATCH on what must match */
	for (int i = 0; i < PQntuples(a); i++) {
		for (int c = PAIR_MATCH; c < PQnfields(a); c++)
			if (strcmp(PQgetvalue(a, i, c), PQgetvalue(b, i, c)) != 0) {
				err_set(e, OSC_EXIT_FAILED, "internal: cannot pair the shadow's %s %s with %s", kw,
				        PQgetvalue(b, i, PAIR_NAME), PQgetvalue(a, i, PAIR_NAME));
				goto out;
			}
		sql_reset(&q);
		sql_add(&q, "ALTER %s %I.%I RENAME TO %I", kw, pg->work, PQgetvalue(b, i, PAIR_NAME),
		        PQgetvalue(a, i, PAIR_NAME));
		if (!pg_exec_sql(pg, &q, NULL, e))
			goto out;
	}
	ok = true;
out:
	PQclear(a);
	PQclear(b);
	sql_free(&q);
	return ok;
}

/* LIKE invents index names; the shadow's own schema leaves the real ones free */
static bool name_indexes(Pg *pg, OscErr *e)
{
	return pair_names(pg,
	                  "SELECT ic.relname, i.indisunique, i.indisprimary, i.indnatts, am.amname"
	                  "  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	                  "  JOIN pg_catalog.pg_am am ON am.oid = ic.relam"
	                  " WHERE i.indrelid = $1::oid ORDER BY i.indexrelid",
	                  "INDEX", e);
}

/* LIKE makes extended statistics in the work schema under invented names,
 * and SET SCHEMA leaves them there: the swap moves them to the original's
 * schema (src/pg/pg_carry.c), so they take the original's names now */
static bool name_statistics(Pg *pg, OscErr *e)
{
	return pair_names(pg,
	                  "SELECT x.stxname, x.stxkind::text,"
	                  "       (SELECT string_agg(a.attname, ',' ORDER BY k.o)"
	                  "          FROM unnest(x.stxkeys::int2[]) WITH ORDINALITY k(n, o)"
	                  "          JOIN pg_catalog.pg_attribute a ON a.attrelid = x.stxrelid AND a.attnum = k.n)"
	                  "  FROM pg_catalog.pg_statistic_ext x WHERE x.stxrelid = $1::oid ORDER BY x.oid",
	                  "STATISTICS", e);
}

static bool read_pre_columns(Pg *pg, PreCol **out, int *n, OscErr *e)
{
	PGresult *r = NULL;
	char o[16];
	snprintf(o, sizeof(o), "%u", pg->shadow_oid);
	const char *p[1] = { o };

	if (!pg_exec(pg,
	             "SELECT attnum, attname FROM pg_catalog.pg_attribute"
	             " WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
	             1, p, &r, e))
		return false;
	enum { A_NUM, A_NAME };
	*n = PQntuples(r);
	*out = xcalloc((size_t)*n, sizeof(PreCol));
	for (int i = 0; i < *n; i++) {
		(*out)[i].attnum = atoi(PQgetvalue(r, i, A_NUM));
		(*out)[i].name = pg_strdup(PQgetvalue(r, i, A_NAME));
	}
	PQclear(r);
	return true;
}

static const char *pre_name(const PreCol *pre, int npre, int attnum)
{
	for (int i = 0; i < npre; i++)
		if (pre[i].attnum == attnum)
			return pre[i].name;
	return NULL;
}

/* Step 3, after the ALTER: the column map and the key's names in the shadow. */
static bool map_columns(Pg *pg, const PreCol *pre, int npre, char *key_attnums, size_t kasz, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;
	char o[16];
	snprintf(o, sizeof(o), "%u", pg->shadow_oid);
	const char *p[1] = { o };

	sql_init(&q, &pg->dialect);
	if (!pg_exec(pg,
	             "SELECT attnum, attname, attgenerated, attidentity FROM pg_catalog.pg_attribute"
	             " WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
	             1, p, &r, e))
		goto out;
	enum { A_NUM, A_NAME, A_GENERATED, A_IDENTITY };
	int n = PQntuples(r);
	pg->cols = xcalloc((size_t)n, sizeof(PgCol));
	pg->ncols = 0;
	int *key_attnum = xcalloc((size_t)pg->nkeys, sizeof(int));
	for (int i = 0; i < n; i++) {
		int attnum = atoi(PQgetvalue(r, i, A_NUM));
		const char *name = PQgetvalue(r, i, A_NAME);
		const char *from = pre_name(pre, npre, attnum);
		if (PQgetvalue(r, i, A_GENERATED)[0] != '\0' || from == NULL)
			continue; /* generated, or new: the shadow computes it */
		const char *using = alter_using_for(pg->env->alter, from);
		sql_reset(&q);
		if (using)
			sql_add(&q, "(%s)", using);
		else
			sql_add(&q, "src.%I", from);
		PgCol *c = &pg->cols[pg->ncols++];
		c->name = pg_strdup(name);
		c->expr = pg_strdup(sql_text(&q));
		if (PQgetvalue(r, i, A_IDENTITY)[0] == 'a')
			pg->overriding = true;
		for (int k = 0; k < pg->nkeys; k++)
			if (strcmp(pg->keys[k].name, from) == 0) {
				if (using) {
					err_set(e, OSC_EXIT_INPUT,
					        "the ALTER rewrites key column %s with USING; osc matches changed rows "
					        "by the key, so it cannot rewrite it (change the key in a separate step)",
					        from);
					free(key_attnum);
					goto out;
				}
				pg->keys[k].shadow_name = pg_strdup(name);
				key_attnum[k] = attnum;
			}
	}
	size_t off = 0;
	off += (size_t)snprintf(key_attnums + off, kasz - off, "{");
	for (int k = 0; k < pg->nkeys; k++) {
		if (pg->keys[k].shadow_name == NULL) {
			err_set(e, OSC_EXIT_INPUT,
			        "the ALTER drops key column %s; osc copies and matches rows by %s "
			        "(drop it after the migration, or add a new key first)",
			        pg->keys[k].name, pg->key_index);
			free(key_attnum);
			goto out;
		}
		if (off < kasz)
			off += (size_t)snprintf(key_attnums + off, kasz - off, "%s%d", k ? "," : "", key_attnum[k]);
	}
	if (off < kasz)
		snprintf(key_attnums + off, kasz - off, "}");
	free(key_attnum);
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* Step 4: keep one index on the key, defer the rest. */
static bool defer_indexes(Pg *pg, const char *key_attnums, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;
	char o[16];
	snprintf(o, sizeof(o), "%u", pg->shadow_oid);
	const char *p[2] = { o, key_attnums };

	sql_init(&q, &pg->dialect);
	if (!pg_exec(pg,
	             "SELECT ic.relname, con.conname, pg_catalog.pg_get_indexdef(i.indexrelid),"
	             "       pg_catalog.pg_get_constraintdef(con.oid),"
	             "       i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = cardinality($2::int2[])"
	             "       AND (SELECT array_agg(k ORDER BY o) FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(k, o)"
	             "             WHERE o <= i.indnkeyatts) = $2::int2[]"
	             "  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	             "  LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid"
	             "        AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')"
	             " WHERE i.indrelid = $1::oid"
	             " ORDER BY i.indisprimary DESC, i.indisunique DESC, i.indexrelid",
	             2, p, &r, e))
		goto out;
	/* the columns above; X_IS_KEY: the index is exactly the copy's key */
	enum { X_INDEX, X_CONSTRAINT, X_INDEXDEF, X_CONSTRAINTDEF, X_IS_KEY };
	int n = PQntuples(r), keep = -1;
	for (int i = 0; i < n && keep < 0; i++)
		if (PQgetvalue(r, i, X_IS_KEY)[0] == 't')
			keep = i;
	pg->deferred = xcalloc((size_t)n, sizeof(PgDeferred));
	pg->ndeferred = 0;
	for (int i = 0; i < n; i++) {
		if (i == keep)
			continue;
		const char *idx = PQgetvalue(r, i, X_INDEX);
		bool constraint = !PQgetisnull(r, i, X_CONSTRAINT);
		PgDeferred *d = &pg->deferred[pg->ndeferred++];
		d->name = pg_strdup(idx);
		sql_reset(&q);
		if (constraint)
			sql_add(&q, "ALTER TABLE %I.%I ADD CONSTRAINT %I %s", pg->work, pg->shadow,
			        PQgetvalue(r, i, X_CONSTRAINT), PQgetvalue(r, i, X_CONSTRAINTDEF));
		else
			sql_add(&q, "%s", PQgetvalue(r, i, X_INDEXDEF));
		d->create_sql = pg_strdup(sql_text(&q));
		sql_reset(&q);
		if (constraint)
			sql_add(&q, "ALTER TABLE %I.%I DROP CONSTRAINT %I", pg->work, pg->shadow, PQgetvalue(r, i, X_CONSTRAINT));
		else
			sql_add(&q, "DROP INDEX %I.%I", pg->work, idx);
		if (!pg_exec_sql(pg, &q, NULL, e))
			goto out;
	}
	if (keep < 0) {
		/* the ALTER removed or changed the index over the key: replay still
		 * needs one to find rows; it goes away at the swap */
		char name[PG_NAMELEN + 1];
		names_derive(name, sizeof(name), "_", pg->table, "_osc_key", PG_NAMELEN);
		pg->tmp_key_index = pg_strdup(name);
		sql_reset(&q);
		sql_add(&q, "CREATE INDEX %I ON %I.%I (", name, pg->work, pg->shadow);
		for (int k = 0; k < pg->nkeys; k++)
			sql_add(&q, "%s%I", k ? ", " : "", pg->keys[k].shadow_name);
		sql_add(&q, ")");
		if (!pg_exec_sql(pg, &q, NULL, e))
			goto out;
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* A refusal a run would make (ok false, e says which): a run stops; osc
 * plan notes the first one among its findings and goes on (true). */
static bool refuses(Pg *pg, bool keep, bool ok, OscErr *e)
{
	if (ok)
		return true;
	if (keep || e->exit != OSC_EXIT_INPUT)
		return false;
	if (pg->plan_refusal == NULL)
		pg->plan_refusal = pg_strdup(e->msg);
	err_clear(e);
	return true;
}

/* Step 3b: a key column the ALTER retypes must still compare with the
 * original's values as they do.  The copy walks the original's key order
 * and compares the new table's key with it (checksums by range), and the
 * replay finds changed rows in the new table by the original's key value.
 * That holds when the type is the same (a longer varchar, a numeric with no
 * fewer digits after the point, a timestamp with no less precision), or
 * when both types are in one btree operator family (integer to bigint, date
 * to timestamp), or when one is binary-coercible to the other (varchar and
 * text), with the same collation.  Anything else (integer to text: no
 * comparison at all; numeric(10,2) to numeric(10,0): values change) is
 * refused here, before anything is kept. */
static bool check_key_types(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false;
	char o[16], s[16];
	snprintf(o, sizeof(o), "%u", pg->oid);
	snprintf(s, sizeof(s), "%u", pg->shadow_oid);

	for (int k = 0; k < pg->nkeys; k++) {
		const char *p[4] = { o, pg->keys[k].name, s, pg->keys[k].shadow_name };
		if (!pg_exec(pg,
		             "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod), pg_catalog.format_type(b.atttypid, b.atttypmod),"
		             "  a.attcollation = b.attcollation AND ("
		             "   (a.atttypid = b.atttypid AND (a.atttypmod = b.atttypmod OR b.atttypmod = -1"
		             "     OR a.atttypid IN ('varchar'::pg_catalog.regtype, 'bpchar'::pg_catalog.regtype, 'varbit'::pg_catalog.regtype)"
		             "     OR (a.atttypid = 'numeric'::pg_catalog.regtype AND a.atttypmod >= 4 AND b.atttypmod >= 4"
		             "         AND ((b.atttypmod - 4) & 65535) >= ((a.atttypmod - 4) & 65535)"
		             "         AND ((b.atttypmod - 4) >> 16) - ((b.atttypmod - 4) & 65535)"
		             "             >= ((a.atttypmod - 4) >> 16) - ((a.atttypmod - 4) & 65535))"
		             "     OR (a.atttypid IN ('timestamp'::pg_catalog.regtype, 'timestamptz'::pg_catalog.regtype,"
		             "                        'time'::pg_catalog.regtype, 'timetz'::pg_catalog.regtype)"
		             "         AND a.atttypmod <> -1 AND b.atttypmod >= a.atttypmod)))"
		             "   OR (a.atttypid <> b.atttypid AND EXISTS (SELECT 1 FROM pg_catalog.pg_amop x"
		             "               JOIN pg_catalog.pg_am m ON m.oid = x.amopmethod"
		             "               WHERE m.amname = 'btree' AND x.amopstrategy = 3"
		             "                 AND x.amoplefttype = b.atttypid AND x.amoprighttype = a.atttypid"
		             "                 AND EXISTS (SELECT 1 FROM pg_catalog.pg_amop y WHERE y.amopfamily = x.amopfamily"
		             "                              AND y.amopstrategy = 3 AND y.amoplefttype = a.atttypid"
		             "                              AND y.amoprighttype = a.atttypid)))"
		             "   OR (a.atttypid <> b.atttypid AND EXISTS (SELECT 1 FROM pg_catalog.pg_cast c"
		             "        WHERE c.castmethod = 'b' AND c.castsource = b.atttypid AND c.casttarget = a.atttypid)"
		             "       AND EXISTS (SELECT 1 FROM pg_catalog.pg_cast c"
		             "        WHERE c.castmethod = 'b' AND c.castsource = a.atttypid AND c.casttarget = b.atttypid)))"
		             "  FROM pg_catalog.pg_attribute a, pg_catalog.pg_attribute b"
		             " WHERE a.attrelid = $1::oid AND a.attname = $2 AND b.attrelid = $3::oid AND b.attname = $4",
		             4, p, &r, e))
			goto out;
		enum { T_OLD, T_NEW, T_COMPARES };
		if (PQntuples(r) == 1 && PQgetvalue(r, 0, T_COMPARES)[0] != 't') {
			err_set(e, OSC_EXIT_INPUT,
			        "the ALTER changes key column %s from %s to %s%s; osc copies in key order and finds changed "
			        "rows by the key, which needs the new type to compare with the old values as they are (the "
			        "same type, a wider one such as integer to bigint, a longer varchar): change the key in a "
			        "separate step (a new column, filled, then made the key); nothing was changed",
			        pg->keys[k].name, PQgetvalue(r, 0, T_OLD), PQgetvalue(r, 0, T_NEW),
			        strcmp(PQgetvalue(r, 0, T_OLD), PQgetvalue(r, 0, T_NEW)) == 0 ? " (another collation)" : "");
			goto out;
		}
		PQclear(r);
		r = NULL;
	}
	ok = true;
out:
	PQclear(r);
	return ok;
}

/* Step 1: CREATE SCHEMA work (its OID noted: osc drops only what it made,
 * src/pg/pg_names.c), CREATE TABLE work.shadow (LIKE orig INCLUDING ALL).
 * No autovacuum on the shadow until the swap: a worker there would hold a
 * lock that osc's short lock timeouts (index builds, the swap) cannot
 * outwait, since autovacuum yields only to waits past deadlock_timeout. */
static bool create_shadow(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	sql_add(&q, "CREATE SCHEMA %I", pg->work);
	if (!pg_exec_sql(pg, &q, NULL, e) ||
	    !pg_exec(pg, "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, (const char *[]){ pg->work }, &r,
	             e))
		goto out;
	pg->work_oid = (unsigned)strtoul(pg_value(r, 0), NULL, 10);
	PQclear(r);
	r = NULL;
	sql_reset(&q);
	sql_add(&q, "COMMENT ON SCHEMA %I IS %L", pg->work, "osc: online ALTER in progress; `osc cleanup` removes this schema");
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;
	sql_reset(&q);
	sql_add(&q, "CREATE %sTABLE %I.%I (LIKE %I.%I INCLUDING ALL)"
	            " WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false)",
	        pg->relpersistence == 'u' ? "UNLOGGED " : "", pg->work, pg->shadow, pg->schema, pg->table);
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;
	char *qn = pg_qualified(pg, pg->work, pg->shadow);
	bool got = pg_exec(pg, "SELECT $1::regclass::oid", 1, (const char *[]){ qn }, &r, e);
	free(qn);
	if (!got)
		goto out;
	pg->shadow_oid = (unsigned)strtoul(pg_value(r, 0), NULL, 10);
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* Step 3: ALTER TABLE work.shadow <the ALTER>.  The database speaks of the
 * shadow; the user knows the table.  The ALTER must leave the shadow where
 * it was. */
static bool alter_shadow(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	char o[16];

	sql_init(&q, &pg->dialect);
	sql_add(&q, "ALTER TABLE %I.%I %s", pg->work, pg->shadow, pg->env->alter->text);
	bool ok = pg_exec_sql(pg, &q, NULL, e);
	sql_free(&q);
	if (!ok) {
		if (!pg_is_lock_timeout(e)) {
			err_replace(e, pg->shadow, pg->table);
			err_wrap(e, OSC_EXIT_INPUT, "the database rejected the ALTER: ", "");
		}
		return false;
	}
	snprintf(o, sizeof(o), "%u", pg->shadow_oid);
	const char *p[3] = { o, pg->work, pg->shadow };
	if (!pg_exec(pg,
	             "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	             " WHERE c.oid = $1::oid AND n.nspname = $2 AND c.relname = $3",
	             3, p, &r, e))
		return false;
	ok = strcmp(pg_value(r, 0), "1") == 0;
	PQclear(r);
	if (!ok)
		err_set(e, OSC_EXIT_INPUT,
		        "the ALTER renames the table or moves it to another schema; do that with a plain ALTER TABLE, which "
		        "is instant, not with osc");
	return ok;
}

bool pg_shadow_create(Pg *pg, bool keep, OscErr *e)
{
	PreCol *pre = NULL;
	int npre = 0;
	bool ok = false;
	char key_attnums[512], fp[64] = "";

	/* the copy reads every row and the swap replaces the table: a role that
	 * row security holds to its policies, or a subscriber's table osc may
	 * not move in pg_subscription_rel, is refused (a plan says so) */
	if (!refuses(pg, keep, pg_check_row_security(pg, e) && pg_check_subscription(pg, e), e))
		return false;
	pg->revertible = pg->env->revertible;
	if (!pg_command(pg, "BEGIN", e) || !set_local_timeouts(pg, e))
		goto out;
	/* the definition the shadow is made from, read before it is: a change
	 * by another session from here on is caught (src/pg/pg_ddlwatch.c) */
	if (keep && !pg_ddl_baseline(pg, true, fp, sizeof(fp), e))
		goto out;
	if (!create_shadow(pg, e) || !name_indexes(pg, e) || !name_statistics(pg, e) ||
	    !read_pre_columns(pg, &pre, &npre, e) || !alter_shadow(pg, e))
		goto out;
	/* what the swap re-creates must survive the ALTER; every name the swap
	 * needs must be free (rolled back: nothing changed) */
	if (!refuses(pg, keep, pg_check_alter(pg, e), e) ||
	    !map_columns(pg, pre, npre, key_attnums, sizeof(key_attnums), e) || !check_key_types(pg, e) ||
	    !defer_indexes(pg, key_attnums, e) || !pg_read_sequences(pg, e) ||
	    !refuses(pg, keep, pg_names_check(pg, e), e) ||
	    (pg->env->revertible && !refuses(pg, keep, pg_revert_check(pg, e), e)))
		goto out;
	if (!pg_capture_create(pg, e) || (keep && !pg_state_create(pg, fp, e)))
		goto out;
	ok = pg_command(pg, keep ? "COMMIT" : "ROLLBACK", e);
out:
	if (!ok || !keep)
		pg->work_oid = 0;
	if (!ok)
		pg_rollback(pg);
	for (int i = 0; i < npre; i++)
		free(pre[i].name);
	free(pre);
	return ok;
}

/* Back to the session's own bounds after the long statements. */
static bool bounds_again(Pg *pg, bool ok, OscErr *e)
{
	Sql q;
	OscErr ignored;
	err_clear(&ignored);
	sql_init(&q, &pg->dialect);
	sql_add(&q, "SELECT pg_catalog.set_config('statement_timeout', '%ldms', false),"
	            " pg_catalog.set_config('lock_timeout', '%ldms', false)",
	        (long)pg->env->statement_timeout_ms, (long)pg->env->lock_timeout_ms);
	if (!pg_exec_sql(pg, &q, NULL, ok ? e : &ignored))
		ok = false;
	sql_free(&q);
	return ok;
}

/* After the bulk copy: the deferred indexes and constraints, one by one (a
 * resumed run, or an earlier attempt, may have built some); what names the
 * one that failed.  A duplicate is the core's to judge (a row whose change
 * is still in the log may be the cause: src/core/indexes.c). */
bool pg_index_build(Pg *pg, char *what, size_t whatsz, OscErr *e)
{
	bool ok = false;

	what[0] = '\0';
	/* the index builds may take long: not for a table whose definition changed */
	if (!pg_ddl_check(pg, true, false, e))
		return false;
	/* the shadow is osc's alone: building an index waits on nobody, it
	 * only takes time in proportion to the table */
	if (!pg_command(pg, "SET statement_timeout = 0", e) || !pg_command(pg, "SET lock_timeout = '10s'", e))
		goto out;
	for (int i = 0; i < pg->ndeferred; i++) {
		PGresult *r = NULL;
		char *qn = pg_qualified(pg, pg->work, pg->deferred[i].name);
		const char *p[1] = { qn };
		bool got = pg_exec(pg, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, p, &r, e);
		bool built = got && pg_value(r, 0)[0] == 't';
		free(qn);
		PQclear(r);
		if (!got)
			goto out;
		if (built)
			continue;
		snprintf(what, whatsz, "index %s", pg->deferred[i].name);
		log_msg(pg->log, LOG_INFO, "building index %s", pg->deferred[i].name);
		if (!pg_command(pg, pg->deferred[i].create_sql, e))
			goto out;
	}
	ok = true;
out:
	return bounds_again(pg, ok, e);
}

/* The indexes are built: ANALYZE, so the new table has statistics the
 * moment it serves queries, and the definition checked once more. */
bool pg_shadow_complete(Pg *pg, OscErr *e)
{
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "ANALYZE %I.%I", pg->work, pg->shadow);
	bool ok = pg_command(pg, "SET statement_timeout = 0", e) && pg_exec_sql(pg, &q, NULL, e);
	sql_free(&q);
	return bounds_again(pg, ok, e) && pg_ddl_check(pg, true, false, e);
}
