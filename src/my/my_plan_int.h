/*
 * my_plan_int.h — the parts of `osc plan` on MySQL/MariaDB, between the
 * files that make it (my_plan.c runs them in this order):
 *
 *   my_plan_def.c    the trial table T_osc_try (osc's empty LIKE copy, as
 *                    the strategy's probe uses it) with the ALTER applied as
 *                    the shadow gets it; the definitions before and after,
 *                    read off the original and the trial table; then the
 *                    trial table's deferred indexes dropped, as the run's
 *                    shadow has them during the copy
 *   my_plan_trial.c  the row estimate of a never-analyzed table; the trial
 *                    copy of the first rows in key order into the trial
 *                    table and the ETA it gives
 *   my_plan_cast.c   the cast check: sampled rows into the trial table
 * The trial copy and the cast check run in transactions that are rolled
 * back (InnoDB: nothing reaches the binary log), reading the original
 * under READ COMMITTED (no locks on its rows); the trial table is dropped
 * at the end (`osc cleanup` drops one a killed plan left, empty).
 */
#ifndef OSC_MY_PLAN_INT_H
#define OSC_MY_PLAN_INT_H

#include "my.h"
#include "plan.h"

/* A copied column whose values the ALTER may change: its type, character
 * set or nullability is not the original's. */
typedef struct MyPlanCand {
	char *name;      /* in the shadow */
	char *from;      /* in the original */
	char *type, *old_type;
	bool text;       /* either side is a character string: compared as text */
	bool indexed;    /* an index of the original begins with it: its extremes are sampled */
} MyPlanCand;

typedef struct MyPlanTrial {
	bool built;                  /* the trial table exists, the ALTER applied */
	char name[MY_NAMELEN + 1];
	MyPlanCand *cand;
	int ncand;
	char **sorts;                /* each deferred index's columns, quoted */
	int nsorts;
} MyPlanTrial;

/* A read; a failure becomes a (medium) warning "could not check what". */
MYSQL_RES *my_plan_look(My *my, Plan *p, const char *what, Sql *q);
/* "id=5" / "(a, b)=(1, x)" of a key read by my_key_read from row[first] */
void my_plan_key_text(const My *my, MYSQL_ROW row, int first, char *out, size_t outsz);

/* my_plan_def.c: the trial table and the definitions (p->before/after or
 * p->def_note); my_plan_defer then drops its deferred indexes. */
void my_plan_trial_build(My *my, Plan *p, MyPlanTrial *t);
void my_plan_defer(My *my, MyPlanTrial *t);
/* Drops the trial table (a failure is a [high] warning: it stays) and
 * frees t. */
void my_plan_trial_drop(My *my, Plan *p, MyPlanTrial *t);

/* my_plan_trial.c */
void my_plan_estimate_rows(My *my, Plan *p, int64_t table_rows);
/* *failed: the server's message when the copy itself failed (malloc'd;
 * the caller warns unless the cast check names the failing rows) */
void my_plan_trial_copy(My *my, Plan *p, const MyPlanTrial *t, char **failed);

/* my_plan_cast.c */
void my_plan_cast(My *my, Plan *p, const MyPlanTrial *t);

#endif
