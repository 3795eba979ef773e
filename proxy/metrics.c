/*
 * metrics.c — `osc proxy --metrics HOST:PORT`: what `osc proxy status` says,
 * for Prometheus, at GET /metrics in its text format (0.0.4), served by
 * libevent's evhttp on the proxy's one loop (src/core/metrics.c binds it
 * and writes the format, as for a run's endpoint).
 *
 * A scrape reads the proxy's counters and walks its sessions on the loop
 * itself: no lock, and it never waits for a database.  The series: the
 * connections (now, busy, held, accepted, refused), the hold (on or not,
 * how long, how many, their total and longest time, the requests that
 * waited), the bytes each way, the TLS sessions by leg, and the errors
 * by kind.  README.md's metrics list names them.
 */
#include "proxy_int.h"

#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "metrics.h"

static const char *const error_kinds[PX_ERR_N] = {
	[PX_ERR_UPSTREAM] = "upstream",
	[PX_ERR_TLS] = "tls",
	[PX_ERR_PROTOCOL] = "protocol",
	[PX_ERR_MAX_CLIENTS] = "max_clients",
};

static void render(Proxy *px, struct evbuffer *b)
{
	int64_t now = px_now_ms();
	uint64_t c2s = px->bytes_c2s, s2c = px->bytes_s2c;
	int busy = 0, held = 0, tls_client = 0, tls_server = 0;
	for (PxSession *s = px->sessions; s; s = s->next) {
		c2s += s->client.bytes;
		s2c += s->server.bytes;
		held += s->held;
		busy += !s->closing && !px->proto->idle(s);
		tls_client += s->client.ssl != NULL;
		tls_server += s->server.ssl != NULL;
	}

	metrics_family(b, "osc_proxy_info", "gauge", "The proxy: its protocol, listen address and upstream (always 1).");
	evbuffer_add_printf(b, "osc_proxy_info{engine=\"");
	metrics_label_value(b, px->proto->name);
	evbuffer_add_printf(b, "\",listen=\"");
	metrics_label_value(b, px->listen_spec);
	evbuffer_add_printf(b, "\",upstream=\"");
	metrics_label_value(b, px->upstream_spec);
	evbuffer_add_printf(b, "\"} 1\n");
	metrics_sample(b, "osc_proxy_uptime_seconds", "gauge", "Time since the proxy started.",
	               (double)(now - px->started_ms) / 1000.0);

	metrics_sample(b, "osc_proxy_connections", "gauge", "Client connections open now.", px->nsessions);
	metrics_sample(b, "osc_proxy_connections_busy", "gauge",
	               "Client connections in a transaction or with a request in flight.", busy);
	metrics_sample(b, "osc_proxy_connections_total", "counter", "Client connections accepted.",
	               (double)px->sessions_total);
	metrics_sample(b, "osc_proxy_connections_refused_total", "counter",
	               "Client connections refused at --max-clients.", (double)px->refused_total);

	metrics_sample(b, "osc_proxy_hold_active", "gauge", "1 while a hold is on (osc is about to swap).",
	               px->holders ? 1 : 0);
	metrics_sample(b, "osc_proxy_hold_seconds", "gauge", "How long the hold now has been on (0: none).",
	               px->holders ? (double)(now - px->hold_since_ms) / 1000.0 : 0);
	metrics_sample(b, "osc_proxy_held_requests", "gauge", "Requests kept waiting by the hold now.", held);
	metrics_sample(b, "osc_proxy_holds_total", "counter", "Holds that ended.", (double)px->holds_total);
	metrics_sample(b, "osc_proxy_hold_seconds_total", "counter", "Time spent in the holds that ended.",
	               (double)px->hold_ms_total / 1000.0);
	metrics_sample(b, "osc_proxy_hold_longest_seconds", "gauge", "The longest hold so far.",
	               (double)px->hold_longest_ms / 1000.0);
	metrics_sample(b, "osc_proxy_held_requests_total", "counter", "Requests that waited in the holds that ended.",
	               (double)px->held_requests_total);

	metrics_family(b, "osc_proxy_bytes_total", "counter", "Bytes moved, by direction.");
	metrics_labelled(b, "osc_proxy_bytes_total", "direction", "client_to_server", (double)c2s);
	metrics_labelled(b, "osc_proxy_bytes_total", "direction", "server_to_client", (double)s2c);
	metrics_family(b, "osc_proxy_tls_sessions", "gauge", "Connections using TLS now, by leg.");
	metrics_labelled(b, "osc_proxy_tls_sessions", "leg", "client", tls_client);
	metrics_labelled(b, "osc_proxy_tls_sessions", "leg", "server", tls_server);
	metrics_family(b, "osc_proxy_tls_handshakes_total", "counter", "TLS handshakes completed, by leg.");
	metrics_labelled(b, "osc_proxy_tls_handshakes_total", "leg", "client", (double)px->tls_client_total);
	metrics_labelled(b, "osc_proxy_tls_handshakes_total", "leg", "server", (double)px->tls_server_total);
	metrics_family(b, "osc_proxy_errors_total", "counter",
	               "Sessions ended by an error, by kind: upstream (the server unreachable or gone), tls, protocol "
	               "(refused or not followed), max_clients.");
	for (int k = 0; k < PX_ERR_N; k++)
		metrics_labelled(b, "osc_proxy_errors_total", "kind", error_kinds[k], (double)px->errors[k]);
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	render(arg, b);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "osc proxy serves /metrics only");
}

bool px_metrics_start(Proxy *px, const char *addr, OscErr *e)
{
	if (addr == NULL)
		return true;
	px->metrics = metrics_http_bind(px->base, "--metrics", addr, e);
	if (px->metrics == NULL)
		return false;
	evhttp_set_cb(px->metrics, "/metrics", on_metrics, px);
	evhttp_set_gencb(px->metrics, on_other, NULL);
	log_msg(&px->log, LOG_INFO, "metrics: http://%s/metrics", addr);
	return true;
}

void px_metrics_stop(Proxy *px)
{
	if (px->metrics) {
		evhttp_free(px->metrics);
		px->metrics = NULL;
	}
}
