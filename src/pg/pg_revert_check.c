/*
 * pg_revert_check.c — does the ALTER have an inverse?  A --revertible run
 * asks once its shadow exists (src/pg/pg_shadow.c; `osc plan` notes the
 * refusal), so that nothing is made for a migration `osc revert` could
 * not undo.  Refused (exit 2):
 *   - a column of the original that the ALTER drops, NOT NULL without a
 *     default (not an identity or generated one): a row written after the
 *     swap would have no value for it in the original;
 *   - a column the ALTER retypes to a type with no cast back;
 *   - a key column retyped, the key's unique index dropped, or a primary key
 *     over other columns added: the revert matches rows by the new table's
 *     key, which must be the copy's.
 * What a revert cannot give back exactly is only refused when it happens:
 * a value written after the swap that the old type cannot hold makes `osc
 * revert` refuse, naming the key (src/pg/pg_revert.c).
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_carry.h"

/* An explicit cast from one type to the other exists (asked of the
 * parser, in a savepoint of the shadow's transaction). */
static bool cast_back(Pg *pg, const char *from, const char *to, bool *ok, OscErr *e)
{
	Sql q;
	OscErr e2;
	err_clear(&e2);
	sql_init(&q, &pg->dialect);
	sql_add(&q, "SELECT CAST(CAST(NULL AS %s) AS %s)", from, to);
	if (!pg_command(pg, "SAVEPOINT osc_cast", e)) {
		sql_free(&q);
		return false;
	}
	*ok = pg_exec_sql(pg, &q, NULL, &e2);
	sql_free(&q);
	return pg_command(pg, *ok ? "RELEASE SAVEPOINT osc_cast" : "ROLLBACK TO SAVEPOINT osc_cast", e);
}

bool pg_revert_check(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;
	char o[16], s[16];
	snprintf(o, sizeof(o), "%u", pg->oid);
	snprintf(s, sizeof(s), "%u", pg->shadow_oid);
	const char *p[2] = { o, s };

	if (pg->tmp_key_index) {
		err_set(e, OSC_EXIT_INPUT,
		        "--revertible: the ALTER drops %s, the unique index osc matches rows by; a revert could not match "
		        "them (run without --revertible)",
		        pg->key_index);
		return false;
	}
	/* a primary key the ALTER adds over other columns becomes the key a
	 * revert would find rows by (the copy's key is the one it kept) */
	for (int i = 0; i < pg->ndeferred; i++)
		if (strstr(pg->deferred[i].create_sql, " PRIMARY KEY (")) {
			err_set(e, OSC_EXIT_INPUT,
			        "--revertible: the ALTER gives the table a primary key other than %s, the key osc matches rows "
			        "by; a revert could not match them (run without --revertible)",
			        pg->key_index);
			return false;
		}
	sql_init(&q, &pg->dialect);
	sql_add(&q, "%s SELECT m.old_name, m.new_name, m.retyped, a.attnotnull AND NOT a.atthasdef"
	            "       AND a.attidentity = '' AND a.attgenerated = '',"
	            "       pg_catalog.format_type(a.atttypid, a.atttypmod),"
	            "       (SELECT pg_catalog.format_type(n.atttypid, n.atttypmod) FROM pg_catalog.pg_attribute n"
	            "         WHERE n.attrelid = $2::oid AND n.attname = m.new_name)"
	            "  FROM colmap m JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::oid AND a.attnum = m.old_attnum"
	            " ORDER BY m.old_attnum",
	        pg_colmap_cte);
	if (!pg_exec(pg, sql_text(&q), 2, p, &r, e))
		goto out;
	enum { C_OLD, C_NEW, C_RETYPED, C_REQUIRED, C_OLD_TYPE, C_NEW_TYPE };
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, C_OLD);
		if (PQgetisnull(r, i, C_NEW)) {
			if (PQgetvalue(r, i, C_REQUIRED)[0] == 't') {
				err_set(e, OSC_EXIT_INPUT,
				        "--revertible: the ALTER drops column %s, NOT NULL without a default: a row written after "
				        "the swap could not go back into the original (give it a default first, or run without "
				        "--revertible)",
				        name);
				goto out;
			}
			continue;
		}
		if (PQgetvalue(r, i, C_RETYPED)[0] != 't')
			continue;
		for (int k = 0; k < pg->nkeys; k++)
			if (strcmp(pg->keys[k].name, name) == 0) {
				err_set(e, OSC_EXIT_INPUT,
				        "--revertible: the ALTER changes the type of key column %s; a revert matches rows by the "
				        "key (run without --revertible)",
				        name);
				goto out;
			}
		bool castable;
		if (!cast_back(pg, PQgetvalue(r, i, C_NEW_TYPE), PQgetvalue(r, i, C_OLD_TYPE), &castable, e))
			goto out;
		if (!castable) {
			err_set(e, OSC_EXIT_INPUT,
			        "--revertible: column %s becomes %s, and %s has no cast back to %s: a revert could not "
			        "convert it (run without --revertible)",
			        name, PQgetvalue(r, i, C_NEW_TYPE), PQgetvalue(r, i, C_NEW_TYPE), PQgetvalue(r, i, C_OLD_TYPE));
			goto out;
		}
	}
	ok = !q.failed;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}
