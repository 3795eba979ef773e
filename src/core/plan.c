/*
 * plan.c — the risk class and the two renderings of `osc plan` (see plan.h).
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
	if (p->sample_rows > 0)
		fprintf(out, "sample:     read %lld rows in key order in %.1fms (%.0f rows/s)\n", (long long)p->sample_rows,
		        (double)p->sample_us / 1000.0, (double)p->sample_rows * 1e6 / (double)(p->sample_us ? p->sample_us : 1));
	if (p->eta_ms >= 0)
		fprintf(out, "eta:        about %.1fs (%s)\n", (double)p->eta_ms / 1000.0, p->eta_basis);
	else
		fprintf(out, "eta:        unknown (%s)\n", p->eta_basis);
	mb(out, "extra disk: about ", p->extra_bytes);
	fprintf(out, "\n");
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
	json_kv_int(&j, "sample_rows", p->sample_rows);
	json_kv_double(&j, "sample_ms", (double)p->sample_us / 1000.0, 1);
	json_kv_int(&j, "eta_ms", p->eta_ms);
	json_kv_string(&j, "eta_basis", p->eta_basis);
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
