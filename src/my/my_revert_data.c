/*
 * my_revert_data.c — a row that cannot go back, on MySQL/MariaDB.
 *
 * A revert writes the new table's rows into the original through the
 * inverse column map (src/my/my_revert.c), under osc's strict sql_mode: a
 * value the old type cannot hold (3000000000 into an INT, a string longer
 * than the old VARCHAR), a NULL into a column that was NOT NULL, a row the
 * original's CHECK refuses, fails the merge's INSERT ... SELECT with one of
 * the errors below, and the core refuses the revert (exit 2), the new
 * table untouched.  The server's message names the column, not the row;
 * so the batch's keys are tried one at a time, under a savepoint that is
 * rolled back (the core then rolls the batch back), and the first that
 * fails is named: "the row (id)=(42) cannot go back to the original: Out
 * of range value for column 'n' at row 1".  Under the swap's LOCK TABLES
 * there is no transaction (START TRANSACTION would unlock): there the
 * single rows that go in commit, which is harmless, since their keys stay
 * in the reverse log and the next merge replaces them.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool my_is_data_error(const OscErr *e)
{
	/* out of range, truncated, incorrect value, incorrect date, too long,
	 * NULL into NOT NULL, no default, CHECK (MySQL 8, MariaDB) */
	static const char *const codes[] = { "1264", "1265", "1366", "1292", "1406", "1048",
		                                 "1364", "3819", "4025", NULL };
	for (const char *const *c = codes; *c; c++)
		if (strcmp(e->sqlstate, *c) == 0)
			return true;
	return false;
}

/* Tries the rows of keys one at a time: the first that fails as e did
 * (its description into row, the server's message into msg); false when
 * none does, or the search itself failed. */
static bool find_row(MySession *s, My *my, const char *keys, char *row, size_t rowsz, char *msg, size_t msgsz)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW v;
	Sql q, one;
	OscErr e;
	bool found = false;

	err_clear(&e);
	sql_init(&q, &my->dialect);
	sql_init(&one, &my->dialect);
	/* the batch's rows as they are now (a key deleted since has none) */
	sql_add(&q, "SELECT ");
	for (int k = 0; k < my->nkeys; k++) {
		if (k)
			sql_add(&q, ", ");
		my_key_read(my, &q, "src", k);
	}
	sql_add(&q, " FROM %I.%I src WHERE ", my->db, my->table);
	my_key_in(my, &q, "src", false, keys);
	if (!mys_exec_sql(s, &q, &r, &e))
		goto out;
	while (!found && (v = mysql_fetch_row(r)) != NULL) {
		MyKeyVal *key = my_key_value(my, v, 0);
		sql_reset(&one);
		sql_add(&one, "(");
		for (int k = 0; k < my->nkeys; k++)
			sql_add(&one, "%s%s", k ? ", " : "", key->lit[k]);
		sql_add(&one, ")");
		sql_reset(&q);
		my_sql_merge_insert(my, &q, sql_text(&one), NULL);
		err_clear(&e);
		if (!mys_exec_sql(s, &q, NULL, &e) && my_is_data_error(&e)) {
			char vals[512];
			Sql cols;
			sql_init(&cols, &my->dialect);
			for (int k = 0; k < my->nkeys; k++)
				sql_add(&cols, "%s%s", k ? ", " : "", my->keys[k].name);
			my_key_value_describe(key, vals, sizeof(vals));
			snprintf(row, rowsz, "(%s)=%s", sql_text(&cols), vals);
			snprintf(msg, msgsz, "%.1000s", e.msg);
			sql_free(&cols);
			found = true;
		}
		my_key_value_free(key);
	}
out:
	if (e.msg[0] && !found)
		log_msg(my->log, LOG_DEBUG, "looking for the row that cannot go back: %s", e.msg);
	mysql_free_result(r);
	sql_free(&q);
	sql_free(&one);
	return found;
}

void my_revert_name_row(MySession *s, My *my, const char *keys, OscErr *e)
{
	char row[700], msg[1024];
	OscErr e2;
	if (!my_is_data_error(e))
		return;
	/* the batch's transaction goes on after a failed statement; the probes
	 * go under a savepoint of their own */
	bool savepoint = !s->in_lock;
	err_clear(&e2);
	if (savepoint && !mys_exec(s, "SAVEPOINT osc_revert_probe", NULL, &e2)) {
		log_error(my->log, &e2);
		savepoint = false;
	}
	bool found = find_row(s, my, keys, row, sizeof(row), msg, sizeof(msg));
	if (savepoint && !mys_exec(s, "ROLLBACK TO SAVEPOINT osc_revert_probe", NULL, &e2))
		log_error(my->log, &e2);
	char sqlstate[sizeof(e->sqlstate)];
	snprintf(sqlstate, sizeof(sqlstate), "%s", e->sqlstate);
	if (found) {
		/* what the core says is "revert refused: " + this, exit 2 */
		err_set(e, OSC_EXIT_FAILED, "the row %s cannot go back to the original: %s", row, msg);
		snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", sqlstate);
	} else {
		err_wrap(e, OSC_EXIT_FAILED, "a row cannot go back to the original: ", "");
	}
}
