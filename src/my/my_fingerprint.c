/*
 * my_fingerprint.c — a fingerprint of a MySQL/MariaDB table's definition:
 * the state row records the original's and the new table's, so that a
 * rerun knows whether a swap happened and whether the table was changed
 * behind osc's back, and osc's marks name the shadow they belong to.
 *
 * It hashes what information_schema says of the columns (order, name,
 * type, nullability, default, extra, collation), the indexes (but osc's
 * own index on the merge key, src/my/my_keyidx.c) and the foreign keys:
 * never SHOW CREATE TABLE, whose AUTO_INCREMENT moves with every insert.
 * The table's own name is not part of it, so the shadow and the table it
 * becomes have the same one.
 */
#include "my.h"

bool my_fingerprint(My *my, const char *table, char *out, size_t outsz, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q, text;
	bool ok = false;

	sql_init(&q, &my->dialect);
	sql_init(&text, &sql_dialect_std);
	sql_add(&q,
	        "SELECT CONCAT_WS(' ', 'c', LPAD(ORDINAL_POSITION, 5, '0'), COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE,"
	        "   IFNULL(COLUMN_DEFAULT, '(no default)'), EXTRA, IFNULL(COLLATION_NAME, ''))"
	        " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " UNION ALL SELECT CONCAT_WS(' ', 'i', INDEX_NAME, LPAD(SEQ_IN_INDEX, 5, '0'), COLUMN_NAME, NON_UNIQUE,"
	        "   IFNULL(SUB_PART, ''), INDEX_TYPE, IFNULL(COLLATION, ''))"
	        " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L AND INDEX_COMMENT <> %L"
	        " UNION ALL SELECT CONCAT_WS(' ', 'f', k.CONSTRAINT_NAME, LPAD(k.ORDINAL_POSITION, 5, '0'), k.COLUMN_NAME,"
	        "   k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, c.UPDATE_RULE, c.DELETE_RULE)"
	        " FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS c"
	        "   ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME"
	        "  AND c.TABLE_NAME = k.TABLE_NAME"
	        " WHERE k.TABLE_SCHEMA = %L AND k.TABLE_NAME = %L AND k.REFERENCED_TABLE_NAME IS NOT NULL"
	        " ORDER BY 1",
	        my->db, table, my->db, table, MY_KEYIDX_MARK, my->db, table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	while ((row = mysql_fetch_row(r)) != NULL)
		sql_add(&text, "%s\n", row[MY_VALUE] ? row[MY_VALUE] : "");
	if (text.failed) {
		err_set(e, OSC_EXIT_FAILED, "out of memory for the fingerprint of %s.%s", my->db, table);
		goto out;
	}
	names_hash_hex(out, outsz - 1 < 64 ? outsz - 1 : 64, text.buf ? text.buf : "", text.len);
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	sql_free(&text);
	return ok;
}
