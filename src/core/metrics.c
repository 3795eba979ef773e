/*
 * metrics.c — the Prometheus endpoint (see metrics.h).
 *
 * Every series is a gauge or a counter named osc_*, one family at a time
 * with its HELP and TYPE lines.  Label values (a table, a replica, a
 * throttle's reason) are escaped as the text format asks: backslash,
 * double quote and new line.  A value osc does not know (a replica that
 * has shown no heartbeat yet) is NaN, so that the series exists from the
 * first scrape.  `osc proxy --metrics` (proxy/metrics.c) serves its own
 * numbers through the same HTTP server and text format helpers.
 */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "control_int.h"
#include "osc.h"

/* The phases a run goes through: osc_phase has one series each. */
static const char *const phases[] = {
	"preflight", "in-place", "shadow", "capture", "copy", "index", "catch-up", "cutover", "cleanup", "done", "abort",
};

void metrics_label_value(struct evbuffer *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*s == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

void metrics_family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_value(struct evbuffer *b, double v)
{
	if (isnan(v))
		evbuffer_add_printf(b, " NaN\n");
	else
		evbuffer_add_printf(b, " %.15g\n", v);
}

void metrics_sample(struct evbuffer *b, const char *name, const char *type, const char *help, double v)
{
	metrics_family(b, name, type, help);
	evbuffer_add_printf(b, "%s", name);
	metrics_value(b, v);
}

void metrics_labelled(struct evbuffer *b, const char *name, const char *label, const char *lv, double v)
{
	evbuffer_add_printf(b, "%s{%s=\"", name, label);
	metrics_label_value(b, lv);
	evbuffer_add_printf(b, "\"}");
	metrics_value(b, v);
}

/* Everything, with mu held. */
static void render(Osc *o, struct evbuffer *b)
{
	Control *c = &o->ctl;
	const Progress *p = &c->progress;
	RunSummary *s = &o->summary;
	int64_t wall = wall_ms(), now = now_ms();
	bool throttled = c->decision.action != THROTTLE_GO;

	metrics_family(b, "osc_info", "gauge", "The run and its target (always 1).");
	evbuffer_add_printf(b, "osc_info{run_id=\"");
	metrics_label_value(b, s->run_id);
	evbuffer_add_printf(b, "\",engine=\"");
	metrics_label_value(b, s->engine);
	evbuffer_add_printf(b, "\",host=\"");
	metrics_label_value(b, s->host);
	evbuffer_add_printf(b, "\",database=\"");
	metrics_label_value(b, s->database);
	evbuffer_add_printf(b, "\",table=\"");
	metrics_label_value(b, o->opt.table);
	evbuffer_add_printf(b, "\"} 1\n");

	metrics_family(b, "osc_phase", "gauge", "1 for the phase the run is in, 0 for the others.");
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		metrics_labelled(b, "osc_phase", "phase", phases[i], p->phase && strcmp(p->phase, phases[i]) == 0 ? 1 : 0);
	metrics_sample(b, "osc_phase_seconds", "gauge", "Time in the current phase.",
	       p->phase_started_ms ? (double)(now - p->phase_started_ms) / 1000.0 : 0);
	metrics_sample(b, "osc_runtime_seconds", "gauge", "Time since the run started.", (double)(now - o->started_ms) / 1000.0);

	metrics_sample(b, "osc_rows_copied", "gauge", "Rows copied into the new table (resumed runs included).",
	       (double)p->rows_copied);
	metrics_sample(b, "osc_rows_total", "gauge", "Rows to copy (the server's estimate, raised to rows_copied).",
	       (double)p->rows_estimate);
	metrics_sample(b, "osc_rows_per_second", "gauge", "Copy rate over the copy so far.", p->rows_per_sec);
	metrics_sample(b, "osc_eta_seconds", "gauge", "Estimated time left in the copy (NaN: unknown).",
	       p->eta_ms >= 0 ? (double)p->eta_ms / 1000.0 : NAN);
	metrics_sample(b, "osc_chunk_size", "gauge", "Rows in the current chunk.", (double)p->chunk_size);
	metrics_sample(b, "osc_backlog", "gauge", "Captured changes not yet replayed into the new table.", (double)p->log_backlog);
	metrics_sample(b, "osc_changes_replayed_total", "counter", "Captured changes replayed into the new table.",
	       (double)p->log_applied);

	metrics_family(b, "osc_replica_lag_seconds", "gauge",
	       "Lag of each watched replica: the age of the newest heartbeat it shows (NaN: none yet).");
	for (int i = 0; i < c->nreplicas; i++) {
		const ReplicaState *r = &c->replicas[i];
		metrics_labelled(b, "osc_replica_lag_seconds", "replica", r->name,
		         r->beat_ms > 0 ? (double)(wall - r->beat_ms) / 1000.0 : NAN);
	}
	metrics_family(b, "osc_replica_replay_lag_seconds", "gauge",
	       "Replay lag the primary reports for each replica it knows of (PostgreSQL; NaN: unknown).");
	for (int i = 0; i < c->nobserved; i++)
		metrics_labelled(b, "osc_replica_replay_lag_seconds", "replica", c->observed[i].name,
		         c->observed[i].replay_lag_ms >= 0 ? (double)c->observed[i].replay_lag_ms / 1000.0 : NAN);
	metrics_family(b, "osc_load", "gauge", "Each --max-load / --critical-load metric as last read (NaN: unreadable).");
	for (int i = 0; i < c->nload; i++)
		metrics_labelled(b, "osc_load", "metric", c->load_names[i], c->load[i].ok ? c->load[i].value : NAN);

	metrics_sample(b, "osc_throttled", "gauge", "1 while copy and replay wait (throttle or pause).", throttled ? 1 : 0);
	metrics_family(b, "osc_throttle_reason", "gauge", "1 with the reason, while throttled.");
	if (throttled)
		metrics_labelled(b, "osc_throttle_reason", "reason", c->decision.reason, 1);
	metrics_sample(b, "osc_paused", "gauge", "1 while paused by osc pause.", c->operator_paused ? 1 : 0);
	metrics_sample(b, "osc_throttled_seconds_total", "counter", "Time spent throttled or paused.",
	       (double)(c->throttled_total_ms + (c->throttled_since_ms ? now - c->throttled_since_ms : 0)) / 1000.0);
	metrics_sample(b, "osc_postponed", "gauge", "1 while the swap waits for osc cutover (--postpone-cutover).",
	       p->postponed ? 1 : 0);

	int64_t lock_ms, lock_last_ms, mismatches;
	int attempts = summary_cutover_attempts(s, &lock_ms, &lock_last_ms, &mismatches);
	metrics_sample(b, "osc_cutover_attempts_total", "counter", "Swap attempts (a lock not granted in time retries).",
	       (double)attempts);
	metrics_sample(b, "osc_lock_wait_seconds_total", "counter",
	       "Time inside swap attempts: the wait for the table's lock and the swap under it.",
	       (double)lock_ms / 1000.0);
	metrics_sample(b, "osc_lock_wait_last_seconds", "gauge", "The last swap attempt's time.", (double)lock_last_ms / 1000.0);
	metrics_sample(b, "osc_verify_mismatches_total", "counter",
	       "Differences verification found between a copied range and the original.", (double)mismatches);
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
	Osc *o = arg;
	struct evbuffer *b;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "only GET");
		return;
	}
	b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	pthread_mutex_lock(&o->ctl.mu);
	render(o, b);
	pthread_mutex_unlock(&o->ctl.mu);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "osc serves /metrics only");
}

struct evhttp *metrics_http_bind(struct event_base *base, const char *option, const char *addr, OscErr *e)
{
	char host[256];
	char *end;
	/* HOST:PORT, [v6]:PORT */
	const char *colon = strrchr(addr, ':');
	size_t hl = colon ? (size_t)(colon - addr) : 0;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (colon == NULL || hl == 0 || hl >= sizeof(host) || *end != '\0' || end == colon + 1 || port < 1 ||
	    port > 65535) {
		err_set(e, OSC_EXIT_INPUT, "%s: expected HOST:PORT (e.g. 127.0.0.1:9187), got '%s'", option, addr);
		return NULL;
	}
	if (addr[0] == '[' && hl > 2 && addr[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), addr + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hl, addr);
	struct evhttp *http = evhttp_new(base);
	if (http == NULL) {
		err_set(e, OSC_EXIT_FAILED, "%s: cannot start the HTTP server", option);
		return NULL;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	errno = 0;
	if (evhttp_bind_socket(http, host, (ev_uint16_t)port) != 0) {
		err_set(e, OSC_EXIT_INPUT, "%s %s: cannot listen there%s%s; nothing was done", option, addr, errno ? ": " : "",
		        errno ? strerror(errno) : "");
		evhttp_free(http);
		return NULL;
	}
	return http;
}

bool metrics_start(Osc *o, ControlLoop *lp, OscErr *e)
{
	const char *addr = o->opt.metrics_addr;
	if (addr == NULL)
		return true;
	lp->http = metrics_http_bind(lp->base, "--metrics", addr, e);
	if (lp->http == NULL)
		return false;
	evhttp_set_cb(lp->http, "/metrics", on_metrics, o);
	evhttp_set_gencb(lp->http, on_other, NULL);
	log_msg(&o->log, LOG_INFO, "metrics: http://%s/metrics", addr);
	return true;
}

void metrics_stop(ControlLoop *lp)
{
	if (lp && lp->http) {
		evhttp_free(lp->http);
		lp->http = NULL;
	}
}
