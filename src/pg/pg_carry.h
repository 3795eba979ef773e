/*
 * pg_carry.h — the pieces of src/pg/pg_carry.c's reading of what a rename
 * swap does not carry (its banner says what and why): the table's own
 * properties (pg_carry_table.c) and the objects that depend on it
 * (pg_carry_deps.c), with the helpers they share (pg_carry_rel.c).
 */
#ifndef OSC_PG_CARRY_H
#define OSC_PG_CARRY_H

#include "pg.h"

/* The table that lists the foreign keys re-created NOT VALID, in the work
 * schema (validated after the commit). */
#define VALIDATE_TABLE "_osc_validate"

/* Adds q's statement to run before the rename (pre) or after it; q is
 * emptied for the next one. */
void pg_carry_push(PgCarry *c, bool pre, Sql *q);
/* A value, NULL for SQL NULL. */
const char *pg_carry_val(PGresult *r, int row, int col);
/* A catalog query over relation OIDs: $1 = a, and $2 = b when n is 2. */
bool pg_carry_query_oids(Pg *pg, const char *sql, int n, unsigned a, unsigned b, PGresult **r, OscErr *e) MUSTCHECK;
bool pg_carry_is_privilege(const char *s);
/* The grants, owner, comment and options of a relation (the table or a
 * materialized view), read from oid (columns by the map from `from`). */
bool pg_carry_rel_props(Pg *pg, PgCarry *c, unsigned oid, unsigned from, const char *kind, const char *schema,
                        const char *name, OscErr *e) MUSTCHECK;
bool pg_carry_add_options(Pg *pg, Sql *out, const char *prefix, unsigned oid, const char *column, OscErr *e) MUSTCHECK;

/* pg_carry_table.c: the table's own properties, policies and triggers */
bool pg_carry_read_table(Pg *pg, PgCarry *c, OscErr *e) MUSTCHECK;
bool pg_carry_read_policies(Pg *pg, PgCarry *c, OscErr *e) MUSTCHECK;
bool pg_carry_read_triggers(Pg *pg, PgCarry *c, OscErr *e) MUSTCHECK;

/* pg_carry_deps.c: publications, views, foreign keys, extended statistics */
bool pg_carry_read_publications(Pg *pg, PgCarry *c, OscErr *e) MUSTCHECK;
bool pg_carry_read_views(Pg *pg, PgCarry *c, OscErr *e) MUSTCHECK;
bool pg_carry_read_foreign_keys(Pg *pg, PgCarry *c, OscErr *e) MUSTCHECK;
bool pg_carry_read_statistics(Pg *pg, PgCarry *c, OscErr *e) MUSTCHECK;

#endif
