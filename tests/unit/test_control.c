/*
 * test_control.c — the control socket's command table without a socket or
 * a server: each command line through control_dispatch, its answer, and
 * what it changes in the shared state (pause and resume decide the
 * throttle again; osc set is all or nothing; unknown commands and bad
 * settings are refused; status masks the passwords osc knows).
 */
#include "unit.h"

#include <stdlib.h>

#include "control_int.h"
#include "osc.h"

static FILE *devnull;

static void setup(Osc *o)
{
	OscErr e;
	memset(o, 0, sizeof(*o));
	options_defaults(&o->opt);
	o->opt.table = "t_ctl";
	o->opt.log_format = LOG_TEXT;
	CHECK(log_init(&o->log, &o->opt, &e));
	o->log.out = devnull; /* the commands log what they did */
	control_state_init(o);
}

/* Runs line (copied: dispatch cuts it up); the answer, malloc'd. */
static char *run(Osc *o, const char *line, bool *ok)
{
	char *copy = strdup(line), *answer = NULL;
	*ok = control_dispatch(o, copy, &answer);
	free(copy);
	return answer;
}

#define EXPECT(o, line, want_ok, prefix)                                                     \
	do {                                                                                     \
		bool ok_;                                                                            \
		char *a_ = run(o, line, &ok_);                                                       \
		CHECK(ok_ == (want_ok));                                                             \
		if (strncmp(a_, prefix, strlen(prefix)) != 0) {                                      \
			unit_failed++;                                                                   \
			fprintf(stderr, "%s:%d: '%s' answered \"%s\", expected \"%s...\"\n", __FILE__,   \
			        __LINE__, line, a_, prefix);                                             \
		}                                                                                    \
		unit_checks++;                                                                       \
		free(a_);                                                                            \
	} while (0)

static void test_pause_resume(Osc *o)
{
	Control *c = &o->ctl;
	bool ok;
	char *a;

	EXPECT(o, "pause", true, "ok: paused");
	CHECK(c->operator_paused);
	CHECK(c->decision.action == THROTTLE_PAUSE);
	CHECK(strstr(c->decision.reason, "paused by the operator") != NULL);

	a = run(o, "status json", &ok);
	CHECK(ok);
	CHECK(strncmp(a, "ok\n{\"table\":\"t_ctl\",", 20) == 0);
	CHECK(strstr(a, "\"throttled\":true,\"operator_paused\":true") != NULL);
	free(a);
	a = run(o, "status", &ok);
	CHECK(ok);
	CHECK(strstr(a, "\ntable:     t_ctl\n") != NULL);
	CHECK(strstr(a, "\nthrottle:  PAUSED for ") != NULL);
	free(a);

	EXPECT(o, "resume", true, "ok: resumed\n");
	CHECK(!c->operator_paused);
	CHECK(c->decision.action == THROTTLE_GO);
}

static void test_set(Osc *o)
{
	Control *c = &o->ctl;

	EXPECT(o, "set chunk-time=20ms max-lag=2s chunk-size-max=50 critical-lag=1m critical-interval=3s", true,
	       "ok: set");
	CHECK(c->chunk_time_ms == 20);
	CHECK(c->limits.max_lag_ms == 2000);
	CHECK(c->chunk_size_max == 50);
	CHECK(c->limits.critical_lag_ms == 60000);
	CHECK(c->limits.critical_interval_ms == 3000);

	/* all or nothing: the good pair before a bad one is put back */
	EXPECT(o, "set chunk-time=30ms nonsense=1", false, "error: unknown setting 'nonsense'");
	CHECK(c->chunk_time_ms == 20);
	EXPECT(o, "set max-lag=5s chunk-size-max=0", false, "error: chunk-size-max: expected a whole number >= 1");
	CHECK(c->limits.max_lag_ms == 2000);
	EXPECT(o, "set max-lag=soon", false, "error: max-lag: expected a duration");
	EXPECT(o, "set chunk-size-max=12x", false, "error: chunk-size-max");
	EXPECT(o, "set max-lag", false, "error: expected name=value, got 'max-lag'");
	EXPECT(o, "set", false, "error: expected name=value pairs");
	/* a metric not watched yet is read first (no engine here: refused) */
	EXPECT(o, "set max-load=Threads_running=5", false, "error: Threads_running: this run reads no load metrics");
	/* the limits the worker reads from its options */
	EXPECT(o, "set lock-timeout=250ms cutover-retries=9 max-runtime=2h", true, "ok: set");
	CHECK(c->lock_timeout_ms == 250 && c->cutover_retries == 9 && c->max_runtime_ms == 7200000);
	EXPECT(o, "set lock-timeout=0ms", false, "error: lock-timeout: expected a duration such as 250ms or 2s of at least 1ms");
	EXPECT(o, "set cutover-retries=3 lock-timeout=x", false, "error: lock-timeout");
	CHECK(c->cutover_retries == 9 && c->lock_timeout_ms == 250);
	c->nload = 1;
	snprintf(c->load_names[0], sizeof(c->load_names[0]), "Threads_running");
	c->load[0].name = c->load_names[0]; /* as the monitor fills it */
	EXPECT(o, "set max-load=Threads_running=5", true, "ok: set");
	CHECK(c->limits.max_load.n == 1);
	c->nload = 0;
	CHECK(c->chunk_time_ms == 20 && c->chunk_size_max == 50);
}

static void test_cutover_abort(Osc *o)
{
	Control *c = &o->ctl;

	EXPECT(o, "cutover", true, "ok: the swap goes ahead once the copy is done\n");
	CHECK(c->cutover_requested);
	EXPECT(o, "abort", true, "ok: aborting after the current step");
	CHECK(c->abort_requested);
	CHECK_STR(c->abort_reason, "aborted by the operator (osc abort)");
	/* a second abort keeps the first reason */
	snprintf(c->abort_reason, sizeof(c->abort_reason), "first");
	EXPECT(o, "abort", true, "ok: aborting");
	CHECK_STR(c->abort_reason, "first");
}

static void test_refused(Osc *o)
{
	EXPECT(o, "bogus", false, "error: unknown command 'bogus' (status, pause, resume, cutover, abort, set, ps)");
	EXPECT(o, "", false, "error: unknown command ''");
	EXPECT(o, "PAUSE", false, "error: unknown command 'PAUSE'");
	EXPECT(o, "pauses", false, "error: unknown command 'pauses'");
	CHECK(!o->ctl.operator_paused);
}

/* A replica's name may carry a connection string: the answer never shows
 * a password osc knows. */
static void test_masked(Osc *o)
{
	Control *c = &o->ctl;
	bool ok;

	secrets_add(&o->log.secrets, "s3cr3t-pw");
	c->nreplicas = 1;
	snprintf(c->replicas[0].name, sizeof(c->replicas[0].name), "host=r1 password=s3cr3t-pw");
	char *a = run(o, "status", &ok);
	CHECK(ok);
	CHECK(strstr(a, "replica:   host=r1") != NULL);
	CHECK(strstr(a, "s3cr3t-pw") == NULL);
	free(a);
	a = run(o, "status json", &ok);
	CHECK(strstr(a, "\"replicas\":[{\"name\":\"host=r1") != NULL);
	CHECK(strstr(a, "s3cr3t-pw") == NULL);
	free(a);
	c->nreplicas = 0;
}

void test_control(void)
{
	Osc *o = calloc(1, sizeof(*o));

	devnull = fopen("/dev/null", "w");
	setup(o);
	test_pause_resume(o);
	test_set(o);
	test_cutover_abort(o);
	test_refused(o);
	test_masked(o);
	o->log.out = stderr;
	log_close(&o->log);
	fclose(devnull);
	free(o);
}
