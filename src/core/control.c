/*
 * control.c — the control loop: one libevent event_base on a thread of its
 * own, serving the Unix control socket and a 100 ms tick (see control.h).
 *
 * The socket speaks lines: a client connects, sends one command line, reads
 * the answer until the server closes.  The first word of the answer is "ok"
 * or "error".  Commands (the table below): status [json], pause, resume,
 * cutover, abort, set name=value...  The loop never waits on a database, so
 * an answer comes at once whatever the worker is doing; what it reports is
 * what the worker last published (after every chunk and every replay batch).
 *
 * Only the user who runs osc may talk to it, and osc talks only to its own
 * user: the socket is 0600 in a directory only the user can write
 * (src/lib/localpath.h), and both ends check the other's uid (SO_PEERCRED), so
 * neither a socket planted at the path nor a client of another user gets
 * an answer.  The name is a hash of the target (src/lib/dburl.h), never of a
 * password.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dburl.h"
#include "duration.h"
#include "json.h"
#include "localpath.h"
#include "names.h"
#include "osc.h"

typedef struct Loop {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *tick;
} Loop;

/* ---------------------------------------------------------------- shared */

bool control_socket_path(Osc *o, bool create, bool under_tmpdir, char *out, size_t outsz, OscErr *e)
{
	char hash[17], dir[256], target[2048];
	const char *url = o->opt.database ? o->opt.database : getenv("OSC_DATABASE_URL");

	if (o->opt.socket_path) {
		if ((size_t)snprintf(out, outsz, "%s", o->opt.socket_path) >= outsz) {
			err_set(e, OSC_EXIT_INPUT, "--socket: the path is too long for a Unix socket");
			return false;
		}
		return true;
	}
	if (!localpath_socket_dir(dir, sizeof(dir), create, under_tmpdir, e))
		return false;
	/* what the migration is, without who connects or with which password */
	dburl_target(url, &o->target, target, sizeof(target));
	names_hash_hex(hash, 16, target, strlen(target));
	if ((size_t)snprintf(out, outsz, "%s/osc-%s.sock", dir, hash) >= outsz) {
		err_set(e, OSC_EXIT_INPUT, "the socket directory %s is too long for a socket path: give --socket PATH", dir);
		return false;
	}
	return true;
}

/* The uid at the other end of a Unix socket; false when it cannot be read. */
static bool peer_uid(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	*uid = (uid_t)-1; /* nobody's: a failed read never looks like a match */
	*pid = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return false;
	*uid = cred.uid;
	*pid = cred.pid;
	return true;
}

void control_evaluate_locked(Osc *o)
{
	Control *c = &o->ctl;
	ReplicaLag lags[THROTTLE_MAX_REPLICAS];
	char names[THROTTLE_MAX_REPLICAS][sizeof(c->observed[0].name) + 48];
	ThrottleInputs in;
	ThrottleDecision d;

	memset(&in, 0, sizeof(in));
	in.now_ms = wall_ms();
	/* before the heartbeat table exists there is nothing to read, and
	 * nothing to throttle either, except for an in-place run: its replicas'
	 * lag is what the primary reports (NULL: caught up and idle), as if a
	 * heartbeat that old had been seen */
	int n = 0;
	if (c->heartbeat_armed) {
		for (; n < c->nreplicas; n++) {
			lags[n].name = c->replicas[n].name;
			lags[n].beat_ms = c->replicas[n].beat_ms;
			lags[n].error = c->replicas[n].error;
		}
	} else if (c->gate_reported) {
		for (; n < c->nobserved; n++) {
			const ReplicaState *r = &c->observed[n];
			snprintf(names[n], sizeof(names[n]), "%s (replay_lag as the primary reports it)", r->name);
			lags[n].name = names[n];
			lags[n].beat_ms = in.now_ms - (r->replay_lag_ms > 0 ? r->replay_lag_ms : 0);
			lags[n].error = NULL;
		}
	}
	in.operator_paused = c->operator_paused;
	in.pause_file = c->pause_file;
	in.panic_file = c->panic_file;
	in.pause_file_name = o->opt.pause_file;
	in.panic_file_name = o->opt.panic_file;
	in.replicas = lags;
	in.nreplicas = n;
	in.load = c->load;
	in.nload = c->nload;
	in.first_beat_ms = c->heartbeat_armed ? c->first_beat_ms : 0;
	throttle_evaluate(&c->limits, &in, &c->tstate, &d);

	bool was = c->decision.action != THROTTLE_GO;
	bool same = c->decision.action == d.action && strcmp(c->decision.cause, d.cause) == 0;
	int64_t now = now_ms();
	if (d.action == THROTTLE_ABORT && !c->abort_requested) {
		c->abort_requested = true;
		/* the worker says so, as the error that ends the run */
		snprintf(c->abort_reason, sizeof(c->abort_reason), "aborting: %s", d.reason);
	} else if (d.action == THROTTLE_PAUSE && !same) {
		log_msg(&o->log, LOG_INFO, "throttled: %s", d.reason);
	} else if (d.action == THROTTLE_GO && was) {
		char took[32];
		duration_format(took, sizeof(took), now - c->throttled_since_ms);
		log_msg(&o->log, LOG_INFO, "throttle released after %s (was: %s)", took, c->decision.reason);
	}
	if (d.action != THROTTLE_GO && !was)
		c->throttled_since_ms = now;
	if (d.action == THROTTLE_GO && was) {
		c->throttled_total_ms += now - c->throttled_since_ms;
		c->throttled_since_ms = 0;
	}
	c->decision = d;
	if (!same)
		pthread_cond_broadcast(&c->changed);
}

/* ---------------------------------------------------------------- worker */

void control_publish(Osc *o)
{
	Control *c = &o->ctl;
	if (!c->started)
		return;
	pthread_mutex_lock(&c->mu);
	o->progress.lag_ms = c->decision.max_lag_ms;
	o->progress.throttled = c->decision.action != THROTTLE_GO;
	snprintf(o->progress.throttle_reason, sizeof(o->progress.throttle_reason), "%s", c->decision.reason);
	c->progress = o->progress;
	pthread_mutex_unlock(&c->mu);
}

bool control_aborted(Osc *o, OscErr *e)
{
	Control *c = &o->ctl;
	bool yes;
	if (!c->started)
		return false;
	pthread_mutex_lock(&c->mu);
	yes = c->abort_requested;
	if (yes)
		err_set(e, OSC_EXIT_FAILED, "%s", c->abort_reason);
	pthread_mutex_unlock(&c->mu);
	return yes;
}

bool control_gate(Osc *o, OscErr *e)
{
	Control *c = &o->ctl;
	if (!c->started)
		return true;
	for (;;) {
		control_publish(o);
		if (control_aborted(o, e))
			return false;
		if (*o->stop) {
			err_set(e, OSC_EXIT_STOPPED, "interrupted by a signal");
			return false;
		}
		pthread_mutex_lock(&c->mu);
		bool go = c->decision.action == THROTTLE_GO;
		if (!go) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&c->changed, &c->mu, &ts);
		}
		pthread_mutex_unlock(&c->mu);
		if (go)
			return true;
		control_publish(o);
		log_progress(&o->log, &o->progress, false);
	}
}

void control_gate_reported_lag(Osc *o, bool on)
{
	Control *c = &o->ctl;
	if (!c->started)
		return;
	pthread_mutex_lock(&c->mu);
	c->gate_reported = on;
	control_evaluate_locked(o);
	pthread_mutex_unlock(&c->mu);
}

bool control_take_cutover(Osc *o)
{
	Control *c = &o->ctl;
	bool yes;
	if (!c->started)
		return false;
	pthread_mutex_lock(&c->mu);
	yes = c->cutover_requested;
	c->cutover_requested = false;
	pthread_mutex_unlock(&c->mu);
	return yes;
}

void control_chunk_limits(Osc *o, int64_t *chunk_time_ms, int64_t *chunk_size_max)
{
	Control *c = &o->ctl;
	if (!c->started) {
		*chunk_time_ms = o->opt.chunk_time_ms;
		*chunk_size_max = o->opt.chunk_size_max;
		return;
	}
	pthread_mutex_lock(&c->mu);
	*chunk_time_ms = c->chunk_time_ms;
	*chunk_size_max = c->chunk_size_max;
	pthread_mutex_unlock(&c->mu);
}

/* ---------------------------------------------------------------- status */

static void status_json(Osc *o, FILE *f)
{
	Control *c = &o->ctl;
	const Progress *p = &c->progress;
	int64_t now = now_ms(), wall = wall_ms();
	bool throttled = c->decision.action != THROTTLE_GO;
	Json j;

	json_start(&j, f);
	json_object(&j);
	json_kv_string(&j, "table", o->opt.table);
	json_kv_string(&j, "phase", p->phase ? p->phase : "starting");
	json_kv_int(&j, "phase_ms", p->phase_started_ms ? now - p->phase_started_ms : 0);
	json_kv_int(&j, "rows_copied", p->rows_copied);
	json_kv_int(&j, "rows_estimate", p->rows_estimate);
	json_kv_double(&j, "rows_per_sec", p->rows_per_sec, 0);
	json_kv_int(&j, "eta_ms", p->eta_ms);
	json_kv_int(&j, "chunk_size", p->chunk_size);
	json_kv_int(&j, "chunk_time_ms", c->chunk_time_ms);
	json_kv_int(&j, "log_backlog", p->log_backlog);
	json_kv_int(&j, "log_applied", p->log_applied);
	json_kv_int(&j, "runtime_ms", now - o->started_ms);
	json_kv_bool(&j, "throttled", throttled);
	json_kv_bool(&j, "operator_paused", c->operator_paused);
	if (throttled) {
		json_kv_string(&j, "throttle_reason", c->decision.reason);
		json_kv_int(&j, "throttled_for_ms", now - c->throttled_since_ms);
	}
	json_kv_int(&j, "throttled_total_ms",
	            c->throttled_total_ms + (c->throttled_since_ms ? now - c->throttled_since_ms : 0));
	json_kv_int(&j, "max_lag_ms", c->decision.max_lag_ms);
	json_key(&j, "limits");
	json_object(&j);
	json_kv_int(&j, "max_lag_ms", c->limits.max_lag_ms);
	json_kv_int(&j, "critical_lag_ms", c->limits.critical_lag_ms);
	json_kv_int(&j, "critical_interval_ms", c->limits.critical_interval_ms);
	json_kv_int(&j, "chunk_size_max", c->chunk_size_max);
	json_object_end(&j);
	json_key(&j, "replicas");
	json_array(&j);
	for (int i = 0; i < c->nreplicas; i++) {
		const ReplicaState *r = &c->replicas[i];
		json_object(&j);
		json_kv_string(&j, "name", r->name);
		json_kv_int(&j, "lag_ms", r->beat_ms > 0 ? wall - r->beat_ms : -1);
		if (r->error[0])
			json_kv_string(&j, "error", r->error);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "observed_replicas");
	json_array(&j);
	for (int i = 0; i < c->nobserved; i++) {
		const ReplicaState *r = &c->observed[i];
		json_object(&j);
		json_kv_string(&j, "name", r->name);
		json_kv_int(&j, "bytes_behind", r->bytes_behind);
		json_kv_int(&j, "replay_lag_ms", r->replay_lag_ms);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "load");
	json_object(&j);
	for (int i = 0; i < c->nload; i++) {
		if (c->load[i].ok)
			json_kv_double(&j, c->load[i].name, c->load[i].value, -1);
		else
			json_kv_null(&j, c->load[i].name);
	}
	json_object_end(&j);
	json_object_end(&j);
	fputc('\n', f);
}

static void status_text(Osc *o, FILE *f)
{
	Control *c = &o->ctl;
	const Progress *p = &c->progress;
	int64_t now = now_ms(), wall = wall_ms();
	char a[32], b[32], d[32];

	duration_format(a, sizeof(a), p->phase_started_ms ? now - p->phase_started_ms : 0);
	duration_format(b, sizeof(b), now - o->started_ms);
	fprintf(f, "table:     %s\nphase:     %s (for %s; running %s)\n", o->opt.table,
	        p->phase ? p->phase : "starting", a, b);
	double pct = p->rows_estimate > 0 ? 100.0 * (double)p->rows_copied / (double)p->rows_estimate : 0;
	if (p->eta_ms >= 0)
		duration_format(a, sizeof(a), p->eta_ms);
	else
		snprintf(a, sizeof(a), "?");
	fprintf(f, "rows:      %lld of about %lld (%.1f%%), %.0f rows/s, ETA %s\n", (long long)p->rows_copied,
	        (long long)p->rows_estimate, pct > 100 ? 100 : pct, p->rows_per_sec, a);
	duration_format(a, sizeof(a), c->chunk_time_ms);
	fprintf(f, "chunk:     %lld rows (chunk-time %s, at most %lld)\n", (long long)p->chunk_size, a,
	        (long long)c->chunk_size_max);
	fprintf(f, "changes:   %lld waiting, %lld applied\n", (long long)p->log_backlog, (long long)p->log_applied);
	duration_format(b, sizeof(b), c->throttled_total_ms + (c->throttled_since_ms ? now - c->throttled_since_ms : 0));
	if (c->decision.action != THROTTLE_GO) {
		duration_format(a, sizeof(a), now - c->throttled_since_ms);
		fprintf(f, "throttle:  PAUSED for %s: %s (%s in all)\n", a, c->decision.reason, b);
	} else {
		fprintf(f, "throttle:  running (%s paused in all)\n", b);
	}
	for (int i = 0; i < c->nreplicas; i++) {
		const ReplicaState *r = &c->replicas[i];
		if (r->beat_ms > 0)
			duration_format(a, sizeof(a), wall - r->beat_ms);
		else
			snprintf(a, sizeof(a), "unknown");
		duration_format(d, sizeof(d), c->limits.max_lag_ms);
		fprintf(f, "replica:   %s lag %s (max %s)%s%s\n", r->name, a, d, r->error[0] ? ", cannot be read: " : "",
		        r->error);
	}
	for (int i = 0; i < c->nobserved; i++) {
		const ReplicaState *r = &c->observed[i];
		if (r->replay_lag_ms >= 0)
			duration_format(a, sizeof(a), r->replay_lag_ms);
		else
			snprintf(a, sizeof(a), "-");
		fprintf(f, "streaming: %s %lld bytes behind, replay_lag %s (not watched: give it with --replica)\n", r->name,
		        (long long)r->bytes_behind, a);
	}
	for (int i = 0; i < c->nload; i++) {
		if (c->load[i].ok)
			fprintf(f, "load:      %s = %g\n", c->load[i].name, c->load[i].value);
		else
			fprintf(f, "load:      %s cannot be read\n", c->load[i].name);
	}
}

/* ---------------------------------------------------------------- commands */

typedef struct Reply {
	FILE *f;
	bool ok;
} Reply;

static void ctl_status(Osc *o, char *args, Reply *r)
{
	fprintf(r->f, "ok\n");
	if (args && strcmp(args, "json") == 0)
		status_json(o, r->f);
	else
		status_text(o, r->f);
}

static void ctl_pause(Osc *o, char *args, Reply *r)
{
	(void)args;
	o->ctl.operator_paused = true;
	control_evaluate_locked(o);
	fprintf(r->f, "ok: paused; copy and replay stop after the current step (changes are still captured)\n");
	log_msg(&o->log, LOG_INFO, "osc pause received");
}

static void ctl_resume(Osc *o, char *args, Reply *r)
{
	(void)args;
	o->ctl.operator_paused = false;
	control_evaluate_locked(o);
	fprintf(r->f, "ok: resumed%s%s\n", o->ctl.decision.action != THROTTLE_GO ? "; still throttled: " : "",
	        o->ctl.decision.action != THROTTLE_GO ? o->ctl.decision.reason : "");
	log_msg(&o->log, LOG_INFO, "osc resume received");
}

static void ctl_cutover(Osc *o, char *args, Reply *r)
{
	(void)args;
	o->ctl.cutover_requested = true;
	pthread_cond_broadcast(&o->ctl.changed);
	fprintf(r->f, "ok: the swap goes ahead once the copy is done%s\n",
	        o->opt.postpone_cutover ? " (the postpone flag is overridden)" : "");
	log_msg(&o->log, LOG_INFO, "osc cutover received");
}

static void ctl_abort(Osc *o, char *args, Reply *r)
{
	(void)args;
	if (!o->ctl.abort_requested) {
		o->ctl.abort_requested = true;
		snprintf(o->ctl.abort_reason, sizeof(o->ctl.abort_reason), "aborted by the operator (osc abort)");
	}
	pthread_cond_broadcast(&o->ctl.changed);
	fprintf(r->f, "ok: aborting after the current step; the original stays as it is\n");
	log_msg(&o->log, LOG_WARN, "osc abort received");
}

/* One name=value of osc set, applied to c (mu held). */
static bool set_one(Control *c, const char *name, const char *v, char *why, size_t whysz)
{
	int64_t ms;
	LoadList ll;

	if (strcmp(name, "chunk-time") == 0 || strcmp(name, "max-lag") == 0 || strcmp(name, "critical-lag") == 0 ||
	    strcmp(name, "critical-interval") == 0) {
		if (!duration_parse_ms(v, &ms)) {
			snprintf(why, whysz, "%s: expected a duration such as 250ms or 2s, got '%s'", name, v);
			return false;
		}
		if (strcmp(name, "chunk-time") == 0)
			c->chunk_time_ms = ms;
		else if (strcmp(name, "max-lag") == 0)
			c->limits.max_lag_ms = ms;
		else if (strcmp(name, "critical-lag") == 0)
			c->limits.critical_lag_ms = ms;
		else
			c->limits.critical_interval_ms = ms;
		return true;
	}
	if (strcmp(name, "chunk-size-max") == 0) {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (end == v || *end || n < 1) {
			snprintf(why, whysz, "chunk-size-max: expected a whole number >= 1, got '%s'", v);
			return false;
		}
		c->chunk_size_max = n;
		return true;
	}
	if (strcmp(name, "max-load") == 0 || strcmp(name, "critical-load") == 0) {
		char err[160];
		if (!throttle_parse_load(v, &ll, err, sizeof(err))) {
			snprintf(why, whysz, "%s: %s", name, err);
			return false;
		}
		/* the monitor reads the metrics given at start; others it cannot */
		for (int i = 0; i < ll.n; i++) {
			int k;
			for (k = 0; k < c->nload; k++)
				if (strcmp(c->load_names[k], ll.item[i].name) == 0)
					break;
			if (k == c->nload) {
				snprintf(why, whysz, "%s: %s is not watched by this run (only metrics named at start can change)",
				         name, ll.item[i].name);
				return false;
			}
		}
		if (strcmp(name, "max-load") == 0)
			c->limits.max_load = ll;
		else
			c->limits.critical_load = ll;
		return true;
	}
	snprintf(why, whysz,
	         "unknown setting '%s' (chunk-time, chunk-size-max, max-lag, critical-lag, critical-interval, max-load, "
	         "critical-load)",
	         name);
	return false;
}

static void ctl_set(Osc *o, char *args, Reply *r)
{
	Control *c = &o->ctl;
	char why[400], line[1024], *save = NULL;
	/* all or nothing: a bad pair puts back what the good ones changed */
	ThrottleLimits limits = c->limits;
	int64_t chunk_time_ms = c->chunk_time_ms, chunk_size_max = c->chunk_size_max;

	if (args == NULL) {
		snprintf(why, sizeof(why), "expected name=value pairs");
		goto bad;
	}
	snprintf(line, sizeof(line), "%s", args);
	for (char *w = strtok_r(args, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '=');
		if (eq == NULL) {
			snprintf(why, sizeof(why), "expected name=value, got '%s'", w);
			goto bad;
		}
		*eq = '\0';
		if (!set_one(c, w, eq + 1, why, sizeof(why)))
			goto bad;
	}
	log_msg(&o->log, LOG_INFO, "osc set %s", line);
	control_evaluate_locked(o);
	fprintf(r->f, "ok: set\n");
	return;
bad:
	c->limits = limits;
	c->chunk_time_ms = chunk_time_ms;
	c->chunk_size_max = chunk_size_max;
	r->ok = false;
	fprintf(r->f, "error: %s; nothing was changed\n", why);
}

static const struct {
	const char *name;
	void (*fn)(Osc *o, char *args, Reply *r);
} commands[] = {
	{ "status", ctl_status }, { "pause", ctl_pause }, { "resume", ctl_resume },
	{ "cutover", ctl_cutover }, { "abort", ctl_abort }, { "set", ctl_set },
};

/* Runs one command line; the answer goes into out (mu is taken here). */
static void dispatch(Osc *o, char *line, struct evbuffer *out)
{
	char *buf = NULL;
	size_t len = 0;
	Reply r = { open_memstream(&buf, &len), true };
	if (r.f == NULL) {
		evbuffer_add_printf(out, "error: out of memory\n");
		return;
	}
	char *args = strchr(line, ' ');
	if (args)
		*args++ = '\0';
	size_t i;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, line) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(r.f, "error: unknown command '%s' (status, pause, resume, cutover, abort, set)\n", line);
	} else {
		pthread_mutex_lock(&o->ctl.mu);
		commands[i].fn(o, args, &r);
		pthread_mutex_unlock(&o->ctl.mu);
	}
	fclose(r.f);
	/* a replica's name or a reason may quote a connection string */
	secrets_mask(&o->log.secrets, buf);
	evbuffer_add(out, buf, strlen(buf));
	free(buf);
}

/* ---------------------------------------------------------------- libevent */

static void client_done(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void client_read(struct bufferevent *bev, void *arg)
{
	Osc *o = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > 4096)
			bufferevent_free(bev);
		return;
	}
	dispatch(o, line, bufferevent_get_output(bev));
	free(line);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, client_done, client_event, o);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	(void)l;
	(void)sa;
	(void)socklen;
	Osc *o = arg;
	Loop *lp = o->ctl.loop;
	uid_t uid;
	pid_t pid;
	if (!peer_uid(fd, &uid, &pid) || uid != geteuid()) {
		/* the socket's mode keeps others out; this holds even if the mode
		 * or the directory were wrong */
		log_msg(&o->log, LOG_WARN, "control socket: refused a connection from uid %u (pid %d): not this run's user",
		        (unsigned)uid, (int)pid);
		close(fd);
		return;
	}
	struct bufferevent *bev = bufferevent_socket_new(lp->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	struct timeval tv = { 5, 0 };
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, client_read, NULL, client_event, o);
	bufferevent_enable(bev, EV_READ);
}

/* Whether a flag file counts; one that exists but is not the user's own
 * regular file is ignored, and said once each time it appears. */
static bool flag_counts(Osc *o, const char *what, const char *path, bool *warned)
{
	char why[128];
	bool present = localpath_flag_present(path, why, sizeof(why));
	if (why[0] && !*warned)
		log_msg(&o->log, LOG_WARN, "ignoring %s %s: it %s (osc only trusts a regular file of yours there)", what,
		        path, why);
	*warned = why[0] != '\0';
	return present;
}

/* Reads the flag files and decides again. */
static void read_flag_files(Osc *o)
{
	Control *c = &o->ctl;
	bool pause = flag_counts(o, "--pause-file", o->opt.pause_file, &c->pause_file_ignored);
	bool panic = flag_counts(o, "--panic-file", o->opt.panic_file, &c->panic_file_ignored);
	pthread_mutex_lock(&c->mu);
	c->pause_file = pause;
	c->panic_file = panic;
	control_evaluate_locked(o);
	pthread_mutex_unlock(&c->mu);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	Osc *o = arg;
	Control *c = &o->ctl;
	Loop *lp = c->loop;

	if (atomic_load(&c->quit)) {
		event_base_loopbreak(lp->base);
		return;
	}
	read_flag_files(o);
}

void control_block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *loop_main(void *arg)
{
	Osc *o = arg;
	Loop *lp = o->ctl.loop;
	control_block_signals();
	event_base_dispatch(lp->base);
	return NULL;
}

/* A socket file left by a killed run answers nothing: remove it.  One that
 * answers belongs to a live osc of this user; anything else at the path
 * (another user's socket, a file, a link) is refused and left alone. */
static bool claim_path(const char *path, OscErr *e)
{
	struct sockaddr_un sa;
	uid_t uid;
	pid_t pid;

	if (!localpath_check_socket(path, e))
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err_set(e, OSC_EXIT_FAILED, "control socket: %s", strerror(errno));
		return false;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		bool mine = peer_uid(fd, &uid, &pid) && uid == geteuid();
		close(fd);
		if (mine)
			err_set(e, OSC_EXIT_STOPPED, "control socket %s: another osc answers there (pid %d)", path, (int)pid);
		else
			err_set(e, OSC_EXIT_INPUT,
			        "control socket %s: a process of uid %u answers there, not one of yours: give --socket a path "
			        "in a directory only you can write; nothing was done",
			        path, (unsigned)uid);
		return false;
	}
	close(fd);
	unlink(path);
	return true;
}

/* A local path refused at the start of a resumed run: the unfinished
 * migration is left to be resumed (exit 3) once the path is fixed, not
 * aborted because of a file someone else put in its way. */
static bool refuse_start(Osc *o, OscErr *e)
{
	if (o->resume != RESUME_NONE && e->exit == OSC_EXIT_INPUT)
		e->exit = OSC_EXIT_STOPPED;
	return false;
}

bool control_start(Osc *o, OscErr *e)
{
	Control *c = &o->ctl;
	struct sockaddr_un sa;
	Loop *lp;

	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->changed, NULL);
	c->limits = o->opt.limits;
	c->chunk_time_ms = o->opt.chunk_time_ms;
	c->chunk_size_max = o->opt.chunk_size_max;
	c->decision.max_lag_ms = -1;
	c->progress = o->progress;
	if (!control_socket_path(o, true, false, c->socket_path, sizeof(c->socket_path), e))
		return refuse_start(o, e);
	if (strlen(c->socket_path) >= sizeof(sa.sun_path)) {
		err_set(e, OSC_EXIT_INPUT, "--socket: the path is too long for a Unix socket");
		return refuse_start(o, e);
	}
	if (!claim_path(c->socket_path, e))
		return refuse_start(o, e);
	/* the postpone flag, made here (no link followed, an existing one only
	 * if it is the user's file): a refusal changes nothing */
	if (o->opt.postpone_cutover && !localpath_create_flag("--postpone-cutover", o->opt.postpone_cutover, e))
		return refuse_start(o, e);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err_set(e, OSC_EXIT_FAILED, "control socket: %s", strerror(errno));
		return false;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->socket_path);
	/* the socket is born 0600: only its owner steers the run (no chmod
	 * after bind: in a shared directory the path could be a link by then;
	 * no other thread runs yet to see the umask) */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0) {
		err_set(e, OSC_EXIT_INPUT, "control socket %s: %s", c->socket_path, strerror(errno));
		close(fd);
		return refuse_start(o, e);
	}

	lp = calloc(1, sizeof(Loop));
	if (lp == NULL)
		abort();
	c->loop = lp;
	lp->base = event_base_new();
	if (lp->base == NULL)
		goto fail;
	lp->listener = evconnlistener_new(lp->base, on_accept, o, LEV_OPT_CLOSE_ON_FREE, 16, fd);
	if (lp->listener == NULL)
		goto fail;
	fd = -1;
	lp->tick = event_new(lp->base, -1, EV_PERSIST, on_tick, o);
	struct timeval tv = { 0, 100 * 1000 };
	if (lp->tick == NULL || event_add(lp->tick, &tv) != 0)
		goto fail;
	/* a flag file present at the start counts before the first tick */
	read_flag_files(o);
	if (pthread_create(&c->loop_thread, NULL, loop_main, o) != 0)
		goto fail;
	c->started = true;
	log_msg(&o->log, LOG_INFO, "control socket: %s (osc status|pause|resume|cutover|abort|set --table %s)",
	        c->socket_path, o->opt.table);
	return true;
fail:
	if (fd >= 0)
		close(fd);
	err_set(e, OSC_EXIT_FAILED, "control socket %s: cannot start the event loop", c->socket_path);
	control_stop(o);
	return false;
}

void control_stop(Osc *o)
{
	Control *c = &o->ctl;
	Loop *lp = c->loop;

	if (c->started) {
		atomic_store(&c->quit, true);
		pthread_join(c->loop_thread, NULL);
		c->started = false;
	}
	if (lp) {
		if (lp->tick)
			event_free(lp->tick);
		if (lp->listener)
			evconnlistener_free(lp->listener);
		if (lp->base)
			event_base_free(lp->base);
		free(lp);
		c->loop = NULL;
		unlink(c->socket_path);
	}
}

/* ---------------------------------------------------------------- client */

OscExit control_client(Osc *o, const char *command, bool *running)
{
	char path[108];
	struct sockaddr_un sa;
	char buf[8192];
	OscErr e;
	uid_t uid;
	pid_t pid;

	*running = false;
	err_clear(&e);
	/* the run's directory: XDG_RUNTIME_DIR's, or the one under $TMPDIR
	 * when the run had none (cron) */
	bool found = control_socket_path(o, false, false, path, sizeof(path), &e);
	struct stat st;
	if (found && o->opt.socket_path == NULL && getenv("XDG_RUNTIME_DIR") && lstat(path, &st) != 0)
		found = control_socket_path(o, false, true, path, sizeof(path), &e);
	if (!found || !localpath_check_socket(path, &e)) {
		/* no answer from a place someone else controls: not even "nothing
		 * runs", which would send status to the state table */
		*running = true;
		log_error(&o->log, &e);
		return OSC_EXIT_INPUT;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return OSC_EXIT_FAILED;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return OSC_EXIT_FAILED;
	}
	*running = true;
	if (!peer_uid(fd, &uid, &pid) || uid != geteuid()) {
		log_msg(&o->log, LOG_ERROR,
		        "the control socket %s is held by uid %u (pid %d), not by you: osc does not talk to it; nothing was "
		        "sent",
		        path, (unsigned)uid, (int)pid);
		close(fd);
		return OSC_EXIT_INPUT;
	}
	size_t len = strlen(command);
	if (write(fd, command, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "osc: error: control socket %s: %s\n", path, strerror(errno));
		close(fd);
		return OSC_EXIT_FAILED;
	}
	/* the answer, until the server closes (bounded: 5 s of silence) */
	size_t got = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			break;
		if (got == sizeof(buf) - 1) {
			fwrite(buf, 1, got, stdout);
			got = 0;
		}
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	bool ok = strncmp(buf, "ok", 2) == 0;
	/* "ok\n" alone before a status body is not worth printing */
	const char *body = strncmp(buf, "ok\n", 3) == 0 ? buf + 3 : buf;
	fputs(body, ok ? stdout : stderr);
	return ok ? OSC_EXIT_OK : OSC_EXIT_FAILED;
}
