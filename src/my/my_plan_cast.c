/*
 * my_plan_cast.c — `osc plan` on MySQL/MariaDB: the ALTER's conversions tried
 * on sampled rows, so that `MODIFY v VARCHAR(10)` over 32-character values
 * is a [high] warning in the plan, not the run's first chunk failing.
 *
 * The sample (bounded whatever the table's size): up to CAST_SAMPLE rows
 * spread over the key's range when its first column is an integer
 * (CAST_RUNS index probes at even steps of the range, each taking the next
 * rows in key order), else the first and last rows in key order; and for each converted column an index begins with, its
 * CAST_EXTREMES largest and smallest values.  Their keys travel as
 * literals (src/my/my_keys.c).
 *
 * The sampled rows go into the trial table with the copy's own INSERT ...
 * SELECT, in osc's strict sql_mode (src/my/my_conn.c), where a value the
 * new column cannot hold fails the copy.  When that fails, they go in
 * again without strict mode, where the server stores what it can (a
 * string cut to the new length, a number clamped, NULL made 0 or ''): each
 * converted column whose stored value is not the original's (compared as
 * text when either side is a string, else by <=>) then names its rows,
 * and a strict INSERT of that column's rows alone tells whether they fail
 * (the run stops at the first) or only change.  When the strict INSERT of
 * the whole sample succeeds, differing values are changes the run would
 * make silently (DECIMAL rounding, a DATETIME cut to a DATE), reported
 * too.  All of it in one transaction, rolled back.
 */
#include "my_plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

#define CAST_SAMPLE 1000
#define CAST_EXTREMES 10
#define CAST_PROBE 100 /* of a column's differing rows, tried alone in strict mode */
#define CAST_RUNS 100  /* probes of an integer key's range, CAST_SAMPLE / CAST_RUNS rows each */

/* Sampled keys: each as "(lit, lit)" for IN lists, and as text */
typedef struct Keys {
	char **lit;
	char **text;
	int n, cap;
} Keys;

static void keys_add(Keys *k, const My *my, MYSQL_ROW row)
{
	char **lit = my_key_literals(my, row, 0);
	Sql s;
	sql_init(&s, &my->dialect);
	sql_add(&s, "(");
	for (int i = 0; i < my->nkeys; i++)
		sql_add(&s, "%s%s", i ? ", " : "", lit[i]); /* literals made by my_key_literals */
	sql_add(&s, ")");
	my_free_key(my, lit);
	for (int i = 0; i < k->n; i++)
		if (strcmp(k->lit[i], sql_text(&s)) == 0) {
			sql_free(&s);
			return;
		}
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 256;
		k->lit = xrealloc(k->lit, (size_t)k->cap * sizeof(char *));
		k->text = xrealloc(k->text, (size_t)k->cap * sizeof(char *));
	}
	char text[300];
	my_plan_key_text(my, row, 0, text, sizeof(text));
	k->lit[k->n] = sql_take(&s);
	k->text[k->n++] = xstrdup(text);
}

static void keys_free(Keys *k)
{
	for (int i = 0; i < k->n; i++) {
		free(k->lit[i]);
		free(k->text[i]);
	}
	free(k->lit);
	free(k->text);
	memset(k, 0, sizeof(*k));
}

/* "(l1), (l2), ..." of keys [0, n) */
static char *in_list(const Keys *k, int n)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(k->lit[i]) + 2;
	char *s = xmalloc(len), *o = s;
	for (int i = 0; i < n; i++)
		o += sprintf(o, "%s%s", i ? ", " : "", k->lit[i]);
	*o = '\0';
	return s;
}

/* the key as my_key_read reads it, from alias */
static void key_reads(const My *my, Sql *q, const char *alias)
{
	for (int k = 0; k < my->nkeys; k++) {
		if (k)
			sql_add(q, ", ");
		my_key_read(my, q, alias, k);
	}
}

static bool read_keys(My *my, Plan *p, Sql *q, Keys *k)
{
	MYSQL_RES *r = my_plan_look(my, p, "sampled rows for the cast check", q);
	MYSQL_ROW row;
	while (r && (row = mysql_fetch_row(r)) != NULL)
		if (k->n < 4 * CAST_SAMPLE)
			keys_add(k, my, row);
	mysql_free_result(r);
	return r != NULL;
}

static bool integer_key(const My *my)
{
	static const char *const ints[] = { "tinyint", "smallint", "mediumint", "int", "bigint", NULL };
	const char *t = my->keys[0].type ? my->keys[0].type : "";
	for (int i = 0; ints[i]; i++)
		if (strncasecmp(t, ints[i], strlen(ints[i])) == 0)
			return true;
	return false;
}

/* The sampled keys, and what was sampled into p->cast_basis */
static bool sample(My *my, Plan *p, const MyPlanTrial *t, Keys *k)
{
	Sql q, ext;
	MYSQL_RES *r = NULL;
	bool ok = false;
	size_t len;
	sql_init(&q, &my->dialect);
	sql_init(&ext, &my->dialect);
	if (integer_key(my)) {
		/* CAST_RUNS probes of the key's index, evenly over its range, each
		 * taking the next rows in key order */
		sql_add(&q, "SELECT MIN(%I), MAX(%I) FROM %I.%I", my->keys[0].name, my->keys[0].name, my->db, my->table);
		r = my_plan_look(my, p, "the key's range", &q);
		MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
		if (row == NULL || row[0] == NULL || row[1] == NULL)
			goto out;
		long double lo = strtold(row[0], NULL), hi = strtold(row[1], NULL);
		sql_reset(&q);
		for (int i = 0; i < CAST_RUNS; i++) {
			char at[64];
			snprintf(at, sizeof(at), "%.0Lf", lo + (hi - lo) * (long double)i / CAST_RUNS);
			sql_add(&q, "%s(SELECT ", i ? " UNION ALL " : "");
			key_reads(my, &q, "src");
			sql_add(&q, " FROM %I.%I src WHERE src.%I >= %s ORDER BY ", my->db, my->table, my->keys[0].name,
			        at); /* a number printed here */
			my_key_list(my, &q, "src", false);
			sql_add(&q, " LIMIT %d)", CAST_SAMPLE / CAST_RUNS);
		}
		len = (size_t)snprintf(p->cast_basis, sizeof(p->cast_basis),
		                       "up to %d rows: %d runs of %d in key order, spread over the range of %s", CAST_SAMPLE,
		                       CAST_RUNS, CAST_SAMPLE / CAST_RUNS, my->keys[0].name);
	} else {
		for (int desc = 0; desc < 2; desc++) {
			sql_add(&q, "%s(SELECT ", desc ? " UNION " : "");
			key_reads(my, &q, "src");
			sql_add(&q, " FROM %I.%I src ORDER BY ", my->db, my->table);
			for (int i = 0; i < my->nkeys; i++)
				sql_add(&q, "%ssrc.%I%s", i ? ", " : "", my->keys[i].name, desc ? " DESC" : "");
			sql_add(&q, " LIMIT %d)", CAST_SAMPLE / 2);
		}
		len = (size_t)snprintf(p->cast_basis, sizeof(p->cast_basis), "the first and last %d rows in key order",
		                       CAST_SAMPLE / 2);
	}
	if (!read_keys(my, p, &q, k))
		goto out;
	for (int i = 0; i < t->ncand; i++) {
		if (!t->cand[i].indexed)
			continue;
		sql_reset(&q);
		for (int desc = 1; desc >= 0; desc--) {
			sql_add(&q, "%s(SELECT ", desc ? "" : " UNION ");
			key_reads(my, &q, "src");
			sql_add(&q, " FROM %I.%I src WHERE src.%I IS NOT NULL ORDER BY src.%I%s LIMIT %d)", my->db, my->table,
			        t->cand[i].from, t->cand[i].from, desc ? " DESC" : "", CAST_EXTREMES);
		}
		if (!read_keys(my, p, &q, k))
			goto out;
		sql_add(&ext, "%s%s", ext.len ? ", " : "", t->cand[i].from); /* for the text */
	}
	if (ext.len && len < sizeof(p->cast_basis))
		snprintf(p->cast_basis + len, sizeof(p->cast_basis) - len,
		         ", and the %d largest and smallest values of %s by their indexes", CAST_EXTREMES, sql_text(&ext));
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	sql_free(&ext);
	return ok;
}

/* The sample's rows (keys [0, n)) into the trial table; strict: osc's
 * sql_mode, else without STRICT_* */
static bool insert(My *my, const MyPlanTrial *t, const Keys *k, int n, bool strict, const char *loose, OscErr *e)
{
	Sql q;
	char *list = in_list(k, n);
	sql_init(&q, &my->dialect);
	if (!strict && my->main.mariadb)
		sql_add(&q, "SET STATEMENT sql_mode = %L FOR ", loose);
	sql_add(&q, "INSERT INTO %I.%I (", my->db, t->name);
	for (int i = 0; i < my->ncols; i++)
		sql_add(&q, "%s%I", i ? ", " : "", my->cols[i].name);
	sql_add(&q, ") SELECT ");
	for (int i = 0; i < my->ncols; i++)
		sql_add(&q, "%ssrc.%I", i ? ", " : "", my->cols[i].source);
	sql_add(&q, " FROM %I.%I src WHERE ", my->db, my->table);
	my_key_in(my, &q, "src", false, list);
	bool ok;
	if (!strict && !my->main.mariadb) {
		/* MySQL has no SET STATEMENT: the session's mode, and back */
		Sql m;
		sql_init(&m, &my->dialect);
		sql_add(&m, "SET @osc_plan_mode = @@SESSION.sql_mode, SESSION sql_mode = %L", loose);
		ok = my_exec_sql(my, &m, NULL, e) && my_exec_sql(my, &q, NULL, e);
		OscErr e2;
		err_clear(&e2);
		if (!my_exec(my, "SET SESSION sql_mode = @osc_plan_mode", NULL, &e2))
			log_error(my->log, &e2);
		sql_free(&m);
	} else {
		ok = my_exec_sql(my, &q, NULL, e);
	}
	sql_free(&q);
	free(list);
	return ok;
}

/* The session's sql_mode without STRICT_* into out */
static bool loose_mode(My *my, char *out, size_t outsz)
{
	MYSQL_RES *r = NULL;
	OscErr e;
	err_clear(&e);
	out[0] = '\0';
	if (!my_exec(my, "SELECT @@SESSION.sql_mode", &r, &e))
		return false;
	MYSQL_ROW row = mysql_fetch_row(r);
	size_t n = 0;
	char *modes = xstrdup(row && row[0] ? row[0] : ""), *save = NULL;
	for (char *m = strtok_r(modes, ",", &save); m; m = strtok_r(NULL, ",", &save))
		if (strncasecmp(m, "STRICT_", 7) != 0 && n < outsz)
			n += (size_t)snprintf(out + n, outsz - n, "%s%s", n ? "," : "", m);
	free(modes);
	mysql_free_result(r);
	return n < outsz;
}

/* A column's rows whose stored value is not the original's: their keys */
static bool differing(My *my, const MyPlanTrial *t, const MyPlanCand *c, Keys *out, OscErr *e)
{
	Sql q;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT ");
	key_reads(my, &q, "src");
	sql_add(&q, " FROM %I.%I t JOIN %I.%I src ON (", my->db, t->name, my->db, my->table);
	my_key_list(my, &q, "t", true);
	sql_add(&q, ") = (");
	my_key_list(my, &q, "src", false);
	if (c->text)
		sql_add(&q,
		        ") WHERE NOT (CAST(t.%I AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin"
		        " <=> CAST(src.%I AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin)",
		        c->name, c->from);
	else
		sql_add(&q, ") WHERE NOT (t.%I <=> src.%I)", c->name, c->from);
	sql_add(&q, " ORDER BY ");
	my_key_list(my, &q, "src", false);
	bool ok = my_exec_sql(my, &q, &r, e);
	while (ok && (row = mysql_fetch_row(r)) != NULL)
		keys_add(out, my, row);
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* Column c's original values (of up to CAST_PROBE of the keys) into the
 * trial rows stored without strict mode, in strict mode: false with e
 * when the new column cannot hold them (rolled back either way). */
static bool strict_column(My *my, const MyPlanTrial *t, const MyPlanCand *c, const Keys *k, OscErr *e)
{
	Sql q;
	OscErr e2;
	err_clear(&e2);
	char *list = in_list(k, k->n < CAST_PROBE ? k->n : CAST_PROBE);
	sql_init(&q, &my->dialect);
	sql_add(&q, "UPDATE %I.%I t JOIN %I.%I src ON (", my->db, t->name, my->db, my->table);
	my_key_list(my, &q, "t", true);
	sql_add(&q, ") = (");
	my_key_list(my, &q, "src", false);
	sql_add(&q, ") SET t.%I = src.%I WHERE ", c->name, c->from);
	my_key_in(my, &q, "src", false, list);
	bool ok = my_exec(my, "SAVEPOINT osc_plan_column", NULL, e) && my_exec_sql(my, &q, NULL, e);
	if (!my_exec(my, "ROLLBACK TO SAVEPOINT osc_plan_column", NULL, &e2))
		log_error(my->log, &e2);
	sql_free(&q);
	free(list);
	return ok;
}

/* The server's message without its " at row N" (that row is the test's) */
static void message(const OscErr *e, const MyPlanTrial *t, const My *my, char *out, size_t outsz)
{
	OscErr c = *e;
	err_replace(&c, t->name, my->table);
	snprintf(out, outsz, "%.500s", c.msg);
	char *at = strstr(out, " at row ");
	if (at)
		*at = '\0';
}

/* The sampled rows k into the trial table and the findings, inside
 * my_plan_cast's transaction (its savepoint osc_plan_cast made) */
static void check(My *my, Plan *p, const MyPlanTrial *t, const Keys *kp, const char *loose)
{
	const Keys k = *kp;
	Keys *diff = NULL;
	OscErr e, strict_e;
	char msg[600];
	err_clear(&e);
	err_clear(&strict_e);
	p->cast_tried = true;
	p->cast_rows = k.n;
	bool strict_ok = insert(my, t, &k, k.n, true, loose, &strict_e);
	if (!strict_ok) {
		if (!my_exec(my, "ROLLBACK TO SAVEPOINT osc_plan_cast", NULL, &e) ||
		    !insert(my, t, &k, k.n, false, loose, &e)) {
			/* not even without strict mode: a CHECK, a key */
			message(strict_e.msg[0] ? &strict_e : &e, t, my, msg, sizeof(msg));
			plan_warn(p, true, "the %d sampled rows fail the new definition (%s): the run would stop at the first "
			                   "chunk holding one",
			          k.n, msg);
			goto out;
		}
	}
	diff = xcalloc((size_t)t->ncand + 1, sizeof(Keys));
	for (int i = 0; i < t->ncand; i++)
		if (!differing(my, t, &t->cand[i], &diff[i], &e))
			plan_warn(p, false, "could not check whether column %s's values change: %s", t->cand[i].name, e.msg);
	bool named = false;
	for (int i = 0; i < t->ncand; i++) {
		const MyPlanCand *c = &t->cand[i];
		if (diff[i].n == 0)
			continue;
		named = true;
		bool fails = false;
		msg[0] = '\0';
		if (!strict_ok) {
			/* this column alone, in strict mode: its original values
			 * into the rows stored without it */
			OscErr ce;
			err_clear(&ce);
			fails = !strict_column(my, t, c, &diff[i], &ce);
			if (fails)
				message(&ce, t, my, msg, sizeof(msg));
		}
		if (!fails)
			snprintf(msg, sizeof(msg), "%s to %s does not keep them as they are", c->old_type, c->type);
		plan_cast(p, c->name, fails, diff[i].n, diff[i].text[0], msg);
	}
	if (!strict_ok && !named) {
		message(&strict_e, t, my, msg, sizeof(msg));
		plan_warn(p, true, "sampled rows fail the new definition in osc's strict sql_mode (%s): the run would stop "
		                   "at the first chunk holding one",
		          msg);
	}
out:
	for (int i = 0; diff && i < t->ncand; i++)
		keys_free(&diff[i]);
	free(diff);
}

void my_plan_cast(My *my, Plan *p, const MyPlanTrial *t)
{
	Keys k;
	OscErr e;
	char loose[1024];
	memset(&k, 0, sizeof(k));
	err_clear(&e);
	if (!sample(my, p, t, &k)) {
		keys_free(&k);
		return;
	}
	if (k.n == 0)
		snprintf(p->cast_basis, sizeof(p->cast_basis), "the table has no rows to try");
	else if (!loose_mode(my, loose, sizeof(loose)) ||
	         !my_exec(my, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", NULL, &e) ||
	         !my_exec(my, "START TRANSACTION", NULL, &e) || !my_exec(my, "SAVEPOINT osc_plan_cast", NULL, &e))
		plan_warn(p, false, "could not check the casts on sampled rows: %s", e.msg);
	else
		check(my, p, t, &k, loose);
	if (k.n > 0)
		mys_rollback(&my->main);
	keys_free(&k);
}
