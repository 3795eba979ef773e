/*
 * my_owned.c — which of the objects named like osc's work objects osc made,
 * on MySQL/MariaDB.
 *
 * osc's names are derived from the table's (users_osc_new, users_osc_log,
 * users_osc_old, users_osc_hb, users_osc_ins/upd/del), and a user may have a
 * table or a trigger of that name already: precious_osc_log beside
 * precious.  DDL is not transactional, so a name alone proves nothing, and
 * `osc cleanup` once dropped such a user table with its rows.  So osc marks
 * what it creates, and drops or reuses only what carries its mark:
 *   the change log, the swap's sentry, the heartbeat table
 *                   TABLE_COMMENT is "osc work table: <role> of <table>"
 *   the shadow      the same mark from right after its CREATE until the
 *                   swap, when the comment the ALTER leaves it (kept in the
 *                   state row) is put back under the swap's lock, before the
 *                   RENAME: the mark never reaches the user's new table.
 *                   In the milliseconds between that and the RENAME a kill
 *                   leaves it unmarked; it is still osc's when the state
 *                   row is in the cut-over and the table's fingerprint is
 *                   the one the row recorded for the complete shadow
 *   capture triggers the body begins with MY_CAPTURE_MARK, a comment just
 *                   inside BEGIN (the server keeps a comment there, and
 *                   drops one before a bare statement), and the trigger is
 *                   on the table, or on the old table after the swap, or
 *                   (a --revertible swap's reverse capture) on the shadow
 * Anything else under one of those names is the user's: a new run refuses
 * before it creates anything (exit 2), naming it, and cleanup leaves it.
 */
#include "my.h"

#include <stdio.h>
#include <string.h>

/* The heartbeat table, beside the table (src/my/my_heartbeat.c writes it). */
void my_heartbeat_name(My *my, char *out, size_t outsz)
{
	names_derive(out, outsz, "", my->table, "_osc_hb", MY_NAMELEN);
}

static const char *role_text(MyRole r)
{
	switch (r) {
	case MY_ROLE_SHADOW:
		return "new table";
	case MY_ROLE_LOG:
		return "change log";
	case MY_ROLE_SENTRY:
		return "swap sentry";
	case MY_ROLE_HEARTBEAT:
		return "heartbeat";
	}
	return "?";
}

void my_marker(My *my, MyRole role, char *out, size_t outsz)
{
	snprintf(out, outsz, "osc work table: %s of %s", role_text(role), my->table);
}

const char *my_role_name(MyRole role)
{
	return role_text(role);
}

/* the table named name (in out->tables[role]) */
static const char *table_of(My *my, MyRole role, char *hb, size_t hbsz)
{
	switch (role) {
	case MY_ROLE_SHADOW:
		return my->shadow;
	case MY_ROLE_LOG:
		return my->log_table;
	case MY_ROLE_SENTRY:
		return my->old;
	case MY_ROLE_HEARTBEAT:
		my_heartbeat_name(my, hb, hbsz);
		return hb;
	}
	return "";
}

const char *my_role_table(My *my, MyRole role, char *buf, size_t bufsz)
{
	return table_of(my, role, buf, bufsz);
}

bool my_objects_scan(My *my, const char *shadow_fp, MyObjects *out, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	char hb[MY_NAMELEN + 1];
	bool ok = false;

	memset(out, 0, sizeof(*out));
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT TABLE_NAME, TABLE_COMMENT, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L"
	        " AND TABLE_NAME IN (%L, %L, %L, %L)",
	        my->db, my->shadow, my->log_table, my->old, table_of(my, MY_ROLE_HEARTBEAT, hb, sizeof(hb)));
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	enum { T_NAME, T_COMMENT, T_TYPE };
	while ((row = mysql_fetch_row(r)) != NULL) {
		for (int role = 0; role < MY_NROLES; role++) {
			char name[MY_NAMELEN + 1], mark[256];
			snprintf(name, sizeof(name), "%s", table_of(my, (MyRole)role, hb, sizeof(hb)));
			/* information_schema compares names as the file system does */
			if (strcmp(row[T_NAME], name) != 0)
				continue;
			my_marker(my, (MyRole)role, mark, sizeof(mark));
			bool marked = strcmp(row[T_TYPE], "BASE TABLE") == 0 && row[T_COMMENT] && strcmp(row[T_COMMENT], mark) == 0;
			out->table[role] = marked ? MY_OURS : MY_FOREIGN;
		}
	}
	mysql_free_result(r);
	r = NULL;
	/* the shadow between the swap's comment and its RENAME (see the banner) */
	if (out->table[MY_ROLE_SHADOW] == MY_FOREIGN && shadow_fp && shadow_fp[0]) {
		char fp[65];
		if (!my_fingerprint(my, my->shadow, fp, sizeof(fp), e))
			goto out;
		if (strcmp(fp, shadow_fp) == 0) {
			out->table[MY_ROLE_SHADOW] = MY_OURS;
			out->shadow_unmarked = true;
		}
	}
	sql_reset(&q);
	sql_add(&q,
	        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, LEFT(ACTION_STATEMENT, %d) = %L FROM information_schema.TRIGGERS"
	        " WHERE TRIGGER_SCHEMA = %L AND TRIGGER_NAME IN (%L, %L, %L)",
	        (int)strlen(MY_CAPTURE_MARK), MY_CAPTURE_MARK, my->db, my->trg_ins, my->trg_upd, my->trg_del);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	enum { G_NAME, G_TABLE, G_MARKED };
	while ((row = mysql_fetch_row(r)) != NULL) {
		const char *names[3] = { my->trg_ins, my->trg_upd, my->trg_del };
		for (int i = 0; i < 3; i++) {
			if (strcmp(row[G_NAME], names[i]) != 0)
				continue;
			bool mine = row[G_MARKED] && strcmp(row[G_MARKED], "1") == 0 &&
			            (strcmp(row[G_TABLE], my->table) == 0 || strcmp(row[G_TABLE], my->old) == 0 ||
			             strcmp(row[G_TABLE], my->shadow) == 0);
			out->trigger[i] = mine ? MY_OURS : MY_FOREIGN;
			if (mine)
				out->capture++;
		}
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

bool my_objects_any(const MyObjects *o, MyOwner who)
{
	for (int i = 0; i < MY_NROLES; i++)
		if (o->table[i] == who)
			return true;
	for (int i = 0; i < 3; i++)
		if (o->trigger[i] == who)
			return true;
	return false;
}

void my_objects_foreign(My *my, const MyObjects *o, char *out, size_t outsz)
{
	const char *names[3] = { my->trg_ins, my->trg_upd, my->trg_del };
	char hb[MY_NAMELEN + 1];
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < MY_NROLES && n < outsz; i++)
		if (o->table[i] == MY_FOREIGN)
			n += (size_t)snprintf(out + n, outsz - n, "%stable %s.%s (osc's %s)", n ? ", " : "", my->db,
			                      table_of(my, (MyRole)i, hb, sizeof(hb)), role_text((MyRole)i));
	for (int i = 0; i < 3 && n < outsz; i++)
		if (o->trigger[i] == MY_FOREIGN)
			n += (size_t)snprintf(out + n, outsz - n, "%strigger %s.%s (osc's capture trigger)", n ? ", " : "",
			                      my->db, names[i]);
}

bool my_objects_refuse_foreign(My *my, const MyObjects *o, OscErr *e)
{
	char list[1024];
	if (!my_objects_any(o, MY_FOREIGN))
		return true;
	my_objects_foreign(my, o, list, sizeof(list));
	err_set(e, OSC_EXIT_INPUT,
	        "%s: osc needs these names for its work objects, and they are not osc's (osc marks what it creates): "
	        "rename them, or drop them if nobody needs them; osc touched nothing",
	        list);
	return false;
}

bool my_drop_if_ours(My *my, MyRole role, OscErr *e)
{
	MyObjects o;
	char hb[MY_NAMELEN + 1];
	if (!my_objects_scan(my, NULL, &o, e))
		return false;
	if (o.table[role] != MY_OURS)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "DROP TABLE IF EXISTS %I.%I", my->db, table_of(my, role, hb, sizeof(hb)));
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

bool my_mark(My *my, MyRole role, const char *table, OscErr *e)
{
	char mark[256];
	my_marker(my, role, mark, sizeof(mark));
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "ALTER TABLE %I.%I COMMENT = %L", my->db, table, mark);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

int my_drop_ours(My *my, const MyObjects *o, bool shadow, char *done, size_t donesz, OscErr *e)
{
	char hb[MY_NAMELEN + 1];
	int n = 0;
	size_t len = strlen(done);
	for (int role = 0; role < MY_NROLES; role++) {
		if (o->table[role] != MY_OURS || (role == MY_ROLE_SHADOW && !shadow))
			continue;
		Sql q;
		sql_init(&q, &my->dialect);
		sql_add(&q, "DROP TABLE IF EXISTS %I.%I", my->db, table_of(my, (MyRole)role, hb, sizeof(hb)));
		bool ok = my_exec_sql(my, &q, NULL, e);
		sql_free(&q);
		if (!ok)
			return -1;
		if (len < donesz)
			len += (size_t)snprintf(done + len, donesz - len, "%s%s", len ? ", " : "", role_text((MyRole)role));
		n++;
	}
	return n;
}

int my_has_rows(My *my, const char *table)
{
	OscErr e;
	Sql q;
	int64_t n = 0;
	err_clear(&e);
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " AND TABLE_TYPE = 'BASE TABLE'",
	        my->db, table);
	int res = -1;
	if (my_count(my, &q, &n, &e) && n > 0) {
		sql_reset(&q);
		sql_add(&q, "SELECT COUNT(*) FROM (SELECT 1 FROM %I.%I LIMIT 1) x", my->db, table);
		if (my_count(my, &q, &n, &e))
			res = n > 0;
	}
	if (e.msg[0])
		log_error(my->log, &e);
	sql_free(&q);
	return res;
}
