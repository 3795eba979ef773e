/*
 * my_sql.c — the SQL text of the copy, the comparison, the replay and the
 * capture on MySQL/MariaDB: pure functions of the table's description (My),
 * built with the quoting helpers (src/lib/sql.h) and run by my_copy.c,
 * my_verify.c, my_replay.c and my_capture.c.  tests/unit/test_my_sql.c
 * checks them without a server, for a composite key and a hostile name.
 *
 * Keys travel as literals (my_keys.c) pasted into the text: a watermark or
 * bound as one literal per column, a batch as "(v1, v2), ...".  A row
 * comparison is spelled out, (k1 > v1) OR (k1 = v1 AND k2 > v2), which every
 * MySQL version turns into an index range.
 */
#include "my.h"

void my_key_list(const My *my, Sql *q, const char *alias, bool shadow)
{
	for (int k = 0; k < my->nkeys; k++) {
		if (k)
			sql_add(q, ", ");
		if (alias)
			sql_add(q, "%I.", alias);
		sql_add(q, "%I", shadow ? my->keys[k].shadow : my->keys[k].name);
	}
}

void my_key_compare_as(const My *my, Sql *q, const char *alias, bool shadow, const char *op, char *const *vals)
{
	sql_add(q, "(");
	for (int k = 0; k < my->nkeys; k++) {
		if (k)
			sql_add(q, " OR ");
		sql_add(q, "(");
		for (int j = 0; j <= k; j++) {
			if (alias)
				sql_add(q, "%I.", alias);
			const char *last = j < k ? "=" : (k == my->nkeys - 1) ? op : (op[0] == '>' ? ">" : "<");
			sql_add(q, "%I %s %s%s", shadow ? my->keys[j].shadow : my->keys[j].name, last, vals[j],
			        j < k ? " AND " : "");
		}
		sql_add(q, ")");
	}
	sql_add(q, ")");
}

void my_key_compare(const My *my, Sql *q, const char *alias, const char *op, char *const *vals)
{
	my_key_compare_as(my, q, alias, false, op, vals);
}

void my_key_in(const My *my, Sql *q, const char *alias, bool shadow, const char *keys)
{
	sql_add(q, "(");
	my_key_list(my, q, alias, shadow);
	sql_add(q, ") IN (%s)", keys);
}

void my_copy_select(const My *my, Sql *q, bool key_order)
{
	sql_add(q, "INSERT INTO %I.%I (", my->db, my->shadow);
	for (int i = 0; i < my->ncols; i++)
		sql_add(q, "%s%I", i ? ", " : "", my->cols[i].name);
	sql_add(q, ") SELECT ");
	for (int i = 0; i < my->ncols; i++)
		sql_add(q, "%s%I.%I", i ? ", " : "", "src", my->cols[i].source);
	sql_add(q, " FROM %I.%I src", my->db, my->table);
	if (key_order)
		sql_add(q, " FORCE INDEX (%I)", my->key_index);
	sql_add(q, " WHERE ");
}

void my_sql_bound(const My *my, Sql *q, char *const *lo, long limit)
{
	/* the key as text (my_keys.c), then how many rows the span holds */
	sql_add(q, "SELECT ");
	for (int k = 0; k < my->nkeys; k++) {
		if (k)
			sql_add(q, ", ");
		my_key_read(my, q, NULL, k);
	}
	sql_add(q, ", COUNT(*) OVER () FROM (SELECT ");
	my_key_list(my, q, "src", false);
	sql_add(q, " FROM %I.%I src FORCE INDEX (%I)", my->db, my->table, my->key_index);
	if (lo) {
		sql_add(q, " WHERE ");
		my_key_compare(my, q, "src", ">", lo);
	}
	sql_add(q, " ORDER BY ");
	my_key_list(my, q, "src", false);
	sql_add(q, " LIMIT %ld) b ORDER BY ", limit);
	for (int k = 0; k < my->nkeys; k++)
		sql_add(q, "%s%I DESC", k ? ", " : "", my->keys[k].name);
	sql_add(q, " LIMIT 1");
}

void my_sql_bound_skip(const My *my, Sql *q, char *const *lo, long limit)
{
	/* the key `limit` rows on: the index read from lo, stepping over
	 * limit - 1 entries, with no derived table to sort */
	sql_add(q, "SELECT ");
	for (int k = 0; k < my->nkeys; k++) {
		if (k)
			sql_add(q, ", ");
		my_key_read(my, q, "src", k);
	}
	sql_add(q, " FROM %I.%I src FORCE INDEX (%I)", my->db, my->table, my->key_index);
	if (lo) {
		sql_add(q, " WHERE ");
		my_key_compare(my, q, "src", ">", lo);
	}
	sql_add(q, " ORDER BY ");
	my_key_list(my, q, "src", false);
	sql_add(q, " LIMIT %ld, 1", limit - 1);
}

void my_sql_copy_range(const My *my, Sql *q, char *const *lo, char *const *hi)
{
	my_copy_select(my, q, true);
	if (lo) {
		my_key_compare(my, q, "src", ">", lo);
		sql_add(q, " AND ");
	}
	my_key_compare(my, q, "src", "<=", hi);
}

void my_sql_trim(const My *my, Sql *q, char *const *lo)
{
	sql_add(q, "DELETE FROM %I.%I", my->db, my->shadow);
	if (lo) {
		sql_add(q, " WHERE ");
		my_key_compare_as(my, q, NULL, true, ">", lo);
	}
}

void my_sql_merge_delete(const My *my, Sql *q, const char *keys, char *const *wm)
{
	sql_add(q, "DELETE FROM %I.%I WHERE ", my->db, my->shadow);
	my_key_in(my, q, NULL, true, keys);
	if (wm) {
		/* the watermark, over the shadow's (maybe renamed) key columns */
		sql_add(q, " AND ");
		my_key_compare_as(my, q, NULL, true, "<=", wm);
	}
}

void my_sql_merge_insert(const My *my, Sql *q, const char *keys, char *const *wm)
{
	my_copy_select(my, q, false);
	my_key_in(my, q, "src", false, keys);
	if (wm) {
		sql_add(q, " AND ");
		my_key_compare(my, q, "src", "<=", wm);
	}
}

void my_sql_take(const My *my, Sql *q, long limit)
{
	sql_add(q, "SELECT _osc_change_id");
	for (int k = 0; k < my->nkeys; k++) {
		sql_add(q, ", ");
		my_key_read(my, q, NULL, k);
	}
	sql_add(q, " FROM %I.%I ORDER BY _osc_change_id LIMIT %ld", my->db, my->log_table, limit);
}

void my_sql_consume(const My *my, Sql *q, const char *ids)
{
	sql_add(q, "DELETE FROM %I.%I WHERE _osc_change_id IN (%s)", my->db, my->log_table, ids);
}

/* The key columns of one side: (src.k1, ...) or the shadow's (k1', ...). */
static void key_tuple(const My *my, Sql *q, bool shadow)
{
	sql_add(q, "(");
	my_key_list(my, q, shadow ? NULL : "src", shadow);
	sql_add(q, ")");
}

static void side(const My *my, Sql *q, bool shadow, bool checksum, const MyScope *sc)
{
	const char *alias = shadow ? NULL : "src";
	sql_add(q, "(SELECT COUNT(*) AS n, ");
	if (checksum)
		sql_add(q, "SUM(CRC32(%s)) AS h", shadow ? my->verify_shadow : my->verify_orig);
	else
		sql_add(q, "NULL AS h");
	if (shadow)
		sql_add(q, " FROM %I.%I WHERE ", my->db, my->shadow);
	else
		sql_add(q, " FROM %I.%I src FORCE INDEX (%I) WHERE ", my->db, my->table, my->key_index);
	if (sc->keys) {
		key_tuple(my, q, shadow);
		sql_add(q, " IN (%s)", sc->keys);
		if (sc->upto) {
			sql_add(q, " AND ");
			my_key_compare_as(my, q, alias, shadow, "<=", sc->upto);
		}
	} else {
		if (sc->lo) {
			my_key_compare_as(my, q, alias, shadow, ">", sc->lo);
			sql_add(q, " AND ");
		}
		my_key_compare_as(my, q, alias, shadow, "<=", sc->hi);
	}
	/* under the swap's lock nothing changes, and the log may not be read
	 * under a second name */
	if (!sc->in_lock) {
		sql_add(q, " AND ");
		key_tuple(my, q, shadow);
		sql_add(q, " NOT IN (SELECT ");
		my_key_list(my, q, "l", false);
		sql_add(q, " FROM %I.%I l)", my->db, my->log_table);
	}
	sql_add(q, ")");
}

void my_sql_check(const My *my, Sql *q, bool checksum, const MyScope *sc)
{
	sql_add(q, "SELECT a.n, b.n, a.h <=> b.h FROM ");
	side(my, q, false, checksum, sc);
	sql_add(q, " a, ");
	side(my, q, true, checksum, sc);
	sql_add(q, " b");
}

void my_sql_damage(const My *my, Sql *q, const char *col, char *const *lo, char *const *hi)
{
	sql_add(q, "UPDATE %I.%I SET %I = NULL WHERE %I IS NOT NULL AND ", my->db, my->shadow, col, col);
	if (lo) {
		my_key_compare_as(my, q, NULL, true, ">", lo);
		sql_add(q, " AND ");
	}
	my_key_compare_as(my, q, NULL, true, "<=", hi);
	sql_add(q, " AND ");
	key_tuple(my, q, true);
	sql_add(q, " NOT IN (SELECT ");
	my_key_list(my, q, "l", false);
	sql_add(q, " FROM %I.%I l) ORDER BY ", my->db, my->log_table);
	my_key_list(my, q, NULL, true);
	sql_add(q, " LIMIT 1");
}

/* INSERT INTO the log the key of row (NEW or OLD): the key's columns by
 * the capture's side (c->shadow: the shadow's names), in the log as on the
 * table. */
static void log_insert(const My *my, const MyCapture *c, Sql *q, const char *row)
{
	sql_add(q, "INSERT INTO %I.%I (", my->db, c->log);
	my_key_list(my, q, NULL, c->shadow);
	sql_add(q, ") VALUES (");
	for (int k = 0; k < my->nkeys; k++)
		sql_add(q, "%s%s.%I", k ? ", " : "", row, c->shadow ? my->keys[k].shadow : my->keys[k].name);
	sql_add(q, ")");
}

void my_capture_forward(const My *my, MyCapture *c)
{
	c->table = my->table;
	c->log = my->log_table;
	c->trg[0] = my->trg_ins;
	c->trg[1] = my->trg_upd;
	c->trg[2] = my->trg_del;
	c->shadow = false;
}

/* The same capture with the roles swapped: on the shadow, which the swap
 * makes T, its key logged as the forward capture logs the original's. */
void my_capture_reverse(const My *my, MyCapture *c)
{
	c->table = my->shadow;
	c->log = my->rlog;
	c->trg[0] = my->rtrg_ins;
	c->trg[1] = my->rtrg_upd;
	c->trg[2] = my->rtrg_del;
	c->shadow = true;
}

void my_sql_capture(const My *my, const MyCapture *c, Sql q[3])
{
	/* each name qualified with the table's database: a trigger lives in its
	 * table's schema (`--table otherdb.users` failed with error 1435 when
	 * it was not); each body begins with osc's mark (my_owned.c) */
	sql_add(&q[0], "CREATE TRIGGER %I.%I AFTER INSERT ON %I.%I FOR EACH ROW %s ", my->db, c->trg[0], my->db, c->table,
	        MY_CAPTURE_MARK);
	log_insert(my, c, &q[0], "NEW");
	sql_add(&q[0], "; END");
	/* an UPDATE that changes the key logs both keys */
	sql_add(&q[1], "CREATE TRIGGER %I.%I AFTER UPDATE ON %I.%I FOR EACH ROW %s ", my->db, c->trg[1], my->db, c->table,
	        MY_CAPTURE_MARK);
	log_insert(my, c, &q[1], "NEW");
	sql_add(&q[1], "; IF NOT (");
	for (int k = 0; k < my->nkeys; k++) {
		const char *col = c->shadow ? my->keys[k].shadow : my->keys[k].name;
		sql_add(&q[1], "%sOLD.%I <=> NEW.%I", k ? " AND " : "", col, col);
	}
	sql_add(&q[1], ") THEN ");
	log_insert(my, c, &q[1], "OLD");
	sql_add(&q[1], "; END IF; END");
	sql_add(&q[2], "CREATE TRIGGER %I.%I AFTER DELETE ON %I.%I FOR EACH ROW %s ", my->db, c->trg[2], my->db, c->table,
	        MY_CAPTURE_MARK);
	log_insert(my, c, &q[2], "OLD");
	sql_add(&q[2], "; END");
}

void my_sql_capture_triggers(const My *my, Sql q[3])
{
	MyCapture c;
	my_capture_forward(my, &c);
	my_sql_capture(my, &c, q);
}
