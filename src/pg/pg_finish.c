/*
 * pg_finish.c — the SQL of a PostgreSQL run's end, in the order
 * src/core/cleanup.c calls it: after the swap, the foreign keys it
 * re-created NOT VALID are validated and the work schema goes; before a
 * swap, the capture triggers and the work schema go, or, when the
 * triggers' lock is not granted, the triggers become no-ops; `osc cleanup`
 * removes only what a state row proves osc made (src/pg/pg_names.c).
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Called once the capture trigger is gone: nothing of the application
 * touches the work schema any more, so waiting longer for its locks (an
 * autovacuum worker on the log, a writer finishing its last insert into it)
 * stalls nobody; autovacuum yields to a wait longer than deadlock_timeout. */
bool pg_work_drop(Pg *pg, OscErr *e)
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
		sql_add(&q, "DROP SCHEMA %I CASCADE", pg_value(r, 0));
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
 * list is in the work schema: before it goes).  The state row's
 * fingerprint of the new table then drops the "NOT VALID" the swap
 * recorded, so a rerun of the same command still sees it done. */
bool pg_swap_settle(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	bool all_valid = false, ok = false;
	char *table = pg_qualified(pg, pg->schema, pg->table);

	if (!pg_carry_validate(pg, &all_valid, e))
		goto out;
	/* a revert's swap: the row's fingerprint stays the migration's result */
	if (!all_valid || pg->state_id == 0 || pg->reverse) {
		ok = true;
		goto out;
	}
	if (!pg_exec(pg, "SELECT $1::regclass::oid", 1, (const char *[]){ table }, &r, e))
		goto out;
	ok = pg_state_fingerprint_new(pg, (unsigned)strtoul(pg_value(r, 0), NULL, 10), e);
out:
	PQclear(r);
	free(table);
	return ok;
}

/* The lock that kept the swap out (a long transaction on the table) keeps
 * the trigger's removal out too.  Make the trigger a no-op, which locks
 * nothing on the table, and drop the shadow and the log; the empty trigger
 * and its schema wait for `osc cleanup`. */
bool pg_capture_leave(Pg *pg, OscErr *e)
{
	if (!pg_is_lock_timeout(e) && strstr(e->msg, "not granted") == NULL)
		return false;
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

void pg_old_table(Pg *pg, OldTable *out)
{
	memset(out, 0, sizeof(*out));
	if (pg->revertible && !pg->reverse) {
		snprintf(out->name, sizeof(out->name), "%s.%s", pg->work, pg->kept);
		out->keep = "the migration is revertible (`osc finish --drop-old-table` drops it)";
		return;
	}
	snprintf(out->name, sizeof(out->name), "%s.%s", pg->schema, pg->old);
}

bool pg_old_drop(Pg *pg, OscErr *e)
{
	Sql q;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "DROP TABLE %I.%I", pg->schema, pg->old);
	bool ok = pg_exec_sql(pg, &q, NULL, e);
	sql_free(&q);
	return ok;
}

/* `osc cleanup`: the work schema and the capture triggers a state row
 * proves osc's, by OID; a user's schema or trigger under osc's names is
 * named and left alone.  The triggers and the schema to drop become this
 * run's (capture_remove and pg_work_drop drop what they hold). */
bool pg_leftovers_find(Pg *pg, Leftovers *lo, OscErr *e)
{
	PgOwned own;
	memset(lo, 0, sizeof(*lo));
	lo->none = "nothing of osc's to clean up for";
	if (!pg_owned_find(pg, &own, e))
		return false;
	size_t n = 0;
	if (own.schema_foreign)
		n += (size_t)snprintf(lo->foreign, sizeof(lo->foreign), "schema %s (no osc run recorded it)", pg->work);
	if (own.foreign_trigger[0] && n < sizeof(lo->foreign))
		snprintf(lo->foreign + n, sizeof(lo->foreign) - n, "%strigger %s on %s.%s (no osc run recorded it)",
		         n ? ", " : "", own.foreign_trigger, pg->schema, pg->table);
	memcpy(pg->trigger_oids, own.triggers, sizeof(own.triggers));
	pg->ntriggers = own.ntriggers;
	pg->work_oid = own.schema_oid;
	lo->capture = own.ntriggers > 0;
	lo->shadow = own.schema_oid != 0;
	return true;
}

bool pg_leftovers_drop(Pg *pg, const Leftovers *lo, char *done, size_t donesz, OscErr *e)
{
	done[0] = '\0';
	if (!lo->shadow)
		return true;
	if (!pg_work_drop(pg, e))
		return false;
	snprintf(done, donesz, "the work schema (shadow, log)");
	return true;
}
