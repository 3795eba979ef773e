/*
 * my_revert_capture.c — the reverse capture of a --revertible migration on
 * MySQL/MariaDB: after the swap, every write to the new table logs its key
 * into T_osc_rlog, exactly as the forward capture logged the original's
 * into T_osc_log, so that `osc revert` can bring the original (kept as
 * T_osc_old) up to date from the new table (docs/ARCHITECTURE.md "The
 * revert").
 *
 * It is the forward capture with the roles swapped (my_sql.c builds both
 * from one builder): the triggers T_osc_rins, T_osc_rupd, T_osc_rdel go on
 * the shadow, keyed by the shadow's key columns.  The swap (my_swap.c)
 * makes the log before its LOCK TABLES, and the triggers under it, after
 * the drain (the drain's own writes to the shadow must not be logged) and
 * before the sentry goes: a RENAME takes a table's triggers along, so the
 * first write to the new T is logged.  An attempt that does not swap drops
 * them again.  A kill between the triggers and the RENAME leaves them on
 * the shadow, where they would log the replay's merges: a rerun, an abort
 * and `osc cleanup` drop them (and the log) before anything else.
 *
 * Ownership as for every work object (my_owned.c): the log carries osc's
 * change-log mark, the triggers' bodies MY_CAPTURE_MARK; an object of one
 * of these names that is not osc's refuses a --revertible run before it
 * creates anything.
 */
#include "my.h"

#include <stdio.h>
#include <string.h>

bool my_table_owner(My *my, const char *name, MyRole role, MyOwner *who, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	char mark[256];
	*who = MY_ABSENT;
	my_marker(my, role, mark, sizeof(mark));
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT TABLE_TYPE = 'BASE TABLE' AND TABLE_COMMENT = %L FROM information_schema.TABLES"
	        " WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        mark, my->db, name);
	bool ok = my_exec_sql(my, &q, &r, e);
	MYSQL_ROW row = ok ? mysql_fetch_row(r) : NULL;
	if (row)
		*who = row[MY_VALUE] && strcmp(row[MY_VALUE], "1") == 0 ? MY_OURS : MY_FOREIGN;
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

static bool log_owner(My *my, const char *name, MyOwner *who, OscErr *e)
{
	return my_table_owner(my, name, MY_ROLE_LOG, who, e);
}

/* The reverse triggers: those on `on` that are osc's (marked) into mine (by
 * rtrg order), and whether any of those names is taken by something else. */
static bool triggers_scan(My *my, const char *on, bool mine[3], bool *foreign, OscErr *e)
{
	const char *names[3] = { my->rtrg_ins, my->rtrg_upd, my->rtrg_del };
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	*foreign = false;
	for (int i = 0; i < 3; i++)
		mine[i] = false;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE = %L AND LEFT(ACTION_STATEMENT, %d) = %L"
	        " FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %L AND TRIGGER_NAME IN (%L, %L, %L)",
	        on, (int)strlen(MY_CAPTURE_MARK), MY_CAPTURE_MARK, my->db, names[0], names[1], names[2]);
	bool ok = my_exec_sql(my, &q, &r, e);
	enum { G_NAME, G_OURS };
	while (ok && (row = mysql_fetch_row(r)) != NULL)
		for (int i = 0; i < 3; i++)
			if (strcmp(row[G_NAME], names[i]) == 0) {
				if (row[G_OURS] && strcmp(row[G_OURS], "1") == 0)
					mine[i] = true;
				else
					*foreign = true;
			}
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

bool my_rcapture_unswapped_drop(My *my, OscErr *e)
{
	const char *names[3] = { my->rtrg_ins, my->rtrg_upd, my->rtrg_del };
	bool mine[3], foreign;
	MyOwner log;
	Sql q;
	bool ok = true;
	/* before the swap they can only be on the shadow, which is osc's */
	if (!triggers_scan(my, my->shadow, mine, &foreign, e) || !log_owner(my, my->rlog, &log, e))
		return false;
	sql_init(&q, &my->dialect);
	for (int i = 0; i < 3 && ok; i++) {
		if (!mine[i])
			continue;
		sql_reset(&q);
		sql_add(&q, "DROP TRIGGER IF EXISTS %I.%I", my->db, names[i]);
		ok = my_exec_sql(my, &q, NULL, e);
	}
	if (ok && log == MY_OURS) {
		sql_reset(&q);
		sql_add(&q, "DROP TABLE IF EXISTS %I.%I", my->db, my->rlog);
		ok = my_exec_sql(my, &q, NULL, e);
	}
	sql_free(&q);
	return ok;
}

bool my_rcapture_names_check(My *my, OscErr *e)
{
	bool mine[3], foreign;
	MyOwner log;
	if (!triggers_scan(my, my->shadow, mine, &foreign, e) || !log_owner(my, my->rlog, &log, e))
		return false;
	if (!foreign && log != MY_FOREIGN)
		return true;
	err_set(e, OSC_EXIT_INPUT,
	        "--revertible: osc needs the names %s.%s (the reverse change log) and triggers %s, %s, %s for the "
	        "reverse capture, and %s not osc's (osc marks what it creates): rename them, or run without "
	        "--revertible; osc touched nothing",
	        my->db, my->rlog, my->rtrg_ins, my->rtrg_upd, my->rtrg_del,
	        log == MY_FOREIGN ? "that table is" : "a trigger of one of those names is");
	return false;
}

bool my_rcapture_log(My *my, OscErr *e)
{
	MyCapture c;
	MyOwner log;
	/* an earlier attempt's, or a killed run's */
	if (!my_rcapture_unswapped_drop(my, e) || !log_owner(my, my->rlog, &log, e))
		return false;
	if (log == MY_FOREIGN)
		return my_rcapture_names_check(my, e);
	my_capture_reverse(my, &c);
	return my_capture_log(my, &c, e);
}

/* Under the swap's lock: nothing writes the shadow from here to the RENAME,
 * and the RENAME gives every prepared statement on T a new definition to
 * prepare against (my_capture.c's reason for its ALTER does not arise). */
bool my_rcapture_triggers(My *my, OscErr *e)
{
	MyCapture c;
	Sql q[3];
	bool ok = true;
	my_capture_reverse(my, &c);
	for (int i = 0; i < 3; i++)
		sql_init(&q[i], &my->dialect);
	my_sql_capture(my, &c, q);
	for (int i = 0; i < 3 && ok; i++)
		ok = my_exec_sql(my, &q[i], NULL, e);
	for (int i = 0; i < 3; i++)
		sql_free(&q[i]);
	return ok;
}

static void trade(char *a, char *b)
{
	char t[MY_NAMELEN + 1];
	snprintf(t, sizeof(t), "%s", a);
	snprintf(a, MY_NAMELEN + 1, "%s", b);
	snprintf(b, MY_NAMELEN + 1, "%s", t);
}

void my_rcapture_turn_names(My *my)
{
	trade(my->log_table, my->rlog);
	trade(my->trg_ins, my->rtrg_ins);
	trade(my->trg_upd, my->rtrg_upd);
	trade(my->trg_del, my->rtrg_del);
}
