/*
 * hold.c — HOLD and RELEASE.
 *
 * A holder (an admin connection that sent "hold": osc right before its
 * swap) turns the hold on.  From then on every session is kept at the start
 * of its next request once it is idle (the protocol modules return PX_HOLD
 * there); sessions inside a transaction run on until they reach idle.  When
 * no session is busy any more the holder is told "drained"; if that has not
 * happened by the drain timeout it is told "not-drained" with the sessions
 * that are still busy, and the hold stays on (osc then swaps under its lock
 * timeout, as without the proxy, for those).  Several holders may overlap
 * (two osc runs on two tables): the sessions are released when the last one
 * ends.
 *
 * A hold ends when its holder says "release", when its admin connection
 * closes (osc killed: the kernel closes the socket), or at max_hold: the
 * dead-man switch, so that a hung osc never stalls the application.
 * Released sessions go on in the order their requests arrived; a session
 * whose client hung up meanwhile is closed instead, its request dropped
 * unsent (POLLRDHUP sees the hang-up even behind unread bytes).
 */
#include "proxy_int.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

bool px_hold_active(const Proxy *px)
{
	return px->holders != NULL;
}

int px_hold_busy(Proxy *px)
{
	int busy = 0;
	for (PxSession *s = px->sessions; s; s = s->next)
		if (!s->closing && !px->proto->idle(s))
			busy++;
	return busy;
}

static int held_count(Proxy *px)
{
	int n = 0;
	for (PxSession *s = px->sessions; s; s = s->next)
		if (s->held)
			n++;
	return n;
}

static void answer(PxHolder *h, bool drained)
{
	Proxy *px = h->px;
	long long waited = (long long)(px_now_ms() - h->since_ms);
	h->answered = true;
	if (h->drain_timer)
		event_del(h->drain_timer);
	if (drained) {
		px_admin_say(h->admin, false, "drained sessions=%d held=%d waited_ms=%lld", px->nsessions, held_count(px),
		             waited);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (b == NULL)
		return;
	px_status_busy(px, b, 10);
	size_t n = evbuffer_get_length(b);
	char *list = xmalloc(n + 1);
	evbuffer_remove(b, list, n);
	list[n] = '\0';
	px_admin_say(h->admin, false, "not-drained sessions=%d busy=%d waited_ms=%lld: %s", px->nsessions,
	             px_hold_busy(px), waited, list);
	log_msg(&px->log, LOG_WARN, "hold %llu: not drained after %lldms: %s", (unsigned long long)h->id, waited, list);
	free(list);
	evbuffer_free(b);
}

void px_hold_check(Proxy *px)
{
	bool unanswered = false;
	for (PxHolder *h = px->holders; h; h = h->next)
		unanswered |= !h->answered;
	if (px->holders == NULL || (!unanswered && px->hold_drained_ms >= 0))
		return;
	if (px_hold_busy(px) > 0)
		return;
	if (px->hold_drained_ms < 0)
		px->hold_drained_ms = px_now_ms() - px->hold_since_ms;
	for (PxHolder *h = px->holders; h; h = h->next)
		if (!h->answered)
			answer(h, true);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	PxHolder *h = arg;
	if (!h->answered)
		answer(h, false);
}

static void on_max_hold(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	PxHolder *h = arg;
	Proxy *px = h->px;
	log_msg(&px->log, LOG_WARN, "hold %llu: released by the proxy after --max-hold %lldms (its holder never released)",
	        (unsigned long long)h->id, (long long)px->max_hold_ms);
	px_admin_say(h->admin, false, "released max-hold held_ms=%lld", (long long)(px_now_ms() - h->since_ms));
	px_hold_end(h, "max-hold");
}

void px_hold_begin(Proxy *px, PxAdmin *a)
{
	PxHolder *h = xcalloc(1, sizeof(*h));
	h->px = px;
	h->admin = a;
	h->id = ++px->next_holder;
	h->since_ms = px_now_ms();
	h->drained_ms = -1;
	h->drain_timer = evtimer_new(px->base, on_drain_timeout, h);
	h->max_timer = evtimer_new(px->base, on_max_hold, h);
	struct timeval dt = { px->drain_timeout_ms / 1000, (px->drain_timeout_ms % 1000) * 1000 };
	struct timeval mt = { px->max_hold_ms / 1000, (px->max_hold_ms % 1000) * 1000 };
	if (h->drain_timer == NULL || h->max_timer == NULL || evtimer_add(h->drain_timer, &dt) != 0 ||
	    evtimer_add(h->max_timer, &mt) != 0) {
		if (h->drain_timer)
			event_free(h->drain_timer);
		if (h->max_timer)
			event_free(h->max_timer);
		free(h);
		px_admin_say(a, true, "error cannot arm the hold's timers");
		return;
	}
	a->holder = h;
	if (px->holders == NULL) {
		px->hold_since_ms = h->since_ms;
		px->hold_sessions = px->nsessions;
		px->hold_drained_ms = -1;
	}
	h->next = px->holders;
	px->holders = h;
	log_msg(&px->log, LOG_INFO, "hold %llu: %d sessions, %d busy", (unsigned long long)h->id, px->nsessions,
	        px_hold_busy(px));
	px_hold_check(px);
}

static int by_arrival(const void *a, const void *b)
{
	const PxSession *x = *(PxSession *const *)a, *y = *(PxSession *const *)b;
	return x->held_seq < y->held_seq ? -1 : x->held_seq > y->held_seq;
}

/* The client hung up (or reset) while its request was held: even bytes it
 * sent before that are not read past. */
static bool hung_up(PxSession *s)
{
	struct pollfd p = { bufferevent_getfd(s->client.raw), POLLRDHUP, 0 };
	return p.fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void release_all(Proxy *px, const char *how)
{
	int64_t now = px_now_ms();
	int64_t held_ms = now - px->hold_since_ms;
	int n = held_count(px), i = 0;
	PxSession **order = xcalloc((size_t)n, sizeof(*order));

	PxHoldRecord *r = &px->history[px->history_next++ % PX_HOLD_HISTORY];
	if (px->nhistory < PX_HOLD_HISTORY)
		px->nhistory++;
	r->wall_ms = wall_ms() - held_ms;
	r->held_ms = held_ms;
	r->drain_ms = px->hold_drained_ms;
	r->sessions = px->hold_sessions;
	r->requests = n;
	snprintf(r->ended, sizeof(r->ended), "%s", how);
	px->holds_total++;
	px->hold_ms_total += held_ms;
	px->held_requests_total += (uint64_t)n;
	if (held_ms > px->hold_longest_ms)
		px->hold_longest_ms = held_ms;
	px->hold_since_ms = 0;
	log_msg(&px->log, LOG_INFO, "released (%s) after %lldms: %d request(s) had waited; drained %s", how,
	        (long long)held_ms, n, px->hold_drained_ms >= 0 ? "yes" : "never");

	for (PxSession *s = px->sessions; s; s = s->next)
		if (s->held && i < n)
			order[i++] = s;
	qsort(order, (size_t)i, sizeof(*order), by_arrival);
	for (int k = 0; k < i; k++) {
		PxSession *s = order[k];
		if (s->dead)
			continue; /* closed by an earlier one's pump: still in memory until the next turn */
		s->held = false;
		if (hung_up(s)) {
			log_msg(&px->log, LOG_INFO, "session %llu (%s) hung up while held: its request was dropped",
			        (unsigned long long)s->id, s->peer);
			px_session_close(s, "hung up while held");
			continue;
		}
		px_session_pump_client(s);
	}
	free(order);
}

void px_hold_end(PxHolder *h, const char *how)
{
	Proxy *px = h->px;
	PxHolder **pp = &px->holders;
	while (*pp && *pp != h)
		pp = &(*pp)->next;
	if (*pp)
		*pp = h->next;
	if (h->admin)
		h->admin->holder = NULL;
	event_free(h->drain_timer);
	event_free(h->max_timer);
	if (px->holders == NULL)
		release_all(px, how);
	else
		log_msg(&px->log, LOG_INFO, "hold %llu ended (%s); %s", (unsigned long long)h->id, how,
		        "another holder keeps the sessions");
	free(h);
}
