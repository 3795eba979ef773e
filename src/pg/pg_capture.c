/*
 * pg_capture.c — change capture on PostgreSQL: a row trigger on the original
 * appends the key of every changed row to the log table.
 *
 * The trigger writes keys only, never row images: the replayer reads the
 * current row from the original, the source of truth, so the log's order
 * and duplicates do not matter and the application pays for one narrow
 * INSERT per changed row.  An UPDATE that changes the key logs both keys
 * (the old one must disappear from the shadow).
 *
 * A TRUNCATE fires no row trigger: a statement trigger logs a marker row
 * (_osc_truncate, no key), and the replayer empties the shadow when it
 * consumes it (src/pg/pg_replay.c says why that is exact).
 *
 * Both triggers are ENABLE ALWAYS: a logical replication subscriber's apply
 * worker (and pg_restore --disable-triggers, and loaders that set it) write
 * with session_replication_role = replica, for which an ordinary trigger
 * does not fire.  Their OIDs go into the state row in the transaction that
 * creates them: osc later drops only triggers it can prove it made.
 *
 * The functions are SECURITY DEFINER with a fixed search_path: the
 * application's role needs no rights on osc's work schema, and no object
 * of its search_path can stand in for osc's log.
 *
 * Installing the trigger takes a SHARE ROW EXCLUSIVE lock on the original,
 * which waits for open write transactions while writers queue behind it;
 * so it is tried under the short --lock-timeout and retried with backoff,
 * and the application stalls at most one lock timeout per attempt.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>



/* The log and the two trigger functions (src/pg/pg_sql.c builds them). */
bool pg_capture_make(Pg *pg, const char *log, const char *fn, const char *fn_truncate, bool reverse, OscErr *e)
{
	Sql q, body;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	sql_init(&body, &pg->dialect);
	pg_sql_capture_log(pg, &q, log, reverse);
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;
	pg_sql_capture_body(pg, &body, log, reverse);
	if (body.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the key columns");
		goto out;
	}
	sql_reset(&q);
	pg_sql_capture_function(pg, &q, fn, sql_text(&body), reverse);
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;
	sql_reset(&q);
	sql_reset(&body);
	sql_add(&body, "BEGIN\n  INSERT INTO %I.%I (_osc_truncate) VALUES (true);\n  RETURN NULL;\nEND", pg->work, log);
	pg_sql_capture_function(pg, &q, fn_truncate, sql_text(&body), reverse);
	if (body.failed || !pg_exec_sql(pg, &q, NULL, e))
		goto out;
	ok = true;
out:
	sql_free(&q);
	sql_free(&body);
	return ok;
}

bool pg_capture_create(Pg *pg, OscErr *e)
{
	return pg_capture_make(pg, pg->log_table, PG_CAPTURE_NAME, PG_TRUNCATE_NAME, false, e);
}

/* Notes the OIDs of osc's triggers on the original in the state row, in the
 * transaction that created them. */
static bool record_triggers(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	char oid[16], id[32];
	snprintf(oid, sizeof(oid), "%u", pg->oid);
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	const char *p[2] = { oid, id };
	bool ok = pg_exec(pg,
	                  "SELECT oid FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid"
	                  "   AND tgname IN ('" PG_CAPTURE_NAME "', '" PG_TRUNCATE_NAME "') ORDER BY tgname",
	                  1, p, &r, e);
	if (!ok)
		return false;
	pg->ntriggers = 0;
	for (int i = 0; i < PQntuples(r) && i < 2; i++)
		pg->trigger_oids[pg->ntriggers++] = (unsigned)strtoul(pg_value(r, i), NULL, 10);
	PQclear(r);
	if (pg->state_id == 0)
		return true;
	return pg_exec(pg,
	               "UPDATE osc.migrations SET trigger_oids = ARRAY(SELECT oid FROM pg_catalog.pg_trigger"
	               "  WHERE tgrelid = $1::oid AND tgname IN ('" PG_CAPTURE_NAME "', '" PG_TRUNCATE_NAME "')),"
	               " updated_at = now() WHERE id = $2::bigint",
	               2, p, NULL, e);
}

/* Statements on the original, run in one transaction under the lock
 * timeout.  record: the triggers were created, their OIDs go into the
 * state row. */
typedef struct Ddl {
	Pg *pg;
	Sql *stmts;
	int n;
	bool record;
} Ddl;

static RetryResult ddl_attempt(void *ctx, char *note, size_t notesz, OscErr *e)
{
	Ddl *d = ctx;
	Pg *pg = d->pg;
	(void)note;
	(void)notesz;
	bool ok = pg_command(pg, "BEGIN", e);
	for (int i = 0; ok && i < d->n; i++)
		ok = pg_exec_sql(pg, &d->stmts[i], NULL, e);
	if (ok && d->record)
		ok = record_triggers(pg, e);
	if (ok && pg_command(pg, "COMMIT", e))
		return RETRY_DONE;
	pg_rollback(pg);
	return pg_is_lock_timeout(e) ? RETRY_AGAIN : RETRY_FAIL;
}

/* ... retried with backoff while the lock is not granted (src/core/retry.h) */
static bool ddl_with_retries(Pg *pg, const char *what, Sql *stmts, int n, bool record, OscErr *e)
{
	char object[600];
	snprintf(object, sizeof(object), "%s.%s", pg->schema, pg->table);
	LockStep step = { .what = what, .object = object, .cap_ms = 5000 };
	Ddl d = { .pg = pg, .stmts = stmts, .n = n, .record = record };
	return retry_lock(pg->env->retry, &step, ddl_attempt, &d, e);
}

bool pg_capture_install(Pg *pg, OscErr *e)
{
	Sql q[4];
	bool ok;

	for (int i = 0; i < 4; i++)
		sql_init(&q[i], &pg->dialect);
	pg_sql_capture_triggers(pg, q, pg->schema, pg->table, PG_CAPTURE_NAME, PG_TRUNCATE_NAME);
	ok = ddl_with_retries(pg, "capture installation", q, 4, true, e);
	if (ok)
		pg->capture_on = true;
	for (int i = 0; i < 4; i++)
		sql_free(&q[i]);
	return ok;
}

bool pg_capture_drop(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	Sql q[2];
	int n = 0;
	bool ok = false;

	for (int i = 0; i < 2; i++)
		sql_init(&q[i], &pg->dialect);
	/* by OID: the triggers this run made (or proved its own), wherever the
	 * table is now called */
	for (int i = 0; i < pg->ntriggers; i++) {
		char oid[16];
		snprintf(oid, sizeof(oid), "%u", pg->trigger_oids[i]);
		const char *p[1] = { oid };
		if (!pg_exec(pg,
		             "SELECT t.tgname, n.nspname, c.relname FROM pg_catalog.pg_trigger t"
		             "  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"
		             "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE t.oid = $1::oid",
		             1, p, &r, e))
			goto out;
		enum { T_NAME, T_SCHEMA, T_TABLE };
		if (PQntuples(r) == 1)
			sql_add(&q[n++], "DROP TRIGGER %I ON %I.%I", PQgetvalue(r, 0, T_NAME), PQgetvalue(r, 0, T_SCHEMA),
			        PQgetvalue(r, 0, T_TABLE));
		PQclear(r);
		r = NULL;
	}
	ok = n == 0 || ddl_with_retries(pg, "capture removal", q, n, false, e);
	if (ok) {
		pg->capture_on = false;
		pg->ntriggers = 0;
	}
out:
	PQclear(r);
	for (int i = 0; i < 2; i++)
		sql_free(&q[i]);
	return ok;
}

bool pg_capture_disarm(Pg *pg, OscErr *e)
{
	Sql q;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	for (int i = 0; i < 2; i++) {
		sql_reset(&q);
		sql_add(&q,
		        "CREATE OR REPLACE FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
		        " SET search_path = pg_catalog, pg_temp AS %L",
		        pg->work, i ? PG_TRUNCATE_NAME : PG_CAPTURE_NAME, "BEGIN RETURN NULL; END");
		if (!pg_exec_sql(pg, &q, NULL, e))
			goto out;
	}
	sql_reset(&q);
	sql_add(&q, "DROP TABLE IF EXISTS %I.%I, %I.%I, %I.heartbeat", pg->work, pg->shadow, pg->work, pg->log_table, pg->work);
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;
	ok = true;
out:
	sql_free(&q);
	return ok;
}
