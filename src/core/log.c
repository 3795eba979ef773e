/*
 * log.c — text and JSON-lines output (see log.h).
 *
 * JSON records are one object per line with "ts" (UTC, ISO 8601 with
 * milliseconds), "event" and the fields of that event, written by the JSON
 * writer (src/lib/json.h), which escapes every string.
 */
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "json.h"
#include "localpath.h"
#include "runstate.h"

static void lock(Log *l)
{
	pthread_mutex_lock(&l->mu);
}

static void unlock(Log *l)
{
	pthread_mutex_unlock(&l->mu);
}

bool log_init(Log *l, const Options *o, OscErr *e)
{
	pthread_mutexattr_t attr;

	memset(l, 0, sizeof(*l));
	/* recursive: a message may end an open progress line first */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&l->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	l->out = stderr;
	l->verbosity = o->verbosity;
	l->table = o->table;
	l->progress_every_ms = o->progress_interval_ms;
	if (o->log_file) {
		int fd = localpath_open_append("--log-file", o->log_file, e);
		if (fd < 0)
			return false;
		l->out = fdopen(fd, "a");
		if (l->out == NULL) {
			close(fd);
			l->out = stderr;
			err_set(e, OSC_EXIT_INPUT, "--log-file %s: %s", o->log_file, strerror(errno));
			return false;
		}
		l->to_file = true;
		l->json = o->log_format != LOG_TEXT;
		return true;
	}
	l->json = o->log_format == LOG_JSON || (o->log_format == LOG_AUTO && !isatty(fileno(stderr)));
	l->tty = !l->json && isatty(fileno(stderr));
	return true;
}

void log_close(Log *l)
{
	log_break(l);
	lock(l);
	if (l->to_file && l->out)
		fclose(l->out);
	l->out = stderr;
	l->to_file = false;
	secrets_free(&l->secrets);
	unlock(l);
}

void log_add_secrets(Log *l, const char *conn)
{
	secrets_add_conn(&l->secrets, conn);
}

void log_json_string(FILE *f, const char *s)
{
	json_write_string(f, s);
}

/* Opens one JSON record: {"ts":...,"event":...,"table":... (the caller adds
 * its fields, then record_end). */
static void record_begin(Log *l, Json *j, const char *event)
{
	struct timeval tv;
	struct tm tm;
	char ts[32], stamp[64];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp, sizeof(stamp), "%s.%03ldZ", ts, (long)(tv.tv_usec / 1000));
	json_start(j, l->out);
	json_object(j);
	json_kv_string(j, "ts", stamp);
	json_kv_string(j, "event", event);
	if (l->run_id)
		json_kv_string(j, "run_id", l->run_id);
	if (l->engine && l->engine[0])
		json_kv_string(j, "engine", l->engine);
	if (l->host)
		json_kv_string(j, "host", l->host);
	if (l->database)
		json_kv_string(j, "database", l->database);
	if (l->table)
		json_kv_string(j, "table", l->table);
}

static void record_end(Log *l, Json *j)
{
	json_object_end(j);
	fputs("\n", l->out);
	fflush(l->out);
}

bool log_record_begin(Log *l, Json *j, const char *event)
{
	if (!l->json)
		return false;
	lock(l);
	record_begin(l, j, event);
	return true;
}

void log_record_end(Log *l, Json *j)
{
	record_end(l, j);
	unlock(l);
}

void log_break(Log *l)
{
	lock(l);
	if (l->line_open) {
		fputs("\n", l->out);
		l->line_open = false;
	}
	unlock(l);
}

static const char *level_name(LogLevel lvl)
{
	switch (lvl) {
	case LOG_ERROR: return "error";
	case LOG_WARN: return "warning";
	case LOG_INFO: return "info";
	case LOG_DEBUG: return "debug";
	}
	return "info";
}

static void vlog(Log *l, LogLevel lvl, const char *detail, const char *fmt, va_list ap)
{
	char msg[4096];

	if ((lvl == LOG_INFO && l->verbosity < 0) || (lvl == LOG_DEBUG && l->verbosity < 1))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	secrets_mask(&l->secrets, msg);
	char masked_detail[4096];
	if (detail && *detail) {
		snprintf(masked_detail, sizeof(masked_detail), "%s", detail);
		secrets_mask(&l->secrets, masked_detail);
		detail = masked_detail;
	}
	lock(l);
	if (l->to_file && lvl == LOG_ERROR) {
		fprintf(stderr, "osc: error: %s\n", msg);
		if (detail && *detail)
			fprintf(stderr, "     %s\n", detail);
	}
	if (l->json) {
		Json j;
		record_begin(l, &j, "message");
		json_kv_string(&j, "level", level_name(lvl));
		json_kv_string(&j, "msg", msg);
		if (detail && *detail)
			json_kv_string(&j, "detail", detail);
		record_end(l, &j);
		unlock(l);
		return;
	}
	log_break(l);
	if (lvl == LOG_ERROR || lvl == LOG_WARN)
		fprintf(l->out, "osc: %s: %s\n", level_name(lvl), msg);
	else
		fprintf(l->out, "osc: %s\n", msg);
	if (detail && *detail)
		fprintf(l->out, "     %s\n", detail);
	fflush(l->out);
	unlock(l);
}

void log_msg(Log *l, LogLevel lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(l, lvl, NULL, fmt, ap);
	va_end(ap);
}

static void log_msg_detail(Log *l, LogLevel lvl, const char *detail, const char *fmt, ...) PRINTFLIKE(4, 5);
static void log_msg_detail(Log *l, LogLevel lvl, const char *detail, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(l, lvl, detail, fmt, ap);
	va_end(ap);
}

void log_error(Log *l, const OscErr *e)
{
	if (e->sqlstate[0])
		log_msg_detail(l, LOG_ERROR, e->detail, "%s (SQLSTATE %s)", e->msg, e->sqlstate);
	else
		log_msg_detail(l, LOG_ERROR, e->detail, "%s", e->msg);
}

void log_phase(Log *l, const char *phase, const char *what)
{
	char masked[2048];
	snprintf(masked, sizeof(masked), "%s", what ? what : "");
	secrets_mask(&l->secrets, masked);
	lock(l);
	if (l->json) {
		Json j;
		record_begin(l, &j, "phase");
		json_kv_string(&j, "phase", phase);
		json_kv_string(&j, "msg", masked);
		record_end(l, &j);
	} else if (l->verbosity >= 0) {
		log_break(l);
		fprintf(l->out, "osc: [%s] %s\n", phase, masked);
		fflush(l->out);
	}
	unlock(l);
}

/* The terminal's width: the one the terminal says, else $COLUMNS (a pty
 * that was never sized, as under script(1)), else 80. */
static int term_width(Log *l)
{
	struct winsize ws;
	if (ioctl(fileno(l->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *c = getenv("COLUMNS");
	int n = c ? atoi(c) : 0;
	return n > 0 ? n : 80;
}

/* Cuts s to at most cols columns (a UTF-8 sequence is one column; control
 * characters were masked before), never inside a character. */
static void fit_columns(char *s, int cols)
{
	int n = 0;
	for (char *q = s; *q; q++) {
		if (((unsigned char)*q & 0xC0) == 0x80)
			continue; /* a continuation byte: same column */
		if (n == cols) {
			*q = '\0';
			return;
		}
		n++;
	}
}

/* The text progress line.  Most wanted first, so that a narrow terminal
 * cuts the least: percentage and ETA, the state (copying, throttled,
 * paused, waiting for osc cutover, swapping), rows, rate, backlog, lag,
 * chunk, time in the phase, and last the reason of a throttle.  While the
 * run is held, rate and ETA say paused: they would only decay.  On a
 * terminal the line is rewritten in place and cut to its width minus one
 * (writing the last column wraps on some terminals). */
static void progress_text(Log *l, const Progress *p, const char *eta, const char *lag, const char *inphase,
                          const char *reason)
{
	char line[1200], state[64], rate[48];
	bool held = run_state_held(p);
	double pct = p->rows_estimate > 0 ? 100.0 * (double)p->rows_copied / (double)p->rows_estimate : 0;

	if (pct > 100)
		pct = 100;
	run_state_text(p, true, state, sizeof(state));
	if (held)
		snprintf(rate, sizeof(rate), "rows/s paused");
	else
		snprintf(rate, sizeof(rate), "%.0f rows/s", p->rows_per_sec);
	snprintf(line, sizeof(line), "osc: %.1f%% ETA %s | %s | %lld/%lld rows | %s | backlog %lld | lag %s | chunk %lld | %s%s%s",
	         pct, held ? "paused" : eta, state, (long long)p->rows_copied, (long long)p->rows_estimate, rate,
	         (long long)p->log_backlog, lag, (long long)p->chunk_size, inphase, p->throttled ? " | " : "",
	         p->throttled ? reason : "");
	for (char *q = line; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?'; /* a reason quoting a name: nothing that moves the cursor */
	if (l->tty) {
		int w = term_width(l);
		fit_columns(line, w > 1 ? w - 1 : 1);
		fputs("\r\033[K", l->out);
		fputs(line, l->out);
		l->line_open = true;
	} else {
		fputs(line, l->out);
		fputs("\n", l->out);
	}
	fflush(l->out);
}

void log_progress(Log *l, const Progress *p, bool force)
{
	int64_t now = now_ms();
	int64_t every = l->progress_every_ms > 0 ? l->progress_every_ms : l->tty ? 200 : 5000;
	char eta[32] = "?", inphase[32], lag[32] = "-";
	char reason[sizeof(p->throttle_reason)];

	snprintf(reason, sizeof(reason), "%s", p->throttle_reason);
	secrets_mask(&l->secrets, reason);
	lock(l);
	if (!force && now - l->last_progress_ms < every)
		goto out;
	l->last_progress_ms = now;
	if (p->eta_ms >= 0)
		duration_format(eta, sizeof(eta), p->eta_ms);
	if (p->lag_ms >= 0)
		duration_format(lag, sizeof(lag), p->lag_ms);
	duration_format(inphase, sizeof(inphase), now - p->phase_started_ms);
	if (l->json) {
		Json j;
		record_begin(l, &j, "progress");
		json_kv_string(&j, "phase", p->phase);
		json_kv_int(&j, "rows_copied", p->rows_copied);
		json_kv_int(&j, "rows_estimate", p->rows_estimate);
		json_kv_double(&j, "rows_per_sec", p->rows_per_sec, 0);
		json_kv_int(&j, "log_backlog", p->log_backlog);
		json_kv_int(&j, "log_applied", p->log_applied);
		json_kv_int(&j, "chunk_size", p->chunk_size);
		json_kv_int(&j, "eta_ms", p->eta_ms);
		json_kv_int(&j, "phase_ms", now - p->phase_started_ms);
		json_kv_int(&j, "lag_ms", p->lag_ms);
		json_kv_bool(&j, "throttled", p->throttled);
		char state[64];
		run_state_text(p, true, state, sizeof(state));
		json_kv_string(&j, "state", state);
		if (p->throttled)
			json_kv_string(&j, "throttle_reason", reason);
		record_end(l, &j);
		goto out;
	}
	if (l->verbosity < 0)
		goto out;
	progress_text(l, p, eta, lag, inphase, reason);
out:
	unlock(l);
}
