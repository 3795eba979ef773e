/*
 * pg_revert_keep.c — a --revertible run on PostgreSQL keeps the original in
 * step after its swap (docs/ARCHITECTURE.md "The revert").
 *
 *   before the catch-up  the reverse log `_<T>_osc_rlog` and its trigger
 *                        functions in the work schema (pg_revert_log_create):
 *                        the forward capture's SQL with the new table's key
 *   in the swap          after the drain, the reverse capture's triggers on
 *                        the shadow, under the forward ones' names, so they
 *                        travel with it into the table's name and every
 *                        write from the first one on is logged; once the
 *                        new table has the name, the original (renamed
 *                        _T_osc_old as always) loses its own triggers and
 *                        policies, which the swap carried to the new table
 *                        (the revert's replay fires none of them, and the
 *                        swap back carries them again without a clash), and
 *                        moves into the work schema as `_<T>_osc_orig` with
 *                        its indexes, identity sequences and statistics
 *                        under their own names again: it is then exactly
 *                        what a forward shadow is, and `osc revert` runs
 *                        the forward swap with the roles turned around
 *   after the swap       the forward log, its functions and the heartbeat
 *                        go; the work schema stays with the original, the
 *                        reverse log and its functions
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_carry.h"

static bool run(Pg *pg, Sql *q, OscErr *e)
{
	bool ok = pg_exec_sql(pg, q, NULL, e);
	sql_reset(q);
	return ok;
}

bool pg_revert_log_create(Pg *pg, OscErr *e)
{
	return pg_capture_make(pg, pg->rlog, PG_RCAPTURE_NAME, PG_RTRUNCATE_NAME, true, e);
}

bool pg_revert_capture_on(Pg *pg, OscErr *e)
{
	Sql q[4];
	char id[32], oid[16];
	bool ok = true;

	for (int i = 0; i < 4; i++)
		sql_init(&q[i], &pg->dialect);
	pg_sql_capture_triggers(pg, q, pg->work, pg->shadow, PG_RCAPTURE_NAME, PG_RTRUNCATE_NAME);
	for (int i = 0; ok && i < 4; i++)
		ok = pg_exec_sql(pg, &q[i], NULL, e);
	for (int i = 0; i < 4; i++)
		sql_free(&q[i]);
	if (!ok || pg->state_id == 0)
		return ok;
	/* the OIDs prove them osc's to `osc finish` and `osc revert` */
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	snprintf(oid, sizeof(oid), "%u", pg->shadow_oid);
	const char *p[2] = { id, oid };
	return pg_exec(pg,
	               "UPDATE osc.migrations SET revert = 'revertible', revert_trigger_oids = ARRAY("
	               "  SELECT oid FROM pg_catalog.pg_trigger WHERE tgrelid = $2::oid"
	               "     AND tgname IN ('" PG_CAPTURE_NAME "', '" PG_TRUNCATE_NAME "'))"
	               " WHERE id = $1::bigint",
	               2, p, NULL, e);
}

/* The original's own triggers and policies go: the new table has them. */
static bool strip(Pg *pg, Sql *q, OscErr *e)
{
	PGresult *r = NULL;
	char oid[16];
	bool ok = true;
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *p[1] = { oid };
	if (!pg_exec(pg, "SELECT tgname FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid AND NOT tgisinternal", 1, p,
	             &r, e))
		return false;
	for (int i = 0; ok && i < PQntuples(r); i++) {
		sql_add(q, "DROP TRIGGER %I ON %I.%I", pg_value(r, i), pg->schema, pg->old);
		ok = run(pg, q, e);
	}
	PQclear(r);
	if (!ok || !pg_exec(pg, "SELECT polname FROM pg_catalog.pg_policy WHERE polrelid = $1::oid", 1, p, &r, e))
		return false;
	for (int i = 0; ok && i < PQntuples(r); i++) {
		sql_add(q, "DROP POLICY %I ON %I.%I", pg_value(r, i), pg->schema, pg->old);
		ok = run(pg, q, e);
	}
	PQclear(r);
	return ok;
}

/* The statistics the swap stepped aside (_<name>_osc_old) follow the
 * original into the work schema under the names the new table's have: the
 * swap back moves them out again as it does a shadow's. */
static bool statistics_back(Pg *pg, Sql *q, OscErr *e)
{
	PGresult *mine = NULL, *theirs = NULL;
	bool ok = false;
	if (!pg_carry_query_oids(pg,
	                         "SELECT n.nspname, x.stxname FROM pg_catalog.pg_statistic_ext x"
	                         "  JOIN pg_catalog.pg_namespace n ON n.oid = x.stxnamespace WHERE x.stxrelid = $1::oid",
	                         1, pg->oid, 0, &mine, e) ||
	    !pg_carry_query_oids(pg, "SELECT stxname FROM pg_catalog.pg_statistic_ext WHERE stxrelid = $1::oid", 1,
	                         pg->shadow_oid, 0, &theirs, e))
		goto out;
	for (int i = 0; i < PQntuples(mine); i++) {
		const char *schema = PQgetvalue(mine, i, 0), *name = PQgetvalue(mine, i, 1);
		for (int k = 0; k < PQntuples(theirs); k++) {
			char old[PG_NAMELEN + 1];
			pg_old_name(pg, old, sizeof(old), pg_value(theirs, k));
			if (strcmp(old, name) != 0)
				continue;
			sql_add(q, "ALTER STATISTICS %I.%I SET SCHEMA %I", schema, name, pg->work);
			if (!run(pg, q, e))
				goto out;
			sql_add(q, "ALTER STATISTICS %I.%I RENAME TO %I", pg->work, name, pg_value(theirs, k));
			if (!run(pg, q, e))
				goto out;
			break;
		}
	}
	ok = true;
out:
	PQclear(mine);
	PQclear(theirs);
	return ok;
}

bool pg_revert_keep(Pg *pg, OscErr *e)
{
	Sql q;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	if (!strip(pg, &q, e) || !statistics_back(pg, &q, e))
		goto out;
	sql_add(&q, "ALTER TABLE %I.%I SET SCHEMA %I", pg->schema, pg->old, pg->work);
	if (!run(pg, &q, e))
		goto out;
	sql_add(&q, "ALTER TABLE %I.%I RENAME TO %I", pg->work, pg->old, pg->kept);
	if (!run(pg, &q, e))
		goto out;
	for (int i = 0; i < pg->nindexes; i++) {
		sql_add(&q, "ALTER INDEX %I.%I RENAME TO %I", pg->work, pg->indexes[i].old_name, pg->indexes[i].name);
		if (!run(pg, &q, e))
			goto out;
	}
	for (int i = 0; i < pg->nseqs; i++) {
		char old[PG_NAMELEN + 1];
		if (!pg->seqs[i].identity)
			continue;
		pg_old_name(pg, old, sizeof(old), pg->seqs[i].old_name);
		sql_add(&q, "ALTER SEQUENCE %I.%I RENAME TO %I", pg->work, old, pg->seqs[i].old_name);
		if (!run(pg, &q, e))
			goto out;
	}
	ok = true;
out:
	sql_free(&q);
	return ok;
}

bool pg_revert_work_trim(Pg *pg, OscErr *e)
{
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "DROP TABLE IF EXISTS %I.%I, %I.heartbeat, %I.%I", pg->work, pg->log_table, pg->work, pg->work,
	        VALIDATE_TABLE);
	bool ok = pg_command(pg, "BEGIN", e) &&
	          pg_command(pg, "SELECT pg_catalog.set_config('lock_timeout', '10s', true)", e) && run(pg, &q, e);
	sql_add(&q, "DROP FUNCTION IF EXISTS %I.%I(), %I.%I()", pg->work, PG_CAPTURE_NAME, pg->work, PG_TRUNCATE_NAME);
	ok = ok && run(pg, &q, e) && pg_command(pg, "COMMIT", e);
	if (!ok)
		pg_rollback(pg);
	sql_free(&q);
	return ok;
}
