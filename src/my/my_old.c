/*
 * my_old.c — the old table's name on MySQL/MariaDB, run after run.
 *
 * The swap keeps the original as T_osc_old, a name that is also the
 * swap's sentry while it runs (src/my/my_swap.c).  The first run takes
 * T_osc_old.  A run that finds that name held by an earlier run's old table
 * (a state row of T whose swap happened names it) takes T_osc_old_2, then
 * T_osc_old_3, ...: the lowest free one.  A name held by anything else
 * stops the search, and the run is refused as before (exit 2, naming it).
 * MySQL has no OIDs: a table is an earlier run's old table when a state row
 * says so by name.  Stepping past a name is never destructive, so a user's
 * table that took over such a name is only ever stepped past, never touched.
 *
 * The RENAME takes its metadata locks in name order and must queue on T
 * first (src/my/my_swap.c), so every old name must start with T's whole
 * name: a name that would not fit in 64 bytes with "_osc_old_<n>" takes the
 * shorter "_osc_<n>" (a 56-byte T, the longest osc migrates on MySQL, has
 * room for _osc_2 to _osc_999).
 *
 * The name is chosen before anything is created and recorded in the state
 * row (old_table) when the row is inserted; a resume and `osc cleanup`
 * read it back (src/my/my_state.c), so a kill anywhere, between the
 * RENAME and the row's "swapped" included, finds the same name.
 */
#include "my.h"

#include <stdio.h>
#include <string.h>

bool my_old_set(My *my, int n)
{
	char suffix[24];
	size_t tlen = strlen(my->table);
	names_old_suffix(suffix, sizeof(suffix), n);
	if (tlen + strlen(suffix) > MY_NAMELEN && n > 1)
		snprintf(suffix, sizeof(suffix), "_osc_%d", n);
	if (tlen + strlen(suffix) > MY_NAMELEN)
		return false;
	snprintf(my->old, sizeof(my->old), "%s%s", my->table, suffix);
	return true;
}

bool my_old_use(My *my, const char *name, OscErr *e)
{
	size_t tlen = strlen(my->table);
	if (strlen(name) > MY_NAMELEN || strncmp(name, my->table, tlen) != 0 || strncmp(name + tlen, "_osc_", 5) != 0) {
		err_set(e, OSC_EXIT_FAILED, "internal: the state row of %s.%s names %s as its old table, not osc's name",
		        my->db, my->table, name);
		return false;
	}
	snprintf(my->old, sizeof(my->old), "%s", name);
	my->old_fixed = true;
	return true;
}

bool my_old_choose(My *my, MyObjects *o, OscErr *e)
{
	if (my->old_fixed)
		return my_objects_scan(my, NULL, o, e);
	char first[MY_NAMELEN + 1] = "", last[MY_NAMELEN + 1] = "";
	for (int n = 1; n <= OSC_OLD_MAX; n++) {
		bool earlier = false;
		if (!my_old_set(my, n))
			break;
		if (!my_objects_scan(my, NULL, o, e))
			return false;
		if (o->table[MY_ROLE_SENTRY] != MY_FOREIGN)
			goto chosen;
		if (!my_state_old_kept(my, my->old, &earlier, e))
			return false;
		if (!earlier)
			goto chosen; /* a user's table: the caller refuses, naming it */
		if (n == 1)
			snprintf(first, sizeof(first), "%s", my->old);
		snprintf(last, sizeof(last), "%s", my->old);
	}
	(void)my_old_set(my, 1);
	err_set(e, OSC_EXIT_INPUT,
	        "old tables of %s.%s kept by earlier osc runs hold every name osc may give this run's old table (%s "
	        "and the numbered ones after it, up to %d); drop the ones you no longer need (or run with "
	        "--drop-old-table); osc touched nothing",
	        my->db, my->table, my->old, OSC_OLD_MAX);
	return false;
chosen:
	if (first[0])
		log_msg(my->log, LOG_INFO, "earlier runs' old tables hold %s%s%s: this run keeps the original as %s.%s",
		        first, strcmp(first, last) ? " to " : "", strcmp(first, last) ? last : "", my->db, my->old);
	return true;
}
