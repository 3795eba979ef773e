/*
 * pg_carry_table.c — the new table's own properties a rename swap leaves
 * behind (src/pg/pg_carry.c says how they are carried): grants, owner,
 * comment, options, replica identity, column properties, row security
 * policies and the table's own triggers.
 */
#include "pg_carry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ALTER TABLE ... SET (reloptions), the TOAST table's too (the swap has
 * just reset autovacuum). */
static bool table_options(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q, opts;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	sql_init(&opts, &pg->dialect);
	if (!pg_carry_query_oids(pg, "SELECT reltoastrelid FROM pg_catalog.pg_class WHERE oid = $1::oid", 1, pg->oid, 0,
	                         &r, e))
		goto out;
	unsigned toast = (unsigned)strtoul(pg_value(r, 0), NULL, 10);
	if (!pg_carry_add_options(pg, &opts, NULL, pg->oid, NULL, e) ||
	    (toast && !pg_carry_add_options(pg, &opts, "toast", toast, NULL, e)))
		goto out;
	if (opts.len > 0) {
		sql_add(&q, "ALTER TABLE %I.%I SET (%s)", pg->schema, pg->table, sql_text(&opts));
		pg_carry_push(c, false, &q);
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	sql_free(&opts);
	return ok;
}

/* REPLICA IDENTITY, ENABLE / FORCE ROW LEVEL SECURITY. */
static bool table_identity(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	const char *sc = pg->schema, *t = pg->table;
	enum { I_REPLIDENT, I_ROWSECURITY, I_FORCE, I_INDEX };

	if (!pg_carry_query_oids(pg,
	                         "SELECT c.relreplident, c.relrowsecurity, c.relforcerowsecurity,"
	                         "       (SELECT ic.relname FROM pg_catalog.pg_index i"
	                         "          JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	                         "         WHERE i.indrelid = c.oid AND i.indisreplident)"
	                         "  FROM pg_catalog.pg_class c WHERE c.oid = $1::oid",
	                         1, pg->oid, 0, &r, e))
		return false;
	sql_init(&q, &pg->dialect);
	switch (PQgetvalue(r, 0, I_REPLIDENT)[0]) {
	case 'n':
		sql_add(&q, "ALTER TABLE %I.%I REPLICA IDENTITY NOTHING", sc, t);
		break;
	case 'f':
		sql_add(&q, "ALTER TABLE %I.%I REPLICA IDENTITY FULL", sc, t);
		break;
	case 'i':
		if (pg_carry_val(r, 0, I_INDEX))
			sql_add(&q, "ALTER TABLE %I.%I REPLICA IDENTITY USING INDEX %I", sc, t, pg_carry_val(r, 0, I_INDEX));
		break;
	}
	if (q.len)
		pg_carry_push(c, false, &q);
	if (PQgetvalue(r, 0, I_ROWSECURITY)[0] == 't') {
		sql_add(&q, "ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY", sc, t);
		pg_carry_push(c, false, &q);
	}
	if (PQgetvalue(r, 0, I_FORCE)[0] == 't') {
		sql_add(&q, "ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY", sc, t);
		pg_carry_push(c, false, &q);
	}
	PQclear(r);
	sql_free(&q);
	return true;
}

/* Per column, through the column map: COMMENT ON COLUMN, SET STATISTICS,
 * SET (attribute options). */
static bool column_props(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q, opts;
	bool ok = false;
	const char *sc = pg->schema, *t = pg->table;
	enum { C_NAME, C_COMMENT, C_STATTARGET, C_HAS_OPTIONS, C_OLD_NAME };

	sql_init(&q, &pg->dialect);
	sql_init(&opts, &pg->dialect);
	sql_add(&q, "%sSELECT m.new_name, pg_catalog.col_description($1::oid, m.old_attnum), a.attstattarget,"
	            "       a.attoptions IS NOT NULL, a.attname"
	            "  FROM colmap m JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::oid AND a.attnum = m.old_attnum"
	            " WHERE m.new_name IS NOT NULL ORDER BY m.old_attnum",
	        pg_colmap_cte);
	if (!pg_carry_query_oids(pg, sql_text(&q), 2, pg->oid, pg->shadow_oid, &r, e))
		goto out;
	sql_reset(&q);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *col = PQgetvalue(r, i, C_NAME);
		if (pg_carry_val(r, i, C_COMMENT)) {
			sql_add(&q, "COMMENT ON COLUMN %I.%I.%I IS %L", sc, t, col, pg_carry_val(r, i, C_COMMENT));
			pg_carry_push(c, false, &q);
		}
		if (!PQgetisnull(r, i, C_STATTARGET) && atoi(PQgetvalue(r, i, C_STATTARGET)) >= 0) {
			sql_add(&q, "ALTER TABLE %I.%I ALTER COLUMN %I SET STATISTICS %d", sc, t, col,
			        atoi(PQgetvalue(r, i, C_STATTARGET)));
			pg_carry_push(c, false, &q);
		}
		if (PQgetvalue(r, i, C_HAS_OPTIONS)[0] == 't') {
			sql_reset(&opts);
			if (!pg_carry_add_options(pg, &opts, NULL, pg->oid, PQgetvalue(r, i, C_OLD_NAME), e))
				goto out;
			sql_add(&q, "ALTER TABLE %I.%I ALTER COLUMN %I SET (%s)", sc, t, col, sql_text(&opts));
			pg_carry_push(c, false, &q);
		}
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	sql_free(&opts);
	return ok;
}

/* GRANT privilege (column) ... [WITH GRANT OPTION], through the column map. */
static bool column_grants(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;
	enum { G_COLUMN, G_GRANTEE, G_PRIVILEGE, G_GRANTABLE };

	sql_init(&q, &pg->dialect);
	sql_add(&q, "%sSELECT m.new_name,"
	            "       CASE WHEN g.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(g.grantee) END,"
	            "       g.privilege_type, g.is_grantable"
	            "  FROM colmap m JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::oid AND a.attnum = m.old_attnum,"
	            "       pg_catalog.aclexplode(a.attacl) g"
	            " WHERE m.new_name IS NOT NULL AND a.attacl IS NOT NULL ORDER BY m.old_attnum, 2, 3",
	        pg_colmap_cte);
	if (!pg_carry_query_oids(pg, sql_text(&q), 2, pg->oid, pg->shadow_oid, &r, e))
		goto out;
	sql_reset(&q);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *priv = PQgetvalue(r, i, G_PRIVILEGE);
		if (!pg_carry_is_privilege(priv)) {
			err_set(e, OSC_EXIT_FAILED, "internal: unexpected privilege %s", priv);
			goto out;
		}
		sql_add(&q, "GRANT %s (%I) ON %I.%I TO ", priv, PQgetvalue(r, i, G_COLUMN), pg->schema, pg->table);
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

/* COMMENT ON INDEX and COMMENT ON CONSTRAINT: the deferred ones were
 * rebuilt from their definitions and lost what LIKE had copied. */
static bool index_comments(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	enum { K_NAME, K_COMMENT };

	sql_init(&q, &pg->dialect);
	bool ok = pg_carry_query_oids(pg,
	                              "SELECT ic.relname, pg_catalog.obj_description(ic.oid, 'pg_class')"
	                              "  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	                              " WHERE i.indrelid = $1::oid AND pg_catalog.obj_description(ic.oid, 'pg_class') IS NOT NULL"
	                              "   AND EXISTS (SELECT 1 FROM pg_catalog.pg_index si"
	                              "                 JOIN pg_catalog.pg_class sc ON sc.oid = si.indexrelid"
	                              "                WHERE si.indrelid = $2::oid AND sc.relname = ic.relname)",
	                              2, pg->oid, pg->shadow_oid, &r, e);
	for (int i = 0; ok && i < PQntuples(r); i++) {
		sql_add(&q, "COMMENT ON INDEX %I.%I IS %L", pg->schema, PQgetvalue(r, i, K_NAME),
		        PQgetvalue(r, i, K_COMMENT));
		pg_carry_push(c, false, &q);
	}
	PQclear(r);
	r = NULL;
	ok = ok && pg_carry_query_oids(pg,
	                               "SELECT k.conname, pg_catalog.obj_description(k.oid, 'pg_constraint')"
	                               "  FROM pg_catalog.pg_constraint k"
	                               " WHERE k.conrelid = $1::oid AND k.contype <> 'f'"
	                               "   AND pg_catalog.obj_description(k.oid, 'pg_constraint') IS NOT NULL"
	                               "   AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint s WHERE s.conrelid = $2::oid"
	                               "                 AND s.conname = k.conname)",
	                               2, pg->oid, pg->shadow_oid, &r, e);
	for (int i = 0; ok && i < PQntuples(r); i++) {
		sql_add(&q, "COMMENT ON CONSTRAINT %I ON %I.%I IS %L", PQgetvalue(r, i, K_NAME), pg->schema, pg->table,
		        PQgetvalue(r, i, K_COMMENT));
		pg_carry_push(c, false, &q);
	}
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* Table-level and column-level properties of the new table. */
bool pg_carry_read_table(Pg *pg, PgCarry *c, OscErr *e)
{
	return pg_carry_rel_props(pg, c, pg->oid, pg->shadow_oid, "TABLE", pg->schema, pg->table, e) &&
	       table_options(pg, c, e) && table_identity(pg, c, e) && column_props(pg, c, e) && column_grants(pg, c, e) &&
	       index_comments(pg, c, e);
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
bool pg_carry_read_policies(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	enum { P_NAME, P_PERMISSIVE, P_CMD, P_USING, P_CHECK, P_ROLE };

	if (!pg_carry_query_oids(pg,
	                "SELECT p.polname, p.polpermissive, p.polcmd, pg_catalog.pg_get_expr(p.polqual, p.polrelid),"
	                "       pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),"
	                "       CASE WHEN u.role = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(u.role) END"
	                "  FROM pg_catalog.pg_policy p, unnest(p.polroles) WITH ORDINALITY u(role, ord)"
	                " WHERE p.polrelid = $1::oid ORDER BY p.polname, u.ord",
	                1, pg->oid, 0, &r, e))
		return false;
	sql_init(&q, &pg->dialect);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, P_NAME);
		bool first = i == 0 || strcmp(PQgetvalue(r, i - 1, P_NAME), name) != 0;
		bool last = i == PQntuples(r) - 1 || strcmp(PQgetvalue(r, i + 1, P_NAME), name) != 0;
		if (first)
			sql_add(&q, "CREATE POLICY %I ON %I.%I AS %s FOR %s TO ", name, pg->schema, pg->table,
			        PQgetvalue(r, i, P_PERMISSIVE)[0] == 't' ? "PERMISSIVE" : "RESTRICTIVE",
			        policy_cmd(PQgetvalue(r, i, P_CMD)[0]));
		else
			sql_add(&q, ", ");
		if (pg_carry_val(r, i, P_ROLE))
			sql_add(&q, "%I", pg_carry_val(r, i, P_ROLE));
		else
			sql_add(&q, "PUBLIC");
		if (!last)
			continue;
		if (pg_carry_val(r, i, P_USING))
			sql_add(&q, " USING (%s)", pg_carry_val(r, i, P_USING));
		if (pg_carry_val(r, i, P_CHECK))
			sql_add(&q, " WITH CHECK (%s)", pg_carry_val(r, i, P_CHECK));
		pg_carry_push(c, false, &q);
	}
	PQclear(r);
	sql_free(&q);
	return true;
}

/* The table's own triggers (not osc's, not the internal ones of foreign
 * keys), created at the swap so they never fire for the copy or the replay,
 * and left in the state the original's were in. */
bool pg_carry_read_triggers(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	enum { T_DEF, T_NAME, T_ENABLED, T_COMMENT };

	if (!pg_carry_query_oids(pg,
	                "SELECT pg_catalog.pg_get_triggerdef(oid), tgname, tgenabled,"
	                "       pg_catalog.obj_description(oid, 'pg_trigger')"
	                "  FROM pg_catalog.pg_trigger"
	                " WHERE tgrelid = $1::oid AND NOT tgisinternal"
	                "   AND tgname NOT IN ('" PG_CAPTURE_NAME "', '" PG_TRUNCATE_NAME "') ORDER BY tgname",
	                1, pg->oid, 0, &r, e))
		return false;
	sql_init(&q, &pg->dialect);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, T_NAME);
		sql_add(&q, "%s", PQgetvalue(r, i, T_DEF));
		pg_carry_push(c, false, &q);
		switch (PQgetvalue(r, i, T_ENABLED)[0]) {
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
			pg_carry_push(c, false, &q);
		if (pg_carry_val(r, i, T_COMMENT)) {
			sql_add(&q, "COMMENT ON TRIGGER %I ON %I.%I IS %L", name, pg->schema, pg->table,
			        pg_carry_val(r, i, T_COMMENT));
			pg_carry_push(c, false, &q);
		}
	}
	PQclear(r);
	sql_free(&q);
	return true;
}
