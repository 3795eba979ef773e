/*
 * lag.c — the monitor: heartbeat, replica lag and load, engine-neutral.
 *
 * A thread of its own (its queries block) that, every --heartbeat-interval:
 *   - writes osc's wall clock into the heartbeat row on the primary (once the
 *     work objects exist; the engine creates the table on the first beat);
 *   - reads the newest heartbeat on each replica: the replica's lag is then
 *     osc's clock now minus that beat (control.c computes it when deciding,
 *     so a replica that stops answering keeps aging);
 *   - reads the --max-load / --critical-load metrics on the primary;
 * and once a second refreshes the replicas the primary reports (only shown).
 * A replica that cannot be read keeps its last heartbeat and its error,
 * which the throttle turns into a pause (fail closed); its connection is
 * reopened on the next turn.  The time of the first heartbeat written is
 * kept too: a replica that shows none of them is at least that far behind,
 * which --critical-lag counts (a replica stopped before the run began).
 */
#include "lag.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osc.h"

typedef struct Watched {
	const char *url;       /* --replica; NULL when discovered */
	char host[256];        /* discovered: the primary's credentials here */
	int port;
	void *probe;           /* NULL: (re)connect on the next turn */
} Watched;

typedef struct Monitor {
	void *primary;
	Watched replicas[THROTTLE_MAX_REPLICAS];
	int nreplicas;
	bool heartbeat_ready;  /* the table exists */
	int64_t last_find_ms;
	char beat_error[256];  /* the last heartbeat write's error, logged once */
} Monitor;

/* An error message on one line (libpq's span several), cut to fit. */
static void one_line(char *out, size_t outsz, const char *msg)
{
	size_t k = 0;
	for (const char *p = msg; *p && k + 1 < outsz; p++) {
		char ch = (*p == '\n' || *p == '\t' || *p == '\r') ? ' ' : *p;
		if (ch == ' ' && (k == 0 || out[k - 1] == ' '))
			continue;
		out[k++] = ch;
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* "host:port" of a URL for messages, without the credentials. */
static void replica_name(const char *url, char *out, size_t outsz)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	const char *at = strrchr(p, '@');
	if (at)
		p = at + 1;
	size_t n = strcspn(p, "/?");
	snprintf(out, outsz, "%.*s", (int)n, p);
}

static void read_replicas(Osc *o, Monitor *m)
{
	const EngineMonitor *en = o->engine->monitor;
	for (int i = 0; i < m->nreplicas && !atomic_load(&o->ctl.monitor_quit); i++) {
		Watched *w = &m->replicas[i];
		OscErr e;
		int64_t beat = 0;
		bool ok = false;

		err_clear(&e);
		if (w->probe == NULL)
			w->probe = en->probe_open(&o->env, w->url, w->url ? NULL : w->host, w->port, &e);
		if (w->probe != NULL) {
			ok = en->heartbeat_read(o->table, w->probe, &beat, &e);
			if (!ok) {
				en->probe_close(w->probe);
				w->probe = NULL;
			}
		}
		pthread_mutex_lock(&o->ctl.mu);
		ReplicaState *r = &o->ctl.replicas[i];
		if (ok) {
			if (beat > r->beat_ms)
				r->beat_ms = beat;
			r->error[0] = '\0';
		} else {
			one_line(r->error, sizeof(r->error), e.msg);
		}
		pthread_mutex_unlock(&o->ctl.mu);
	}
}

static void read_load(Osc *o, Monitor *m)
{
	/* osc set may add metrics meanwhile (src/core/control_commands.c) */
	char names[THROTTLE_MAX_METRICS][sizeof(o->ctl.load_names[0])];
	int n;
	pthread_mutex_lock(&o->ctl.mu);
	n = o->ctl.nload;
	memcpy(names, o->ctl.load_names, sizeof(names));
	pthread_mutex_unlock(&o->ctl.mu);
	for (int i = 0; i < n; i++) {
		OscErr e;
		double v = 0;
		err_clear(&e);
		bool ok = m->primary && o->engine->monitor->load_read(m->primary, names[i], &v, &e);
		pthread_mutex_lock(&o->ctl.mu);
		o->ctl.load[i].ok = ok;
		o->ctl.load[i].value = v;
		pthread_mutex_unlock(&o->ctl.mu);
	}
}

static void beat(Osc *o, Monitor *m)
{
	OscErr e;
	bool armed;

	pthread_mutex_lock(&o->ctl.mu);
	armed = o->ctl.heartbeat_armed;
	pthread_mutex_unlock(&o->ctl.mu);
	if (!armed || m->primary == NULL)
		return;
	err_clear(&e);
	if (!m->heartbeat_ready) {
		m->heartbeat_ready = o->engine->monitor->heartbeat_setup(o->table, m->primary, &e);
		if (!m->heartbeat_ready)
			goto fail;
	}
	int64_t now = wall_ms();
	if (o->engine->monitor->heartbeat_write(o->table, m->primary, now, &e)) {
		m->beat_error[0] = '\0';
		/* from here on, a replica that shows none of the beats is at
		 * least this far behind (throttle.h) */
		pthread_mutex_lock(&o->ctl.mu);
		if (o->ctl.first_beat_ms == 0)
			o->ctl.first_beat_ms = now;
		pthread_mutex_unlock(&o->ctl.mu);
		return;
	}
fail:
	/* the replicas' heartbeats age: the throttle notices; say why once */
	char msg[sizeof(m->beat_error)];
	one_line(msg, sizeof(msg), e.msg);
	if (strcmp(m->beat_error, msg) != 0) {
		memcpy(m->beat_error, msg, sizeof(msg));
		log_msg(&o->log, LOG_WARN, "heartbeat: cannot write on the primary: %s", msg);
	}
}

static void refresh_shown(Osc *o, Monitor *m)
{
	ReplicaState found[THROTTLE_MAX_REPLICAS];
	int n = 0;
	bool watch = false;
	OscErr e;

	if (now_ms() - m->last_find_ms < 1000 || m->primary == NULL)
		return;
	m->last_find_ms = now_ms();
	err_clear(&e);
	if (!o->engine->monitor->replicas_find(m->primary, found, THROTTLE_MAX_REPLICAS, &n, &watch, &e) || watch)
		return;
	pthread_mutex_lock(&o->ctl.mu);
	memcpy(o->ctl.observed, found, sizeof(found[0]) * (size_t)n);
	o->ctl.nobserved = n;
	pthread_mutex_unlock(&o->ctl.mu);
}

static void *monitor_main(void *arg)
{
	Osc *o = arg;
	Monitor *m = o->ctl.monitor;

	control_block_signals();
	while (!atomic_load(&o->ctl.monitor_quit)) {
		int64_t t0 = now_ms();
		beat(o, m);
		read_replicas(o, m);
		read_load(o, m);
		refresh_shown(o, m);
		pthread_mutex_lock(&o->ctl.mu);
		control_evaluate_locked(o);
		pthread_mutex_unlock(&o->ctl.mu);
		int64_t left = t0 + o->opt.heartbeat_interval_ms - now_ms();
		while (left > 0 && !atomic_load(&o->ctl.monitor_quit)) {
			sleep_ms(left > 50 ? 50 : left);
			left = t0 + o->opt.heartbeat_interval_ms - now_ms();
		}
	}
	return NULL;
}

bool lag_start(Osc *o, OscErr *e)
{
	const EngineMonitor *en = o->engine->monitor;
	Monitor *m = xcalloc(1, sizeof(Monitor));
	o->ctl.monitor = m;
	atomic_store(&o->ctl.monitor_quit, false); /* a second start, after lag_stop */

	m->primary = en->probe_open(&o->env, NULL, NULL, 0, e);
	if (m->primary == NULL)
		return false;

	/* every metric must be readable now: a typo is bad input, not a pause */
	LoadList *lists[2] = { &o->ctl.limits.max_load, &o->ctl.limits.critical_load };
	for (int l = 0; l < 2; l++) {
		for (int i = 0; i < lists[l]->n; i++) {
			const char *name = lists[l]->item[i].name;
			int k;
			for (k = 0; k < o->ctl.nload; k++)
				if (strcmp(o->ctl.load_names[k], name) == 0)
					break;
			if (k < o->ctl.nload)
				continue;
			double v;
			if (!en->load_read(m->primary, name, &v, e))
				return false;
			snprintf(o->ctl.load_names[k], sizeof(o->ctl.load_names[k]), "%s", name);
			o->ctl.load[k].name = o->ctl.load_names[k];
			o->ctl.load[k].ok = true;
			o->ctl.load[k].value = v;
			o->ctl.nload++;
		}
	}

	/* the replicas: --replica, else those the primary names to be watched */
	for (int i = 0; i < o->opt.nreplicas; i++) {
		m->replicas[i].url = o->opt.replicas[i];
		replica_name(o->opt.replicas[i], o->ctl.replicas[i].name, sizeof(o->ctl.replicas[i].name));
	}
	m->nreplicas = o->opt.nreplicas;
	ReplicaState found[THROTTLE_MAX_REPLICAS];
	int n = 0;
	bool watch = false;
	OscErr fe;
	err_clear(&fe);
	/* those the primary reports, also beside --replica (shown, and an
	 * in-place run's lag gate reads them from the start); only needed
	 * without --replica (MySQL's SHOW SLAVE HOSTS wants a privilege) */
	bool found_ok = en->replicas_find(m->primary, found, THROTTLE_MAX_REPLICAS, &n, &watch, &fe);
	if (!found_ok && m->nreplicas == 0) {
		*e = fe;
		return false;
	}
	if (found_ok && !watch) {
		memcpy(o->ctl.observed, found, sizeof(found[0]) * (size_t)n);
		o->ctl.nobserved = n;
	}
	if (m->nreplicas == 0) {
		for (int i = 0; watch && i < n; i++) {
			Watched *w = &m->replicas[m->nreplicas];
			char *colon = strrchr(found[i].name, ':');
			snprintf(w->host, sizeof(w->host), "%.*s", colon ? (int)(colon - found[i].name) : (int)strlen(found[i].name),
			         found[i].name);
			w->port = colon ? atoi(colon + 1) : 0;
			o->ctl.replicas[m->nreplicas] = found[i];
			o->ctl.replicas[m->nreplicas].beat_ms = 0;
			o->ctl.replicas[m->nreplicas].error[0] = '\0';
			m->nreplicas++;
		}
	}
	o->ctl.nreplicas = m->nreplicas;
	for (int i = 0; i < m->nreplicas; i++) {
		OscErr re;
		err_clear(&re);
		m->replicas[i].probe = en->probe_open(&o->env, m->replicas[i].url, m->replicas[i].url ? NULL : m->replicas[i].host,
		                                      m->replicas[i].port, &re);
		if (m->replicas[i].probe == NULL) {
			one_line(o->ctl.replicas[i].error, sizeof(o->ctl.replicas[i].error), re.msg);
			log_msg(&o->log, LOG_WARN, "replica %s: %s; osc pauses until it can read the replica's lag",
			        o->ctl.replicas[i].name, o->ctl.replicas[i].error);
		} else {
			log_msg(&o->log, LOG_INFO, "watching the lag of replica %s (--max-lag %ldms)", o->ctl.replicas[i].name,
			        (long)o->ctl.limits.max_lag_ms);
		}
	}

	if (pthread_create(&o->ctl.monitor_thread, NULL, monitor_main, o) != 0) {
		err_set(e, OSC_EXIT_FAILED, "cannot start the monitor thread");
		return false;
	}
	o->ctl.monitor_started = true;
	return true;
}

void lag_arm(Osc *o)
{
	if (!o->ctl.started)
		return;
	pthread_mutex_lock(&o->ctl.mu);
	o->ctl.heartbeat_armed = true;
	/* from now on the replicas count: no chunk before their first reading */
	control_evaluate_locked(o);
	pthread_mutex_unlock(&o->ctl.mu);
}

void lag_disarm(Osc *o)
{
	if (!o->ctl.started)
		return;
	pthread_mutex_lock(&o->ctl.mu);
	o->ctl.heartbeat_armed = false;
	control_evaluate_locked(o);
	pthread_mutex_unlock(&o->ctl.mu);
}

void lag_stop(Osc *o)
{
	Monitor *m = o->ctl.monitor;
	if (o->ctl.monitor_started) {
		atomic_store(&o->ctl.monitor_quit, true);
		pthread_join(o->ctl.monitor_thread, NULL);
		o->ctl.monitor_started = false;
	}
	if (m == NULL)
		return;
	for (int i = 0; i < m->nreplicas; i++)
		if (m->replicas[i].probe)
			o->engine->monitor->probe_close(m->replicas[i].probe);
	if (m->primary)
		o->engine->monitor->probe_close(m->primary);
	free(m);
	o->ctl.monitor = NULL;
}
