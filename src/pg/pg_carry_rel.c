/*
 * pg_carry_rel.c — what the readers of src/pg/pg_carry.c share: the list of
 * statements they fill, catalog queries by OID, and a relation's owner,
 * grants, comment and options (the table's, a materialized view's).
 */
#include "pg_carry.h"
#include "xalloc.h"

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
	char **nv = xrealloc(*v, sizeof(char *) * (size_t)(*n + 1));
	*v = nv;
	(*v)[(*n)++] = sql_take(q);
	sql_init(q, q->dialect);
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
	enum { R_OWNER, R_COMMENT };
	const char *owner = PQgetvalue(r, 0, R_OWNER);
	sql_add(&q, "ALTER %s %I.%I OWNER TO %I", kind, schema, name, owner);
	pg_carry_push(c, false, &q);
	if (pg_carry_val(r, 0, R_COMMENT)) {
		sql_add(&q, "COMMENT ON %s %I.%I IS %L", kind, schema, name, pg_carry_val(r, 0, R_COMMENT));
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
	enum { U_ROLE };
	sql_add(&q, "REVOKE ALL ON TABLE %I.%I FROM ", schema, name);
	for (int i = 0; i < PQntuples(r); i++) {
		if (pg_carry_val(r, i, U_ROLE))
			sql_add(&q, "%s%I", i ? ", " : "", pg_carry_val(r, i, U_ROLE));
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
	enum { G_GRANTEE, G_PRIVILEGE, G_GRANTABLE };
	for (int i = 0; i < PQntuples(r); i++) {
		const char *priv = PQgetvalue(r, i, G_PRIVILEGE);
		if (!pg_carry_is_privilege(priv)) {
			err_set(e, OSC_EXIT_FAILED, "internal: unexpected privilege %s on %s.%s", priv, schema, name);
			goto out;
		}
		sql_add(&q, "GRANT %s ON %I.%I TO ", priv, schema, name);
		if (pg_carry_val(r, i, G_GRANTEE))
			sql_add(&q, "%I", pg_carry_val(r, i, G_GRANTEE));
		else
			sql_add(&q, "PUBLIC");
		if (PQgetvalue(r, i, G_GRANTABLE)[0] == 't')
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
	enum { O_NAME, O_VALUE };
	for (int i = 0; i < PQntuples(r); i++) {
		sql_add(out, "%s", out->len && out->buf[out->len - 1] != '(' ? ", " : "");
		if (prefix)
			sql_add(out, "%I.", prefix);
		sql_add(out, "%I = %L", PQgetvalue(r, i, O_NAME), PQgetvalue(r, i, O_VALUE));
	}
	PQclear(r);
	return true;
}
