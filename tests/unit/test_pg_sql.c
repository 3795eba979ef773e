/*
 * test_pg_sql.c — the SQL text of PostgreSQL's copy, comparison, replay and
 * capture (src/pg/pg_sql.c), without a server: a composite key, a column
 * the ALTER renamed, and names that need quoting (a double quote, a space,
 * mixed case).  The statements are pinned whole: a change to one shows up
 * here, reviewed, before it reaches a database.
 */
#include "unit.h"

#include "pg.h"

static PgKey keys[2] = {
	{ "id", "id", "integer" },
	{ "Te\"nant", "te nant", "text" },
};
static PgCol cols[3] = {
	{ "id", "src.id" },
	{ "te nant", "src.\"Te\"\"nant\"" },
	{ "v", "src.v" },
};
static char *types[3] = { "integer", "text", "bigint" };

static void fill(Pg *pg)
{
	memset(pg, 0, sizeof(*pg));
	pg->dialect = sql_dialect_std;
	pg->schema = "app";
	pg->table = "Us\"ers";
	pg->keys = keys;
	pg->nkeys = 2;
	pg->cols = cols;
	pg->ncols = 3;
	pg->col_types = types;
	snprintf(pg->work, sizeof(pg->work), "_osc_w");
	snprintf(pg->shadow, sizeof(pg->shadow), "_Us\"ers_osc_new");
	snprintf(pg->log_table, sizeof(pg->log_table), "_Us\"ers_osc_log");
}

/* One statement, built into q (emptied first). */
#define TEXT(call)                          \
	do {                                    \
		sql_reset(&q);                      \
		call;                               \
	} while (0)

void test_pg_sql(void)
{
	Pg pg;
	Sql q;
	fill(&pg);
	sql_init(&q, &pg.dialect);
	/* a chunk's upper bound: the key `limit` rows after lo, and how many rows that spans */
	TEXT(pg_sql_bound(&pg, &q, true));
	CHECK_STR(sql_text(&q),
	          "SELECT b.*, count(*) OVER () FROM (SELECT \"src\".\"id\", \"src\".\"Te\"\"nant\" FROM "
	          "ONLY \"app\".\"Us\"\"ers\" src WHERE (\"src\".\"id\", \"src\".\"Te\"\"nant\") > "
	          "($1::integer, $2::text) ORDER BY \"src\".\"id\", \"src\".\"Te\"\"nant\" LIMIT $3) b ORDER "
	          "BY \"id\" DESC, \"Te\"\"nant\" DESC LIMIT 1");
	/* the first chunk: no lower bound */
	TEXT(pg_sql_bound(&pg, &q, false));
	CHECK_STR(sql_text(&q),
	          "SELECT b.*, count(*) OVER () FROM (SELECT \"src\".\"id\", \"src\".\"Te\"\"nant\" FROM "
	          "ONLY \"app\".\"Us\"\"ers\" src ORDER BY \"src\".\"id\", \"src\".\"Te\"\"nant\" LIMIT $1) "
	          "b ORDER BY \"id\" DESC, \"Te\"\"nant\" DESC LIMIT 1");
	/* most bounds: the key `limit` rows on, stepping over $3 entries of the index, no sort */
	TEXT(pg_sql_bound_skip(&pg, &q, true));
	CHECK_STR(sql_text(&q),
	          "SELECT \"src\".\"id\", \"src\".\"Te\"\"nant\" FROM ONLY \"app\".\"Us\"\"ers\" src WHERE "
	          "(\"src\".\"id\", \"src\".\"Te\"\"nant\") > ($1::integer, $2::text) ORDER BY \"src\".\"id\", "
	          "\"src\".\"Te\"\"nant\" OFFSET $3 LIMIT 1");
	TEXT(pg_sql_bound_skip(&pg, &q, false));
	CHECK_STR(sql_text(&q),
	          "SELECT \"src\".\"id\", \"src\".\"Te\"\"nant\" FROM ONLY \"app\".\"Us\"\"ers\" src ORDER BY "
	          "\"src\".\"id\", \"src\".\"Te\"\"nant\" OFFSET $1 LIMIT 1");
	/* a parallel copy's rows above the checkpoint, out of the shadow (its key names) */
	TEXT(pg_sql_trim(&pg, &q, true));
	CHECK_STR(sql_text(&q),
	          "DELETE FROM \"_osc_w\".\"_Us\"\"ers_osc_new\" WHERE (\"id\", \"te nant\") > ($1::integer, $2::text)");
	/* the copy of (lo, hi]: the rows stream through the server, the renamed column mapped */
	TEXT(pg_sql_copy_range(&pg, &q, true));
	CHECK_STR(sql_text(&q),
	          "INSERT INTO \"_osc_w\".\"_Us\"\"ers_osc_new\" (\"id\", \"te nant\", \"v\") SELECT src.id, "
	          "src.\"Te\"\"nant\", src.v FROM ONLY \"app\".\"Us\"\"ers\" src WHERE (\"src\".\"id\", "
	          "\"src\".\"Te\"\"nant\") > ($1::integer, $2::text) AND (\"src\".\"id\", "
	          "\"src\".\"Te\"\"nant\") <= ($3::integer, $4::text)");
	/* --verify checksum of a range: both sides hashed, each key column by its own name on its side */
	TEXT(pg_sql_check(&pg, &q, true, false, true));
	CHECK_STR(sql_text(&q),
	          "SELECT a.n, b.n, a.h IS NOT DISTINCT FROM b.h FROM (SELECT count(*) AS n, "
	          "sum(pg_catalog.hashtextextended(ROW(CAST(src.id AS integer), CAST(src.\"Te\"\"nant\" AS "
	          "text), CAST(src.v AS bigint))::text, 0)) AS h FROM ONLY \"app\".\"Us\"\"ers\" src WHERE "
	          "(\"src\".\"id\", \"src\".\"Te\"\"nant\") > ($1::integer, $2::text) AND (\"src\".\"id\", "
	          "\"src\".\"Te\"\"nant\") <= ($3::integer, $4::text)) a, (SELECT count(*) AS n, "
	          "sum(pg_catalog.hashtextextended(ROW(s.\"id\", s.\"te nant\", s.\"v\")::text, 0)) AS h "
	          "FROM \"_osc_w\".\"_Us\"\"ers_osc_new\" s WHERE (\"s\".\"id\", \"s\".\"te nant\") > "
	          "($1::integer, $2::text) AND (\"s\".\"id\", \"s\".\"te nant\") <= ($3::integer, $4::text)) "
	          "b");
	/* --verify count of a merged batch: the keys come as one array per key column */
	TEXT(pg_sql_check(&pg, &q, false, true, false));
	CHECK_STR(sql_text(&q),
	          "SELECT a.n, b.n, a.h IS NOT DISTINCT FROM b.h FROM (SELECT count(*) AS n, NULL::numeric "
	          "AS h FROM ONLY \"app\".\"Us\"\"ers\" src WHERE (\"src\".\"id\", \"src\".\"Te\"\"nant\") "
	          "IN (SELECT * FROM unnest($1::integer[], $2::text[]))) a, (SELECT count(*) AS n, "
	          "NULL::numeric AS h FROM \"_osc_w\".\"_Us\"\"ers_osc_new\" s WHERE (\"s\".\"id\", "
	          "\"s\".\"te nant\") IN (SELECT * FROM unnest($1::integer[], $2::text[]))) b");
	/* the replay takes log rows, keeping the keys at or below the watermark */
	TEXT(pg_sql_take(&pg, &q, PG_TAKE_UPTO));
	CHECK_STR(sql_text(&q),
	          "WITH d AS (DELETE FROM \"_osc_w\".\"_Us\"\"ers_osc_log\" WHERE _osc_change_id = ANY "
	          "(ARRAY(SELECT _osc_change_id FROM \"_osc_w\".\"_Us\"\"ers_osc_log\" ORDER BY "
	          "_osc_change_id LIMIT $1)) RETURNING _osc_truncate, \"id\", \"Te\"\"nant\"), k AS (SELECT "
	          "DISTINCT \"id\", \"Te\"\"nant\" FROM d WHERE NOT _osc_truncate AND (\"id\", "
	          "\"Te\"\"nant\") <= ($2::integer, $3::text)) SELECT (SELECT count(*) FROM d) AS taken, "
	          "count(*) AS nkeys, array_agg(\"id\")::text, array_agg(\"Te\"\"nant\")::text, (SELECT "
	          "coalesce(bool_or(_osc_truncate), false) FROM d) AS truncated FROM k");
	/* nothing copied yet: every key is the copy's, none is merged */
	TEXT(pg_sql_take(&pg, &q, PG_TAKE_NONE));
	CHECK_STR(sql_text(&q),
	          "WITH d AS (DELETE FROM \"_osc_w\".\"_Us\"\"ers_osc_log\" WHERE _osc_change_id = ANY "
	          "(ARRAY(SELECT _osc_change_id FROM \"_osc_w\".\"_Us\"\"ers_osc_log\" ORDER BY "
	          "_osc_change_id LIMIT $1)) RETURNING _osc_truncate, \"id\", \"Te\"\"nant\"), k AS (SELECT "
	          "DISTINCT \"id\", \"Te\"\"nant\" FROM d WHERE NOT _osc_truncate AND false) SELECT (SELECT "
	          "count(*) FROM d) AS taken, count(*) AS nkeys, array_agg(\"id\")::text, "
	          "array_agg(\"Te\"\"nant\")::text, (SELECT coalesce(bool_or(_osc_truncate), false) FROM d) "
	          "AS truncated FROM k");
	/* a batch merged: the shadow's rows out, */
	TEXT(pg_sql_merge_delete(&pg, &q));
	CHECK_STR(sql_text(&q),
	          "DELETE FROM \"_osc_w\".\"_Us\"\"ers_osc_new\" s WHERE (\"s\".\"id\", \"s\".\"te nant\") "
	          "IN (SELECT * FROM unnest($1::integer[], $2::text[]))");
	/* the original's current rows in */
	TEXT(pg_sql_merge_insert(&pg, &q));
	CHECK_STR(sql_text(&q),
	          "INSERT INTO \"_osc_w\".\"_Us\"\"ers_osc_new\" (\"id\", \"te nant\", \"v\") SELECT src.id, "
	          "src.\"Te\"\"nant\", src.v FROM ONLY \"app\".\"Us\"\"ers\" src WHERE (\"src\".\"id\", "
	          "\"src\".\"Te\"\"nant\") IN (SELECT * FROM unnest($1::integer[], $2::text[]))");
	/* every pending key out of the shadow (a duplicate's escalation) */
	TEXT(pg_sql_unmerge_pending(&pg, &q));
	CHECK_STR(sql_text(&q),
	          "DELETE FROM \"_osc_w\".\"_Us\"\"ers_osc_new\" s WHERE (\"s\".\"id\", \"s\".\"te nant\") "
	          "IN (SELECT \"l\".\"id\", \"l\".\"Te\"\"nant\" FROM \"_osc_w\".\"_Us\"\"ers_osc_log\" l)");
	/* the change log: the key's columns in the original's types; a TRUNCATE marker has none */
	TEXT(pg_sql_capture_log(&pg, &q, pg.log_table, false));
	CHECK_STR(sql_text(&q),
	          "CREATE TABLE \"_osc_w\".\"_Us\"\"ers_osc_log\" (_osc_change_id bigint GENERATED ALWAYS AS "
	          "IDENTITY PRIMARY KEY, _osc_truncate boolean NOT NULL DEFAULT false, \"id\" integer, "
	          "\"Te\"\"nant\" text) WITH (autovacuum_vacuum_scale_factor = 0, "
	          "autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0)");
	/* the capture trigger logs keys only; a changed key logs both */
	TEXT(pg_sql_capture_body(&pg, &q, pg.log_table, false));
	CHECK_STR(sql_text(&q),
	          "BEGIN\n"
	          "  IF TG_OP <> 'DELETE' THEN\n"
	          "    INSERT INTO \"_osc_w\".\"_Us\"\"ers_osc_log\" (\"id\", \"Te\"\"nant\") VALUES "
	          "(NEW.\"id\", NEW.\"Te\"\"nant\");\n"
	          "  END IF;\n"
	          "  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.\"id\", OLD.\"Te\"\"nant\") IS "
	          "DISTINCT FROM (NEW.\"id\", NEW.\"Te\"\"nant\")) THEN\n"
	          "    INSERT INTO \"_osc_w\".\"_Us\"\"ers_osc_log\" (\"id\", \"Te\"\"nant\") VALUES "
	          "(OLD.\"id\", OLD.\"Te\"\"nant\");\n"
	          "  END IF;\n"
	          "  RETURN NULL;\n"
	          "END");
	/* --revertible: the reverse log, keyed as the new table names the key,
	 * and its triggers on the shadow (src/pg/pg_revert_keep.c) */
	TEXT(pg_sql_capture_log(&pg, &q, "_Us\"ers_osc_rlog", true));
	CHECK_STR(sql_text(&q),
	          "CREATE TABLE IF NOT EXISTS \"_osc_w\".\"_Us\"\"ers_osc_rlog\" (_osc_change_id bigint GENERATED "
	          "ALWAYS AS IDENTITY PRIMARY KEY, _osc_truncate boolean NOT NULL DEFAULT false, \"id\" integer, "
	          "\"te nant\" text) WITH (autovacuum_vacuum_scale_factor = 0, "
	          "autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_cost_delay = 0)");
	{
		Sql t[4];
		for (int i = 0; i < 4; i++)
			sql_init(&t[i], &pg.dialect);
		pg_sql_capture_triggers(&pg, t, pg.work, pg.shadow, "_osc_rcapture", "_osc_rtruncate");
		CHECK_STR(sql_text(&t[0]), "CREATE TRIGGER \"_osc_capture\" AFTER INSERT OR UPDATE OR DELETE ON "
		                           "\"_osc_w\".\"_Us\"\"ers_osc_new\" FOR EACH ROW EXECUTE FUNCTION "
		                           "\"_osc_w\".\"_osc_rcapture\"()");
		CHECK_STR(sql_text(&t[3]), "ALTER TABLE \"_osc_w\".\"_Us\"\"ers_osc_new\" ENABLE ALWAYS TRIGGER "
		                           "\"_osc_truncate\"");
		for (int i = 0; i < 4; i++)
			sql_free(&t[i]);
	}
	/* OSC_FAULT=corrupt-shadow: one value lost in the range */
	TEXT(pg_sql_damage(&pg, &q, "v", false));
	CHECK_STR(sql_text(&q),
	          "UPDATE \"_osc_w\".\"_Us\"\"ers_osc_new\" SET \"v\" = NULL WHERE ctid = (SELECT s.ctid "
	          "FROM \"_osc_w\".\"_Us\"\"ers_osc_new\" s WHERE (\"s\".\"id\", \"s\".\"te nant\") <= "
	          "($1::integer, $2::text) AND s.\"v\" IS NOT NULL LIMIT 1)");
	CHECK(!q.failed);
	sql_free(&q);
}
