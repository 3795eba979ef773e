/*
 * plan.h — what `osc plan` reports, engine-neutral: the engine fills a Plan
 * (sizes, a trial copy or a sampled read, the SQL, dependent objects, the
 * table's definition before and after, a cast check on sampled rows,
 * warnings), plan.c classifies the risk and prints it as text or JSON, and
 * plan_def.c compares the two definitions (the diff, and what the ALTER
 * drops without saying so), and plan_revert.c reads from them what a revert
 * of the migration would do (docs/ARCHITECTURE.md "The revert").
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

#include "alter.h"
#include "err.h"
#include "strategy.h"

#define PLAN_MAX 64

/* One column as a DBA reads it.  Strings are malloc'd and owned by the
 * PlanDef; "" where the column has none. */
typedef struct PlanCol {
	char *name;
	char *from;       /* after: the column it is copied from (NULL: a new one); before: NULL */
	char *type;
	char *dflt;       /* the default expression */
	char *extra;      /* identity, generated, auto_increment, on update ... */
	char *collation;  /* a collation (or charset/collation) other than the default */
	char *comment;
	bool not_null;
	bool collatable;  /* a text type: a collation applies ("" then: the default) */
} PlanCol;

typedef struct PlanIndex {
	char *name;
	char *def;        /* how it reads: "btree (a, b)", "(a, b(10))" */
	char *cols;       /* its key columns, comma separated ("" for an expression) */
	bool unique, primary;
} PlanIndex;

/* A table's definition: columns in order, indexes and constraints (CHECK,
 * FOREIGN KEY: "CONSTRAINT n CHECK (...)") sorted by name. */
typedef struct PlanDef {
	PlanCol *cols;
	int ncols;
	PlanIndex *idx;
	int nidx;
	char **cons;
	int ncons;
} PlanDef;

/* A foreign key that needs an index of the table: its own (outgoing), or
 * another table's that references it (incoming: needs a unique key over
 * exactly those columns).  cols: the table's columns, before the ALTER. */
typedef struct PlanFk {
	char *name;
	char *what;       /* "foreign key fk from db.child" */
	char *cols;
	bool incoming;
} PlanFk;

/* A finding of the cast check on sampled rows. */
typedef struct PlanCast {
	char *column;     /* "" for the row as a whole (a CHECK, NOT NULL) */
	bool fail;        /* false: the value would change */
	int64_t rows;
	char *example;    /* one key, as "id=5" */
	char *detail;     /* the server's message, or what changes */
} PlanCast;

/* What `osc revert` of this migration would do, from the two definitions
 * (plan_revert.c).  Every string is malloc'd and owned by the Plan. */
typedef struct PlanRevert {
	bool known;                   /* false: no definition to judge by (have_def false) */
	bool possible;                /* the ALTER has an inverse: a run takes --revertible */
	char *why_not[PLAN_MAX];      /* what has no inverse (possible false) */
	int nwhy_not;
	char *loses[PLAN_MAX];        /* what a revert leaves out or fills in */
	int nloses;
	char *refuses[PLAN_MAX];      /* what, written after the swap, makes a revert refuse */
	int nrefuses;
} PlanRevert;

typedef struct Plan {
	const char *engine;
	bool revertible;              /* the run has --revertible (the core sets it before plan_fill) */
	char table[600];
	char key[600];
	Strategy strategy;
	int64_t rows_estimate;
	int64_t table_bytes, index_bytes, total_bytes;
	int64_t extra_bytes;          /* disk the run needs on top (shadow, index) */
	char rows_basis[300];         /* how rows_estimate was found, when not from the statistics */
	int64_t sample_rows, sample_us; /* the sampled read */
	/* the trial: one chunk of the copy into the shadow's definition (its
	 * bound, the copy, with trial_checked the comparison), rolled back: its
	 * rows, its time, and the time the deferred indexes' sorts of its rows
	 * took */
	bool trial, trial_checked;
	int64_t trial_rows, trial_us, trial_index_us;
	int trial_indexes;
	int64_t eta_ms;               /* -1: unknown */
	char eta_basis[300];
	/* the definition before and after the ALTER (have_def), or why not */
	bool have_def;
	char def_note[400];
	PlanDef before, after;
	PlanFk fks[PLAN_MAX];
	int nfks;
	/* the cast check: rows tried (cast_tried), what was sampled, findings */
	bool cast_tried;
	int64_t cast_rows;
	char cast_basis[400];
	PlanCast casts[PLAN_MAX];
	int ncasts;
	char *sql[PLAN_MAX];          /* the statements, in order (malloc'd) */
	int nsql;
	char *columns[PLAN_MAX];      /* "new <- expr" for the copy */
	int ncolumns;
	char *deps[PLAN_MAX];         /* dependent objects the swap carries */
	int ndeps;
	char *warnings[PLAN_MAX];
	bool warn_high[PLAN_MAX];
	int nwarnings;
	PlanRevert revert;            /* plan_revert() fills it */
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

/* plan_def.c: the definitions.  The adders copy their strings (NULL reads
 * as ""; from NULL stays NULL). */
void plan_def_col(PlanDef *d, const char *name, const char *from, const char *type, const char *dflt, bool not_null,
                  const char *extra, bool collatable, const char *collation, const char *comment);
void plan_def_index(PlanDef *d, const char *name, const char *def, const char *cols, bool unique, bool primary);
void plan_def_cons(PlanDef *d, const char *fmt, ...) PRINTFLIKE(2, 3);
void plan_def_free(PlanDef *d);
void plan_fk(Plan *p, const char *name, const char *what, const char *cols, bool incoming);
/* The definition as lines (malloc'd, the caller frees each and the array). */
char **plan_def_lines(const PlanDef *d, int *n);
/* The diff of before and after: each line prefixed "  ", "- " or "+ "
 * (malloc'd as above); NULL with *n 0 when there is no definition. */
char **plan_def_diff(const Plan *p, int *n);
/* Warnings for what the ALTER drops without saying so: a column that
 * loses NOT NULL, its default, AUTO_INCREMENT or identity, its comment or
 * collation under a subcommand that restates it (MODIFY, CHANGE, ALTER
 * COLUMN ... TYPE) without naming that; an index that goes with a dropped
 * column or shrinks; an index a foreign key needs.  After have_def. */
void plan_def_check(Plan *p, const AlterSpec *a);
/* The identifier name (quoted or not, any case) is a word of the SQL text s. */
bool plan_text_names(const char *s, const char *name);
/* A cast-check finding, and its warning (high: the run would fail). */
void plan_cast(Plan *p, const char *column, bool fail, int64_t rows, const char *example, const char *detail);

/* plan_revert.c: p->revert from the definitions: per original column
 * whether it maps back exactly, comes back through a cast that a value
 * written after the swap may fail (the revert then refuses, naming the
 * key), or is refilled with its default or NULL; the new table's added
 * columns left out; a changed key or a dropped NOT NULL column without a
 * default: no inverse.  With p->revertible and no inverse, a high warning
 * that the run refuses (unless the engine's own check warned so already).
 * plan_classify calls it first. */
void plan_revert(Plan *p);
/* Every value of type from is a value of type into, unchanged (an integer
 * or a varchar no wider, a numeric with no more digits either side of the
 * point; the types as the engines print them): the cast back cannot fail. */
bool plan_type_fits(const char *from, const char *into);

/* Sets risk and reasons from what the engine filled in (plan_revert's
 * warning included). */
void plan_classify(Plan *p);
void plan_print_text(const Plan *p, FILE *out);
void plan_print_json(const Plan *p, FILE *out);
/* osc plan --fail-on (a PlanRisk, 0 none): OSC_EXIT_RISK, saying so on
 * stderr, when the plan's risk reaches it; OSC_EXIT_OK below. */
OscExit plan_exit(const Plan *p, int fail_on);

#endif
