/*
 * session.c — one client connection, its own upstream connection, and the
 * pump that moves messages between them.
 *
 * Each side is a bufferevent (a TLS filter over the socket's once TLS has
 * started on it).  The pump takes the message at the head of one side's
 * input, asks the protocol module what it is (px_pg_proto, px_my_proto),
 * and moves it whole to the other side's output, or keeps it (a hold), or
 * lets the module answer or rewrite it.  A message is examined once, at its
 * head; its body is then moved as it arrives, however large (a 1 GB row
 * never sits in the proxy).  Nothing buffers without bound, as in libevent's
 * sample/le-proxy.c and pgbouncer's sbuf.c:
 *   - each side's input stops growing at PX_HIGH_WATER (read watermark), so
 *     a client whose request is held fills its own socket buffers and then
 *     TCP stops it;
 *   - once a side's output passes PX_HIGH_WATER the other side is not read
 *     until it drains to half (write watermark + write callback).
 * Server-to-client traffic (results, NOTIFY, notices) is never held, only
 * slowed by a client that does not read.  What a turn of the pump forwards
 * to a plain socket is written at the end of that turn, in one write, so a
 * round trip through the proxy costs one wake-up per direction.
 *
 * A session that dies is unlinked at once and freed on the next turn of the
 * loop, so a callback that closed it may still look at it (s->dead).
 */
#include "proxy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>

#include "xalloc.h"

#define LINGER_MS 5000
#define CONNECT_TIMEOUT_S 10

static void on_client_read(struct bufferevent *bev, void *arg);
static void on_server_read(struct bufferevent *bev, void *arg);
static void unstage(PxSide *side);
static void on_client_drained(struct bufferevent *bev, void *arg);
static void on_server_drained(struct bufferevent *bev, void *arg);
static void on_client_event(struct bufferevent *bev, short what, void *arg);
static void on_server_event(struct bufferevent *bev, short what, void *arg);

/* want_write: the write callback that resumes the other side is armed */
static void side_setcb(PxSession *s, bool client_side, bool want_write)
{
	if (client_side)
		bufferevent_setcb(s->client.bev, on_client_read, want_write ? on_client_drained : NULL, on_client_event, s);
	else
		bufferevent_setcb(s->server.bev, on_server_read, want_write ? on_server_drained : NULL, on_server_event, s);
}

static void nodelay(evutil_socket_t fd)
{
	int one = 1;
	/* fails harmlessly on a Unix socket */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	free(arg);
}

void px_session_close(PxSession *s, const char *why)
{
	Proxy *px = s->px;
	if (s->dead)
		return;
	s->dead = true;
	if (s->held || why[0] != '\0')
		log_msg(&px->log, LOG_DEBUG, "session %llu (%s) closed: %s%s", (unsigned long long)s->id, s->peer, why,
		        s->held ? " (its held request was dropped, never sent)" : "");
	if (s->prev)
		s->prev->next = s->next;
	else
		px->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	px->nsessions--;
	px->bytes_c2s += s->client.bytes;
	px->bytes_s2c += s->server.bytes;
	/* a filter frees the socket's bufferevent and its SSL with it */
	if (s->client.bev)
		bufferevent_free(s->client.bev);
	if (s->server.bev)
		bufferevent_free(s->server.bev);
	if (s->client.stage)
		evbuffer_free(s->client.stage);
	if (s->server.stage)
		evbuffer_free(s->server.stage);
	s->client.stage = s->server.stage = NULL;
	s->client.bev = s->client.raw = s->server.bev = s->server.raw = NULL;
	if (s->linger)
		event_free(s->linger);
	s->linger = NULL;
	if (s->my_hello)
		evbuffer_free(s->my_hello);
	s->my_hello = NULL;
	struct timeval now = { 0, 0 };
	if (event_base_once(px->base, -1, EV_TIMEOUT, reap, s, &now) != 0)
		log_msg(&px->log, LOG_WARN, "session %llu: cannot schedule its release (leaked)", (unsigned long long)s->id);
	if (px_hold_active(px))
		px_hold_check(px);
}

/* Both sides' outputs (the filter's and the socket's under it) are empty. */
static bool flushed(const PxSide *side)
{
	if (side->bev == NULL)
		return true;
	if (evbuffer_get_length(bufferevent_get_output(side->bev)) > 0)
		return false;
	return side->raw == side->bev || evbuffer_get_length(bufferevent_get_output(side->raw)) == 0;
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	PxSession *s = arg;
	if (flushed(&s->client) && flushed(&s->server))
		px_session_close(s, "");
	else if (px_now_ms() >= s->linger_until_ms)
		px_session_close(s, "its output was not flushed in time");
}

/* Closes once what was already forwarded has gone out (bounded by
 * LINGER_MS).  Meanwhile whatever either side sends is read and dropped (a
 * socket closed with unread input sends a reset, which could overtake the
 * error the client is being sent).  What a client sent and the proxy did
 * not forward stays unsent. */
static void linger(PxSession *s)
{
	if (s->dead || s->closing)
		return;
	s->closing = true;
	if (flushed(&s->client) && flushed(&s->server)) {
		px_session_close(s, "");
		return;
	}
	s->linger_until_ms = px_now_ms() + LINGER_MS;
	s->linger = event_new(s->px->base, -1, EV_PERSIST, on_linger, s);
	struct timeval tv = { 0, 20 * 1000 };
	if (s->linger == NULL || event_add(s->linger, &tv) != 0)
		px_session_close(s, "cannot linger");
}

void px_session_error(PxSession *s, PxErrKind kind)
{
	if (s->error_counted)
		return;
	s->error_counted = true;
	s->px->errors[kind]++;
}

void px_session_refuse(PxSession *s, const char *why)
{
	if (s->dead || s->closing)
		return;
	/* the protocol modules' refusals; the others were counted by kind */
	px_session_error(s, PX_ERR_PROTOCOL);
	log_msg(&s->px->log, LOG_INFO, "session %llu (%s): %s", (unsigned long long)s->id, s->peer, why);
	s->px->proto->refuse(s, why);
	linger(s);
}

void px_session_write_client(PxSession *s, const void *data, size_t len)
{
	if (!s->dead && s->client.bev) {
		unstage(&s->client);
		bufferevent_write(s->client.bev, data, len);
	}
}

void px_session_write_server(PxSession *s, const void *data, size_t len)
{
	if (!s->dead && s->server.bev) {
		unstage(&s->server);
		bufferevent_write(s->server.bev, data, len);
	}
}

/* The other side's output passed the high-water mark: stop reading this
 * side until it drains to half (the write callback resumes it). */
static void throttle(PxSession *s, bool from_client)
{
	PxSide *src = from_client ? &s->client : &s->server;
	PxSide *dst = from_client ? &s->server : &s->client;
	src->paused = true;
	dst->draining = true;
	bufferevent_disable(src->bev, EV_READ);
	bufferevent_setwatermark(dst->bev, EV_WRITE, PX_HIGH_WATER / 2, 0);
	side_setcb(s, !from_client, true);
}

/* A side whose bytes may be written straight to its socket: plain (a TLS
 * filter writes through OpenSSL), nothing older waiting in its output, and
 * not draining: libevent calls the write callback that resumes the other
 * side only after a write of its own. */
static bool direct(PxSide *side)
{
	return side->bev == side->raw && !side->draining && evbuffer_get_length(bufferevent_get_output(side->bev)) == 0;
}

/* What the pump staged for side goes behind anything else (before a module
 * writes to it, and when the pump cannot write it itself). */
static void unstage(PxSide *side)
{
	if (side->stage && evbuffer_get_length(side->stage) > 0)
		evbuffer_add_buffer(bufferevent_get_output(side->bev), side->stage);
}

/* Moves n bytes from in towards the other side: staged, to be written at
 * once when the pump ends, or into its output buffer.  Returns the bytes
 * moved, -1 on failure. */
static int forward(PxSide *dst, struct evbuffer *in, size_t n)
{
	if (direct(dst)) {
		if (dst->stage == NULL && (dst->stage = evbuffer_new()) == NULL)
			return -1;
		return evbuffer_remove_buffer(in, dst->stage, n);
	}
	unstage(dst);
	return evbuffer_remove_buffer(in, bufferevent_get_output(dst->bev), n);
}

/* The end of a pump: what it staged goes out now, in one write, with no
 * write event to arm and wait for, so a round trip through the proxy costs
 * one wake-up per direction; what the socket does not take goes to the
 * output buffer, which libevent writes in order (and meets any error). */
static void flush_stage(PxSide *dst)
{
	if (dst->stage == NULL || evbuffer_get_length(dst->stage) == 0)
		return;
	if (direct(dst))
		(void)evbuffer_write(dst->stage, bufferevent_getfd(dst->raw));
	unstage(dst);
}

static void pump(PxSession *s, bool from_client)
{
	Proxy *px = s->px;
	PxSide *src = from_client ? &s->client : &s->server;
	PxSide *dst = from_client ? &s->server : &s->client;

	if (s->closing && !s->dead) {
		struct evbuffer *in = bufferevent_get_input(src->bev);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	while (!s->dead && !s->closing) {
		struct evbuffer *in = bufferevent_get_input(src->bev);
		struct evbuffer *out = bufferevent_get_output(dst->bev);
		size_t avail = evbuffer_get_length(in);
		if (avail == 0)
			break;
		if (evbuffer_get_length(out) >= PX_HIGH_WATER) {
			throttle(s, from_client);
			break;
		}
		if (src->pass > 0) {
			size_t n = avail < src->pass ? avail : src->pass;
			int moved = forward(dst, in, n);
			if (moved <= 0) {
				px_session_close(s, "cannot move data");
				return;
			}
			src->pass -= (size_t)moved;
			src->bytes += (uint64_t)moved;
			continue;
		}
		size_t n = 0;
		PxStep st = from_client ? px->proto->client_step(s, &n) : px->proto->server_step(s, &n);
		if (s->dead)
			return;
		if (st == PX_PASS) {
			src->pass = n;
			continue;
		}
		if (st == PX_DONE)
			continue;
		if (st == PX_HOLD && !s->held) {
			s->held = true;
			s->held_seq = ++px->held_seq;
			px_hold_check(px);
		} else if (st == PX_WAIT) {
			s->waiting = true;
		} else if (st == PX_CLOSE) {
			px_session_error(s, PX_ERR_PROTOCOL);
			px_session_close(s, "protocol error");
			return;
		}
		break;
	}
	if (!s->dead)
		flush_stage(dst);
	if (!from_client && s->recheck && !s->dead) {
		/* the server's replies changed the session's state: a request that
		 * waited for them may go, and a hold may be drained now */
		s->recheck = false;
		if (s->waiting) {
			s->waiting = false;
			pump(s, true);
		}
		if (px_hold_active(px) && !s->dead)
			px_hold_check(px);
	}
}

void px_session_pump_client(PxSession *s)
{
	pump(s, true);
}

void px_session_pump_server(PxSession *s)
{
	pump(s, false);
}

void px_session_changed(PxSession *s)
{
	s->recheck = true;
}

void px_session_upstream_ready(PxSession *s)
{
	if (s->dead)
		return;
	s->up_ready = true;
	pump(s, true);
	if (!s->dead)
		pump(s, false);
}

static void on_client_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pump(arg, true);
}

static void on_server_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pump(arg, false);
}

/* This side's output drained to half: read the other side again. */
static void drained(PxSession *s, bool client_side)
{
	PxSide *dst = client_side ? &s->client : &s->server;
	PxSide *src = client_side ? &s->server : &s->client;
	bufferevent_setwatermark(dst->bev, EV_WRITE, 0, 0);
	side_setcb(s, client_side, false);
	dst->draining = false;
	if (src->paused && !s->closing) {
		src->paused = false;
		bufferevent_enable(src->bev, EV_READ);
		pump(s, !client_side);
	}
}

static void on_client_drained(struct bufferevent *bev, void *arg)
{
	(void)bev;
	drained(arg, true);
}

static void on_server_drained(struct bufferevent *bev, void *arg)
{
	(void)bev;
	drained(arg, false);
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
	PxSession *s = arg;
	char err[256];
	if (s->dead)
		return;
	if (what & BEV_EVENT_CONNECTED) { /* the TLS handshake with the client is done */
		s->px->tls_client_total++;
		s->px->proto->client_tls_done(s);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	if (s->client.ssl && (what & BEV_EVENT_ERROR)) {
		px_session_error(s, PX_ERR_TLS);
		px_tls_error(bev, err, sizeof(err));
		log_msg(&s->px->log, LOG_INFO, "session %llu (%s): client TLS: %s", (unsigned long long)s->id, s->peer,
		        err);
	}
	/* the client is gone: what it sent that was not forwarded (a held
	 * request) is dropped, what was forwarded still reaches the server */
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
	if (s->held)
		log_msg(&s->px->log, LOG_INFO, "session %llu (%s) disconnected while held: its request was dropped",
		        (unsigned long long)s->id, s->peer);
	s->held = false;
	if (s->up_connected && !flushed(&s->server))
		linger(s);
	else
		px_session_close(s, "");
}

static void on_server_event(struct bufferevent *bev, short what, void *arg)
{
	PxSession *s = arg;
	Proxy *px = s->px;
	char err[256], msg[800];
	if (s->dead)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		if (!s->up_connected) {
			s->up_connected = true;
			nodelay(bufferevent_getfd(bev));
			bufferevent_set_timeouts(bev, NULL, NULL);
			px->proto->upstream_connected(s);
		} else {
			px->tls_server_total++;
			px->proto->upstream_tls_done(s);
		}
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	if (!s->up_ready) {
		px_session_error(s, s->server.ssl ? PX_ERR_TLS : PX_ERR_UPSTREAM);
		if (s->server.ssl) {
			px_tls_error(bev, err, sizeof(err));
			snprintf(msg, sizeof(msg), "osc proxy: TLS to the server %s:%d failed: %s", px->up.host, px->up.port,
			         err);
		} else {
			snprintf(msg, sizeof(msg), "osc proxy: cannot connect to the server %s:%d: %s", px->up.host,
			         px->up.port,
			         (what & BEV_EVENT_TIMEOUT) ? "timed out"
			         : (what & BEV_EVENT_EOF) ? "it closed the connection"
			                                  : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		}
		/* a server that closes during a startup the client already
		 * forwarded said why itself (ErrorResponse, ERR): flush that */
		if (s->up_connected && evbuffer_get_length(bufferevent_get_output(s->client.bev)) > 0 &&
		    (what & BEV_EVENT_EOF)) {
			linger(s);
			return;
		}
		px_session_refuse(s, msg);
		return;
	}
	/* the server closed (or failed): the client gets what it already sent */
	if (what & BEV_EVENT_ERROR)
		px_session_error(s, s->server.ssl ? PX_ERR_TLS : PX_ERR_UPSTREAM);
	if (what & BEV_EVENT_ERROR)
		log_msg(&px->log, LOG_INFO, "session %llu (%s): the server connection failed: %s",
		        (unsigned long long)s->id, s->peer, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	pump(s, false);
	if (!s->dead)
		linger(s);
}

void px_session_start_tls(PxSession *s, bool client_side)
{
	PxSide *side = client_side ? &s->client : &s->server;
	SSL *ssl = px_tls_new(s->px, client_side);
	if (ssl == NULL) {
		px_session_refuse(s, "osc proxy: cannot set up TLS (OpenSSL)");
		return;
	}
	struct bufferevent *f = bufferevent_openssl_filter_new(
	    s->px->base, side->raw, ssl, client_side ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (f == NULL) {
		SSL_free(ssl);
		px_session_close(s, "cannot create the TLS filter");
		return;
	}
	/* clients and servers that close without close_notify are the rule */
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	side->bev = f;
	side->ssl = ssl;
	side_setcb(s, client_side, false);
	bufferevent_setwatermark(f, EV_READ, 0, PX_HIGH_WATER);
	bufferevent_enable(f, EV_READ | EV_WRITE);
}

static void peer_name(struct sockaddr *sa, char *out, size_t outsz)
{
	char a[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(out, outsz, "%s:%d", a, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(out, outsz, "[%s]:%d", a, ntohs(in6->sin6_port));
	} else {
		snprintf(out, outsz, "local");
	}
}

void px_session_accept(Proxy *px, evutil_socket_t fd, struct sockaddr *sa, int socklen)
{
	(void)socklen;
	PxSession *s = xcalloc(1, sizeof(*s));
	s->px = px;
	s->id = ++px->next_id;
	s->since_ms = px_now_ms();
	peer_name(sa, s->peer, sizeof(s->peer));
	pgtrack_init(&s->pg);
	mytrack_init(&s->my);
	evutil_make_socket_nonblocking(fd);
	nodelay(fd);
	s->client.raw = s->client.bev = bufferevent_socket_new(px->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->client.bev == NULL) {
		evutil_closesocket(fd);
		free(s);
		return;
	}
	s->next = px->sessions;
	if (px->sessions)
		px->sessions->prev = s;
	px->sessions = s;
	px->nsessions++;
	px->sessions_total++;
	side_setcb(s, true, false);
	bufferevent_setwatermark(s->client.bev, EV_READ, 0, PX_HIGH_WATER);
	bufferevent_enable(s->client.bev, EV_READ | EV_WRITE);

	if (px->nsessions > px->max_clients) {
		px->refused_total++;
		px_session_error(s, PX_ERR_MAX_CLIENTS);
		px_session_refuse(s, "osc proxy: too many client connections (--max-clients)");
		return;
	}
	/* one upstream connection of its own, started at once so that it is up
	 * by the time the client has negotiated TLS and sent its startup */
	s->server.raw = s->server.bev = bufferevent_socket_new(px->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->server.bev == NULL) {
		px_session_refuse(s, "osc proxy: out of memory");
		return;
	}
	side_setcb(s, false, false);
	bufferevent_setwatermark(s->server.bev, EV_READ, 0, PX_HIGH_WATER);
	struct timeval tmo = { CONNECT_TIMEOUT_S, 0 };
	bufferevent_set_timeouts(s->server.bev, NULL, &tmo);
	if (bufferevent_socket_connect(s->server.bev, (struct sockaddr *)&px->up.addr, (int)px->up.addrlen) != 0) {
		char msg[800];
		snprintf(msg, sizeof(msg), "osc proxy: cannot connect to the server %s:%d: %s", px->up.host, px->up.port,
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		px_session_error(s, PX_ERR_UPSTREAM);
		px_session_refuse(s, msg);
		return;
	}
	bufferevent_enable(s->server.bev, EV_READ | EV_WRITE);
}

void px_session_free_all(Proxy *px)
{
	while (px->sessions)
		px_session_close(px->sessions, "the proxy stops");
}
