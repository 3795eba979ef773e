/*
 * throttle.h — deciding, from what the monitors saw, whether the copy may go
 * on, must pause, or must abort.  Pure logic: no clock, no I/O (the caller
 * passes "now"), so every rule is unit-tested (tests/unit/test_throttle.c).
 *
 * The rules, in order:
 *   panic file present                          -> abort
 *   a critical threshold (lag or load) held for
 *   --critical-interval                         -> abort
 *   paused by the operator (osc pause)          -> pause
 *   --pause-file present                        -> pause
 *   a replica above --max-lag, or unreadable    -> pause (fail closed)
 *   a load metric above --max-load              -> pause
 *   otherwise                                   -> go
 * A replica's lag is osc's clock now minus the newest heartbeat osc wrote
 * that the replica shows (both instants on osc's clock, so no skew between
 * hosts).  A replica that stops answering keeps aging its last heartbeat, so
 * it crosses --max-lag and then --critical-lag like a lagging one would.  A
 * replica that has shown no heartbeat at all is behind by at least the time
 * since osc wrote its first one: that floor counts for --critical-lag, so a
 * replica whose replay stopped before the run began (or that never answered)
 * aborts the run instead of holding it paused for ever.
 */
#ifndef OSC_THROTTLE_H
#define OSC_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define THROTTLE_MAX_METRICS 8
#define THROTTLE_MAX_REPLICAS 8

typedef struct LoadLimit {
	char name[64];
	double value;
} LoadLimit;

typedef struct LoadList {
	LoadLimit item[THROTTLE_MAX_METRICS];
	int n;
} LoadList;

typedef struct ThrottleLimits {
	int64_t max_lag_ms;           /* 0: lag does not throttle */
	int64_t critical_lag_ms;      /* 0: lag never aborts */
	int64_t critical_interval_ms; /* how long a critical reading must hold */
	LoadList max_load, critical_load;
} ThrottleLimits;

typedef struct ReplicaLag {
	const char *name;
	int64_t beat_ms;   /* newest heartbeat seen there (osc's wall clock); 0: none yet */
	const char *error; /* the last read failed: why (NULL or "" when it worked) */
} ReplicaLag;

typedef struct LoadReading {
	const char *name;
	double value;
	bool ok;           /* false: the last read failed */
} LoadReading;

typedef struct ThrottleInputs {
	int64_t now_ms;                /* osc's wall clock, as the heartbeats */
	bool operator_paused;
	bool pause_file, panic_file;
	const char *pause_file_name, *panic_file_name;
	const ReplicaLag *replicas;
	int nreplicas;
	const LoadReading *load;
	int nload;
	int64_t first_beat_ms;         /* when osc wrote its first heartbeat (osc's clock); 0: not yet */
} ThrottleInputs;

typedef enum ThrottleAction { THROTTLE_GO, THROTTLE_PAUSE, THROTTLE_ABORT } ThrottleAction;

/* What a decision carries between evaluations: since when a critical reading
 * has held (0: none). */
typedef struct ThrottleState {
	int64_t critical_since_ms;
} ThrottleState;

typedef struct ThrottleDecision {
	ThrottleAction action;
	char cause[96];   /* short, stable while the cause lasts: "operator", "lag 127.0.0.1:5433" */
	char reason[320]; /* for people: "replica 127.0.0.1:5433 is 2.3s behind (--max-lag 1.5s)" */
	int64_t max_lag_ms; /* the largest known lag, -1 when no replica has a heartbeat */
} ThrottleDecision;

void throttle_evaluate(const ThrottleLimits *l, const ThrottleInputs *in, ThrottleState *st, ThrottleDecision *d);

/* The lag of one replica at now_ms: -1 when no heartbeat was seen yet. */
int64_t throttle_replica_lag(const ReplicaLag *r, int64_t now_ms);
/* What is known of a replica with no heartbeat yet: it is at least this far
 * behind (now minus osc's first heartbeat); -1 when it has shown one, or
 * none was written yet. */
int64_t throttle_replica_lag_floor(const ReplicaLag *r, int64_t first_beat_ms, int64_t now_ms);

/* Parses "name=value[,name=value...]" (as --max-load Threads_running=25).
 * Names are letters, digits and '_'; values are non-negative numbers.  On
 * error, writes why into err and returns false. */
bool throttle_parse_load(const char *spec, LoadList *out, char *err, size_t errsz);

#endif
