/*
 * my_swap.c — the swap on MySQL/MariaDB, after gh-ost's two-connection
 * cut-over (MariaDB refuses RENAME TABLE under LOCK TABLES):
 *
 *   A: CREATE TABLE T_osc_old (the sentry: while it exists, no RENAME of T
 *      to that name can succeed)
 *   A: LOCK TABLES T, T_osc_old, shadow, log WRITE   -- writers wait
 *   B: RENAME TABLE T TO T_osc_old, shadow TO T      -- sent, waits behind A
 *   A: waits until B is seen waiting; drains the log into the shadow
 *   A: moves T's own triggers to the shadow (DROP on T, CREATE on shadow)
 *   A: rebuild_constraints: repoints child tables' keys to the shadow
 *      (the children are in the LOCK TABLES too; src/my_fkeys.c)
 *   A: DROP TABLE T_osc_old; UNLOCK TABLES
 *   B: its RENAME runs before any writer: one atomic swap
 * --alter-foreign-keys-method drop_swap: no sentry; B's statement is RENAME
 * TABLE shadow TO T (it fails while T exists), and A drops T instead of the
 * sentry, last before the unlock.  Writers still queue on T's name behind
 * B; the children's keys, which name T, reference the new table.
 * The server takes a RENAME's metadata locks one by one in name order, and a
 * waiting exclusive lock goes before waiting writers.  So B must wait on T
 * itself, not on the shadow: osc's names start with T's name and sort after
 * it.  Were B waiting on another name, writers queued on T would get T the
 * moment A unlocks, write to the original after the drain, and be lost.
 * If A dies anywhere in between, its locks go with it and B's RENAME fails
 * on the sentry: T stays the original, whole.  Writers wait from A's LOCK to
 * B's RENAME: the drain, milliseconds after the catch-up.  A lock timeout
 * (lock_wait_timeout: --lock-timeout rounded up to whole seconds, as the
 * server counts) on A's LOCK is a retry.
 * A RENAME takes a table's triggers along, so the table's own triggers are
 * moved to the shadow before it, while A's lock holds every writer: the
 * first write to the new table fires them, and no write to either table
 * happens while a trigger is on neither.  Trigger names are unique per
 * database, hence DROP first.  If the move fails, the moved triggers go
 * back to T before the lock is released.  (Creating them after the RENAME
 * would miss the writes of those milliseconds, and on MariaDB it can leave
 * an application's prepared statements stale: replicator/my_capture.c.)
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

static bool run(My *my, Sql *q, OscErr *e)
{
	bool ok = my_exec_sql(my, q, NULL, e);
	sql_reset(q);
	return ok;
}

/* B is waiting for the metadata lock A holds (bounded wait). */
static bool rename_is_waiting(My *my, unsigned long id)
{
	for (int i = 0; i < 100; i++) {
		MYSQL_RES *r = NULL;
		OscErr e;
		char sql[256];
		snprintf(sql, sizeof(sql),
		         "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %lu AND STATE LIKE '%%metadata lock%%'",
		         id);
		bool waiting = false;
		if (my_exec(my, sql, &r, &e)) {
			MYSQL_ROW row = mysql_fetch_row(r);
			waiting = row && row[0] && strcmp(row[0], "1") == 0;
		}
		mysql_free_result(r);
		if (waiting)
			return true;
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return false;
}

/* CREATE TRIGGER for user trigger t on table `table` of T's database,
 * from its information_schema description (the header is rebuilt, so the
 * table's name as its author spelled it does not matter). */
static void user_trigger_sql(My *my, const MyTrigger *t, const char *table, Sql *q)
{
	char *user = my_strdup(t->definer), *host = strrchr(user, '@');
	if (host)
		*host++ = '\0';
	sql_add(q, "CREATE DEFINER=%I", user);
	if (host)
		sql_add(q, "@%I", host);
	free(user);
	sql_add(q, " TRIGGER %I.%I %s %s ON %I.%I FOR EACH ROW %s", my->db, t->name,
	        strcmp(t->timing, "BEFORE") == 0 ? "BEFORE" : "AFTER",
	        strcmp(t->event, "INSERT") == 0 ? "INSERT" : strcmp(t->event, "UPDATE") == 0 ? "UPDATE" : "DELETE",
	        my->db, table, t->body);
}

/* Creates user trigger t on `table` under the sql_mode it was created with. */
static bool create_user_trigger(My *my, const MyTrigger *t, const char *table, OscErr *e)
{
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SET SESSION sql_mode = %L", t->sql_mode);
	bool ok = run(my, &q, e);
	if (ok) {
		user_trigger_sql(my, t, table, &q);
		ok = run(my, &q, e);
	}
	sql_free(&q);
	return ok;
}

/* Under A's lock: T's own triggers from T to the shadow.  *moved counts
 * those no longer on T (the last of them may be on neither). */
static bool move_user_triggers(My *my, int *moved, OscErr *e)
{
	Sql q;
	bool ok = true;
	sql_init(&q, &my->dialect);
	for (int i = 0; ok && i < my->nuser_triggers; i++) {
		const MyTrigger *t = &my->user_triggers[i];
		log_msg(&my->osc->log, LOG_DEBUG, "moving trigger %s.%s to the new table", my->db, t->name);
		sql_add(&q, "DROP TRIGGER %I.%I", my->db, t->name);
		ok = run(my, &q, e);
		if (ok) {
			*moved = i + 1;
			ok = create_user_trigger(my, t, my->shadow, e);
		}
	}
	sql_free(&q);
	return ok;
}

/* Undoes move_user_triggers (still under A's lock); says what it cannot. */
static void restore_user_triggers(My *my, int moved)
{
	Sql q;
	sql_init(&q, &my->dialect);
	for (int i = 0; i < moved; i++) {
		const MyTrigger *t = &my->user_triggers[i];
		OscErr e;
		err_clear(&e);
		sql_add(&q, "DROP TRIGGER IF EXISTS %I.%I", my->db, t->name);
		if (!run(my, &q, &e) || !create_user_trigger(my, t, my->table, &e)) {
			log_error(&my->osc->log, &e);
			user_trigger_sql(my, t, my->table, &q);
			log_msg(&my->osc->log, LOG_WARN, "could not put trigger %s back on %s.%s; create it with: %s", t->name,
			        my->db, my->table, sql_text(&q));
			sql_reset(&q);
		}
	}
	sql_free(&q);
}

SwapResult my_swap(My *my, OscErr *e)
{
	Sql q;
	MYSQL_RES *r = NULL;
	SwapResult res = SWAP_FAILED;
	bool locked = false, sentry = false, sent = false, log_dropped = false, original_dropped = false;
	int moved = 0;
	char *sql_mode = NULL;
	My b;
	int64_t t0 = now_us(), t_locked = 0;
	int64_t drained = 0;

	memset(&b, 0, sizeof(b));
	b.osc = my->osc;
	sql_init(&q, &my->dialect);

	/* AUTO_INCREMENT carries over (rows inserted meanwhile reach the shadow
	 * with their ids, which only raises the counter) */
	sql_add(&q, "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	sql_reset(&q);
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row && row[0]) {
		sql_add(&q, "ALTER TABLE %I.%I AUTO_INCREMENT = %s", my->db, my->shadow, row[0]);
		if (!run(my, &q, e))
			goto out;
	}
	mysql_free_result(r);
	r = NULL;

	if (my->nuser_triggers > 0) {
		if (!my_exec(my, "SELECT @@SESSION.sql_mode", &r, e))
			goto out;
		row = mysql_fetch_row(r);
		sql_mode = my_strdup(row && row[0] ? row[0] : "");
		mysql_free_result(r);
		r = NULL;
	}
	my_fkeys_choose(my);
	bool drop_swap = my->nchildren > 0 && my->fk_method == MY_FK_DROP_SWAP;
	if (drop_swap && !my_fkeys_check_drop_swap(my, e))
		goto out;
	if (!my_connect(&b, my->url, e))
		goto out;
	/* B outwaits A's drain; A's own waits stay short.  drop_swap's RENAME
	 * brings a table in under a name children's keys reference */
	if (!my_exec(&b, "SET SESSION lock_wait_timeout = 30, foreign_key_checks = 0", NULL, e))
		goto out;
	unsigned long b_id = mysql_thread_id(b.conn);

	/* drop_swap needs no sentry: B's RENAME fails while T exists */
	if (!drop_swap) {
		sql_add(&q, "CREATE TABLE %I.%I (sentry INT) ENGINE=InnoDB", my->db, my->old);
		if (!run(my, &q, e))
			goto out;
		sentry = true;
	}
	/* the drain reads the original under the alias src: that needs a lock of
	 * its own; child tables are locked when their keys change under it */
	sql_add(&q, "LOCK TABLES %I.%I WRITE, %I.%I AS src READ, %I.%I WRITE, %I.%I WRITE", my->db, my->table, my->db,
	        my->table, my->db, my->shadow, my->db, my->log);
	if (sentry)
		sql_add(&q, ", %I.%I WRITE", my->db, my->old);
	my_fkeys_lock_list(my, &q);
	if (!run(my, &q, e)) {
		if (my_is_lock_timeout(e))
			res = SWAP_RETRY;
		goto out;
	}
	locked = true;
	t_locked = now_us();

	if (drop_swap)
		sql_add(&q, "RENAME TABLE %I.%I TO %I.%I", my->db, my->shadow, my->db, my->table);
	else
		sql_add(&q, "RENAME TABLE %I.%I TO %I.%I, %I.%I TO %I.%I", my->db, my->table, my->db, my->old, my->db,
		        my->shadow, my->db, my->table);
	if (q.failed || mysql_send_query(b.conn, sql_text(&q), (unsigned long)q.len) != 0) {
		err_set(e, OSC_EXIT_FAILED, "cutover: cannot send the RENAME: %s", mysql_error(b.conn));
		goto out;
	}
	sql_reset(&q);
	sent = true;
	if (!rename_is_waiting(my, b_id)) {
		err_set(e, OSC_EXIT_FAILED, "cutover: the RENAME did not queue behind the table lock");
		goto out;
	}
	/* drain: with the tables locked, each statement commits by itself */
	int64_t n;
	my->in_lock = true;
	do {
		if (!my_replay(my, 10000, &n, e)) {
			my->in_lock = false;
			goto out;
		}
		drained += n;
	} while (n > 0);
	my->in_lock = false;
	my->osc->progress.log_applied += drained;
	fault_point(my->osc, "swap-locked");
	if (!move_user_triggers(my, &moved, e) || !my_fkeys_repoint(my, e))
		goto out;
	fault_point(my->osc, "swap-repointed");
	/* Past the drain, no write may succeed on the original any more: its
	 * triggers insert into the log, so the log goes now, and a write that
	 * still reaches the original (were the RENAME not first in line for
	 * the table) fails with error 1146 instead of vanishing. */
	sql_add(&q, "DROP TABLE %I.%I", my->db, my->log);
	if (!run(my, &q, e))
		goto out;
	log_dropped = true;
	if (drop_swap) {
		/* from here T is missing until B's RENAME: writers wait on T's
		 * name behind B, but a child's write after the unlock can find
		 * no parent (README) */
		sql_add(&q, "DROP TABLE %I.%I", my->db, my->table);
		if (!run(my, &q, e))
			goto out;
		original_dropped = true;
	} else {
		sql_add(&q, "DROP TABLE %I.%I", my->db, my->old);
		if (!run(my, &q, e))
			goto out;
		sentry = false;
	}
	if (!my_exec(my, "UNLOCK TABLES", NULL, e))
		goto out;
	locked = false;
	int64_t t_unlocked = now_us();
	sent = false;
	if (mysql_read_query_result(b.conn) != 0) {
		err_set(e, OSC_EXIT_FAILED, "cutover: the RENAME failed: %s", mysql_error(b.conn));
		snprintf(e->sqlstate, sizeof(e->sqlstate), "%u", mysql_errno(b.conn));
		if (original_dropped) {
			/* the shadow is complete and T is missing: rename it in from here */
			log_error(&my->osc->log, e);
			err_clear(e);
			sql_add(&q, "RENAME TABLE %I.%I TO %I.%I", my->db, my->shadow, my->db, my->table);
			if (run(my, &q, e)) {
				res = SWAP_DONE;
				log_msg(&my->osc->log, LOG_WARN, "swapped by osc's own RENAME after the second connection's failed");
			} else {
				log_msg(&my->osc->log, LOG_ERROR,
				        "%s.%s is missing: the original was dropped (drop_swap) and the new table, complete, is "
				        "%s.%s; bring it in with RENAME TABLE",
				        my->db, my->table, my->db, my->shadow);
			}
			goto out;
		}
		/* with the log gone, a retry would miss changes: give up cleanly */
		if (my_is_lock_timeout(e) && !log_dropped)
			res = SWAP_RETRY;
		goto out;
	}
	res = SWAP_DONE;
	log_msg(&my->osc->log, LOG_INFO,
	        "swapped: writes waited %.1fms under the table lock (%ld late changes drained), the RENAME %.1fms; "
	        "attempt %.1fms",
	        (double)(t_unlocked - t_locked) / 1000.0, (long)drained, (double)(now_us() - t_unlocked) / 1000.0,
	        (double)(now_us() - t0) / 1000.0);
out:
	if (res != SWAP_DONE) {
		OscErr e3;
		err_clear(&e3);
		/* the sentry stays until B is done, so B's RENAME cannot succeed */
		/* past drop_swap's DROP, the triggers and keys belong to the new table */
		if (moved > 0 && !original_dropped)
			restore_user_triggers(my, moved);
		if (!original_dropped)
			my_fkeys_restore(my);
		if (locked && !my_exec(my, "UNLOCK TABLES", NULL, &e3))
			log_error(&my->osc->log, &e3);
		if (sent && b.conn) {
			/* the sentry still exists: B's RENAME fails (or times out); wait for it */
			(void)mysql_read_query_result(b.conn);
		}
		if (sentry) {
			Sql d;
			sql_init(&d, &my->dialect);
			sql_add(&d, "DROP TABLE IF EXISTS %I.%I", my->db, my->old);
			if (!my_exec_sql(my, &d, NULL, &e3))
				log_error(&my->osc->log, &e3);
			sql_free(&d);
		}
	}
	if (sql_mode) {
		OscErr e4;
		err_clear(&e4);
		Sql m;
		sql_init(&m, &my->dialect);
		sql_add(&m, "SET SESSION sql_mode = %L", sql_mode);
		if (!my_exec_sql(my, &m, NULL, &e4))
			log_error(&my->osc->log, &e4);
		sql_free(&m);
		free(sql_mode);
	}
	my_disconnect(&b);
	mysql_free_result(r);
	sql_free(&q);
	return res;
}
