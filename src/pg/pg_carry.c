/*
 * pg_carry.c — what a rename swap does not carry by itself, restored in the
 * swap transaction (src/pg/pg_swap.c) under its lock.
 *
 * PostgreSQL binds views, foreign keys and publications to a table's OID, and
 * `LIKE ... INCLUDING ALL` leaves grants, the owner, policies, triggers,
 * reloptions, replica identity and the table's comment behind.  So, with the
 * original still holding its name and every relative locked:
 *
 *   pg_carry_lock   locks the other ends of the foreign keys, in OID order,
 *                   under the swap's lock_timeout (a timeout retries the swap)
 *   pg_carry_read   reads every definition from the catalog with search_path
 *                   empty, so each deparsed name comes out schema-qualified
 *                   and still names the original ("app.users"); it also drops
 *                   the foreign keys and steps extended statistics aside
 *   pg_carry_apply  once the new table has taken the name, runs the saved
 *                   statements: the same text now resolves to the new table
 *   pg_carry_validate  after the commit: VALIDATE CONSTRAINT for each foreign
 *                   key re-created NOT VALID (its list is a table in the work
 *                   schema, so a run resumed after the swap still finds it)
 *
 * Nothing is kept in memory between runs: all of it is read from the catalog
 * at the swap.  Column names go through the column map (the shadow's
 * attnum k is the original's k-th live column), so a renamed column keeps
 * its grants and statistics target.  Objects whose definition names a
 * column the ALTER drops, retypes or renames are refused in preflight
 * (src/pg/pg_introspect.c), so every saved definition is valid on the new table.
 */
#include "pg_carry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_carry_free(PgCarry *c)
{
	for (int i = 0; i < c->npre; i++)
		free(c->pre[i]);
	for (int i = 0; i < c->npost; i++)
		free(c->post[i]);
	free(c->pre);
	free(c->post);
	memset(c, 0, sizeof(*c));
}

/* The relations at the other end of the foreign keys, locked in one
 * statement after the table itself.  A writer that already holds one of
 * them and waits for the table makes this wait end in the lock timeout,
 * and the swap is retried: never a stall longer than the timeout. */
bool pg_carry_lock(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	if (!pg_carry_query_oids(pg,
	                "SELECT DISTINCT c.oid, n.nspname, c.relname FROM pg_catalog.pg_constraint k"
	                "  JOIN pg_catalog.pg_class c ON c.oid IN (k.conrelid, k.confrelid)"
	                "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	                " WHERE k.contype = 'f' AND (k.conrelid = $1::oid OR k.confrelid = $1::oid) AND c.oid <> $1::oid"
	                " ORDER BY c.oid",
	                1, pg->oid, 0, &r, e))
		goto out;
	if (PQntuples(r) == 0) {
		ok = true;
		goto out;
	}
	enum { R_OID, R_SCHEMA, R_NAME };
	sql_add(&q, "LOCK TABLE ");
	for (int i = 0; i < PQntuples(r); i++)
		sql_add(&q, "%sONLY %I.%I", i ? ", " : "", PQgetvalue(r, i, R_SCHEMA), PQgetvalue(r, i, R_NAME));
	sql_add(&q, " IN ACCESS EXCLUSIVE MODE");
	ok = pg_exec_sql(pg, &q, NULL, e);
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* The views and materialized views over the table, locked before the table
 * itself (src/pg/pg_swap.c says why), in OID order.  ALTER ... OWNER TO
 * the owner it already has changes nothing and takes ACCESS EXCLUSIVE on
 * the view alone; LOCK TABLE on a view would lock every table under it as
 * well, tables the swap has no business blocking.  Re-creating a view at the
 * swap needs its ownership anyway. */
bool pg_carry_lock_views(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	if (!pg_carry_query_oids(pg,
	                "SELECT DISTINCT v.oid, n.nspname, v.relname, v.relkind, pg_catalog.pg_get_userbyid(v.relowner)"
	                "  FROM " PG_VIEWS_OVER("$1::oid") " o JOIN pg_catalog.pg_class v ON v.oid = o.view_oid"
	                "  JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace"
	                " WHERE v.relkind IN ('v', 'm')"
	                " ORDER BY v.oid",
	                1, pg->oid, 0, &r, e))
		goto out;
	enum { V_OID, V_SCHEMA, V_NAME, V_KIND, V_OWNER };
	for (int i = 0; i < PQntuples(r); i++) {
		sql_reset(&q);
		sql_add(&q, "ALTER %s %I.%I OWNER TO %I", PQgetvalue(r, i, V_KIND)[0] == 'm' ? "MATERIALIZED VIEW" : "VIEW",
		        PQgetvalue(r, i, V_SCHEMA), PQgetvalue(r, i, V_NAME), PQgetvalue(r, i, V_OWNER));
		if (!pg_exec_sql(pg, &q, NULL, e))
			goto out;
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

bool pg_carry_read(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	char *saved = NULL;
	bool ok = false;

	memset(c, 0, sizeof(*c));
	if (!pg_exec(pg, "SELECT pg_catalog.current_setting('search_path')", 0, NULL, &r, e))
		return false;
	saved = pg_strdup(pg_value(r, 0));
	PQclear(r);
	/* nothing is visible: every name the server deparses is qualified */
	if (!pg_command(pg, "SELECT pg_catalog.set_config('search_path', '', true)", e))
		goto out;
	if (!pg_carry_read_table(pg, c, e) || !pg_carry_read_policies(pg, c, e) || !pg_carry_read_triggers(pg, c, e) ||
	    !pg_carry_read_publications(pg, c, e) || !pg_carry_read_views(pg, c, e) ||
	    !pg_carry_read_foreign_keys(pg, c, e) || !pg_carry_read_statistics(pg, c, e))
		goto out;
	if (!pg_exec(pg, "SELECT pg_catalog.set_config('search_path', $1, true)", 1, (const char *[]){ saved }, NULL, e))
		goto out;
	/* what must go before the rename: the foreign keys' drops, the
	 * materialized views, the statistics' names */
	for (int i = 0; i < c->npre; i++)
		if (!pg_command(pg, c->pre[i], e))
			goto out;
	ok = true;
out:
	free(saved);
	return ok;
}

bool pg_carry_apply(Pg *pg, PgCarry *c, OscErr *e)
{
	for (int i = 0; i < c->npost; i++)
		if (!pg_command(pg, c->post[i], e))
			return false;
	return true;
}

typedef struct Validate {
	Pg *pg;
	Sql *q;
} Validate;

static RetryResult validate_attempt(void *ctx, char *note, size_t notesz, OscErr *e)
{
	Validate *v = ctx;
	(void)note;
	(void)notesz;
	if (pg_exec_sql(v->pg, v->q, NULL, e))
		return RETRY_DONE;
	return pg_is_lock_timeout(e) ? RETRY_AGAIN : RETRY_FAIL;
}

/* After the commit.  VALIDATE takes SHARE UPDATE EXCLUSIVE: writers go on,
 * it only scans.  A lock timeout is retried; a violation is reported, and
 * the key stays NOT VALID (still enforced for every new row). */
bool pg_carry_validate(Pg *pg, bool *all_valid, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;
	char *list = pg_qualified(pg, pg->work, VALIDATE_TABLE);

	*all_valid = true;
	sql_init(&q, &pg->dialect);
	if (!pg_exec(pg, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, (const char *[]){ list }, &r, e))
		goto out;
	if (pg_value(r, 0)[0] != 't') {
		ok = true;
		goto out;
	}
	PQclear(r);
	r = NULL;
	sql_add(&q, "SELECT schema_name, table_name, constraint_name FROM %s", list);
	if (!pg_exec_sql(pg, &q, &r, e) || !pg_command(pg, "SET statement_timeout = 0", e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		enum { F_SCHEMA, F_TABLE, F_CONSTRAINT };
		const char *ts = PQgetvalue(r, i, F_SCHEMA), *tn = PQgetvalue(r, i, F_TABLE), *cn = PQgetvalue(r, i, F_CONSTRAINT);
		OscErr ve;
		char what[600];
		err_clear(&ve);
		sql_reset(&q);
		sql_add(&q, "ALTER TABLE %I.%I VALIDATE CONSTRAINT %I", ts, tn, cn);
		snprintf(what, sizeof(what), "%s.%s", ts, tn);
		LockStep step = { .what = "foreign key validation", .object = what };
		Validate v = { .pg = pg, .q = &q };
		if (retry_lock(pg->env->retry, &step, validate_attempt, &v, &ve))
			err_clear(&ve); /* else reported below */
		if (ve.msg[0]) {
			*all_valid = false;
			log_msg(pg->log, LOG_ERROR,
			        "foreign key %s on %s.%s stays NOT VALID (it is enforced for new rows, not checked for "
			        "old ones): %s; fix the rows, then run ALTER TABLE ... VALIDATE CONSTRAINT",
			        cn, ts, tn, ve.msg);
		} else {
			log_msg(pg->log, LOG_INFO, "validated foreign key %s on %s.%s", cn, ts, tn);
		}
	}
	ok = true;
out:
	sql_reset(&q);
	sql_add(&q, "SELECT pg_catalog.set_config('statement_timeout', '%ldms', false)",
	        (long)pg->env->statement_timeout_ms);
	if (!pg_exec_sql(pg, &q, NULL, ok ? e : &(OscErr){ 0 }))
		ok = false;
	PQclear(r);
	free(list);
	sql_free(&q);
	return ok;
}
