/*
 * pg_carry_deps.c — the objects bound to the original's OID that a rename
 * swap must point at the new table (src/pg/pg_carry.c says how):
 * publication membership, views, the foreign keys of other tables, and
 * extended statistics.
 */
#include "pg_carry.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Publication membership, with its row filter and column list (by the
 * new column names). */
bool pg_carry_read_publications(Pg *pg, PgCarry *c, OscErr *e)
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
	enum { P_NAME, P_WHERE, P_OID, P_HAS_COLUMNS };
	if (!pg_exec(pg,
	             "SELECT pb.pubname, pg_catalog.pg_get_expr(pr.prqual, pr.prrelid), pr.oid, pr.prattrs IS NOT NULL"
	             "  FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication pb ON pb.oid = pr.prpubid"
	             " WHERE pr.prrelid = $1::oid ORDER BY 1",
	             1, (const char *[]){ o }, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		sql_add(&q, "ALTER PUBLICATION %I ADD TABLE ONLY %I.%I", PQgetvalue(r, i, P_NAME), pg->schema, pg->table);
		if (PQgetvalue(r, i, P_HAS_COLUMNS)[0] == 't') {
			if (!pg_exec(pg, sql_text(&cq), 3, (const char *[]){ o, s, PQgetvalue(r, i, P_OID) }, &cols, e))
				goto out;
			sql_add(&q, " (");
			for (int k = 0; k < PQntuples(cols); k++)
				sql_add(&q, "%s%I", k ? ", " : "", pg_value(cols, k));
			sql_add(&q, ")");
			PQclear(cols);
			cols = NULL;
		}
		if (pg_carry_val(r, i, P_WHERE))
			sql_add(&q, " WHERE (%s)", pg_carry_val(r, i, P_WHERE));
		pg_carry_push(c, false, &q);
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
bool pg_carry_read_views(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL, *ix = NULL;
	Sql q, opts;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	sql_init(&opts, &pg->dialect);
	if (!pg_carry_query_oids(pg,
	                "SELECT DISTINCT v.oid, n.nspname, v.relname, v.relkind, pg_catalog.pg_get_viewdef(v.oid),"
	                "       v.relispopulated"
	                "  FROM " PG_VIEWS_OVER("$1::oid") " o JOIN pg_catalog.pg_class v ON v.oid = o.view_oid"
	                "  JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace"
	                " WHERE v.relkind IN ('v', 'm')"
	                " ORDER BY v.oid",
	                1, pg->oid, 0, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		enum { V_OID, V_SCHEMA, V_NAME, V_KIND, V_DEF, V_POPULATED };
		unsigned voi = (unsigned)strtoul(PQgetvalue(r, i, V_OID), NULL, 10);
		const char *vs = PQgetvalue(r, i, V_SCHEMA), *vn = PQgetvalue(r, i, V_NAME), *def = PQgetvalue(r, i, V_DEF);
		bool mat = PQgetvalue(r, i, V_KIND)[0] == 'm';
		size_t dl = strlen(def);
		while (dl > 0 && (def[dl - 1] == ';' || def[dl - 1] == ' ' || def[dl - 1] == '\n'))
			dl--;
		sql_reset(&opts);
		if (!pg_carry_add_options(pg, &opts, NULL, voi, NULL, e))
			goto out;
		if (!mat) {
			sql_add(&q, "CREATE OR REPLACE VIEW %I.%I%s%s%s AS ", vs, vn, opts.len ? " WITH (" : "",
			        sql_text(&opts), opts.len ? ")" : "");
			/* the definition as the server wrote it, without its ';' */
			char *d = xstrndup(def, dl);
			sql_add(&q, "%s", d);
			free(d);
			pg_carry_push(c, false, &q);
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
		pg_carry_push(c, true, &q);
		char *d = xstrndup(def, dl);
		sql_add(&q, "CREATE MATERIALIZED VIEW %I.%I%s%s%s AS %s WITH %s", vs, vn, opts.len ? " WITH (" : "",
		        sql_text(&opts), opts.len ? ")" : "", d, PQgetvalue(r, i, V_POPULATED)[0] == 't' ? "DATA" : "NO DATA");
		free(d);
		pg_carry_push(c, false, &q);
		enum { X_DEF, X_COMMENT, X_NAME, X_CLUSTERED };
		for (int k = 0; k < PQntuples(ix); k++) {
			sql_add(&q, "%s", PQgetvalue(ix, k, X_DEF));
			pg_carry_push(c, false, &q);
			if (pg_carry_val(ix, k, X_COMMENT)) {
				sql_add(&q, "COMMENT ON INDEX %I.%I IS %L", vs, PQgetvalue(ix, k, X_NAME), pg_carry_val(ix, k, X_COMMENT));
				pg_carry_push(c, false, &q);
			}
			if (PQgetvalue(ix, k, X_CLUSTERED)[0] == 't') {
				sql_add(&q, "ALTER MATERIALIZED VIEW %I.%I CLUSTER ON %I", vs, vn, PQgetvalue(ix, k, X_NAME));
				pg_carry_push(c, false, &q);
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
			enum { M_COLUMN, M_COMMENT };
			sql_add(&q, "COMMENT ON COLUMN %I.%I.%I IS %L", vs, vn, PQgetvalue(ix, k, M_COLUMN),
			        PQgetvalue(ix, k, M_COMMENT));
			pg_carry_push(c, false, &q);
		}
		PQclear(ix);
		ix = NULL;
		if (!pg_carry_rel_props(pg, c, voi, 0, "MATERIALIZED VIEW", vs, vn, e))
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
bool pg_carry_read_foreign_keys(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	if (!pg_carry_query_oids(pg,
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
		pg_carry_push(c, false, &q);
	}
	for (int i = 0; i < PQntuples(r); i++) {
		enum { F_NAME, F_SCHEMA, F_TABLE, F_DEF, F_VALIDATED, F_COMMENT };
		const char *name = PQgetvalue(r, i, F_NAME), *ts = PQgetvalue(r, i, F_SCHEMA), *tn = PQgetvalue(r, i, F_TABLE);
		bool valid = PQgetvalue(r, i, F_VALIDATED)[0] == 't';
		sql_add(&q, "ALTER TABLE %I.%I DROP CONSTRAINT %I", ts, tn, name);
		pg_carry_push(c, true, &q);
		sql_add(&q, "ALTER TABLE %I.%I ADD CONSTRAINT %I %s%s", ts, tn, name, PQgetvalue(r, i, F_DEF),
		        valid ? " NOT VALID" : "");
		pg_carry_push(c, false, &q);
		if (pg_carry_val(r, i, F_COMMENT)) {
			sql_add(&q, "COMMENT ON CONSTRAINT %I ON %I.%I IS %L", name, ts, tn, pg_carry_val(r, i, F_COMMENT));
			pg_carry_push(c, false, &q);
		}
		if (valid) {
			sql_add(&q, "INSERT INTO %I.%I VALUES (%L, %L, %L)", pg->work, VALIDATE_TABLE, ts, tn, name);
			pg_carry_push(c, false, &q);
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
bool pg_carry_read_statistics(Pg *pg, PgCarry *c, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;

	if (!pg_carry_query_oids(pg,
	                "SELECT n.nspname, x.stxname, EXISTS (SELECT 1 FROM pg_catalog.pg_statistic_ext y"
	                "                                     WHERE y.stxrelid = $2::oid AND y.stxname = x.stxname)"
	                "  FROM pg_catalog.pg_statistic_ext x JOIN pg_catalog.pg_namespace n ON n.oid = x.stxnamespace"
	                " WHERE x.stxrelid = $1::oid ORDER BY x.oid",
	                2, pg->oid, pg->shadow_oid, &r, e))
		return false;
	sql_init(&q, &pg->dialect);
	for (int i = 0; i < PQntuples(r); i++) {
		char old[PG_NAMELEN + 1];
		enum { S_SCHEMA, S_NAME, S_IN_SHADOW };
		pg_old_name(pg, old, sizeof(old), PQgetvalue(r, i, S_NAME));
		sql_add(&q, "ALTER STATISTICS %I.%I RENAME TO %I", PQgetvalue(r, i, S_SCHEMA), PQgetvalue(r, i, S_NAME), old);
		pg_carry_push(c, true, &q);
		if (PQgetvalue(r, i, S_IN_SHADOW)[0] != 't')
			continue; /* the ALTER dropped its columns */
		sql_add(&q, "ALTER STATISTICS %I.%I SET SCHEMA %I", pg->work, PQgetvalue(r, i, S_NAME), PQgetvalue(r, i, S_SCHEMA));
		pg_carry_push(c, false, &q);
	}
	PQclear(r);
	sql_free(&q);
	return true;
}
