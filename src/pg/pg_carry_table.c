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

/* Table-level and column-level properties of the new table. */
bool pg_carry_read_table(Pg *pg, PgCarry *c, OscErr *e)
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
	if (!pg_carry_rel_props(pg, c, pg->oid, pg->shadow_oid, "TABLE", sc, t, e))
		goto out;
	/* reloptions, the TOAST table's too (the swap has just reset autovacuum) */
	PGresult *tr = NULL;
	if (!pg_exec(pg, "SELECT reltoastrelid FROM pg_catalog.pg_class WHERE oid = $1::oid", 1, p, &tr, e))
		goto out;
	unsigned toast = (unsigned)strtoul(PQgetvalue(tr, 0, 0), NULL, 10);
	PQclear(tr);
	if (!pg_carry_add_options(pg, &opts, NULL, pg->oid, NULL, e) || (toast && !pg_carry_add_options(pg, &opts, "toast", toast, NULL, e)))
		goto out;
	if (opts.len > 0) {
		sql_add(&q, "ALTER TABLE %I.%I SET (%s)", sc, t, sql_text(&opts));
		pg_carry_push(c, false, &q);
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
		if (pg_carry_val(r, 0, 3))
			sql_add(&q, "ALTER TABLE %I.%I REPLICA IDENTITY USING INDEX %I", sc, t, pg_carry_val(r, 0, 3));
		break;
	}
	if (q.len)
		pg_carry_push(c, false, &q);
	if (PQgetvalue(r, 0, 1)[0] == 't') {
		sql_add(&q, "ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY", sc, t);
		pg_carry_push(c, false, &q);
	}
	if (PQgetvalue(r, 0, 2)[0] == 't') {
		sql_add(&q, "ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY", sc, t);
		pg_carry_push(c, false, &q);
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
		if (pg_carry_val(r, i, 1)) {
			sql_add(&q, "COMMENT ON COLUMN %I.%I.%I IS %L", sc, t, col, pg_carry_val(r, i, 1));
			pg_carry_push(c, false, &q);
		}
		if (!PQgetisnull(r, i, 2) && atoi(PQgetvalue(r, i, 2)) >= 0) {
			sql_add(&q, "ALTER TABLE %I.%I ALTER COLUMN %I SET STATISTICS %d", sc, t, col,
			        atoi(PQgetvalue(r, i, 2)));
			pg_carry_push(c, false, &q);
		}
		if (PQgetvalue(r, i, 3)[0] == 't') {
			sql_reset(&opts);
			if (!pg_carry_add_options(pg, &opts, NULL, pg->oid, PQgetvalue(r, i, 4), e))
				goto out;
			sql_add(&q, "ALTER TABLE %I.%I ALTER COLUMN %I SET (%s)", sc, t, col, sql_text(&opts));
			pg_carry_push(c, false, &q);
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
		if (!pg_carry_is_privilege(PQgetvalue(r, i, 2))) {
			err_set(e, OSC_EXIT_FAILED, "internal: unexpected privilege %s", PQgetvalue(r, i, 2));
			goto out;
		}
		sql_add(&q, "GRANT %s (%I) ON %I.%I TO ", PQgetvalue(r, i, 2), PQgetvalue(r, i, 0), sc, t);
		if (pg_carry_val(r, i, 1))
			sql_add(&q, "%I", pg_carry_val(r, i, 1));
		else
			sql_add(&q, "PUBLIC");
		if (PQgetvalue(r, i, 3)[0] == 't')
			sql_add(&q, " WITH GRANT OPTION");
		pg_carry_push(c, false, &q);
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
		pg_carry_push(c, false, &q);
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
		pg_carry_push(c, false, &q);
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
bool pg_carry_read_policies(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;

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
		const char *name = PQgetvalue(r, i, 0);
		bool first = i == 0 || strcmp(PQgetvalue(r, i - 1, 0), name) != 0;
		bool last = i == PQntuples(r) - 1 || strcmp(PQgetvalue(r, i + 1, 0), name) != 0;
		if (first)
			sql_add(&q, "CREATE POLICY %I ON %I.%I AS %s FOR %s TO ", name, pg->schema, pg->table,
			        PQgetvalue(r, i, 1)[0] == 't' ? "PERMISSIVE" : "RESTRICTIVE",
			        policy_cmd(PQgetvalue(r, i, 2)[0]));
		else
			sql_add(&q, ", ");
		if (pg_carry_val(r, i, 5))
			sql_add(&q, "%I", pg_carry_val(r, i, 5));
		else
			sql_add(&q, "PUBLIC");
		if (!last)
			continue;
		if (pg_carry_val(r, i, 3))
			sql_add(&q, " USING (%s)", pg_carry_val(r, i, 3));
		if (pg_carry_val(r, i, 4))
			sql_add(&q, " WITH CHECK (%s)", pg_carry_val(r, i, 4));
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

	if (!pg_carry_query_oids(pg,
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
		pg_carry_push(c, false, &q);
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
			pg_carry_push(c, false, &q);
		if (pg_carry_val(r, i, 3)) {
			sql_add(&q, "COMMENT ON TRIGGER %I ON %I.%I IS %L", name, pg->schema, pg->table, pg_carry_val(r, i, 3));
			pg_carry_push(c, false, &q);
		}
	}
	PQclear(r);
	sql_free(&q);
	return true;
}
