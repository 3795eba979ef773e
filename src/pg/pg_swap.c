/*
 * pg_swap.c — the swap on PostgreSQL: one transaction, one attempt.
 *
 *   SET LOCAL lock_timeout (short)
 *   lock the views and materialized views over the table, then the table
 *     (ACCESS EXCLUSIVE): a reader through a view holds the view and then
 *     waits for the table, so taking the table first and the views later
 *     would meet every such reader head-on, and 300 of them a second make
 *     every attempt time out; views first, they queue behind osc instead
 *   the original's definition, compared with the one the shadow was made
 *     from (src/pg/pg_ddlwatch.c): under this lock nobody can change it any more
 *   the core drains the log into the shadow (replicator/replay.c; the lock
 *     keeps new changes out), from a savepoint it can return to (a
 *     duplicate under the new keys sends everything pending through at
 *     once, src/pg/pg_replay.c)
 *   identity sequences: the new one continues above the old one and the max
 *   ALTER TABLE orig RENAME TO _orig_osc_old; its indexes and identity
 *     sequences step aside to _<name>_osc_old; its capture triggers go
 *   what the rename does not carry (src/pg/pg_carry.c) is read here,
 *     while the definitions still name the original; foreign keys dropped
 *   ALTER TABLE work.shadow SET SCHEMA <orig's schema>, then RENAME TO orig
 *     there: renamed in place, its array type gets a name that is free in
 *     that schema (a table `_orig`, whose row type is `_orig`, would
 *     collide with one named in the work schema and carried over)
 *   apply what was read: owner, grants, views, foreign keys NOT VALID, ...
 *   serial sequences: OWNED BY the new table (which needs the owner)
 *   a subscription's row for the table moves to the new one (src/pg/pg_subscription.c)
 *   --revertible: the reverse capture on the new table, the original kept
 *     in the work schema (src/pg/pg_revert_keep.c); `osc revert` runs this
 *     same swap with the roles turned around (src/pg/pg_revert.c)
 *   COMMIT; the foreign keys are validated later, in the cleanup
 * A lock timeout (or a deadlock) in any statement, not only the first LOCK,
 * rolls the attempt back for a retry: the relatives at the other end of a
 * foreign key are locked too, and a writer may hold one of them.
 * Writers wait at most the lock timeout for the lock, plus the drain once it
 * is held.  Statements queued behind the lock re-resolve the table's name
 * when they get it, and so land in the new table.  If the lock is not
 * granted in time, everything rolls back and cutover/cutover.c retries.
 * Every name this uses was checked free before the copy (src/pg/pg_names.c).
 */
#include "pg.h"

#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool set_local(Pg *pg, const char *name, int64_t ms, OscErr *e)
{
	Sql q;
	char v[32];
	bool ok;

	sql_init(&q, &pg->dialect);
	snprintf(v, sizeof(v), "%ldms", (long)ms);
	sql_add(&q, "SELECT pg_catalog.set_config(%L, %L, true)", name, v);
	ok = pg_exec_sql(pg, &q, NULL, e);
	sql_free(&q);
	return ok;
}

static bool run(Pg *pg, Sql *q, OscErr *e)
{
	bool ok = pg_exec_sql(pg, q, NULL, e);
	sql_reset(q);
	return ok;
}

/* An autovacuum worker on the original holds a lock the swap needs, and it
 * yields only to a wait longer than deadlock_timeout, which the short lock
 * timeout never reaches.  Cancelling it is harmless: it runs again later.
 * A vacuum against wraparound is left alone.  Needs pg_signal_backend or
 * superuser; without, the swap just retries. */
static void cancel_autovacuum(Pg *pg)
{
	PGresult *r = NULL;
	OscErr e;
	char o[16];
	snprintf(o, sizeof(o), "%u", pg->oid);
	const char *p[1] = { o };
	enum { A_PID, A_CANCELLED };
	err_clear(&e);
	if (pg_exec(pg,
	            "SELECT a.pid, pg_catalog.pg_cancel_backend(a.pid) FROM pg_catalog.pg_stat_activity a"
	            " WHERE a.backend_type = 'autovacuum worker' AND a.query NOT LIKE '%to prevent wraparound%'"
	            "   AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.pid = a.pid AND l.granted"
	            "                 AND l.relation = $1::oid)",
	            1, p, &r, &e))
		for (int i = 0; i < PQntuples(r); i++)
			log_msg(pg->log, LOG_INFO, "cancelled autovacuum (pid %s) on %s.%s: it held the lock the swap needs",
			        PQgetvalue(r, i, A_PID), pg->schema, pg->table);
	PQclear(r);
}

/* BEGIN, with the swap's short lock timeout and a bound on each statement. */
static bool swap_begin(Pg *pg, OscErr *e)
{
	return pg_command(pg, "BEGIN", e) && set_local(pg, "lock_timeout", pg->env->lock_timeout_ms, e) &&
	       set_local(pg, "statement_timeout", 5000, e);
}

/* The views over the table, then the table (see the banner); a lock not
 * granted is one more attempt, after autovacuum was asked to yield. */
static SwapResult lock_table(Pg *pg, OscErr *e)
{
	Sql q;
	fault_pause(pg->log, "swap-before-lock");
	if (!pg_carry_lock_views(pg, e))
		return pg_is_lock_timeout(e) ? SWAP_RETRY : SWAP_FAILED;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "LOCK TABLE ONLY %I.%I IN ACCESS EXCLUSIVE MODE", pg->schema, pg->table);
	bool ok = pg_exec_sql(pg, &q, NULL, e);
	sql_free(&q);
	if (ok)
		return SWAP_DONE;
	if (!pg_is_lock_timeout(e))
		return SWAP_FAILED;
	pg_rollback(pg);
	cancel_autovacuum(pg);
	return SWAP_RETRY;
}

/* Under the lock: the definition checked once more, then the core's drain
 * from a savepoint it can return to. */
static SwapResult drain_log(Pg *pg, const SwapDrain *drain, int64_t *drained, OscErr *e)
{
	if (!pg_ddl_check(pg, true, true, e) || !pg_command(pg, "SAVEPOINT osc_drain", e))
		return SWAP_FAILED;
	pg->main.in_swap = true;
	bool ok = drain->run(drain->ctx, drained, e);
	pg->main.in_swap = false;
	if (ok)
		return SWAP_DONE;
	return pg_is_lock_timeout(e) ? SWAP_RETRY : SWAP_FAILED;
}

/* The replay's own key index goes; identity: continue above both the old
 * sequence and the copied rows; serial: the shared sequence moves up only
 * if a row is above it (rows inserted with explicit values), never down. */
static bool sequences_continue(Pg *pg, Sql *q, OscErr *e)
{
	if (pg->tmp_key_index) {
		sql_add(q, "DROP INDEX %I.%I", pg->work, pg->tmp_key_index);
		if (!run(pg, q, e))
			return false;
	}
	char *shadow = pg_qualified(pg, pg->work, pg->shadow);
	bool ok = true;
	for (int i = 0; ok && i < pg->nseqs; i++) {
		PgSeq *s = &pg->seqs[i];
		if (s->identity)
			sql_add(q,
			        "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(%L, %L),"
			        " greatest((SELECT max(%I) FROM %s),"
			        "          (SELECT CASE WHEN is_called THEN last_value END FROM %s)), true)",
			        shadow, s->column, s->column, shadow, s->old_seq);
		else
			sql_add(q,
			        "SELECT pg_catalog.setval(%L, m.v) FROM (SELECT max(%I) AS v FROM %s) m, %s sq"
			        " WHERE m.v > CASE WHEN sq.is_called THEN sq.last_value ELSE sq.last_value - 1 END",
			        s->old_seq, s->column, shadow, s->old_seq);
		ok = run(pg, q, e);
	}
	free(shadow);
	return ok;
}

/* ALTER TABLE orig RENAME TO its old name; its indexes and identity
 * sequences step aside with the same suffix; its capture triggers go. */
static bool retire_original(Pg *pg, Sql *q, OscErr *e)
{
	sql_add(q, "ALTER TABLE %I.%I RENAME TO %I", pg->schema, pg->table, pg->old);
	if (!run(pg, q, e))
		return false;
	for (int i = 0; i < pg->nindexes; i++) {
		sql_add(q, "ALTER INDEX %I.%I RENAME TO %I", pg->schema, pg->indexes[i].name, pg->indexes[i].old_name);
		if (!run(pg, q, e))
			return false;
	}
	sql_add(q, "DROP TRIGGER %I ON %I.%I", PG_CAPTURE_NAME, pg->schema, pg->old);
	if (!run(pg, q, e))
		return false;
	sql_add(q, "DROP TRIGGER %I ON %I.%I", PG_TRUNCATE_NAME, pg->schema, pg->old);
	if (!run(pg, q, e))
		return false;
	for (int i = 0; i < pg->nseqs; i++) {
		PgSeq *s = &pg->seqs[i];
		if (!s->identity)
			continue;
		char old[PG_NAMELEN + 1];
		pg_old_name(pg, old, sizeof(old), s->old_name);
		sql_add(q, "ALTER SEQUENCE %s RENAME TO %I", s->old_seq, old);
		if (!run(pg, q, e))
			return false;
	}
	return true;
}

/* ALTER TABLE work.shadow SET SCHEMA, then RENAME TO orig there (see the
 * banner); autovacuum may look after it now (the original's own
 * reloptions follow with the carried properties, and the owner, which
 * the sequences' OWNED BY needs). */
static bool shadow_in(Pg *pg, Sql *q, PgCarry *carry, OscErr *e)
{
	sql_add(q, "ALTER TABLE %I.%I SET SCHEMA %I", pg->work, pg->shadow, pg->schema);
	if (!run(pg, q, e))
		return false;
	sql_add(q, "ALTER TABLE %I.%I RENAME TO %I", pg->schema, pg->shadow, pg->table);
	if (!run(pg, q, e))
		return false;
	sql_add(q, "ALTER TABLE %I.%I RESET (autovacuum_enabled, toast.autovacuum_enabled)", pg->schema, pg->table);
	return run(pg, q, e) && pg_carry_apply(pg, carry, e);
}

/* The shadow's own identity sequence takes the original's name; a serial
 * sequence is OWNED BY the new table. */
static bool sequences_attach(Pg *pg, Sql *q, OscErr *e)
{
	PGresult *r = NULL;
	enum { S_SCHEMA, S_NAME };
	char *table = pg_qualified(pg, pg->schema, pg->table);
	bool ok = true;
	for (int i = 0; ok && i < pg->nseqs; i++) {
		PgSeq *s = &pg->seqs[i];
		if (!s->identity) {
			sql_add(q, "ALTER SEQUENCE %s OWNED BY %s.%I", s->old_seq, table, s->column);
			ok = run(pg, q, e);
			continue;
		}
		const char *p[2] = { table, s->column };
		ok = pg_exec(pg,
		             "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
		             "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		             " WHERE c.oid = pg_catalog.pg_get_serial_sequence($1, $2)::regclass",
		             2, p, &r, e);
		/* a revert's kept original brings its own back under that name */
		if (ok && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, S_NAME), s->old_name) != 0) {
			sql_add(q, "ALTER SEQUENCE %I.%I RENAME TO %I", PQgetvalue(r, 0, S_SCHEMA), PQgetvalue(r, 0, S_NAME),
			        s->old_name);
			ok = run(pg, q, e);
		}
		PQclear(r);
		r = NULL;
	}
	free(table);
	return ok;
}

/* The state row says "swapped" exactly when the swap is committed, and
 * remembers the new table's fingerprint, which tells a rerun of the same
 * command that it is done. */
static bool record_swapped(Pg *pg, OscErr *e)
{
	PGresult *r = NULL;
	char fp[64], id[32];
	if (pg->reverse) {
		/* the revert's swap: a rerun after a kill finds it, and the name the
		 * new-schema table took */
		snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
		const char *p[2] = { id, pg->old_suffix };
		return pg_exec(pg,
		               "UPDATE osc.migrations SET phase = 'reverted', old_suffix = $2, updated_at = now()"
		               " WHERE id = $1::bigint",
		               2, p, NULL, e);
	}
	char *table = pg_qualified(pg, pg->schema, pg->table);
	const char *p[1] = { table };
	bool ok = pg_exec(pg, "SELECT $1::regclass::oid", 1, p, &r, e) &&
	          pg_fingerprint(pg, (unsigned)strtoul(pg_value(r, 0), NULL, 10), fp, sizeof(fp), true, e);
	PQclear(r);
	free(table);
	if (!ok || pg->state_id == 0)
		return ok;
	snprintf(id, sizeof(id), "%lld", (long long)pg->state_id);
	const char *p2[2] = { id, fp };
	return pg_exec(pg,
	               "UPDATE osc.migrations SET phase = 'swapped', fingerprint_new = $2, updated_at = now()"
	               " WHERE id = $1::bigint",
	               2, p2, NULL, e);
}

SwapResult pg_swap(Pg *pg, const SwapDrain *drain, OscErr *e)
{
	Sql q;
	SwapResult res = SWAP_FAILED;
	int64_t drained = 0;
	int64_t t0 = now_us(), t_locked = 0;
	PgCarry carry = { 0 };

	sql_init(&q, &pg->dialect);
	if (!swap_begin(pg, e))
		goto out;
	if ((res = lock_table(pg, e)) != SWAP_DONE)
		goto out;
	t_locked = now_us();
	if ((res = drain_log(pg, drain, &drained, e)) != SWAP_DONE)
		goto out;
	res = SWAP_FAILED;
	/* what the rename does not carry is read while the definitions still
	 * name the original (src/pg/pg_carry.c) */
	/* --revertible: the new table's capture, the original kept in step
	 * (src/pg/pg_revert_keep.c) */
	bool keep = pg->revertible && !pg->reverse;
	if (!pg_carry_lock(pg, e) || !sequences_continue(pg, &q, e) || !pg_carry_read(pg, &carry, e) ||
	    (keep && !pg_revert_capture_on(pg, e)) || !retire_original(pg, &q, e) || !shadow_in(pg, &q, &carry, e) ||
	    !sequences_attach(pg, &q, e) || (keep && !pg_revert_keep(pg, e)) ||
	    !pg_carry_subscription(pg, pg->shadow_oid, e) || !record_swapped(pg, e))
		goto out;
	fault_pause(pg->log, "swap-locked");
	if (!pg_command(pg, "COMMIT", e))
		goto out;
	res = SWAP_DONE;
	log_msg(pg->log, LOG_INFO,
	        "swapped: table locked for %.1fms (lock wait %.1fms), %ld late changes applied under the lock",
	        (double)(now_us() - t_locked) / 1000.0, (double)(t_locked - t0) / 1000.0, (long)drained);
out:
	/* a lock the relatives hold: retry.  Not a statement timeout here: a
	 * statement that outlasts the swap's bound would outlast it again */
	if (res == SWAP_FAILED && (strcmp(e->sqlstate, "55P03") == 0 || strcmp(e->sqlstate, "40P01") == 0))
		res = SWAP_RETRY;
	if (res != SWAP_DONE)
		pg_rollback(pg);
	pg_carry_free(&carry);
	sql_free(&q);
	return res;
}
