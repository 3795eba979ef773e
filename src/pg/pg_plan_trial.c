/*
 * pg_plan_trial.c — `osc plan` on PostgreSQL: how many rows, and how long
 * their copy takes, measured rather than guessed.
 *
 * Rows: reltuples, as the planner uses it (scaled to the pages the table
 * has now).  A table never analyzed or vacuumed says -1 (or 0 over pages
 * that hold rows); its rows are then counted in a block sample
 * (TABLESAMPLE SYSTEM, at most about 1000 pages read) and scaled to its
 * pages, so a fresh 20000-row table is not "about 0 rows".
 *
 * Time: the trial is one chunk of the copy as the run makes it, over the
 * first TRIAL_ROWS rows in key order: the chunk's bound (a read of the
 * key's index), the copy's own INSERT ... SELECT into the temporary table
 * that has the shadow's definition (and, as the run's shadow, only the
 * key's index), and with --verify the comparison's read of both sides
 * (hashing each row, as the checksum does); then each deferred index's
 * columns of those rows are sorted, the main cost of building it.  All of
 * it is timed and scaled to the table's rows.  It runs in the plan's
 * read-only transaction (an ALTER expression that writes fails there), in
 * a savepoint rolled back at once.  A temporary table writes no WAL: the
 * ETA says it is a lower bound.
 */
#include "pg_plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIAL_ROWS "20000"
#define SAMPLE_PAGES 1000.0

void pg_plan_estimate_rows(Pg *pg, Plan *p, int64_t reltuples, int64_t relpages, int64_t pages)
{
	if (reltuples > 0 && relpages > 0) {
		/* as the planner does: the density the statistics saw, over the pages now */
		int64_t scaled = (int64_t)((double)reltuples * (double)pages / (double)relpages);
		if (scaled > reltuples * 11 / 10 || scaled < reltuples * 9 / 10) {
			snprintf(p->rows_basis, sizeof(p->rows_basis),
			         "the statistics' %lld rows in %lld pages, scaled to the %lld pages it has now", (long long)reltuples,
			         (long long)relpages, (long long)pages);
			p->rows_estimate = scaled;
		}
		return;
	}
	if (reltuples > 0 || pages == 0)
		return;
	/* never analyzed: count the rows of a block sample */
	double pct = (double)pages <= SAMPLE_PAGES ? 100.0 : 100.0 * SAMPLE_PAGES / (double)pages;
	char pcts[32];
	snprintf(pcts, sizeof(pcts), "%.6f", pct);
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "SELECT count(*) FROM ONLY %I.%I TABLESAMPLE SYSTEM (%s) REPEATABLE (0)", pg->schema, pg->table, pcts);
	PGresult *r = pg_plan_look(pg, p, "the rows of a never-analyzed table", sql_text(&q), 0, NULL);
	if (r) {
		int64_t n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		p->rows_estimate = (int64_t)((double)n * 100.0 / pct);
		if (pct >= 100.0)
			snprintf(p->rows_basis, sizeof(p->rows_basis),
			         "never analyzed (reltuples %lld): counted in all of its %lld pages", (long long)reltuples,
			         (long long)pages);
		else
			snprintf(p->rows_basis, sizeof(p->rows_basis),
			         "never analyzed (reltuples %lld): %lld rows counted in a %.2g%% block sample of its %lld pages",
			         (long long)reltuples, (long long)n, pct, (long long)pages);
	}
	PQclear(r);
	sql_free(&q);
}

static void eta(Plan *p)
{
	if (p->trial_rows == 0) {
		p->eta_ms = 0;
		snprintf(p->eta_basis, sizeof(p->eta_basis), "the table is empty");
		return;
	}
	double per_row_us = (double)p->trial_us / (double)p->trial_rows;
	double idx_per_row_us = (double)p->trial_index_us / (double)p->trial_rows;
	int64_t rows = p->rows_estimate > p->trial_rows ? p->rows_estimate : p->trial_rows;
	p->eta_ms = (int64_t)((double)rows * (per_row_us + idx_per_row_us) / 1000.0);
	size_t n = (size_t)snprintf(p->eta_basis, sizeof(p->eta_basis),
	                            "a trial chunk of %lld rows: %.0f rows/s over about %lld rows",
	                            (long long)p->trial_rows, 1e6 / (per_row_us > 0 ? per_row_us : 1), (long long)rows);
	if (p->trial_indexes > 0 && n < sizeof(p->eta_basis))
		n += (size_t)snprintf(p->eta_basis + n, sizeof(p->eta_basis) - n, ", and %d deferred index build%s at its sort rate",
		                      p->trial_indexes, p->trial_indexes == 1 ? "" : "s");
	if (n < sizeof(p->eta_basis))
		snprintf(p->eta_basis + n, sizeof(p->eta_basis) - n,
		         "; a lower bound: the trial's temporary table writes no WAL, the run's shadow does");
}

/* The trial chunk and its sorts, timed, inside pg_plan_trial's savepoint */
static void chunk(Pg *pg, Plan *p, const PgPlanShadow *s, char **failed)
{
	Sql q;
	PGresult *r = NULL;
	OscErr e;
	err_clear(&e);
	sql_init(&q, &pg->dialect);
	/* the chunk's bound: the key TRIAL_ROWS rows on, and the count */
	sql_add(&q, "SELECT count(*) FROM (SELECT ");
	pg_key_list(pg, &q, "src", false);
	sql_add(&q, " FROM ONLY %I.%I src ORDER BY ", pg->schema, pg->table);
	pg_key_list(pg, &q, "src", false);
	sql_add(&q, " LIMIT " TRIAL_ROWS ") b");
	int64_t t0 = now_us();
	if (!pg_plan_try(pg, sql_text(&q), 0, NULL, &r, &e)) {
		pg_plan_warn_failed(pg, p, "the trial copy's bound", &e);
		goto out;
	}
	PQclear(r);
	r = NULL;
	sql_reset(&q);
	sql_add(&q, "INSERT INTO pg_temp.%I (", s->name);
	for (int i = 0; i < pg->ncols; i++)
		sql_add(&q, "%s%I", i ? ", " : "", pg->cols[i].name);
	sql_add(&q, ")%s SELECT ", pg->overriding ? " OVERRIDING SYSTEM VALUE" : "");
	for (int i = 0; i < pg->ncols; i++)
		sql_add(&q, "%s%s", i ? ", " : "", pg->cols[i].expr); /* built with quoting by pg_shadow.c */
	sql_add(&q, " FROM ONLY %I.%I src ORDER BY ", pg->schema, pg->table);
	pg_key_list(pg, &q, "src", false);
	sql_add(&q, " LIMIT " TRIAL_ROWS);
	if (!pg_plan_try(pg, sql_text(&q), 0, NULL, &r, &e)) {
		if (strcmp(e.sqlstate, "25006") == 0) {
			pg_plan_warn_failed(pg, p, "the trial copy", &e);
			snprintf(p->eta_basis, sizeof(p->eta_basis), "the trial copy wrote to the database; see the warnings");
		} else {
			*failed = pg_plan_untemp(pg, e.msg);
			snprintf(p->eta_basis, sizeof(p->eta_basis), "the trial copy failed: %.250s", *failed);
		}
		p->eta_ms = -1;
		goto out;
	}
	p->trial_rows = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	r = NULL;
	if (pg->env->verify != VERIFY_NONE) {
		/* the comparison reads both sides and hashes every row */
		sql_reset(&q);
		sql_add(&q, "SELECT a.n, b.n, a.h = b.h FROM (SELECT count(*) AS n, sum(hashtextextended(t::text, 0)) AS h"
		            " FROM (SELECT ");
		for (int i = 0; i < pg->ncols; i++)
			sql_add(&q, "%s%s", i ? ", " : "", pg->cols[i].expr);
		sql_add(&q, " FROM ONLY %I.%I src ORDER BY ", pg->schema, pg->table);
		pg_key_list(pg, &q, "src", false);
		sql_add(&q, " LIMIT " TRIAL_ROWS ") t) a, (SELECT count(*) AS n, sum(hashtextextended(ROW(");
		for (int i = 0; i < pg->ncols; i++)
			sql_add(&q, "%ss.%I", i ? ", " : "", pg->cols[i].name);
		sql_add(&q, ")::text, 0)) AS h FROM pg_temp.%I s) b", s->name);
		if (pg_plan_try(pg, sql_text(&q), 0, NULL, &r, &e))
			p->trial_checked = true;
		PQclear(r);
		r = NULL;
	}
	p->trial = true;
	p->trial_us = now_us() - t0;
	/* what building each deferred index costs most: sorting its columns */
	for (int i = 0; i < s->nsorts && p->trial_rows > 0; i++) {
		sql_reset(&q);
		sql_add(&q, "SELECT count(*) FROM (SELECT %s FROM pg_temp.%I ORDER BY %s OFFSET 0) o", s->sorts[i], s->name,
		        s->sorts[i]);
		t0 = now_us();
		if (pg_plan_try(pg, sql_text(&q), 0, NULL, &r, &e)) {
			p->trial_index_us += now_us() - t0;
			p->trial_indexes++;
		}
		PQclear(r);
		r = NULL;
	}
	eta(p);
out:
	PQclear(r);
	sql_free(&q);
}

void pg_plan_trial(Pg *pg, Plan *p, const PgPlanShadow *s, char **failed)
{
	OscErr e;
	err_clear(&e);
	*failed = NULL;
	if (!pg_command(pg, "SAVEPOINT osc_plan_trial", &e)) {
		pg_plan_warn_failed(pg, p, "the trial copy", &e);
		return;
	}
	chunk(pg, p, s, failed);
	if (!pg_command(pg, "ROLLBACK TO SAVEPOINT osc_plan_trial", &e) ||
	    !pg_command(pg, "RELEASE SAVEPOINT osc_plan_trial", &e))
		pg_plan_warn_failed(pg, p, "the trial copy", &e);
}
