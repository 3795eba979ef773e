/*
 * my_target.c — refusing the wrong MySQL/MariaDB target before anything is
 * made (see my_target.h).
 *
 *   the --alter   the lexer (src/lib/alter.c) reads PostgreSQL's rules; where
 *                 MySQL's would make the server execute text osc did not
 *                 see (an executable comment, an optimizer hint, a # or
 *                 "--x", a backslash before a quote ...), the run is
 *                 refused: a CHANGE inside such a comment renamed a column
 *                 the copy never mapped.  Refused rather than read as the
 *                 server does: /[*]!50700 ... [*]/ and /[*]M! ... [*]/ run or
 *                 not by server version and flavour, and nothing in an
 *                 ALTER needs them, so plain SQL says the same thing.
 *   a replica     replication running (SHOW ALL SLAVES STATUS: an I/O or
 *                 SQL thread), or read_only / super_read_only: osc's
 *                 tables and ALTER would exist on this server only.  The
 *                 primary is named when the server shows it.
 *                 --allow-on-replica runs anyway (gh-ost's
 *                 --migrate-on-replica makes the same choice explicit).
 *   the replicas  the --replica URLs, else those in SHOW SLAVE HOSTS
 *                 (reached with osc's credentials): each must answer,
 *                 replicate, and not be this server; each is read with a
 *                 user that can SELECT osc's heartbeat table there.  One
 *                 that cannot be reached would pause the run for ever.
 *   privileges    src/my/my_privs.c; every missing one is reported as the
 *                 GRANT statement that gives it, all at once.
 */
#include "my_target.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "url.h"

static void one_line(char *out, size_t outsz, const char *msg)
{
	size_t k = 0;
	for (const char *p = msg; *p && k + 1 < outsz; p++) {
		char ch = isspace((unsigned char)*p) ? ' ' : *p;
		if (ch == ' ' && (k == 0 || out[k - 1] == ' '))
			continue;
		out[k++] = ch;
	}
	out[k] = '\0';
}

/* The column named name in r, or -1.  MySQL 8.4's SHOW REPLICA STATUS
 * says Replica_ and Source_ where MariaDB says Slave_ and Master_. */
static int column(MYSQL_RES *r, const char *name)
{
	char alt[64] = "";
	if (strncmp(name, "Slave_", 6) == 0)
		snprintf(alt, sizeof(alt), "Replica_%s", name + 6);
	else if (strncmp(name, "Master_", 7) == 0)
		snprintf(alt, sizeof(alt), "Source_%s", name + 7);
	MYSQL_FIELD *f = mysql_fetch_fields(r);
	for (unsigned i = 0; i < mysql_num_fields(r); i++)
		if (strcasecmp(f[i].name, name) == 0 || (alt[0] && strcasecmp(f[i].name, alt) == 0))
			return (int)i;
	return -1;
}

/* The columns of SHOW GLOBAL STATUS and SHOW GLOBAL VARIABLES. */
enum { V_NAME, V_VALUE };

static bool is_on(const char *v)
{
	return v && (strcasecmp(v, "ON") == 0 || strcmp(v, "1") == 0);
}

/* Replication on s's server: SHOW ALL SLAVES STATUS (every named
 * connection of MariaDB's multi-source), SHOW SLAVE STATUS elsewhere. */
static bool read_replication(MySession *conn, MyServer *s, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	OscErr se;

	err_clear(&se);
	bool shown = mys_exec(conn, s->mariadb ? "SHOW ALL SLAVES STATUS" : "SHOW SLAVE STATUS", &r, &se);
	if (!shown && !s->mariadb && strcmp(se.sqlstate, "1064") == 0) {
		/* MySQL 8.4 knows only the new name */
		err_clear(&se);
		shown = mys_exec(conn, "SHOW REPLICA STATUS", &r, &se);
	}
	if (!shown) {
		if (strcmp(se.sqlstate, "1227") != 0 || !my_privs_denied(se.msg, s->denied, sizeof(s->denied))) {
			*e = se;
			return false;
		}
		/* not allowed to look: the status variables still tell a
		 * running replica (not a stopped one, nor its primary) */
		if (!mys_exec(conn, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Slave_running', 'Slaves_running')", &r, e))
			return false;
		while (r && (row = mysql_fetch_row(r)) != NULL)
			if (row[V_VALUE] && (is_on(row[V_VALUE]) || atoi(row[V_VALUE]) > 0))
				s->replica_configured = s->replica_running = true;
		mysql_free_result(r);
		return true;
	}
	s->replication_known = true;
	int io = r ? column(r, "Slave_IO_Running") : -1, sql = r ? column(r, "Slave_SQL_Running") : -1;
	int host = r ? column(r, "Master_Host") : -1, port = r ? column(r, "Master_Port") : -1;
	int sid = r ? column(r, "Master_Server_Id") : -1;
	while (r && (row = mysql_fetch_row(r)) != NULL) {
		bool running = (io >= 0 && row[io] && (strcasecmp(row[io], "Yes") == 0 || strcasecmp(row[io], "Connecting") == 0)) ||
		               (sql >= 0 && row[sql] && strcasecmp(row[sql], "Yes") == 0);
		s->replica_configured = true;
		if (running || s->primary[0] == '\0') {
			if (host >= 0 && row[host] && row[host][0])
				snprintf(s->primary, sizeof(s->primary), "%s:%s", row[host], port >= 0 && row[port] ? row[port] : "?");
			if (sid >= 0 && row[sid])
				snprintf(s->primary_server_id, sizeof(s->primary_server_id), "%s", row[sid]);
		}
		if (running)
			s->replica_running = true;
	}
	mysql_free_result(r);
	return true;
}

bool my_server_read(MySession *conn, MyServer *s, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;

	memset(s, 0, sizeof(*s));
	const char *v = mysql_get_server_info(conn->conn);
	s->mariadb = v && strstr(v, "MariaDB") != NULL;
	s->version = (int)mysql_get_server_version(conn->conn);
	if (!mys_exec(conn,
	             "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('server_id', 'read_only', 'super_read_only', 'log_bin',"
	             " 'log_bin_trust_function_creators')",
	             &r, e))
		return false;
	while (r && (row = mysql_fetch_row(r)) != NULL) {
		const char *name = row[V_NAME], *value = row[V_VALUE];
		if (name == NULL || value == NULL)
			continue;
		if (strcasecmp(name, "server_id") == 0)
			snprintf(s->server_id, sizeof(s->server_id), "%s", value);
		else if (strcasecmp(name, "read_only") == 0)
			s->read_only = is_on(value);
		else if (strcasecmp(name, "super_read_only") == 0)
			s->super_read_only = is_on(value);
		else if (strcasecmp(name, "log_bin") == 0)
			s->log_bin = is_on(value);
		else
			s->trust_creators = is_on(value);
	}
	mysql_free_result(r);
	r = NULL;
	if (!mys_exec(conn, "SELECT CURRENT_USER()", &r, e))
		return false;
	row = r ? mysql_fetch_row(r) : NULL;
	const char *cu = row && row[MY_VALUE] ? row[MY_VALUE] : "";
	const char *at = strrchr(cu, '@');
	snprintf(s->user, sizeof(s->user), "%.*s", at ? (int)(at - cu) : (int)strlen(cu), cu);
	snprintf(s->host, sizeof(s->host), "%s", at ? at + 1 : "%");
	mysql_free_result(r);
	return read_replication(conn, s, e);
}

/* This server is a replica: refused unless --allow-on-replica. */
static bool check_not_replica(My *my, const MyServer *self, OscErr *e)
{
	char where[300], why[400] = "";
	Url u;
	if (url_parse(my->url, &u) && u.host[0])
		snprintf(where, sizeof(where), "%s:%d", u.host, u.port ? u.port : 3306);
	else
		snprintf(where, sizeof(where), "this server");
	if (self->replica_running)
		snprintf(why, sizeof(why), "replication is running here%s%s%s", self->primary[0] ? ", from " : "",
		         self->primary, self->denied[0] ? "; SHOW SLAVE STATUS, which names the primary, needs " : "");
	if (self->replica_running && self->denied[0])
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s", self->denied);
	if (self->read_only || self->super_read_only)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s is ON", why[0] ? "; " : "",
		         self->super_read_only ? "super_read_only" : "read_only");
	if (why[0] == '\0') {
		if (self->replica_configured)
			log_msg(my->log, LOG_WARN,
			        "replication is configured on %s but stopped (primary %s): if this server is a replica, the "
			        "ALTER will exist here only",
			        where, self->primary[0] ? self->primary : "unknown");
		return true;
	}
	if (my->env->allow_on_replica) {
		log_msg(my->log, LOG_WARN,
		        "%s is a replica (%s); running anyway (--allow-on-replica): the new table exists on this server "
		        "only",
		        where, why);
		return true;
	}
	err_set(e, OSC_EXIT_INPUT,
	        "%s is a replica (%s): osc changes a table on the primary%s%s, and replication brings the change here; "
	        "point --database at the primary, or give --allow-on-replica to change this server alone (its primary "
	        "and other replicas keep the old table, and replication stops when the primary writes a row the new "
	        "table cannot take)",
	        where, why, self->primary[0] ? " " : "", self->primary);
	return false;
}

bool my_target_primary(My *my, OscErr *e)
{
	MyServer self;
	return my_server_read(&my->main, &self, e) && check_not_replica(my, &self, e);
}

/* One replica to watch: reachable, replicating, not this server, its user
 * able to read the heartbeat. */
static bool check_replica(My *my, const MyServer *self, const char *url, const char *host, int port,
                          MyGrants *g, OscErr *e)
{
	MySession rep;
	MyServer rs;
	OscErr ce;
	char name[400], msg[700];
	bool ok = false, have = false;
	static const char *const sel[] = { "SELECT" };

	memset(&rep, 0, sizeof(rep));
	if (url)
		my_replica_label(url, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "%s:%d, from SHOW SLAVE HOSTS", host, port);
	err_clear(&ce);
	if (!mys_connect(&rep, url ? url : my->url, url ? NULL : host, port, &ce)) {
		one_line(msg, sizeof(msg), ce.msg);
		err_set(e, OSC_EXIT_INPUT,
		        "replica %s cannot be read (%s); osc would wait for its lag for ever: %s", name, msg,
		        url ? "fix the URL, start the replica, or leave that --replica out"
		            : "start it, or name the replicas osc should watch (and how to reach them) with --replica URL");
		goto out;
	}
	if (!my_server_read(&rep, &rs, e) || !my_privs_has(&rep, my->db, sel, 1, false, &have, e)) {
		snprintf(msg, sizeof(msg), "replica %s: ", name);
		err_wrap(e, OSC_EXIT_INPUT, msg, "");
		goto out;
	}
	if (strcmp(rs.server_id, self->server_id) == 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "replica %s is this server itself (server_id %s): its lag would always read as none; name a "
		        "replica of it",
		        name, rs.server_id);
		goto out;
	}
	if (!rs.replica_configured) {
		err_set(e, OSC_EXIT_INPUT,
		        "replica %s does not replicate from anywhere (%s): it would never show osc's heartbeat; name a "
		        "replica of this server",
		        name, rs.replication_known ? "SHOW SLAVE STATUS is empty" : "no replication thread runs there");
		goto out;
	}
	if (rs.primary_server_id[0] && strcmp(rs.primary_server_id, self->server_id) != 0)
		log_msg(my->log, LOG_WARN,
		        "replica %s replicates from server_id %s, not from this server (server_id %s): osc watches it as a "
		        "replica further down the chain; if it is not one, it never shows osc's heartbeat",
		        name, rs.primary_server_id, self->server_id);
	if (!have) {
		Sql on;
		sql_init(&on, &my->dialect);
		sql_add(&on, "%I.*", my->db);
		snprintf(msg, sizeof(msg), "replica %s: osc reads its heartbeat table there (run on the replica if its "
		                           "grants are not replicated)",
		         name);
		my_grants_add(g, &rs, "SELECT", sql_text(&on), msg);
		sql_free(&on);
	}
	ok = true;
out:
	mys_disconnect(&rep);
	return ok;
}

/* The replicas a run will watch: --replica, else SHOW SLAVE HOSTS. */
static bool check_replicas(My *my, const MyServer *self, MyGrants *g, OscErr *e)
{
	const EngineEnv *opt = my->env;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	OscErr se;
	char need[64];
	bool ok = false;

	for (int i = 0; i < opt->nreplicas; i++)
		if (!check_replica(my, self, opt->replicas[i], NULL, 0, g, e))
			return false;
	if (opt->nreplicas > 0)
		return true;
	err_clear(&se);
	if (!my_exec(my, "SHOW SLAVE HOSTS", &r, &se)) {
		if (strcmp(se.sqlstate, "1227") != 0 || !my_privs_denied(se.msg, need, sizeof(need))) {
			*e = se;
			return false;
		}
		my_grants_add(g, self, need, "*.*",
		              "SHOW SLAVE HOSTS finds the replicas whose lag osc watches (or name them with --replica)");
		return true;
	}
	int host = r ? column(r, "Host") : -1, port = r ? column(r, "Port") : -1;
	while (r && host >= 0 && port >= 0 && (row = mysql_fetch_row(r)) != NULL) {
		if (row[host] == NULL || row[host][0] == '\0')
			continue;
		if (!check_replica(my, self, NULL, row[host], row[port] ? atoi(row[port]) : 3306, g, e))
			goto out;
	}
	ok = true;
out:
	mysql_free_result(r);
	return ok;
}

bool my_target_check(My *my, OscErr *e)
{
	const EngineEnv *o = my->env;
	MyServer self;
	MyGrants g;
	bool ok = false;

	if (o->alter->mysql_hazard[0]) {
		err_set(e, OSC_EXIT_INPUT,
		        "--alter holds %s: the server would execute text that osc's reading of the ALTER does not see (a "
		        "column renamed there would not be copied); write it as plain SQL",
		        o->alter->mysql_hazard);
		return false;
	}
	my_grants_init(&g, my);
	/* osc plan reports each replica itself, as a warning among the rest
	 * (my_plan.c): a refusal here would hide the plan */
	if (!my_server_read(&my->main, &self, e) || !check_not_replica(my, &self, e) || !my_privs_check(my, &self, &g, e) ||
	    (!o->plan && !check_replicas(my, &self, &g, e)))
		goto out;
	if (g.n > 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "user '%s'@'%s' lacks %s this run needs; nothing was changed. As an administrator, run:%s", self.user,
		        self.host, g.n == 1 ? "a privilege" : "privileges", sql_text(&g.text));
		goto out;
	}
	ok = true;
out:
	my_grants_free(&g);
	return ok;
}
