/*
 * my_privs.c — every privilege a MySQL/MariaDB run needs, checked in
 * preflight: a limited user is told up front what to GRANT, instead of
 * failing at LOCK TABLES after its shadow and log exist (and then failing
 * its own cleanup).
 *
 * The privileges come from SHOW GRANTS, which lists the user's grants and
 * those of its enabled roles (information_schema leaves the roles' out).
 * What a run does, and what it needs:
 *   on the table's database (global grants count too):
 *     SELECT, INSERT, UPDATE, DELETE    the copy, the change log, the
 *                                       heartbeat and the state table
 *     CREATE, DROP, ALTER               the shadow and its work tables, the
 *                                       swap's RENAME, the indexes built
 *                                       after the copy (ALTER TABLE ... ADD
 *                                       INDEX: no INDEX privilege), the
 *                                       in-place ALTER
 *     LOCK TABLES                       the capture install and the swap
 *     TRIGGER                           the capture triggers, and the
 *                                       table's own moved at the swap
 *   globally:
 *     SUPER, while the binary log is on and log_bin_trust_function_creators
 *       is off: the server refuses CREATE TRIGGER to anyone else
 *     SET USER (or SUPER), when a trigger of the table has another definer:
 *       the swap re-creates it with that DEFINER
 *     what SHOW SLAVE STATUS asks for (SLAVE MONITOR on MariaDB 10.5+,
 *       REPLICATION CLIENT before): telling a replica from a primary
 *     what SHOW SLAVE HOSTS asks for (REPLICATION MASTER ADMIN), when no
 *       --replica names the replicas to watch
 *     READ_ONLY ADMIN (SUPER before 10.11), to write a read_only server
 *       with --allow-on-replica
 * The last three are found by asking the server: its refusal names the
 * privilege, whatever its version calls it.
 *
 * The capture triggers run as their definer, osc's user, for every write
 * of the application, and the server checks the definer's privileges there
 * without its roles: TRIGGER, SELECT (the OLD and NEW columns) and INSERT
 * (the change log) must be granted to the user itself.  Through a role
 * only, every application write to the table would fail once the triggers
 * exist.
 */
#include "my_target.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* LIKE matching, as the server matches a database grant's pattern: % any
 * run, _ one character, \ takes the next one as it is. */
/* The missing privileges, each said once as the GRANT that gives it. */
void my_grants_init(MyGrants *g, My *my)
{
	sql_init(&g->text, &my->dialect);
	g->n = 0;
}

void my_grants_add(MyGrants *g, const MyServer *to, const char *privs, const char *on, const char *why)
{
	Sql q;
	sql_init(&q, g->text.dialect);
	sql_add(&q, "GRANT %s ON %s TO %L@%L", privs, on, to->user, to->host);
	const char *s = sql_text(&q), *have = sql_text(&g->text);
	if (strstr(have, s) == NULL) {
		sql_add(&g->text, "\n  %s;  -- %s", s, why);
		g->n++;
	}
	sql_free(&q);
}

void my_grants_free(MyGrants *g)
{
	sql_free(&g->text);
}

static bool like(const char *pat, const char *s)
{
	for (; *pat; pat++, s++) {
		if (*pat == '%') {
			for (const char *t = s;; t++) {
				if (like(pat + 1, t))
					return true;
				if (*t == '\0')
					return false;
			}
		}
		if (*pat == '\\' && pat[1])
			pat++;
		else if (*pat == '_' && *s) {
			continue;
		}
		if (*s != *pat)
			return false;
	}
	return *s == '\0';
}

/* The text of a backquoted name at p (`a``b` -> a`b) into out; the
 * character after it, or NULL when p is not one. */
static const char *unquote(const char *p, char *out, size_t outsz)
{
	size_t n = 0;
	if (*p != '`')
		return NULL;
	for (p++; *p; p++) {
		if (*p == '`') {
			if (p[1] != '`')
				break;
			p++;
		}
		if (n + 1 < outsz)
			out[n++] = *p;
	}
	out[n] = '\0';
	return *p == '`' ? p + 1 : NULL;
}

/* Where `word` (" ON ", " TO ") starts in s outside backquotes and
 * parentheses, or NULL. */
static const char *find_outside(const char *s, const char *word)
{
	int depth = 0;
	bool quoted = false;
	size_t n = strlen(word);
	for (const char *p = s; *p; p++) {
		if (*p == '`')
			quoted = !quoted;
		else if (!quoted && *p == '(')
			depth++;
		else if (!quoted && *p == ')')
			depth--;
		else if (!quoted && depth == 0 && strncmp(p, word, n) == 0)
			return p;
	}
	return NULL;
}

/* Marks in have[] the privileges of privs (a "SELECT, INSERT (`c`), ..."
 * list; a column-level one does not count) that are among want[]. */
static void mark(const char *privs, size_t len, const char *const *want, int n, bool *have)
{
	const char *p = privs, *end = privs + len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == ','))
			p++;
		const char *s = p;
		int depth = 0;
		bool columns = false;
		while (p < end && (depth > 0 || *p != ',')) {
			if (*p == '(') {
				depth++;
				columns = true;
			} else if (*p == ')') {
				depth--;
			}
			p++;
		}
		size_t k = (size_t)(p - s);
		while (k > 0 && s[k - 1] == ' ')
			k--;
		if (columns || k == 0)
			continue;
		bool all = (k == 3 && strncasecmp(s, "ALL", 3) == 0) || (k == 14 && strncasecmp(s, "ALL PRIVILEGES", 14) == 0);
		for (int i = 0; i < n; i++)
			if (all || (strlen(want[i]) == k && strncasecmp(s, want[i], k) == 0))
				have[i] = true;
	}
}

/* The grantee of a SHOW GRANTS line (after " TO ") is a user, not a role. */
static bool to_user(const char *line)
{
	const char *to = find_outside(line, " TO ");
	return to && find_outside(to + 4, "@") != NULL;
}

bool my_privs_has(MySession *conn, const char *db, const char *const *privs, int n, bool direct, bool *have, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;

	for (int i = 0; i < n; i++)
		have[i] = false;
	if (!mys_exec(conn, "SHOW GRANTS", &r, e))
		return false;
	while (r && (row = mysql_fetch_row(r)) != NULL) {
		const char *line = row[MY_VALUE];
		if (line == NULL || strncmp(line, "GRANT ", 6) != 0)
			continue;
		const char *on = find_outside(line + 6, " ON ");
		if (on == NULL)
			continue; /* a role granted: its privileges are listed too */
		if (direct && !to_user(line))
			continue;
		const char *obj = on + 4;
		bool applies = false;
		if (strncmp(obj, "*.* ", 4) == 0) {
			applies = true;
		} else if (db) {
			char name[200];
			const char *after = unquote(obj, name, sizeof(name));
			applies = after && strncmp(after, ".* ", 3) == 0 && like(name, db);
		}
		if (applies)
			mark(line + 6, (size_t)(on - (line + 6)), privs, n, have);
	}
	mysql_free_result(r);
	return true;
}

bool my_privs_denied(const char *msg, char *out, size_t outsz)
{
	const char *p = strstr(msg, "you need (at least one of) the ");
	if (p == NULL)
		return false;
	p += strlen("you need (at least one of) the ");
	const char *end = strstr(p, " privilege");
	if (end == NULL)
		return false;
	const char *last = p;
	for (const char *c = p; c < end; c++)
		if (*c == ',')
			last = c + 1;
	while (last < end && *last == ' ')
		last++;
	snprintf(out, outsz, "%.*s", (int)(end - last), last);
	return out[0] != '\0';
}

/* A trigger of the table whose definer is not the user: the swap
 * re-creates it under that DEFINER. */
static bool foreign_definer(My *my, bool *any, OscErr *e)
{
	Sql q;
	int64_t n = 0;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = %L"
	        " AND EVENT_OBJECT_TABLE = %L AND DEFINER <> CURRENT_USER()",
	        my->db, my->table);
	bool ok = my_count(my, &q, &n, e);
	*any = n > 0;
	sql_free(&q);
	return ok;
}

bool my_privs_check(My *my, const MyServer *self, MyGrants *g, OscErr *e)
{
	static const char *const db_privs[] = { "SELECT", "INSERT", "UPDATE",      "DELETE",
		                                    "CREATE", "DROP",   "ALTER",       "LOCK TABLES", "TRIGGER" };
	enum { NDB = sizeof(db_privs) / sizeof(db_privs[0]) };
	static const char *const global_privs[] = { "SUPER", "SET USER", "READ_ONLY ADMIN" };
	static const char *const trigger_privs[] = { "SELECT", "INSERT", "TRIGGER" };
	bool have[NDB], thave[3], ghave[3];
	char list[200] = "", tlist[100] = "", why[300];

	if (!my_privs_has(&my->main, my->db, db_privs, NDB, false, have, e) ||
	    !my_privs_has(&my->main, my->db, trigger_privs, 3, true, thave, e) ||
	    !my_privs_has(&my->main, NULL, global_privs, 3, false, ghave, e))
		return false;
	for (int i = 0; i < NDB; i++)
		if (!have[i])
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? ", " : "", db_privs[i]);
	for (int i = 0; i < 3; i++) {
		bool listed = false;
		for (int k = 0; k < NDB; k++)
			listed |= !have[k] && strcmp(db_privs[k], trigger_privs[i]) == 0;
		if (!thave[i] && !listed)
			snprintf(tlist + strlen(tlist), sizeof(tlist) - strlen(tlist), "%s%s", tlist[0] ? ", " : "",
			         trigger_privs[i]);
	}
	Sql on;
	sql_init(&on, &my->dialect);
	sql_add(&on, "%I.*", my->db);
	if (list[0])
		my_grants_add(g, self, list, sql_text(&on),
		              "the shadow, change log, heartbeat and state tables in this database, the capture "
		              "triggers, LOCK TABLES and the swap's RENAME");
	if (tlist[0])
		my_grants_add(g, self, tlist, sql_text(&on),
		              "to the user itself, not through a role: the capture triggers run as their definer, whose "
		              "roles do not count there, and the application's writes would fail");
	sql_free(&on);
	if (self->log_bin && !self->trust_creators && !ghave[0])
		my_grants_add(g, self, "SUPER", "*.*",
		              "with the binary log on, the server lets only SUPER create triggers (or SET GLOBAL "
		              "log_bin_trust_function_creators = 1)");
	bool any = false;
	if (!foreign_definer(my, &any, e))
		return false;
	if (any && !ghave[0] && !ghave[1])
		my_grants_add(g, self, self->mariadb && self->version >= 100502 ? "SET USER" : "SUPER", "*.*",
		              "a trigger of the table has another definer; the swap re-creates it as that definer");
	if (self->denied[0]) {
		snprintf(why, sizeof(why), "SHOW SLAVE STATUS: osc refuses to run on a replica, and must see whether this "
		                           "server is one");
		my_grants_add(g, self, self->denied, "*.*", why);
	}
	if ((self->read_only || self->super_read_only) && my->env->allow_on_replica) {
		bool roa = self->mariadb && self->version >= 101100;
		if (!(roa ? ghave[2] : ghave[0]))
			my_grants_add(g, self, roa ? "READ_ONLY ADMIN" : "SUPER", "*.*",
			              "--allow-on-replica on a read_only server: osc's writes need it");
	}
	return true;
}
