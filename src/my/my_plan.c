/*
 * my_plan.c — `osc plan` on MySQL/MariaDB: fills a Plan (src/core/plan.h)
 * without changing anything the user owns.  It reads information_schema
 * (TABLES for sizes and the row estimate, STATISTICS, REFERENTIAL_CONSTRAINTS,
 * VIEWS, INNODB_TRX, PROCESSLIST) and asks each replica for SHOW SLAVE
 * STATUS.  The strategy is picked as a run would, on osc's empty trial
 * table.  The same trial table, with the ALTER applied as the shadow gets
 * it (the server parses the ALTER, not osc), gives the definition after
 * the ALTER, the new unique keys to check for duplicates, a trial copy of
 * the first rows for the ETA, and the cast check on sampled rows (both in
 * transactions rolled back); it is dropped again (my_plan_int.h).  A check
 * that fails becomes a warning, not an error.
 *
 * Replica lag here is the replica's own Seconds_Behind_Master: coarse, and
 * NULL when its SQL thread stopped; a run measures lag with a heartbeat
 * table instead (src/my/my_heartbeat.c).  Long transactions: InnoDB
 * cannot say which tables one has touched, so one open for 10 s or more is
 * a warning that it may hold a metadata lock every in-place ALTER, trigger
 * installation and swap must wait for; a session already waiting for a
 * metadata lock on the table is a high one.
 *
 * OSC_FAULT=plan-table-rows:N makes the plan read TABLE_ROWS as N (a test
 * of the estimate for a table whose statistics were never gathered, which
 * MariaDB shows only after a restart).
 */
#include "my_plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fault.h"

#define SAMPLE_ROWS "20000"

MYSQL_RES *my_plan_look(My *my, Plan *p, const char *what, Sql *q)
{
	MYSQL_RES *r = NULL;
	OscErr e;
	err_clear(&e);
	if (!my_exec_sql(my, q, &r, &e)) {
		plan_warn(p, false, "could not check %s: %s", what, e.msg);
		return NULL;
	}
	return r;
}

static MYSQL_RES *look(My *my, Plan *p, const char *what, Sql *q)
{
	return my_plan_look(my, p, what, q);
}

static int64_t num(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

void my_plan_key_text(const My *my, MYSQL_ROW row, int first, char *out, size_t outsz)
{
	MyKeyVal *k = my_key_value(my, row, first);
	char vals[256];
	my_key_value_describe(k, vals, sizeof(vals));
	my_key_value_free(k);
	if (my->nkeys == 1) {
		/* "(5)": id=5 */
		size_t n = strlen(vals);
		snprintf(out, outsz, "%s=%.*s", my->keys[0].name, n >= 2 ? (int)n - 2 : 0, vals + 1);
		return;
	}
	size_t n = (size_t)snprintf(out, outsz, "(");
	for (int i = 0; i < my->nkeys && n < outsz; i++)
		n += (size_t)snprintf(out + n, outsz - n, "%s%s", i ? ", " : "", my->keys[i].name);
	if (n < outsz)
		snprintf(out + n, outsz - n, ")=%s", vals);
}

static void sizes(My *my, Plan *p)
{
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COALESCE(DATA_LENGTH, 0), COALESCE(INDEX_LENGTH, 0), COALESCE(TABLE_ROWS, 0),"
	        " (SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS"
	        "  WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L AND INDEX_NAME <> 'PRIMARY')"
	        " FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table, my->db, my->table);
	MYSQL_RES *r = look(my, p, "the table's size", &q);
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	if (row) {
		p->table_bytes = num(row[0]);
		p->index_bytes = num(row[1]);
		p->total_bytes = p->table_bytes + p->index_bytes;
		p->rows_estimate = num(row[2]);
		const char *f = fault_value("plan-table-rows");
		if (f)
			p->rows_estimate = strtoll(f, NULL, 10);
		int64_t nidx = num(row[3]);
		/* the shadow and its indexes; NOCOPY: one more index, as big as the
		 * table's secondary indexes are on average (a quarter of the data
		 * when it has none); INSTANT: nothing */
		if (p->strategy.kind == STRAT_COPY)
			p->extra_bytes = p->total_bytes;
		else if (p->strategy.kind == STRAT_NOCOPY)
			p->extra_bytes = nidx > 0 ? p->index_bytes / nidx : p->table_bytes / 4;
	}
	mysql_free_result(r);
	sql_free(&q);
	my_plan_estimate_rows(my, p, p->rows_estimate);
}

/* The copy's columns over the first rows in key order, timed. */
static void sample(My *my, Plan *p)
{
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT COUNT(*) FROM (SELECT ");
	for (int i = 0; i < my->ncols; i++)
		sql_add(&q, "%s%I.%I", i ? ", " : "", "src", my->cols[i].source);
	sql_add(&q, " FROM %I.%I src FORCE INDEX (%I) ORDER BY ", my->db, my->table, my->key_index);
	my_key_list(my, &q, "src", false);
	sql_add(&q, " LIMIT " SAMPLE_ROWS ") s");
	int64_t t0 = now_us();
	MYSQL_RES *r = look(my, p, "a sampled read", &q);
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	if (row) {
		p->sample_us = now_us() - t0;
		p->sample_rows = num(row[0]);
	}
	mysql_free_result(r);
	sql_free(&q);
}

static void eta(Plan *p)
{
	double factor = 3;
	const char *basis = "3x the sampled read: the copy also writes the rows, the binary log and the indexes";
	if (p->strategy.kind == STRAT_INSTANT) {
		p->eta_ms = 0;
		snprintf(p->eta_basis, sizeof(p->eta_basis), "metadata only: the lock wait and a few milliseconds");
		return;
	}
	if (p->strategy.kind == STRAT_NOCOPY) {
		factor = 1.5;
		basis = "1.5x the sampled read: one scan of the table, plus sorting and writing the index";
	}
	snprintf(p->eta_basis, sizeof(p->eta_basis), "%s", basis);
	if (p->sample_us == 0) {
		snprintf(p->eta_basis, sizeof(p->eta_basis), "no sampled read");
	} else if (p->sample_rows == 0) {
		p->eta_ms = 0;
		snprintf(p->eta_basis, sizeof(p->eta_basis), "the table is empty");
	} else if (p->sample_us > 0) {
		double per_row_ms = (double)p->sample_us / 1000.0 / (double)p->sample_rows;
		p->eta_ms = (int64_t)((double)p->rows_estimate * per_row_ms * factor);
	}
}

/* The statements of the shadow copy, in order. */
static void copy_sql(My *my, Plan *p)
{
	const EngineEnv *o = my->env;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "CREATE TABLE %I.%I LIKE %I.%I; ALTER TABLE %I.%I ", my->db, my->shadow, my->db, my->table, my->db,
	        my->shadow);
	plan_sql(p, "%s%s;%s", sql_text(&q), my->shadow_alter ? my->shadow_alter : o->alter->text,
	         my->deferred ? "  -- its secondary indexes dropped until the copy is done" : "");
	sql_reset(&q);
	sql_add(&q, "CREATE TABLE %I.%I (...);  -- the change log", my->db, my->log_table);
	plan_sql(p, "%s", sql_text(&q));
	sql_reset(&q);
	sql_add(&q, "CREATE TRIGGER %I.%I AFTER INSERT ON %I.%I FOR EACH ROW INSERT INTO %I.%I ...;  -- also %I, %I: they "
	            "log the changed keys, under lock_wait_timeout, retried",
	        my->db, my->trg_ins, my->db, my->table, my->db, my->log_table, my->trg_upd, my->trg_del);
	plan_sql(p, "%s", sql_text(&q));
	sql_reset(&q);
	my_copy_select(my, &q, true);
	sql_add(&q, "(");
	my_key_list(my, &q, "src", false);
	sql_add(&q, ") > (<last copied>) AND (");
	my_key_list(my, &q, "src", false);
	sql_add(&q, ") <= (<chunk end>)");
	plan_sql(p, "%s;  -- per chunk, sized to %ldms, READ COMMITTED (no locks on the table)", sql_text(&q),
	         (long)o->chunk_time_ms);
	sql_reset(&q);
	sql_add(&q, "DELETE FROM %I.%I WHERE <logged key>; INSERT INTO %I.%I SELECT ... FROM %I.%I WHERE <logged key>;",
	        my->db, my->shadow, my->db, my->shadow, my->db, my->table);
	plan_sql(p, "%s  -- between chunks: each logged key merged from the original", sql_text(&q));
	if (my->deferred) {
		sql_reset(&q);
		sql_add(&q, "ALTER TABLE %I.%I ", my->db, my->shadow);
		plan_sql(p, "%s%s, ALGORITHM=INPLACE, LOCK=NONE;  -- after the copy", sql_text(&q), my->deferred);
	}
	if (my->fkeys) {
		sql_reset(&q);
		sql_add(&q, "ALTER TABLE %I.%I ", my->db, my->shadow);
		plan_sql(p, "%s%s;  -- after the copy", sql_text(&q), my->fkeys);
	}
	sql_reset(&q);
	sql_add(&q, "LOCK TABLES %I.%I WRITE, %I.%I WRITE, ...; <drain the log>; RENAME TABLE %I.%I TO %I.%I, %I.%I TO %I.%I",
	        my->db, my->table, my->db, my->log_table, my->db, my->table, my->db, my->old, my->db, my->shadow, my->db,
	        my->table);
	plan_sql(p, "%s;  -- the RENAME on a second connection, queued behind the lock; lock waits of %lds, up to %d "
	            "attempts",
	         sql_text(&q), (long)((o->lock_timeout_ms + 999) / 1000), o->cutover_retries);
	for (int i = 0; i < my->ncols; i++)
		plan_column(p, "%-24s <- src.%s", my->cols[i].name, my->cols[i].source);
	sql_free(&q);
}

/* What the swap carries (or leaves behind) besides the rows. */
static void dependents(My *my, Plan *p)
{
	static const char *const how[] = {
		[MY_FK_REFUSE] = "a run refuses it without --alter-foreign-keys-method",
		[MY_FK_NONE] = "none: it keeps referencing the old table",
		[MY_FK_REBUILD] = "rebuild_constraints: repointed to the new table under the swap's lock",
		[MY_FK_DROP_SWAP] = "drop_swap: the original is dropped under the swap's lock",
		[MY_FK_AUTO] = "auto: rebuild_constraints, or drop_swap when that would hold the lock too long",
	};
	MyFkMethod method = my->plan_refusal ? MY_FK_REFUSE : my->fk_method;
	Sql q, name;
	/* a view names the table as the server prints it: `db`.`t` */
	sql_init(&name, &my->dialect);
	sql_add(&name, "%I.%I", my->db, my->table);
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT CONCAT('index ', INDEX_NAME) FROM information_schema.STATISTICS"
	        " WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L AND INDEX_NAME <> 'PRIMARY' GROUP BY INDEX_NAME"
	        " UNION ALL SELECT CONCAT('foreign key ', CONSTRAINT_NAME, ' from ', CONSTRAINT_SCHEMA, '.', TABLE_NAME, ' (',"
	        "  %L, ')') FROM information_schema.REFERENTIAL_CONSTRAINTS"
	        " WHERE UNIQUE_CONSTRAINT_SCHEMA = %L AND REFERENCED_TABLE_NAME = %L"
	        "  AND NOT (CONSTRAINT_SCHEMA = %L AND TABLE_NAME = %L)"
	        " UNION ALL SELECT CONCAT('foreign key ', CONSTRAINT_NAME, ' to ', UNIQUE_CONSTRAINT_SCHEMA, '.',"
	        "  REFERENCED_TABLE_NAME, ' (added to the new table after the copy)')"
	        " FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %L AND TABLE_NAME = %L"
	        " UNION ALL SELECT CONCAT('view ', TABLE_SCHEMA, '.', TABLE_NAME, ' (binds by name: it reads the new table"
	        " after the swap)') FROM information_schema.VIEWS WHERE LOCATE(%L, VIEW_DEFINITION) > 0",
	        my->db, my->table, how[method], my->db, my->table, my->db, my->table, my->db, my->table, sql_text(&name));
	sql_free(&name);
	MYSQL_RES *r = look(my, p, "dependent objects", &q);
	MYSQL_ROW row;
	while (r && (row = mysql_fetch_row(r)) != NULL)
		plan_dep(p, "%s", row[0]);
	mysql_free_result(r);
	sql_free(&q);
	for (int i = 0; i < my->nuser_triggers; i++)
		plan_dep(p, "trigger %s (moved to the new table under the swap's lock)", my->user_triggers[i].name);
}

static void warn_sessions(My *my, Plan *p)
{
	Sql q;
	MYSQL_ROW row;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT t.trx_mysql_thread_id, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()),"
	            " LEFT(REPLACE(COALESCE(t.trx_query, pl.INFO, ''), '\\n', ' '), 80)"
	            " FROM information_schema.INNODB_TRX t"
	            " LEFT JOIN information_schema.PROCESSLIST pl ON pl.ID = t.trx_mysql_thread_id"
	            " WHERE t.trx_mysql_thread_id <> CONNECTION_ID() AND t.trx_started < NOW() - INTERVAL 10 SECOND"
	            " ORDER BY t.trx_started LIMIT 10");
	MYSQL_RES *r = look(my, p, "long transactions", &q);
	while (r && (row = mysql_fetch_row(r)) != NULL)
		plan_warn(p, false,
		          "connection %s has a transaction open for %ss (%s): if it has touched %s.%s it holds a metadata "
		          "lock that the ALTER, the triggers and the swap wait for",
		          row[0], row[1], row[2] ? row[2] : "", my->db, my->table);
	mysql_free_result(r);
	sql_reset(&q);
	/* the query text names the table, however it was written */
	sql_add(&q,
	        "SELECT ID, TIME, LEFT(REPLACE(COALESCE(INFO, ''), '\\n', ' '), 80) FROM information_schema.PROCESSLIST"
	        " WHERE ID <> CONNECTION_ID() AND STATE LIKE 'Waiting for table metadata lock%%'"
	        "   AND LOCATE(%L, COALESCE(INFO, '')) > 0",
	        my->table);
	r = look(my, p, "sessions waiting for a metadata lock", &q);
	while (r && (row = mysql_fetch_row(r)) != NULL)
		plan_warn(p, true,
		          "connection %s has waited %ss for a metadata lock on %s.%s (%s): a session holds the table, and "
		          "the lock osc needs would not be granted either",
		          row[0], row[1], my->db, my->table, row[2] ? row[2] : "");
	mysql_free_result(r);
	sql_free(&q);
}

/* One replica's SHOW SLAVE STATUS (url, or host:port with the primary's
 * credentials). */
static void warn_replica(My *my, Plan *p, const char *url, const char *host, int port, const char *label)
{
	MySession rep;
	OscErr e;
	MYSQL_RES *r = NULL;
	memset(&rep, 0, sizeof(rep));
	rep.env = my->env;
	rep.log = my->log;
	err_clear(&e);
	if (!mys_connect(&rep, url ? url : my->url, host, port, &e) ||
	    !mys_exec(&rep, "SHOW SLAVE STATUS", &r, &e)) {
		plan_warn(p, true, "replica %s: cannot read its replication status: %s", label, e.msg);
		goto out;
	}
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row == NULL) {
		plan_warn(p, true, "replica %s does not replicate (SHOW SLAVE STATUS is empty)", label);
		goto out;
	}
	const char *sql_running = NULL, *behind = NULL;
	unsigned nf = mysql_num_fields(r);
	MYSQL_FIELD *f = mysql_fetch_fields(r);
	for (unsigned i = 0; i < nf; i++) {
		if (strcasecmp(f[i].name, "Slave_SQL_Running") == 0)
			sql_running = row[i];
		else if (strcasecmp(f[i].name, "Seconds_Behind_Master") == 0)
			behind = row[i];
	}
	int64_t max_ms = my->env->limits->max_lag_ms;
	if (sql_running == NULL || strcasecmp(sql_running, "Yes") != 0 || behind == NULL)
		plan_warn(p, true, "replica %s is not applying changes (Slave_SQL_Running %s): the copy would pause", label,
		          sql_running ? sql_running : "?");
	else if (max_ms > 0 && num(behind) * 1000 > max_ms)
		plan_warn(p, true, "replica %s is %ss behind (Seconds_Behind_Master; --max-lag %lldms): the copy would pause",
		          label, behind, (long long)max_ms);
out:
	mysql_free_result(r);
	mys_disconnect(&rep);
}

/* --replica URLs, else the replicas SHOW SLAVE HOSTS names. */
static void warn_replicas(My *my, Plan *p)
{
	const EngineEnv *opt = my->env;
	if (opt->nreplicas > 0) {
		for (int i = 0; i < opt->nreplicas; i++) {
			char label[300];
			my_replica_label(opt->replicas[i], label, sizeof(label));
			warn_replica(my, p, opt->replicas[i], NULL, 0, label);
		}
		return;
	}
	Sql q;
	MYSQL_ROW row;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SHOW SLAVE HOSTS");
	MYSQL_RES *r = look(my, p, "the replicas (SHOW SLAVE HOSTS)", &q);
	while (r && (row = mysql_fetch_row(r)) != NULL && row[1] && row[2]) {
		char label[300];
		snprintf(label, sizeof(label), "%s:%s", row[1], row[2]);
		warn_replica(my, p, NULL, row[1], (int)num(row[2]), label);
	}
	mysql_free_result(r);
	sql_free(&q);
}

/* The source column a shadow column is copied from (the new unique key is
 * read off the trial table, in the ALTER's names), or NULL: a new column. */
static const char *source_of(My *my, const char *col)
{
	for (int i = 0; i < my->ncols; i++)
		if (strcasecmp(my->cols[i].name, col) == 0)
			return my->cols[i].source;
	return NULL;
}

/* One new unique key (its columns, comma separated, in the ALTER's names)
 * over rows that already violate it. */
static void warn_duplicates_of(My *my, Plan *p, const char *index, const char *cols)
{
	char *list = my_strdup(cols), *save = NULL;
	const char *src[64];
	int n = 0;
	bool pk = strcmp(index, "PRIMARY") == 0;
	for (char *c = strtok_r(list, ",", &save); c && n < 64; c = strtok_r(NULL, ",", &save)) {
		src[n] = source_of(my, c);
		if (src[n] == NULL)
			goto out; /* a new column: its default decides */
		n++;
	}
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT CONCAT_WS('-'");
	for (int i = 0; i < n; i++)
		sql_add(&q, ", COALESCE(%I, 'NULL')", src[i]);
	sql_add(&q, "), COUNT(*) FROM %I.%I", my->db, my->table);
	if (!pk)
		for (int i = 0; i < n; i++)
			sql_add(&q, "%s%I IS NOT NULL", i ? " AND " : " WHERE ", src[i]);
	sql_add(&q, " GROUP BY ");
	for (int i = 0; i < n; i++)
		sql_add(&q, "%s%I", i ? ", " : "", src[i]);
	sql_add(&q, " HAVING COUNT(*) > 1");
	for (int i = 0; pk && i < n; i++)
		sql_add(&q, " OR SUM(%I IS NULL) > 0", src[i]);
	sql_add(&q, " LIMIT 1");
	MYSQL_RES *r = look(my, p, "for duplicates under the new key", &q);
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	if (row)
		plan_warn(p, true,
		          "the new %s %s would fail: Duplicate entry '%s' for key '%s' (%s rows%s); no row would be lost",
		          pk ? "PRIMARY KEY" : "UNIQUE key", index, row[0], index, row[1], pk ? ", or NULL" : "");
	mysql_free_result(r);
	sql_free(&q);
out:
	free(list);
}

/* The unique keys the ALTER adds, read off the trial table (the ALTER
 * applied), checked against the rows. */
static void warn_duplicates(My *my, Plan *p, const MyPlanTrial *t)
{
	Sql q;
	sql_init(&q, &my->dialect);
	/* unique in the trial table, not the same (name and columns) in the original */
	sql_add(&q,
	        "SELECT n.INDEX_NAME, GROUP_CONCAT(n.COLUMN_NAME ORDER BY n.SEQ_IN_INDEX SEPARATOR ',') AS c"
	        " FROM information_schema.STATISTICS n WHERE n.TABLE_SCHEMA = %L AND n.TABLE_NAME = %L"
	        " AND n.NON_UNIQUE = 0 GROUP BY n.INDEX_NAME HAVING c <> COALESCE((SELECT GROUP_CONCAT(o.COLUMN_NAME"
	        "  ORDER BY o.SEQ_IN_INDEX SEPARATOR ',') FROM information_schema.STATISTICS o"
	        "  WHERE o.TABLE_SCHEMA = %L AND o.TABLE_NAME = %L AND o.INDEX_NAME = n.INDEX_NAME), '')",
	        my->db, t->name, my->db, my->table);
	MYSQL_RES *r = look(my, p, "the new unique keys", &q);
	MYSQL_ROW row;
	while (r && (row = mysql_fetch_row(r)) != NULL)
		warn_duplicates_of(my, p, row[0], row[1]);
	mysql_free_result(r);
	sql_free(&q);
}

/* A column the ALTER drops or renames that a view names. */
static void warn_views(My *my, Plan *p, const AlterSub *sub)
{
	Sql q, name, col;
	sql_init(&name, &my->dialect);
	sql_init(&col, &my->dialect);
	sql_init(&q, &my->dialect);
	sql_add(&name, "%I.%I", my->db, my->table);
	sql_add(&col, "%I", sub->column);
	sql_add(&q,
	        "SELECT GROUP_CONCAT(CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) SEPARATOR ', ') FROM information_schema.VIEWS"
	        " WHERE LOCATE(%L, VIEW_DEFINITION) > 0 AND LOCATE(%L, VIEW_DEFINITION) > 0",
	        sql_text(&name), sql_text(&col));
	MYSQL_RES *r = look(my, p, "views using the column", &q);
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	if (row && row[0])
		plan_warn(p, true, "column %s is used by view(s) %s: '%s' would break them", sub->column, row[0], sub->text);
	mysql_free_result(r);
	sql_free(&q);
	sql_free(&name);
	sql_free(&col);
}

/* The cast check found rows that fail: the trial's failure says no more */
static bool cast_failed(const Plan *p)
{
	for (int i = 0; i < p->ncasts; i++)
		if (p->casts[i].fail)
			return true;
	return false;
}

bool my_plan_fill(My *my, Plan *p, OscErr *e)
{
	const EngineEnv *o = my->env;
	MyPlanTrial trial;
	char *trial_failed = NULL;
	const char *v = mysql_get_server_info(my->main.conn);
	p->engine = v && strstr(v, "MariaDB") ? "mariadb" : "mysql";
	snprintf(p->table, sizeof(p->table), "%s.%s", my->db, my->table);
	size_t n = (size_t)snprintf(p->key, sizeof(p->key), "%s (", my->key_index);
	for (int k = 0; k < my->nkeys && n < sizeof(p->key); k++)
		n += (size_t)snprintf(p->key + n, sizeof(p->key) - n, "%s%s", k ? ", " : "", my->keys[k].name);
	if (n < sizeof(p->key))
		snprintf(p->key + n, sizeof(p->key) - n, ")");
	if (!my_strategy_pick(my, &p->strategy, e))
		return false;
	if (my->plan_refusal && p->strategy.kind == STRAT_COPY)
		plan_warn(p, true, "a run refuses this ALTER: %s", my->plan_refusal);
	if (my->plan_blocked)
		plan_warn(p, true,
		          "the table's metadata lock was not granted within %lds (%s): a run would wait and retry; this plan "
		          "shows only what it could read without it",
		          (long)((o->lock_timeout_ms + 999) / 1000), my->plan_blocked);
	sizes(my, p);
	memset(&trial, 0, sizeof(trial));
	if (my->ncols > 0)
		my_plan_trial_build(my, p, &trial);
	if (trial.built)
		warn_duplicates(my, p, &trial);
	my_plan_defer(my, &trial);
	if (p->strategy.kind == STRAT_COPY && trial.built) {
		my_plan_trial_copy(my, p, &trial, &trial_failed);
	} else {
		if (my->ncols > 0)
			sample(my, p);
		eta(p);
	}
	if (p->strategy.kind == STRAT_COPY && my->ncols > 0) {
		copy_sql(my, p);
		dependents(my, p);
	} else {
		my_strategy_describe(my, &p->strategy, p);
	}
	warn_sessions(my, p);
	warn_replicas(my, p);
	/* INSTANT and NOCOPY convert no value */
	if (trial.built && (p->strategy.kind == STRAT_COPY || trial.ncand > 0))
		my_plan_cast(my, p, &trial);
	else if (!trial.built)
		snprintf(p->cast_basis, sizeof(p->cast_basis), "no trial table to try it on");
	if (trial_failed && !cast_failed(p))
		plan_warn(p, true,
		          "the trial copy of the first rows in key order into the shadow's definition failed (%s): the run "
		          "would stop at its first chunk",
		          trial_failed);
	free(trial_failed);
	my_plan_trial_drop(my, p, &trial);
	for (int i = 0; i < o->alter->n_sub; i++) {
		const AlterSub *sub = &o->alter->sub[i];
		if (sub->column[0] && (sub->kind == ALTER_DROP_COLUMN || sub->kind == ALTER_RENAME || sub->kind == ALTER_OTHER))
			warn_views(my, p, sub);
	}
	plan_def_check(p, o->alter);
	plan_classify(p);
	err_clear(e);
	return true;
}
