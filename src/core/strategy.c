/*
 * strategy.c — choosing a strategy from the ALTER's subcommands (see
 * strategy.h).  Pure: no SQL, no server; unit-tested.
 */
#include "strategy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *strategy_name(StrategyKind k)
{
	switch (k) {
	case STRAT_DIRECT: return "direct";
	case STRAT_UNIQUE_INDEX: return "unique-index";
	case STRAT_NOT_VALID: return "not-valid";
	case STRAT_NOT_NULL: return "not-null";
	case STRAT_INSTANT: return "instant";
	case STRAT_NOCOPY: return "nocopy";
	case STRAT_COPY: break;
	}
	return "copy";
}

void strategy_copy(Strategy *s, const char *fmt, ...)
{
	va_list ap;
	s->kind = STRAT_COPY;
	s->sub = NULL;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* Changes only the catalog on PostgreSQL (ADD COLUMN: unless the engine's
 * probe sees a rewrite). */
static bool catalog_only(const AlterSub *sub)
{
	switch (sub->kind) {
	case ALTER_ADD_COLUMN:
	case ALTER_DROP_COLUMN:
	case ALTER_RENAME:
	case ALTER_SET_DEFAULT:
	case ALTER_DROP_NOT_NULL:
	case ALTER_DROP_CONSTRAINT:
		return true;
	case ALTER_ADD_CHECK:
	case ALTER_ADD_FOREIGN_KEY:
		return sub->not_valid;
	default:
		return false;
	}
}

void strategy_classify(const AlterSpec *a, StrategyChoice choice, Strategy *s)
{
	memset(s, 0, sizeof(*s));
	if (choice == STRATEGY_COPY) {
		strategy_copy(s, "--strategy copy");
		return;
	}
	if (a->n_sub == 0 || a->too_many) {
		strategy_copy(s, "the ALTER has too many subcommands to sort");
		return;
	}
	if (a->n_sub == 1) {
		const AlterSub *sub = &a->sub[0];
		s->sub = sub;
		switch (sub->kind) {
		case ALTER_ADD_UNIQUE:
		case ALTER_ADD_PRIMARY_KEY:
			s->kind = STRAT_UNIQUE_INDEX;
			snprintf(s->why, sizeof(s->why),
			         "a %s is built by CREATE UNIQUE INDEX CONCURRENTLY (writers go on), then attached by ADD "
			         "CONSTRAINT ... USING INDEX under the lock timeout",
			         sub->kind == ALTER_ADD_UNIQUE ? "UNIQUE constraint" : "PRIMARY KEY");
			return;
		case ALTER_ADD_CHECK:
		case ALTER_ADD_FOREIGN_KEY:
			if (sub->not_valid)
				break;
			s->kind = STRAT_NOT_VALID;
			snprintf(s->why, sizeof(s->why),
			         "the %s is added NOT VALID under the lock timeout (no scan), then VALIDATE scans the table "
			         "without blocking writers",
			         sub->kind == ALTER_ADD_CHECK ? "CHECK constraint" : "FOREIGN KEY");
			return;
		case ALTER_SET_NOT_NULL:
			s->kind = STRAT_NOT_NULL;
			snprintf(s->why, sizeof(s->why),
			         "SET NOT NULL goes through a CHECK (%s IS NOT NULL) added NOT VALID and validated without "
			         "blocking writers, so SET NOT NULL itself needs no scan under the lock",
			         sub->column);
			return;
		default:
			break;
		}
	}
	for (int i = 0; i < a->n_sub; i++)
		if (!catalog_only(&a->sub[i])) {
			if (a->sub[i].kind == ALTER_OTHER || a->n_sub == 1)
				strategy_copy(s, "'%s' rewrites or scans the table, or is not a form osc runs in place",
				              a->sub[i].text);
			else
				strategy_copy(s, "'%s' cannot run in place together with other subcommands", a->sub[i].text);
			return;
		}
	s->kind = STRAT_DIRECT;
	s->sub = NULL;
	snprintf(s->why, sizeof(s->why),
	         "every subcommand changes only the catalog: the ALTER runs as it is, under the short lock timeout "
	         "with retries");
}
