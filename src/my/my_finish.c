/*
 * my_finish.c — how a MySQL/MariaDB run ends: after the swap, the capture
 * and the change log go and the old table stays or goes (finish); before a
 * swap, everything osc made goes and the original stays (abort); `osc
 * cleanup` removes what an abandoned run left, and only what osc made
 * (src/my/my_owned.c); and an interrupted drop_swap is completed.  The core
 * decides when (src/core/migrate.c).
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "my_target.h"
#include "names.h"

/* The phases that still take the run find the engine's state in it. */
static My *run_my(Osc *o)
{
	My *my = o->db;
	if (my)
		my->osc = o;
	return my;
}

/* --alter-foreign-keys-method drop_swap drops T under the swap's lock and
 * the second connection's RENAME brings the new table in: osc killed in
 * between leaves T missing (src/my/my_swap.c).  A rerun or `osc cleanup`
 * finishes that swap: the complete new table, known by the fingerprint its
 * state row recorded, is renamed in. */
static bool finish_drop_swap(My *my, bool *done, OscErr *e)
{
	char fp[65], now[65];
	*done = false;
	if (my->db == NULL || my->table == NULL)
		return true;
	names_derive(my->shadow, sizeof(my->shadow), "", my->table, "_osc_new", MY_NAMELEN);
	if (!my_state_shadow_fp(my, fp, sizeof(fp), e))
		return false;
	if (fp[0] == '\0' || my_has_rows(my, my->shadow) < 0)
		return true;
	if (!my_fingerprint(my, my->shadow, now, sizeof(now), e))
		return false;
	if (strcmp(now, fp) != 0)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "RENAME TABLE %I.%I TO %I.%I", my->db, my->shadow, my->db, my->table);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	if (!ok)
		return false;
	log_msg(my->log, LOG_WARN,
	        "%s.%s was missing: a swap with --alter-foreign-keys-method drop_swap stopped after dropping the "
	        "original; its new table, complete, is renamed in",
	        my->db, my->table);
	free(my->db);
	free(my->table);
	my->db = my->table = NULL;
	*done = true;
	return true;
}

/* my_find_table, after finishing an interrupted drop_swap if that is why
 * the table is missing */
bool my_find_table_finishing(My *my, OscErr *e)
{
	if (my_find_table(my, e))
		return true;
	bool done = false;
	OscErr e2;
	err_clear(&e2);
	if (e->exit != OSC_EXIT_INPUT || strstr(e->msg, "does not exist") == NULL || !finish_drop_swap(my, &done, &e2)) {
		if (e2.msg[0])
			log_error(my->log, &e2);
		return false;
	}
	if (!done)
		return false;
	err_clear(e);
	return my_find_table(my, e);
}

/* A resumed cleanup has not read the child tables: does a foreign key
 * reference the old table?  (In doubt, yes: it is kept.) */
static bool old_is_referenced(My *my)
{
	Sql q;
	OscErr e;
	int64_t n = 1;
	err_clear(&e);
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA = %L"
	        " AND REFERENCED_TABLE_NAME = %L AND NOT (CONSTRAINT_SCHEMA = %L AND TABLE_NAME = %L)",
	        my->db, my->old, my->db, my->old);
	if (!my_count(my, &q, &n, &e)) {
		log_error(my->log, &e);
		n = 1;
	}
	sql_free(&q);
	return n != 0;
}

bool my_finish(Osc *o, OscErr *e)
{
	My *my = run_my(o);
	/* the capture triggers went along with the old table; the log is gone */
	if (!my_capture_drop(my, e) || !my_drop_work_tables(my, false, e))
		return false;
	if (my->nchildren > 0 && my->fk_method == MY_FK_DROP_SWAP) {
		log_msg(&o->log, LOG_INFO, "the original was dropped at the swap (--alter-foreign-keys-method drop_swap)");
	} else if (my->env->drop_old_table && ((my->nchildren > 0 && my->fk_method == MY_FK_NONE) ||
	                                     (o->resume == RESUME_SWAPPED && old_is_referenced(my)))) {
		log_msg(&o->log, LOG_WARN, "the old table %s.%s was kept: other tables' foreign keys reference it", my->db,
		        my->old);
	} else if (my->env->drop_old_table) {
		Sql q;
		OscErr e2;
		err_clear(&e2);
		sql_init(&q, &my->dialect);
		sql_add(&q, "DROP TABLE %I.%I", my->db, my->old);
		if (!my_exec_sql(my, &q, NULL, &e2))
			log_msg(&o->log, LOG_WARN, "the old table %s.%s was kept: %s", my->db, my->old, e2.msg);
		else
			log_msg(&o->log, LOG_INFO, "dropped the old table %s.%s", my->db, my->old);
		sql_free(&q);
	} else {
		log_msg(&o->log, LOG_INFO, "the original is kept as %s.%s (drop it when you are sure)", my->db, my->old);
	}
	return true;
}

/* Before a swap: everything osc made goes, the original stays.  When the
 * capture triggers cannot be dropped (the table's lock was not granted in
 * any attempt, each bounded by --lock-timeout), the rest still goes but the
 * change log stays, since the triggers write to it: the table keeps
 * working, and `osc cleanup` finishes later. */
bool my_abort(Osc *o, OscErr *e)
{
	My *my = run_my(o);
	if (my == NULL || my->table == NULL)
		return true;
	if (my->main.conn == NULL || mysql_ping(my->main.conn) != 0) {
		err_set(e, OSC_EXIT_FAILED, "the connection to the database is gone; run `osc cleanup --table %s` later",
		        my->env->table_arg);
		return false;
	}
	OscErr ce;
	err_clear(&ce);
	bool captured_off = my_capture_drop(my, &ce);
	if (!my_triggers_home(my, e) || !my_fkeys_unpoint(my, e))
		return false;
	if (captured_off)
		return my_drop_work_tables(my, true, e);
	if (!my_drop_if_ours(my, MY_ROLE_SHADOW, e) || !my_drop_if_ours(my, MY_ROLE_HEARTBEAT, e))
		return false;
	*e = ce;
	err_wrap(e, OSC_EXIT_FAILED, "",
	         "; osc's capture triggers stay on the table and keep logging into its change log (the table works as "
	         "before): `osc cleanup` removes them once the lock can be had");
	return false;
}

/* `osc cleanup`: what an abandoned run left, and only what osc made
 * (src/my/my_owned.c): the user's triggers an interrupted swap left on the
 * shadow and children's keys it left pointing there go back to the table
 * first; a table or trigger under osc's names that osc did not make stays,
 * and is named. */
bool my_cleanup(Osc *o, OscErr *e)
{
	My *my = run_my(o);
	MyObjects f;
	char fp[65], done[512] = "", foreign[1024] = "", trial[MY_NAMELEN + 1];
	/* a replica first: what osc made on the primary goes there by
	 * replication, and finishing a swap here would rename a table */
	if (!my_target_primary(my, e) || !my_find_table_finishing(my, e) || !my_take_lock(my, e) ||
	    !my_state_shadow_fp(my, fp, sizeof(fp), e) ||
	    !my_objects_scan(my, fp, &f, e))
		return false;
	int captured = f.capture;
	/* a kill after the swap's last step under its lock: the RENAME may
	 * still have run (the server runs a queued statement whose client it
	 * has not yet seen go).  Then only the cleanup after a swap is left */
	bool swapped = false;
	if (fp[0] && f.table[MY_ROLE_SHADOW] == MY_ABSENT) {
		char now[65];
		if (!my_fingerprint(my, my->table, now, sizeof(now), e))
			return false;
		swapped = strcmp(now, fp) == 0;
	}
	if (swapped) {
		if (!my_capture_drop(my, e) || my_drop_ours(my, &f, false, done, sizeof(done), e) < 0 ||
		    !my_state_close(my, "done", "the swap had committed; finished by osc cleanup", e))
			return false;
		log_msg(&o->log, LOG_INFO,
		        "the swap had committed before osc stopped: %s.%s is the new table, the original is %s.%s; "
		        "removed osc's capture triggers%s%s",
		        my->db, my->table, my->db, my->old, done[0] ? ", " : "", done);
		return true;
	}
	if (f.table[MY_ROLE_SHADOW] == MY_OURS && (!my_triggers_home(my, e) || !my_fkeys_unpoint(my, e)))
		return false;
	if (!my_capture_drop(my, e) || my_drop_ours(my, &f, true, done, sizeof(done), e) < 0)
		return false;
	/* the empty trial table of an in-place strategy (my_strategy.c) has no
	 * mark: it goes only while it holds no row */
	names_derive(trial, sizeof(trial), "", my->table, "_osc_try", MY_NAMELEN);
	if (my_has_rows(my, trial) == 0) {
		if (!my_trial_drop(my, e))
			return false;
		snprintf(done + strlen(done), sizeof(done) - strlen(done), "%sempty trial table", done[0] ? ", " : "");
	} else if (my_has_rows(my, trial) > 0) {
		log_msg(&o->log, LOG_WARN, "%s.%s has rows: it is not osc's empty trial table, and stays", my->db, trial);
	}
	if (!my_state_abandon(my, e))
		return false;
	my_objects_foreign(my, &f, foreign, sizeof(foreign));
	if (foreign[0])
		log_msg(&o->log, LOG_WARN, "left alone, not osc's: %s", foreign);
	if (captured == 0 && done[0] == '\0')
		log_msg(&o->log, LOG_INFO, "nothing of osc's to remove for %s.%s", my->db, my->table);
	else
		log_msg(&o->log, LOG_INFO, "removed osc's %s%s%s; %s.%s is untouched", captured ? "capture triggers" : "",
		        captured && done[0] ? ", " : "", done, my->db, my->table);
	return true;
}
