/*
 * pgconns — many idle libpq connections, for the proxy's tests: how the
 * proxy holds and releases a thousand sessions at once, and what they see
 * when the server restarts under it.
 *
 *   pgconns --db CONNINFO --n N
 *
 * Opens N connections (nonblocking, all at once), prints "connected N"
 * (or "connect-failed K: <first error>" and exits 1), then reads commands
 * on stdin, one per line, and answers each with one line on stdout:
 *   query SQL   sends SQL on every connection at once and waits for all
 *               answers: "done ok=N failed=M max_ms=X first_error=..."
 *   quit        closes them all and exits 0
 * A connection that failed stays failed (its later queries count as
 * failed), so a test sees exactly what the application would.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: pgconns --db CONNINFO --n N\n");
	exit(2);
}

/* Drives every connection's PQconnectPoll until each is up or failed. */
static int connect_all(PGconn **c, int n, char *err, size_t errsz)
{
	PostgresPollingStatusType *st = calloc((size_t)n, sizeof(*st));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	int failed = 0, pending = 0;
	if (st == NULL || p == NULL)
		exit(1);
	for (int i = 0; i < n; i++) {
		if (c[i] == NULL || PQstatus(c[i]) == CONNECTION_BAD) {
			st[i] = PGRES_POLLING_FAILED;
			failed++;
			if (!err[0] && c[i])
				snprintf(err, errsz, "%s", PQerrorMessage(c[i]));
			continue;
		}
		st[i] = PGRES_POLLING_WRITING;
		pending++;
	}
	while (pending > 0) {
		for (int i = 0; i < n; i++) {
			p[i].fd = -1;
			p[i].events = 0;
			if (st[i] == PGRES_POLLING_READING || st[i] == PGRES_POLLING_WRITING) {
				p[i].fd = PQsocket(c[i]);
				p[i].events = st[i] == PGRES_POLLING_READING ? POLLIN : POLLOUT;
			}
		}
		if (poll(p, (nfds_t)n, 30000) <= 0) {
			snprintf(err, errsz, "connections did not complete in 30s");
			break;
		}
		for (int i = 0; i < n; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			st[i] = PQconnectPoll(c[i]);
			if (st[i] == PGRES_POLLING_OK) {
				pending--;
			} else if (st[i] == PGRES_POLLING_FAILED) {
				pending--;
				failed++;
				if (!err[0])
					snprintf(err, errsz, "%s", PQerrorMessage(c[i]));
			}
		}
	}
	free(st);
	free(p);
	return failed + pending;
}

/* Sends sql on every live connection, waits for every answer. */
static void query_all(PGconn **c, int n, const char *sql)
{
	int ok = 0, failed = 0, waiting = 0;
	double t0 = now_ms(), max = 0;
	char first[512] = "";
	bool *busy = calloc((size_t)n, sizeof(bool));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	if (busy == NULL || p == NULL)
		exit(1);
	for (int i = 0; i < n; i++) {
		if (PQstatus(c[i]) != CONNECTION_OK || !PQsendQuery(c[i], sql)) {
			failed++;
			if (!first[0])
				snprintf(first, sizeof(first), "%s", PQerrorMessage(c[i]));
			continue;
		}
		busy[i] = true;
		waiting++;
	}
	while (waiting > 0) {
		for (int i = 0; i < n; i++) {
			p[i].fd = busy[i] ? PQsocket(c[i]) : -1;
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, (nfds_t)n, 60000) <= 0) {
			snprintf(first, sizeof(first), "no answer within 60s");
			failed += waiting;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (!busy[i] || !p[i].revents)
				continue;
			if (!PQconsumeInput(c[i])) {
				busy[i] = false;
				waiting--;
				failed++;
				if (!first[0])
					snprintf(first, sizeof(first), "%s", PQerrorMessage(c[i]));
				continue;
			}
			if (PQisBusy(c[i]))
				continue;
			bool good = true;
			PGresult *r;
			while ((r = PQgetResult(c[i])) != NULL) {
				ExecStatusType s = PQresultStatus(r);
				if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
					good = false;
					if (!first[0])
						snprintf(first, sizeof(first), "%s", PQresultErrorMessage(r));
				}
				PQclear(r);
			}
			busy[i] = false;
			waiting--;
			good ? ok++ : failed++;
			double ms = now_ms() - t0;
			if (ms > max)
				max = ms;
		}
	}
	for (char *q = first; *q; q++)
		if (*q == '\n')
			*q = ' ';
	printf("done ok=%d failed=%d max_ms=%.1f first_error=%s\n", ok, failed, max, first);
	fflush(stdout);
	free(busy);
	free(p);
}

int main(int argc, char **argv)
{
	const char *db = NULL;
	int n = 0;
	char line[4096], err[512] = "";

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--db") == 0)
			db = argv[i + 1];
		else if (strcmp(argv[i], "--n") == 0)
			n = atoi(argv[i + 1]);
		else
			usage();
	}
	if (db == NULL || n <= 0)
		usage();
	PGconn **c = calloc((size_t)n, sizeof(*c));
	if (c == NULL)
		return 1;
	for (int i = 0; i < n; i++)
		c[i] = PQconnectStart(db);
	int bad = connect_all(c, n, err, sizeof(err));
	if (bad > 0) {
		for (char *q = err; *q; q++)
			if (*q == '\n')
				*q = ' ';
		printf("connect-failed %d: %s\n", bad, err);
		return 1;
	}
	printf("connected %d\n", n);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "query ", 6) == 0)
			query_all(c, n, line + 6);
		else if (strcmp(line, "quit") == 0)
			break;
	}
	for (int i = 0; i < n; i++)
		PQfinish(c[i]);
	free(c);
	return 0;
}
