/*
 * my_finish.c — the SQL of a MySQL/MariaDB run's end, in the order
 * src/core/cleanup.c calls it: after the swap, the old table stays, goes,
 * or is gone already (drop_swap); before a swap, when the capture
 * triggers' lock is not granted, the rest goes and the change log stays
 * for them; `osc cleanup` finds what an abandoned run left, and only what
 * osc made (src/my/my_owned.c), a swap that had committed included; and an
 * interrupted drop_swap is completed.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

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

/* Does a foreign key of another table reference the old table?  (In
 * doubt, yes: it is kept.) */
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

/* After the swap.  A run resumed after it has not read the child tables:
 * the catalog says whether their keys followed the original. */
void my_old_table(My *my, OldTable *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s.%s", my->db, my->old);
	if (my->revertible && !my->reverting)
		out->keep = "it is the original `osc revert` goes back to (--revertible); `osc finish --drop-old-table` "
		            "drops it";
	else if (my->nchildren > 0 && my->fk_method == MY_FK_DROP_SWAP)
		out->gone = "--alter-foreign-keys-method drop_swap";
	else if ((my->nchildren > 0 && my->fk_method == MY_FK_NONE) || (my->resumed_swapped && old_is_referenced(my)))
		out->keep = "other tables' foreign keys reference it";
}

bool my_old_drop(My *my, OscErr *e)
{
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "DROP TABLE %I.%I", my->db, my->old);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

/* Before a swap, when the capture triggers could not be dropped (the
 * table's lock was not granted in any attempt, each bounded by
 * --lock-timeout): the rest goes but the change log stays, since the
 * triggers write to it; the table keeps working, and `osc cleanup`
 * finishes later. */
bool my_capture_leave(My *my, OscErr *e)
{
	OscErr e2;
	err_clear(&e2);
	if (!my_drop_if_ours(my, MY_ROLE_SHADOW, &e2) || !my_drop_if_ours(my, MY_ROLE_HEARTBEAT, &e2)) {
		*e = e2;
		return false;
	}
	err_wrap(e, OSC_EXIT_FAILED, "",
	         "; osc's capture triggers stay on the table and keep logging into its change log (the table works as "
	         "before): `osc cleanup` removes them once the lock can be had");
	return false;
}

/* An interrupted swap attempt: the user's triggers it left on the shadow
 * and the children's keys it left pointing there go back to the table. */
bool my_swap_undo(My *my, OscErr *e)
{
	/* a --revertible attempt's reverse capture first: its triggers are osc's */
	return my_rcapture_unswapped_drop(my, e) && my_triggers_home(my, e) && my_fkeys_unpoint(my, e);
}

/* `osc cleanup`: what is osc's under its names (src/my/my_owned.c), with
 * the names the unfinished migration's state row recorded.  A kill after
 * the swap's last step under its lock: the RENAME may still have run (the
 * server runs a queued statement whose client it has not yet seen go);
 * then only the cleanup after a swap is left. */
bool my_leftovers_find(My *my, Leftovers *lo, OscErr *e)
{
	MyObjects *f = &my->found;
	char fp[65];
	memset(lo, 0, sizeof(*lo));
	lo->none = "nothing of osc's to remove for";
	/* a revertible migration's original and reverse capture are not
	 * leftovers: `osc revert` or `osc finish` ends it */
	if (!my_revert_refuse_new(my, "osc cleanup", e))
		return false;
	if (!my_state_shadow_fp(my, fp, sizeof(fp), e) || !my_objects_scan(my, fp, f, e))
		return false;
	if (fp[0] && f->table[MY_ROLE_SHADOW] == MY_ABSENT) {
		char now[65];
		if (!my_fingerprint(my, my->table, now, sizeof(now), e))
			return false;
		lo->swapped = strcmp(now, fp) == 0;
	}
	lo->capture = f->capture > 0;
	lo->shadow = f->table[MY_ROLE_SHADOW] == MY_OURS;
	snprintf(lo->old, sizeof(lo->old), "%s.%s", my->db, my->old);
	my_objects_foreign(my, f, lo->foreign, sizeof(lo->foreign));
	return true;
}

/* The work tables leftovers_find found (the shadow unless the swap had
 * committed), and the empty trial table of an in-place strategy
 * (my_strategy.c), which has no mark: it goes only while it holds no row. */
bool my_leftovers_drop(My *my, const Leftovers *lo, char *done, size_t donesz, OscErr *e)
{
	char trial[MY_NAMELEN + 1];
	done[0] = '\0';
	if (my_drop_ours(my, &my->found, !lo->swapped, done, donesz, e) < 0)
		return false;
	/* a --revertible run that swapped is revertible now: its reverse log stays */
	if (lo->swapped)
		return true;
	if (!my_rcapture_unswapped_drop(my, e))
		return false;
	names_derive(trial, sizeof(trial), "", my->table, "_osc_try", MY_NAMELEN);
	int rows = my_has_rows(my, trial);
	if (rows == 0) {
		if (!my_trial_drop(my, e))
			return false;
		size_t n = strlen(done);
		snprintf(done + n, donesz - n, "%sempty trial table", n ? ", " : "");
	} else if (rows > 0) {
		log_msg(my->log, LOG_WARN, "%s.%s has rows: it is not osc's empty trial table, and stays", my->db, trial);
	}
	return true;
}
