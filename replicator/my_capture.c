/*
 * my_capture.c — change capture on MySQL/MariaDB: triggers that apply each
 * change to the shadow in the application's own transaction.
 *
 *   AFTER INSERT:  DELETE the key from the shadow; INSERT the new row
 *   AFTER UPDATE:  DELETE the old key;            INSERT the new row
 *   AFTER DELETE:  DELETE the old key
 * DELETE + INSERT, not REPLACE: REPLACE would silently delete a different
 * row that collides on a new UNIQUE key (pt-osc's PT-153).  A collision
 * (error 1062) is caught by a handler that records the server's message in
 * _T_osc_dup, where osc sees it and aborts before the swap; the
 * application's write itself goes through.  Once the swap is near (a row
 * id -1 in _T_osc_dup), the handler re-raises instead, so no duplicate can
 * slip in between osc's last look and the RENAME.
 */
#include "my.h"

#include <stdlib.h>
#include <string.h>

static void key_match(My *my, Sql *q, const char *row)
{
	for (int k = 0; k < my->nkeys; k++)
		sql_add(q, "%s%I = %s.%I", k ? " AND " : "", my->keys[k].shadow, row, my->keys[k].name);
}

static void body(My *my, Sql *q, bool del, bool ins, const char *old_or_new)
{
	sql_add(q,
	        "BEGIN\n"
	        "  DECLARE CONTINUE HANDLER FOR 1062\n"
	        "  BEGIN\n"
	        "    IF EXISTS (SELECT 1 FROM %I.%I WHERE id = -1) THEN RESIGNAL; END IF;\n"
	        "    GET DIAGNOSTICS CONDITION 1 @osc_dup = MESSAGE_TEXT;\n"
	        "    INSERT INTO %I.%I (msg) VALUES (@osc_dup);\n"
	        "  END;\n",
	        my->db, my->dup, my->db, my->dup);
	if (del) {
		sql_add(q, "  DELETE FROM %I.%I WHERE ", my->db, my->shadow);
		key_match(my, q, old_or_new);
		sql_add(q, ";\n");
	}
	if (ins) {
		sql_add(q, "  INSERT INTO %I.%I (", my->db, my->shadow);
		for (int i = 0; i < my->ncols; i++)
			sql_add(q, "%s%I", i ? ", " : "", my->cols[i].name);
		sql_add(q, ") VALUES (");
		for (int i = 0; i < my->ncols; i++)
			sql_add(q, "%sNEW.%I", i ? ", " : "", my->cols[i].source);
		sql_add(q, ");\n");
	}
	sql_add(q, "END");
}

bool my_capture_install(My *my, OscErr *e)
{
	Sql q;
	bool ok = false;
	sql_init(&q, &my->dialect);

	sql_add(&q, "CREATE TRIGGER %I AFTER INSERT ON %I.%I FOR EACH ROW ", my->trg_ins, my->db, my->table);
	body(my, &q, true, true, "NEW");
	if (!my_ddl_retry(my, "installing the insert trigger", &q, e))
		goto out;
	sql_reset(&q);
	sql_add(&q, "CREATE TRIGGER %I AFTER UPDATE ON %I.%I FOR EACH ROW ", my->trg_upd, my->db, my->table);
	body(my, &q, true, true, "OLD");
	if (!my_ddl_retry(my, "installing the update trigger", &q, e))
		goto out;
	sql_reset(&q);
	sql_add(&q, "CREATE TRIGGER %I AFTER DELETE ON %I.%I FOR EACH ROW ", my->trg_del, my->db, my->table);
	body(my, &q, true, false, "OLD");
	if (!my_ddl_retry(my, "installing the delete trigger", &q, e))
		goto out;
	ok = true;
out:
	sql_free(&q);
	return ok;
}

bool my_capture_drop(My *my, const char *table, OscErr *e)
{
	(void)table; /* trigger names are per database */
	const char *names[3] = { my->trg_ins, my->trg_upd, my->trg_del };
	Sql q;
	sql_init(&q, &my->dialect);
	for (int i = 0; i < 3; i++) {
		sql_reset(&q);
		sql_add(&q, "DROP TRIGGER IF EXISTS %I.%I", my->db, names[i]);
		if (!my_ddl_retry(my, "dropping a capture trigger", &q, e)) {
			sql_free(&q);
			return false;
		}
	}
	sql_free(&q);
	return true;
}

bool my_check_duplicates(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT msg FROM %I.%I WHERE id > 0 ORDER BY id LIMIT 1", my->db, my->dup);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row) {
		err_set(e, OSC_EXIT_FAILED,
		        "a row written during the migration violates a new unique index: %s; nothing was changed, no row was "
		        "dropped",
		        row[0] ? row[0] : "?");
		goto out;
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}
