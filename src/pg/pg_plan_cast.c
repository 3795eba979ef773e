/*
 * pg_plan_cast.c — `osc plan` on PostgreSQL: the ALTER's conversions tried
 * on sampled rows, so that `TYPE varchar(10)` over 32-character values is
 * a [high] warning in the plan, not the run's first chunk failing.
 *
 * The sample (at most CAST_SAMPLE rows plus the extremes, bounded whatever
 * the table's size): rows of a block sample (TABLESAMPLE SYSTEM, sized to
 * about twice CAST_SAMPLE rows and at most CAST_PAGES pages, then
 * CAST_SAMPLE of them at random), spread
 * over the table however its keys run, and for each converted column that
 * a btree index begins with, its CAST_EXTREMES largest and smallest values
 * (read off the index: an overflow hides there).  Their keys go into a
 * temporary table, numbered.
 *
 * The sampled rows go through the copy's own INSERT ... SELECT into the
 * temporary shadow (src/pg/pg_plan_shadow.c): the casts, the USING
 * expressions, NOT NULL and CHECK, exactly as the copy would apply them.
 * When that fails, a DO block tries each row in a subtransaction of its
 * own, and each converted column of a failing row alone (into a table of
 * the new types), so the plan can say which column fails, in how many
 * sampled rows, with one key and the server's message.  A plain copy of a
 * column whose type changes (no USING) is also compared with the original
 * value: a numeric rounded to fewer digits, a timestamp cut to a date, a
 * text cut by an explicit cast "would change" (by the types' equality
 * operator, else by their text).
 *
 * Everything runs in the plan's read-only transaction, inside a savepoint
 * rolled back at the end; only temporary tables are written.
 */
#include "pg_plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAST_SAMPLE 1000
#define CAST_EXTREMES 10
#define CAST_PAGES 1000.0

/* (src.k1, src.k2) = (s.k1, s.k2), alias's key as the original (or the
 * shadow) names it */
static void key_join(const Pg *pg, Sql *q, const char *alias, bool shadow)
{
	sql_add(q, "(");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, "%s%I.%I", k ? ", " : "", alias,
		        shadow && pg->keys[k].shadow_name ? pg->keys[k].shadow_name : pg->keys[k].name);
	sql_add(q, ") = (");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, "%ss.k%d", k ? ", " : "", k + 1);
	sql_add(q, ")");
}

/* "id=5, b=x" of the sampled row s */
static void key_text(const Pg *pg, Sql *q)
{
	sql_add(q, "concat_ws(', '");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, ", %L || '=' || coalesce(s.k%d::text, 'NULL')", pg->keys[k].name, k + 1);
	sql_add(q, ")");
}

/* The sampled keys into _osc_plan_sample; *n their number.  basis: what
 * was sampled. */
static bool sample(Pg *pg, Plan *p, const PgPlanShadow *s, int64_t *n)
{
	Sql q, keys, ext;
	PGresult *r = NULL;
	bool ok = false;
	double pct = p->rows_estimate > 2 * CAST_SAMPLE ? 100.0 * 2 * CAST_SAMPLE / (double)p->rows_estimate : 100.0;
	/* whatever the estimate says, at most about CAST_PAGES pages are read */
	double pages = (double)p->table_bytes / 8192.0;
	if (pages > CAST_PAGES && pct > 100.0 * CAST_PAGES / pages)
		pct = 100.0 * CAST_PAGES / pages;
	char pcts[32];
	snprintf(pcts, sizeof(pcts), "%.6f", pct);
	sql_init(&q, &pg->dialect);
	sql_init(&keys, &pg->dialect);
	sql_init(&ext, &pg->dialect);
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(&keys, "%ssrc.%I AS k%d", k ? ", " : "", pg->keys[k].name, k + 1);
	sql_add(&q,
	        "INSERT INTO pg_temp._osc_plan_sample SELECT row_number() OVER (), d.* FROM (SELECT DISTINCT * FROM ("
	        "(SELECT %s FROM ONLY %I.%I src TABLESAMPLE SYSTEM (%s) ORDER BY random() LIMIT %d)",
	        sql_text(&keys), pg->schema, pg->table, pcts, CAST_SAMPLE);
	for (int i = 0; i < s->ncand; i++) {
		if (!s->cand[i].indexed)
			continue;
		for (int desc = 1; desc >= 0; desc--)
			sql_add(&q, " UNION ALL (SELECT %s FROM ONLY %I.%I src WHERE src.%I IS NOT NULL ORDER BY src.%I%s LIMIT %d)",
			        sql_text(&keys), pg->schema, pg->table, s->cand[i].from, s->cand[i].from, desc ? " DESC" : "",
			        CAST_EXTREMES);
		sql_add(&ext, "%s%s", ext.len ? ", " : "", s->cand[i].from);
	}
	sql_add(&q, ") u) d");
	r = q.failed ? NULL : pg_plan_look(pg, p, "sampled rows for the cast check", sql_text(&q), 0, NULL);
	if (r == NULL)
		goto out;
	*n = strtoll(PQcmdTuples(r), NULL, 10);
	size_t len;
	if (pct >= 100.0)
		len = (size_t)snprintf(p->cast_basis, sizeof(p->cast_basis), "up to %d random rows of the whole table",
		                       CAST_SAMPLE);
	else
		len = (size_t)snprintf(p->cast_basis, sizeof(p->cast_basis), "up to %d random rows of a %.2g%% block sample",
		                       CAST_SAMPLE, pct);
	if (ext.len && len < sizeof(p->cast_basis))
		snprintf(p->cast_basis + len, sizeof(p->cast_basis) - len,
		         ", and the %d largest and smallest values of %s by their indexes", CAST_EXTREMES, sql_text(&ext));
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	sql_free(&keys);
	sql_free(&ext);
	return ok;
}

/* WHERE for the sample's rows (all, or row $1): in a subquery, so that
 * the sample's columns never meet a USING expression's names */
static void sampled(const Pg *pg, Sql *q, bool one)
{
	sql_add(q, " WHERE (");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, "%ssrc.%I", k ? ", " : "", pg->keys[k].name);
	sql_add(q, ") %s (SELECT ", one ? "=" : "IN");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, "%sk%d", k ? ", " : "", k + 1);
	sql_add(q, " FROM pg_temp._osc_plan_sample%s)", one ? " WHERE n = $1" : "");
}

/* The sample's rows (all, or row $1) into the temporary shadow, as the copy
 * writes them */
static void insert_rows(const Pg *pg, const PgPlanShadow *s, Sql *q, bool one)
{
	sql_add(q, "INSERT INTO pg_temp.%I (", s->name);
	for (int i = 0; i < pg->ncols; i++)
		sql_add(q, "%s%I", i ? ", " : "", pg->cols[i].name);
	sql_add(q, ")%s SELECT ", pg->overriding ? " OVERRIDING SYSTEM VALUE" : "");
	for (int i = 0; i < pg->ncols; i++)
		sql_add(q, "%s%s", i ? ", " : "", pg->cols[i].expr); /* built with quoting by pg_shadow.c */
	sql_add(q, " FROM ONLY %I.%I src", pg->schema, pg->table);
	sampled(pg, q, one);
}

/* Row by row, each in a subtransaction: a failing row into _osc_plan_fail,
 * with each converted column that fails alone (col 1..), or the row as a
 * whole (col 0) when none does. */
static bool per_row(Pg *pg, Plan *p, const PgPlanShadow *s)
{
	Sql body, stmt, q;
	PGresult *r = NULL;
	OscErr e;
	bool ok;
	err_clear(&e);
	sql_init(&body, &pg->dialect);
	sql_init(&stmt, &pg->dialect);
	sql_init(&q, &pg->dialect);
	insert_rows(pg, s, &stmt, true);
	sql_add(&body,
	        "DECLARE i int; m text; bad bool; BEGIN"
	        " FOR i IN SELECT n FROM pg_temp._osc_plan_sample ORDER BY n LOOP"
	        " BEGIN EXECUTE %L USING i;"
	        " EXCEPTION WHEN OTHERS THEN m := SQLERRM; bad := false;",
	        sql_text(&stmt));
	for (int c = 0; c < s->ncand; c++) {
		sql_reset(&stmt);
		sql_add(&stmt, "INSERT INTO pg_temp._osc_plan_cast (n, c%d) SELECT $1, %s FROM ONLY %I.%I src", c + 1,
		        s->cand[c].expr, pg->schema, pg->table);
		sampled(pg, &stmt, true);
		sql_add(&body,
		        " BEGIN EXECUTE %L USING i; EXCEPTION WHEN OTHERS THEN bad := true;"
		        " INSERT INTO pg_temp._osc_plan_fail VALUES (i, %d, SQLERRM); END;",
		        sql_text(&stmt), c + 1);
	}
	sql_add(&body, " IF NOT bad THEN INSERT INTO pg_temp._osc_plan_fail VALUES (i, 0, m); END IF;"
	               " END; END LOOP; END");
	sql_add(&q, "DO %L", sql_text(&body));
	ok = !q.failed && !body.failed && !stmt.failed && pg_plan_try(pg, sql_text(&q), 0, NULL, &r, &e);
	if (!ok)
		pg_plan_warn_failed(pg, p, "the sampled rows one by one", &e);
	PQclear(r);
	sql_free(&body);
	sql_free(&stmt);
	sql_free(&q);
	return ok;
}

static void failures(Pg *pg, Plan *p, const PgPlanShadow *s)
{
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "SELECT f.col, count(DISTINCT f.n), (array_agg(f.msg ORDER BY f.n))[1], (array_agg(");
	key_text(pg, &q);
	sql_add(&q, " ORDER BY f.n))[1] FROM pg_temp._osc_plan_fail f JOIN pg_temp._osc_plan_sample s ON s.n = f.n"
	            " GROUP BY f.col ORDER BY f.col");
	PGresult *r = pg_plan_look(pg, p, "the cast check's failures", sql_text(&q), 0, NULL);
	for (int i = 0; r && i < PQntuples(r); i++) {
		int col = atoi(PQgetvalue(r, i, 0));
		char *m = pg_plan_untemp(pg, PQgetvalue(r, i, 2));
		if (col >= 1 && col <= s->ncand) {
			const PgPlanCand *c = &s->cand[col - 1];
			char detail[600];
			snprintf(detail, sizeof(detail), "%s to %s: %s", c->plain ? "its cast" : "its USING expression", c->type,
			         m);
			plan_cast(p, c->name, true, strtoll(PQgetvalue(r, i, 1), NULL, 10), PQgetvalue(r, i, 3), detail);
		} else {
			plan_cast(p, "", true, strtoll(PQgetvalue(r, i, 1), NULL, 10), PQgetvalue(r, i, 3), m);
		}
		free(m);
	}
	PQclear(r);
	sql_free(&q);
}

/* A plain copy whose value is not the original's any more */
static void changes(Pg *pg, Plan *p, const PgPlanShadow *s)
{
	for (int i = 0; i < s->ncand; i++) {
		const PgPlanCand *c = &s->cand[i];
		if (!c->plain)
			continue;
		PGresult *r = NULL;
		OscErr e;
		bool ok = false;
		err_clear(&e);
		/* by the types' own equality (numeric to integer, date to
		 * timestamp), else by their text (text to jsonb) */
		for (int as_text = 0; as_text < 2 && !ok; as_text++) {
			Sql q;
			sql_init(&q, &pg->dialect);
			sql_add(&q, "SELECT count(*), (array_agg(");
			key_text(pg, &q);
			sql_add(&q, " ORDER BY s.n))[1] FROM pg_temp._osc_plan_sample s JOIN pg_temp.%I sh ON ", s->name);
			key_join(pg, &q, "sh", true);
			sql_add(&q, " JOIN ONLY %I.%I src ON ", pg->schema, pg->table);
			key_join(pg, &q, "src", false);
			sql_add(&q, " WHERE sh.%I%s IS DISTINCT FROM src.%I%s", c->name, as_text ? "::text" : "", c->from,
			        as_text ? "::text" : "");
			ok = !q.failed && pg_plan_try(pg, sql_text(&q), 0, NULL, &r, &e);
			sql_free(&q);
		}
		if (!ok) {
			pg_plan_warn_failed(pg, p, "whether the cast changes values", &e);
			continue;
		}
		int64_t n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		if (n > 0) {
			char detail[600];
			snprintf(detail, sizeof(detail), "%s to %s does not keep them as they are", c->old_type, c->type);
			plan_cast(p, c->name, false, n, PQgetvalue(r, 0, 1), detail);
		}
		PQclear(r);
	}
}

/* The sample, its rows into the temporary shadow, the findings: inside
 * pg_plan_cast's savepoint */
static void check(Pg *pg, Plan *p, const PgPlanShadow *s)
{
	Sql q;
	PGresult *r = NULL;
	OscErr e;
	int64_t n = 0;
	err_clear(&e);
	sql_init(&q, &pg->dialect);
	if (!sample(pg, p, s, &n))
		goto out;
	if (n == 0) {
		snprintf(p->cast_basis, sizeof(p->cast_basis), "the table has no rows to try");
		goto out;
	}
	p->cast_tried = true;
	p->cast_rows = n;
	insert_rows(pg, s, &q, false);
	if (!q.failed && pg_plan_try(pg, sql_text(&q), 0, NULL, &r, &e)) {
		changes(pg, p, s);
	} else if (strcmp(e.sqlstate, "25006") == 0) {
		/* an expression that writes: said once, by the trial (a copy) or here */
		p->cast_tried = false;
		snprintf(p->cast_basis, sizeof(p->cast_basis), "the ALTER's expressions write to the database");
		if (p->strategy.kind != STRAT_COPY)
			pg_plan_warn_failed(pg, p, "the cast check", &e);
	} else if (per_row(pg, p, s)) {
		failures(pg, p, s);
		changes(pg, p, s);
	} else {
		char *m = pg_plan_untemp(pg, e.msg);
		plan_cast(p, "", true, 1, "?", m);
		free(m);
	}
out:
	PQclear(r);
	sql_free(&q);
}

void pg_plan_cast(Pg *pg, Plan *p, const PgPlanShadow *s)
{
	OscErr e;
	err_clear(&e);
	if (!pg_command(pg, "SAVEPOINT osc_plan_cast", &e)) {
		pg_plan_warn_failed(pg, p, "the cast check", &e);
		return;
	}
	check(pg, p, s);
	if (!pg_command(pg, "ROLLBACK TO SAVEPOINT osc_plan_cast", &e) ||
	    !pg_command(pg, "RELEASE SAVEPOINT osc_plan_cast", &e))
		pg_plan_warn_failed(pg, p, "the cast check", &e);
}
