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

/* $1 the original, $2 the shadow: each live column of the original, its
 * name in the shadow (NULL: dropped) and whether the ALTER changed its type */
const char pg_colmap_cte[] =
	"WITH o AS (SELECT attnum, attname, atttypid, atttypmod, row_number() OVER (ORDER BY attnum) AS k"
	"             FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped),"
	" colmap AS (SELECT o.attnum AS old_attnum, o.attname AS old_name, s.attname AS new_name,"
	"                   s.attname IS NOT NULL AND (s.atttypid, s.atttypmod) IS DISTINCT FROM (o.atttypid, o.atttypmod)"
	"                     AS retyped"
	"              FROM o LEFT JOIN pg_catalog.pg_attribute s"
	"                ON s.attrelid = $2::oid AND s.attnum = o.k AND NOT s.attisdropped) ";

void pg_carry_push(PgCarry *c, bool pre, Sql *q)
{
	char ***v = pre ? &c->pre : &c->post;
	int *n = pre ? &c->npre : &c->npost;
	char **nv = realloc(*v, sizeof(char *) * (size_t)(*n + 1));
	if (nv == NULL)
		abort();
	*v = nv;
	(*v)[(*n)++] = sql_take(q);
	sql_init(q, q->dialect);
}

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

const char *pg_carry_val(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* A catalog query over relation OIDs: $1 = a, and $2 = b when n is 2. */
bool pg_carry_query_oids(Pg *pg, const char *sql, int n, unsigned a, unsigned b, PGresult **r, OscErr *e)
{
	char o1[16], o2[16];
	snprintf(o1, sizeof(o1), "%u", a);
	snprintf(o2, sizeof(o2), "%u", b);
	const char *p[2] = { o1, o2 };
	return pg_exec(pg, sql, n, p, r, e);
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
	sql_add(&q, "LOCK TABLE ");
	for (int i = 0; i < PQntuples(r); i++)
		sql_add(&q, "%sONLY %I.%I", i ? ", " : "", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
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
	                "  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid"
	                "  JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class"
	                "  JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace"
	                " WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
	                "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1::oid"
	                "   AND v.oid <> $1::oid AND v.relkind IN ('v', 'm')"
	                " ORDER BY v.oid",
	                1, pg->oid, 0, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		sql_reset(&q);
		sql_add(&q, "ALTER %s %I.%I OWNER TO %I", PQgetvalue(r, i, 3)[0] == 'm' ? "MATERIALIZED VIEW" : "VIEW",
		        PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 4));
		if (!pg_exec_sql(pg, &q, NULL, e))
			goto out;
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* privilege_type comes from aclexplode: a fixed keyword list.  Refuse
 * anything else rather than paste it into SQL. */
bool pg_carry_is_privilege(const char *s)
{
	static const char *const k[] = { "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER",
	                                  "MAINTAIN" };
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (strcmp(s, k[i]) == 0)
			return true;
	return false;
}

/* Owner, grants (as aclexplode lists them: the owner's own included) and
 * comment of relation `oid`, for `kind` ("TABLE", "MATERIALIZED VIEW")
 * schema.name.  The target starts with the ACL of `from` (osc's shadow, or
 * nothing for a freshly created relation): every grantee there is revoked
 * first, so the result is the original's ACL, not a union. */
bool pg_carry_rel_props(Pg *pg, PgCarry *c, unsigned oid, unsigned from, const char *kind, const char *schema,
                        const char *name, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;
	char o[16], f[16];
	snprintf(o, sizeof(o), "%u", oid);
	snprintf(f, sizeof(f), "%u", from);
	const char *p[2] = { o, f };

	sql_init(&q, &pg->dialect);
	if (!pg_exec(pg,
	             "SELECT pg_catalog.pg_get_userbyid(relowner), pg_catalog.obj_description(oid, 'pg_class')"
	             "  FROM pg_catalog.pg_class WHERE oid = $1::oid",
	             1, p, &r, e))
		goto out;
	if (PQntuples(r) != 1) {
		err_set(e, OSC_EXIT_FAILED, "internal: relation %s.%s vanished during the swap", schema, name);
		goto out;
	}
	const char *owner = PQgetvalue(r, 0, 0);
	sql_add(&q, "ALTER %s %I.%I OWNER TO %I", kind, schema, name, owner);
	pg_carry_push(c, false, &q);
	if (pg_carry_val(r, 0, 1)) {
		sql_add(&q, "COMMENT ON %s %I.%I IS %L", kind, schema, name, pg_carry_val(r, 0, 1));
		pg_carry_push(c, false, &q);
	}
	PQclear(r);
	r = NULL;
	/* revoke what the target has (after OWNER TO, the owner's entries are
	 * the new owner's), then grant what the original has */
	if (!pg_exec(pg,
	             "SELECT DISTINCT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END"
	             "  FROM pg_catalog.pg_class t,"
	             "       pg_catalog.aclexplode(coalesce(t.relacl, pg_catalog.acldefault('r', t.relowner))) a"
	             " WHERE t.oid = $2::oid"
	             " UNION SELECT pg_catalog.pg_get_userbyid(relowner) FROM pg_catalog.pg_class WHERE oid = $1::oid"
	             " UNION SELECT NULL ORDER BY 1 NULLS FIRST",
	             2, p, &r, e))
		goto out;
	sql_add(&q, "REVOKE ALL ON TABLE %I.%I FROM ", schema, name);
	for (int i = 0; i < PQntuples(r); i++) {
		if (pg_carry_val(r, i, 0))
			sql_add(&q, "%s%I", i ? ", " : "", pg_carry_val(r, i, 0));
		else
			sql_add(&q, "%sPUBLIC", i ? ", " : "");
	}
	pg_carry_push(c, false, &q);
	PQclear(r);
	r = NULL;
	if (!pg_exec(pg,
	             "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END,"
	             "       a.privilege_type, a.is_grantable"
	             "  FROM pg_catalog.pg_class t,"
	             "       pg_catalog.aclexplode(coalesce(t.relacl, pg_catalog.acldefault('r', t.relowner))) a"
	             " WHERE t.oid = $1::oid ORDER BY 1, 2",
	             1, p, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		if (!pg_carry_is_privilege(PQgetvalue(r, i, 1))) {
			err_set(e, OSC_EXIT_FAILED, "internal: unexpected privilege %s on %s.%s", PQgetvalue(r, i, 1), schema,
			        name);
			goto out;
		}
		sql_add(&q, "GRANT %s ON %I.%I TO ", PQgetvalue(r, i, 1), schema, name);
		if (pg_carry_val(r, i, 0))
			sql_add(&q, "%I", pg_carry_val(r, i, 0));
		else
			sql_add(&q, "PUBLIC");
		if (PQgetvalue(r, i, 2)[0] == 't')
			sql_add(&q, " WITH GRANT OPTION");
		pg_carry_push(c, false, &q);
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* WITH (k = 'v', ...) from a reloptions array, or nothing */
bool pg_carry_add_options(Pg *pg, Sql *out, const char *prefix, unsigned oid, const char *column, OscErr *e)
{
	PGresult *r = NULL;
	char o[16];
	snprintf(o, sizeof(o), "%u", oid);
	const char *p[1] = { o };
	bool ok = column ? pg_exec(pg,
	                           "SELECT option_name, option_value FROM pg_catalog.pg_attribute a,"
	                           "       pg_catalog.pg_options_to_table(a.attoptions)"
	                           " WHERE a.attrelid = $1::oid AND a.attname = $2",
	                           2, (const char *[]){ o, column }, &r, e)
	                 : pg_exec(pg,
	                           "SELECT option_name, option_value FROM pg_catalog.pg_class c,"
	                           "       pg_catalog.pg_options_to_table(c.reloptions) WHERE c.oid = $1::oid",
	                           1, p, &r, e);
	if (!ok)
		return false;
	for (int i = 0; i < PQntuples(r); i++) {
		sql_add(out, "%s", out->len && out->buf[out->len - 1] != '(' ? ", " : "");
		if (prefix)
			sql_add(out, "%I.", prefix);
		sql_add(out, "%I = %L", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return true;
}

bool pg_carry_read(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	char *saved = NULL;
	bool ok = false;

	memset(c, 0, sizeof(*c));
	if (!pg_exec(pg, "SELECT pg_catalog.current_setting('search_path')", 0, NULL, &r, e))
		return false;
	saved = pg_strdup(PQgetvalue(r, 0, 0));
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
	if (PQgetvalue(r, 0, 0)[0] != 't') {
		ok = true;
		goto out;
	}
	PQclear(r);
	r = NULL;
	sql_add(&q, "SELECT schema_name, table_name, constraint_name FROM %s", list);
	if (!pg_exec_sql(pg, &q, &r, e) || !pg_command(pg, "SET statement_timeout = 0", e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *ts = PQgetvalue(r, i, 0), *tn = PQgetvalue(r, i, 1), *cn = PQgetvalue(r, i, 2);
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
