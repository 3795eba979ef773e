/*
 * my_swap.c — the swap on MySQL/MariaDB, after gh-ost's two-connection
 * cut-over (MariaDB refuses RENAME TABLE under LOCK TABLES):
 *
 *   A: the shadow gets the comment the new table must have (it carried
 *      osc's mark, src/my/my_owned.c)
 *   A: CREATE TABLE T_osc_old (the sentry, marked as osc's: while it
 *      exists, no RENAME of T to that name can succeed)
 *   A: LOCK TABLES T, T_osc_old, shadow, log WRITE   -- writers wait; the
 *      request waits at most --lock-timeout (max_statement_time: MariaDB's
 *      lock_wait_timeout is whole seconds), else the attempt is retried
 *   B: RENAME TABLE T TO T_osc_old, shadow TO T      -- sent, waits behind A
 *   A: waits until B is seen waiting; drains the log into the shadow
 *   A: rebuild_constraints: repoints child tables' keys to the shadow
 *      (the children are in the LOCK TABLES too; src/my/my_fkeys.c)
 *   A: the index osc added on the key it merges by goes (src/my/my_keyidx.c)
 *   A: moves T's own triggers to the shadow (DROP on T, CREATE on shadow)
 *   A: DROP TABLE T_osc_old; UNLOCK TABLES
 *   B: its RENAME runs before any writer: one atomic swap
 * The capture triggers and the log stay until the RENAME has committed
 * (then the cleanup drops them with the old table's name): if osc dies
 * anywhere before, the server drops B's queued RENAME with its client, A's
 * locks go, and T is the original with its capture whole, so the
 * application writes on and a rerun resumes.  (The log used to be dropped
 * under the lock, so that a write reaching the original after the drain
 * would fail rather than vanish; a kill right after that left every write
 * to T failing with error 1146 until `osc cleanup`.  No write reaches the
 * original after the drain: see the name order below.)  What a kill under
 * the lock can leave half done, a rerun or `osc cleanup` puts back: the
 * sentry, the children's keys, the shadow's mark, the key index, and the
 * user's triggers (src/my/my_triggers.c: between the move and the rerun,
 * writes to T do not fire the moved ones).
 * If A alone dies (its connection killed, B's alive), its locks go and
 * B's RENAME fails on the sentry: T stays the original, whole.  So the
 * sentry goes last, right before the unlock.
 * --alter-foreign-keys-method drop_swap: no sentry; B's statement is RENAME
 * TABLE shadow TO T (it fails while T exists), and A drops T instead of the
 * sentry, last before the unlock.  Writers still queue on T's name behind
 * B; the children's keys, which name T, reference the new table.
 * The server takes a RENAME's metadata locks one by one in name order, and a
 * waiting exclusive lock goes before waiting writers.  So B must wait on T
 * itself, not on the shadow: osc's names start with T's name and sort after
 * it.  Were B waiting on another name, writers queued on T would get T the
 * moment A unlocks, write to the original after the drain, and be lost.
 * Writers wait from A's LOCK request to B's RENAME: the request (at most
 * --lock-timeout), the drain (milliseconds after the catch-up) and the
 * RENAME; the report says each.
 * A RENAME takes a table's triggers along, so the table's own triggers are
 * moved to the shadow before it, while A's lock holds every writer: the
 * first write to the new table fires them, and no write to either table
 * happens while a trigger is on neither.  Trigger names are unique per
 * database, hence DROP first.  If the move fails, the moved triggers go
 * back to T before the lock is released.  (Creating them after the RENAME
 * would miss the writes of those milliseconds, and on MariaDB it can leave
 * an application's prepared statements stale: src/my/my_capture.c.)
 * --revertible: A also makes the reverse log T_osc_rlog before its lock,
 * and the reverse capture's triggers on the shadow under it, after the
 * drain and the triggers' move, before the sentry goes: they travel with
 * the shadow in the RENAME, so every write to the new T is logged for
 * `osc revert` (src/my/my_revert_capture.c); an attempt that does not swap
 * drops them again.
 * `osc revert` runs this same swap with the roles turned around
 * (src/my/my_revert.c): T is the new table, the "shadow" the original
 * T_osc_old, the log the reverse log, the sentry T_osc_rev, the name the
 * new-schema table takes.  The RENAME is then T TO T_osc_rev, T_osc_old TO
 * T: every name still begins with T's, so it still queues on T first.
 * The original carries its own comment (it never had osc's mark).
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

/* Waits (about 2 s at most) until B is seen waiting for the metadata lock
 * A holds.  A stop request ends the wait: the attempt fails, resumable. */
static bool rename_queued(My *my, unsigned long id, OscErr *e)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %lu AND STATE LIKE '%%metadata lock%%'", id);
	for (int i = 0; i < 100; i++) {
		MYSQL_RES *r = NULL;
		OscErr ignored;
		bool waiting = false;
		if (my_exec(my, sql, &r, &ignored)) {
			MYSQL_ROW row = mysql_fetch_row(r);
			waiting = row && row[MY_VALUE] && strcmp(row[MY_VALUE], "1") == 0;
		}
		mysql_free_result(r);
		if (waiting)
			return true;
		if (!retry_sleep(my->env->retry->stop, 20)) {
			retry_stopped(e, "cutover");
			return false;
		}
	}
	err_set(e, OSC_EXIT_FAILED, "cutover: the RENAME did not queue behind the table lock");
	return false;
}

/* Under A's lock: T's own triggers from T to the shadow.  *moved counts
 * those no longer on T (the last of them may be on neither). */
static bool move_user_triggers(My *my, int *moved, OscErr *e)
{
	for (int i = 0; i < my->nuser_triggers; i++) {
		bool dropped = false;
		log_msg(my->log, LOG_DEBUG, "moving trigger %s.%s to the new table", my->db, my->user_triggers[i].name);
		bool ok = my_trigger_move(my, &my->user_triggers[i], my->shadow, &dropped, e);
		if (dropped)
			*moved = i + 1;
		if (!ok)
			return false;
	}
	return true;
}

/* Undoes move_user_triggers; says what it cannot. */
static void restore_user_triggers(My *my, int moved)
{
	Sql q;
	sql_init(&q, &my->dialect);
	for (int i = 0; i < moved; i++) {
		const MyTrigger *t = &my->user_triggers[i];
		OscErr e;
		err_clear(&e);
		sql_add(&q, "DROP TRIGGER IF EXISTS %I.%I", my->db, t->name);
		bool ok = my_exec_sql(my, &q, NULL, &e);
		sql_reset(&q);
		if (!ok || !my_trigger_create(my, t, my->table, &e)) {
			log_error(my->log, &e);
			my_trigger_sql(my, t, my->table, &q);
			log_msg(my->log, LOG_WARN, "could not put trigger %s back on %s.%s; create it with: %s", t->name,
			        my->db, my->table, sql_text(&q));
			sql_reset(&q);
		}
	}
	sql_free(&q);
}

/* The shadow's comment: what the new table must carry (marked false), or
 * osc's mark again (true).  Outside the table lock: an ALTER of the
 * shadow's comment took 25 to 60 ms on a loaded machine, which writers
 * would wait for under it. */
static bool shadow_comment(My *my, bool marked, OscErr *e)
{
	if (marked)
		return my_mark(my, MY_ROLE_SHADOW, my->shadow, e);
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "ALTER TABLE %I.%I COMMENT = %L", my->db, my->shadow, my->shadow_comment ? my->shadow_comment : "");
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

/* One attempt's state: what is done so far, which the undo reads, and the
 * times the report gives. */
typedef struct Attempt {
	My *my;
	MySession b;              /* B: the RENAME's connection */
	bool drop_swap;           /* --alter-foreign-keys-method drop_swap, with children */
	bool unmarked;            /* the shadow carries the new table's comment */
	bool sentry;              /* the sentry exists */
	bool locked;              /* A holds LOCK TABLES */
	bool sent;                /* B's RENAME is sent, its result not read */
	bool keyidx_dropped;      /* osc's index on the merge key went */
	bool original_dropped;    /* drop_swap dropped T */
	bool rlog;                /* --revertible: the reverse log (and maybe its triggers) exist */
	int moved;                /* the table's own triggers no longer on T */
	int64_t t0, t_locked, t_unlocked, request_us, drained;
} Attempt;

/* AUTO_INCREMENT carries over (rows inserted meanwhile reach the shadow
 * with their ids, which only raises the counter). */
static bool carry_auto_increment(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table);
	bool ok = my_exec_sql(my, &q, &r, e);
	MYSQL_ROW row = ok ? mysql_fetch_row(r) : NULL;
	if (row && row[MY_VALUE]) {
		sql_reset(&q);
		sql_add(&q, "ALTER TABLE %I.%I AUTO_INCREMENT = %s", my->db, my->shadow, row[MY_VALUE]);
		ok = my_exec_sql(my, &q, NULL, e);
	}
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* B, whose RENAME outwaits A's drain while A's own waits stay short;
 * drop_swap's RENAME brings a table in under a name children's keys
 * reference. */
static bool rename_session(Attempt *a, OscErr *e)
{
	return mys_connect(&a->b, a->my->url, NULL, 0, e) &&
	       mys_exec(&a->b, "SET SESSION lock_wait_timeout = 30, foreign_key_checks = 0", NULL, e);
}

/* The new table's own comment now (osc's mark goes): from here until the
 * RENAME a rerun or cleanup knows the shadow by the fingerprint the state
 * row recorded (src/my/my_owned.c); a failed attempt marks it again.  And
 * the sentry, which drop_swap does without: its RENAME fails while T
 * exists. */
static bool prepare(Attempt *a, OscErr *e)
{
	My *my = a->my;
	/* a revert's "shadow" is the original, with its own comment */
	if (!my->reverting) {
		if (!shadow_comment(my, false, e))
			return false;
		a->unmarked = true;
	}
	if (my->revertible && !my->reverting) {
		a->rlog = true;
		if (!my_rcapture_log(my, e))
			return false;
	}
	if (a->drop_swap)
		return true;
	char mark[256];
	Sql q;
	my_marker(my, MY_ROLE_SENTRY, mark, sizeof(mark));
	sql_init(&q, &my->dialect);
	sql_add(&q, "CREATE TABLE %I.%I (sentry INT) ENGINE=InnoDB COMMENT = %L", my->db, my->old, mark);
	a->sentry = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return a->sentry;
}

/* A: LOCK TABLES T, the shadow, the log, the sentry and the child tables
 * whose keys change under it; the drain reads the original under the
 * alias src, which needs a lock of its own.  The request waits at most
 * --lock-timeout: not granted, the attempt is retried. */
static SwapResult lock_tables(Attempt *a, OscErr *e)
{
	My *my = a->my;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "LOCK TABLES %I.%I WRITE, %I.%I AS src READ, %I.%I WRITE, %I.%I WRITE", my->db, my->table, my->db,
	        my->table, my->db, my->shadow, my->db, my->log_table);
	if (a->sentry)
		sql_add(&q, ", %I.%I WRITE", my->db, my->old);
	my_fkeys_lock_list(my, &q);
	a->locked = my_exec_lock(&my->main, &q, &a->request_us, e);
	sql_free(&q);
	if (a->locked) {
		a->t_locked = now_us();
		return SWAP_DONE;
	}
	if (!my_is_lock_timeout(e))
		return SWAP_FAILED;
	log_msg(my->log, LOG_INFO,
	        "cutover: the table lock was not granted within %ldms; writers queued behind the request for %.1fms",
	        (long)my->env->lock_timeout_ms, (double)a->request_us / 1000.0);
	return SWAP_RETRY;
}

/* B: RENAME TABLE T TO T_osc_old, shadow TO T (drop_swap: shadow TO T),
 * sent to wait behind A's lock. */
static bool rename_send(Attempt *a, OscErr *e)
{
	My *my = a->my;
	Sql q;
	sql_init(&q, &my->dialect);
	if (a->drop_swap)
		sql_add(&q, "RENAME TABLE %I.%I TO %I.%I", my->db, my->shadow, my->db, my->table);
	else
		sql_add(&q, "RENAME TABLE %I.%I TO %I.%I, %I.%I TO %I.%I", my->db, my->table, my->db, my->old, my->db,
		        my->shadow, my->db, my->table);
	a->sent = !q.failed && mysql_send_query(a->b.conn, sql_text(&q), (unsigned long)q.len) == 0;
	sql_free(&q);
	if (!a->sent)
		err_set(e, OSC_EXIT_FAILED, "cutover: cannot send the RENAME: %s", mysql_error(a->b.conn));
	return a->sent && rename_queued(my, mysql_thread_id(a->b.conn), e);
}

/* A, under its lock with B queued: the core's drain (each statement
 * commits by itself: START TRANSACTION would unlock), the children's keys
 * to the shadow, osc's index on the merge key (when the ALTER took every
 * index off the key, osc's served the drain just now; its drop is a change
 * of metadata, about 60 ms at 200k or 1M rows, where a drain without it
 * scanned the whole new table), the table's own triggers to the shadow;
 * last, the sentry (from here, were A alone to die, B's RENAME would
 * swap), or drop_swap's DROP of T (from here T is missing until B's
 * RENAME: writers wait on T's name behind B, but a child's write after the
 * unlock can find no parent, README). */
static bool under_lock(Attempt *a, const SwapDrain *drain, OscErr *e)
{
	My *my = a->my;
	my->main.in_lock = true;
	bool drained = drain->run(drain->ctx, &a->drained, e);
	my->main.in_lock = false;
	if (!drained)
		return false;
	fault_pause(my->log, "swap-locked");
	if (!my_fkeys_repoint(my, e))
		return false;
	fault_pause(my->log, "swap-repointed");
	if (!my_keyidx_drop(my, &a->keyidx_dropped, e))
		return false;
	fault_pause(my->log, "swap-unmarked");
	if (!move_user_triggers(my, &a->moved, e))
		return false;
	if (a->rlog && !my_rcapture_triggers(my, e))
		return false;
	fault_pause(my->log, "swap-triggers-moved");
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "DROP TABLE %I.%I", my->db, a->drop_swap ? my->table : my->old);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	if (ok && a->drop_swap)
		a->original_dropped = true;
	else if (ok)
		a->sentry = false;
	return ok;
}

static void report(const Attempt *a)
{
	My *my = a->my;
	int64_t t_end = now_us();
	char earlier[160] = "";
	if (my->main.lock_wait_max_us > 0)
		snprintf(earlier, sizeof(earlier), "; earlier attempts held them up to %.1fms each",
		         (double)my->main.lock_wait_max_us / 1000.0);
	log_msg(my->log, LOG_INFO,
	        "swapped: writes waited at most %.1fms: %.1fms while the lock was requested, %.1fms under the table "
	        "lock (%ld late changes drained), %.1fms for the RENAME%s; attempt %.1fms",
	        (double)(a->request_us + t_end - a->t_locked) / 1000.0, (double)a->request_us / 1000.0,
	        (double)(a->t_unlocked - a->t_locked) / 1000.0, (long)a->drained, (double)(t_end - a->t_unlocked) / 1000.0,
	        earlier, (double)(t_end - a->t0) / 1000.0);
}

/* A: UNLOCK TABLES; B's RENAME runs before any writer.  Its failure after
 * drop_swap's DROP leaves T missing with the new table complete: A renames
 * it in. */
static SwapResult unlock_and_rename(Attempt *a, OscErr *e)
{
	My *my = a->my;
	fault_pause(my->log, "swap-sentry-dropped");
	if (!my_exec(my, "UNLOCK TABLES", NULL, e))
		return SWAP_FAILED;
	a->locked = false;
	a->t_unlocked = now_us();
	a->sent = false;
	if (mysql_read_query_result(a->b.conn) == 0) {
		report(a);
		return SWAP_DONE;
	}
	err_set(e, OSC_EXIT_FAILED, "cutover: the RENAME failed: %s", mysql_error(a->b.conn));
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%u", mysql_errno(a->b.conn));
	if (!a->original_dropped) {
		/* the capture is whole (the log stays until the RENAME is done):
		 * a timeout is one more attempt */
		return my_is_lock_timeout(e) ? SWAP_RETRY : SWAP_FAILED;
	}
	log_error(my->log, e);
	err_clear(e);
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "RENAME TABLE %I.%I TO %I.%I", my->db, my->shadow, my->db, my->table);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	if (ok) {
		log_msg(my->log, LOG_WARN, "swapped by osc's own RENAME after the second connection's failed");
		return SWAP_DONE;
	}
	log_msg(my->log, LOG_ERROR,
	        "%s.%s is missing: the original was dropped (drop_swap) and the new table, complete, is %s.%s; bring "
	        "it in with RENAME TABLE",
	        my->db, my->table, my->db, my->shadow);
	return SWAP_FAILED;
}

/* An attempt that did not swap: past drop_swap's DROP, the triggers and
 * keys belong to the new table; otherwise everything goes back as it was,
 * under the lock while A still holds it, then the sentry, osc's mark and
 * the merge key's index (the next attempt's drain merges by it), outside
 * the lock. */
static void undo(Attempt *a)
{
	My *my = a->my;
	OscErr e3;
	err_clear(&e3);
	if (a->moved > 0 && !a->original_dropped)
		restore_user_triggers(my, a->moved);
	if (!a->original_dropped)
		my_fkeys_restore(my);
	if (a->locked && !my_exec(my, "UNLOCK TABLES", NULL, &e3))
		log_error(my->log, &e3);
	if (a->sent && a->b.conn) {
		/* the sentry still exists: B's RENAME fails (or times out); wait for it */
		(void)mysql_read_query_result(a->b.conn);
	}
	if (a->sentry) {
		Sql d;
		sql_init(&d, &my->dialect);
		sql_add(&d, "DROP TABLE IF EXISTS %I.%I", my->db, my->old);
		if (!my_exec_sql(my, &d, NULL, &e3))
			log_error(my->log, &e3);
		sql_free(&d);
	}
	if (a->unmarked && !a->original_dropped && !shadow_comment(my, true, &e3)) {
		log_error(my->log, &e3);
		err_clear(&e3);
	}
	/* the reverse capture: its triggers on the shadow would log the next
	 * attempt's drain (the next attempt makes it again) */
	if (a->rlog && !my_rcapture_unswapped_drop(my, &e3)) {
		log_error(my->log, &e3);
		err_clear(&e3);
	}
	if (a->keyidx_dropped && !a->original_dropped && !my_keyidx_ensure(my, &e3))
		log_error(my->log, &e3);
}

SwapResult my_swap(My *my, const SwapDrain *drain, OscErr *e)
{
	Attempt a;
	SwapResult res = SWAP_FAILED;

	memset(&a, 0, sizeof(a));
	a.my = my;
	a.b.env = my->env;
	a.b.log = my->log;
	a.t0 = now_us();
	my_fkeys_choose(my);
	a.drop_swap = my->nchildren > 0 && my->fk_method == MY_FK_DROP_SWAP;
	if (!carry_auto_increment(my, e) || (a.drop_swap && !my_fkeys_check_drop_swap(my, e)) ||
	    !rename_session(&a, e) || !prepare(&a, e))
		goto out;
	res = lock_tables(&a, e);
	if (res != SWAP_DONE)
		goto out;
	res = SWAP_FAILED;
	if (!rename_send(&a, e) || !under_lock(&a, drain, e))
		goto out;
	res = unlock_and_rename(&a, e);
out:
	if (res != SWAP_DONE)
		undo(&a);
	mys_disconnect(&a.b);
	return res;
}
