/*
 * my_proxy.c — MySQL/MariaDB's half of the proxy check (the engine's
 * proxy_bypass, which cutover/proxy_hold.c asks): the sessions that do not
 * come through `osc proxy`.
 *
 * An idle MySQL session does not show which tables it uses (its INFO is
 * NULL between statements), so every client session connected to the
 * table's database counts; the message says whether each is running a
 * statement or has a transaction open.  A session bypasses the proxy when
 * its connection id is not one the proxy saw in a server greeting; osc's
 * own are left out by their address and port (this process's sockets).
 */
#include "my.h"

#include <stdio.h>
#include <string.h>

int my_proxy_bypass(My *my, const uint32_t *ids, int nids, char *const *mine, int nmine, char *out, size_t outsz)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	OscErr e;
	Sql q;
	int n = -1;

	out[0] = '\0';
	err_clear(&e);
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT p.ID, p.USER, p.HOST, p.COMMAND, p.TIME, LEFT(REPLACE(COALESCE(p.INFO, ''), '\\n', ' '), 60),"
	        " EXISTS (SELECT 1 FROM information_schema.INNODB_TRX t WHERE t.trx_mysql_thread_id = p.ID)"
	        " FROM information_schema.PROCESSLIST p"
	        " WHERE p.ID <> CONNECTION_ID() AND p.DB = %L"
	        " AND p.COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Slave_IO', 'Slave_SQL',"
	        " 'Slave_worker', 'Killed') AND p.USER NOT IN ('system user', 'event_scheduler')",
	        my->db);
	if (nids > 0) {
		sql_add(&q, " AND p.ID NOT IN (");
		for (int i = 0; i < nids; i++)
			sql_add(&q, "%s%u", i ? ", " : "", ids[i]);
		sql_add(&q, ")");
	}
	if (nmine > 0) {
		sql_add(&q, " AND p.HOST NOT IN (");
		for (int i = 0; i < nmine; i++)
			sql_add(&q, "%s%L", i ? ", " : "", mine[i]);
		sql_add(&q, ")");
	}
	sql_add(&q, " ORDER BY p.ID");
	if (!my_exec_sql(my, &q, &r, &e)) {
		snprintf(out, outsz, "%s", e.msg);
		goto fail;
	}
	n = 0;
	size_t used = 0;
	while ((row = mysql_fetch_row(r)) != NULL) {
		if (n < 5 && used + 1 < outsz) {
			enum { P_ID, P_USER, P_HOST, P_COMMAND, P_TIME, P_INFO, P_IN_TRX };
			bool busy = row[P_COMMAND] && strcmp(row[P_COMMAND], "Sleep") != 0;
			bool trx = row[P_IN_TRX] && row[P_IN_TRX][0] == '1';
			snprintf(out + used, outsz - used, "%sconnection %s (%s from %s, %s%s%s%s)", n ? "; " : "", row[P_ID],
			         row[P_USER] ? row[P_USER] : "", row[P_HOST] ? row[P_HOST] : "", busy ? "running: " : "idle",
			         busy && row[P_INFO] ? row[P_INFO] : "", trx ? ", a transaction open" : "", "");
			used = strlen(out);
		}
		n++;
	}
	if (n > 5 && used + 1 < outsz)
		snprintf(out + used, outsz - used, "; and %d more", n - 5);
fail:
	if (r)
		mysql_free_result(r);
	sql_free(&q);
	return n;
}
