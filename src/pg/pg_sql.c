/*
 * pg_sql.c — the SQL text of the copy, the comparison and the replay on
 * PostgreSQL: pure functions of the table's description (Pg), built with
 * the quoting helpers (src/lib/sql.h) and run by pg_copy.c, pg_verify.c and
 * pg_replay.c.  tests/unit/test_pg_sql.c checks them without a server, for
 * a composite key and a hostile name.
 *
 * Keys travel as parameters, cast to the key's type in the original
 * ($1::integer): a bound or watermark is the key's text, a batch is one
 * text array per key column, unnested back into rows.
 */
#include "pg.h"

void pg_key_list(const Pg *pg, Sql *q, const char *alias, bool shadow_names)
{
	for (int k = 0; k < pg->nkeys; k++) {
		if (k)
			sql_add(q, ", ");
		if (alias)
			sql_add(q, "%I.", alias);
		sql_add(q, "%I", shadow_names ? pg->keys[k].shadow_name : pg->keys[k].name);
	}
}

void pg_key_tuple(const Pg *pg, Sql *q, const char *alias, bool shadow_names)
{
	sql_add(q, "(");
	pg_key_list(pg, q, alias, shadow_names);
	sql_add(q, ")");
}

void pg_param_tuple(const Pg *pg, Sql *q, int first, const char *suffix)
{
	sql_add(q, "(");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, "%s$%d::%s%s", k ? ", " : "", first + k, pg->keys[k].type, suffix);
	sql_add(q, ")");
}

void pg_unnest_keys(const Pg *pg, Sql *q, int first)
{
	sql_add(q, "(SELECT * FROM unnest(");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, "%s$%d::%s[]", k ? ", " : "", first + k, pg->keys[k].type);
	sql_add(q, "))");
}

void pg_copy_head(const Pg *pg, Sql *q)
{
	Sql cols, exprs;
	sql_init(&cols, q->dialect);
	sql_init(&exprs, q->dialect);
	for (int i = 0; i < pg->ncols; i++) {
		sql_add(&cols, "%s%I", i ? ", " : "", pg->cols[i].name);
		sql_add(&exprs, "%s%s", i ? ", " : "", pg->cols[i].expr); /* built with quoting by pg_shadow.c */
	}
	sql_add(q, "INSERT INTO %I.%I (%s)%s SELECT %s FROM ONLY %I.%I src", pg->work, pg->shadow, sql_text(&cols),
	        pg->overriding ? " OVERRIDING SYSTEM VALUE" : "", sql_text(&exprs), pg->schema, pg->table);
	if (cols.failed || exprs.failed)
		q->failed = true;
	sql_free(&cols);
	sql_free(&exprs);
}

void pg_sql_sample(const Pg *pg, Sql *q, const char *rows)
{
	sql_add(q, "SELECT count(*) FROM (SELECT ");
	for (int i = 0; i < pg->ncols; i++)
		sql_add(q, "%s%s", i ? ", " : "", pg->cols[i].expr);
	sql_add(q, " FROM ONLY %I.%I src ORDER BY ", pg->schema, pg->table);
	pg_key_list(pg, q, "src", false);
	sql_add(q, " LIMIT %s) s", rows);
}

/* (lo, hi] over alias, as parameters: lo's columns first (when has_lo),
 * then hi's. */
static void range_cond(const Pg *pg, Sql *q, const char *alias, bool shadow, bool has_lo)
{
	if (has_lo) {
		pg_key_tuple(pg, q, alias, shadow);
		sql_add(q, " > ");
		pg_param_tuple(pg, q, 1, "");
		sql_add(q, " AND ");
	}
	pg_key_tuple(pg, q, alias, shadow);
	sql_add(q, " <= ");
	pg_param_tuple(pg, q, has_lo ? pg->nkeys + 1 : 1, "");
}

static void order_by(const Pg *pg, Sql *q, const char *alias, const char *dir)
{
	sql_add(q, " ORDER BY ");
	for (int k = 0; k < pg->nkeys; k++) {
		if (k)
			sql_add(q, ", ");
		if (alias)
			sql_add(q, "%I.", alias);
		sql_add(q, "%I%s", pg->keys[k].name, dir);
	}
}

/* "SELECT <key> FROM ONLY <table> src [WHERE (key) > ($1..)] ORDER BY key":
 * the index scan from the watermark that both bound queries make. */
static void key_scan(const Pg *pg, Sql *q, bool has_lo)
{
	sql_add(q, "SELECT ");
	pg_key_list(pg, q, "src", false);
	sql_add(q, " FROM ONLY %I.%I src", pg->schema, pg->table);
	if (has_lo) {
		sql_add(q, " WHERE ");
		pg_key_tuple(pg, q, "src", false);
		sql_add(q, " > ");
		pg_param_tuple(pg, q, 1, "");
	}
	order_by(pg, q, "src", "");
}

void pg_sql_bound(const Pg *pg, Sql *q, bool has_lo)
{
	/* the key's columns, then how many rows the span holds; the columns,
	 * not a row constructor, which would come back as one record */
	sql_add(q, "SELECT b.*, count(*) OVER () FROM (");
	key_scan(pg, q, has_lo);
	sql_add(q, " LIMIT $%d) b", has_lo ? pg->nkeys + 1 : 1);
	order_by(pg, q, NULL, " DESC");
	sql_add(q, " LIMIT 1");
}

void pg_sql_bound_skip(const Pg *pg, Sql *q, bool has_lo)
{
	/* the key `limit` rows on: an index scan that steps over limit - 1
	 * entries from lo ($n), with no sort and no count; 3x faster than
	 * pg_sql_bound's on a chunk of 40,000 rows */
	key_scan(pg, q, has_lo);
	sql_add(q, " OFFSET $%d LIMIT 1", has_lo ? pg->nkeys + 1 : 1);
}

void pg_sql_copy_range(const Pg *pg, Sql *q, bool has_lo)
{
	pg_copy_head(pg, q);
	sql_add(q, " WHERE ");
	range_cond(pg, q, "src", false, has_lo);
}

void pg_sql_trim(const Pg *pg, Sql *q, bool has_lo)
{
	sql_add(q, "DELETE FROM %I.%I", pg->work, pg->shadow);
	if (has_lo) {
		sql_add(q, " WHERE ");
		pg_key_tuple(pg, q, NULL, true);
		sql_add(q, " > ");
		pg_param_tuple(pg, q, 1, "");
	}
}

/* One side of a comparison: count and, with checksum, the row hash sum. */
static void side(const Pg *pg, Sql *q, bool shadow, bool checksum)
{
	sql_add(q, "(SELECT count(*) AS n, ");
	if (!checksum) {
		sql_add(q, "NULL::numeric AS h");
	} else {
		sql_add(q, pg->hash_record ? "sum(pg_catalog.hash_record_extended(ROW(" : "sum(pg_catalog.hashtextextended(ROW(");
		for (int i = 0; i < pg->ncols; i++) {
			if (i)
				sql_add(q, ", ");
			if (shadow)
				sql_add(q, "s.%I", pg->cols[i].name);
			else /* expr: built by pg_shadow.c with quoting; the type: format_type()'s output */
				sql_add(q, "CAST(%s AS %s)", pg->cols[i].expr, pg->col_types[i]);
		}
		sql_add(q, pg->hash_record ? "), 0)) AS h" : ")::text, 0)) AS h");
	}
	if (shadow)
		sql_add(q, " FROM %I.%I s WHERE ", pg->work, pg->shadow);
	else
		sql_add(q, " FROM ONLY %I.%I src WHERE ", pg->schema, pg->table);
}

void pg_sql_check(const Pg *pg, Sql *q, bool checksum, bool by_keys, bool has_lo)
{
	sql_add(q, "SELECT a.n, b.n, a.h IS NOT DISTINCT FROM b.h FROM ");
	for (int shadow = 0; shadow < 2; shadow++) {
		const char *alias = shadow ? "s" : "src";
		side(pg, q, shadow, checksum);
		if (by_keys) {
			pg_key_tuple(pg, q, alias, shadow);
			sql_add(q, " IN ");
			pg_unnest_keys(pg, q, 1);
		} else {
			range_cond(pg, q, alias, shadow, has_lo);
		}
		sql_add(q, shadow ? ") b" : ") a, ");
	}
}

void pg_sql_damage(const Pg *pg, Sql *q, const char *col, bool has_lo)
{
	sql_add(q, "UPDATE %I.%I SET %I = NULL WHERE ctid = (SELECT s.ctid FROM %I.%I s WHERE ", pg->work, pg->shadow, col,
	        pg->work, pg->shadow);
	range_cond(pg, q, "s", true, has_lo);
	sql_add(q, " AND s.%I IS NOT NULL LIMIT 1)", col);
}

void pg_sql_take(const Pg *pg, Sql *q, PgTakeKeys keys)
{
	/* $1 the batch size; $2.. the watermark when keys is PG_TAKE_UPTO */
	sql_add(q, "WITH d AS (DELETE FROM %I.%I WHERE _osc_change_id = ANY (ARRAY("
	           "SELECT _osc_change_id FROM %I.%I ORDER BY _osc_change_id LIMIT $1)) RETURNING _osc_truncate, ",
	        pg->work, pg->log_table, pg->work, pg->log_table);
	pg_key_list(pg, q, NULL, false);
	sql_add(q, "), k AS (SELECT DISTINCT ");
	pg_key_list(pg, q, NULL, false);
	sql_add(q, " FROM d WHERE NOT _osc_truncate");
	if (keys == PG_TAKE_NONE) {
		sql_add(q, " AND false");
	} else if (keys == PG_TAKE_UPTO) {
		sql_add(q, " AND ");
		pg_key_tuple(pg, q, NULL, false);
		sql_add(q, " <= ");
		pg_param_tuple(pg, q, 2, "");
	}
	sql_add(q, ") SELECT (SELECT count(*) FROM d) AS taken, count(*) AS nkeys");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, ", array_agg(%I)::text", pg->keys[k].name);
	sql_add(q, ", (SELECT coalesce(bool_or(_osc_truncate), false) FROM d) AS truncated FROM k");
}

void pg_sql_merge_delete(const Pg *pg, Sql *q)
{
	sql_add(q, "DELETE FROM %I.%I s WHERE ", pg->work, pg->shadow);
	pg_key_tuple(pg, q, "s", true);
	sql_add(q, " IN ");
	pg_unnest_keys(pg, q, 1);
}

void pg_sql_merge_insert(const Pg *pg, Sql *q)
{
	pg_copy_head(pg, q);
	sql_add(q, " WHERE ");
	pg_key_tuple(pg, q, "src", false);
	sql_add(q, " IN ");
	pg_unnest_keys(pg, q, 1);
}

void pg_sql_unmerge_pending(const Pg *pg, Sql *q)
{
	/* markers have no key: IN skips them */
	sql_add(q, "DELETE FROM %I.%I s WHERE ", pg->work, pg->shadow);
	pg_key_tuple(pg, q, "s", true);
	sql_add(q, " IN (SELECT ");
	pg_key_list(pg, q, "l", false);
	sql_add(q, " FROM %I.%I l)", pg->work, pg->log_table);
}

/* The key's columns in the log: as the original names them, or (reverse)
 * as the new table does. */
static const char *log_key(const Pg *pg, int k, bool reverse)
{
	return reverse ? pg->keys[k].shadow_name : pg->keys[k].name;
}

void pg_sql_capture_log(const Pg *pg, Sql *q, const char *log, bool reverse)
{
	/* a TRUNCATE's marker has no key: the key columns take NULL there */
	sql_add(q,
	        "CREATE TABLE%s %I.%I (_osc_change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	        " _osc_truncate boolean NOT NULL DEFAULT false",
	        reverse ? " IF NOT EXISTS" : "", pg->work, log);
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(q, ", %I %s", log_key(pg, k, reverse), pg->keys[k].type);
	/* consumed rows are dead rows: vacuum the log early and often */
	sql_add(q, ") WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,"
	           " autovacuum_vacuum_cost_delay = 0)");
}

void pg_sql_capture_body(const Pg *pg, Sql *body, const char *log, bool reverse)
{
	Sql cols, keys_new, keys_old;
	sql_init(&cols, body->dialect);
	sql_init(&keys_new, body->dialect);
	sql_init(&keys_old, body->dialect);
	for (int k = 0; k < pg->nkeys; k++) {
		sql_add(&cols, "%s%I", k ? ", " : "", log_key(pg, k, reverse));
		sql_add(&keys_new, "%sNEW.%I", k ? ", " : "", log_key(pg, k, reverse));
		sql_add(&keys_old, "%sOLD.%I", k ? ", " : "", log_key(pg, k, reverse));
	}
	/* an UPDATE that changes the key logs both keys: the old one must
	 * leave the shadow */
	sql_add(body,
	        "BEGIN\n"
	        "  IF TG_OP <> 'DELETE' THEN\n"
	        "    INSERT INTO %I.%I (%s) VALUES (%s);\n"
	        "  END IF;\n"
	        "  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (%s) IS DISTINCT FROM (%s)) THEN\n"
	        "    INSERT INTO %I.%I (%s) VALUES (%s);\n"
	        "  END IF;\n"
	        "  RETURN NULL;\n"
	        "END",
	        pg->work, log, sql_text(&cols), sql_text(&keys_new), sql_text(&keys_old), sql_text(&keys_new), pg->work,
	        log, sql_text(&cols), sql_text(&keys_old));
	if (cols.failed || keys_new.failed || keys_old.failed)
		body->failed = true;
	sql_free(&cols);
	sql_free(&keys_new);
	sql_free(&keys_old);
}

void pg_sql_capture_function(const Pg *pg, Sql *q, const char *name, const char *body, bool replace)
{
	/* SECURITY DEFINER with a fixed search_path: the application's role
	 * needs no rights on the work schema, and nothing of its search_path
	 * can stand in for osc's log */
	sql_add(q,
	        "CREATE%s FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
	        " SET search_path = pg_catalog, pg_temp AS %L",
	        replace ? " OR REPLACE" : "", pg->work, name, body);
}

void pg_sql_capture_triggers(const Pg *pg, Sql q[4], const char *schema, const char *table, const char *fn,
                             const char *fn_truncate)
{
	sql_add(&q[0],
	        "CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I.%I"
	        " FOR EACH ROW EXECUTE FUNCTION %I.%I()",
	        PG_CAPTURE_NAME, schema, table, pg->work, fn);
	sql_add(&q[1], "ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER %I", schema, table, PG_CAPTURE_NAME);
	sql_add(&q[2], "CREATE TRIGGER %I AFTER TRUNCATE ON %I.%I FOR EACH STATEMENT EXECUTE FUNCTION %I.%I()",
	        PG_TRUNCATE_NAME, schema, table, pg->work, fn_truncate);
	sql_add(&q[3], "ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER %I", schema, table, PG_TRUNCATE_NAME);
}
