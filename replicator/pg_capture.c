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
 * The function is SECURITY DEFINER with a fixed search_path: the
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

#include "backoff.h"

#define CAPTURE_NAME "_osc_capture"

bool pg_capture_create(Pg *pg, OscErr *e)
{
	Sql q, body, keys_new, keys_old;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	sql_init(&body, &pg->dialect);
	sql_init(&keys_new, &pg->dialect);
	sql_init(&keys_old, &pg->dialect);

	sql_add(&q, "CREATE TABLE %I.%I (_osc_change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", pg->work,
	        pg->log);
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(&q, ", %I %s NOT NULL", pg->keys[k].name, pg->keys[k].type);
	/* consumed rows are dead rows: vacuum the log early and often */
	sql_add(&q, ") WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,"
	            " autovacuum_vacuum_cost_delay = 0)");
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;

	for (int k = 0; k < pg->nkeys; k++) {
		sql_add(&keys_new, "%sNEW.%I", k ? ", " : "", pg->keys[k].name);
		sql_add(&keys_old, "%sOLD.%I", k ? ", " : "", pg->keys[k].name);
	}
	Sql cols;
	sql_init(&cols, &pg->dialect);
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(&cols, "%s%I", k ? ", " : "", pg->keys[k].name);
	sql_add(&body,
	        "BEGIN\n"
	        "  IF TG_OP <> 'DELETE' THEN\n"
	        "    INSERT INTO %I.%I (%s) VALUES (%s);\n"
	        "  END IF;\n"
	        "  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (%s) IS DISTINCT FROM (%s)) THEN\n"
	        "    INSERT INTO %I.%I (%s) VALUES (%s);\n"
	        "  END IF;\n"
	        "  RETURN NULL;\n"
	        "END",
	        pg->work, pg->log, sql_text(&cols), sql_text(&keys_new), sql_text(&keys_old), sql_text(&keys_new),
	        pg->work, pg->log, sql_text(&cols), sql_text(&keys_old));
	if (cols.failed)
		body.failed = true;
	sql_free(&cols);
	if (body.failed || keys_new.failed || keys_old.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote the key columns");
		goto out;
	}
	sql_reset(&q);
	sql_add(&q,
	        "CREATE FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
	        " SET search_path = pg_catalog, pg_temp AS %L",
	        pg->work, CAPTURE_NAME, sql_text(&body));
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;
	ok = true;
out:
	sql_free(&q);
	sql_free(&body);
	sql_free(&keys_new);
	sql_free(&keys_old);
	return ok;
}

/* Runs one DDL statement on the original under the lock timeout, retried
 * with backoff while the lock is not granted. */
static bool ddl_with_retries(Pg *pg, const char *what, Sql *q, OscErr *e)
{
	unsigned seed = (unsigned)now_us();
	int tries = pg->osc->opt.cutover_retries;

	for (int attempt = 1;; attempt++) {
		if (pg_exec_sql(pg, q, NULL, e))
			return true;
		if (!pg_is_lock_timeout(e) || attempt >= tries)
			break;
		int64_t wait = backoff_ms(attempt, pg->osc->opt.lock_timeout_ms, 5000, &seed);
		log_msg(&pg->osc->log, LOG_INFO, "%s: lock not granted within %ldms (attempt %d/%d), retrying in %ldms",
		        what, (long)pg->osc->opt.lock_timeout_ms, attempt, tries, (long)wait);
		if (!osc_sleep_ms(pg->osc, wait)) {
			err_set(e, OSC_EXIT_FAILED, "%s: interrupted", what);
			return false;
		}
	}
	if (pg_is_lock_timeout(e)) {
		char msg[sizeof(e->msg)];
		snprintf(msg, sizeof(msg), "%s", e->msg);
		err_set(e, OSC_EXIT_FAILED, "%s: the lock on %s.%s was not granted in %d attempts of %ldms (%s)", what,
		        pg->schema, pg->table, tries, (long)pg->osc->opt.lock_timeout_ms, msg);
	}
	return false;
}

bool pg_capture_install(Pg *pg, OscErr *e)
{
	Sql q;
	bool ok;

	sql_init(&q, &pg->dialect);
	sql_add(&q,
	        "CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I.%I"
	        " FOR EACH ROW EXECUTE FUNCTION %I.%I()",
	        CAPTURE_NAME, pg->schema, pg->table, pg->work, CAPTURE_NAME);
	ok = ddl_with_retries(pg, "installing the capture trigger", &q, e);
	if (ok)
		pg->capture_on = true;
	sql_free(&q);
	return ok;
}

bool pg_capture_drop(Pg *pg, const char *schema, const char *table, OscErr *e)
{
	Sql q;
	bool ok;

	sql_init(&q, &pg->dialect);
	sql_add(&q, "DROP TRIGGER IF EXISTS %I ON %I.%I", CAPTURE_NAME, schema, table);
	ok = ddl_with_retries(pg, "dropping the capture trigger", &q, e);
	if (ok)
		pg->capture_on = false;
	sql_free(&q);
	return ok;
}

bool pg_capture_disarm(Pg *pg, OscErr *e)
{
	Sql q;
	bool ok = false;

	sql_init(&q, &pg->dialect);
	sql_add(&q,
	        "CREATE OR REPLACE FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
	        " SET search_path = pg_catalog, pg_temp AS %L",
	        pg->work, CAPTURE_NAME, "BEGIN RETURN NULL; END");
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;
	sql_reset(&q);
	sql_add(&q, "DROP TABLE IF EXISTS %I.%I, %I.%I, %I.heartbeat", pg->work, pg->shadow, pg->work, pg->log, pg->work);
	if (!pg_exec_sql(pg, &q, NULL, e))
		goto out;
	ok = true;
out:
	sql_free(&q);
	return ok;
}
