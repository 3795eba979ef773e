/*
 * my_keyidx.c — an index on the shadow over the key osc merges by, on
 * MySQL/MariaDB, for as long as the shadow is osc's.
 *
 * The replay deletes the shadow's rows by the original's key, the chunk
 * checksums read the shadow's key range, and the swap's drain does both
 * under the table lock.  While the shadow is copied its secondary indexes
 * are deferred, and an ALTER that moves the primary key elsewhere (DROP
 * PRIMARY KEY, ADD PRIMARY KEY (email)) leaves no index on the old key at
 * all: each batch then scanned the whole shadow (122 ms under the lock at
 * 200k rows, growing with the table).  So when no index of the shadow
 * begins with the key's columns, osc adds one, marked by its comment, and
 * drops it under the swap's lock before the RENAME (an index drop is a
 * change of metadata): the new table has exactly the indexes the ALTER
 * gives it.  The fingerprints (src/my/my_state.c) leave it out, so the state
 * row's idea of the complete shadow holds with or without it.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Does an index of the shadow other than osc's begin with the key?  Is
 * osc's there (its name in ours)? */
static bool look(My *my, bool *covered, char *ours, size_t ourssz, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	*covered = false;
	ours[0] = '\0';
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART IS NULL AND INDEX_TYPE = 'BTREE', INDEX_COMMENT = %L"
	        " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " ORDER BY INDEX_NAME, SEQ_IN_INDEX",
	        MY_KEYIDX_MARK, my->db, my->shadow);
	bool ok = my_exec_sql(my, &q, &r, e);
	sql_free(&q);
	if (!ok)
		return false;
	char current[MY_NAMELEN + 1] = "";
	int matched = 0;
	bool usable = false;
	enum { I_NAME, I_SEQ, I_COLUMN, I_WHOLE_BTREE, I_OURS };
	while ((row = mysql_fetch_row(r)) != NULL) {
		if (strcmp(row[I_NAME], current) != 0) {
			snprintf(current, sizeof(current), "%s", row[I_NAME]);
			matched = 0;
			usable = strcmp(row[I_OURS], "1") != 0;
			if (strcmp(row[I_OURS], "1") == 0)
				snprintf(ours, ourssz, "%s", row[I_NAME]);
		}
		int seq = atoi(row[I_SEQ]);
		if (usable && seq == matched + 1 && seq <= my->nkeys && strcmp(row[I_WHOLE_BTREE], "1") == 0 &&
		    strcmp(row[I_COLUMN], my->keys[seq - 1].shadow) == 0)
			matched++;
		if (usable && matched == my->nkeys)
			*covered = true;
	}
	mysql_free_result(r);
	return true;
}

bool my_keyidx_ensure(My *my, OscErr *e)
{
	bool covered;
	char ours[MY_NAMELEN + 1];
	if (!look(my, &covered, ours, sizeof(ours), e))
		return false;
	if (covered || ours[0])
		return true;
	/* a name no index of the shadow has */
	MYSQL_RES *r = NULL;
	Sql q;
	char name[MY_NAMELEN + 1];
	bool ok = false;
	sql_init(&q, &my->dialect);
	for (int i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "osc_merge_key");
		else
			snprintf(name, sizeof(name), "osc_merge_key_%d", i);
		int64_t n = 0;
		sql_reset(&q);
		sql_add(&q,
		        "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
		        " AND INDEX_NAME = %L",
		        my->db, my->shadow, name);
		if (!my_count(my, &q, &n, e))
			goto out;
		if (n == 0)
			break;
	}
	sql_reset(&q);
	sql_add(&q, "ALTER TABLE %I.%I ADD INDEX %I (", my->db, my->shadow, name);
	my_key_list(my, &q, NULL, true);
	sql_add(&q, ") COMMENT %L", MY_KEYIDX_MARK);
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	log_msg(my->log, LOG_INFO,
	        "no index of the new table begins with %s's key: osc adds %s for its merges and drops it at the swap",
	        my->table, name);
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

bool my_keyidx_drop(My *my, bool *dropped, OscErr *e)
{
	bool covered;
	char ours[MY_NAMELEN + 1];
	*dropped = false;
	if (!look(my, &covered, ours, sizeof(ours), e))
		return false;
	if (ours[0] == '\0')
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "ALTER TABLE %I.%I DROP INDEX %I", my->db, my->shadow, ours);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	*dropped = ok;
	return ok;
}

bool my_keyidx_settle(My *my, OscErr *e)
{
	bool covered, dropped;
	char ours[MY_NAMELEN + 1];
	if (!look(my, &covered, ours, sizeof(ours), e))
		return false;
	/* an index the ALTER gives the new table begins with the key now */
	return !covered || ours[0] == '\0' || my_keyidx_drop(my, &dropped, e);
}
