/*
 * pg_target.h — may osc run against this PostgreSQL server, as this role,
 * watching these replicas?  Checked in preflight, before anything exists
 * (src/pg/pg_target.c, src/pg/pg_privs.c).
 */
#ifndef OSC_PG_TARGET_H
#define OSC_PG_TARGET_H

#include "pg.h"

/* Refuses (exit 2) a standby, a --replica that cannot be reached or is no
 * standby of this primary, and a role that lacks a privilege the run
 * needs (the message holds the GRANT statements).  After pg_find_table. */
bool pg_target_check(Pg *pg, OscErr *e) MUSTCHECK;
/* Only the standby refusal of pg_target_check: `osc cleanup` writes too. */
bool pg_target_primary(Pg *pg, OscErr *e) MUSTCHECK;

/* The missing privileges, as statements for the operator to run. */
typedef struct PgGrants {
	Sql text;  /* "\n  GRANT ...;  -- why" per statement */
	int n;
} PgGrants;

void pg_grants_init(PgGrants *g, Pg *pg);
/* Adds stmt (without ';') unless the same statement is there already. */
void pg_grants_add(PgGrants *g, const Sql *stmt, const char *why);
void pg_grants_free(PgGrants *g);

/* src/pg/pg_privs.c: what the run needs on the primary, into g. */
bool pg_privs_check(Pg *pg, PgGrants *g, OscErr *e) MUSTCHECK;

#endif
