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
#include "pg.h"

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

#define VALIDATE_TABLE "_osc_validate"

static void push(PgCarry *c, bool pre, Sql *q)
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

static const char *val(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* A catalog query over relation OIDs: $1 = a, and $2 = b when n is 2. */
static bool query_oids(Pg *pg, const char *sql, int n, unsigned a, unsigned b, PGresult **r, OscErr *e)
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
	if (!query_oids(pg,
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
	if (!query_oids(pg,
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
static bool is_privilege(const char *s)
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
static bool read_rel_props(Pg *pg, PgCarry *c, unsigned oid, unsigned from, const char *kind, const char *schema,
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
	push(c, false, &q);
	if (val(r, 0, 1)) {
		sql_add(&q, "COMMENT ON %s %I.%I IS %L", kind, schema, name, val(r, 0, 1));
		push(c, false, &q);
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
		if (val(r, i, 0))
			sql_add(&q, "%s%I", i ? ", " : "", val(r, i, 0));
		else
			sql_add(&q, "%sPUBLIC", i ? ", " : "");
	}
	push(c, false, &q);
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
		if (!is_privilege(PQgetvalue(r, i, 1))) {
			err_set(e, OSC_EXIT_FAILED, "internal: unexpected privilege %s on %s.%s", PQgetvalue(r, i, 1), schema,
			        name);
			goto out;
		}
		sql_add(&q, "GRANT %s ON %I.%I TO ", PQgetvalue(r, i, 1), schema, name);
		if (val(r, i, 0))
			sql_add(&q, "%I", val(r, i, 0));
		else
			sql_add(&q, "PUBLIC");
		if (PQgetvalue(r, i, 2)[0] == 't')
			sql_add(&q, " WITH GRANT OPTION");
		push(c, false, &q);
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* WITH (k = 'v', ...) from a reloptions array, or nothing */
static bool add_options(Pg *pg, Sql *out, const char *prefix, unsigned oid, const char *column, OscErr *e)
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

/* Table-level and column-level properties of the new table. */
static bool read_table_props(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q, opts;
	bool ok = false;
	char o[16], s[16];
	snprintf(o, sizeof(o), "%u", pg->oid);
	snprintf(s, sizeof(s), "%u", pg->shadow_oid);
	const char *p[2] = { o, s };
	const char *sc = pg->schema, *t = pg->table;

	sql_init(&q, &pg->dialect);
	sql_init(&opts, &pg->dialect);
	if (!read_rel_props(pg, c, pg->oid, pg->shadow_oid, "TABLE", sc, t, e))
		goto out;
	/* reloptions, the TOAST table's too (the swap has just reset autovacuum) */
	PGresult *tr = NULL;
	if (!pg_exec(pg, "SELECT reltoastrelid FROM pg_catalog.pg_class WHERE oid = $1::oid", 1, p, &tr, e))
		goto out;
	unsigned toast = (unsigned)strtoul(PQgetvalue(tr, 0, 0), NULL, 10);
	PQclear(tr);
	if (!add_options(pg, &opts, NULL, pg->oid, NULL, e) || (toast && !add_options(pg, &opts, "toast", toast, NULL, e)))
		goto out;
	if (opts.len > 0) {
		sql_add(&q, "ALTER TABLE %I.%I SET (%s)", sc, t, sql_text(&opts));
		push(c, false, &q);
	}
	/* replica identity, row-level security */
	if (!pg_exec(pg,
	             "SELECT c.relreplident, c.relrowsecurity, c.relforcerowsecurity,"
	             "       (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	             "         WHERE i.indrelid = c.oid AND i.indisreplident)"
	             "  FROM pg_catalog.pg_class c WHERE c.oid = $1::oid",
	             1, p, &r, e))
		goto out;
	switch (PQgetvalue(r, 0, 0)[0]) {
	case 'n':
		sql_add(&q, "ALTER TABLE %I.%I REPLICA IDENTITY NOTHING", sc, t);
		break;
	case 'f':
		sql_add(&q, "ALTER TABLE %I.%I REPLICA IDENTITY FULL", sc, t);
		break;
	case 'i':
		if (val(r, 0, 3))
			sql_add(&q, "ALTER TABLE %I.%I REPLICA IDENTITY USING INDEX %I", sc, t, val(r, 0, 3));
		break;
	}
	if (q.len)
		push(c, false, &q);
	if (PQgetvalue(r, 0, 1)[0] == 't') {
		sql_add(&q, "ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY", sc, t);
		push(c, false, &q);
	}
	if (PQgetvalue(r, 0, 2)[0] == 't') {
		sql_add(&q, "ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY", sc, t);
		push(c, false, &q);
	}
	PQclear(r);
	r = NULL;
	/* per column, through the column map: comments, statistics targets,
	 * attribute options, column grants */
	sql_add(&q, "%sSELECT m.new_name, pg_catalog.col_description($1::oid, m.old_attnum), a.attstattarget,"
	            "       a.attoptions IS NOT NULL, a.attname"
	            "  FROM colmap m JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::oid AND a.attnum = m.old_attnum"
	            " WHERE m.new_name IS NOT NULL ORDER BY m.old_attnum",
	        pg_colmap_cte);
	if (!pg_exec(pg, sql_text(&q), 2, p, &r, e))
		goto out;
	sql_reset(&q);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *col = PQgetvalue(r, i, 0);
		if (val(r, i, 1)) {
			sql_add(&q, "COMMENT ON COLUMN %I.%I.%I IS %L", sc, t, col, val(r, i, 1));
			push(c, false, &q);
		}
		if (!PQgetisnull(r, i, 2) && atoi(PQgetvalue(r, i, 2)) >= 0) {
			sql_add(&q, "ALTER TABLE %I.%I ALTER COLUMN %I SET STATISTICS %d", sc, t, col,
			        atoi(PQgetvalue(r, i, 2)));
			push(c, false, &q);
		}
		if (PQgetvalue(r, i, 3)[0] == 't') {
			sql_reset(&opts);
			if (!add_options(pg, &opts, NULL, pg->oid, PQgetvalue(r, i, 4), e))
				goto out;
			sql_add(&q, "ALTER TABLE %I.%I ALTER COLUMN %I SET (%s)", sc, t, col, sql_text(&opts));
			push(c, false, &q);
		}
	}
	PQclear(r);
	r = NULL;
	sql_add(&q, "%sSELECT m.new_name,"
	            "       CASE WHEN g.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(g.grantee) END,"
	            "       g.privilege_type, g.is_grantable"
	            "  FROM colmap m JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::oid AND a.attnum = m.old_attnum,"
	            "       pg_catalog.aclexplode(a.attacl) g"
	            " WHERE m.new_name IS NOT NULL AND a.attacl IS NOT NULL ORDER BY m.old_attnum, 2, 3",
	        pg_colmap_cte);
	if (!pg_exec(pg, sql_text(&q), 2, p, &r, e))
		goto out;
	sql_reset(&q);
	for (int i = 0; i < PQntuples(r); i++) {
		if (!is_privilege(PQgetvalue(r, i, 2))) {
			err_set(e, OSC_EXIT_FAILED, "internal: unexpected privilege %s", PQgetvalue(r, i, 2));
			goto out;
		}
		sql_add(&q, "GRANT %s (%I) ON %I.%I TO ", PQgetvalue(r, i, 2), PQgetvalue(r, i, 0), sc, t);
		if (val(r, i, 1))
			sql_add(&q, "%I", val(r, i, 1));
		else
			sql_add(&q, "PUBLIC");
		if (PQgetvalue(r, i, 3)[0] == 't')
			sql_add(&q, " WITH GRANT OPTION");
		push(c, false, &q);
	}
	PQclear(r);
	r = NULL;
	/* comments on indexes and constraints: the deferred ones were rebuilt
	 * from their definitions and lost what LIKE had copied */
	if (!pg_exec(pg,
	             "SELECT ic.relname, pg_catalog.obj_description(ic.oid, 'pg_class') FROM pg_catalog.pg_index i"
	             "  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	             " WHERE i.indrelid = $1::oid AND pg_catalog.obj_description(ic.oid, 'pg_class') IS NOT NULL"
	             "   AND EXISTS (SELECT 1 FROM pg_catalog.pg_index si JOIN pg_catalog.pg_class sc ON sc.oid = si.indexrelid"
	             "                WHERE si.indrelid = $2::oid AND sc.relname = ic.relname)",
	             2, p, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		sql_add(&q, "COMMENT ON INDEX %I.%I IS %L", sc, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		push(c, false, &q);
	}
	PQclear(r);
	r = NULL;
	if (!pg_exec(pg,
	             "SELECT k.conname, pg_catalog.obj_description(k.oid, 'pg_constraint') FROM pg_catalog.pg_constraint k"
	             " WHERE k.conrelid = $1::oid AND k.contype <> 'f'"
	             "   AND pg_catalog.obj_description(k.oid, 'pg_constraint') IS NOT NULL"
	             "   AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint s WHERE s.conrelid = $2::oid"
	             "                 AND s.conname = k.conname)",
	             2, p, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		sql_add(&q, "COMMENT ON CONSTRAINT %I ON %I.%I IS %L", PQgetvalue(r, i, 0), sc, t, PQgetvalue(r, i, 1));
		push(c, false, &q);
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	sql_free(&opts);
	return ok;
}

static const char *policy_cmd(char c)
{
	switch (c) {
	case 'r': return "SELECT";
	case 'a': return "INSERT";
	case 'w': return "UPDATE";
	case 'd': return "DELETE";
	default: return "ALL";
	}
}

/* Row-level security policies, one row per (policy, role). */
static bool read_policies(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;

	if (!query_oids(pg,
	                "SELECT p.polname, p.polpermissive, p.polcmd, pg_catalog.pg_get_expr(p.polqual, p.polrelid),"
	                "       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),"
	                "       CASE WHEN u.role = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(u.role) END"
	                "  FROM pg_catalog.pg_policy p, unnest(p.polroles) WITH ORDINALITY u(role, ord)"
	                " WHERE p.polrelid = $1::oid ORDER BY p.polname, u.ord",
	                1, pg->oid, 0, &r, e))
		return false;
	sql_init(&q, &pg->dialect);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 0);
		bool first = i == 0 || strcmp(PQgetvalue(r, i - 1, 0), name) != 0;
		bool last = i == PQntuples(r) - 1 || strcmp(PQgetvalue(r, i + 1, 0), name) != 0;
		if (first)
			sql_add(&q, "CREATE POLICY %I ON %I.%I AS %s FOR %s TO ", name, pg->schema, pg->table,
			        PQgetvalue(r, i, 1)[0] == 't' ? "PERMISSIVE" : "RESTRICTIVE",
			        policy_cmd(PQgetvalue(r, i, 2)[0]));
		else
			sql_add(&q, ", ");
		if (val(r, i, 5))
			sql_add(&q, "%I", val(r, i, 5));
		else
			sql_add(&q, "PUBLIC");
		if (!last)
			continue;
		if (val(r, i, 3))
			sql_add(&q, " USING (%s)", val(r, i, 3));
		if (val(r, i, 4))
			sql_add(&q, " WITH CHECK (%s)", val(r, i, 4));
		push(c, false, &q);
	}
	PQclear(r);
	sql_free(&q);
	return true;
}

/* The table's own triggers (not osc's, not the internal ones of foreign
 * keys), created at the swap so they never fire for the copy or the replay,
 * and left in the state the original's were in. */
static bool read_triggers(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;

	if (!query_oids(pg,
	                "SELECT pg_catalog.pg_get_triggerdef(oid), tgname, tgenabled,"
	                "       pg_catalog.obj_description(oid, 'pg_trigger')"
	                "  FROM pg_catalog.pg_trigger"
	                " WHERE tgrelid = $1::oid AND NOT tgisinternal AND tgname NOT IN ('_osc_capture', '_osc_truncate') ORDER BY tgname",
	                1, pg->oid, 0, &r, e))
		return false;
	sql_init(&q, &pg->dialect);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 1);
		sql_add(&q, "%s", PQgetvalue(r, i, 0));
		push(c, false, &q);
		switch (PQgetvalue(r, i, 2)[0]) {
		case 'D':
			sql_add(&q, "ALTER TABLE %I.%I DISABLE TRIGGER %I", pg->schema, pg->table, name);
			break;
		case 'R':
			sql_add(&q, "ALTER TABLE %I.%I ENABLE REPLICA TRIGGER %I", pg->schema, pg->table, name);
			break;
		case 'A':
			sql_add(&q, "ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER %I", pg->schema, pg->table, name);
			break;
		}
		if (q.len)
			push(c, false, &q);
		if (val(r, i, 3)) {
			sql_add(&q, "COMMENT ON TRIGGER %I ON %I.%I IS %L", name, pg->schema, pg->table, val(r, i, 3));
			push(c, false, &q);
		}
	}
	PQclear(r);
	sql_free(&q);
	return true;
}

/* Publication membership, with its row filter and column list (by the
 * new column names). */
static bool read_publications(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL, *cols = NULL;
	Sql q, cq;
	bool ok = false;
	char o[16], s[16];
	snprintf(o, sizeof(o), "%u", pg->oid);
	snprintf(s, sizeof(s), "%u", pg->shadow_oid);

	sql_init(&q, &pg->dialect);
	sql_init(&cq, &pg->dialect);
	sql_add(&cq, "%sSELECT m.new_name FROM colmap m, pg_catalog.pg_publication_rel pr"
	             " WHERE pr.oid = $3::oid AND m.old_attnum = ANY (pr.prattrs::int2[])"
	             "   AND m.new_name IS NOT NULL ORDER BY m.old_attnum",
	        pg_colmap_cte);
	if (!pg_exec(pg,
	             "SELECT pb.pubname, pg_catalog.pg_get_expr(pr.prqual, pr.prrelid), pr.oid, pr.prattrs IS NOT NULL"
	             "  FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication pb ON pb.oid = pr.prpubid"
	             " WHERE pr.prrelid = $1::oid ORDER BY 1",
	             1, (const char *[]){ o }, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		sql_add(&q, "ALTER PUBLICATION %I ADD TABLE ONLY %I.%I", PQgetvalue(r, i, 0), pg->schema, pg->table);
		if (PQgetvalue(r, i, 3)[0] == 't') {
			if (!pg_exec(pg, sql_text(&cq), 3, (const char *[]){ o, s, PQgetvalue(r, i, 2) }, &cols, e))
				goto out;
			sql_add(&q, " (");
			for (int k = 0; k < PQntuples(cols); k++)
				sql_add(&q, "%s%I", k ? ", " : "", PQgetvalue(cols, k, 0));
			sql_add(&q, ")");
			PQclear(cols);
			cols = NULL;
		}
		if (val(r, i, 1))
			sql_add(&q, " WHERE (%s)", val(r, i, 1));
		push(c, false, &q);
	}
	ok = true;
out:
	PQclear(cols);
	PQclear(r);
	sql_free(&q);
	sql_free(&cq);
	return ok;
}

/* Views and materialized views over the table.  A view is replaced in
 * place (CREATE OR REPLACE keeps its OID, so views over it, its grants and
 * its owner stay); a materialized view has no such form: it is dropped and
 * created again with its data, indexes, owner, grants and comments, which
 * costs its query's time under the lock.  Preflight refused materialized
 * views that other views depend on. */
static bool read_views(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL, *ix = NULL;
	Sql q, opts;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	sql_init(&opts, &pg->dialect);
	if (!query_oids(pg,
	                "SELECT DISTINCT v.oid, n.nspname, v.relname, v.relkind, pg_catalog.pg_get_viewdef(v.oid),"
	                "       v.relispopulated"
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
		unsigned voi = (unsigned)strtoul(PQgetvalue(r, i, 0), NULL, 10);
		const char *vs = PQgetvalue(r, i, 1), *vn = PQgetvalue(r, i, 2), *def = PQgetvalue(r, i, 4);
		bool mat = PQgetvalue(r, i, 3)[0] == 'm';
		size_t dl = strlen(def);
		while (dl > 0 && (def[dl - 1] == ';' || def[dl - 1] == ' ' || def[dl - 1] == '\n'))
			dl--;
		sql_reset(&opts);
		if (!add_options(pg, &opts, NULL, voi, NULL, e))
			goto out;
		if (!mat) {
			sql_add(&q, "CREATE OR REPLACE VIEW %I.%I%s%s%s AS ", vs, vn, opts.len ? " WITH (" : "",
			        sql_text(&opts), opts.len ? ")" : "");
			/* the definition as the server wrote it, without its ';' */
			char *d = strndup(def, dl);
			if (d == NULL)
				abort();
			sql_add(&q, "%s", d);
			free(d);
			push(c, false, &q);
			continue;
		}
		char vo[16];
		snprintf(vo, sizeof(vo), "%u", voi);
		if (!pg_exec(pg,
		             "SELECT pg_catalog.pg_get_indexdef(i.indexrelid), pg_catalog.obj_description(i.indexrelid, 'pg_class'),"
		             "       ic.relname, i.indisclustered"
		             "  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
		             " WHERE i.indrelid = $1::oid ORDER BY i.indexrelid",
		             1, (const char *[]){ vo }, &ix, e))
			goto out;
		sql_add(&q, "DROP MATERIALIZED VIEW %I.%I", vs, vn);
		push(c, true, &q);
		char *d = strndup(def, dl);
		if (d == NULL)
			abort();
		sql_add(&q, "CREATE MATERIALIZED VIEW %I.%I%s%s%s AS %s WITH %s", vs, vn, opts.len ? " WITH (" : "",
		        sql_text(&opts), opts.len ? ")" : "", d, PQgetvalue(r, i, 5)[0] == 't' ? "DATA" : "NO DATA");
		free(d);
		push(c, false, &q);
		for (int k = 0; k < PQntuples(ix); k++) {
			sql_add(&q, "%s", PQgetvalue(ix, k, 0));
			push(c, false, &q);
			if (val(ix, k, 1)) {
				sql_add(&q, "COMMENT ON INDEX %I.%I IS %L", vs, PQgetvalue(ix, k, 2), val(ix, k, 1));
				push(c, false, &q);
			}
			if (PQgetvalue(ix, k, 3)[0] == 't') {
				sql_add(&q, "ALTER MATERIALIZED VIEW %I.%I CLUSTER ON %I", vs, vn, PQgetvalue(ix, k, 2));
				push(c, false, &q);
			}
		}
		PQclear(ix);
		ix = NULL;
		/* column comments of the materialized view */
		if (!pg_exec(pg,
		             "SELECT attname, pg_catalog.col_description(attrelid, attnum) FROM pg_catalog.pg_attribute"
		             " WHERE attrelid = $1::oid AND attnum > 0 AND pg_catalog.col_description(attrelid, attnum) IS NOT NULL",
		             1, (const char *[]){ vo }, &ix, e))
			goto out;
		for (int k = 0; k < PQntuples(ix); k++) {
			sql_add(&q, "COMMENT ON COLUMN %I.%I.%I IS %L", vs, vn, PQgetvalue(ix, k, 0), PQgetvalue(ix, k, 1));
			push(c, false, &q);
		}
		PQclear(ix);
		ix = NULL;
		if (!read_rel_props(pg, c, voi, 0, "MATERIALIZED VIEW", vs, vn, e))
			goto out;
	}
	ok = true;
out:
	PQclear(ix);
	PQclear(r);
	sql_free(&q);
	sql_free(&opts);
	return ok;
}

/* Foreign keys into the table, out of it, and from it to itself: dropped
 * now, added NOT VALID to the new table once it has the name (the saved
 * definition names the table, so it binds to the new one), validated after
 * the commit.  A key that was NOT VALID on the original stays so. */
static bool read_foreign_keys(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	if (!query_oids(pg,
	                "SELECT k.conname, n.nspname, t.relname, pg_catalog.pg_get_constraintdef(k.oid), k.convalidated,"
	                "       pg_catalog.obj_description(k.oid, 'pg_constraint')"
	                "  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class t ON t.oid = k.conrelid"
	                "  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace"
	                " WHERE k.contype = 'f' AND k.conparentid = 0 AND (k.conrelid = $1::oid OR k.confrelid = $1::oid)"
	                " ORDER BY k.conrelid, k.conname",
	                1, pg->oid, 0, &r, e))
		goto out;
	if (PQntuples(r) > 0) {
		sql_add(&q, "CREATE TABLE %I.%I (schema_name text, table_name text, constraint_name text)", pg->work,
		        VALIDATE_TABLE);
		push(c, false, &q);
	}
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 0), *ts = PQgetvalue(r, i, 1), *tn = PQgetvalue(r, i, 2);
		bool valid = PQgetvalue(r, i, 4)[0] == 't';
		sql_add(&q, "ALTER TABLE %I.%I DROP CONSTRAINT %I", ts, tn, name);
		push(c, true, &q);
		sql_add(&q, "ALTER TABLE %I.%I ADD CONSTRAINT %I %s%s", ts, tn, name, PQgetvalue(r, i, 3),
		        valid ? " NOT VALID" : "");
		push(c, false, &q);
		if (val(r, i, 5)) {
			sql_add(&q, "COMMENT ON CONSTRAINT %I ON %I.%I IS %L", name, ts, tn, val(r, i, 5));
			push(c, false, &q);
		}
		if (valid) {
			sql_add(&q, "INSERT INTO %I.%I VALUES (%L, %L, %L)", pg->work, VALIDATE_TABLE, ts, tn, name);
			push(c, false, &q);
		}
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* Extended statistics: LIKE made the shadow's in the work schema (the shadow
 * step gave them the original's names) and SET SCHEMA leaves them there.
 * The original's step aside; the shadow's move to where they were. */
static bool read_statistics(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;

	if (!query_oids(pg,
	                "SELECT n.nspname, x.stxname, EXISTS (SELECT 1 FROM pg_catalog.pg_statistic_ext y"
	                "                                     WHERE y.stxrelid = $2::oid AND y.stxname = x.stxname)"
	                "  FROM pg_catalog.pg_statistic_ext x JOIN pg_catalog.pg_namespace n ON n.oid = x.stxnamespace"
	                " WHERE x.stxrelid = $1::oid ORDER BY x.oid",
	                2, pg->oid, pg->shadow_oid, &r, e))
		return false;
	sql_init(&q, &pg->dialect);
	for (int i = 0; i < PQntuples(r); i++) {
		char old[PG_NAMELEN + 1];
		names_derive(old, sizeof(old), "_", PQgetvalue(r, i, 1), "_osc_old", PG_NAMELEN);
		sql_add(&q, "ALTER STATISTICS %I.%I RENAME TO %I", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), old);
		push(c, true, &q);
		if (PQgetvalue(r, i, 2)[0] != 't')
			continue; /* the ALTER dropped its columns */
		sql_add(&q, "ALTER STATISTICS %I.%I SET SCHEMA %I", pg->work, PQgetvalue(r, i, 1), PQgetvalue(r, i, 0));
		push(c, false, &q);
	}
	PQclear(r);
	sql_free(&q);
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
	if (!read_table_props(pg, c, e) || !read_policies(pg, c, e) || !read_triggers(pg, c, e) ||
	    !read_publications(pg, c, e) || !read_views(pg, c, e) || !read_foreign_keys(pg, c, e) ||
	    !read_statistics(pg, c, e))
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
