/*
 * test_logic.c — the --alter lexer, chunk sizing, backoff, options.
 */
#include <stdlib.h>
#include <unistd.h>

#include "alter.h"
#include "backoff.h"
#include "chunk.h"
#include "options.h"
#include "window.h"
#include "url.h"
#include "unit.h"

void test_alter(void)
{
	AlterSpec a;
	OscErr e;

	CHECK(alter_parse("ADD COLUMN bio text", &a, &e));
	CHECK_STR(a.text, "ADD COLUMN bio text");
	CHECK(a.n_using == 0);
	alter_free(&a);

	CHECK(alter_parse("  ADD COLUMN bio text ;  ", &a, &e)); /* a final ';' is fine */
	CHECK_STR(a.text, "ADD COLUMN bio text");
	alter_free(&a);

	CHECK(!alter_parse("ADD COLUMN z int; DROP TABLE x", &a, &e));
	CHECK(e.exit == OSC_EXIT_INPUT);
	CHECK(strstr(e.msg, "more than one statement") != NULL);
	CHECK(!alter_parse("ADD COLUMN z int;;", &a, &e));
	CHECK(!alter_parse("", &a, &e));
	CHECK(!alter_parse("   -- only a comment", &a, &e));
	CHECK(!alter_parse(NULL, &a, &e));
	CHECK(!alter_parse("ALTER TABLE users ADD COLUMN x int", &a, &e));
	CHECK(!alter_parse("ADD COLUMN \"open int", &a, &e));
	CHECK(!alter_parse("ADD COLUMN x text DEFAULT 'open", &a, &e));
	CHECK(!alter_parse("ADD COLUMN x int /* open", &a, &e));

	/* semicolons inside quotes, dollar quotes and comments are text */
	CHECK(alter_parse("ADD COLUMN \"a;b\" text DEFAULT 'x;y' /* ; */ -- ;\n, ADD COLUMN c text DEFAULT $q$;$q$", &a,
	                  &e));
	alter_free(&a);
	CHECK(alter_parse("ADD COLUMN x text DEFAULT E'it\\'s;'", &a, &e));
	alter_free(&a);

	CHECK(alter_parse("ALTER COLUMN n TYPE bigint USING n * 10, ADD COLUMN c int", &a, &e));
	CHECK(a.n_using == 1);
	CHECK_STR(alter_using_for(&a, "n"), "n * 10");
	CHECK(alter_using_for(&a, "c") == NULL);
	alter_free(&a);

	CHECK(alter_parse("alter \"Mixed Col\" set data type numeric(10,2) using round(\"Mixed Col\", 2)", &a, &e));
	CHECK_STR(alter_using_for(&a, "Mixed Col"), "round(\"Mixed Col\", 2)");
	alter_free(&a);

	CHECK(alter_parse("ALTER COLUMN Amount TYPE int USING (CASE WHEN x > 0 THEN 1 ELSE 0 END), DROP COLUMN y", &a,
	                  &e));
	CHECK_STR(alter_using_for(&a, "amount"), "(CASE WHEN x > 0 THEN 1 ELSE 0 END)");
	alter_free(&a);

	CHECK(alter_parse("RENAME COLUMN a TO b", &a, &e));
	CHECK(a.renames);
	CHECK_STR(a.mysql_hazard, "");
	alter_free(&a);

	/* a table rename or move leaves the renamed shadow behind: refused */
	CHECK(!alter_parse("RENAME TO other", &a, &e) && e.exit == OSC_EXIT_INPUT);
	CHECK(strstr(e.msg, "renames the table") != NULL);
	CHECK(!alter_parse("ADD COLUMN c INT, RENAME AS other", &a, &e));
	CHECK(!alter_parse("rename other", &a, &e));
	CHECK(!alter_parse("RENAME /* x */ TO other", &a, &e));
	CHECK(!alter_parse("SET SCHEMA elsewhere", &a, &e) && strstr(e.msg, "SET SCHEMA") != NULL);
	CHECK(alter_parse("RENAME a TO b, RENAME CONSTRAINT c TO d, RENAME INDEX i TO j", &a, &e));
	alter_free(&a);

	/* what MySQL reads differently is noted (the MySQL engine refuses it) */
	static const char *const mysql_differs[] = {
		"ADD COLUMN x INT /*!, CHANGE COLUMN v v2 VARCHAR(64) */",
		"ADD COLUMN x INT /*!50700 , DROP COLUMN v */",
		"ADD COLUMN x INT /*M!100500 , DROP COLUMN v */",
		"ADD COLUMN x INT /*+ SET_VAR(foreign_key_checks=OFF) */",
		"ADD COLUMN x INT DEFAULT 5 --1, DROP COLUMN v",
		"ADD COLUMN x INT # , DROP COLUMN v",
		"ADD COLUMN x VARCHAR(9) DEFAULT 'a\\', CHANGE v v2 INT, ADD COLUMN y INT DEFAULT '",
		"ADD COLUMN $a$ INT, CHANGE v v2 INT, DROP COLUMN $a$",
		"ADD COLUMN x INT /* /* */ , CHANGE v v2 INT */",
		"ADD COLUMN x VARCHAR(9) DEFAULT \"a\\\", CHANGE v v2 INT, ADD y INT DEFAULT \"",
	};
	for (size_t i = 0; i < sizeof(mysql_differs) / sizeof(mysql_differs[0]); i++) {
		bool parsed = alter_parse(mysql_differs[i], &a, &e);
		CHECK(!parsed || a.mysql_hazard[0] != '\0');
		if (parsed && a.mysql_hazard[0] == '\0')
			fprintf(stderr, "  no hazard noted in: %s\n", mysql_differs[i]);
		if (parsed)
			alter_free(&a);
	}
	static const char *const mysql_same[] = {
		"ADD COLUMN x INT /* a comment */ -- another\n, ADD COLUMN y INT",
		"ADD COLUMN x VARCHAR(9) DEFAULT 'it''s', CHANGE v v2 INT",
		"ADD COLUMN x VARCHAR(9) DEFAULT 'a\\\\', ADD COLUMN `we``ird` INT",
		"ADD COLUMN x VARCHAR(9) DEFAULT E'it\\'s'",
		"ADD COLUMN p$q INT --\n",
	};
	for (size_t i = 0; i < sizeof(mysql_same) / sizeof(mysql_same[0]); i++) {
		CHECK(alter_parse(mysql_same[i], &a, &e));
		CHECK(a.mysql_hazard[0] == '\0');
		if (a.mysql_hazard[0])
			fprintf(stderr, "  hazard '%s' in: %s\n", a.mysql_hazard, mysql_same[i]);
		alter_free(&a);
	}
}

void test_chunk(void)
{
	ChunkSizer c;
	chunk_init(&c, 1000, 10, 100000, 500);
	CHECK(c.size == 1000);
	/* fast chunk: grows by at most half */
	chunk_observe(&c, 1000, 10000);
	CHECK(c.size == 1500);
	chunk_observe(&c, 1500, 10000);
	CHECK(c.size == 2250);
	/* slow chunk: shrinks at once to what fits the target */
	chunk_observe(&c, 2250, 2000000);
	CHECK(c.size == 562);
	/* bounded */
	for (int i = 0; i < 100; i++)
		chunk_observe(&c, c.size, 1000);
	CHECK(c.size == 100000);
	for (int i = 0; i < 10; i++)
		chunk_observe(&c, c.size, 100000000);
	CHECK(c.size == 10);
	/* a short last chunk says nothing */
	chunk_init(&c, 1000, 10, 100000, 500);
	chunk_observe(&c, 3, 100);
	CHECK(c.size == 1000);
	/* fixed size when no target */
	chunk_init(&c, 500, 10, 1000, 0);
	chunk_observe(&c, 500, 10);
	CHECK(c.size == 500);
	chunk_init(&c, 5000, 10, 1000, 500);
	CHECK(c.size == 1000);
}

void test_backoff(void)
{
	unsigned seed = 42;
	int64_t prev_max = 0;
	for (int attempt = 1; attempt <= 10; attempt++) {
		int64_t lo = 1 << 30, hi = 0;
		for (int i = 0; i < 200; i++) {
			int64_t v = backoff_ms(attempt, 100, 2000, &seed);
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		int64_t base = 100LL << (attempt - 1);
		if (base > 2000)
			base = 2000;
		CHECK(lo >= base / 2);
		CHECK(hi < base * 3 / 2 + 1);
		CHECK(hi > lo); /* jitter */
		CHECK(hi >= prev_max / 2);
		prev_max = hi;
	}
	CHECK(backoff_ms(0, 0, 10, &seed) >= 1);
}

static bool parse(Options *o, int argc, char **argv, OscErr *e)
{
	options_defaults(o);
	return options_parse(o, argc, argv, e);
}

void test_options(void)
{
	Options o;
	OscErr e;
	char *a1[] = { "osc", "--table", "t", "--alter", "ADD c int", "--chunk-time", "2s", "--lock-timeout", "250ms",
		           "--cutover-retries", "5", "--drop-old-table", NULL };
	CHECK(parse(&o, 12, a1, &e));
	CHECK(o.command == CMD_RUN);
	CHECK(o.chunk_time_ms == 2000 && o.lock_timeout_ms == 250 && o.cutover_retries == 5 && o.drop_old_table);
	options_free(&o);

	char *a2[] = { "osc", "plan", "--table", "t", "--alter", "x", NULL };
	CHECK(parse(&o, 6, a2, &e) && o.command == CMD_PLAN);
	options_free(&o);
	char *a3[] = { "osc", "cleanup", "--table", "t", NULL };
	CHECK(parse(&o, 4, a3, &e) && o.command == CMD_CLEANUP);
	options_free(&o);
	char *a4[] = { "osc", "--table", "t", "--alter", "x", "--bogus", NULL };
	CHECK(!parse(&o, 6, a4, &e) && e.exit == OSC_EXIT_INPUT);
	options_free(&o);
	char *a5[] = { "osc", "--table", "t", "--alter", "x", "--chunk-time", "fast", NULL };
	CHECK(!parse(&o, 7, a5, &e) && strstr(e.msg, "duration") != NULL);
	options_free(&o);
	char *a6[] = { "osc", "--alter", "x", NULL };
	CHECK(!parse(&o, 3, a6, &e) && strstr(e.msg, "--table") != NULL);
	options_free(&o);
	char *a7[] = { "osc", "frobnicate", "--table", "t", NULL };
	CHECK(!parse(&o, 4, a7, &e));
	options_free(&o);

	/* --config: key = value lines; the command line wins */
	char path[] = "/tmp/osc-unit-config-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("# comment\n\nchunk-time = 1s\nlock-timeout = 50ms\ndrop-old-table\ntable = fromfile\n", f);
	fclose(f);
	char *a8[] = { "osc", "--config", path, "--alter", "x", "--chunk-time", "3s", NULL };
	CHECK(parse(&o, 7, a8, &e));
	CHECK(o.chunk_time_ms == 3000 && o.lock_timeout_ms == 50 && o.drop_old_table);
	CHECK_STR(o.table, "fromfile");
	options_free(&o);
	f = fopen(path, "w");
	fputs("no-such = 1\n", f);
	fclose(f);
	char *a9[] = { "osc", "--config", path, "--table", "t", "--alter", "x", NULL };
	CHECK(!parse(&o, 7, a9, &e) && strstr(e.msg, "unknown option") != NULL);
	options_free(&o);
	unlink(path);

	/* throttling options */
	char *b1[] = { "osc", "--table", "t", "--alter", "x", "--replica", "postgres://r1", "--replica", "postgres://r2",
		           "--max-lag", "2s", "--critical-lag", "10s", "--max-load", "Threads_running=25",
		           "--critical-load", "Threads_running=100,Threads_connected=500", "--pause-file", "/p", NULL };
	CHECK(parse(&o, 19, b1, &e));
	CHECK(o.nreplicas == 2 && strcmp(o.replicas[1], "postgres://r2") == 0);
	CHECK(o.limits.max_lag_ms == 2000 && o.limits.critical_lag_ms == 10000);
	CHECK(o.limits.max_load.n == 1 && o.limits.critical_load.n == 2 && o.limits.critical_load.item[1].value == 500);
	CHECK_STR(o.pause_file, "/p");
	options_free(&o);
	char *b2[] = { "osc", "--table", "t", "--alter", "x", "--max-load", "Threads_running", NULL };
	CHECK(!parse(&o, 7, b2, &e) && strstr(e.msg, "--max-load") != NULL);
	options_free(&o);
	/* --progress-interval: a duration of at least 100ms; 0 (the default) leaves it to the output */
	char *b4[] = { "osc", "--table", "t", "--alter", "x", "--progress-interval", "1s", NULL };
	CHECK(parse(&o, 7, b4, &e) && o.progress_interval_ms == 1000);
	options_free(&o);
	char *b5[] = { "osc", "--table", "t", "--alter", "x", "--progress-interval", "10ms", NULL };
	CHECK(!parse(&o, 7, b5, &e) && strstr(e.msg, "--progress-interval") != NULL);
	options_free(&o);
	/* defaults: 1.5 s of lag throttles, nothing aborts */
	char *b3[] = { "osc", "--table", "t", "--alter", "x", NULL };
	CHECK(parse(&o, 5, b3, &e) && o.limits.max_lag_ms == 1500 && o.limits.critical_lag_ms == 0);
	CHECK(o.progress_interval_ms == 0);
	options_free(&o);

	/* osc set: name=value words among the options, in any order */
	char *c1[] = { "osc", "set", "--table", "t", "chunk-time=200ms", "max-lag=2s", "--database", "postgres://x", NULL };
	CHECK(parse(&o, 8, c1, &e) && o.command == CMD_SET);
	CHECK(o.nset_args == 2 && strcmp(o.set_args[0], "chunk-time=200ms") == 0 && strcmp(o.set_args[1], "max-lag=2s") == 0);
	CHECK_STR(o.database, "postgres://x");
	CHECK_STR(o.table, "t");
	options_free(&o);
	char *c2[] = { "osc", "set", "--table", "t", NULL };
	CHECK(!parse(&o, 4, c2, &e) && strstr(e.msg, "name=value") != NULL);
	options_free(&o);
	char *c3[] = { "osc", "pause", "--table", "t", NULL };
	CHECK(parse(&o, 4, c3, &e) && o.command == CMD_PAUSE);
	options_free(&o);
	char *c4[] = { "osc", "pause", "--table", "t", "now", NULL };
	CHECK(!parse(&o, 5, c4, &e));
	options_free(&o);
}

void test_window(void)
{
	Window w;
	int64_t to_end, to_start;

	CHECK(window_parse("01:00-05:00", &w) && w.start_s == 3600 && w.end_s == 18000);
	CHECK(window_parse("22:30:15-04:00:00", &w) && w.start_s == 22 * 3600 + 30 * 60 + 15 && w.end_s == 4 * 3600);
	CHECK(!window_parse("1:00-05:00", &w));
	CHECK(!window_parse("01:00", &w));
	CHECK(!window_parse("24:00-05:00", &w));
	CHECK(!window_parse("01:60-05:00", &w));
	CHECK(!window_parse("01:00-05:00x", &w));
	CHECK(!window_parse("", &w));
	CHECK(!window_parse(NULL, &w));

	CHECK(window_parse("01:00-05:00", &w));
	CHECK(window_inside(&w, 3600, &to_end, &to_start) && to_end == 4 * 3600);
	CHECK(window_inside(&w, 17999, &to_end, &to_start) && to_end == 1);
	CHECK(!window_inside(&w, 18000, &to_end, &to_start) && to_start == 20 * 3600);
	CHECK(!window_inside(&w, 0, &to_end, &to_start) && to_start == 3600);

	/* across midnight */
	CHECK(window_parse("22:00-04:00", &w));
	CHECK(window_inside(&w, 23 * 3600, &to_end, &to_start) && to_end == 5 * 3600);
	CHECK(window_inside(&w, 3600, &to_end, &to_start) && to_end == 3 * 3600);
	CHECK(!window_inside(&w, 12 * 3600, &to_end, &to_start) && to_start == 10 * 3600);
	CHECK(!window_inside(&w, 4 * 3600, &to_end, &to_start));

	/* start == end: the whole day; unset: always */
	CHECK(window_parse("03:00-03:00", &w) && window_inside(&w, 12345, &to_end, &to_start));
	Window none = { 0 };
	CHECK(window_inside(&none, 0, &to_end, &to_start));
}

void test_mysql_alter(void)
{
	AlterSpec a;
	OscErr e;
	CHECK(alter_parse("CHANGE COLUMN extra extra2 BIGINT NOT NULL DEFAULT 0, ADD COLUMN c INT", &a, &e));
	CHECK(a.n_rename == 1);
	CHECK_STR(a.rename[0].from, "extra");
	CHECK_STR(a.rename[0].to, "extra2");
	alter_free(&a);
	CHECK(alter_parse("CHANGE `Odd``Name` `new name` INT, RENAME COLUMN b TO c", &a, &e));
	CHECK(a.n_rename == 2);
	CHECK_STR(a.rename[0].from, "Odd`Name");
	CHECK_STR(a.rename[0].to, "new name");
	CHECK_STR(a.rename[1].from, "b");
	CHECK_STR(a.rename[1].to, "c");
	alter_free(&a);
	CHECK(!alter_parse("ADD COLUMN `x;y` INT; DROP TABLE t", &a, &e));
	CHECK(alter_parse("ADD COLUMN `x;y` INT", &a, &e));
	alter_free(&a);
}

void test_url(void)
{
	Url u;
	CHECK(url_parse("mysql://root@127.0.0.1:53306/osctest", &u));
	CHECK_STR(u.scheme, "mysql");
	CHECK_STR(u.user, "root");
	CHECK_STR(u.password, "");
	CHECK_STR(u.host, "127.0.0.1");
	CHECK(u.port == 53306);
	CHECK_STR(u.db, "osctest");
	CHECK(url_parse("mariadb://app:p%40ss%3Aw@db1/app?ssl-mode=REQUIRED&ssl-ca=%2Fetc%2Fca.pem", &u));
	CHECK_STR(u.user, "app");
	CHECK_STR(u.password, "p@ss:w");
	CHECK(u.port == 0);
	CHECK_STR(url_param(&u, "ssl-mode"), "REQUIRED");
	CHECK_STR(url_param(&u, "ssl-ca"), "/etc/ca.pem");
	CHECK(url_param(&u, "nope") == NULL);
	CHECK(url_parse("mysql://[::1]:3307/x", &u) && u.port == 3307);
	CHECK_STR(u.host, "::1");
	CHECK(url_parse("mysql://host", &u) && u.db[0] == '\0');
	CHECK(!url_parse("mysql://host:99999/x", &u));
	CHECK(!url_parse("host/x", &u));
	CHECK(!url_parse("mysql://u%zz@host/x", &u));
	CHECK(!url_parse("mysql://host/x?novalue", &u));
}
