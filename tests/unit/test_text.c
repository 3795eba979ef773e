/*
 * test_text.c — quoting, table names, derived names, durations.
 */
#include <stdlib.h>

#include "duration.h"
#include "err.h"
#include "names.h"
#include "sql.h"
#include "unit.h"

void test_sql(void)
{
	Sql q;
	sql_init(&q, &sql_dialect_std);
	sql_add(&q, "SELECT %I FROM %I.%I WHERE x = %L", "a\"b", "My Schema", "t; DROP", "it's");
	CHECK_STR(sql_text(&q), "SELECT \"a\"\"b\" FROM \"My Schema\".\"t; DROP\" WHERE x = 'it''s'");
	CHECK(!q.failed);
	sql_reset(&q);
	sql_add(&q, "%d %ld %s 100%%", 7, 123456789012L, "raw");
	CHECK_STR(sql_text(&q), "7 123456789012 raw 100%");
	sql_reset(&q);
	sql_add(&q, "%Q");
	CHECK(q.failed); /* an unknown conversion is never silently dropped */
	sql_reset(&q);
	/* growth past the initial buffer */
	for (int i = 0; i < 1000; i++)
		sql_add(&q, "%I,", "col");
	CHECK(q.len == 6000);
	char *s = sql_take(&q);
	CHECK(s != NULL && strlen(s) == 6000);
	free(s);
	sql_free(&q);
}

void test_names(void)
{
	TableName t;
	OscErr e;

	CHECK(names_parse_table("users", &t, &e));
	CHECK_STR(t.table, "users");
	CHECK_STR(t.schema, "");
	CHECK(names_parse_table("app.Users", &t, &e));
	CHECK_STR(t.schema, "app");
	CHECK_STR(t.table, "Users");
	CHECK(!t.table_quoted);
	CHECK(names_parse_table("\"My Schema\".\"a\"\"b; DROP\"", &t, &e));
	CHECK_STR(t.schema, "My Schema");
	CHECK_STR(t.table, "a\"b; DROP");
	CHECK(t.table_quoted && t.schema_quoted);
	CHECK(names_parse_table("\"dot.ted\"", &t, &e));
	CHECK_STR(t.table, "dot.ted");
	CHECK_STR(t.schema, "");
	CHECK(names_parse_table("a\"b; DROP", &t, &e)); /* unquoted: literal */
	CHECK_STR(t.table, "a\"b; DROP");
	CHECK(!names_parse_table("", &t, &e));
	CHECK(e.exit == OSC_EXIT_INPUT);
	CHECK(!names_parse_table("a.b.c", &t, &e));
	CHECK(!names_parse_table("\"open", &t, &e));
	CHECK(!names_parse_table("a.", &t, &e));
	CHECK(!names_parse_table("\"x\"y", &t, &e));

	char out[64], out2[64];
	names_derive(out, sizeof(out), "_", "users", "_osc_new", 63);
	CHECK_STR(out, "_users_osc_new");
	const char *long1 = "a_very_long_table_name_that_goes_on_and_on_past_the_limit_of_63_x";
	const char *long2 = "a_very_long_table_name_that_goes_on_and_on_past_the_limit_of_63_y";
	names_derive(out, sizeof(out), "_", long1, "_osc_old", 63);
	names_derive(out2, sizeof(out2), "_", long2, "_osc_old", 63);
	CHECK(strlen(out) == 63);
	CHECK(strlen(out2) == 63);
	CHECK(strcmp(out, out2) != 0); /* shortened, never collapsed into one */
	CHECK(strncmp(out + strlen(out) - 8, "_osc_old", 8) == 0);
	/* a later run's old names: the same cut and hash, its own suffix, so
	 * the first and second old tables of one long name never meet */
	char sfx[24], out3[64];
	names_old_suffix(sfx, sizeof(sfx), 1);
	CHECK_STR(sfx, "_osc_old");
	names_old_suffix(sfx, sizeof(sfx), 2);
	CHECK_STR(sfx, "_osc_old_2");
	names_old_suffix(sfx, sizeof(sfx), OSC_OLD_MAX);
	CHECK_STR(sfx, "_osc_old_100");
	names_derive(out3, sizeof(out3), "_", long1, sfx, 63);
	CHECK(strlen(out3) == 63);
	CHECK(strncmp(out3 + strlen(out3) - strlen(sfx), sfx, strlen(sfx)) == 0);
	CHECK(strcmp(out3, out) != 0);
	/* a multi-byte character is never cut in half */
	char utf[200] = "";
	for (int i = 0; i < 40; i++)
		strcat(utf, "\xc3\xa9"); /* é */
	names_derive(out, sizeof(out), "_", utf, "_osc_new", 63);
	CHECK(strlen(out) <= 63);
	size_t body = strlen(out) - strlen("_osc_new") - 9 - 1;
	CHECK(body % 2 == 0);
	char h1[13], h2[13];
	names_hash_hex(h1, 12, "ab", 2);
	names_hash_hex(h2, 12, "ab", 2);
	CHECK(strlen(h1) == 12 && strcmp(h1, h2) == 0);
	names_hash_hex(h2, 12, "a\0b", 3);
	CHECK(strcmp(h1, h2) != 0);
}

void test_duration(void)
{
	int64_t ms;
	CHECK(duration_parse_ms("250ms", &ms) && ms == 250);
	CHECK(duration_parse_ms("2s", &ms) && ms == 2000);
	CHECK(duration_parse_ms("5m", &ms) && ms == 300000);
	CHECK(duration_parse_ms("1h", &ms) && ms == 3600000);
	CHECK(duration_parse_ms("1.5s", &ms) && ms == 1500);
	CHECK(duration_parse_ms("3", &ms) && ms == 3000);
	CHECK(duration_parse_ms("0", &ms) && ms == 0);
	CHECK(!duration_parse_ms("", &ms));
	CHECK(!duration_parse_ms("-1s", &ms));
	CHECK(!duration_parse_ms("2 s", &ms));
	CHECK(!duration_parse_ms("2x", &ms));
	CHECK(!duration_parse_ms("ms", &ms));
	CHECK(!duration_parse_ms("1e300h", &ms));
	CHECK(!duration_parse_ms(NULL, &ms));
	char buf[32];
	duration_format(buf, sizeof(buf), 250);
	CHECK_STR(buf, "250ms");
	duration_format(buf, sizeof(buf), 4200);
	CHECK_STR(buf, "4.2s");
	duration_format(buf, sizeof(buf), 185000);
	CHECK_STR(buf, "3m05s");
	duration_format(buf, sizeof(buf), 3720000);
	CHECK_STR(buf, "1h02m");
}

void test_err(void)
{
	OscErr e;
	err_clear(&e);
	err_set(&e, OSC_EXIT_FAILED, "column \"x\" of relation \"_users_osc_new\" already exists\n");
	CHECK_STR(e.msg, "column \"x\" of relation \"_users_osc_new\" already exists");
	err_replace(&e, "_users_osc_new", "users");
	CHECK_STR(e.msg, "column \"x\" of relation \"users\" already exists");
	err_replace(&e, "users", "a_longer_name"); /* never grows */
	CHECK_STR(e.msg, "column \"x\" of relation \"users\" already exists");
	snprintf(e.sqlstate, sizeof(e.sqlstate), "42701");
	err_wrap(&e, OSC_EXIT_INPUT, "the database rejected the ALTER: ", ".");
	CHECK_STR(e.msg, "the database rejected the ALTER: column \"x\" of relation \"users\" already exists.");
	CHECK(e.exit == OSC_EXIT_INPUT);
	CHECK_STR(e.sqlstate, "42701");
}
