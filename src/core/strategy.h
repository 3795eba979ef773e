/*
 * strategy.h — how an ALTER is applied: the least-locking way the database
 * offers, or the shadow copy.
 *
 * The runbook rule is "use the online primitive the database already has".
 * strategy_classify reads the subcommands the lexer sorted (src/lib/alter.c) and
 * proposes one; the engine confirms it against the server (PostgreSQL tries
 * the ALTER on an empty temporary copy and sees whether it rewrote it) and
 * carries it out (src/pg/pg_strategy.c):
 *   STRAT_DIRECT        catalog-only changes, run as they are under the short
 *                       lock timeout, retried with backoff
 *   STRAT_UNIQUE_INDEX  UNIQUE / PRIMARY KEY: CREATE UNIQUE INDEX
 *                       CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX
 *   STRAT_NOT_VALID     CHECK / FOREIGN KEY: ADD ... NOT VALID, then VALIDATE
 *   STRAT_NOT_NULL      SET NOT NULL: a validated CHECK (c IS NOT NULL) first,
 *                       so SET NOT NULL needs no scan under the lock
 *   STRAT_INSTANT       MariaDB: ALTER ... ALGORITHM=INSTANT, LOCK=NONE (a
 *                       metadata change), under the short lock wait, retried
 *   STRAT_NOCOPY        MariaDB: ALTER ... ALGORITHM=NOCOPY, LOCK=NONE (an
 *                       index built online), only when no replica is known
 *   STRAT_COPY          everything else, and --strategy copy
 * Only a single constraint subcommand takes the constraint paths; several
 * subcommands go in place only when every one is catalog-only, so the ALTER
 * stays one atomic statement.  MariaDB does not use strategy_classify: its
 * server says which algorithm it accepts (src/my/my_strategy.c).
 */
#ifndef OSC_STRATEGY_H
#define OSC_STRATEGY_H

#include "alter.h"
#include "options.h"

typedef enum StrategyKind {
	STRAT_COPY,
	STRAT_DIRECT,
	STRAT_UNIQUE_INDEX,
	STRAT_NOT_VALID,
	STRAT_NOT_NULL,
	STRAT_INSTANT,
	STRAT_NOCOPY,
} StrategyKind;

typedef struct Strategy {
	StrategyKind kind;
	const AlterSub *sub;  /* the constraint paths: the subcommand (in Osc's AlterSpec) */
	char why[512];        /* one sentence for the log and the plan */
} Strategy;

/* Proposes a strategy from the text alone (the engine may fall back to copy). */
void strategy_classify(const AlterSpec *a, StrategyChoice choice, Strategy *s);
/* "copy", "direct", "unique-index", "not-valid", "not-null", "instant", "nocopy" */
const char *strategy_name(StrategyKind k);
/* Falls back to the shadow copy, saying why. */
void strategy_copy(Strategy *s, const char *fmt, ...) PRINTFLIKE(2, 3);

#endif
