/*
 * ps.c — `osc ps` (see ps.h): the socket directories scanned, each run
 * asked about itself over its control socket.
 */
#include "ps.h"
#include "xalloc.h"

#include <dirent.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "localpath.h"
#include "osc.h"
#include "runstate.h"

/* A field of the text line: tabs and newlines would break the columns. */
static void put_field(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

void ps_answer(Osc *o, FILE *f, bool json)
{
	Control *c = &o->ctl;
	/* the worker's last publication, with the throttle as it is now: a
	 * worker inside a long step has not published the pause yet */
	Progress now = c->progress;
	const Progress *p = &now;
	const RunSummary *s = &o->summary;
	char state[400], progress[64], target[1024];
	double pct = p->rows_estimate > 0 ? 100.0 * (double)p->rows_copied / (double)p->rows_estimate : 0;

	if (pct > 100)
		pct = 100;
	now.paused = c->operator_paused;
	now.throttled = c->decision.action != THROTTLE_GO;
	snprintf(now.throttle_reason, sizeof(now.throttle_reason), "%s", c->decision.reason);
	run_state_text(p, false, state, sizeof(state));
	snprintf(progress, sizeof(progress), "%lld/%lld (%.1f%%)", (long long)p->rows_copied,
	         (long long)p->rows_estimate, pct);
	snprintf(target, sizeof(target), "%s %s%s%s/%s %s", s->engine, s->host[0] ? s->host : "(local)",
	         s->port[0] ? ":" : "", s->port, s->database, o->opt.table);
	if (json) {
		Json j;
		json_start(&j, f);
		json_object(&j);
		json_kv_int(&j, "pid", (int64_t)getpid());
		json_kv_string(&j, "run_id", s->run_id);
		json_kv_string(&j, "engine", s->engine);
		json_kv_string(&j, "host", s->host);
		json_kv_string(&j, "port", s->port);
		json_kv_string(&j, "database", s->database);
		json_kv_string(&j, "table", o->opt.table);
		json_kv_string(&j, "phase", p->phase ? p->phase : "starting");
		json_kv_int(&j, "rows_copied", p->rows_copied);
		json_kv_int(&j, "rows_estimate", p->rows_estimate);
		json_kv_double(&j, "percent", pct, 1);
		json_kv_string(&j, "state", state);
		json_kv_int(&j, "runtime_ms", now_ms() - o->started_ms);
		json_kv_string(&j, "socket", c->socket_path);
		json_object_end(&j);
		fputc('\n', f);
		return;
	}
	fprintf(f, "%d\t", (int)getpid());
	put_field(f, p->phase ? p->phase : "starting");
	fputc('\t', f);
	put_field(f, progress);
	fputc('\t', f);
	put_field(f, state);
	fputc('\t', f);
	put_field(f, target);
	fputc('\t', f);
	put_field(f, c->socket_path);
	fputc('\n', f);
}

/* Prints one text row from a run's tab-separated answer. */
static void print_row(const char *line)
{
	char *copy = xstrdup(line), *save = NULL, *f[6] = { "", "", "", "", "", "" };
	int n = 0;
	for (char *w = strtok_r(copy, "\t\n", &save); w && n < 6; w = strtok_r(NULL, "\t\n", &save))
		f[n++] = w;
	printf("%-8s %-10s %-22s %-28s %s  %s\n", f[0], f[1], f[2], f[3], f[4], f[5]);
	free(copy);
}

/* Asks every socket of dir; prints what answers (when out) and counts it. */
static int scan_dir(Osc *o, const char *dir, bool json, bool out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[108];
		struct stat st;
		bool running;
		char *answer = NULL;
		OscErr e;

		if (fnmatch("osc-*.sock", de->d_name, 0) != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		err_clear(&e);
		/* only the user's own sockets (src/lib/localpath.h) */
		if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) || !localpath_check_socket(path, &e))
			continue;
		if (control_ask(o, path, json ? "ps json" : "ps", &answer, &running) != OSC_EXIT_OK || answer == NULL ||
		    strncmp(answer, "ok\n", 3) != 0) {
			free(answer);
			continue;
		}
		n++;
		if (out) {
			if (json)
				fputs(answer + 3, stdout);
			else
				print_row(answer + 3);
		}
		free(answer);
	}
	closedir(d);
	return n;
}

/* The socket directories runs of this user may use: XDG_RUNTIME_DIR's and
 * the one under $TMPDIR (the same when XDG_RUNTIME_DIR is unset). */
static int scan(Osc *o, bool json, bool out)
{
	char a[256] = "", b[256] = "";
	OscErr e;
	int n = 0;

	err_clear(&e);
	if (localpath_socket_dir(a, sizeof(a), false, false, &e))
		n += scan_dir(o, a, json, out);
	err_clear(&e);
	if (localpath_socket_dir(b, sizeof(b), false, true, &e) && strcmp(a, b) != 0)
		n += scan_dir(o, b, json, out);
	return n;
}

int ps_count(Osc *o)
{
	return scan(o, false, false);
}

OscExit ps_main(Osc *o)
{
	bool json = o->opt.log_format == LOG_JSON || (o->opt.log_format == LOG_AUTO && !isatty(fileno(stdout)));
	if (!json)
		printf("%-8s %-10s %-22s %-28s %s  %s\n", "PID", "PHASE", "PROGRESS", "STATE", "TARGET", "SOCKET");
	fflush(stdout);
	int n = scan(o, json, true);
	if (n == 0 && !json)
		printf("no osc migration is running on this host\n");
	return OSC_EXIT_OK;
}
