/*
 * test_my_sql.c — the SQL text of MySQL/MariaDB's copy, comparison, replay
 * and capture, both ways (src/my/my_sql.c), without a server: a composite
 * key (an integer, and a string that travels as hex), a key column the ALTER
 * renamed, and names that need quoting (a backtick, a space).  Key values
 * are the literals my_keys.c makes; here, fixed text.  The statements are
 * pinned whole: a change to one shows up here, reviewed, before it
 * reaches a database.
 */
#include "unit.h"

#include "my.h"

static MyKey keys[2] = {
	{ "id", "id", MY_KEY_TEXT, NULL, "int(11)" },
	{ "te`nant", "te nant", MY_KEY_HEX, "utf8mb4", "varchar(32)" },
};
static MyCol cols[3] = {
	{ "id", "id" },
	{ "te nant", "te`nant" },
	{ "v", "v" },
};

static void fill(My *my, SqlDialect *d)
{
	memset(my, 0, sizeof(*my));
	d->quote_ident = my_quote_ident;
	d->quote_literal = sql_quote_literal_std;
	d->ctx = NULL;
	my->dialect = *d;
	my->db = "app";
	my->table = "us`ers";
	my->keys = keys;
	my->nkeys = 2;
	my->key_index = "PRIMARY";
	my->cols = cols;
	my->ncols = 3;
	my->verify_orig = "CONCAT_WS('|', src.id, src.v)";
	my->verify_shadow = "CONCAT_WS('|', id, v)";
	snprintf(my->shadow, sizeof(my->shadow), "us`ers_osc_new");
	snprintf(my->log_table, sizeof(my->log_table), "us`ers_osc_log");
	snprintf(my->trg_ins, sizeof(my->trg_ins), "us`ers_osc_ins");
	snprintf(my->trg_upd, sizeof(my->trg_upd), "us`ers_osc_upd");
	snprintf(my->trg_del, sizeof(my->trg_del), "us`ers_osc_del");
	snprintf(my->rlog, sizeof(my->rlog), "us`ers_osc_rlog");
	snprintf(my->rtrg_ins, sizeof(my->rtrg_ins), "us`ers_osc_rins");
	snprintf(my->rtrg_upd, sizeof(my->rtrg_upd), "us`ers_osc_rupd");
	snprintf(my->rtrg_del, sizeof(my->rtrg_del), "us`ers_osc_rdel");
}

/* One statement, built into q (emptied first). */
#define TEXT(call)     \
	do {               \
		sql_reset(&q); \
		call;          \
	} while (0)

void test_my_sql(void)
{
	My my;
	SqlDialect d;
	Sql q;
	char *lo[2] = { "'7'", "_utf8mb4 X'61'" };
	char *hi[2] = { "'9'", "_utf8mb4 X'62'" };
	MyScope range = { .lo = lo, .hi = hi };
	MyScope batch = { .keys = "('1', _utf8mb4 X'61')", .upto = hi, .in_lock = true };
	fill(&my, &d);
	sql_init(&q, &my.dialect);
	/* a chunk's upper bound: the row comparison spelled out (an index range on every version) */
	TEXT(my_sql_bound(&my, &q, lo, 500));
	CHECK_STR(sql_text(&q),
	          "SELECT `id`, HEX(`te``nant`), COUNT(*) OVER () FROM (SELECT `src`.`id`, `src`.`te``nant` "
	          "FROM `app`.`us``ers` src FORCE INDEX (`PRIMARY`) WHERE ((`src`.`id` > '7') OR (`src`.`id` "
	          "= '7' AND `src`.`te``nant` > _utf8mb4 X'61')) ORDER BY `src`.`id`, `src`.`te``nant` LIMIT "
	          "500) b ORDER BY `id` DESC, `te``nant` DESC LIMIT 1");
	/* most bounds: the key 500 rows on, the index read with no derived table */
	TEXT(my_sql_bound_skip(&my, &q, lo, 500));
	CHECK_STR(sql_text(&q),
	          "SELECT `src`.`id`, HEX(`src`.`te``nant`) FROM `app`.`us``ers` src FORCE INDEX (`PRIMARY`) WHERE "
	          "((`src`.`id` > '7') OR (`src`.`id` = '7' AND `src`.`te``nant` > _utf8mb4 X'61')) ORDER BY "
	          "`src`.`id`, `src`.`te``nant` LIMIT 499, 1");
	/* a parallel copy's rows above the checkpoint, out of the shadow (its key names) */
	TEXT(my_sql_trim(&my, &q, lo));
	CHECK_STR(sql_text(&q),
	          "DELETE FROM `app`.`us``ers_osc_new` WHERE ((`id` > '7') OR (`id` = '7' AND `te nant` > _utf8mb4 X'61'))");
	/* the copy of (lo, hi], the renamed key column mapped */
	TEXT(my_sql_copy_range(&my, &q, lo, hi));
	CHECK_STR(sql_text(&q),
	          "INSERT INTO `app`.`us``ers_osc_new` (`id`, `te nant`, `v`) SELECT `src`.`id`, "
	          "`src`.`te``nant`, `src`.`v` FROM `app`.`us``ers` src FORCE INDEX (`PRIMARY`) WHERE "
	          "((`src`.`id` > '7') OR (`src`.`id` = '7' AND `src`.`te``nant` > _utf8mb4 X'61')) AND "
	          "((`src`.`id` < '9') OR (`src`.`id` = '9' AND `src`.`te``nant` <= _utf8mb4 X'62'))");
	/* the first chunk: no lower bound */
	TEXT(my_sql_copy_range(&my, &q, NULL, hi));
	CHECK_STR(sql_text(&q),
	          "INSERT INTO `app`.`us``ers_osc_new` (`id`, `te nant`, `v`) SELECT `src`.`id`, "
	          "`src`.`te``nant`, `src`.`v` FROM `app`.`us``ers` src FORCE INDEX (`PRIMARY`) WHERE "
	          "((`src`.`id` < '9') OR (`src`.`id` = '9' AND `src`.`te``nant` <= _utf8mb4 X'62'))");
	/* a batch merged while copying: the shadow's rows at or below the watermark out, */
	TEXT(my_sql_merge_delete(&my, &q, "('1', _utf8mb4 X'61')", hi));
	CHECK_STR(sql_text(&q),
	          "DELETE FROM `app`.`us``ers_osc_new` WHERE (`id`, `te nant`) IN (('1', _utf8mb4 X'61')) "
	          "AND ((`id` < '9') OR (`id` = '9' AND `te nant` <= _utf8mb4 X'62'))");
	/* the original's current rows in */
	TEXT(my_sql_merge_insert(&my, &q, "('1', _utf8mb4 X'61')", NULL));
	CHECK_STR(sql_text(&q),
	          "INSERT INTO `app`.`us``ers_osc_new` (`id`, `te nant`, `v`) SELECT `src`.`id`, "
	          "`src`.`te``nant`, `src`.`v` FROM `app`.`us``ers` src WHERE (`src`.`id`, `src`.`te``nant`) "
	          "IN (('1', _utf8mb4 X'61'))");
	/* the replay takes log rows, oldest first, the string key as hex */
	TEXT(my_sql_take(&my, &q, 1000));
	CHECK_STR(sql_text(&q),
	          "SELECT _osc_change_id, `id`, HEX(`te``nant`) FROM `app`.`us``ers_osc_log` ORDER BY "
	          "_osc_change_id LIMIT 1000");
	/* and consumes exactly the rows it took */
	TEXT(my_sql_consume(&my, &q, "1, 2"));
	CHECK_STR(sql_text(&q),
	          "DELETE FROM `app`.`us``ers_osc_log` WHERE _osc_change_id IN (1, 2)");
	/* --verify checksum of a range, leaving out the keys still in the log */
	TEXT(my_sql_check(&my, &q, true, &range));
	CHECK_STR(sql_text(&q),
	          "SELECT a.n, b.n, a.h <=> b.h FROM (SELECT COUNT(*) AS n, SUM(CRC32(CONCAT_WS('|', src.id, "
	          "src.v))) AS h FROM `app`.`us``ers` src FORCE INDEX (`PRIMARY`) WHERE ((`src`.`id` > '7') "
	          "OR (`src`.`id` = '7' AND `src`.`te``nant` > _utf8mb4 X'61')) AND ((`src`.`id` < '9') OR "
	          "(`src`.`id` = '9' AND `src`.`te``nant` <= _utf8mb4 X'62')) AND (`src`.`id`, "
	          "`src`.`te``nant`) NOT IN (SELECT `l`.`id`, `l`.`te``nant` FROM `app`.`us``ers_osc_log` "
	          "l)) a, (SELECT COUNT(*) AS n, SUM(CRC32(CONCAT_WS('|', id, v))) AS h FROM "
	          "`app`.`us``ers_osc_new` WHERE ((`id` > '7') OR (`id` = '7' AND `te nant` > _utf8mb4 "
	          "X'61')) AND ((`id` < '9') OR (`id` = '9' AND `te nant` <= _utf8mb4 X'62')) AND (`id`, `te "
	          "nant`) NOT IN (SELECT `l`.`id`, `l`.`te``nant` FROM `app`.`us``ers_osc_log` l)) b");
	/* --verify count of a merged batch under the swap's lock: the log is not read */
	TEXT(my_sql_check(&my, &q, false, &batch));
	CHECK_STR(sql_text(&q),
	          "SELECT a.n, b.n, a.h <=> b.h FROM (SELECT COUNT(*) AS n, NULL AS h FROM `app`.`us``ers` "
	          "src FORCE INDEX (`PRIMARY`) WHERE (`src`.`id`, `src`.`te``nant`) IN (('1', _utf8mb4 "
	          "X'61')) AND ((`src`.`id` < '9') OR (`src`.`id` = '9' AND `src`.`te``nant` <= _utf8mb4 "
	          "X'62'))) a, (SELECT COUNT(*) AS n, NULL AS h FROM `app`.`us``ers_osc_new` WHERE (`id`, "
	          "`te nant`) IN (('1', _utf8mb4 X'61')) AND ((`id` < '9') OR (`id` = '9' AND `te nant` <= "
	          "_utf8mb4 X'62'))) b");
	/* OSC_FAULT=corrupt-shadow: one value lost in the range, on a row the log will not repair */
	TEXT(my_sql_damage(&my, &q, "v", NULL, hi));
	CHECK_STR(sql_text(&q),
	          "UPDATE `app`.`us``ers_osc_new` SET `v` = NULL WHERE `v` IS NOT NULL AND ((`id` < '9') OR "
	          "(`id` = '9' AND `te nant` <= _utf8mb4 X'62')) AND (`id`, `te nant`) NOT IN (SELECT "
	          "`l`.`id`, `l`.`te``nant` FROM `app`.`us``ers_osc_log` l) ORDER BY `id`, `te nant` LIMIT 1");
	/* the capture: the original's key into the log, both keys when an UPDATE moves it */
	Sql c[3];
	for (int i = 0; i < 3; i++)
		sql_init(&c[i], &my.dialect);
	my_sql_capture_triggers(&my, c);
	CHECK_STR(sql_text(&c[0]),
	          "CREATE TRIGGER `app`.`us``ers_osc_ins` AFTER INSERT ON `app`.`us``ers` FOR EACH ROW BEGIN /* "
	          "osc capture */ INSERT INTO `app`.`us``ers_osc_log` (`id`, `te``nant`) VALUES (NEW.`id`, "
	          "NEW.`te``nant`); END");
	CHECK_STR(sql_text(&c[1]),
	          "CREATE TRIGGER `app`.`us``ers_osc_upd` AFTER UPDATE ON `app`.`us``ers` FOR EACH ROW BEGIN /* "
	          "osc capture */ INSERT INTO `app`.`us``ers_osc_log` (`id`, `te``nant`) VALUES (NEW.`id`, "
	          "NEW.`te``nant`); IF NOT (OLD.`id` <=> NEW.`id` AND OLD.`te``nant` <=> NEW.`te``nant`) THEN "
	          "INSERT INTO `app`.`us``ers_osc_log` (`id`, `te``nant`) VALUES (OLD.`id`, OLD.`te``nant`); END "
	          "IF; END");
	CHECK_STR(sql_text(&c[2]),
	          "CREATE TRIGGER `app`.`us``ers_osc_del` AFTER DELETE ON `app`.`us``ers` FOR EACH ROW BEGIN /* "
	          "osc capture */ INSERT INTO `app`.`us``ers_osc_log` (`id`, `te``nant`) VALUES (OLD.`id`, "
	          "OLD.`te``nant`); END");
	/* --revertible: the same capture with the roles swapped, on the shadow
	 * (the new table after the swap), its key by the shadow's names, into
	 * the reverse log */
	MyCapture rc;
	my_capture_reverse(&my, &rc);
	for (int i = 0; i < 3; i++)
		sql_reset(&c[i]);
	my_sql_capture(&my, &rc, c);
	CHECK_STR(sql_text(&c[0]),
	          "CREATE TRIGGER `app`.`us``ers_osc_rins` AFTER INSERT ON `app`.`us``ers_osc_new` FOR EACH ROW "
	          "BEGIN /* osc capture */ INSERT INTO `app`.`us``ers_osc_rlog` (`id`, `te nant`) VALUES "
	          "(NEW.`id`, NEW.`te nant`); END");
	CHECK_STR(sql_text(&c[1]),
	          "CREATE TRIGGER `app`.`us``ers_osc_rupd` AFTER UPDATE ON `app`.`us``ers_osc_new` FOR EACH ROW "
	          "BEGIN /* osc capture */ INSERT INTO `app`.`us``ers_osc_rlog` (`id`, `te nant`) VALUES "
	          "(NEW.`id`, NEW.`te nant`); IF NOT (OLD.`id` <=> NEW.`id` AND OLD.`te nant` <=> NEW.`te nant`) "
	          "THEN INSERT INTO `app`.`us``ers_osc_rlog` (`id`, `te nant`) VALUES (OLD.`id`, OLD.`te nant`); "
	          "END IF; END");
	CHECK_STR(sql_text(&c[2]),
	          "CREATE TRIGGER `app`.`us``ers_osc_rdel` AFTER DELETE ON `app`.`us``ers_osc_new` FOR EACH ROW "
	          "BEGIN /* osc capture */ INSERT INTO `app`.`us``ers_osc_rlog` (`id`, `te nant`) VALUES "
	          "(OLD.`id`, OLD.`te nant`); END");
	for (int i = 0; i < 3; i++) {
		CHECK(!c[i].failed);
		sql_free(&c[i]);
	}
	CHECK(!q.failed);
	sql_free(&q);
}
