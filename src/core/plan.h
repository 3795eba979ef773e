/*
 * plan.h — what `osc plan` reports, engine-neutral: the engine fills a Plan
 * (sizes, a sampled read, the SQL, dependent objects, warnings), plan.c
 * classifies the risk and prints it as text or JSON.
 *
 * Risk: high when a warning says the run would fail or stall (duplicates
 * under a new UNIQUE key, a long transaction or a lock holder on the table,
 * a lagging replica, a view using a column the ALTER changes); medium when
 * the table is copied or scanned, or the swap carries dependent objects;
 * low when the change is catalog-only.
 */
#ifndef OSC_PLAN_H
#define OSC_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "strategy.h"

#define PLAN_MAX 64

typedef struct Plan {
	const char *engine;
	char table[600];
	char key[600];
	Strategy strategy;
	int64_t rows_estimate;
	int64_t table_bytes, index_bytes, total_bytes;
	int64_t extra_bytes;          /* disk the run needs on top (shadow, index) */
	int64_t sample_rows, sample_us; /* the sampled read */
	int64_t eta_ms;               /* -1: unknown */
	char eta_basis[200];
	char *sql[PLAN_MAX];          /* the statements, in order (malloc'd) */
	int nsql;
	char *columns[PLAN_MAX];      /* "new <- expr" for the copy */
	int ncolumns;
	char *deps[PLAN_MAX];         /* dependent objects the swap carries */
	int ndeps;
	char *warnings[PLAN_MAX];
	bool warn_high[PLAN_MAX];
	int nwarnings;
	const char *risk;             /* "low", "medium", "high" */
	char *reasons[PLAN_MAX];
	int nreasons;
} Plan;

void plan_init(Plan *p);
/* Frees every string the adders below made: the Plan owns them. */
void plan_free(Plan *p);
void plan_sql(Plan *p, const char *fmt, ...) PRINTFLIKE(2, 3);
void plan_column(Plan *p, const char *fmt, ...) PRINTFLIKE(2, 3);
void plan_dep(Plan *p, const char *fmt, ...) PRINTFLIKE(2, 3);
/* high: the run would fail or stall as things stand */
void plan_warn(Plan *p, bool high, const char *fmt, ...) PRINTFLIKE(3, 4);
/* Sets risk and reasons from what the engine filled in. */
void plan_classify(Plan *p);
void plan_print_text(const Plan *p, FILE *out);
void plan_print_json(const Plan *p, FILE *out);
/* osc plan --fail-on (a PlanRisk, 0 none): OSC_EXIT_RISK, saying so on
 * stderr, when the plan's risk reaches it; OSC_EXIT_OK below. */
OscExit plan_exit(const Plan *p, int fail_on);

#endif
