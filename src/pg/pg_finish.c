/*
 * pg_finish.c — how a PostgreSQL run ends: after the swap, the work schema
 * goes and the foreign keys re-created NOT VALID are validated (finish);
 * before a swap, everything osc made goes and the original stays (abort);
 * `osc cleanup` removes what an abandoned run left, and only what a state
 * row proves osc made.  The core decides when (src/core/migrate.c).
 */
#include "pg.h"
#include "pg_target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The phases that still take the run find the engine's state in it. */
static Pg *run_pg(Osc *o)
{
	Pg *pg = o->db;
	if (pg)
		pg->osc = o;
	return pg;
}

/* Called once the capture trigger is gone: nothing of the application
 * touches the work schema any more, so waiting longer for its locks (an
 * autovacuum worker on the log, a writer finishing its last insert into it)
 * stalls nobody; autovacuum yields to a wait longer than deadlock_timeout. */
static bool drop_work_schema(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok;
	char oid[16];

	/* only the schema this run made, or a state row proves osc's, by OID */
	if (pg->work_oid == 0)
		return true;
	snprintf(oid, sizeof(oid), "%u", pg->work_oid);
	const char *p[1] = { oid };
	sql_init(&q, &pg->dialect);
	ok = pg_command(pg, "BEGIN", e) &&
	     pg_command(pg, "SELECT pg_catalog.set_config('lock_timeout', '10s', true)", e) &&
	     pg_exec(pg, "SELECT nspname FROM pg_catalog.pg_namespace WHERE oid = $1::oid", 1, p, &r, e);
	if (ok && PQntuples(r) == 1) {
		sql_add(&q, "DROP SCHEMA %I CASCADE", PQgetvalue(r, 0, 0));
		ok = pg_exec_sql(pg, &q, NULL, e);
	}
	ok = ok && pg_command(pg, "COMMIT", e);
	if (!ok)
		pg_rollback(pg);
	else
		pg->work_oid = 0;
	PQclear(r);
	sql_free(&q);
	return ok;
}

/* The foreign keys the swap re-created NOT VALID are validated now (their
 * list is in the work schema, so do this before dropping it).  The state
 * row's fingerprint of the new table then drops the "NOT VALID" the swap
 * recorded, so a rerun of the same command still sees it done. */
static bool validate_foreign_keys(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool all_valid = false, ok = false;
	char *table = pg_qualified(pg, pg->schema, pg->table);

	if (!pg_carry_validate(pg, &all_valid, e))
		goto out;
	if (!all_valid || pg->state_id == 0) {
		ok = true;
		goto out;
	}
	if (!pg_exec(pg, "SELECT $1::regclass::oid", 1, (const char *[]){ table }, &r, e))
		goto out;
	ok = pg_state_fingerprint_new(pg, (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10), e);
out:
	PQclear(r);
	free(table);
	return ok;
}

bool pg_finish(Osc *o, OscErr *e)
{
	Pg *pg = run_pg(o);
	if (!pg_reconnect(pg, e) || !validate_foreign_keys(pg, e) || !drop_work_schema(pg, e))
		return false;
	if (pg->env->drop_old_table) {
		Sql q;
		OscErr e2;
		err_clear(&e2);
		sql_init(&q, &pg->dialect);
		sql_add(&q, "DROP TABLE %I.%I", pg->schema, pg->old);
		if (!pg_exec_sql(pg, &q, NULL, &e2))
			log_msg(&o->log, LOG_WARN, "the old table %s.%s was kept: %s", pg->schema, pg->old, e2.msg);
		else
			log_msg(&o->log, LOG_INFO, "dropped the old table %s.%s", pg->schema, pg->old);
		sql_free(&q);
	} else {
		log_msg(&o->log, LOG_INFO, "the original is kept as %s.%s (drop it when you are sure)", pg->schema,
		        pg->old);
	}
	return true;
}

bool pg_abort(Osc *o, OscErr *e)
{
	Pg *pg = run_pg(o);
	if (pg == NULL || pg->schema == NULL)
		return true;
	if (!pg_reconnect(pg, e))
		return false;
	pg_rollback(pg);
	if (pg_capture_drop(pg, e))
		return drop_work_schema(pg, e);
	if (!pg_is_lock_timeout(e) && strstr(e->msg, "not granted") == NULL)
		return false;
	/* The lock that kept the swap out (a long transaction on the table)
	 * keeps the trigger's removal out too.  Make the trigger a no-op, which
	 * locks nothing on the table, and drop the shadow and the log; the
	 * empty trigger and its schema wait for `osc cleanup`. */
	OscErr e2;
	err_clear(&e2);
	if (!pg_capture_disarm(pg, &e2)) {
		log_error(pg->log, &e2);
		return false;
	}
	err_set(e, OSC_EXIT_FAILED,
	        "the capture trigger could not be removed (the lock on %s.%s was not granted); it now does "
	        "nothing and the shadow and log are gone; run `osc cleanup --table %s` when the table is quieter",
	        pg->schema, pg->table, pg->env->table_arg);
	return false;
}

bool pg_cleanup(Osc *o, OscErr *e)
{
	Pg *pg = run_pg(o);
	PgOwned own;

	/* a standby first: it cannot be written, and its copy of the table
	 * follows the primary's cleanup */
	if (!pg_target_primary(pg, e) || !pg_find_table(pg, &o->target, e) || !pg_lock_table(pg, e))
		return false;
	bool state = false;
	if (!pg_state_exists(pg, &state, e))
		return false;
	if (state) {
		const char *ps[2] = { pg->schema, pg->table };
		if (!pg_exec(pg,
		             "UPDATE osc.migrations SET outcome = 'aborted', finished_at = now(), updated_at = now(),"
		             " message = 'removed by osc cleanup'"
		             " WHERE schema_name = $1 AND table_name = $2 AND outcome IN ('running', 'stopped')",
		             2, ps, NULL, e))
			return false;
	}
	/* only what a state row proves osc made, by OID: a user's schema or
	 * trigger under osc's names is left alone */
	if (!pg_owned_find(pg, &own, e))
		return false;
	if (own.schema_foreign)
		log_msg(&o->log, LOG_WARN, "schema %s was not created by osc (no osc run recorded it): left alone", pg->work);
	if (own.foreign_trigger[0])
		log_msg(&o->log, LOG_WARN, "trigger %s on %s.%s was not created by osc (no osc run recorded it): left alone",
		        own.foreign_trigger, pg->schema, pg->table);
	bool schema = own.schema_oid != 0, trigger = own.ntriggers > 0;
	if (!schema && !trigger) {
		log_msg(&o->log, LOG_INFO, "nothing of osc's to clean up for %s.%s", pg->schema, pg->table);
		return true;
	}
	memcpy(pg->trigger_oids, own.triggers, sizeof(own.triggers));
	pg->ntriggers = own.ntriggers;
	pg->work_oid = own.schema_oid;
	if ((trigger && !pg_capture_drop(pg, e)) || (schema && !drop_work_schema(pg, e)))
		return false;
	log_msg(&o->log, LOG_INFO, "removed %s%s%s; %s.%s is untouched", trigger ? "the capture triggers" : "",
	        trigger && schema ? " and " : "", schema ? "the work schema (shadow, log)" : "", pg->schema,
	        pg->table);
	return true;
}
