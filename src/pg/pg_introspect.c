/*
 * pg_introspect.c — preflight on PostgreSQL: which table, which key, is
 * anything in the way.  Reads the catalogs only; changes nothing (the
 * advisory lock is session state, not a change).
 */
#include "pg.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* lookup's columns */
enum { T_OID, T_SCHEMA, T_NAME, T_KIND, T_PERSISTENCE, T_ROWS, T_BYTES };

static bool lookup(Pg *pg, const char *schema, const char *table, PGresult **res, OscErr *e)
{
	const char *params[2] = { table, schema };
	return pg_exec(pg,
	               "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence,"
	               "       greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid)"
	               "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	               " WHERE c.relname = $1"
	               "   AND CASE WHEN $2 = '' THEN pg_catalog.pg_table_is_visible(c.oid)"
	               "            ELSE n.nspname = $2 END",
	               2, params, res, e);
}

bool pg_find_table(Pg *pg, const TableName *t, OscErr *e)
{
	PGresult *r = NULL;
	char schema[OSC_NAME_MAX], table[OSC_NAME_MAX];
	bool ok = false;

	memcpy(schema, t->schema, sizeof(schema));
	memcpy(table, t->table, sizeof(table));
	if (!lookup(pg, schema, table, &r, e))
		goto fail;
	if (PQntuples(r) == 0 && (!t->table_quoted || (!t->schema_quoted && schema[0]))) {
		/* unquoted names fold to lower case, as in psql */
		PQclear(r);
		r = NULL;
		if (!t->table_quoted)
			lower(table);
		if (!t->schema_quoted)
			lower(schema);
		if (!lookup(pg, schema, table, &r, e))
			goto fail;
	}
	if (PQntuples(r) == 0) {
		err_set(e, OSC_EXIT_INPUT, "table %s%s%s does not exist", t->schema, t->schema[0] ? "." : "",
		        t->table);
		goto fail;
	}
	pg->oid = (unsigned)strtoul(PQgetvalue(r, 0, T_OID), NULL, 10);
	pg->schema = pg_strdup(PQgetvalue(r, 0, T_SCHEMA));
	pg->table = pg_strdup(PQgetvalue(r, 0, T_NAME));
	char kind = PQgetvalue(r, 0, T_KIND)[0];
	pg->relpersistence = PQgetvalue(r, 0, T_PERSISTENCE)[0];
	pg->reltuples = strtoll(PQgetvalue(r, 0, T_ROWS), NULL, 10);
	pg->relbytes = strtoll(PQgetvalue(r, 0, T_BYTES), NULL, 10);
	switch (kind) {
	case 'r':
		break;
	case 'v':
		err_set(e, OSC_EXIT_INPUT, "%s.%s is a view, not a table; ALTER a view with CREATE OR REPLACE VIEW",
		        pg->schema, pg->table);
		goto fail;
	case 'm':
		err_set(e, OSC_EXIT_INPUT, "%s.%s is a materialized view, not a table", pg->schema, pg->table);
		goto fail;
	case 'p':
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s is a partitioned table; osc does not migrate partitioned tables yet "
		        "(migrate each partition, or ALTER the parent directly)",
		        pg->schema, pg->table);
		goto fail;
	default:
		err_set(e, OSC_EXIT_INPUT, "%s.%s is not an ordinary table (relkind %c)", pg->schema, pg->table,
		        kind);
		goto fail;
	}
	if (pg->relpersistence == 't') {
		err_set(e, OSC_EXIT_INPUT, "%s.%s is a temporary table; only its own session can see it",
		        pg->schema, pg->table);
		goto fail;
	}
	PQclear(r);
	r = NULL;
	/* inheritance children would be skipped by the copy (FROM ONLY) */
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *p1[1] = { oid };
	if (!pg_exec(pg, "SELECT count(*) FROM pg_catalog.pg_inherits WHERE inhparent = $1::oid OR inhrelid = $1::oid",
	             1, p1, &r, e))
		goto fail;
	if (strcmp(pg_value(r, 0), "0") != 0) {
		err_set(e, OSC_EXIT_INPUT, "%s.%s takes part in table inheritance; osc does not migrate such tables",
		        pg->schema, pg->table);
		goto fail;
	}
	pg_derive_names(pg);
	ok = true;
fail:
	PQclear(r);
	return ok;
}

void pg_derive_names(Pg *pg)
{
	char hash[13];
	size_t n = strlen(pg->schema) + 1 + strlen(pg->table);
	char *both = xmalloc(n + 1);
	/* NUL between the parts: "a.b"+"c" and "a"+"b.c" must differ */
	memcpy(both, pg->schema, strlen(pg->schema) + 1);
	memcpy(both + strlen(pg->schema) + 1, pg->table, strlen(pg->table));
	names_hash_hex(hash, 12, both, n);
	free(both);
	snprintf(pg->work, sizeof(pg->work), "_osc_%s", hash);
	names_derive(pg->shadow, sizeof(pg->shadow), "_", pg->table, "_osc_new", PG_NAMELEN);
	names_derive(pg->log_table, sizeof(pg->log_table), "_", pg->table, "_osc_log", PG_NAMELEN);
	names_derive(pg->rlog, sizeof(pg->rlog), "_", pg->table, "_osc_rlog", PG_NAMELEN);
	names_derive(pg->kept, sizeof(pg->kept), "_", pg->table, "_osc_orig", PG_NAMELEN);
	/* the first run's old names; a later one's come from pg_old_choose or its state row */
	if (!pg->old_suffix[0])
		names_old_suffix(pg->old_suffix, sizeof(pg->old_suffix), 1);
	pg_old_name(pg, pg->old, sizeof(pg->old), pg->table);
}

/* The key: the primary key, else the narrowest unique index whose columns are
 * all NOT NULL, without predicate or expressions, checked immediately. */
bool pg_find_key(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false;
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *p1[1] = { oid };

	if (!pg_exec(pg,
	             "SELECT i.indexrelid, ic.relname"
	             "  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	             " WHERE i.indrelid = $1::oid AND i.indisunique AND i.indisvalid AND i.indimmediate"
	             "   AND i.indpred IS NULL AND i.indexprs IS NULL"
	             "   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
	             "                    WHERE a.attrelid = i.indrelid"
	             "                      AND a.attnum = ANY (i.indkey::int2[]) AND NOT a.attnotnull)"
	             " ORDER BY i.indisprimary DESC, i.indnkeyatts, ic.relname LIMIT 1",
	             1, p1, &r, e))
		goto fail;
	if (PQntuples(r) == 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s has no primary key and no unique index over NOT NULL columns; osc needs one "
		        "to copy in chunks and to match changed rows",
		        pg->schema, pg->table);
		goto fail;
	}
	enum { K_INDEX_OID, K_INDEX_NAME };
	char idx[16];
	snprintf(idx, sizeof(idx), "%s", PQgetvalue(r, 0, K_INDEX_OID));
	pg->key_index = pg_strdup(PQgetvalue(r, 0, K_INDEX_NAME));
	PQclear(r);
	r = NULL;
	const char *p2[1] = { idx };
	if (!pg_exec(pg,
	             "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)"
	             "  FROM pg_catalog.pg_index i,"
	             "       unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord),"
	             "       pg_catalog.pg_attribute a"
	             " WHERE i.indexrelid = $1::oid AND a.attrelid = i.indrelid AND a.attnum = k.attnum"
	             "   AND k.ord <= i.indnkeyatts"
	             " ORDER BY k.ord",
	             1, p2, &r, e))
		goto fail;
	pg->nkeys = PQntuples(r);
	pg->keys = xcalloc((size_t)pg->nkeys, sizeof(PgKey));
	for (int i = 0; i < pg->nkeys; i++) {
		enum { C_NAME, C_TYPE };
		pg->keys[i].name = pg_strdup(PQgetvalue(r, i, C_NAME));
		pg->keys[i].type = pg_strdup(PQgetvalue(r, i, C_TYPE));
	}
	PQclear(r);
	r = NULL;
	/* the original's indexes, renamed when it is retired */
	if (!pg_exec(pg,
	             "SELECT ic.relname FROM pg_catalog.pg_index i"
	             "  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	             " WHERE i.indrelid = $1::oid ORDER BY i.indexrelid",
	             1, p1, &r, e))
		goto fail;
	pg->nindexes = PQntuples(r);
	pg->indexes = xcalloc((size_t)pg->nindexes + 1, sizeof(PgIndexName));
	for (int i = 0; i < pg->nindexes; i++) {
		char old[PG_NAMELEN + 1];
		pg->indexes[i].name = pg_strdup(pg_value(r, i));
		pg_old_name(pg, old, sizeof(old), pg->indexes[i].name);
		pg->indexes[i].old_name = pg_strdup(old);
	}
	ok = true;
fail:
	PQclear(r);
	return ok;
}

/* The advisory lock that keeps a second run off the table.  It is keyed by
 * the table's name, not its OID, which changes at the swap. */
bool pg_lock_table(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false, got = false;
	char *qname = pg_qualified(pg, pg->schema, pg->table);
	const char *p[1] = { qname };

	if (!pg_try_table_lock(pg, &got, e))
		goto fail;
	if (got) {
		pg->lock_held = true;
		ok = true;
		goto fail;
	}
	char holder[512];
	pg_state_holder(pg, holder, sizeof(holder));
	if (holder[0]) {
		err_set(e, OSC_EXIT_STOPPED, "another osc run holds %s.%s (%s)", pg->schema, pg->table, holder);
		goto fail;
	}
	enum { H_PID, H_CLIENT, H_APP, H_SINCE };
	if (pg_exec(pg,
	            "SELECT a.pid, coalesce(host(a.client_addr), 'local'), a.application_name,"
	            "       to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')"
	            "  FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
	            " WHERE l.locktype = 'advisory' AND l.classid = 7564131"
	            "   AND l.objid = pg_catalog.hashtext($1)::oid AND l.objsubid = 2 AND l.granted",
	            1, p, &r, e) &&
	    PQntuples(r) > 0)
		err_set(e, OSC_EXIT_STOPPED,
		        "another osc run holds %s.%s (server pid %s, client %s, %s, since %s)", pg->schema,
		        pg->table, PQgetvalue(r, 0, H_PID), PQgetvalue(r, 0, H_CLIENT), PQgetvalue(r, 0, H_APP),
		        PQgetvalue(r, 0, H_SINCE));
	else
		err_set(e, OSC_EXIT_STOPPED, "another osc run holds %s.%s", pg->schema, pg->table);
fail:
	PQclear(r);
	free(qname);
	return ok;
}

/* Dependents the swap cannot re-create (src/pg/pg_carry.c re-creates
 * views, materialized views, foreign keys, policies, triggers and
 * publication membership): rules other than a view's own, functions whose
 * SQL body was bound at creation (BEGIN ATOMIC), and materialized views that
 * other views read (re-creating one would drop those).  Reads the catalog
 * only. */
bool pg_check_dependents(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false;
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *p[1] = { oid };

	if (!pg_exec(pg,
	             "SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), 1"
	             "  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid"
	             "  JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class"
	             " WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
	             "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1::oid"
	             "   AND NOT (rw.rulename = '_RETURN' AND v.relkind IN ('v', 'm') AND v.oid <> $1::oid)"
	             " UNION ALL "
	             "SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid), 2"
	             "  FROM pg_catalog.pg_depend d"
	             " WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass"
	             "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1::oid"
	             " UNION ALL "
	             "SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, m.oid, 0)"
	             "       || ', which ' || pg_catalog.pg_describe_object('pg_catalog.pg_rewrite'::pg_catalog.regclass,"
	             "                                                     r.rule_oid, 0) || ' reads', 3"
	             "  FROM " PG_VIEWS_OVER("$1::oid") " o JOIN pg_catalog.pg_class m ON m.oid = o.view_oid AND m.relkind = 'm',"
	             "       LATERAL " PG_VIEWS_OVER("m.oid") " r"
	             " ORDER BY 2, 1 LIMIT 1",
	             1, p, &r, e))
		goto fail;
	if (PQntuples(r) == 1) {
		static const char *const why[] = {
			"osc cannot re-create rules at the swap",
			"its body is bound to the table and osc cannot re-create it at the swap",
			"re-creating the materialized view at the swap would drop the views over it",
		};
		enum { D_OBJECT, D_KIND };
		int k = atoi(PQgetvalue(r, 0, D_KIND));
		err_set(e, OSC_EXIT_INPUT, "%s depends on %s.%s: %s (drop it, migrate, and create it again)",
		        PQgetvalue(r, 0, D_OBJECT), pg->schema, pg->table, why[k >= 1 && k <= 3 ? k - 1 : 0]);
		goto fail;
	}
	ok = true;
fail:
	PQclear(r);
	return ok;
}

/* After the ALTER on the shadow, before its indexes are deferred: the swap
 * re-creates views, policies, triggers, foreign keys and publication column
 * lists from their definitions, which name the original's columns.  An
 * ALTER that drops or retypes a column one of them uses is refused, as
 * PostgreSQL refuses it on the table itself (a view, a policy); a rename is
 * refused too, since a plain ALTER TABLE ... RENAME COLUMN is instant and
 * carries them.  (Indexes need no check: the shadow has them when the ALTER
 * runs, so it treats them exactly as the table would.)  A foreign key into
 * the table needs the unique index it references to survive the ALTER. */
bool pg_check_alter(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;
	char o[16], s[16];
	snprintf(o, sizeof(o), "%u", pg->oid);
	snprintf(s, sizeof(s), "%u", pg->shadow_oid);
	const char *p[3] = { o, s, pg->work };

	sql_init(&q, &pg->dialect);
	sql_add(&q,
	        "%sSELECT m.old_name,"
	        "       CASE WHEN m.new_name IS NULL THEN 'drops column' WHEN m.retyped THEN 'changes the type of column'"
	        "            ELSE 'renames column' END,"
	        "       CASE WHEN d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
	        "            THEN (SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass,"
	        "                                                      rw.ev_class, 0)"
	        "                    FROM pg_catalog.pg_rewrite rw WHERE rw.oid = d.objid)"
	        "            ELSE pg_catalog.pg_describe_object(d.classid, d.objid, 0) END,"
	        "       m.new_name IS NOT NULL AND NOT m.retyped"
	        "  FROM colmap m JOIN pg_catalog.pg_depend d"
	        "    ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1::oid"
	        "   AND d.refobjsubid = m.old_attnum"
	        " WHERE (m.new_name IS NULL OR m.retyped OR m.new_name <> m.old_name)"
	        "   AND (d.classid IN ('pg_catalog.pg_policy'::pg_catalog.regclass,"
	        "                      'pg_catalog.pg_publication_rel'::pg_catalog.regclass,"
	        "                      'pg_catalog.pg_rewrite'::pg_catalog.regclass)"
	        "        OR (d.classid = 'pg_catalog.pg_trigger'::pg_catalog.regclass"
	        "            AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.oid = d.objid AND NOT t.tgisinternal))"
	        "        OR (d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass"
	        "            AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.oid = d.objid AND k.contype = 'f')))"
	        " UNION ALL "
	        "SELECT ic.relname, 'drops index', pg_catalog.pg_describe_object('pg_catalog.pg_constraint'::pg_catalog.regclass,"
	        "       k.oid, 0), false"
	        "  FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class ic ON ic.oid = k.conindid"
	        " WHERE k.contype = 'f' AND k.confrelid = $1::oid"
	        "   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class x JOIN pg_catalog.pg_namespace n ON n.oid = x.relnamespace"
	        "                    WHERE n.nspname = $3 AND x.relname = ic.relname AND x.relkind = 'i')"
	        " LIMIT 1",
	        pg_colmap_cte);
	if (!pg_exec(pg, sql_text(&q), 3, p, &r, e))
		goto fail;
	if (PQntuples(r) == 1) {
		enum { D_COLUMN, D_CHANGE, D_OBJECT, D_RENAME };
		bool rename = PQgetvalue(r, 0, D_RENAME)[0] == 't';
		if (rename)
			err_set(e, OSC_EXIT_INPUT,
			        "the ALTER renames column %s, which %s uses; osc re-creates that at the swap from its "
			        "definition, which names the old column: rename the column with a plain ALTER TABLE "
			        "(it is instant and carries everything), then migrate",
			        PQgetvalue(r, 0, D_COLUMN), PQgetvalue(r, 0, D_OBJECT));
		else
			err_set(e, OSC_EXIT_INPUT,
			        "the ALTER %s %s, which %s depends on; PostgreSQL refuses that on the table too: "
			        "drop or change that object first, then migrate",
			        PQgetvalue(r, 0, D_CHANGE), PQgetvalue(r, 0, D_COLUMN), PQgetvalue(r, 0, D_OBJECT));
		goto fail;
	}
	ok = true;
fail:
	PQclear(r);
	sql_free(&q);
	return ok;
}
