/*
 * dburl.h — what osc accepts in a database URL, and what in it names the
 * migration's target.
 *
 * A URL osc does not fully understand is refused before anything connects:
 * a MySQL URL may carry only the parameters osc hands to the client library
 * (a misspelt ?ssl_mode=REQUIRED used to be ignored, and the connection went
 * out in plain text); a PostgreSQL URL or key=value string is checked by
 * libpq's own parser, and a parameter it rejects is reported with the list
 * of those it knows.  Every message shows the URL with its password masked.
 *
 * The target (engine, host, port, database, schema-qualified table) is what
 * identifies a migration without any secret: the control socket is named
 * after it, so `osc status` finds a live run whichever way the user spelled
 * the credentials.
 */
#ifndef OSC_DBURL_H
#define OSC_DBURL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "names.h"

/* Checks one connection string given as `what` (--database, --replica);
 * NULL or "" is PostgreSQL through libpq's environment, and fine.  False
 * with an exit-2 error. */
bool dburl_check(const char *what, const char *url, OscErr *e) MUSTCHECK;

/* The migration's target as text, one field per line, without user or
 * password: engine, host, port, database, schema, table.  Defaults are
 * filled in as the client library would (PGHOST, PGPORT, PGDATABASE,
 * PGUSER; MySQL's port 3306), so that two spellings of one target agree.
 * url must have passed dburl_check. */
void dburl_target(const char *url, const TableName *t, char *out, size_t outsz);

#endif
