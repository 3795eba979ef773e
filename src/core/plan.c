/*
 * plan.c — the risk class and the two renderings of `osc plan` (see plan.h;
 * the definitions and their diff are plan_def.c's).
 */
#include "plan.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "xalloc.h"

void plan_init(Plan *p)
{
	memset(p, 0, sizeof(*p));
	p->eta_ms = -1;
	p->risk = "low";
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
}

void plan_free(Plan *p)
{
	free_list(p->sql, p->nsql);
	free_list(p->columns, p->ncolumns);
	free_list(p->deps, p->ndeps);
	free_list(p->warnings, p->nwarnings);
	free_list(p->reasons, p->nreasons);
	free_list(p->revert.why_not, p->revert.nwhy_not);
	free_list(p->revert.loses, p->revert.nloses);
	free_list(p->revert.refuses, p->revert.nrefuses);
	plan_def_free(&p->before);
	plan_def_free(&p->after);
	for (int i = 0; i < p->nfks; i++) {
		free(p->fks[i].name);
		free(p->fks[i].what);
		free(p->fks[i].cols);
	}
	for (int i = 0; i < p->ncasts; i++) {
		free(p->casts[i].column);
		free(p->casts[i].example);
		free(p->casts[i].detail);
	}
	memset(p, 0, sizeof(*p));
}

static void add(char **v, int *n, const char *fmt, va_list ap)
{
	if (*n >= PLAN_MAX)
		return;
	v[(*n)++] = xvasprintf(fmt, ap);
}

#define ADDER(fn, field, count)                  \
	void fn(Plan *p, const char *fmt, ...)       \
	{                                            \
		va_list ap;                              \
		va_start(ap, fmt);                       \
		add(p->field, &p->count, fmt, ap);       \
		va_end(ap);                              \
	}
ADDER(plan_sql, sql, nsql)
ADDER(plan_column, columns, ncolumns)
ADDER(plan_dep, deps, ndeps)

static void reason(Plan *p, const char *fmt, ...) PRINTFLIKE(2, 3);
ADDER(reason, reasons, nreasons)

void plan_warn(Plan *p, bool high, const char *fmt, ...)
{
	va_list ap;
	if (p->nwarnings >= PLAN_MAX)
		return;
	p->warn_high[p->nwarnings] = high;
	va_start(ap, fmt);
	add(p->warnings, &p->nwarnings, fmt, ap);
	va_end(ap);
}

void plan_classify(Plan *p)
{
	bool high = false, medium = false;
	plan_revert(p); /* its warning is one of the risk's */
	for (int i = 0; i < p->nwarnings; i++)
		if (p->warn_high[i]) {
			high = true;
			reason(p, "warning: %s", p->warnings[i]);
		}
	double mb = (double)p->total_bytes / 1048576.0;
	switch (p->strategy.kind) {
	case STRAT_DIRECT:
	case STRAT_INSTANT:
		reason(p, "catalog-only change: writers wait at most the lock timeout, once");
		break;
	case STRAT_NOCOPY:
		medium = true;
		reason(p, "an online index build reads the whole table (%.1f MB) without blocking writers; a replica would "
		          "replay it serially",
		       mb);
		break;
	case STRAT_UNIQUE_INDEX:
		medium = true;
		reason(p, "an index build reads the whole table (%.1f MB) without blocking writers", mb);
		break;
	case STRAT_NOT_VALID:
	case STRAT_NOT_NULL:
		medium = true;
		reason(p, "VALIDATE reads the whole table (%.1f MB) without blocking writers", mb);
		break;
	case STRAT_COPY:
		medium = true;
		reason(p, "the whole table (%.1f MB) is copied; every write pays a trigger until the swap", mb);
		break;
	}
	if (p->ndeps > 0) {
		medium = true;
		reason(p, "the swap must carry %d dependent object(s)", p->ndeps);
	}
	for (int i = 0; i < p->nwarnings; i++)
		if (!p->warn_high[i]) {
			medium = true;
			reason(p, "warning: %s", p->warnings[i]);
		}
	p->risk = high ? "high" : medium ? "medium" : "low";
}

static double per_second(int64_t rows, int64_t us)
{
	return (double)rows * 1e6 / (double)(us > 0 ? us : 1);
}

static void print_cast(const Plan *p, FILE *out)
{
	if (!p->cast_tried) {
		if (p->cast_basis[0])
			fprintf(out, "cast check: not done (%s)\n", p->cast_basis);
		return;
	}
	int fail = 0, change = 0;
	for (int i = 0; i < p->ncasts; i++)
		*(p->casts[i].fail ? &fail : &change) += 1;
	fprintf(out, "cast check: %lld rows sampled (%s) went into the shadow's definition: ", (long long)p->cast_rows,
	        p->cast_basis);
	if (fail + change == 0)
		fprintf(out, "no value fails or changes\n");
	else
		fprintf(out, "%d column%s with values that fail, %d with values that change (see the warnings)\n", fail,
		        fail == 1 ? "" : "s", change);
}

static void print_definition(const Plan *p, FILE *out)
{
	int n;
	char **diff = plan_def_diff(p, &n);
	if (diff == NULL) {
		if (p->def_note[0])
			fprintf(out, "definition: not shown (%s)\n", p->def_note);
		return;
	}
	fprintf(out, "definition (- before, + after):\n");
	for (int i = 0; i < n; i++) {
		fprintf(out, "  %s\n", diff[i]);
		free(diff[i]);
	}
	free(diff);
}

/* Whether the ALTER has an inverse, and what a revert would lose or refuse */
static void print_revert(const Plan *p, FILE *out)
{
	const PlanRevert *r = &p->revert;
	if (!r->known) {
		fprintf(out, "revert:     unknown: no definition after the ALTER to judge by\n");
		return;
	}
	if (!r->possible) {
		fprintf(out, "revert:     not possible: the ALTER has no inverse%s\n",
		        p->revertible ? " (--revertible: a run refuses it)" : "");
		for (int i = 0; i < r->nwhy_not; i++)
			fprintf(out, "  - %s\n", r->why_not[i]);
		return;
	}
	if (p->revertible)
		fprintf(out, "revert:     possible: this run is --revertible (`osc revert` after the swap, until `osc finish`)\n");
	else
		fprintf(out, "revert:     possible with --revertible%s\n",
		        p->strategy.kind == STRAT_COPY ? "" : ", which copies the table instead of changing it in place");
	if (r->nloses + r->nrefuses == 0)
		fprintf(out, "  a revert gives every original column back exactly\n");
	for (int i = 0; i < r->nloses; i++)
		fprintf(out, "  a revert would lose: %s\n", r->loses[i]);
	for (int i = 0; i < r->nrefuses; i++)
		fprintf(out, "  a revert would refuse: %s\n", r->refuses[i]);
}

static void mb(FILE *out, const char *label, int64_t bytes)
{
	fprintf(out, "%s%.1f MB", label, (double)bytes / 1048576.0);
}

void plan_print_text(const Plan *p, FILE *out)
{
	fprintf(out, "table:      %s (%s)\n", p->table, p->engine);
	if (p->key[0])
		fprintf(out, "key:        %s\n", p->key);
	fprintf(out, "strategy:   %s: %s\n", strategy_name(p->strategy.kind), p->strategy.why);
	fprintf(out, "risk:       %s\n", p->risk);
	for (int i = 0; i < p->nreasons; i++)
		fprintf(out, "  - %s\n", p->reasons[i]);
	fprintf(out, "size:       about %lld rows; ", (long long)p->rows_estimate);
	mb(out, "table ", p->table_bytes);
	mb(out, ", indexes ", p->index_bytes);
	mb(out, ", total with TOAST ", p->total_bytes);
	fprintf(out, "\n");
	if (p->rows_basis[0])
		fprintf(out, "estimate:   %s\n", p->rows_basis);
	if (p->sample_rows > 0)
		fprintf(out, "sample:     read %lld rows in key order in %.1fms (%.0f rows/s)\n", (long long)p->sample_rows,
		        (double)p->sample_us / 1000.0, (double)p->sample_rows * 1e6 / (double)(p->sample_us ? p->sample_us : 1));
	if (p->trial) {
		fprintf(out,
		        "trial:      copied %lld rows in key order into the shadow's definition as a chunk (its bound, the "
		        "copy%s) in %.1fms (%.0f rows/s)",
		        (long long)p->trial_rows, p->trial_checked ? ", the comparison" : "", (double)p->trial_us / 1000.0,
		        per_second(p->trial_rows, p->trial_us));
		if (p->trial_indexes > 0)
			fprintf(out, ", sorted them for %d deferred index%s in %.1fms", p->trial_indexes,
			        p->trial_indexes == 1 ? "" : "es", (double)p->trial_index_us / 1000.0);
		fprintf(out, "; rolled back\n");
	}
	if (p->eta_ms >= 0)
		fprintf(out, "eta:        about %.1fs (%s)\n", (double)p->eta_ms / 1000.0, p->eta_basis);
	else
		fprintf(out, "eta:        unknown (%s)\n", p->eta_basis);
	mb(out, "extra disk: about ", p->extra_bytes);
	fprintf(out, "\n");
	print_cast(p, out);
	print_definition(p, out);
	print_revert(p, out);
	if (p->ncolumns > 0) {
		fprintf(out, "columns:\n");
		for (int i = 0; i < p->ncolumns; i++)
			fprintf(out, "  %s\n", p->columns[i]);
	}
	fprintf(out, "SQL:\n");
	for (int i = 0; i < p->nsql; i++)
		fprintf(out, "  %s\n", p->sql[i]);
	fprintf(out, "dependent objects the swap carries:%s\n", p->ndeps ? "" : " none");
	for (int i = 0; i < p->ndeps; i++)
		fprintf(out, "  %s\n", p->deps[i]);
	fprintf(out, "warnings:%s\n", p->nwarnings ? "" : " none");
	for (int i = 0; i < p->nwarnings; i++)
		fprintf(out, "  %s%s\n", p->warn_high[i] ? "[high] " : "", p->warnings[i]);
}

static void json_list(Json *j, const char *name, char *const *v, int n)
{
	json_key(j, name);
	json_array(j);
	for (int i = 0; i < n; i++)
		json_string(j, v[i]);
	json_array_end(j);
}

static void json_cast(Json *j, const Plan *p)
{
	json_key(j, "cast_check");
	if (!p->cast_tried) {
		json_null(j);
		return;
	}
	json_object(j);
	json_kv_int(j, "rows", p->cast_rows);
	json_kv_string(j, "sampled", p->cast_basis);
	json_key(j, "findings");
	json_array(j);
	for (int i = 0; i < p->ncasts; i++) {
		const PlanCast *c = &p->casts[i];
		json_object(j);
		json_kv_string(j, "column", c->column);
		json_kv_string(j, "outcome", c->fail ? "fail" : "change");
		json_kv_int(j, "rows", c->rows);
		json_kv_string(j, "example_key", c->example);
		json_kv_string(j, "detail", c->detail);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static void json_def(Json *j, const char *name, const PlanDef *d, bool after)
{
	json_key(j, name);
	json_object(j);
	json_key(j, "columns");
	json_array(j);
	for (int i = 0; i < d->ncols; i++) {
		const PlanCol *c = &d->cols[i];
		json_object(j);
		json_kv_string(j, "name", c->name);
		if (after) {
			if (c->from)
				json_kv_string(j, "from", c->from);
			else
				json_kv_null(j, "from");
		}
		json_kv_string(j, "type", c->type);
		json_kv_bool(j, "not_null", c->not_null);
		if (c->dflt[0])
			json_kv_string(j, "default", c->dflt);
		else
			json_kv_null(j, "default");
		json_kv_string(j, "extra", c->extra);
		json_kv_string(j, "collation", c->collation);
		json_kv_string(j, "comment", c->comment);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "indexes");
	json_array(j);
	for (int i = 0; i < d->nidx; i++) {
		const PlanIndex *x = &d->idx[i];
		json_object(j);
		json_kv_string(j, "name", x->name);
		json_kv_string(j, "definition", x->def);
		json_kv_string(j, "columns", x->cols);
		json_kv_bool(j, "unique", x->unique);
		json_kv_bool(j, "primary", x->primary);
		json_object_end(j);
	}
	json_array_end(j);
	json_list(j, "constraints", d->cons, d->ncons);
	json_object_end(j);
}

static void json_revert(Json *j, const Plan *p)
{
	const PlanRevert *r = &p->revert;
	json_key(j, "revert");
	json_object(j);
	json_kv_bool(j, "known", r->known);
	if (r->known)
		json_kv_bool(j, "possible", r->possible);
	else
		json_kv_null(j, "possible");
	json_kv_bool(j, "requested", p->revertible);
	json_list(j, "why_not", r->why_not, r->nwhy_not);
	json_list(j, "loses", r->loses, r->nloses);
	json_list(j, "refuses", r->refuses, r->nrefuses);
	json_object_end(j);
}

static void json_definition(Json *j, const Plan *p)
{
	json_key(j, "definition");
	if (!p->have_def) {
		json_null(j);
		json_kv_string(j, "definition_note", p->def_note);
		return;
	}
	int n;
	char **diff = plan_def_diff(p, &n);
	json_object(j);
	json_def(j, "before", &p->before, false);
	json_def(j, "after", &p->after, true);
	json_list(j, "diff", diff, n);
	json_object_end(j);
	free_list(diff, n);
	free(diff);
}

void plan_print_json(const Plan *p, FILE *out)
{
	Json j;

	json_start(&j, out);
	json_object(&j);
	json_kv_string(&j, "engine", p->engine);
	json_kv_string(&j, "table", p->table);
	json_kv_string(&j, "key", p->key);
	json_kv_string(&j, "strategy", strategy_name(p->strategy.kind));
	json_kv_string(&j, "strategy_reason", p->strategy.why);
	json_kv_string(&j, "risk", p->risk);
	json_list(&j, "risk_reasons", p->reasons, p->nreasons);
	json_kv_int(&j, "rows_estimate", p->rows_estimate);
	json_kv_int(&j, "table_bytes", p->table_bytes);
	json_kv_int(&j, "index_bytes", p->index_bytes);
	json_kv_int(&j, "total_bytes", p->total_bytes);
	json_kv_int(&j, "extra_disk_bytes", p->extra_bytes);
	json_kv_string(&j, "rows_basis", p->rows_basis);
	json_kv_int(&j, "sample_rows", p->sample_rows);
	json_kv_double(&j, "sample_ms", (double)p->sample_us / 1000.0, 1);
	json_key(&j, "trial");
	if (p->trial) {
		json_object(&j);
		json_kv_int(&j, "rows", p->trial_rows);
		json_kv_double(&j, "ms", (double)p->trial_us / 1000.0, 1);
		json_kv_double(&j, "rows_per_s", per_second(p->trial_rows, p->trial_us), 0);
		json_kv_bool(&j, "compared", p->trial_checked);
		json_kv_int(&j, "indexes_sorted", p->trial_indexes);
		json_kv_double(&j, "index_sort_ms", (double)p->trial_index_us / 1000.0, 1);
		json_object_end(&j);
	} else {
		json_null(&j);
	}
	json_kv_int(&j, "eta_ms", p->eta_ms);
	json_kv_string(&j, "eta_basis", p->eta_basis);
	json_cast(&j, p);
	json_definition(&j, p);
	json_revert(&j, p);
	json_list(&j, "sql", p->sql, p->nsql);
	json_list(&j, "columns", p->columns, p->ncolumns);
	json_list(&j, "dependent_objects", p->deps, p->ndeps);
	json_key(&j, "warnings");
	json_array(&j);
	for (int i = 0; i < p->nwarnings; i++) {
		json_object(&j);
		json_kv_bool(&j, "high", p->warn_high[i]);
		json_kv_string(&j, "text", p->warnings[i]);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_kv_bool(&j, "changes_nothing", true);
	json_object_end(&j);
	fputc('\n', out);
}

static int risk_level(const char *risk)
{
	if (strcmp(risk, "high") == 0)
		return PLAN_RISK_HIGH;
	if (strcmp(risk, "medium") == 0)
		return PLAN_RISK_MEDIUM;
	return PLAN_RISK_LOW;
}

OscExit plan_exit(const Plan *p, int fail_on)
{
	if (fail_on == 0 || risk_level(p->risk) < fail_on)
		return OSC_EXIT_OK;
	/* on stderr: stdout holds the plan (perhaps JSON a CI job parses) */
	fprintf(stderr, "osc: the plan's risk is %s, which reaches --fail-on %s: exit %d\n", p->risk,
	        fail_on == PLAN_RISK_HIGH ? "high" : "medium", (int)OSC_EXIT_RISK);
	return OSC_EXIT_RISK;
}
