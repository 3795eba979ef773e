/*
 * my_revert_state.c — what the state row (src/my/my_state.c) keeps of a
 * --revertible migration on MySQL/MariaDB, and how a revert writes to it.
 *
 * One row per migration, the revert included: `osc revert` is the way back
 * of the forward migration, so it writes to that row and never makes its
 * own.  The columns (added to an older osc's table as the others are):
 *   revert           NULL: not --revertible; 'pending' until the swap, then
 *                    'revertible', 'reverting' while a revert runs (back to
 *                    'revertible' when it fails or stops), 'reverted',
 *                    'finished' (`osc finish`)
 *   column_map       the forward column map, [[new, source], ...]: the
 *                    revert maps the columns back through it
 *   fingerprint_old  the original's definition (T_osc_old) right after the
 *                    swap: a revert refuses one changed since
 *   rev_table        the name the revert's swap gives the new-schema table
 *                    (T_osc_rev), chosen before its swap so that a rerun
 *                    after a kill finds it
 * A revert's state_record writes the phase, the message and the revert
 * column, never the forward run's outcome or counters: the row stays the
 * forward migration's, done.  While the table has a revertible migration a
 * new one, and `osc cleanup`, are refused: either would take the names,
 * or the original, the revert needs.
 */
#include "my.h"

#include <stdio.h>
#include <string.h>

bool my_state_has_column(My *my, const char *column, bool *has, OscErr *e)
{
	int64_t n = 0;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " AND COLUMN_NAME = %L",
	        my->db, MY_STATE_TABLE, column);
	bool ok = my_count(my, &q, &n, e);
	*has = n > 0;
	sql_free(&q);
	return ok;
}

void my_revert_map_json(const My *my, Sql *q)
{
	sql_add(q, "JSON_ARRAY(");
	for (int i = 0; i < my->ncols; i++)
		sql_add(q, "%sJSON_ARRAY(%L, %L)", i ? ", " : "", my->cols[i].name, my->cols[i].source);
	sql_add(q, ")");
}

/* The forward swap committed (its RENAME, or a rerun or `osc cleanup` that
 * found it had): the original as it is now is what a revert goes back to. */
bool my_revert_armed(My *my, OscErr *e)
{
	char fp[65];
	if (!my->revertible || my->state_id == 0)
		return true;
	if (!my_fingerprint(my, my->old, fp, sizeof(fp), e))
		return false;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "UPDATE %I.%I SET revert = 'revertible', fingerprint_old = %L, updated_at = UTC_TIMESTAMP(3)"
	        " WHERE id = %ld AND revert = 'pending'",
	        my->db, MY_STATE_TABLE, fp, (long)my->state_id);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

bool my_revert_refuse_new(My *my, const char *what, OscErr *e)
{
	bool exists = false, has = false;
	MYSQL_RES *r = NULL;
	if (!my_state_exists(my, &exists, e))
		return false;
	if (!exists)
		return true;
	if (!my_state_has_column(my, "revert", &has, e))
		return false;
	if (!has)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	/* the forward run done: one killed after its swap is the resume's, or
	 * `osc cleanup`'s, to finish first */
	sql_add(&q,
	        "SELECT alter_spec FROM %I.%I WHERE table_name = %L AND revert IN ('revertible', 'reverting')"
	        " AND outcome = 'done' ORDER BY id DESC LIMIT 1",
	        my->db, MY_STATE_TABLE, my->table);
	bool ok = my_exec_sql(my, &q, &r, e);
	MYSQL_ROW row = ok ? mysql_fetch_row(r) : NULL;
	if (row) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s has a revertible migration (`%s`): `osc revert --table %s` or `osc finish --table %s` "
		        "first (%s would take what the revert needs); osc touched nothing",
		        my->db, my->table, row[MY_VALUE] ? row[MY_VALUE] : "?", my->env->table_arg, my->env->table_arg,
		        what);
		ok = false;
	}
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

bool my_revert_record(My *my, const char *phase, const char *outcome, const char *message, OscErr *e)
{
	if (my->state_id == 0)
		return true;
	/* the forward row stays done: a revert that failed or stopped leaves it
	 * revertible, in the phase it had */
	bool back = outcome && (strcmp(outcome, "failed") == 0 || strcmp(outcome, "stopped") == 0 ||
	                        strcmp(outcome, "aborted") == 0);
	const char *revert = outcome == NULL                   ? NULL
	                     : strcmp(outcome, "running") == 0  ? "reverting"
	                     : strcmp(outcome, "reverted") == 0 ? "reverted"
	                     : back                             ? "revertible"
	                                                        : NULL;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "UPDATE %I.%I SET ", my->db, MY_STATE_TABLE);
	if (back)
		sql_add(&q, "phase = 'done', ");
	else if (phase)
		sql_add(&q, "phase = %L, ", phase);
	if (revert)
		sql_add(&q, "revert = %L, ", revert);
	if (message)
		sql_add(&q, "message = %L, ", message);
	sql_add(&q, "updated_at = UTC_TIMESTAMP(3) WHERE id = %ld", (long)my->state_id);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	/* a revert that ends before its swap has no cleanup (src/core/revert.c):
	 * the heartbeat its lag monitor made (stopped by now) goes here */
	return ok && (!back || my_drop_if_ours(my, MY_ROLE_HEARTBEAT, e));
}
