/*
 * pg_proto.c — the PostgreSQL frontend/backend protocol (3.x) as the proxy
 * needs it: framing, the startup negotiation, and the few places where it
 * must act rather than forward.
 *
 * Startup, from the client: SSLRequest is answered 'S' (then the TLS
 * handshake, with --tls-cert) or 'N'; GSSENCRequest always 'N' (the proxy
 * does not speak GSSAPI encryption; libpq then goes on without it);
 * CancelRequest comes on a fresh connection and goes to a fresh upstream
 * connection as it is (its key is the server's own: nothing is rewritten);
 * a StartupMessage goes upstream once the server leg is ready.  Bytes the
 * client sent after SSLRequest and before the handshake are refused: read
 * after the handshake they would pass for encrypted ones (CVE-2021-23214);
 * the same holds for the server's answer to the proxy's own SSLRequest
 * (CVE-2021-23222).
 *
 * After startup every message is type + length; its head is examined
 * (pg_track.c follows the transaction state) and the rest moved unseen.
 * The one rewrite: when TLS is terminated here, AuthenticationSASL loses
 * SCRAM-SHA-256-PLUS, whose channel binding names the server's certificate,
 * which the client never saw.
 */
#include "proxy_int.h"

#include <stdio.h>
#include <string.h>

enum { PGP_STARTUP, PGP_CLIENT_TLS, PGP_FORWARD, PGP_CANCEL };

#define PG_SSL_REQUEST 80877103u
#define PG_GSSENC_REQUEST 80877104u
#define PG_CANCEL_REQUEST 80877102u
#define PG_MAX_STARTUP 10000 /* the server's own limit */
#define PG_SASL 10u
#define PG_SCRAM_PLUS "SCRAM-SHA-256-PLUS"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void pg_error(PxSession *s, const char *sqlstate, const char *msg)
{
	struct evbuffer *b = evbuffer_new();
	unsigned char len[4];
	if (b == NULL)
		return;
	evbuffer_add(b, "SFATAL", 7);
	evbuffer_add(b, "VFATAL", 7);
	evbuffer_add(b, "C", 1);
	evbuffer_add(b, sqlstate, strlen(sqlstate) + 1);
	evbuffer_add(b, "M", 1);
	evbuffer_add(b, msg, strlen(msg) + 1);
	evbuffer_add(b, "", 1);
	put32(len, (uint32_t)evbuffer_get_length(b) + 4);
	px_session_write_client(s, "E", 1);
	px_session_write_client(s, len, 4);
	if (s->client.bev)
		bufferevent_write_buffer(s->client.bev, b);
	evbuffer_free(b);
}

static void pg_refuse(PxSession *s, const char *msg)
{
	pg_error(s, strstr(msg, "too many") ? "53300" : "08006", msg);
}

static PxStep startup(PxSession *s, struct evbuffer *in, size_t *n)
{
	size_t avail = evbuffer_get_length(in);
	unsigned char h[8];
	if (avail < 8)
		return PX_MORE;
	evbuffer_copyout(in, h, 8);
	uint32_t len = be32(h), code = be32(h + 4);
	if (len < 8 || len > PG_MAX_STARTUP) {
		px_session_refuse(s, "osc proxy: invalid startup packet length");
		return PX_STOP;
	}
	if (avail < len)
		return PX_MORE;
	switch (code) {
	case PG_SSL_REQUEST:
		if (len != 8 || s->client.ssl) {
			px_session_refuse(s, "osc proxy: unexpected SSLRequest");
			return PX_STOP;
		}
		if (s->px->tls_server == NULL) {
			evbuffer_drain(in, 8);
			px_session_write_client(s, "N", 1);
			return PX_DONE;
		}
		if (avail > 8) {
			/* no error message: the client expects 'S' or 'N', and would
			 * read a plaintext one as part of the handshake */
			log_msg(&s->px->log, LOG_WARN,
			        "session %llu (%s): data after SSLRequest, before the TLS handshake: refused (CVE-2021-23214)",
			        (unsigned long long)s->id, s->peer);
			px_session_close(s, "plaintext before the TLS handshake");
			return PX_STOP;
		}
		evbuffer_drain(in, 8);
		px_session_write_client(s, "S", 1);
		s->ph = PGP_CLIENT_TLS;
		px_session_start_tls(s, true);
		return PX_STOP;
	case PG_GSSENC_REQUEST:
		if (len != 8 || s->client.ssl) {
			px_session_refuse(s, "osc proxy: unexpected GSSENCRequest");
			return PX_STOP;
		}
		evbuffer_drain(in, 8);
		px_session_write_client(s, "N", 1);
		return PX_DONE;
	case PG_CANCEL_REQUEST:
		if (len != 16) {
			px_session_refuse(s, "osc proxy: invalid CancelRequest");
			return PX_STOP;
		}
		if (!s->up_ready)
			return PX_STOP; /* goes when the server leg is up */
		s->ph = PGP_CANCEL;
		*n = 16;
		return PX_PASS;
	default:
		if ((code >> 16) != 3) {
			px_session_refuse(s, "osc proxy: unsupported frontend protocol (3.x only)");
			return PX_STOP;
		}
		if (!s->up_ready)
			return PX_STOP;
		s->ph = PGP_FORWARD;
		*n = len;
		return PX_PASS;
	}
}

static PxStep pg_client_step(PxSession *s, size_t *n)
{
	struct evbuffer *in = bufferevent_get_input(s->client.bev);
	unsigned char h[5];

	switch (s->ph) {
	case PGP_STARTUP:
		return startup(s, in, n);
	case PGP_CLIENT_TLS:
		return PX_STOP;
	case PGP_CANCEL:
		*n = evbuffer_get_length(in); /* nothing should follow; the server closes */
		return PX_PASS;
	default:
		break;
	}
	if (evbuffer_get_length(in) < 5)
		return PX_MORE;
	evbuffer_copyout(in, h, 5);
	char type = (char)h[0];
	uint32_t len = be32(h + 1);
	if (len < 4 || len > 0x7FFFFFFFu) {
		px_session_refuse(s, "osc proxy: invalid message length");
		return PX_STOP;
	}
	bool hold = px_hold_active(s->px);
	if (!s->pg.ready && type != 'p') {
		/* a request pipelined behind the startup: it runs once the
		 * session is authenticated, so a hold keeps it like any other */
		if (hold)
			return PX_WAIT;
	} else if (pgtrack_starts_request(&s->pg, type)) {
		if (hold) {
			if (pgtrack_idle(&s->pg))
				return PX_HOLD;
			if (s->pg.pending > 0)
				return PX_WAIT; /* pipelined: decide once the earlier replies say where it stands */
			/* inside a transaction: it runs on to its end */
		}
		if (pgtrack_idle(&s->pg))
			s->busy_since_ms = px_now_ms();
	}
	pgtrack_client(&s->pg, type);
	*n = 1 + (size_t)len;
	return PX_PASS;
}

/* AuthenticationSASL without SCRAM-SHA-256-PLUS (the client leg is TLS that
 * ends here: a binding to the proxy's certificate cannot match the one the
 * server computes over its own). */
static PxStep sasl_list(PxSession *s, struct evbuffer *in, uint32_t len, size_t *n)
{
	if (len > 4096) {
		*n = 1 + (size_t)len;
		return PX_PASS;
	}
	if (evbuffer_get_length(in) < 1 + (size_t)len)
		return PX_MORE;
	unsigned char *m = evbuffer_pullup(in, 1 + (ssize_t)len);
	unsigned char out[4096 + 1];
	size_t o = 9;
	const unsigned char *p = m + 9, *end = m + 1 + len;
	bool dropped = false;
	while (p < end && *p) {
		const unsigned char *z = memchr(p, 0, (size_t)(end - p));
		if (z == NULL)
			break;
		size_t nl = (size_t)(z - p) + 1;
		if (strcmp((const char *)p, PG_SCRAM_PLUS) == 0) {
			dropped = true;
		} else if (o + nl < sizeof(out)) {
			memcpy(out + o, p, nl);
			o += nl;
		}
		p = z + 1;
	}
	if (!dropped || o == 9) {
		*n = 1 + (size_t)len;
		return PX_PASS;
	}
	out[o++] = 0;
	out[0] = 'R';
	put32(out + 1, (uint32_t)(o - 1));
	put32(out + 5, PG_SASL);
	px_session_write_client(s, out, o);
	evbuffer_drain(in, 1 + (size_t)len);
	s->server.bytes += 1 + (uint64_t)len;
	log_msg(&s->px->log, LOG_DEBUG, "session %llu: SCRAM-SHA-256-PLUS not offered (TLS ends at the proxy)",
	        (unsigned long long)s->id);
	return PX_DONE;
}

/* The server's one-byte answer to the proxy's own SSLRequest. */
static PxStep ssl_answer(PxSession *s, struct evbuffer *in)
{
	unsigned char c;
	evbuffer_copyout(in, &c, 1);
	if (c == 'S') {
		if (evbuffer_get_length(in) > 1) {
			px_session_refuse(s, "osc proxy: the server sent data before the TLS handshake (refused)");
			return PX_STOP;
		}
		evbuffer_drain(in, 1);
		px_session_start_tls(s, false);
		return PX_STOP;
	}
	if (c == 'N' && s->px->up.tls == PX_TLS_PREFER) {
		evbuffer_drain(in, 1);
		s->up_ready = true;
		/* the client's startup waits: the pump looks at it next */
		s->waiting = true;
		s->recheck = true;
		return PX_DONE;
	}
	px_session_refuse(s, c == 'N' ? "osc proxy: the server does not accept TLS, which the upstream URL requires"
	                              : "osc proxy: the server gave an unexpected answer to SSLRequest");
	return PX_STOP;
}

static PxStep pg_server_step(PxSession *s, size_t *n)
{
	struct evbuffer *in = bufferevent_get_input(s->server.bev);
	size_t avail = evbuffer_get_length(in);
	unsigned char h[5 + 16];

	if (!s->up_ready) {
		if (s->server.ssl)
			return PX_STOP; /* handshaking */
		return ssl_answer(s, in);
	}
	if (avail < 5)
		return PX_MORE;
	evbuffer_copyout(in, h, 5);
	char type = (char)h[0];
	uint32_t len = be32(h + 1);
	if (len < 4 || len > 0x7FFFFFFFu) {
		px_session_refuse(s, "osc proxy: the server sent an invalid message length");
		return PX_STOP;
	}
	size_t body = len - 4, want = body < 16 ? body : 16;
	if (avail < 5 + want)
		return PX_MORE;
	evbuffer_copyout(in, h, 5 + want);
	if (type == 'R' && want >= 4 && be32(h + 5) == PG_SASL && s->client.ssl)
		return sasl_list(s, in, len, n);
	pgtrack_server(&s->pg, type, h + 5, want);
	switch (type) {
	case 'K':
		s->server_id = s->pg.pid;
		break;
	case 'Z':
	case 'G':
	case 'W':
	case 'E':
		s->recheck = true;
		if (pgtrack_idle(&s->pg))
			s->busy_since_ms = 0;
		break;
	default:
		break;
	}
	*n = 1 + (size_t)len;
	return PX_PASS;
}

static void pg_upstream_connected(PxSession *s)
{
	if (s->px->up.tls == PX_TLS_OFF) {
		px_session_upstream_ready(s);
		return;
	}
	unsigned char req[8];
	put32(req, 8);
	put32(req + 4, PG_SSL_REQUEST);
	px_session_write_server(s, req, sizeof(req));
}

static void pg_upstream_tls_done(PxSession *s)
{
	px_session_upstream_ready(s);
}

static void pg_client_tls_done(PxSession *s)
{
	s->ph = PGP_STARTUP;
	px_session_pump_client(s);
}

static bool pg_idle(const PxSession *s)
{
	if (s->ph != PGP_FORWARD)
		return true; /* not started, or a cancel: holds nothing */
	if (!s->pg.ready)
		return s->pg.pending == 0; /* authenticating: its first request will be held */
	return pgtrack_idle(&s->pg);
}

static const char *pg_state(const PxSession *s)
{
	switch (s->ph) {
	case PGP_STARTUP: return s->up_ready ? "connecting" : "connecting (server leg not ready)";
	case PGP_CLIENT_TLS: return "TLS handshake";
	case PGP_CANCEL: return "cancel request";
	default: return pgtrack_state(&s->pg);
	}
}

const PxProto px_pg_proto = {
	.name = "postgresql",
	.upstream_connected = pg_upstream_connected,
	.client_tls_done = pg_client_tls_done,
	.upstream_tls_done = pg_upstream_tls_done,
	.client_step = pg_client_step,
	.server_step = pg_server_step,
	.idle = pg_idle,
	.state = pg_state,
	.refuse = pg_refuse,
};
