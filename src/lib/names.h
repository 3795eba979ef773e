/*
 * names.h — the names osc reads from the user and the names it makes.
 *
 * A table is given as `table` or `schema.table`.  A part in double quotes is
 * taken exactly ("" is a quote, a dot inside is part of the name); an
 * unquoted part is taken literally up to the first dot, so a name such as
 * a"b; DROP needs no quoting at all.
 *
 * Derived names (the shadow `_users_osc_new`, the old table `_users_osc_old`,
 * the work schema) must fit the engine's identifier limit.  A name that would
 * be too long is shortened and given a hash of the full name, so two long
 * names never collapse into one.
 */
#ifndef OSC_NAMES_H
#define OSC_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define OSC_NAME_MAX 256

typedef struct TableName {
	char schema[OSC_NAME_MAX]; /* empty: the engine's default resolution */
	char table[OSC_NAME_MAX];
	bool table_quoted;         /* given in double quotes: match exactly */
	bool schema_quoted;
} TableName;

bool names_parse_table(const char *spec, TableName *out, OscErr *e) MUSTCHECK;

/* prefix + base + suffix, at most maxlen bytes; when too long, base is cut
 * (on a UTF-8 character boundary) and "_" + 8 hex digits of the SHA-256 of
 * the full base is put before the suffix. */
void names_derive(char *out, size_t outsz, const char *prefix, const char *base,
                  const char *suffix, size_t maxlen);

/* The old table's suffix for candidate n (1, 2, ... OSC_OLD_MAX): the
 * first run keeps today's "_osc_old"; a run that finds that name taken by
 * an earlier run's old table takes "_osc_old_<n>", the lowest n whose names
 * are all free (docs/guarantees.md, "Old tables, run after run").  The
 * bound keeps a forgotten cron job from searching forever; it is far above
 * what a disk holds of copies. */
#define OSC_OLD_MAX 100
void names_old_suffix(char *out, size_t outsz, int n);

/* The hex SHA-256 of data, first `digits` characters. */
void names_hash_hex(char *out, size_t digits, const void *data, size_t len);

#endif
