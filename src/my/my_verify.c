/*
 * my_verify.c — proving on MySQL/MariaDB that the shadow holds the
 * transformed rows of the original (--verify checksum|count|none).
 *
 * A comparison is one statement over both tables, so InnoDB reads both
 * through one read view (READ COMMITTED takes one per statement):
 *   SELECT a.n, b.n, a.h <=> b.h
 *     FROM (SELECT COUNT(*) n, SUM(CRC32(CONCAT_WS('#', ISNULL(c1), x1, ...))) h
 *             FROM T src WHERE <scope> AND (key) NOT IN (SELECT key FROM log)) a,
 *          (the same over the shadow's columns) b
 * The original's side goes through the copy's own column sources, cast to
 * what the shadow's column prints (see my_verify_cmp); ISNULL markers keep a
 * NULL apart from an empty string, which CONCAT_WS alone would not.  A sum
 * of CRC32s is blind to row order, so neither side is sorted.
 *
 * Unlike PostgreSQL, the copy cannot share a snapshot with the comparison:
 * it is an autocommit INSERT ... SELECT under READ COMMITTED (REPEATABLE
 * READ would take shared next-key locks on the original), so the
 * comparison reads the original a little later than the copy did.  A row
 * changed in between was committed together with its key in the log (the
 * capture trigger runs in the writer's transaction), so the comparison's
 * read view sees both or neither: keys in the log are left out on both
 * sides, and compared when the replayer merges them.  Copy and replay take
 * turns on one connection, so no merge runs between a chunk's INSERT and
 * its comparison.
 *   - a chunk: the range (watermark, hi] right after its INSERT; the
 *     replayer never writes keys above the watermark, so the shadow's range
 *     holds exactly what the INSERT wrote.  A difference deletes the range
 *     from the shadow and copies it again; a second one aborts the run
 *     naming the range.
 *   - a replay batch: its merged keys, inside its transaction, after it
 *     deleted its own log rows; keys logged again meanwhile are left out
 *     (a later batch merges them).  A difference merges the keys again; a
 *     second one aborts.
 *   - the drain under the swap's LOCK TABLES: writers are locked out, so
 *     nothing is left out.  That is the final delta: every key was compared
 *     when it was last written.
 * A column whose type change has no safe textual mapping is left out of
 * the checksum (a warning names it): never a false abort.
 */
#include "my.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

static bool one_of(const char *t, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(t, *list) == 0)
			return true;
	return false;
}

static const char *const INTS[] = { "tinyint", "smallint", "mediumint", "int", "bigint", NULL };
static const char *const NUMS[] = { "tinyint", "smallint", "mediumint", "int",    "bigint",
	                                    "decimal", "float",    "double",    NULL };
static const char *const TEXTS[] = { "char", "varchar", "tinytext", "text", "mediumtext", "longtext", NULL };
static const char *const BYTES[] = { "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", NULL };
static const char *const DATES[] = { "date", "datetime", "timestamp", NULL };

static bool is_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

MyCmp my_verify_cmp(const MyColType *o, const MyColType *s, char *as, size_t assz)
{
	const char *st = s->data_type, *ot = o->data_type;
	as[0] = '\0';
	if (strcmp(o->column_type, s->column_type) == 0 && strcmp(o->charset, s->charset) == 0)
		return MY_CMP_DIRECT;
	bool texts = one_of(st, TEXTS) && one_of(ot, TEXTS);
	if ((strcmp(st, "enum") == 0 || strcmp(st, "set") == 0) && strcmp(st, ot) == 0) {
		/* members added at the end: every value keeps its text */
		size_t n = strlen(o->column_type);
		texts = n > 0 && strncmp(o->column_type, s->column_type, n - 1) == 0 &&
		        (s->column_type[n - 1] == ',' || strcmp(o->column_type, s->column_type) == 0);
		if (!texts)
			return MY_CMP_SKIP;
	}
	if (texts) {
		/* CHAR drops trailing spaces when read: a VARCHAR's would differ */
		if (strcmp(st, "char") == 0 && strcmp(ot, "char") != 0)
			return MY_CMP_SKIP;
		if (strcmp(o->charset, s->charset) == 0)
			return MY_CMP_DIRECT;
		if (!is_name(s->charset))
			return MY_CMP_SKIP;
		snprintf(as, assz, "%s", s->charset);
		return MY_CMP_CONVERT;
	}
	/* BINARY(n) pads with zero bytes: only a variable target reads the same */
	if (one_of(st, BYTES) && strcmp(st, "binary") != 0 && one_of(ot, BYTES))
		return MY_CMP_DIRECT;
	if (one_of(st, INTS) && one_of(ot, NUMS))
		snprintf(as, assz, "%s", strstr(s->column_type, "unsigned") ? "UNSIGNED" : "SIGNED");
	else if (strcmp(st, "decimal") == 0 && one_of(ot, NUMS) && s->precision > 0 && s->scale >= 0)
		snprintf(as, assz, "DECIMAL(%d,%d)", s->precision, s->scale);
	else if (strcmp(st, "double") == 0 && one_of(ot, NUMS))
		snprintf(as, assz, "DOUBLE");
	else if (strcmp(st, "date") == 0 && one_of(ot, DATES))
		snprintf(as, assz, "DATE");
	else if (strcmp(st, "datetime") == 0 && one_of(ot, DATES))
		snprintf(as, assz, "DATETIME(%d)", s->dt_precision > 0 ? s->dt_precision : 0);
	/* a TIMESTAMP prints in the session's time zone, as a DATETIME cast does */
	else if (strcmp(st, "timestamp") == 0 && strcmp(ot, "timestamp") == 0)
		snprintf(as, assz, "DATETIME(%d)", s->dt_precision > 0 ? s->dt_precision : 0);
	else if (strcmp(st, "time") == 0 && strcmp(ot, "time") == 0)
		snprintf(as, assz, "TIME(%d)", s->dt_precision > 0 ? s->dt_precision : 0);
	else
		return MY_CMP_SKIP;
	return MY_CMP_CAST;
}

/* One column's description from an information_schema.COLUMNS row
 * (name, DATA_TYPE, COLUMN_TYPE, charset, precision, scale, datetime
 * precision); the strings point into the row. */
static void col_type(MYSQL_ROW row, MyColType *t)
{
	t->data_type = row[1];
	t->column_type = row[2];
	t->charset = row[3];
	t->precision = row[4][0] ? atoi(row[4]) : -1;
	t->scale = row[5][0] ? atoi(row[5]) : -1;
	t->dt_precision = row[6][0] ? atoi(row[6]) : -1;
}

static bool read_types(My *my, const char *table, MYSQL_RES **r, OscErr *e)
{
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COALESCE(CHARACTER_SET_NAME, ''),"
	        " COALESCE(NUMERIC_PRECISION, ''), COALESCE(NUMERIC_SCALE, ''), COALESCE(DATETIME_PRECISION, ''),"
	        " IS_NULLABLE"
	        " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, table);
	bool ok = my_exec_sql(my, &q, r, e);
	sql_free(&q);
	return ok;
}

static MYSQL_ROW find_col(MYSQL_RES *r, const char *name)
{
	MYSQL_ROW row;
	mysql_data_seek(r, 0);
	while ((row = mysql_fetch_row(r)) != NULL)
		if (strcmp(row[0], name) == 0)
			return row;
	return NULL;
}

/* The row text of both sides, once per run: my->verify_orig and
 * my->verify_shadow, "CONCAT_WS('#', ISNULL(c1), x1, ...)" (or "''" when no
 * column can be compared). */
static bool load_rows(My *my, OscErr *e)
{
	MYSQL_RES *ro = NULL, *rs = NULL;
	Sql a, b;
	bool ok = false;
	int n = 0;

	if (my->verify_orig)
		return true;
	sql_init(&a, &my->dialect);
	sql_init(&b, &my->dialect);
	if (!read_types(my, my->table, &ro, e) || !read_types(my, my->shadow, &rs, e))
		goto out;
	sql_add(&a, "CONCAT_WS('#'");
	sql_add(&b, "CONCAT_WS('#'");
	for (int i = 0; i < my->ncols; i++) {
		MYSQL_ROW orow = find_col(ro, my->cols[i].source);
		MyColType ot, st;
		if (orow == NULL)
			continue;
		col_type(orow, &ot);
		MYSQL_ROW srow = find_col(rs, my->cols[i].name);
		if (srow == NULL)
			continue;
		col_type(srow, &st);
		char as[64];
		MyCmp how = my_verify_cmp(&ot, &st, as, sizeof(as));
		if (how == MY_CMP_SKIP) {
			/* a warning: this column's values are not proven equal */
			log_msg(&my->osc->log, LOG_WARN,
			        "verify: column %s (%s to %s) is left out of the checksum: no exact mapping of its text",
			        my->cols[i].name, ot.column_type, st.column_type);
			continue;
		}
		/* character columns as bytes (CONCAT_WS may refuse to mix
		 * collations); numbers and dates print ASCII as they are */
		bool chars = st.charset[0] != '\0';
		Sql x;
		sql_init(&x, &my->dialect);
		if (chars)
			sql_add(&x, "CAST(");
		if (how == MY_CMP_CAST)
			sql_add(&x, "CAST(src.%I AS %s)", my->cols[i].source, as);
		else if (how == MY_CMP_CONVERT)
			sql_add(&x, "CONVERT(src.%I USING %s)", my->cols[i].source, as);
		else
			sql_add(&x, "src.%I", my->cols[i].source);
		if (chars)
			sql_add(&x, " AS BINARY)");
		/* a NULL marker where either side can be NULL */
		if (strcmp(orow[7], "YES") == 0 || strcmp(srow[7], "YES") == 0) {
			sql_add(&a, ", ISNULL(src.%I)", my->cols[i].source);
			sql_add(&b, ", ISNULL(%I)", my->cols[i].name);
		}
		sql_add(&a, ", %s", sql_text(&x));
		if (x.failed)
			a.failed = true;
		sql_free(&x);
		sql_add(&b, chars ? ", CAST(%I AS BINARY)" : ", %I", my->cols[i].name);
		n++;
	}
	sql_add(&a, ")");
	sql_add(&b, ")");
	if (a.failed || b.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the verification statement");
		goto out;
	}
	if (n == 0) {
		sql_reset(&a);
		sql_reset(&b);
		sql_add(&a, "''");
		sql_add(&b, "''");
	}
	my->verify_orig = sql_take(&a);
	my->verify_shadow = sql_take(&b);
	ok = true;
out:
	mysql_free_result(ro);
	mysql_free_result(rs);
	sql_free(&a);
	sql_free(&b);
	return ok;
}

void my_verify_free(My *my)
{
	free(my->verify_orig);
	free(my->verify_shadow);
	my->verify_orig = my->verify_shadow = NULL;
}

/* The key columns of one side: (src.k1, ...) or the shadow's (k1', ...). */
static void key_tuple(My *my, Sql *q, bool shadow)
{
	sql_add(q, "(");
	my_key_list(my, q, shadow ? NULL : "src", shadow);
	sql_add(q, ")");
}

/* A scope: the range (lo, hi] (lo NULL: from the start), or the keys of a
 * replay batch "(v1, v2), ..." no higher than the watermark (when the copy
 * is not done). */
typedef struct Scope {
	char **lo, **hi;
	const char *keys;
} Scope;

static void side(My *my, Sql *q, bool shadow, const Scope *sc)
{
	const char *alias = shadow ? NULL : "src";
	sql_add(q, "(SELECT COUNT(*) AS n, ");
	if (my->osc->opt.verify == VERIFY_CHECKSUM)
		sql_add(q, "SUM(CRC32(%s)) AS h", shadow ? my->verify_shadow : my->verify_orig);
	else
		sql_add(q, "NULL AS h");
	if (shadow)
		sql_add(q, " FROM %I.%I WHERE ", my->db, my->shadow);
	else
		sql_add(q, " FROM %I.%I src FORCE INDEX (%I) WHERE ", my->db, my->table, my->key_index);
	if (sc->keys) {
		key_tuple(my, q, shadow);
		sql_add(q, " IN (%s)", sc->keys);
		if (!my->copy_done) {
			sql_add(q, " AND ");
			my_key_compare_as(my, q, alias, shadow, "<=", my->watermark);
		}
	} else {
		if (sc->lo) {
			my_key_compare_as(my, q, alias, shadow, ">", sc->lo);
			sql_add(q, " AND ");
		}
		my_key_compare_as(my, q, alias, shadow, "<=", sc->hi);
	}
	/* under the swap's lock nothing changes, and the log may not be read
	 * under a second name */
	if (!my->in_lock) {
		sql_add(q, " AND ");
		key_tuple(my, q, shadow);
		sql_add(q, " NOT IN (SELECT ");
		my_key_list(my, q, "l", false);
		sql_add(q, " FROM %I.%I l)", my->db, my->log);
	}
	sql_add(q, ")");
}

/* Runs the comparison over sc: *same, and a sentence for a difference. */
static bool compare(My *my, const Scope *sc, bool *same, char *why, size_t whysz, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;

	*same = true;
	if (!load_rows(my, e))
		return false;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT a.n, b.n, a.h <=> b.h FROM ");
	side(my, &q, false, sc);
	sql_add(&q, " a, ");
	side(my, &q, true, sc);
	sql_add(&q, " b");
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row == NULL || row[0] == NULL || row[1] == NULL) {
		err_set(e, OSC_EXIT_FAILED, "verification: the comparison returned no row");
		goto out;
	}
	*same = strcmp(row[0], row[1]) == 0 && row[2] && strcmp(row[2], "1") == 0;
	if (!*same)
		snprintf(why, whysz, "the original has %s row(s), the new table %s%s", row[0], row[1],
		         strcmp(row[0], row[1]) == 0 ? ", with different contents (checksums differ)" : "");
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* A key for people: the literals, quotes dropped from plain ones. */
/* A hex literal _cs X'6B6579' of printable ASCII as its text (key), into
 * out; false when it is not one. */
static bool hex_text(const char *v, char *out, size_t outsz)
{
	const char *x = strstr(v, " X'");
	size_t o = 0;
	if (v[0] != '_' || x == NULL)
		return false;
	for (x += 3; isxdigit((unsigned char)x[0]) && isxdigit((unsigned char)x[1]) && o + 1 < outsz; x += 2) {
		char pair[3] = { x[0], x[1], '\0' };
		long c = strtol(pair, NULL, 16);
		if (c < 0x20 || c > 0x7e)
			return false;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return *x == '\'';
}

static void key_text(My *my, char **key, char *out, size_t outsz)
{
	size_t n = (size_t)snprintf(out, outsz, "(");
	for (int k = 0; k < my->nkeys && n < outsz; k++) {
		const char *v = key[k];
		char plain[128];
		size_t len = strlen(v);
		int w = (int)len;
		if (hex_text(v, plain, sizeof(plain))) {
			v = plain;
			w = (int)strlen(plain);
		} else if (len >= 2 && v[0] == '\'' && v[len - 1] == '\'') {
			v++;
			w -= 2;
		}
		n += (size_t)snprintf(out + n, outsz - n, "%s%.*s", k ? ", " : "", w, v);
	}
	if (n < outsz)
		snprintf(out + n, outsz - n, ")");
}

static void range_text(My *my, char **lo, char **hi, char *out, size_t outsz)
{
	char a[256], b[256];
	key_text(my, hi, b, sizeof(b));
	if (lo == NULL) {
		snprintf(out, outsz, "keys from the start up to %s", b);
		return;
	}
	key_text(my, lo, a, sizeof(a));
	snprintf(out, outsz, "keys above %s up to %s", a, b);
}

static bool delete_range(My *my, char **lo, char **hi, OscErr *e)
{
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "DELETE FROM %I.%I WHERE ", my->db, my->shadow);
	if (lo) {
		my_key_compare_as(my, &q, NULL, true, ">", lo);
		sql_add(&q, " AND ");
	}
	my_key_compare_as(my, &q, NULL, true, "<=", hi);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

/* OSC_FAULT=corrupt-shadow:once|always (src/core/fault.h): the first chunk's
 * first row with a value in its first non-key column, and no key in the
 * log (a logged key is compared later), loses that value. */
static bool fault_corrupt(My *my, char **lo, char **hi, int attempt, OscErr *e)
{
	const char *f = fault_value("corrupt-shadow");
	if (f == NULL || my->verified_chunks > 0 || (attempt > 1 && strcmp(f, "always") != 0))
		return true;
	const char *col = NULL;
	for (int i = 0; i < my->ncols && col == NULL; i++) {
		col = my->cols[i].name;
		for (int k = 0; k < my->nkeys && col != NULL; k++)
			if (strcmp(my->keys[k].shadow, col) == 0)
				col = NULL;
	}
	if (col == NULL)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "UPDATE %I.%I SET %I = NULL WHERE %I IS NOT NULL AND ", my->db, my->shadow, col, col);
	if (lo) {
		my_key_compare_as(my, &q, NULL, true, ">", lo);
		sql_add(&q, " AND ");
	}
	my_key_compare_as(my, &q, NULL, true, "<=", hi);
	sql_add(&q, " AND ");
	key_tuple(my, &q, true);
	sql_add(&q, " NOT IN (SELECT ");
	my_key_list(my, &q, "l", false);
	sql_add(&q, " FROM %I.%I l) ORDER BY ", my->db, my->log);
	my_key_list(my, &q, NULL, true);
	sql_add(&q, " LIMIT 1");
	bool ok = my_exec_sql(my, &q, NULL, e);
	if (ok)
		log_msg(&my->osc->log, LOG_WARN, "fault injection: set %s to NULL in %llu row of the shadow (attempt %d)", col,
		        (unsigned long long)mysql_affected_rows(my->conn), attempt);
	sql_free(&q);
	return ok;
}

/* A chunk's INSERT; a duplicate that only stale rows of the shadow cause
 * (src/my/my_conflict.c) merges their keys and inserts again. */
static bool insert_chunk(My *my, Sql *insert, char **hi, OscErr *e)
{
	for (int round = 1;; round++) {
		if (my_exec_sql(my, insert, NULL, e))
			return true;
		if (strcmp(e->sqlstate, "1062") != 0 || round > MY_CONFLICT_ROUNDS)
			return false;
		Sql pred, more;
		OscErr ce;
		int64_t found = 0;
		err_clear(&ce);
		sql_init(&pred, &my->dialect);
		sql_init(&more, &my->dialect);
		if (my->watermark) {
			my_key_compare(my, &pred, "src", ">", my->watermark);
			sql_add(&pred, " AND ");
		}
		my_key_compare(my, &pred, "src", "<=", hi);
		bool ok = my_conflicts(my, sql_text(&pred), &more, &found, &ce);
		if (!ok)
			log_error(&my->osc->log, &ce);
		if (ok && found > 0) {
			log_msg(&my->osc->log, LOG_INFO,
			        "a duplicate under a unique index of the new table came from %lld row(s) of it not yet brought "
			        "up to date (their change is in the log): merging those keys, then the chunk again",
			        (long long)found);
			ok = my_merge_keys(my, &more, &ce);
			if (!ok)
				*e = ce;
		}
		sql_free(&pred);
		sql_free(&more);
		if (!ok || found == 0) {
			if (strcmp(e->sqlstate, "1062") == 0)
				err_wrap(e, OSC_EXIT_FAILED, "the table's rows violate a unique index of the new table: ",
				         "; nothing was changed, no row was dropped");
			return false;
		}
	}
}

bool my_verify_copy(My *my, Sql *insert, char **hi, int64_t *nrows, OscErr *e)
{
	for (int attempt = 1;; attempt++) {
		bool same = true;
		char why[256], range[600];
		if (!insert_chunk(my, insert, hi, e))
			return false;
		*nrows = (int64_t)mysql_affected_rows(my->conn);
		if (my->osc->opt.verify == VERIFY_NONE)
			return true;
		Scope sc = { .lo = my->watermark, .hi = hi, .keys = NULL };
		if (!fault_corrupt(my, my->watermark, hi, attempt, e) || !compare(my, &sc, &same, why, sizeof(why), e))
			return false;
		if (same) {
			my->verified_chunks++;
			return true;
		}
		range_text(my, my->watermark, hi, range, sizeof(range));
		if (attempt == 2) {
			err_set(e, OSC_EXIT_FAILED,
			        "verification: the copy of %s differs from the original twice (%s); stopped before the swap", range,
			        why);
			return false;
		}
		my->recopied++;
		summary_verify_mismatch(my->osc);
		log_msg(&my->osc->log, LOG_WARN, "verification: the copy of %s differs from the original (%s); copying it again",
		        range, why);
		if (!delete_range(my, my->watermark, hi, e))
			return false;
	}
}

bool my_verify_keys(My *my, const char *keys, bool *same, char *why, size_t whysz, OscErr *e)
{
	*same = true;
	if (my->osc->opt.verify == VERIFY_NONE)
		return true;
	Scope sc = { .lo = NULL, .hi = NULL, .keys = keys };
	if (!compare(my, &sc, same, why, whysz, e))
		return false;
	if (*same)
		my->verified_batches++;
	return true;
}
