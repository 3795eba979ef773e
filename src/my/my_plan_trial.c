/*
 * my_plan_trial.c — `osc plan` on MySQL/MariaDB: how many rows, and how long
 * their copy takes, measured rather than guessed.
 *
 * Rows: information_schema's TABLE_ROWS.  It can read 0 for a table that
 * has rows (statistics never gathered since a load: MySQL 8 caches them
 * for a day, InnoDB's persistent statistics after a restart).  Such a
 * table's rows are estimated from its size (DATA_LENGTH, or its data
 * file's when that is larger) over the average row: the lengths of the
 * first rows' columns in key order, plus InnoDB's 20 bytes of each row's
 * header and transaction fields.
 *
 * Time: the trial is one chunk of the copy as the run makes it, over the
 * first TRIAL_ROWS rows in key order: its bound (a read of the key's
 * index), the copy's own INSERT ... SELECT into the trial table (the
 * shadow's definition, the deferred indexes dropped as in the run), and
 * with --verify the comparison's read of both sides (a CRC32 of each row,
 * as src/my/my_verify.c sums them); then each deferred index's columns of
 * those rows sorted (the bulk of building it).  All of it timed and scaled
 * to the table's rows.  It reads under READ COMMITTED (no locks on the
 * original's rows) in a transaction that is rolled back.
 */
#include "my_plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIAL_ROWS "20000"
#define ROW_OVERHEAD 20

static int64_t num(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

/* One number, or -1 when the query fails or returns nothing (silently: a
 * view this server lacks, a privilege) */
static int64_t quiet_number(My *my, Sql *q)
{
	MYSQL_RES *r = NULL;
	OscErr e;
	err_clear(&e);
	int64_t n = -1;
	if (my_exec_sql(my, q, &r, &e)) {
		MYSQL_ROW row = mysql_fetch_row(r);
		if (row && row[0])
			n = num(row[0]);
	}
	mysql_free_result(r);
	return n;
}

void my_plan_estimate_rows(My *my, Plan *p, int64_t table_rows)
{
	Sql q;
	if (table_rows > 0 || my->ncols == 0)
		return;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT 1 FROM %I.%I LIMIT 1", my->db, my->table);
	if (quiet_number(my, &q) != 1)
		goto out; /* empty, as it says */
	int64_t bytes = p->table_bytes;
	const char *source = "DATA_LENGTH";
	/* more than a page: the statistics know the size, if not the rows;
	 * else the data file (file-per-table: its indexes and free space too) */
	for (int form = 0; form < 2 && bytes <= 16384; form++) {
		sql_reset(&q);
		sql_add(&q, "SELECT FILE_SIZE FROM information_schema.%s WHERE NAME = CONCAT(%L, '/', %L)",
		        form == 0 ? "INNODB_SYS_TABLESPACES" : "INNODB_TABLESPACES", my->db, my->table);
		int64_t f = quiet_number(my, &q);
		if (f > bytes) {
			bytes = f;
			source = "its data file";
		}
		if (f >= 0)
			break;
	}
	sql_reset(&q);
	sql_add(&q, "SELECT ROUND(AVG(");
	for (int i = 0; i < my->ncols; i++)
		sql_add(&q, "%sCOALESCE(LENGTH(s.%I), 0)", i ? " + " : "", my->cols[i].source);
	sql_add(&q, ")) FROM (SELECT ");
	for (int i = 0; i < my->ncols; i++)
		sql_add(&q, "%ssrc.%I", i ? ", " : "", my->cols[i].source);
	sql_add(&q, " FROM %I.%I src ORDER BY ", my->db, my->table);
	my_key_list(my, &q, "src", false);
	sql_add(&q, " LIMIT 1000) s");
	int64_t avg = quiet_number(my, &q);
	if (avg < 0) {
		snprintf(p->rows_basis, sizeof(p->rows_basis), "TABLE_ROWS is 0, but the table has rows: not estimated");
		goto out;
	}
	avg += ROW_OVERHEAD;
	p->rows_estimate = bytes / avg;
	if (p->rows_estimate < 1)
		p->rows_estimate = 1;
	snprintf(p->rows_basis, sizeof(p->rows_basis),
	         "TABLE_ROWS is 0, but the table has rows (statistics never gathered): %lld bytes (%s) / about %lld "
	         "bytes a row (the first rows' lengths, plus InnoDB's %d)",
	         (long long)bytes, source, (long long)avg, ROW_OVERHEAD);
out:
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
	size_t n = (size_t)snprintf(p->eta_basis, sizeof(p->eta_basis), "a trial chunk of %lld rows: %.0f rows/s over about %lld rows",
	                            (long long)p->trial_rows, 1e6 / (per_row_us > 0 ? per_row_us : 1), (long long)rows);
	if (p->trial_indexes > 0 && n < sizeof(p->eta_basis))
		snprintf(p->eta_basis + n, sizeof(p->eta_basis) - n, ", and %d deferred index build%s at its sort rate",
		         p->trial_indexes, p->trial_indexes == 1 ? "" : "s");
}

/* The trial chunk and its sorts, timed, inside my_plan_trial_copy's
 * transaction */
static void chunk(My *my, Plan *p, const MyPlanTrial *t, char **failed)
{
	Sql q;
	OscErr e;
	MYSQL_RES *r = NULL;
	err_clear(&e);
	sql_init(&q, &my->dialect);
	/* the chunk's bound: a read of the key's index */
	sql_add(&q, "SELECT COUNT(*) FROM (SELECT ");
	my_key_list(my, &q, "src", false);
	sql_add(&q, " FROM %I.%I src FORCE INDEX (%I) ORDER BY ", my->db, my->table, my->key_index);
	my_key_list(my, &q, "src", false);
	sql_add(&q, " LIMIT " TRIAL_ROWS ") b");
	int64_t t0 = now_us();
	if (!my_exec_sql(my, &q, &r, &e)) {
		plan_warn(p, false, "could not check the trial copy's bound: %s", e.msg);
		goto out;
	}
	mysql_free_result(r);
	r = NULL;
	sql_reset(&q);
	sql_add(&q, "INSERT INTO %I.%I (", my->db, t->name);
	for (int i = 0; i < my->ncols; i++)
		sql_add(&q, "%s%I", i ? ", " : "", my->cols[i].name);
	sql_add(&q, ") SELECT ");
	for (int i = 0; i < my->ncols; i++)
		sql_add(&q, "%ssrc.%I", i ? ", " : "", my->cols[i].source);
	sql_add(&q, " FROM %I.%I src FORCE INDEX (%I) ORDER BY ", my->db, my->table, my->key_index);
	my_key_list(my, &q, "src", false);
	sql_add(&q, " LIMIT " TRIAL_ROWS);
	if (!my_exec_sql(my, &q, NULL, &e)) {
		err_replace(&e, t->name, my->table);
		*failed = my_strdup(e.msg);
		snprintf(p->eta_basis, sizeof(p->eta_basis), "the trial copy failed: %.250s", e.msg);
		p->eta_ms = -1;
		goto out;
	}
	p->trial_rows = (int64_t)mysql_affected_rows(my->main.conn);
	if (my->env->verify != VERIFY_NONE) {
		/* the comparison reads both sides, a checksum of every row */
		sql_reset(&q);
		sql_add(&q, "SELECT a.n, b.n, a.h = b.h FROM (SELECT COUNT(*) AS n, SUM(CRC32(CONCAT_WS('#'");
		for (int i = 0; i < my->ncols; i++)
			sql_add(&q, ", s.%I", my->cols[i].source);
		sql_add(&q, "))) AS h FROM (SELECT ");
		for (int i = 0; i < my->ncols; i++)
			sql_add(&q, "%ssrc.%I", i ? ", " : "", my->cols[i].source);
		sql_add(&q, " FROM %I.%I src FORCE INDEX (%I) ORDER BY ", my->db, my->table, my->key_index);
		my_key_list(my, &q, "src", false);
		sql_add(&q, " LIMIT " TRIAL_ROWS ") s) a, (SELECT COUNT(*) AS n, SUM(CRC32(CONCAT_WS('#'");
		for (int i = 0; i < my->ncols; i++)
			sql_add(&q, ", t.%I", my->cols[i].name);
		sql_add(&q, "))) AS h FROM %I.%I t) b", my->db, t->name);
		if (my_exec_sql(my, &q, &r, &e))
			p->trial_checked = true;
		mysql_free_result(r);
		r = NULL;
	}
	p->trial = true;
	p->trial_us = now_us() - t0;
	/* what building each deferred index costs most: sorting its columns
	 * (a LIMIT keeps the server from dropping the ORDER BY) */
	for (int i = 0; i < t->nsorts && p->trial_rows > 0; i++) {
		sql_reset(&q);
		sql_add(&q, "SELECT COUNT(*) FROM (SELECT %s FROM %I.%I ORDER BY %s LIMIT 18446744073709551615) s", t->sorts[i],
		        my->db, t->name, t->sorts[i]);
		t0 = now_us();
		if (my_exec_sql(my, &q, &r, &e)) {
			p->trial_index_us += now_us() - t0;
			p->trial_indexes++;
		}
		mysql_free_result(r);
		r = NULL;
	}
	eta(p);
out:
	mysql_free_result(r);
	sql_free(&q);
}

void my_plan_trial_copy(My *my, Plan *p, const MyPlanTrial *t, char **failed)
{
	OscErr e;
	err_clear(&e);
	*failed = NULL;
	if (!my_exec(my, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", NULL, &e) ||
	    !my_exec(my, "START TRANSACTION", NULL, &e)) {
		plan_warn(p, false, "could not check the trial copy: %s", e.msg);
		return;
	}
	chunk(my, p, t, failed);
	mys_rollback(&my->main);
}
