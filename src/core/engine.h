/*
 * engine.h — what the core hands an engine, and (below) the primitives an
 * engine supplies.  docs/ARCHITECTURE.md says how they fit together.
 *
 * An engine never sees Osc, the run's context: it gets an EngineEnv at
 * open, the settings its SQL needs, and every primitive is given what else
 * it needs (a watermark, a counter) by the core, which owns every loop and
 * every decision around the primitives.
 */
#ifndef OSC_ENGINE_H
#define OSC_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "alter.h"
#include "err.h"
#include "log.h"
#include "names.h"
#include "options.h"
#include "retry.h"
#include "throttle.h"

/* The run's settings, as an engine needs them.  Filled by the core before
 * open (src/core/migrate.c) and unchanged for the run. */
typedef struct EngineEnv {
	Log *log;
	const RetryPolicy *retry;      /* the engine's own lock-taking statements retry through it */
	const AlterSpec *alter;        /* the ALTER (empty for cleanup, history) */
	const TableName *target;       /* --table, parsed */
	const char *table_arg;         /* --table as given: messages say `osc cleanup --table <it>` */
	const char *url;               /* --database, else OSC_DATABASE_URL; NULL: the client library's defaults */
	bool plan;                     /* osc plan: nothing may change */
	int64_t lock_timeout_ms;       /* --lock-timeout: every lock on the original */
	int64_t statement_timeout_ms;
	int cutover_retries;           /* the plan says how often a lock is tried */
	int64_t chunk_time_ms;         /* the plan's text; MySQL's foreign-key method "auto" */
	VerifyMode verify;
	StrategyChoice strategy;
	bool allow_on_replica;         /* MySQL/MariaDB --allow-on-replica */
	const char *alter_fk_method;   /* MySQL/MariaDB --alter-foreign-keys-method, or NULL */
	const char *const *replicas;   /* --replica URLs */
	int nreplicas;
	const ThrottleLimits *limits;  /* --max-lag, --max-load: the plan's warnings, the privilege check */
} EngineEnv;

#endif
