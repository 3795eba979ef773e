/*
 * pg_privs.c — every privilege a PostgreSQL run needs, checked in
 * preflight, so that a limited role is told up front what to GRANT instead
 * of failing mid-run with the database's raw message (after osc made its
 * work schema and trigger).
 *
 * What a run does, and what each step needs (a superuser passes every
 * check):
 *   the capture trigger, LOCK TABLE, the swap's renames, OWNER TO and the
 *   re-created grants, policies, comments   the table's owner's rights:
 *                                           ownership, or membership of the
 *                                           owning role (with INHERIT)
 *   the work schema _osc_..., the state schema osc   CREATE on the database
 *   the state table osc.migrations          USAGE, CREATE on schema osc and
 *                                           SELECT, INSERT, UPDATE on it,
 *                                           when another role made them
 *   SET SCHEMA into the table's schema, and OWNER TO the original owner
 *                                           USAGE, CREATE on that schema
 *                                           for the owner (a superuser's
 *                                           OWNER TO does not ask)
 *   views over the table (re-created), child tables' foreign keys
 *   (re-pointed), owned sequences, publications, extended statistics
 *                                           their owners' rights
 *   the table's own triggers, re-created    EXECUTE on their functions
 *   --strategy auto's trial on an empty temporary copy
 *                                           TEMPORARY on the database
 *   the replay_lag an in-place run waits on, --max-load active_sessions
 *                                           pg_read_all_stats (without it
 *                                           the server hides both: the run
 *                                           would not wait)
 * Row security is checked with the table (src/pg/pg_introspect.c).  Each
 * missing one becomes a GRANT statement in the error (src/pg/pg_target.c).
 */
#include "pg_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The main reading: one row, its columns in this order. */
enum {
	P_USER, P_OWNER, P_IS_OWNER, P_DB, P_DB_CREATE, P_DB_TEMP, P_OWNER_SCHEMA, P_OSC_SCHEMA, P_STATE_TABLE,
	P_READ_STATS, P_REPLICAS, P_WAL_LSN,
};

/* The missing privileges, each said once as the GRANT that gives it. */
void pg_grants_init(PgGrants *g, Pg *pg)
{
	sql_init(&g->text, &pg->dialect);
	g->n = 0;
}

void pg_grants_add(PgGrants *g, const Sql *stmt, const char *why)
{
	const char *s = sql_text(stmt);
	const char *have = sql_text(&g->text);
	size_t n = strlen(s);
	/* the same statement twice (two objects of one owner) is said once */
	for (const char *p = strstr(have, s); p; p = strstr(p + 1, s))
		if (p[n] == ';' && p >= have + 3 && strncmp(p - 3, "\n  ", 3) == 0)
			return;
	sql_add(&g->text, "\n  %s;  -- %s", s, why);
	g->n++;
}

void pg_grants_free(PgGrants *g)
{
	sql_free(&g->text);
}

static const char *main_sql =
    "SELECT current_user, pg_catalog.pg_get_userbyid(c.relowner),"
    "       pg_catalog.pg_has_role(c.relowner, 'USAGE'),"
    "       pg_catalog.current_database(),"
    "       pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'),"
    "       pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMPORARY'),"
    "       (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)"
    "         OR (pg_catalog.has_schema_privilege(c.relowner, c.relnamespace, 'USAGE')"
    "             AND pg_catalog.has_schema_privilege(c.relowner, c.relnamespace, 'CREATE')),"
    "       coalesce((SELECT pg_catalog.has_schema_privilege(s.oid, 'USAGE')"
    "                        AND pg_catalog.has_schema_privilege(s.oid, 'CREATE')"
    "                   FROM pg_catalog.pg_namespace s WHERE s.nspname = 'osc'), true),"
    "       coalesce((SELECT pg_catalog.has_table_privilege(t.oid, 'SELECT')"
    "                        AND pg_catalog.has_table_privilege(t.oid, 'INSERT')"
    "                        AND pg_catalog.has_table_privilege(t.oid, 'UPDATE')"
    "                   FROM pg_catalog.pg_class t JOIN pg_catalog.pg_namespace s ON s.oid = t.relnamespace"
    "                  WHERE s.nspname = 'osc' AND t.relname = 'migrations'), true),"
    "       pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'),"
    "       EXISTS (SELECT 1 FROM pg_catalog.pg_stat_replication),"
    "       pg_catalog.has_function_privilege('pg_catalog.pg_current_wal_lsn()', 'EXECUTE')"
    "  FROM pg_catalog.pg_class c WHERE c.oid = $1::oid";

/* Owners of what the swap carries, whose rights the role lacks. */
static const char *owners_sql =
    "SELECT DISTINCT pg_catalog.pg_get_userbyid(o.owner), o.what FROM ("
    "  SELECT v.relowner AS owner, 'owns a view over the table, which the swap re-creates' AS what"
    "    FROM " PG_VIEWS_OVER("$1::oid") " vo JOIN pg_catalog.pg_class v ON v.oid = vo.view_oid"
    "  UNION ALL"
    "  SELECT ch.relowner, 'owns a table whose foreign key references it, which the swap re-points'"
    "    FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class ch ON ch.oid = k.conrelid"
    "   WHERE k.contype = 'f' AND k.confrelid = $1::oid AND k.conrelid <> $1::oid"
    "  UNION ALL"
    "  SELECT p.pubowner, 'owns a publication of the table, which the new table joins'"
    "    FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid"
    "   WHERE pr.prrelid = $1::oid"
    "  UNION ALL"
    "  SELECT s.relowner, 'owns a sequence of the table, which the swap renames and re-attaches'"
    "    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class s ON s.oid = d.objid"
    "   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1::oid"
    "     AND s.relkind = 'S' AND d.deptype IN ('a', 'i')"
    "  UNION ALL"
    "  SELECT x.stxowner, 'owns extended statistics on the table, which the swap moves'"
    "    FROM pg_catalog.pg_statistic_ext x WHERE x.stxrelid = $1::oid"
    ") o WHERE NOT pg_catalog.pg_has_role(o.owner, 'USAGE') ORDER BY 1, 2";

/* The table's own triggers, whose functions the role cannot execute. */
static const char *trigger_fns_sql =
    "SELECT DISTINCT t.tgfoid::pg_catalog.regprocedure::text FROM pg_catalog.pg_trigger t"
    " WHERE t.tgrelid = $1::oid AND NOT t.tgisinternal AND t.tgname <> '_osc_capture'"
    "   AND NOT pg_catalog.has_function_privilege(t.tgfoid, 'EXECUTE') ORDER BY 1";

static bool yes(PGresult *r, int col)
{
	return PQgetvalue(r, 0, col)[0] == 't';
}

/* A --max-load or --critical-load metric named name. */
static bool uses_metric(const EngineEnv *opt, const char *name)
{
	const LoadList *lists[2] = { &opt->limits->max_load, &opt->limits->critical_load };
	for (int l = 0; l < 2; l++)
		for (int i = 0; i < lists[l]->n; i++)
			if (strcmp(lists[l]->item[i].name, name) == 0)
				return true;
	return false;
}

bool pg_privs_check(Pg *pg, PgGrants *g, OscErr *e)
{
	const EngineEnv *opt = pg->env;
	PGresult *r = NULL;
	Sql q;
	char oid[16], why[512], *user = NULL;
	bool ok = false;

	snprintf(oid, sizeof(oid), "%u", pg->oid);
	const char *p[1] = { oid };
	sql_init(&q, &pg->dialect);
	if (!pg_exec(pg, main_sql, 1, p, &r, e))
		goto out;
	if (PQntuples(r) != 1) {
		err_set(e, OSC_EXIT_FAILED, "internal: %s.%s vanished during preflight", pg->schema, pg->table);
		goto out;
	}
	user = pg_strdup(PQgetvalue(r, 0, P_USER));
	const char *owner = PQgetvalue(r, 0, P_OWNER), *db = PQgetvalue(r, 0, P_DB);
	if (!yes(r, P_IS_OWNER)) {
		sql_add(&q, "GRANT %I TO %I", owner, user);
		snprintf(why, sizeof(why),
		         "%s owns %s.%s: the capture trigger, the table lock and the swap's renames need its rights", owner,
		         pg->schema, pg->table);
		pg_grants_add(g, &q, why);
		sql_reset(&q);
	}
	if (!yes(r, P_DB_CREATE)) {
		sql_add(&q, "GRANT CREATE ON DATABASE %I TO %I", db, user);
		pg_grants_add(g, &q, "osc's work schema (shadow, change log, heartbeat) and its state schema osc");
		sql_reset(&q);
	}
	if (!yes(r, P_OWNER_SCHEMA)) {
		sql_add(&q, "GRANT USAGE, CREATE ON SCHEMA %I TO %I", pg->schema, owner);
		pg_grants_add(g, &q, "the new table moves into this schema at the swap, owned by the table's owner");
		sql_reset(&q);
	}
	if (!yes(r, P_OSC_SCHEMA)) {
		sql_add(&q, "GRANT USAGE, CREATE ON SCHEMA osc TO %I", user);
		pg_grants_add(g, &q, "osc's state table osc.migrations lives there (another role made the schema)");
		sql_reset(&q);
	}
	if (!yes(r, P_STATE_TABLE)) {
		sql_add(&q, "GRANT SELECT, INSERT, UPDATE ON osc.migrations TO %I", user);
		pg_grants_add(g, &q, "every run records its checkpoints and outcome there (another role made it)");
		sql_reset(&q);
	}
	if (opt->strategy == STRATEGY_AUTO && !yes(r, P_DB_TEMP)) {
		sql_add(&q, "GRANT TEMPORARY ON DATABASE %I TO %I", db, user);
		pg_grants_add(g, &q, "--strategy auto tries the ALTER on an empty temporary copy (or use --strategy copy)");
		sql_reset(&q);
	}
	if (!yes(r, P_READ_STATS) &&
	    ((opt->strategy == STRATEGY_AUTO && yes(r, P_REPLICAS)) || uses_metric(opt, "active_sessions"))) {
		sql_add(&q, "GRANT pg_read_all_stats TO %I", user);
		pg_grants_add(g, &q,
		              uses_metric(opt, "active_sessions")
		                  ? "--max-load/--critical-load active_sessions counts other roles' sessions, which the "
		                    "server hides otherwise"
		                  : "an in-place run waits on its replicas' replay_lag, which the server hides otherwise "
		                    "(or use --strategy copy)");
		sql_reset(&q);
	}
	if (uses_metric(opt, "wal_bytes_per_sec") && !yes(r, P_WAL_LSN)) {
		sql_add(&q, "GRANT EXECUTE ON FUNCTION pg_catalog.pg_current_wal_lsn() TO %I", user);
		pg_grants_add(g, &q, "--max-load/--critical-load wal_bytes_per_sec reads the WAL position");
		sql_reset(&q);
	}
	PQclear(r);
	r = NULL;

	if (!pg_exec(pg, owners_sql, 1, p, &r, e))
		goto out;
	enum { O_OWNER, O_WHAT };
	for (int i = 0; i < PQntuples(r); i++) {
		sql_add(&q, "GRANT %I TO %I", PQgetvalue(r, i, O_OWNER), user);
		snprintf(why, sizeof(why), "%s %s", PQgetvalue(r, i, O_OWNER), PQgetvalue(r, i, O_WHAT));
		pg_grants_add(g, &q, why);
		sql_reset(&q);
	}
	PQclear(r);
	r = NULL;
	if (!pg_exec(pg, trigger_fns_sql, 1, p, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		/* a regprocedure's text is the server's own quoted signature */
		sql_add(&q, "GRANT EXECUTE ON FUNCTION %s TO %I", pg_value(r, i), user);
		pg_grants_add(g, &q, "a trigger of the table calls it; the swap creates that trigger on the new table");
		sql_reset(&q);
	}
	free(user);
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}
