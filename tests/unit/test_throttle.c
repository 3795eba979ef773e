/*
 * test_throttle.c — the throttle rules and --max-load parsing.
 */
#include "unit.h"

#include "throttle.h"

static ThrottleDecision eval(const ThrottleLimits *l, ThrottleInputs *in, ThrottleState *st, int64_t now)
{
	ThrottleDecision d;
	in->now_ms = now;
	throttle_evaluate(l, in, st, &d);
	return d;
}

void test_throttle(void)
{
	ThrottleLimits l;
	ThrottleState st = { 0 };
	ReplicaLag r[2] = { { "r1", 0, NULL }, { "r2", 0, NULL } };
	LoadReading ld[1] = { { "Threads_running", 3, true } };
	ThrottleInputs in;
	ThrottleDecision d;
	char err[128];

	memset(&l, 0, sizeof(l));
	memset(&in, 0, sizeof(in));
	l.max_lag_ms = 1500;

	/* nothing to watch: go */
	d = eval(&l, &in, &st, 100000);
	CHECK(d.action == THROTTLE_GO);
	CHECK(d.max_lag_ms == -1);

	/* a replica without a heartbeat yet fails closed */
	in.replicas = r;
	in.nreplicas = 2;
	r[0].beat_ms = 99900;
	d = eval(&l, &in, &st, 100000);
	CHECK(d.action == THROTTLE_PAUSE);
	CHECK_STR(d.cause, "lag r2");
	CHECK(strstr(d.reason, "no heartbeat") != NULL);

	/* both fresh: go; lag is now - beat */
	r[1].beat_ms = 99000;
	d = eval(&l, &in, &st, 100000);
	CHECK(d.action == THROTTLE_GO);
	CHECK(d.max_lag_ms == 1000);

	/* one above max-lag: pause, naming it */
	d = eval(&l, &in, &st, 100600);
	CHECK(d.action == THROTTLE_PAUSE);
	CHECK_STR(d.cause, "lag r2");
	CHECK(strstr(d.reason, "1.6s behind") != NULL);
	CHECK(d.max_lag_ms == 1600);

	/* a failed read with a recent heartbeat: not yet; the heartbeat ages */
	r[0].beat_ms = 102000;
	r[1].beat_ms = 100500;
	r[1].error = "connection refused";
	d = eval(&l, &in, &st, 100600);
	CHECK(d.action == THROTTLE_GO);
	d = eval(&l, &in, &st, 102100);
	CHECK(d.action == THROTTLE_PAUSE);
	CHECK(strstr(d.reason, "cannot be read: connection refused") != NULL);
	r[1].error = NULL;

	/* critical lag, held for the interval, aborts; pauses before that */
	l.critical_lag_ms = 5000;
	l.critical_interval_ms = 1000;
	r[0].beat_ms = r[1].beat_ms = 200000;
	d = eval(&l, &in, &st, 205000);
	CHECK(d.action == THROTTLE_PAUSE);
	CHECK(strstr(d.reason, "aborting if it lasts") != NULL);
	d = eval(&l, &in, &st, 205500);
	CHECK(d.action == THROTTLE_PAUSE);
	d = eval(&l, &in, &st, 206000);
	CHECK(d.action == THROTTLE_ABORT);
	CHECK(strstr(d.reason, "--critical-lag 5.0s") != NULL);
	/* the clock restarts when the reading clears */
	r[0].beat_ms = r[1].beat_ms = 206000;
	d = eval(&l, &in, &st, 206100);
	CHECK(d.action == THROTTLE_GO);
	CHECK(st.critical_since_ms == 0);

	/* no heartbeat ever shown: at least the time since osc wrote its first
	 * one, which --critical-lag counts (a replica stopped before the run) */
	l.critical_interval_ms = 0;
	st.critical_since_ms = 0;
	r[0].beat_ms = 0;
	r[1].beat_ms = 399900;
	in.first_beat_ms = 0;
	d = eval(&l, &in, &st, 400000);
	CHECK(d.action == THROTTLE_PAUSE); /* nothing written yet: no floor */
	CHECK(strstr(d.reason, "r1 shows no heartbeat yet") != NULL);
	in.first_beat_ms = 396000;
	CHECK(throttle_replica_lag_floor(&r[0], in.first_beat_ms, 400000) == 4000);
	CHECK(throttle_replica_lag_floor(&r[1], in.first_beat_ms, 400000) == -1);
	r[1].beat_ms = 399500;
	d = eval(&l, &in, &st, 400000);
	CHECK(d.action == THROTTLE_PAUSE);
	CHECK(d.max_lag_ms == 500); /* the floor is no reading: r1 still shows none */
	r[0].error = "connection refused";
	d = eval(&l, &in, &st, 401000);
	CHECK(d.action == THROTTLE_ABORT);
	CHECK_STR(d.cause, "critical lag r1");
	CHECK(strstr(d.reason, "r1 is at least 5.0s behind") != NULL);
	CHECK(strstr(d.reason, ": connection refused") != NULL);
	r[0].error = NULL;
	in.first_beat_ms = 0;
	r[0].beat_ms = 401000;

	/* max-lag 0: lag does not throttle */
	l.max_lag_ms = 0;
	l.critical_lag_ms = 0;
	d = eval(&l, &in, &st, 999999);
	CHECK(d.action == THROTTLE_GO);
	l.max_lag_ms = 1500;

	/* load: max pauses, critical aborts (interval 0: at once) */
	in.load = ld;
	in.nload = 1;
	CHECK(throttle_parse_load("Threads_running=5", &l.max_load, err, sizeof(err)));
	CHECK(throttle_parse_load("Threads_running=50", &l.critical_load, err, sizeof(err)));
	l.critical_interval_ms = 0;
	d = eval(&l, &in, &st, 206100);
	CHECK(d.action == THROTTLE_GO);
	ld[0].value = 6;
	d = eval(&l, &in, &st, 206100);
	CHECK(d.action == THROTTLE_PAUSE);
	CHECK_STR(d.cause, "load Threads_running");
	ld[0].value = 50;
	d = eval(&l, &in, &st, 206100);
	CHECK(d.action == THROTTLE_ABORT);
	ld[0].value = 1;
	ld[0].ok = false;
	d = eval(&l, &in, &st, 206100);
	CHECK(d.action == THROTTLE_PAUSE);
	ld[0].ok = true;

	/* operator and flag files; panic wins over everything */
	in.operator_paused = true;
	d = eval(&l, &in, &st, 206100);
	CHECK(d.action == THROTTLE_PAUSE);
	CHECK_STR(d.cause, "operator");
	in.operator_paused = false;
	in.pause_file = true;
	in.pause_file_name = "/tmp/p";
	d = eval(&l, &in, &st, 206100);
	CHECK_STR(d.cause, "pause file");
	CHECK(strstr(d.reason, "/tmp/p") != NULL);
	in.panic_file = true;
	d = eval(&l, &in, &st, 206100);
	CHECK(d.action == THROTTLE_ABORT);
	CHECK_STR(d.cause, "panic file");

	/* --max-load parsing */
	LoadList ll;
	CHECK(throttle_parse_load("Threads_running=25,Threads_connected=300", &ll, err, sizeof(err)));
	CHECK(ll.n == 2);
	CHECK_STR(ll.item[1].name, "Threads_connected");
	CHECK(ll.item[1].value == 300);
	CHECK(throttle_parse_load("active_sessions=2.5", &ll, err, sizeof(err)) && ll.item[0].value == 2.5);
	CHECK(!throttle_parse_load("", &ll, err, sizeof(err)));
	CHECK(!throttle_parse_load("Threads_running", &ll, err, sizeof(err)));
	CHECK(!throttle_parse_load("Threads_running=x", &ll, err, sizeof(err)));
	CHECK(!throttle_parse_load("a=1,", &ll, err, sizeof(err)));
	CHECK(!throttle_parse_load("a=-1", &ll, err, sizeof(err)));
	CHECK(!throttle_parse_load("a b=1", &ll, err, sizeof(err)));
	CHECK(!throttle_parse_load("x'; DROP=1", &ll, err, sizeof(err)));
}
