/*
 * control.h — what a running migration shares between its threads, and the
 * operator's ways in: the control socket, flag files and throttling.
 *
 * Three threads:
 *   - the worker (src/core/migrate.c) runs the pipeline; its statements block, so
 *     it only looks at the shared state between steps (control_gate);
 *   - the control loop (src/core/control_server.c), one libevent
 *     event_base: the Unix socket that `osc status|pause|resume|cutover|
 *     abort|set` talk to (control_commands.c), a 100 ms timer that reads the
 *     flag files and re-evaluates the throttle (control_tick.c); it never
 *     runs a query, so `status` is answered at once even in the middle of a
 *     long chunk;
 *   - the monitor (replicator/lag.c): the heartbeat on the primary, the
 *     heartbeat's age on each replica, and the load metrics, on its own
 *     connections (queries block, so they get a thread of their own).
 * Everything below the mutex is shared; the worker publishes its progress
 * into it, the monitor its readings, the loop the operator's requests, and
 * each of them may re-evaluate the throttle decision (control_state.c).
 * control_int.h lists the module's files.
 */
#ifndef OSC_CONTROL_H
#define OSC_CONTROL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "log.h"
#include "throttle.h"

typedef struct Osc Osc;

/* One replica the monitor watches (heartbeat), or one it only shows
 * (PostgreSQL's pg_stat_replication, when no --replica names it). */
typedef struct ReplicaState {
	char name[128];
	int64_t beat_ms;        /* newest heartbeat seen there, osc's wall clock; 0: none */
	char error[256];        /* why the last read failed; "" when it worked */
	int64_t bytes_behind;   /* pg_stat_replication only; -1 unknown */
	int64_t replay_lag_ms;  /* pg_stat_replication only; -1 unknown */
} ReplicaState;

typedef struct Control {
	pthread_mutex_t mu;
	pthread_cond_t changed;   /* the decision changed, or a request came in */
	atomic_bool quit;         /* the control loop stops at its next turn */
	atomic_bool monitor_quit; /* the monitor stops at its next turn */
	bool started, monitor_started;
	pthread_t loop_thread, monitor_thread;
	struct ControlLoop *loop; /* the libevent side (control_int.h) */
	void *monitor;            /* the monitor's connections (replicator/lag.c) */
	/* the control loop's own (it alone reads the flag files once started) */
	bool pause_file_ignored, panic_file_ignored; /* there, but not the user's file: said once */

	/* --- under mu --- */
	ThrottleLimits limits;    /* osc set changes these */
	int64_t chunk_time_ms, chunk_size_max;
	int64_t nice_permille;    /* --nice-ratio x 1000 */
	int64_t lock_timeout_ms, cutover_retries, max_runtime_ms; /* the worker copies them to its options */
	bool operator_paused;
	bool cutover_requested;
	bool abort_requested;
	char abort_reason[400];
	bool pause_file, panic_file;
	bool heartbeat_armed;     /* the heartbeat table exists: beat */
	int64_t first_beat_ms;    /* osc's first heartbeat written (wall clock); 0: none yet */
	bool gate_reported;       /* an in-place run, which has no heartbeat: the
	                             observed replicas' lag as the primary reports
	                             it (pg_stat_replication.replay_lag) throttles */
	ReplicaState replicas[THROTTLE_MAX_REPLICAS];  /* watched */
	int nreplicas;
	ReplicaState observed[THROTTLE_MAX_REPLICAS];  /* shown only */
	int nobserved;
	LoadReading load[THROTTLE_MAX_METRICS];
	char load_names[THROTTLE_MAX_METRICS][64];
	int nload;
	ThrottleState tstate;
	ThrottleDecision decision;
	int64_t throttled_since_ms;  /* monotonic; 0: not throttled */
	int64_t throttled_total_ms;
	Progress progress;        /* the worker's last published progress */
	char socket_path[108];
} Control;

/* Starts the control loop and its socket (after preflight: the advisory
 * lock guarantees one run per table).  An unusable socket path is bad input.
 * The loop (Control.loop) is allocated here and freed by control_stop,
 * which also removes the socket file. */
bool control_start(Osc *o, OscErr *e) MUSTCHECK;
/* Stops the threads (monitor first), removes the socket. */
void control_stop(Osc *o);

/* The socket path for o's target (--socket, else osc-<hash of engine,
 * host, port, database and table>.sock in the private socket directory,
 * made when create; under_tmpdir: the one under $TMPDIR even when XDG_RUNTIME_DIR is
 * set, src/lib/localpath.h).  An unsafe directory is an exit-2 error. */
bool control_socket_path(Osc *o, bool create, bool under_tmpdir, char *out, size_t outsz, OscErr *e) MUSTCHECK;

/* Worker side. */
void control_publish(Osc *o);          /* copies o->progress in */
/* Waits while the decision is "pause", printing progress meanwhile.  False
 * with an exit-1 error on an abort decision, exit 3 on a signal. */
bool control_gate(Osc *o, OscErr *e) MUSTCHECK;
/* An in-place run, which makes no heartbeat, before its statements (on:
 * true): the lag the primary reports for its replicas (PostgreSQL's
 * pg_stat_replication.replay_lag) throttles and aborts as a heartbeat's
 * would, until called with false. */
void control_gate_reported_lag(Osc *o, bool on);
/* An abort requested by the operator or decided by the throttle: writes the
 * reason into e and returns true. */
bool control_aborted(Osc *o, OscErr *e);
/* True once `osc cutover` was received (and clears the request). */
bool control_take_cutover(Osc *o);
/* The chunk limits as they are now (osc set may change them). */
void control_chunk_limits(Osc *o, int64_t *chunk_time_ms, int64_t *chunk_size_max);
/* --nice-ratio as it is now, in thousandths (osc set may change it). */
int64_t control_nice_permille(Osc *o);

/* Re-evaluates the throttle with mu held; wakes the worker and logs when the
 * cause changes. */
void control_evaluate_locked(Osc *o);

/* SIGINT and SIGTERM go to the worker (the main thread), whose steps they
 * stop; the helper threads block them. */
void control_block_signals(void);

/* Client side (`osc status|pause|resume|cutover|abort|set`): sends one
 * command to a running migration's socket and prints the answer.  *running
 * is false when no migration answers there; a socket or directory of
 * another user is refused (exit 2, *running true: nothing else is tried). */
OscExit control_client(Osc *o, const char *command, bool *running);
/* The same for one socket path: *answer (malloc'd, the caller frees it;
 * NULL when nothing was read) is what the run said.  *running is false
 * when nothing listens there; a socket of another user is refused (exit
 * 2, said in the log). */
OscExit control_ask(Osc *o, const char *path, const char *command, char **answer, bool *running);

#endif
