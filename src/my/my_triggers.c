/*
 * my_triggers.c — the table's own (the user's) triggers on MySQL/MariaDB:
 * read, created again on another table, and brought back home.
 *
 * A RENAME TABLE takes a table's triggers along, so the swap moves the
 * user's triggers from T to the shadow under its lock, just before the
 * RENAME (src/my/my_swap.c).  Trigger names are unique per database, so a
 * move is a DROP and a CREATE: not atomic.  A kill between the move and
 * the RENAME (which then never runs: the server drops a queued statement
 * whose client is gone) leaves them on the shadow, where application
 * writes to T do not fire them and the replay's delete and insert would.
 * So a rerun, `osc cleanup` and an abort first bring them back to T
 * (my_triggers_home): never dropped with the shadow, never left to fire
 * for osc's own writes.  The move back runs under LOCK TABLES T WRITE,
 * followed by an ALTER that gives T a new definition version, for the
 * reason src/my/my_capture.c gives (MariaDB's stale prepared
 * statements after a CREATE TRIGGER on a table that has triggers).
 */
#include "my.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void my_triggers_free(MyTrigger *list, int n)
{
	for (int i = 0; i < n; i++) {
		MyTrigger *t = &list[i];
		free(t->name);
		free(t->timing);
		free(t->event);
		free(t->body);
		free(t->definer);
		free(t->sql_mode);
	}
	free(list);
}

bool my_triggers_read(My *my, const char *table, MyTrigger **out, int *n, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	bool ok = false;
	*out = NULL;
	*n = 0;
	sql_init(&q, &my->dialect);
	/* in the order they fire, so that creating them again in this order keeps it */
	sql_add(&q,
	        "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT, DEFINER, SQL_MODE"
	        " FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = %L AND EVENT_OBJECT_TABLE = %L"
	        " AND TRIGGER_NAME NOT IN (%L, %L, %L, %L, %L, %L) ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
	        my->db, table, my->trg_ins, my->trg_upd, my->trg_del, my->rtrg_ins, my->rtrg_upd, my->rtrg_del);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	enum { T_NAME, T_TIMING, T_EVENT, T_BODY, T_DEFINER, T_SQL_MODE };
	*out = xcalloc(mysql_num_rows(r) + 1, sizeof(MyTrigger));
	while ((row = mysql_fetch_row(r)) != NULL) {
		MyTrigger *t = &(*out)[(*n)++];
		t->name = my_strdup(row[T_NAME]);
		t->timing = my_strdup(row[T_TIMING]);
		t->event = my_strdup(row[T_EVENT]);
		t->body = my_strdup(row[T_BODY]);
		t->definer = my_strdup(row[T_DEFINER]);
		t->sql_mode = my_strdup(row[T_SQL_MODE]);
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* CREATE TRIGGER for t on `table` of T's database, from its
 * information_schema description (the header is rebuilt, so the table's
 * name as its author spelled it does not matter). */
void my_trigger_sql(My *my, const MyTrigger *t, const char *table, Sql *q)
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
	        strcmp(t->event, "INSERT") == 0 ? "INSERT" : strcmp(t->event, "UPDATE") == 0 ? "UPDATE" : "DELETE", my->db,
	        table, t->body);
}

/* The session's sql_mode, to set again after a trigger's own */
static char *session_mode(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	char *mode = NULL;
	if (my_exec(my, "SELECT @@SESSION.sql_mode", &r, e)) {
		MYSQL_ROW row = mysql_fetch_row(r);
		mode = my_strdup(row && row[MY_VALUE] ? row[MY_VALUE] : "");
	}
	mysql_free_result(r);
	return mode;
}

bool my_trigger_create(My *my, const MyTrigger *t, const char *table, OscErr *e)
{
	Sql q;
	OscErr e2;
	char *mode = session_mode(my, e);
	if (mode == NULL)
		return false;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SET SESSION sql_mode = %L", t->sql_mode);
	bool ok = my_exec_sql(my, &q, NULL, e);
	if (ok) {
		sql_reset(&q);
		my_trigger_sql(my, t, table, &q);
		ok = my_exec_sql(my, &q, NULL, e);
	}
	/* osc's own session mode again, whatever happened */
	err_clear(&e2);
	sql_reset(&q);
	sql_add(&q, "SET SESSION sql_mode = %L", mode);
	if (!my_exec_sql(my, &q, NULL, &e2)) {
		if (ok)
			*e = e2;
		ok = false;
	}
	free(mode);
	sql_free(&q);
	return ok;
}

bool my_trigger_move(My *my, const MyTrigger *t, const char *to, bool *dropped, OscErr *e)
{
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "DROP TRIGGER %I.%I", my->db, t->name);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	if (!ok)
		return false;
	*dropped = true;
	return my_trigger_create(my, t, to, e);
}

bool my_triggers_home(My *my, OscErr *e)
{
	MyTrigger *list = NULL;
	MYSQL_RES *r = NULL;
	int n = 0;
	bool ok = false, locked = false;
	Sql q;
	sql_init(&q, &my->dialect);
	if (!my_triggers_read(my, my->shadow, &list, &n, e))
		goto out;
	if (n == 0) {
		ok = true;
		goto out;
	}
	sql_add(&q, "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	MYSQL_ROW row = mysql_fetch_row(r);
	char *comment = my_strdup(row && row[MY_VALUE] ? row[MY_VALUE] : "");
	mysql_free_result(r);
	r = NULL;
	sql_reset(&q);
	sql_add(&q, "LOCK TABLES %I.%I WRITE, %I.%I WRITE", my->db, my->table, my->db, my->shadow);
	if (!my_lock_retry(my, "putting the table's triggers back", &q, e)) {
		free(comment);
		goto out;
	}
	locked = true;
	for (int i = 0; i < n; i++) {
		bool dropped = false;
		if (!my_trigger_move(my, &list[i], my->table, &dropped, e)) {
			if (dropped) {
				sql_reset(&q);
				my_trigger_sql(my, &list[i], my->table, &q);
				log_msg(my->log, LOG_ERROR, "trigger %s.%s is on neither table; create it on %s with: %s",
				        my->db, list[i].name, my->table, sql_text(&q));
			}
			free(comment);
			goto out;
		}
		log_msg(my->log, LOG_WARN, "trigger %s.%s was on %s (a swap was interrupted): back on %s", my->db,
		        list[i].name, my->shadow, my->table);
	}
	/* a new definition version of T: prepared statements are prepared afresh */
	sql_reset(&q);
	sql_add(&q, "ALTER TABLE %I.%I COMMENT = %L, ALGORITHM=INSTANT", my->db, my->table, comment);
	free(comment);
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	ok = true;
out:
	if (locked) {
		OscErr e2;
		err_clear(&e2);
		if (!my_exec(my, "UNLOCK TABLES", NULL, &e2)) {
			if (ok)
				*e = e2;
			else
				log_error(my->log, &e2);
			ok = false;
		}
	}
	mysql_free_result(r);
	my_triggers_free(list, n);
	sql_free(&q);
	return ok;
}
