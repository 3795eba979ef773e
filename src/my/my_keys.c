/*
 * my_keys.c — the table's key on MySQL/MariaDB as SQL text: how each key
 * column is read, and how a value read back becomes a literal that names
 * exactly the same row.
 *
 * The copy's watermark, the change log's keys and the state row's
 * checkpoint all travel as text and come back as literals, so the round
 * trip must be exact for every type a key may have:
 *   numbers, DECIMAL, dates and times   their text, quoted (the session is
 *                                       in UTC, so a TIMESTAMP's text is its
 *                                       instant: src/my/my_conn.c)
 *   FLOAT, DOUBLE                       CAST(c AS DOUBLE): the server prints
 *                                       the shortest text that reads back as
 *                                       the same double (a FLOAT printed as
 *                                       itself has 6 significant digits:
 *                                       16777215 read back as 16777200),
 *                                       given back as a double literal
 *   BIT, ENUM, SET                      c + 0: their number, given back bare
 *                                       (an ENUM compared with a quoted label
 *                                       compares as a string, but it sorts
 *                                       by its number; a BIT's text is raw
 *                                       bytes)
 *   strings and bytes                   HEX(c), given back as _charset X'..'
 *                                       in the column's own character set:
 *                                       no conversion through the
 *                                       connection's utf8mb4 on the way
 * A value whose text does not have the expected form (it cannot happen with
 * the reads above) is quoted, never pasted.
 */
#include "my.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

MyKeyKind my_key_kind(const char *data_type, const char *charset)
{
	static const char *const dbl[] = { "float", "double", "real", NULL };
	static const char *const num[] = { "bit", "enum", "set", NULL };
	static const char *const hex[] = { "char",     "varchar",    "binary",   "varbinary", "tinytext", "text",
		                               "mediumtext", "longtext", "tinyblob", "blob",      "mediumblob",
		                               "longblob", NULL };
	for (const char *const *t = dbl; *t; t++)
		if (strcmp(data_type, *t) == 0)
			return MY_KEY_DOUBLE;
	for (const char *const *t = num; *t; t++)
		if (strcmp(data_type, *t) == 0)
			return MY_KEY_NUMBER;
	for (const char *const *t = hex; *t; t++)
		if (strcmp(data_type, *t) == 0)
			return charset && charset[0] ? MY_KEY_HEX : MY_KEY_BYTES;
	return MY_KEY_TEXT;
}

void my_key_read(const My *my, Sql *q, const char *alias, int k)
{
	const MyKey *key = &my->keys[k];
	const char *open = "", *close = "";
	switch (key->kind) {
	case MY_KEY_HEX:
	case MY_KEY_BYTES:
		open = "HEX(", close = ")";
		break;
	case MY_KEY_NUMBER:
		open = "(", close = " + 0)";
		break;
	case MY_KEY_DOUBLE:
		open = "CAST(", close = " AS DOUBLE)";
		break;
	case MY_KEY_TEXT:
		break;
	}
	sql_add(q, "%s", open);
	if (alias)
		sql_add(q, "%I.", alias);
	sql_add(q, "%I%s", key->name, close);
}

static bool all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* The literal of value v (text as my_key_read printed it) of key k. */
static char *literal(const My *my, int k, const char *v)
{
	const MyKey *key = &my->keys[k];
	Sql l;
	sql_init(&l, &my->dialect);
	if ((key->kind == MY_KEY_HEX || key->kind == MY_KEY_BYTES) && (*v == '\0' || all_of(v, "0123456789ABCDEFabcdef")) &&
	    strlen(v) % 2 == 0) {
		/* the character set's name comes from information_schema: a
		 * plain word, checked when the key was read */
		sql_add(&l, "_%s X'%s'", key->kind == MY_KEY_BYTES ? "binary" : key->charset, v);
	} else if (key->kind == MY_KEY_NUMBER && all_of(v, "0123456789")) {
		sql_add(&l, "%s", v);
	} else if (key->kind == MY_KEY_DOUBLE && all_of(v, "0123456789.eE+-")) {
		/* a double literal, so that the comparison is in doubles */
		sql_add(&l, strchr(v, 'e') || strchr(v, 'E') ? "%s" : "%se0", v);
	} else {
		sql_add(&l, "%L", v);
	}
	return sql_take(&l);
}

char **my_key_literals(const My *my, MYSQL_ROW row, int first)
{
	char **key = xcalloc((size_t)my->nkeys + 1, sizeof(char *));
	for (int k = 0; k < my->nkeys; k++)
		key[k] = literal(my, k, row[first + k] ? row[first + k] : "");
	return key;
}

void my_free_key(const My *my, char **key)
{
	if (key == NULL)
		return;
	for (int k = 0; k < my->nkeys; k++)
		free(key[k]);
	free(key);
}

bool my_key_charset_ok(const char *charset)
{
	if (charset == NULL || *charset == '\0')
		return false;
	for (const char *p = charset; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}
