/*
 * pg_revert.c — `osc revert` and `osc finish` on PostgreSQL
 * (docs/ARCHITECTURE.md "The revert"; the forward run's part is
 * src/pg/pg_revert_keep.c).
 *
 * A --revertible migration's state row says revert = 'revertible' and
 * records the reverse capture's trigger OIDs.  The original waits in the
 * work schema as `_<T>_osc_orig`, with its own index names, exactly as a
 * shadow does; so the revert turns this Pg around and the rest of the
 * engine runs unchanged: the original (pg->oid) is the table, the shadow
 * the kept original, the change log the reverse log, the column map the
 * inverse (a column of the old table is taken from the new table's column
 * at the same position of the column map, cast back with an explicit CAST
 * when the ALTER retyped it, so a value out of the old type's range raises
 * an error; a column the ALTER dropped is left out of the INSERT: its
 * default or NULL; a column the ALTER added is not read).  The swap moves
 * the new-schema table aside under the old-table suffix and the kept
 * original into the name, carrying views, foreign keys, grants, policies,
 * triggers and sequences back, and records phase 'reverted' in its
 * transaction.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_carry.h"
#include "xalloc.h"

/* The latest row of the table whose revert column is one of states. */
enum { R_ID, R_ALTER, R_PHASE, R_WORK_OID, R_FP_NEW, R_SUFFIX, R_TRIGGERS, R_NCOLS };

static bool find_row(Pg *pg, PGresult **r, bool *found, OscErr *e)
{
	PGresult *c = NULL;
	*r = NULL;
	*found = false;
	/* an older osc's state table has no revert column: nothing is revertible */
	if (!pg_exec(pg,
	             "SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass('osc.migrations')"
	             "   AND attname = 'revert' AND NOT attisdropped",
	             0, NULL, &c, e))
		return false;
	bool has = strcmp(pg_value(c, 0), "1") == 0;
	PQclear(c);
	if (!has)
		return true;
	const char *p[2] = { pg->schema, pg->table };
	if (!pg_exec(pg,
	             "SELECT id, alter_spec, phase, work_schema_oid, fingerprint_new, old_suffix,"
	             "       array_to_string(revert_trigger_oids, ',')"
	             "  FROM osc.migrations WHERE schema_name = $1 AND table_name = $2"
	             "   AND revert IN ('revertible', 'reverting') ORDER BY id DESC LIMIT 1",
	             2, p, r, e))
		return false;
	*found = PQntuples(*r) == 1;
	return true;
}

bool pg_revert_refuse_new(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool found;
	if (!find_row(pg, &r, &found, e))
		return false;
	if (found)
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s has a revertible migration (`%s`): `osc revert --table %s` or `osc finish --table %s` first",
		        pg->schema, pg->table, PQgetvalue(r, 0, R_ALTER), pg->env->table_arg, pg->env->table_arg);
	PQclear(r);
	return !found;
}

bool pg_is_data_error(const OscErr *e)
{
	return strncmp(e->sqlstate, "22", 2) == 0 || strcmp(e->sqlstate, "23502") == 0 ||
	       strcmp(e->sqlstate, "23514") == 0;
}

/* The reverse capture's triggers, by the OIDs the row recorded. */
static void triggers_from(Pg *pg, const char *list)
{
	pg->ntriggers = 0;
	for (const char *s = list; *s && pg->ntriggers < 2;) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s)
			break;
		pg->trigger_oids[pg->ntriggers++] = (unsigned)v;
		s = *end == ',' ? end + 1 : end;
	}
}

/* Both reverse triggers still on the table, enabled always. */
static bool capture_whole(Pg *pg, bool *whole, OscErr *e)
{
	PGresult *r = NULL;
	char t[16], a[16], b[16];
	snprintf(t, sizeof(t), "%u", pg->oid);
	snprintf(a, sizeof(a), "%u", pg->ntriggers > 0 ? pg->trigger_oids[0] : 0);
	snprintf(b, sizeof(b), "%u", pg->ntriggers > 1 ? pg->trigger_oids[1] : 0);
	const char *p[3] = { t, a, b };
	if (!pg_exec(pg,
	             "SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid AND oid IN ($2::oid, $3::oid)"
	             "   AND tgenabled = 'A'",
	             3, p, &r, e))
		return false;
	*whole = strcmp(pg_value(r, 0), "2") == 0;
	PQclear(r);
	return true;
}

/* The relation's OID in the work schema, 0 when it is not there. */
static bool work_relation(Pg *pg, const char *name, unsigned *oid, OscErr *e)
{
	PGresult *r = NULL;
	char *q = pg_qualified(pg, pg->work, name);
	const char *p[1] = { q };
	bool ok = pg_exec(pg, "SELECT coalesce(pg_catalog.to_regclass($1)::oid, 0)", 1, p, &r, e);
	if (ok)
		*oid = (unsigned)strtoul(pg_value(r, 0), NULL, 10);
	PQclear(r);
	free(q);
	return ok;
}

/* The inverse column map: each column of the kept original from the new
 * table's column at its position in the forward map ($1 the original, $2
 * the new table: pg_colmap_cte), and the key's names there. */
static bool inverse_map(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q, expr;
	bool ok = false;
	char o[16], n[16];
	snprintf(o, sizeof(o), "%u", pg->shadow_oid);
	snprintf(n, sizeof(n), "%u", pg->oid);
	const char *p[2] = { o, n };

	sql_init(&q, &pg->dialect);
	sql_init(&expr, &pg->dialect);
	sql_add(&q, "%s SELECT m.old_name, m.new_name, m.retyped, pg_catalog.format_type(a.atttypid, a.atttypmod),"
	            "       a.attgenerated <> '', a.attidentity"
	            "  FROM colmap m JOIN pg_catalog.pg_attribute a ON a.attrelid = $1::oid AND a.attnum = m.old_attnum"
	            " ORDER BY m.old_attnum",
	        pg_colmap_cte);
	if (!pg_exec(pg, sql_text(&q), 2, p, &r, e))
		goto out;
	enum { C_OLD, C_NEW, C_RETYPED, C_TYPE, C_GENERATED, C_IDENTITY };
	pg->cols = xcalloc((size_t)PQntuples(r) + 1, sizeof(PgCol));
	pg->ncols = 0;
	pg->overriding = false;
	for (int i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, C_NEW) || PQgetvalue(r, i, C_GENERATED)[0] == 't')
			continue; /* dropped by the ALTER (its default), or computed by the table */
		const char *old = PQgetvalue(r, i, C_OLD), *new = PQgetvalue(r, i, C_NEW);
		sql_reset(&expr);
		if (PQgetvalue(r, i, C_RETYPED)[0] == 't')
			sql_add(&expr, "CAST(src.%I AS %s)", new, PQgetvalue(r, i, C_TYPE));
		else
			sql_add(&expr, "src.%I", new);
		PgCol *c = &pg->cols[pg->ncols++];
		c->name = pg_strdup(old);
		c->expr = pg_strdup(sql_text(&expr));
		if (PQgetvalue(r, i, C_IDENTITY)[0] == 'a')
			pg->overriding = true;
		for (int k = 0; k < pg->nkeys; k++)
			if (strcmp(pg->keys[k].name, new) == 0 && pg->keys[k].shadow_name == NULL)
				pg->keys[k].shadow_name = pg_strdup(old);
	}
	for (int k = 0; k < pg->nkeys; k++)
		if (pg->keys[k].shadow_name == NULL) {
			err_set(e, OSC_EXIT_INPUT,
			        "the key column %s of %s.%s is not a column of the original %s.%s: osc cannot revert by it",
			        pg->keys[k].name, pg->schema, pg->table, pg->work, pg->kept);
			goto out;
		}
	ok = !q.failed && !expr.failed;
out:
	PQclear(r);
	sql_free(&q);
	sql_free(&expr);
	return ok;
}

/* The run turned around (see the banner). */
static bool turn_around(Pg *pg, unsigned kept_oid, OscErr *e)
{
	snprintf(pg->shadow, sizeof(pg->shadow), "%s", pg->kept);
	snprintf(pg->log_table, sizeof(pg->log_table), "%s", pg->rlog);
	pg->shadow_oid = kept_oid;
	pg->copy_done = true;
	pg->capture_on = true;
	pg->old_fixed = false;
	pg->old_suffix[0] = '\0';
	names_old_suffix(pg->old_suffix, sizeof(pg->old_suffix), 1);
	pg_old_set(pg, pg->old_suffix);
	/* the names the swap needs, a free suffix for the new-schema table, the
	 * sequences, and the table's definition watched from here on */
	return inverse_map(pg, e) && pg_read_sequences(pg, e) && pg_names_check(pg, e) &&
	       pg_ddl_baseline(pg, false, NULL, 0, e);
}

/* Is the table as the migration left it, the original and the reverse
 * capture still there?  kept_oid: the original's OID. */
static bool revertible_now(Pg *pg, PGresult *row, unsigned *kept_oid, OscErr *e)
{
	char fp[64];
	bool whole;
	unsigned rlog;
	if (!work_relation(pg, pg->kept, kept_oid, e) || !work_relation(pg, pg->rlog, &rlog, e))
		return false;
	if (*kept_oid == 0 || rlog == 0) {
		err_set(e, OSC_EXIT_INPUT, "the %s %s.%s is gone: %s.%s cannot be reverted; `osc finish --table %s` ends it",
		        *kept_oid == 0 ? "original" : "reverse log", pg->work, *kept_oid == 0 ? pg->kept : pg->rlog,
		        pg->schema, pg->table, pg->env->table_arg);
		return false;
	}
	if (!pg_fingerprint(pg, pg->oid, fp, sizeof(fp), false, e))
		return false;
	if (strcmp(fp, PQgetvalue(row, 0, R_FP_NEW)) != 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s changed since the swap (its definition is not the one `%s` made): a revert would lose that "
		        "change; undo it first, or `osc finish --table %s`",
		        pg->schema, pg->table, PQgetvalue(row, 0, R_ALTER), pg->env->table_arg);
		return false;
	}
	if (!capture_whole(pg, &whole, e))
		return false;
	if (!whole) {
		err_set(e, OSC_EXIT_INPUT,
		        "osc's reverse capture on %s.%s is gone or disabled: writes since may be missing from the original; "
		        "`osc finish --table %s` ends the revertible migration",
		        pg->schema, pg->table, pg->env->table_arg);
		return false;
	}
	return true;
}

static bool backlog(Pg *pg, int64_t *n, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "SELECT count(*) FROM %I.%I", pg->work, pg->rlog);
	bool ok = pg_exec_sql(pg, &q, &r, e);
	if (ok)
		*n = strtoll(pg_value(r, 0), NULL, 10);
	PQclear(r);
	sql_free(&q);
	return ok;
}

bool pg_revert_attach(Pg *pg, bool finish, RevertInfo *ri, OscErr *e)
{
	PGresult *r = NULL;
	bool found, ok = false;
	unsigned kept_oid = 0;

	if (!find_row(pg, &r, &found, e))
		goto out;
	if (!found) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s has no revertible migration (a run with --revertible keeps one until `osc finish`; `osc "
		        "history --table %s` lists its migrations)",
		        pg->schema, pg->table, pg->env->table_arg);
		goto out;
	}
	pg->state_id = strtoll(PQgetvalue(r, 0, R_ID), NULL, 10);
	pg->work_oid = (unsigned)strtoul(PQgetvalue(r, 0, R_WORK_OID), NULL, 10);
	ri->alter = pg_strdup(PQgetvalue(r, 0, R_ALTER));
	triggers_from(pg, PQgetvalue(r, 0, R_TRIGGERS));
	pg->reverse = true;
	if (strcmp(PQgetvalue(r, 0, R_PHASE), "reverted") == 0) {
		/* the revert's swap committed: the table is the original again,
		 * the new-schema table went aside under the recorded suffix */
		ri->swapped = true;
		pg->old_fixed = true;
		pg_old_set(pg, PQgetvalue(r, 0, R_SUFFIX));
		snprintf(ri->old, sizeof(ri->old), "%s.%s", pg->schema, pg->old);
		ok = true;
		goto out;
	}
	snprintf(ri->old, sizeof(ri->old), "%s.%s", pg->work, pg->kept);
	if (finish) {
		/* whatever is left of it goes */
		ok = true;
		goto out;
	}
	ok = revertible_now(pg, r, &kept_oid, e) && backlog(pg, &ri->backlog, e) && turn_around(pg, kept_oid, e);
out:
	PQclear(r);
	return ok;
}

bool pg_revert_record(Pg *pg, const char *phase, const char *outcome, const char *message, OscErr *e)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	const char *p[4] = { id, phase, outcome, message };
	/* the forward row keeps its outcome and counters; a revert that did not
	 * swap leaves it as it was, revertible */
	return pg_exec(pg,
	               "UPDATE osc.migrations SET"
	               " phase = CASE WHEN $3 IN ('failed', 'stopped') AND phase <> 'reverted' THEN 'done'"
	               "              ELSE coalesce($2, phase) END,"
	               " message = coalesce($4, message), updated_at = now(),"
	               " revert = CASE WHEN phase = 'reverted' AND $3 IS DISTINCT FROM 'reverted' THEN revert"
	               "               WHEN $3 = 'running' THEN 'reverting' WHEN $3 IN ('reverted', 'finished') THEN $3"
	               "               ELSE 'revertible' END"
	               " WHERE id = $1::bigint",
	               4, p, NULL, e);
}

/* `osc finish` without --drop-old-table: the original leaves the work
 * schema as _T_osc_old (or the next free suffix), where a run without
 * --revertible leaves it, its indexes and sequences stepping aside. */
static bool kept_out(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	unsigned kept;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	if (!work_relation(pg, pg->kept, &kept, e))
		goto out;
	if (kept == 0) {
		ok = true; /* a finish killed after this step, or it is gone */
		goto out;
	}
	pg->old_fixed = false;
	if (!pg_old_choose(pg, e) ||
	    !pg_carry_query_oids(pg,
	                         "SELECT c.relname, c.relkind = 'S' FROM pg_catalog.pg_class c"
	                         " WHERE c.oid IN (SELECT indexrelid FROM pg_catalog.pg_index WHERE indrelid = $1::oid)"
	                         "    OR c.relkind = 'S' AND c.oid IN (SELECT objid FROM pg_catalog.pg_depend"
	                         "                  WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	                         "                    AND refobjid = $1::oid AND deptype IN ('a', 'i'))",
	                         1, kept, 0, &r, e) ||
	    !pg_command(pg, "BEGIN", e))
		goto out;
	bool fine = true;
	for (int i = 0; fine && i < PQntuples(r); i++) {
		char old[PG_NAMELEN + 1];
		pg_old_name(pg, old, sizeof(old), PQgetvalue(r, i, 0));
		sql_reset(&q);
		sql_add(&q, "ALTER %s %I.%I RENAME TO %I", PQgetvalue(r, i, 1)[0] == 't' ? "SEQUENCE" : "INDEX", pg->work,
		        PQgetvalue(r, i, 0), old);
		fine = pg_exec_sql(pg, &q, NULL, e);
	}
	sql_reset(&q);
	sql_add(&q, "ALTER TABLE %I.%I RENAME TO %I", pg->work, pg->kept, pg->old);
	fine = fine && pg_exec_sql(pg, &q, NULL, e);
	sql_reset(&q);
	sql_add(&q, "ALTER TABLE %I.%I SET SCHEMA %I", pg->work, pg->old, pg->schema);
	ok = fine && pg_exec_sql(pg, &q, NULL, e);
	if (ok && pg->state_id) {
		char id[32];
		snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
		const char *p[2] = { id, pg->old_suffix };
		ok = pg_exec(pg, "UPDATE osc.migrations SET old_suffix = $2 WHERE id = $1::bigint", 2, p, NULL, e);
	}
	ok = ok && pg_command(pg, "COMMIT", e);
	if (!ok)
		pg_rollback(pg);
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

bool pg_revert_finish(Pg *pg, bool drop_old, OscErr *e)
{
	/* the triggers first: while they are on, writes go to the log */
	if (!pg_capture_drop(pg, e) || (!drop_old && !kept_out(pg, e)) || !pg_work_drop(pg, e))
		return false;
	return pg_revert_record(pg, NULL, "finished",
	                        drop_old ? "finished by osc finish: the reverse capture and the original dropped"
	                                 : "finished by osc finish: the reverse capture dropped, the original kept",
	                        e);
}
