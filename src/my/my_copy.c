/*
 * my_copy.c — the copy's primitives on MySQL/MariaDB (src/core/copy.c runs
 * the chunk loop): the bound of a chunk and the copy of a key range, each
 * one statement (my_sql.c), and the key values and batches that travel
 * between the core and the engine.
 *
 * The copy of (lo, hi] is a consistent read (READ COMMITTED, no locking
 * read of the original), so the application never waits on it; a row that
 * changes meanwhile is logged and merged by the replay.  A key value keeps
 * both the literals that name its row in SQL and the text the server
 * printed, which the checkpoint stores.
 */
#include "my.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

MyKeyVal *my_key_value(const My *my, MYSQL_ROW row, int first)
{
	MyKeyVal *k = xcalloc(1, sizeof(MyKeyVal));
	k->n = my->nkeys;
	k->lit = my_key_literals(my, row, first);
	k->raw = xcalloc((size_t)my->nkeys + 1, sizeof(char *));
	for (int i = 0; i < my->nkeys; i++)
		k->raw[i] = xstrdup(row[first + i] ? row[first + i] : "");
	return k;
}

void my_key_value_free(MyKeyVal *k)
{
	if (k == NULL)
		return;
	for (int i = 0; i < k->n; i++) {
		free(k->lit[i]);
		free(k->raw[i]);
	}
	free(k->lit);
	free(k->raw);
	free(k);
}

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

/* A key for people: the literals, quotes dropped from plain ones. */
void my_key_value_describe(const MyKeyVal *key, char *out, size_t outsz)
{
	size_t n = (size_t)snprintf(out, outsz, "(");
	for (int k = 0; k < key->n && n < outsz; k++) {
		const char *v = key->lit[k];
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

void my_batch_free(MyBatch *b)
{
	if (b == NULL)
		return;
	free(b->keys);
	free(b->ids);
	free(b);
}

void my_batch_join(MyBatch *into, MyBatch *more)
{
	if (more->keys[0]) {
		char *k = into->keys[0] ? xasprintf("%s, %s", into->keys, more->keys) : xstrdup(more->keys);
		free(into->keys);
		into->keys = k;
	}
	if (more->ids[0]) {
		char *i = into->ids[0] ? xasprintf("%s, %s", into->ids, more->ids) : xstrdup(more->ids);
		free(into->ids);
		into->ids = i;
	}
	into->n += more->n;
	my_batch_free(more);
}

void my_value_error(OscErr *e)
{
	/* out of range, truncated, an incorrect value or date, too long, NULL
	 * into NOT NULL: what strict mode turns from a warning into an error */
	static const char *const codes[] = { "1264", "1265", "1366", "1292", "1406", "1048", "1367", NULL };
	for (const char *const *c = codes; *c; c++)
		if (strcmp(e->sqlstate, *c) == 0) {
			err_wrap(e, OSC_EXIT_FAILED, "a value of the table does not fit the new table: ",
			         " (osc copies exactly or not at all; the original keeps it)");
			return;
		}
}

bool my_chunk_bound(MySession *s, My *my, const MyKeyVal *lo, int64_t limit, MyKeyVal **hi, int64_t *spanned,
                    OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;

	*hi = NULL;
	*spanned = 0;
	sql_init(&q, &my->dialect);
	/* most chunks: the key `limit` rows on; the last: the tail's last key
	 * and how many rows it holds */
	my_sql_bound_skip(my, &q, lo ? lo->lit : NULL, (long)limit);
	bool ok = mys_exec_sql(s, &q, &r, e);
	MYSQL_ROW row = ok ? mysql_fetch_row(r) : NULL;
	if (row) {
		*hi = my_key_value(my, row, 0);
		*spanned = limit;
	} else if (ok) {
		mysql_free_result(r);
		r = NULL;
		sql_reset(&q);
		my_sql_bound(my, &q, lo ? lo->lit : NULL, (long)limit);
		ok = mys_exec_sql(s, &q, &r, e);
		row = ok ? mysql_fetch_row(r) : NULL;
		if (row) {
			*hi = my_key_value(my, row, 0);
			*spanned = row[my->nkeys] ? strtoll(row[my->nkeys], NULL, 10) : 0; /* the count after the key */
		}
	}
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

bool my_copy_range(MySession *s, My *my, const MyKeyVal *lo, const MyKeyVal *hi, int64_t *rows, OscErr *e)
{
	Sql q;
	*rows = 0;
	sql_init(&q, &my->dialect);
	my_sql_copy_range(my, &q, lo ? lo->lit : NULL, hi->lit);
	bool ok = mys_exec_sql(s, &q, NULL, e);
	if (ok)
		*rows = (int64_t)mysql_affected_rows(s->conn);
	else
		my_value_error(e);
	sql_free(&q);
	return ok;
}

/* The shadow's rows above a key (all of them without one): what chunks of
 * a parallel copy committed above the checkpoint, which a resumed or a
 * fallen-back copy writes again (src/core/copy_wave.c). */
bool my_shadow_trim(MySession *s, My *my, const MyKeyVal *above, int64_t *rows, OscErr *e)
{
	Sql q;
	*rows = 0;
	sql_init(&q, &my->dialect);
	my_sql_trim(my, &q, above ? above->lit : NULL);
	bool ok = mys_exec_sql(s, &q, NULL, e);
	if (ok)
		*rows = (int64_t)mysql_affected_rows(s->conn);
	sql_free(&q);
	return ok;
}
