/*
 * pg_old.c — the old table's name on PostgreSQL, run after run.
 *
 * The swap keeps the original as _T<suffix>, and its indexes, identity
 * sequences and extended statistics step aside as _<name><suffix>.  The
 * first run's suffix is "_osc_old".  A run that finds one of those names
 * held by an earlier run's old table (the table itself, or an index, an
 * identity sequence or a statistics object of it: a user who renamed the
 * old table by hand leaves those behind) takes "_osc_old_2", then
 * "_osc_old_3", ...: the lowest one whose names are all free, the same
 * suffix for every name, so an old table and its indexes read as one.
 * "An earlier run's old table" is proved by OID: osc.migrations records
 * the original's OID (table_oid), which the old table keeps, and the row
 * says the swap happened.  A name held by anything else stops the search
 * there, and pg_names_check refuses it as before (exit 2, naming it): osc
 * never steps around a user's object silently.
 *
 * The suffix is chosen in the shadow's transaction and recorded in the
 * state row (old_suffix) in that same transaction; a resumed run reads it
 * back (pg_state.c) and never chooses again, so a kill at any point finds
 * the same names.  The swap renames and records "swapped" in one
 * transaction, so there is no moment when the names and the row disagree.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_old_name(const Pg *pg, char *out, size_t outsz, const char *base)
{
	names_derive(out, outsz, "_", base, pg->old_suffix, PG_NAMELEN);
}

void pg_old_set(Pg *pg, const char *suffix)
{
	snprintf(pg->old_suffix, sizeof(pg->old_suffix), "%s", suffix);
	if (pg->table)
		pg_old_name(pg, pg->old, sizeof(pg->old), pg->table);
	for (int i = 0; i < pg->nindexes; i++) {
		char old[PG_NAMELEN + 1];
		pg_old_name(pg, old, sizeof(old), pg->indexes[i].name);
		free(pg->indexes[i].old_name);
		pg->indexes[i].old_name = pg_strdup(old);
	}
}

/* Is nsp.name taken (a relation, a statistics object, or a type of its
 * own), and if so, is its holder an earlier osc run's old table? */
static bool holder(Pg *pg, const char *nsp, const char *name, bool state, bool *taken, bool *earlier, OscErr *e)
{
	PGresult *r = NULL;
	const char *p[2] = { nsp, name };
	*taken = *earlier = false;
	if (!pg_exec(pg,
	             "SELECT (SELECT CASE WHEN c.relkind IN ('i', 'I')"
	             "                    THEN (SELECT x.indrelid FROM pg_catalog.pg_index x WHERE x.indexrelid = c.oid)"
	             "                    WHEN c.relkind = 'S'"
	             "                    THEN (SELECT d.refobjid FROM pg_catalog.pg_depend d"
	             "                           WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	             "                             AND d.objid = c.oid AND d.deptype IN ('a', 'i')"
	             "                             AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass LIMIT 1)"
	             "                    WHEN c.relkind IN ('r', 'p') THEN c.oid END"
	             "          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	             "         WHERE n.nspname = $1 AND c.relname = $2),"
	             "       EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
	             "                   ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)"
	             "    OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n"
	             "                   ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = $2"
	             "                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.reltype = t.oid)),"
	             "       (SELECT x.stxrelid FROM pg_catalog.pg_statistic_ext x JOIN pg_catalog.pg_namespace n"
	             "            ON n.oid = x.stxnamespace WHERE n.nspname = $1 AND x.stxname = $2)",
	             2, p, &r, e))
		return false;
	/* the table a relation of that name belongs to; whether the name is
	 * taken (a relation, a free-standing type); the table statistics of
	 * that name are on */
	enum { H_TABLE, H_TAKEN, H_STATS_TABLE };
	const char *oid = !PQgetisnull(r, 0, H_TABLE)         ? PQgetvalue(r, 0, H_TABLE)
	                  : !PQgetisnull(r, 0, H_STATS_TABLE) ? PQgetvalue(r, 0, H_STATS_TABLE)
	                                                      : NULL;
	*taken = PQgetvalue(r, 0, H_TAKEN)[0] == 't' || !PQgetisnull(r, 0, H_STATS_TABLE);
	bool ok = true;
	if (*taken && oid && state) {
		PGresult *s = NULL;
		const char *ps[1] = { oid };
		ok = pg_exec(pg,
		             "SELECT EXISTS (SELECT 1 FROM osc.migrations WHERE table_oid = $1::oid"
		             "                 AND phase IN ('swapped', 'done'))",
		             1, ps, &s, e);
		if (ok)
			*earlier = pg_value(s, 0)[0] == 't';
		PQclear(s);
	}
	PQclear(r);
	return ok;
}

/* One name of a candidate: taken clears *free_; taken by anything but an
 * earlier run's old table sets *blocked. */
static bool one(Pg *pg, const char *nsp, const char *name, bool state, bool *free_, bool *blocked, OscErr *e)
{
	bool taken, earlier;
	if (!holder(pg, nsp, name, state, &taken, &earlier, e))
		return false;
	if (taken)
		*free_ = false;
	if (taken && !earlier)
		*blocked = true;
	return true;
}

/* One candidate: *free_ when every name is free, *blocked when one is held
 * by something that is not an earlier run's old table. */
/* The columns of the statistics query of pg_old_choose. */
enum { STATS_SCHEMA, STATS_NAME };

static bool candidate(Pg *pg, PGresult *stats, bool state, bool *free_, bool *blocked, OscErr *e)
{
	char old[PG_NAMELEN + 1];
	*free_ = true;
	*blocked = false;
	if (!one(pg, pg->schema, pg->old, state, free_, blocked, e))
		return false;
	for (int i = 0; i < pg->nindexes && !*blocked; i++)
		if (!one(pg, pg->schema, pg->indexes[i].old_name, state, free_, blocked, e))
			return false;
	for (int i = 0; i < pg->nseqs && !*blocked; i++) {
		if (!pg->seqs[i].identity)
			continue;
		pg_old_name(pg, old, sizeof(old), pg->seqs[i].old_name);
		if (!one(pg, pg->seqs[i].old_schema, old, state, free_, blocked, e))
			return false;
	}
	for (int i = 0; i < PQntuples(stats) && !*blocked; i++) {
		pg_old_name(pg, old, sizeof(old), PQgetvalue(stats, i, STATS_NAME));
		if (!one(pg, PQgetvalue(stats, i, STATS_SCHEMA), old, state, free_, blocked, e))
			return false;
	}
	return true;
}

bool pg_old_choose(Pg *pg, OscErr *e)
{
	PGresult *stats = NULL;
	bool ok = false, state = false;
	char o[16], suffix[24];
	snprintf(o, sizeof(o), "%u", pg->oid);
	const char *po[1] = { o };

	if (pg->old_fixed)
		return true;
	/* without a state table that records OIDs, no name is an earlier run's */
	if (!pg_exec(pg,
	             "SELECT count(*) = 1 FROM pg_catalog.pg_attribute"
	             " WHERE attrelid = pg_catalog.to_regclass('osc.migrations') AND NOT attisdropped"
	             "   AND attname = 'table_oid'",
	             0, NULL, &stats, e))
		return false;
	state = pg_value(stats, 0)[0] == 't';
	PQclear(stats);
	stats = NULL;
	if (!pg_exec(pg,
	             "SELECT n.nspname, x.stxname FROM pg_catalog.pg_statistic_ext x"
	             "  JOIN pg_catalog.pg_namespace n ON n.oid = x.stxnamespace WHERE x.stxrelid = $1::oid",
	             1, po, &stats, e))
		goto out;
	for (int n = 1; n <= OSC_OLD_MAX; n++) {
		bool free_, blocked;
		names_old_suffix(suffix, sizeof(suffix), n);
		pg_old_set(pg, suffix);
		if (!candidate(pg, stats, state, &free_, &blocked, e))
			goto out;
		/* free: this run's names; blocked: pg_names_check names the user's object */
		if (free_ || blocked) {
			if (n > 1)
				log_msg(pg->log, LOG_INFO,
				        "earlier runs' old tables hold the names ending in _osc_old%s: this run keeps the "
				        "original as %s.%s",
				        n > 2 ? " (and the next ones)" : "", pg->schema, pg->old);
			ok = true;
			goto out;
		}
	}
	names_old_suffix(suffix, sizeof(suffix), 1);
	pg_old_set(pg, suffix);
	err_set(e, OSC_EXIT_INPUT,
	        "%d old tables of %s.%s kept by earlier osc runs hold every name osc may give this run's old table "
	        "(_%s_osc_old to _%s_osc_old_%d); drop the ones you no longer need (or run with --drop-old-table); "
	        "nothing was changed",
	        OSC_OLD_MAX, pg->schema, pg->table, pg->table, pg->table, OSC_OLD_MAX);
out:
	PQclear(stats);
	return ok;
}
