/*
 * my_strategy.c — applying an ALTER in place on MariaDB, without the shadow
 * copy, when the server offers a way that does not block writers (see
 * strategy.h).
 *
 * The server is the judge, not osc's reading of the text: the ALTER is tried
 * on an empty `CREATE TABLE ... LIKE` copy of the table (T_osc_try, dropped
 * again whatever happens), first with ALGORITHM=INSTANT, then with
 * ALGORITHM=NOCOPY; LOCK=NONE both times.  The run states the same
 * algorithm on the table itself, so the server enforces it: a table whose
 * rows or history make the server refuse it there (errors 1845/1846, before
 * anything changed) goes to the shadow copy instead, and the log says so.
 *
 *   INSTANT  a metadata change (ADD/DROP/RENAME COLUMN, defaults, a VARCHAR
 *            widened within its length bytes, ENUM values added at the end).
 *   NOCOPY   an index built online (ADD INDEX, ADD UNIQUE, DROP INDEX).  A
 *            replica replays the build as one statement, serially, and lags
 *            for its whole duration; osc cannot throttle that, so NOCOPY is
 *            used only when no replica is known (--replica, SHOW SLAVE HOSTS):
 *            with replicas the throttled shadow copy does it (gh-ost's
 *            reasoning for never using online DDL under replication).
 *
 * Traps of the empty copy: LIKE copies no foreign keys, and with
 * foreign_key_checks=0 (osc's session, for the shadow) MariaDB adds a
 * FOREIGN KEY in place without checking a row, so every in-place ALTER runs
 * with foreign_key_checks=1: ADD FOREIGN KEY then needs COPY and goes to the
 * shadow copy, DROP INDEX of an index a foreign key needs is refused.  An
 * engine change with ALGORITHM=INSTANT alone silently copies the table;
 * LOCK=NONE makes the server refuse it.  A table rename, or an ALGORITHM or
 * LOCK of the user's own, is never tried: the shadow copy judges those.  No
 * swap happens in place, so the table's foreign keys and its children's
 * stay as they are (--alter-foreign-keys-method does not apply).
 *
 * The metadata lock waits are bounded by lock_wait_timeout (--lock-timeout,
 * whole seconds, set for the session in my_engine.c) and retried with
 * backoff (my_ddl_retry); the index build itself has no statement timeout.
 *
 * Replicas hold an in-place ALTER back as they hold a copy: the server
 * reports no replica's lag, so osc writes its heartbeat (T_osc_hb, as for
 * a copy) for the length of the wait (src/core/inplace.c), and the
 * throttle decides as it does for a copy: a replica behind --max-lag,
 * stopped, or unreadable pauses the run before the statement (fail
 * closed), --critical-lag aborts it (a replica that never shows a
 * heartbeat counts from the first one written).  The heartbeat table is
 * dropped again before the ALTER, or when the wait ends otherwise.
 */
#include "my.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "names.h"
#include "url.h"

/* The server will not do it in place: ER_ALTER_OPERATION_NOT_SUPPORTED
 * (1845) and ..._REASON (1846) refuse the algorithm; ER_FK_COLUMN_CANNOT_CHANGE
 * (1832) and ..._CHILD (1833) refuse changing a column a foreign key uses
 * with foreign_key_checks=1, which the shadow copy can do (the empty copy
 * has no foreign keys, so only the table itself says this). */
static bool refused_algorithm(const OscErr *e)
{
	return strcmp(e->sqlstate, "1845") == 0 || strcmp(e->sqlstate, "1846") == 0 ||
	       strcmp(e->sqlstate, "1832") == 0 || strcmp(e->sqlstate, "1833") == 0;
}

static const char *algorithm(StrategyKind k)
{
	return k == STRAT_INSTANT ? "INSTANT" : "NOCOPY";
}

static void trial_name(My *my, char *out, size_t outsz)
{
	names_derive(out, outsz, "", my->table, "_osc_try", MY_NAMELEN);
}

bool my_trial_create(My *my, char *name, size_t namesz, OscErr *e)
{
	Sql q;
	trial_name(my, name, namesz);
	sql_init(&q, &my->dialect);
	sql_add(&q, "CREATE TABLE %I.%I LIKE %I.%I", my->db, name, my->db, my->table);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

bool my_trial_drop(My *my, OscErr *e)
{
	char name[MY_NAMELEN + 1];
	Sql q;
	trial_name(my, name, sizeof(name));
	sql_init(&q, &my->dialect);
	sql_add(&q, "DROP TABLE IF EXISTS %I.%I", my->db, name);
	bool ok = my_exec_sql(my, &q, NULL, e);
	if (!ok)
		err_wrap(e, OSC_EXIT_FAILED, "could not drop osc's empty trial table: ", "; drop it by hand");
	sql_free(&q);
	return ok;
}

/* The ALTER of `table` by strategy k, the algorithm stated so that the
 * server refuses rather than copies. */
static void alter_sql(My *my, Sql *q, const char *table, StrategyKind k)
{
	sql_add(q, "SET STATEMENT foreign_key_checks = 1, max_statement_time = 0 FOR ALTER TABLE %I.%I %s, ALGORITHM=%s, "
	           "LOCK=NONE",
	        my->db, table, my->env->alter->text, algorithm(k));
}

/* The first word of s (letters only), upper-cased, and where the next starts. */
static const char *word(const char *s, char *w, size_t wsz)
{
	size_t n = 0;
	while (isspace((unsigned char)*s))
		s++;
	while (isalpha((unsigned char)*s) || *s == '_') {
		if (n + 1 < wsz)
			w[n++] = (char)toupper((unsigned char)*s);
		s++;
	}
	w[n] = '\0';
	return s;
}

const char *my_trial_refused(const AlterSpec *a)
{
	if (a->n_sub == 0 || a->too_many)
		return "the ALTER has too many subcommands to sort";
	for (int i = 0; i < a->n_sub; i++) {
		char w1[32], w2[32];
		const char *rest = word(a->sub[i].text, w1, sizeof(w1));
		word(rest, w2, sizeof(w2));
		if (w1[0] == '\0')
			return "a subcommand does not begin with a word osc can read";
		if (strcmp(w1, "ALGORITHM") == 0 || strcmp(w1, "LOCK") == 0)
			return "the ALTER states its own ALGORITHM or LOCK";
		if (strcmp(w1, "RENAME") == 0 && strcmp(w2, "COLUMN") != 0 && strcmp(w2, "INDEX") != 0 &&
		    strcmp(w2, "KEY") != 0)
			return "the ALTER renames the table";
	}
	return NULL;
}

void my_replica_label(const char *url, char *out, size_t outsz)
{
	Url u;
	if (url_parse(url, &u) && u.host[0])
		snprintf(out, outsz, "%s:%d, from --replica", u.host, u.port ? u.port : 3306);
	else
		snprintf(out, outsz, "from --replica");
}

static bool is_mariadb(My *my)
{
	const char *v = mysql_get_server_info(my->main.conn);
	return v && strstr(v, "MariaDB") != NULL;
}

/* Tries the ALTER on an empty LIKE copy: *kind INSTANT or NOCOPY when the
 * server accepts it so, else STRAT_COPY with why.  false: a failure to
 * drop the copy again (it is named in the error). */
static bool probe(My *my, StrategyKind *kind, char *why, size_t whysz, OscErr *e)
{
	char name[MY_NAMELEN + 1];
	Sql q;
	OscErr pe;
	bool ok = true;

	*kind = STRAT_COPY;
	err_clear(&pe);
	if (!my_trial_create(my, name, sizeof(name), &pe)) {
		snprintf(why, whysz, "could not make an empty copy to try it on (%.200s)", pe.msg);
		return true;
	}
	sql_init(&q, &my->dialect);
	StrategyKind tries[2] = { STRAT_INSTANT, STRAT_NOCOPY };
	for (int i = 0; i < 2; i++) {
		sql_reset(&q);
		alter_sql(my, &q, name, tries[i]);
		err_clear(&pe);
		if (my_exec_sql(my, &q, NULL, &pe)) {
			*kind = tries[i];
			break;
		}
		if (!refused_algorithm(&pe)) {
			err_replace(&pe, name, my->table);
			snprintf(why, whysz, "the ALTER could not be tried on an empty copy of the table (%.200s); the shadow "
			                     "copy judges it",
			         pe.msg);
			break;
		}
		snprintf(why, whysz, "the server does it only by copying the table (%.200s)", pe.msg);
	}
	/* a failed ALTER left the copy as it was; drop it in every case */
	ok = my_trial_drop(my, e);
	sql_free(&q);
	return ok;
}

/* Replicas the primary knows of: *named gets the first (host:port), or
 * why it could not tell.  true when there is one, or it cannot tell. */
static bool replicas_known(My *my, char *named, size_t namedsz)
{
	const EngineEnv *opt = my->env;
	MYSQL_RES *r = NULL;
	OscErr e;

	if (opt->nreplicas > 0) {
		my_replica_label(opt->replicas[0], named, namedsz);
		return true;
	}
	err_clear(&e);
	if (!my_exec(my, "SHOW SLAVE HOSTS", &r, &e)) {
		snprintf(named, namedsz, "SHOW SLAVE HOSTS failed: %.200s", e.msg);
		return true;
	}
	enum { H_SERVER_ID, H_HOST, H_PORT, H_MASTER_ID }; /* SHOW SLAVE HOSTS */
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row)
		snprintf(named, namedsz, "%s:%s, from SHOW SLAVE HOSTS", row[H_HOST] ? row[H_HOST] : "?",
		         row[H_PORT] ? row[H_PORT] : "?");
	mysql_free_result(r);
	return row != NULL;
}

bool my_strategy_pick(My *my, Strategy *s, OscErr *e)
{
	const EngineEnv *o = my->env;
	char why[400] = "";

	memset(s, 0, sizeof(*s));
	if (o->strategy == STRATEGY_COPY) {
		strategy_copy(s, "--strategy copy");
		return true;
	}
	if (!is_mariadb(my)) {
		strategy_copy(s, "in-place strategies are implemented for MariaDB only");
		return true;
	}
	const char *no = my_trial_refused(o->alter);
	if (no) {
		strategy_copy(s, "%s: the shadow copy judges it", no);
		return true;
	}
	StrategyKind kind;
	if (!probe(my, &kind, why, sizeof(why), e))
		return false;
	if (kind == STRAT_COPY) {
		strategy_copy(s, "%s", why);
		return true;
	}
	if (kind == STRAT_NOCOPY) {
		char named[300];
		if (replicas_known(my, named, sizeof(named))) {
			strategy_copy(s,
			              "ALGORITHM=NOCOPY would build online here, but a replica (%s) would replay the build "
			              "serially and lag for its whole duration, which osc cannot throttle; the shadow copy is "
			              "throttled",
			              named);
			return true;
		}
		s->kind = STRAT_NOCOPY;
		snprintf(s->why, sizeof(s->why),
		         "the server builds this online (ALGORITHM=NOCOPY, LOCK=NONE: writers go on) and no replica is "
		         "known that would lag behind the build");
		return true;
	}
	s->kind = STRAT_INSTANT;
	snprintf(s->why, sizeof(s->why),
	         "the server changes only metadata (ALGORITHM=INSTANT): the ALTER runs as it is, under the short lock "
	         "wait with retries");
	return true;
}

/* The heartbeat table of an in-place run's wait for its replicas
 * (src/core/inplace.c): a table of that name in the way is refused. */
bool my_heartbeat_free(My *my, OscErr *e)
{
	char hb[MY_NAMELEN + 1];
	Sql q;
	int64_t n = 0;

	my_heartbeat_name(my, hb, sizeof(hb));
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L", my->db,
	        hb);
	bool ok = my_count(my, &q, &n, e);
	sql_free(&q);
	if (ok && n > 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s exists: osc writes its heartbeat into a table of that name; if an osc run killed while it "
		        "waited left it, `osc cleanup --table %s` removes it, else rename that table",
		        my->db, hb, my->env->table_arg);
		ok = false;
	}
	return ok;
}

bool my_heartbeat_drop(My *my, OscErr *e)
{
	char hb[MY_NAMELEN + 1];
	Sql q;
	my_heartbeat_name(my, hb, sizeof(hb));
	sql_init(&q, &my->dialect);
	sql_add(&q, "DROP TABLE IF EXISTS %I.%I", my->db, hb);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

bool my_strategy_run(My *my, Strategy *s, OscErr *e)
{
	Sql q;
	bool ok;

	sql_init(&q, &my->dialect);
	alter_sql(my, &q, my->table, s->kind);
	log_msg(my->log, LOG_INFO, "%s", sql_text(&q));
	ok = my_ddl_retry(my, "ALTER TABLE", &q, e);
	sql_free(&q);
	if (ok)
		return true;
	if (refused_algorithm(e)) {
		strategy_copy(s,
		              "the server refused ALGORITHM=%s on the table itself (%.300s); nothing was changed, the "
		              "shadow copy does it",
		              algorithm(s->kind), e->msg);
		err_clear(e);
		return true;
	}
	if (strcmp(e->sqlstate, "1062") == 0 || strcmp(e->sqlstate, "1022") == 0)
		err_wrap(e, OSC_EXIT_FAILED, "the table's rows violate the new unique key: ",
		         "; nothing was changed, no row was dropped");
	else if (e->exit != OSC_EXIT_STOPPED && !my_is_lock_timeout(e))
		err_wrap(e, OSC_EXIT_FAILED, "the database refused the ALTER on the table: ", "; nothing was changed");
	return false;
}

void my_strategy_describe(My *my, const Strategy *s, Plan *p)
{
	Sql q;
	if (s->kind != STRAT_INSTANT && s->kind != STRAT_NOCOPY)
		return;
	sql_init(&q, &my->dialect);
	alter_sql(my, &q, my->table, s->kind);
	plan_sql(p, "%s;  -- metadata lock waits of at most %lds, retried up to %d times%s", sql_text(&q),
	         (long)((my->env->lock_timeout_ms + 999) / 1000), my->env->cutover_retries,
	         s->kind == STRAT_NOCOPY ? "; the build itself lets writers go on" : "");
	sql_free(&q);
}
