/*
 * log.h — what osc tells the operator: messages, phase changes, progress.
 *
 * Two forms.  Text, for a person at a terminal: messages on stderr and one
 * progress line rewritten in place (phase, rows copied of estimated, rows/s,
 * log backlog, ETA).  JSON lines, for cron logs and machines: one object per
 * line for every message, every phase change and every 5 s of progress.
 * --log-format chooses; by default a terminal gets text and anything else
 * gets JSON lines.  --log-file appends the log to a file (JSON lines unless
 * --log-format text) and echoes errors on stderr, so cron mails only those.
 * Every line has the passwords osc was given masked (src/lib/secrets.h).
 */
#ifndef OSC_LOG_H
#define OSC_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "clock.h" /* now_ms, wall_ms: declared here before; includers of log.h still get them */
#include "err.h"
#include "options.h"
#include "secrets.h"

struct Json;

typedef enum LogLevel { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG } LogLevel;

typedef struct Progress {
	const char *phase;
	int64_t rows_copied;
	int64_t rows_estimate;
	int64_t log_backlog;    /* captured changes not yet replayed */
	int64_t log_applied;
	int64_t chunk_size;
	double rows_per_sec;
	int64_t eta_ms;         /* -1: unknown */
	int64_t phase_started_ms;
	int64_t lag_ms;         /* the largest replica lag; -1: unknown or no replica */
	bool throttled;
	char throttle_reason[320];
	bool postponed;         /* the copy is done; the swap waits for osc cutover (--postpone-cutover) */
	bool paused;            /* by the operator (osc pause) */
} Progress;

typedef struct Log {
	pthread_mutex_t mu;  /* the control loop and the monitor log too */
	bool json;
	bool tty;          /* stderr is a terminal: rewrite the progress line */
	int verbosity;
	bool line_open;    /* a progress line is on screen without newline */
	int64_t last_progress_ms;
	int64_t progress_every_ms; /* --progress-interval, or the default for the output */
	const char *table; /* for JSON records */
	/* and the run and its target on every record (src/core/summary.h;
	 * borrowed, NULL until known) */
	const char *run_id, *engine, *host, *database;
	FILE *out;
	bool to_file;      /* --log-file: errors are echoed on stderr too */
	Secrets secrets;   /* masked out of every line (registered before threads start) */
} Log;

/* Opens --log-file when given (exit-2 error when it cannot, or when the
 * path is a link or a file that is not the user's: src/lib/localpath.h).
 * l owns that file and the secrets registered later: log_close releases
 * them.  o's strings (the table) are borrowed and must outlive l. */
bool log_init(Log *l, const Options *o, OscErr *e) MUSTCHECK;
void log_close(Log *l);
/* Registers the passwords of a connection string: no line shows them. */
void log_add_secrets(Log *l, const char *conn);
void log_msg(Log *l, LogLevel lvl, const char *fmt, ...) PRINTFLIKE(3, 4);
void log_phase(Log *l, const char *phase, const char *what);
/* Prints progress when due (--progress-interval; by default every 200ms on
 * a terminal, every 5s otherwise), or always when force. */
void log_progress(Log *l, const Progress *p, bool force);
void log_error(Log *l, const OscErr *e);
/* Ends an open progress line (before anything else is printed). */
void log_break(Log *l);

/* A JSON record of the caller's own (the run's `summary`): with JSON lines,
 * takes the log's lock, opens the object with the fields every record has
 * (ts, event, run_id, the target) and returns true; the caller adds its
 * fields and calls log_record_end, which ends the line and unlocks.  False
 * (nothing written, nothing held) when the log is text. */
bool log_record_begin(Log *l, struct Json *j, const char *event);
void log_record_end(Log *l, struct Json *j);

/* Writes s as a JSON string (quoted, escaped): json_write_string, for a
 * caller that builds the rest of its JSON with src/lib/json.h. */
void log_json_string(FILE *f, const char *s);

#endif
