/*
 * my_proto.c — the MySQL/MariaDB client/server protocol as the proxy needs
 * it: packet framing (3-byte length, sequence number), the handshake, and
 * the command phase (my_track.c follows commands, results and status flags).
 *
 * The server speaks first.  Its greeting (connection id, capabilities) is
 * forwarded with two capability bits changed, both because the proxy must
 * be able to read the stream: CLIENT_SSL says what the proxy offers (TLS
 * with --tls-cert, terminated here), not what the server offers; and the
 * compression capabilities are cleared (a compressed stream cannot be
 * followed).  The client answers with a HandshakeResponse, or first with an
 * SSLRequest (the same packet cut after 32 bytes, CLIENT_SSL set) and its
 * TLS handshake at once.  The proxy then speaks to the server as the
 * upstream URL says: an SSLRequest of its own and TLS, or plaintext.  When
 * the two legs differ the handshake packets' sequence numbers differ by one
 * between them (the SSLRequest takes a number), so until the server's OK
 * ends authentication each packet's number is shifted to what its receiver
 * expects; and the HandshakeResponse carries CLIENT_SSL as the server leg
 * has it.  Authentication itself (mysql_native_password, ed25519,
 * caching_sha2_password) passes through: the scramble is the server's own.
 * From the command phase on nothing is changed.
 */
#include "proxy_int.h"

#include <stdio.h>
#include <string.h>

enum { MYP_GREETING, MYP_CLIENT_HELLO, MYP_CLIENT_TLS, MYP_CLIENT_HELLO_TLS, MYP_UP_TLS, MYP_AUTH, MYP_COMMAND };

#define MY_MAXPKT 0xFFFFFFu

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void my_refuse(PxSession *s, const char *msg)
{
	unsigned char pkt[4 + 9 + 512];
	size_t ml = strlen(msg);
	if (ml > 512)
		ml = 512;
	unsigned code = strstr(msg, "too many") ? 1040 : 1105;
	size_t len = 9 + ml;
	pkt[0] = (unsigned char)len;
	pkt[1] = (unsigned char)(len >> 8);
	pkt[2] = 0;
	pkt[3] = s->my_next_seq;
	pkt[4] = 0xFF;
	pkt[5] = (unsigned char)code;
	pkt[6] = (unsigned char)(code >> 8);
	memcpy(pkt + 7, code == 1040 ? "#08004" : "#HY000", 6);
	memcpy(pkt + 13, msg, ml);
	px_session_write_client(s, pkt, 4 + len);
}

/* The header of the packet at the head of in. */
static bool header(struct evbuffer *in, size_t *len, unsigned char *seq)
{
	unsigned char h[4];
	if (evbuffer_get_length(in) < 4)
		return false;
	evbuffer_copyout(in, h, 4);
	*len = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
	*seq = h[3];
	return true;
}

/* Rewrites the sequence number of the packet at the head of in. */
static void set_seq(struct evbuffer *in, int seq)
{
	unsigned char *h = evbuffer_pullup(in, 4);
	if (h)
		h[3] = (unsigned char)seq;
}

static PxStep greeting(PxSession *s, struct evbuffer *in, size_t len, size_t *n)
{
	if (len > PX_MAX_WHOLE) {
		px_session_refuse(s, "osc proxy: the server's greeting is too long");
		return PX_STOP;
	}
	if (evbuffer_get_length(in) < 4 + len)
		return PX_MORE;
	unsigned char *m = evbuffer_pullup(in, (ssize_t)(4 + len));
	unsigned char *p = m + 4;
	if (len >= 1 && p[0] == 0xFF) { /* an ERR instead (too many connections): the client reads it */
		*n = 4 + len;
		return PX_PASS;
	}
	const unsigned char *z = len > 1 ? memchr(p + 1, 0, len - 1) : NULL;
	size_t i = z ? (size_t)(z - p) + 1 : len;
	if (len < 1 || p[0] != 10 || z == NULL || i + 4 + 8 + 1 + 2 > len) {
		px_session_refuse(s, "osc proxy: the server's greeting is not protocol 10");
		return PX_STOP;
	}
	s->server_id = le32(p + i);
	i += 4 + 8 + 1;
	size_t caps_lo = i, caps_hi = 0;
	uint32_t caps = (uint32_t)(p[i] | p[i + 1] << 8), ext = 0;
	i += 2;
	if (i + 6 <= len) {
		caps_hi = i + 3; /* after the character set and the status flags */
		caps |= (uint32_t)(p[caps_hi] | p[caps_hi + 1] << 8) << 16;
		/* then the auth data length and 10 reserved bytes, whose last
		 * four are MariaDB's extended capabilities */
		if (!(caps & MY_CLIENT_MYSQL) && caps_hi + 2 + 1 + 10 <= len)
			ext = le32(p + caps_hi + 2 + 1 + 6);
	}
	s->my_server_caps = caps;
	s->my_server_ext = ext;
	uint32_t shown = caps;
	if (s->px->tls_server)
		shown |= MY_CLIENT_SSL;
	else
		shown &= ~MY_CLIENT_SSL;
	shown &= ~(MY_CLIENT_COMPRESS | MY_CLIENT_ZSTD);
	p[caps_lo] = (unsigned char)shown;
	p[caps_lo + 1] = (unsigned char)(shown >> 8);
	if (caps_hi) {
		p[caps_hi] = (unsigned char)(shown >> 16);
		p[caps_hi + 1] = (unsigned char)(shown >> 24);
	}
	s->ph = MYP_CLIENT_HELLO;
	s->recheck = true;
	s->my_next_seq = (unsigned char)(m[3] + 1);
	*n = 4 + len;
	return PX_PASS;
}

/* The client's SSLRequest or HandshakeResponse. */
static PxStep hello(PxSession *s, struct evbuffer *in, size_t len, unsigned char seq)
{
	Proxy *px = s->px;
	if (len > PX_MAX_WHOLE || len < 32) {
		px_session_refuse(s, "osc proxy: invalid handshake response");
		return PX_STOP;
	}
	if (evbuffer_get_length(in) < 4 + len)
		return PX_MORE;
	unsigned char *m = evbuffer_pullup(in, (ssize_t)(4 + len));
	unsigned char *p = m + 4;
	uint32_t caps = le32(p);
	s->my_next_seq = (unsigned char)(seq + 1);
	if (!(caps & MY_CLIENT_PROTOCOL_41)) {
		px_session_refuse(s, "osc proxy: the pre-4.1 handshake is not supported");
		return PX_STOP;
	}
	if (len == 32 && (caps & MY_CLIENT_SSL)) { /* SSLRequest: TLS with the client now */
		if (s->ph == MYP_CLIENT_HELLO_TLS || px->tls_server == NULL) {
			px_session_refuse(s, "osc proxy: TLS was not offered");
			return PX_STOP;
		}
		evbuffer_drain(in, 4 + len);
		s->client.bytes += 4 + len;
		s->ph = MYP_CLIENT_TLS;
		/* what follows in the buffer is the client's TLS handshake: the
		 * filter reads it, never the protocol parser */
		px_session_start_tls(s, true);
		return PX_STOP;
	}
	if (caps & (MY_CLIENT_COMPRESS | MY_CLIENT_ZSTD)) {
		px_session_refuse(s, "osc proxy: the compressed protocol is not supported (it could not be followed)");
		return PX_STOP;
	}
	if ((caps & MY_CLIENT_SSL) != (s->ph == MYP_CLIENT_HELLO_TLS ? MY_CLIENT_SSL : 0)) {
		px_session_refuse(s, "osc proxy: CLIENT_SSL does not match the connection");
		return PX_STOP;
	}
	bool server_tls = px->tls_client != NULL && (s->my_server_caps & MY_CLIENT_SSL);
	if (px->tls_client != NULL && !server_tls && px->up.tls >= PX_TLS_REQUIRE) {
		px_session_refuse(s, "osc proxy: the server does not offer TLS, which the upstream URL requires");
		return PX_STOP;
	}
	s->my.caps = caps & s->my_server_caps;
	s->my.ext = (caps & MY_CLIENT_MYSQL) ? 0 : le32(p + 28) & s->my_server_ext;
	int server_seq = server_tls ? 2 : 1;
	s->my_seq_delta = (int)seq - server_seq;
	uint32_t up_caps = server_tls ? caps | MY_CLIENT_SSL : caps & ~MY_CLIENT_SSL;
	put_le32(p, up_caps);
	m[3] = (unsigned char)server_seq;
	if (server_tls) {
		/* our own SSLRequest: the response's first 32 bytes, numbered 1 */
		unsigned char req[4 + 32];
		req[0] = 32;
		req[1] = req[2] = 0;
		req[3] = 1;
		memcpy(req + 4, p, 32);
		px_session_write_server(s, req, sizeof(req));
		s->my_hello = evbuffer_new();
		if (s->my_hello == NULL || evbuffer_remove_buffer(in, s->my_hello, 4 + len) != (int)(4 + len)) {
			px_session_close(s, "out of memory");
			return PX_STOP;
		}
		s->client.bytes += 4 + len;
		s->ph = MYP_UP_TLS;
		px_session_start_tls(s, false);
		return PX_STOP;
	}
	px_session_write_server(s, m, 4 + len);
	evbuffer_drain(in, 4 + len);
	s->client.bytes += 4 + len;
	s->ph = MYP_AUTH;
	s->up_ready = true;
	return PX_DONE;
}

static PxStep command(PxSession *s, struct evbuffer *in, size_t len, size_t *n)
{
	unsigned char pre[4 + 12];
	*n = 4 + len;
	if (s->my_client_cont) { /* the rest of a payload of 16 MB or more */
		s->my_client_cont = len == MY_MAXPKT;
		return PX_PASS;
	}
	s->my_next_seq = 1;
	if (!mytrack_starts_request(&s->my)) {
		mytrack_client_data(&s->my, len);
		s->my_client_cont = len == MY_MAXPKT;
		return PX_PASS;
	}
	size_t pl = len < 12 ? len : 12;
	if (evbuffer_get_length(in) < 4 + pl)
		return PX_MORE;
	evbuffer_copyout(in, pre, 4 + pl);
	if (px_hold_active(s->px) && !s->my.overflow) {
		if (mytrack_idle(&s->my))
			return PX_HOLD;
		if (s->my.nq > 0)
			return PX_WAIT; /* pipelined: decide once the earlier replies say where it stands */
		/* inside a transaction: it runs on to its end */
	}
	if (mytrack_idle(&s->my))
		s->busy_since_ms = px_now_ms();
	mytrack_command(&s->my, pre + 4, pl);
	s->my_client_cont = len == MY_MAXPKT;
	return PX_PASS;
}

static PxStep my_client_step(PxSession *s, size_t *n)
{
	struct evbuffer *in = bufferevent_get_input(s->client.bev);
	size_t len;
	unsigned char seq;
	switch (s->ph) {
	case MYP_GREETING:
		/* the server speaks first: what a client sent before its greeting
		 * is looked at once the greeting went by (s->recheck) */
		return PX_WAIT;
	case MYP_CLIENT_TLS:
	case MYP_UP_TLS:
		return PX_STOP; /* it goes to TLS */
	default:
		break;
	}
	if (!header(in, &len, &seq))
		return PX_MORE;
	switch (s->ph) {
	case MYP_CLIENT_HELLO:
	case MYP_CLIENT_HELLO_TLS:
		return hello(s, in, len, seq);
	case MYP_AUTH:
		set_seq(in, (int)seq - s->my_seq_delta);
		s->my_next_seq = (unsigned char)(seq + 1);
		*n = 4 + len;
		return PX_PASS;
	default:
		return command(s, in, len, n);
	}
}

static PxStep my_server_step(PxSession *s, size_t *n)
{
	struct evbuffer *in = bufferevent_get_input(s->server.bev);
	size_t len;
	unsigned char seq, h[4 + 32];
	if (!header(in, &len, &seq))
		return PX_MORE;
	*n = 4 + len;
	switch (s->ph) {
	case MYP_GREETING:
		return greeting(s, in, len, n);
	case MYP_AUTH: {
		size_t want = len < 32 ? len : 32;
		if (evbuffer_get_length(in) < 4 + want)
			return PX_MORE;
		evbuffer_copyout(in, h, 4 + want);
		set_seq(in, (int)seq + s->my_seq_delta);
		if (want >= 1 && h[4] == 0x00) { /* OK: authenticated, the command phase begins */
			mytrack_authenticated(&s->my, h + 4, want);
			s->ph = MYP_COMMAND;
			s->recheck = true;
		}
		return PX_PASS;
	}
	case MYP_COMMAND:
		break;
	default:
		return PX_PASS; /* out of turn (an ERR before the server closes) */
	}
	if (s->my_server_cont) {
		s->my_server_cont = len == MY_MAXPKT;
		return PX_PASS;
	}
	size_t want = len < 32 ? len : 32;
	if (evbuffer_get_length(in) < 4 + want)
		return PX_MORE;
	evbuffer_copyout(in, h, 4 + want);
	int nq = s->my.nq;
	uint16_t status = s->my.status;
	bool infile = s->my.infile, turn = s->my.client_turn;
	mytrack_server(&s->my, h + 4, want, len);
	s->my_server_cont = len == MY_MAXPKT;
	if (nq != s->my.nq || status != s->my.status || infile != s->my.infile || turn != s->my.client_turn) {
		s->recheck = true;
		if (mytrack_idle(&s->my))
			s->busy_since_ms = 0;
	}
	return PX_PASS;
}

static void my_upstream_connected(PxSession *s)
{
	(void)s; /* the server speaks first: its greeting */
}

static void my_upstream_tls_done(PxSession *s)
{
	if (s->my_hello) {
		bufferevent_write_buffer(s->server.bev, s->my_hello);
		evbuffer_free(s->my_hello);
		s->my_hello = NULL;
	}
	s->ph = MYP_AUTH;
	px_session_upstream_ready(s);
}

static void my_client_tls_done(PxSession *s)
{
	s->ph = MYP_CLIENT_HELLO_TLS;
	px_session_pump_client(s);
}

static bool my_idle(const PxSession *s)
{
	return s->ph != MYP_COMMAND || mytrack_idle(&s->my);
}

static const char *my_state(const PxSession *s)
{
	switch (s->ph) {
	case MYP_GREETING: return "connecting";
	case MYP_CLIENT_HELLO:
	case MYP_CLIENT_HELLO_TLS: return "handshake";
	case MYP_CLIENT_TLS: return "TLS handshake";
	case MYP_UP_TLS: return "TLS handshake with the server";
	case MYP_AUTH: return "authenticating";
	default: return mytrack_state(&s->my);
	}
}

const PxProto px_my_proto = {
	.name = "mysql",
	.upstream_connected = my_upstream_connected,
	.client_tls_done = my_client_tls_done,
	.upstream_tls_done = my_upstream_tls_done,
	.client_step = my_client_step,
	.server_step = my_server_step,
	.idle = my_idle,
	.state = my_state,
	.refuse = my_refuse,
};
