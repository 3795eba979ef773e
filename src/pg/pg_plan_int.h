/*
 * pg_plan_int.h — the parts of `osc plan` on PostgreSQL, between the files
 * that make it (pg_plan.c runs them in this order):
 *
 *   pg_plan_shadow.c  while the plan's transaction can still write: the
 *                     shadow's definition as a temporary table (LIKE the
 *                     original INCLUDING ALL, the ALTER applied, the
 *                     deferred indexes dropped, as the run's shadow), both
 *                     definitions read for the diff, and the temporary
 *                     tables the cast check fills
 *   (the transaction turns READ ONLY: from here on only temporary tables
 *    can be written, so an ALTER expression that writes fails instead of
 *    committing anything)
 *   pg_plan_trial.c   the row estimate of a never-analyzed table, the
 *                     trial copy of the first rows in key order into the
 *                     temporary shadow, and the ETA it gives
 *   pg_plan_cast.c    the cast check: sampled rows into the temporary
 *                     shadow, each failing row and column found, values
 *                     that change
 * The transaction is rolled back at the end: nothing of it remains.
 */
#ifndef OSC_PG_PLAN_INT_H
#define OSC_PG_PLAN_INT_H

#include "pg.h"
#include "plan.h"

/* A column whose values the ALTER converts: its type changes, or a USING
 * expression computes it. */
typedef struct PgPlanCand {
	char *name;      /* in the shadow */
	char *from;      /* in the original */
	char *expr;      /* the copy's expression (pg->cols) */
	char *type;      /* the shadow's type */
	char *old_type;  /* the original's */
	bool plain;      /* copied as it is (no USING): a value that changes is a finding */
	bool indexed;    /* a btree index of the original begins with it: its extremes are sampled */
} PgPlanCand;

typedef struct PgPlanShadow {
	bool built;
	char name[PG_NAMELEN + 1];  /* the temporary shadow, in pg_temp */
	PgPlanCand *cand;
	int ncand;
	char **sorts;               /* each deferred index's columns, quoted ("a", "b") */
	int nsorts;
} PgPlanShadow;

/* A query in a savepoint of the plan's transaction: false with e filled
 * when it failed (the transaction goes on). */
bool pg_plan_try(Pg *pg, const char *sql, int np, const char *const *params, PGresult **res, OscErr *e) MUSTCHECK;
/* The same; a failure becomes a (medium) warning "could not check what". */
PGresult *pg_plan_look(Pg *pg, Plan *p, const char *what, const char *sql, int np, const char *const *params);
/* A warning for a failure of e (the read-only refusal says what it means) */
void pg_plan_warn_failed(Pg *pg, Plan *p, const char *what, const OscErr *e);
/* s with every pg->shadow replaced by the table's name (malloc'd): the
 * server's messages speak of the temporary shadow */
char *pg_plan_untemp(Pg *pg, const char *s);

/* pg_plan_shadow.c: before the transaction turns read-only.  Fills
 * p->before/after (or p->def_note) and s. */
void pg_plan_shadow_build(Pg *pg, Plan *p, PgPlanShadow *s);
void pg_plan_shadow_free(PgPlanShadow *s);

/* pg_plan_trial.c */
/* rows_estimate when the statistics do not know (never analyzed) */
void pg_plan_estimate_rows(Pg *pg, Plan *p, int64_t reltuples, int64_t relpages, int64_t pages);
/* The trial copy (p->trial...), then the ETA of a copy.  *failed: the
 * server's message when the copy itself failed (malloc'd; the caller
 * warns unless the cast check already names the failing rows). */
void pg_plan_trial(Pg *pg, Plan *p, const PgPlanShadow *s, char **failed);

/* pg_plan_cast.c */
void pg_plan_cast(Pg *pg, Plan *p, const PgPlanShadow *s);

#endif
