/*
 * pg_names.c — the names osc takes on PostgreSQL, and proof of what is osc's.
 *
 * Ownership: osc records the OID of every object it makes outside the work
 * schema's contents (the work schema, its capture triggers on the original;
 * the original's own OID, which the old table keeps) in its state row, in
 * the transaction that creates the object.  An object under one of osc's
 * names is osc's only when a state row names its OID; anything else is the
 * user's, and osc neither drops it (`osc cleanup` included) nor advises
 * dropping it: preflight refuses the run naming the object and saying that
 * osc did not create it.
 *
 * Names: the swap renames the original to _T_osc_old and its indexes,
 * identity sequences and statistics to _<name>_osc_old (or, when an earlier
 * run's old table holds those, _osc_old_<n>: src/pg/pg_old.c), and moves the shadow
 * (with its indexes and identity sequences) into the original's schema under
 * its work name before renaming it to T there, so that PostgreSQL picks a
 * free name for its array type in that schema (a table `_acct` beside
 * `acct`, or two 63-byte names that share 62 bytes, would otherwise collide
 * on the array type after the whole copy).  Every one of those names is
 * checked here, in the shadow's transaction (a taken one rolls it back:
 * exit 2, nothing changed) and again when a run resumes.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state table exists and records OIDs (an older osc's table may not). */
static bool state_has_oids(Pg *pg, bool *has, OscErr *e)
{
	PGresult *r = NULL;
	if (!pg_exec(pg,
	             "SELECT count(*) = 3 FROM pg_catalog.pg_attribute"
	             " WHERE attrelid = pg_catalog.to_regclass('osc.migrations') AND NOT attisdropped"
	             "   AND attname IN ('table_oid', 'work_schema_oid', 'trigger_oids')",
	             0, NULL, &r, e))
		return false;
	*has = pg_value(r, 0)[0] == 't';
	PQclear(r);
	return true;
}

/* One boolean query over the state rows (false without OIDs recorded). */
static bool state_says(Pg *pg, const char *sql, int n, const char *const *p, bool *yes, OscErr *e)
{
	PGresult *r = NULL;
	bool has = false;
	*yes = false;
	if (!state_has_oids(pg, &has, e))
		return false;
	if (!has)
		return true;
	if (!pg_exec(pg, sql, n, p, &r, e))
		return false;
	*yes = PQntuples(r) > 0 && pg_value(r, 0)[0] == 't';
	PQclear(r);
	return true;
}

bool pg_owned_find(Pg *pg, PgOwned *out, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false;
	char oid[16];
	snprintf(oid, sizeof(oid), "%u", pg->oid);

	memset(out, 0, sizeof(*out));
	const char *p1[1] = { pg->work };
	if (!pg_exec(pg, "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, p1, &r, e))
		goto out;
	if (PQntuples(r) == 1) {
		char so[16];
		bool yes;
		snprintf(so, sizeof(so), "%s", pg_value(r, 0));
		const char *p[2] = { so, pg->work };
		if (!state_says(pg,
		                "SELECT EXISTS (SELECT 1 FROM osc.migrations WHERE work_schema_oid = $1::oid AND work_schema = $2)",
		                2, p, &yes, e))
			goto out;
		if (yes)
			out->schema_oid = (unsigned)strtoul(so, NULL, 10);
		else
			out->schema_foreign = true;
	}
	PQclear(r);
	r = NULL;
	const char *p2[1] = { oid };
	if (!pg_exec(pg,
	             "SELECT oid, tgname FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid"
	             "   AND tgname IN ('_osc_capture', '_osc_truncate') ORDER BY tgname",
	             1, p2, &r, e))
		goto out;
	enum { T_OID, T_NAME };
	for (int i = 0; i < PQntuples(r); i++) {
		bool yes;
		const char *p[2] = { PQgetvalue(r, i, T_OID), oid };
		if (!state_says(pg,
		                "SELECT EXISTS (SELECT 1 FROM osc.migrations"
		                "                WHERE $1::oid = ANY (trigger_oids) AND table_oid = $2::oid)",
		                2, p, &yes, e))
			goto out;
		if (yes && out->ntriggers < 2)
			out->triggers[out->ntriggers++] = (unsigned)strtoul(PQgetvalue(r, i, T_OID), NULL, 10);
		else if (!yes)
			snprintf(out->foreign_trigger, sizeof(out->foreign_trigger), "%s", PQgetvalue(r, i, T_NAME));
	}
	ok = true;
out:
	PQclear(r);
	return ok;
}

bool pg_check_leftovers(Pg *pg, OscErr *e)
{
	PgOwned own;
	if (!pg_owned_find(pg, &own, e))
		return false;
	if (own.schema_foreign) {
		err_set(e, OSC_EXIT_INPUT,
		        "schema %s exists and osc did not create it (no osc run recorded it): osc needs that name for "
		        "its work objects while it migrates %s.%s; rename that schema (osc cleanup leaves it alone); "
		        "nothing was changed",
		        pg->work, pg->schema, pg->table);
		return false;
	}
	if (own.foreign_trigger[0]) {
		err_set(e, OSC_EXIT_INPUT,
		        "trigger %s on %s.%s exists and osc did not create it (no osc run recorded it): osc needs that "
		        "name for its change capture; rename that trigger (osc cleanup leaves it alone); nothing was "
		        "changed",
		        own.foreign_trigger, pg->schema, pg->table);
		return false;
	}
	if (own.schema_oid || own.ntriggers) {
		err_set(e, OSC_EXIT_INPUT,
		        "an unfinished osc run on %s.%s left its objects (%s%s%s); run `osc cleanup --table %s` first",
		        pg->schema, pg->table, own.schema_oid ? "schema " : "", own.schema_oid ? pg->work : "",
		        own.ntriggers ? (own.schema_oid ? ", capture triggers" : "capture triggers") : "",
		        pg->env->table_arg);
		return false;
	}
	return true;
}

/* Is `name` taken in schema `nsp` by a relation or (types) a type?  Fills
 * what ("table x.y") when it is. */
static bool taken(Pg *pg, const char *nsp, const char *name, bool types, char *what, size_t whatsz, OscErr *e)
{
	PGresult *r = NULL;
	const char *p[3] = { nsp, name, types ? "t" : "f" };
	what[0] = '\0';
	if (!pg_exec(pg,
	             "SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'i' THEN 'index'"
	             "         WHEN 'I' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'"
	             "         WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'relation' END"
	             "       || ' ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)"
	             "       || CASE WHEN c.relkind IN ('i', 'I') THEN (SELECT ' (on ' || i.indrelid::pg_catalog.regclass::text || ')'"
	             "                                              FROM pg_catalog.pg_index i WHERE i.indexrelid = c.oid)"
	             "               ELSE '' END"
	             "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	             " WHERE n.nspname = $1 AND c.relname = $2"
	             " UNION ALL "
	             "SELECT 'type ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.typname)"
	             "  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
	             " WHERE $3::boolean AND n.nspname = $1 AND t.typname = $2"
	             "   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.reltype = t.oid)"
	             " LIMIT 1",
	             3, p, &r, e))
		return false;
	if (PQntuples(r) > 0)
		snprintf(what, whatsz, "%s", pg_value(r, 0));
	PQclear(r);
	return true;
}

static bool refuse(const char *nsp, const char *name, const char *why, const char *what, OscErr *e)
{
	err_set(e, OSC_EXIT_INPUT,
	        "osc needs the name %s.%s at the swap (%s), and %s has it, which osc did not create in this run; "
	        "rename or drop it, then run osc again; nothing was changed",
	        nsp, name, why, what);
	return false;
}

/* The original steps aside as _T_osc_old: taken by the old table of an
 * earlier migration (osc's, by its recorded OID) or by something else. */
static bool check_old_table(Pg *pg, OscErr *e)
{
	char what[512];
	PGresult *r = NULL;
	if (!taken(pg, pg->schema, pg->old, true, what, sizeof(what), e))
		return false;
	if (!what[0])
		return true;
	const char *p[2] = { pg->schema, pg->old };
	if (!pg_exec(pg,
	             "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	             " WHERE n.nspname = $1 AND c.relname = $2",
	             2, p, &r, e))
		return false;
	char oid[16] = "0";
	if (PQntuples(r) == 1)
		snprintf(oid, sizeof(oid), "%s", pg_value(r, 0));
	PQclear(r);
	bool ours = false;
	const char *p2[1] = { oid };
	if (!state_says(pg,
	                "SELECT EXISTS (SELECT 1 FROM osc.migrations WHERE table_oid = $1::oid AND phase IN ('swapped', 'done'))",
	                1, p2, &ours, e))
		return false;
	if (ours)
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s exists, kept by an earlier migration of %s; drop it (or rename it) first; nothing was "
		        "changed",
		        pg->schema, pg->old, pg->table);
	else
		err_set(e, OSC_EXIT_INPUT,
		        "%s exists and osc did not create it (no osc run recorded it): osc needs the name %s.%s for the "
		        "original after the swap; rename that object, then run osc again; nothing was changed",
		        what, pg->schema, pg->old);
	return false;
}

bool pg_names_check(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false;
	char what[512], why[256], s[16], o[16];
	snprintf(s, sizeof(s), "%u", pg->shadow_oid);
	snprintf(o, sizeof(o), "%u", pg->oid);
	const char *ps[1] = { s };

	if (!pg_old_choose(pg, e) || !check_old_table(pg, e))
		return false;
	/* the shadow arrives under its work name, with its array type */
	if (!taken(pg, pg->schema, pg->shadow, true, what, sizeof(what), e))
		return false;
	if (what[0])
		return refuse(pg->schema, pg->shadow, "the new table passes through it", what, e);
	if (!pg_exec(pg,
	             "SELECT a.typname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_type t ON t.oid = c.reltype"
	             "  JOIN pg_catalog.pg_type a ON a.oid = t.typarray WHERE c.oid = $1::oid",
	             1, ps, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		if (!taken(pg, pg->schema, pg_value(r, i), true, what, sizeof(what), e))
			goto out;
		if (what[0]) {
			refuse(pg->schema, pg_value(r, i), "the new table's array type passes through it", what, e);
			goto out;
		}
	}
	PQclear(r);
	r = NULL;
	/* the original's indexes step aside */
	for (int i = 0; i < pg->nindexes; i++) {
		if (!taken(pg, pg->schema, pg->indexes[i].old_name, false, what, sizeof(what), e))
			goto out;
		if (what[0]) {
			snprintf(why, sizeof(why), "the original's index %s is renamed to it", pg->indexes[i].name);
			refuse(pg->schema, pg->indexes[i].old_name, why, what, e);
			goto out;
		}
	}
	/* the new table's indexes (built now or after the copy) and identity
	 * sequences arrive with it: free, or the original's (which step aside) */
	if (!pg_exec(pg,
	             "SELECT c.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
	             " WHERE i.indrelid = $1::oid"
	             " UNION SELECT q.relname FROM pg_catalog.pg_depend d"
	             "  JOIN pg_catalog.pg_class q ON q.oid = d.objid AND q.relkind = 'S'"
	             " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1::oid"
	             "   AND d.deptype IN ('a', 'i')",
	             1, ps, &r, e))
		goto out;
	int nnames = PQntuples(r);
	for (int i = 0; i < nnames + pg->ndeferred; i++) {
		const char *name = i < nnames ? pg_value(r, i) : pg->deferred[i - nnames].name;
		bool original = false;
		for (int k = 0; k < pg->nindexes && !original; k++)
			original = strcmp(pg->indexes[k].name, name) == 0;
		if (original || (pg->tmp_key_index && strcmp(pg->tmp_key_index, name) == 0))
			continue;
		for (int k = 0; k < pg->nseqs && !original; k++)
			original = strcmp(pg->seqs[k].old_name, name) == 0 && strcmp(pg->seqs[k].old_schema, pg->schema) == 0;
		if (original)
			continue;
		if (!taken(pg, pg->schema, name, false, what, sizeof(what), e))
			goto out;
		if (what[0]) {
			refuse(pg->schema, name, "an index or sequence of the new table moves there", what, e);
			goto out;
		}
	}
	PQclear(r);
	r = NULL;
	/* identity sequences and extended statistics of the original step aside */
	for (int i = 0; i < pg->nseqs; i++) {
		char old[PG_NAMELEN + 1];
		if (!pg->seqs[i].identity)
			continue;
		pg_old_name(pg, old, sizeof(old), pg->seqs[i].old_name);
		if (!taken(pg, pg->seqs[i].old_schema, old, false, what, sizeof(what), e))
			goto out;
		if (what[0]) {
			snprintf(why, sizeof(why), "the original's sequence %s is renamed to it", pg->seqs[i].old_name);
			refuse(pg->seqs[i].old_schema, old, why, what, e);
			goto out;
		}
	}
	const char *po[1] = { o };
	if (!pg_exec(pg,
	             "SELECT n.nspname, x.stxname FROM pg_catalog.pg_statistic_ext x"
	             "  JOIN pg_catalog.pg_namespace n ON n.oid = x.stxnamespace WHERE x.stxrelid = $1::oid",
	             1, po, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		PGresult *t = NULL;
		char old[PG_NAMELEN + 1];
		enum { S_SCHEMA, S_NAME };
		pg_old_name(pg, old, sizeof(old), PQgetvalue(r, i, S_NAME));
		const char *pt[2] = { PQgetvalue(r, i, S_SCHEMA), old };
		if (!pg_exec(pg,
		             "SELECT 1 FROM pg_catalog.pg_statistic_ext x JOIN pg_catalog.pg_namespace n"
		             "    ON n.oid = x.stxnamespace WHERE n.nspname = $1 AND x.stxname = $2",
		             2, pt, &t, e))
			goto out;
		bool dup = PQntuples(t) > 0;
		PQclear(t);
		if (dup) {
			snprintf(why, sizeof(why), "the original's statistics %s is renamed to it", PQgetvalue(r, i, S_NAME));
			snprintf(what, sizeof(what), "statistics object %s.%s", PQgetvalue(r, i, S_SCHEMA), old);
			refuse(PQgetvalue(r, i, S_SCHEMA), old, why, what, e);
			goto out;
		}
	}
	ok = true;
out:
	PQclear(r);
	return ok;
}
