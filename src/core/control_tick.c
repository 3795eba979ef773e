/*
 * control_tick.c — the control loop's 100 ms tick: it reads the flag files
 * (--pause-file, --panic-file) and decides the throttle again, and it is
 * where the loop notices that it must stop (Control.quit).
 *
 * A flag file counts only when it is the user's own regular file, a link
 * not followed (src/lib/localpath.h): anyone can create a file in /tmp,
 * and a pause file planted there must not stall a run, nor a panic file
 * abort it.  One that is there but does not count is said once.
 */
#include "control_int.h"

#include <stdatomic.h>

#include <event2/event.h>

#include "localpath.h"
#include "osc.h"

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

void control_read_flag_files(Osc *o)
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

	if (atomic_load(&c->quit)) {
		event_base_loopbreak(c->loop->base);
		return;
	}
	control_read_flag_files(o);
}

bool control_tick_add(Osc *o, ControlLoop *lp)
{
	struct timeval tv = { 0, 100 * 1000 };
	lp->tick = event_new(lp->base, -1, EV_PERSIST, on_tick, o);
	return lp->tick != NULL && event_add(lp->tick, &tv) == 0;
}
