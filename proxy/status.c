/*
 * status.c — what `osc proxy status` prints: the proxy, its sessions (how
 * many, busy or idle, held), the hold now, the bytes moved, and the last
 * holds with how long each lasted and how long it took to drain.  Text for
 * a person, one JSON object for a machine.
 */
#include "proxy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "json.h"
#include "xalloc.h"

#define STATUS_SESSIONS_MAX 50

static void totals(Proxy *px, uint64_t *c2s, uint64_t *s2c, int *busy, int *held)
{
	*c2s = px->bytes_c2s;
	*s2c = px->bytes_s2c;
	*busy = *held = 0;
	for (PxSession *s = px->sessions; s; s = s->next) {
		*c2s += s->client.bytes;
		*s2c += s->server.bytes;
		*held += s->held;
		*busy += !s->closing && !px->proto->idle(s);
	}
}

static void iso(int64_t wall, char *out, size_t outsz)
{
	time_t t = (time_t)(wall / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, outsz - n, ".%03dZ", (int)(wall % 1000));
}

static void session_line(Proxy *px, PxSession *s, struct evbuffer *out, int64_t now)
{
	char age[32], busy[48];
	duration_format(age, sizeof(age), now - s->since_ms);
	busy[0] = '\0';
	if (s->busy_since_ms && !px->proto->idle(s)) {
		char d[32];
		duration_format(d, sizeof(d), now - s->busy_since_ms);
		snprintf(busy, sizeof(busy), " for %s", d);
	}
	evbuffer_add_printf(out, "#%llu %s server %u: %s%s%s, %llu/%llu bytes, connected %s", (unsigned long long)s->id,
	                    s->peer, s->server_id, px->proto->state(s), busy, s->held ? ", held" : "",
	                    (unsigned long long)s->client.bytes, (unsigned long long)s->server.bytes, age);
}

void px_status_busy(Proxy *px, struct evbuffer *out, int max)
{
	int n = 0, more = 0;
	int64_t now = px_now_ms();
	for (PxSession *s = px->sessions; s; s = s->next) {
		if (s->closing || px->proto->idle(s))
			continue;
		if (n++ >= max) {
			more++;
			continue;
		}
		if (n > 1)
			evbuffer_add(out, "; ", 2);
		session_line(px, s, out, now);
	}
	if (more)
		evbuffer_add_printf(out, "; and %d more", more);
}

void px_status_text(Proxy *px, struct evbuffer *out)
{
	uint64_t c2s, s2c;
	int busy, held;
	int64_t now = px_now_ms();
	char d[32], d2[32];
	totals(px, &c2s, &s2c, &busy, &held);
	duration_format(d, sizeof(d), now - px->started_ms);
	evbuffer_add_printf(out, "proxy:     %s, %s -> %s (server TLS %s, client TLS %s)\n", px->proto->name,
	                    px->listen_spec, px->upstream_spec, px_tls_mode_name(px->up.tls),
	                    px->tls_server ? "offered" : "not offered");
	evbuffer_add_printf(out, "uptime:    %s\n", d);
	evbuffer_add_printf(out, "sessions:  %d (busy %d, idle %d), held %d; %llu since start, %llu refused\n",
	                    px->nsessions, busy, px->nsessions - busy, held, (unsigned long long)px->sessions_total,
	                    (unsigned long long)px->refused_total);
	if (px->holders) {
		int nh = 0;
		for (PxHolder *h = px->holders; h; h = h->next)
			nh++;
		duration_format(d, sizeof(d), now - px->hold_since_ms);
		if (px->hold_drained_ms >= 0) {
			duration_format(d2, sizeof(d2), px->hold_drained_ms);
			evbuffer_add_printf(out, "hold:      on for %s (%d holder%s), drained in %s, %d request(s) waiting\n", d,
			                    nh, nh == 1 ? "" : "s", d2, held);
		} else {
			evbuffer_add_printf(out, "hold:      on for %s (%d holder%s), not drained: %d busy session(s)\n", d, nh,
			                    nh == 1 ? "" : "s", busy);
		}
	} else {
		evbuffer_add_printf(out, "hold:      none\n");
	}
	evbuffer_add_printf(out, "bytes:     client->server %llu, server->client %llu\n", (unsigned long long)c2s,
	                    (unsigned long long)s2c);
	duration_format(d, sizeof(d), px->hold_longest_ms);
	evbuffer_add_printf(out, "holds:     %llu, longest %s\n", (unsigned long long)px->holds_total, d);
	for (int i = 0; i < px->nhistory; i++) {
		const PxHoldRecord *r =
		    &px->history[(px->history_next - (uint64_t)px->nhistory + (uint64_t)i) % PX_HOLD_HISTORY];
		char when[40];
		iso(r->wall_ms, when, sizeof(when));
		duration_format(d, sizeof(d), r->held_ms);
		if (r->drain_ms >= 0)
			duration_format(d2, sizeof(d2), r->drain_ms);
		evbuffer_add_printf(out, "  %s held %s (%lldms), drained %s%s, %d sessions, %d request(s) waited, ended by %s\n",
		                    when, d, (long long)r->held_ms, r->drain_ms >= 0 ? "in " : "never",
		                    r->drain_ms >= 0 ? d2 : "", r->sessions, r->requests, r->ended);
	}
	int n = 0;
	for (PxSession *s = px->sessions; s; s = s->next) {
		if (n++ == STATUS_SESSIONS_MAX) {
			evbuffer_add_printf(out, "session:   ... and %d more\n", px->nsessions - STATUS_SESSIONS_MAX);
			break;
		}
		evbuffer_add_printf(out, "session:   ");
		session_line(px, s, out, now);
		evbuffer_add(out, "\n", 1);
	}
}

static void hold_json(Json *j, const PxHoldRecord *r)
{
	char when[40];
	iso(r->wall_ms, when, sizeof(when));
	json_object(j);
	json_kv_string(j, "at", when);
	json_kv_int(j, "held_ms", r->held_ms);
	json_kv_int(j, "drain_ms", r->drain_ms);
	json_kv_int(j, "sessions", r->sessions);
	json_kv_int(j, "requests", r->requests);
	json_kv_string(j, "ended", r->ended);
	json_object_end(j);
}

static void session_json(Proxy *px, Json *j, PxSession *s, int64_t now)
{
	json_object(j);
	json_kv_uint(j, "id", s->id);
	json_kv_string(j, "peer", s->peer);
	json_kv_uint(j, "server_id", s->server_id);
	json_kv_string(j, "state", px->proto->state(s));
	json_kv_bool(j, "idle", px->proto->idle(s));
	json_kv_bool(j, "held", s->held);
	json_kv_uint(j, "bytes_c2s", s->client.bytes);
	json_kv_uint(j, "bytes_s2c", s->server.bytes);
	json_kv_int(j, "age_ms", now - s->since_ms);
	json_object_end(j);
}

/* Written into a memory stream, then handed to the socket's buffer. */
static void status_json(Proxy *px, FILE *f)
{
	uint64_t c2s, s2c;
	int busy, held;
	int64_t now = px_now_ms();
	Json j;

	totals(px, &c2s, &s2c, &busy, &held);
	json_start(&j, f);
	json_object(&j);
	json_kv_string(&j, "engine", px->proto->name);
	json_kv_string(&j, "listen", px->listen_spec);
	json_kv_string(&j, "upstream", px->upstream_spec);
	json_kv_string(&j, "server_tls", px_tls_mode_name(px->up.tls));
	json_kv_bool(&j, "client_tls", px->tls_server != NULL);
	json_kv_int(&j, "uptime_ms", now - px->started_ms);
	json_kv_int(&j, "sessions", px->nsessions);
	json_kv_int(&j, "busy", busy);
	json_kv_int(&j, "held", held);
	json_kv_uint(&j, "sessions_total", px->sessions_total);
	json_kv_uint(&j, "refused_total", px->refused_total);
	json_kv_uint(&j, "bytes_c2s", c2s);
	json_kv_uint(&j, "bytes_s2c", s2c);
	json_key(&j, "hold");
	if (px->holders) {
		json_object(&j);
		json_kv_int(&j, "on_ms", now - px->hold_since_ms);
		json_kv_bool(&j, "drained", px->hold_drained_ms >= 0);
		json_kv_int(&j, "drain_ms", px->hold_drained_ms);
		json_object_end(&j);
	} else {
		json_null(&j);
	}
	json_kv_uint(&j, "holds_total", px->holds_total);
	json_kv_int(&j, "hold_longest_ms", px->hold_longest_ms);
	json_key(&j, "holds");
	json_array(&j);
	for (int i = 0; i < px->nhistory; i++)
		hold_json(&j, &px->history[(px->history_next - (uint64_t)px->nhistory + (uint64_t)i) % PX_HOLD_HISTORY]);
	json_array_end(&j);
	json_key(&j, "session_list");
	json_array(&j);
	for (PxSession *s = px->sessions; s; s = s->next)
		session_json(px, &j, s, now);
	json_array_end(&j);
	json_object_end(&j);
	fputc('\n', f);
}

void px_status_json(Proxy *px, struct evbuffer *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = xopen_memstream(&buf, &len);
	status_json(px, f);
	fclose(f);
	evbuffer_add(out, buf, len);
	free(buf);
}
