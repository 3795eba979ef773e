/*
 * options_files.c — options read from files: --config and --database-file,
 * and the strings Options owns because of them.
 *
 * A config file holds `key = value` lines, one long option each (`#`
 * comments, blank lines allowed); options.c reads it before the command
 * line, so that the command line wins whatever the order.  A database file
 * holds one URL (or libpq key=value string), password included, so it must
 * be the user's own and closed to others, as libpq asks of ~/.pgpass.
 */
#include "options_int.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

char *options_keep(Options *o, const char *v, OscErr *e)
{
	if (o->n_owned == (int)(sizeof(o->owned) / sizeof(o->owned[0]))) {
		err_set(e, OSC_EXIT_INPUT, "too many options with values");
		return NULL;
	}
	char *c = xstrdup(v);
	o->owned[o->n_owned++] = c;
	return c;
}

/* Blank lines and # comments are skipped; the file is read through a
 * descriptor that fstat judged, never reopened by name. */
bool options_read_database_file(Options *o, const char *path, OscErr *e)
{
	struct stat st;
	char buf[4096], *url = NULL;
	ssize_t n = 0;
	bool ok = false;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s is not a regular file", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		err_set(e, OSC_EXIT_INPUT,
		        "--database-file %s belongs to uid %u, not to you: osc reads a password only from a file of yours",
		        path, (unsigned)st.st_uid);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s is open to others (mode %04o): chmod 600 %s", path,
		        (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	for (ssize_t r; (r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0;)
		n += r;
	if (n >= (ssize_t)sizeof(buf) - 1) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s: longer than %zu bytes", path, sizeof(buf) - 2);
		goto out;
	}
	buf[n] = '\0';
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (url) {
			err_set(e, OSC_EXIT_INPUT, "--database-file %s: more than one URL (one line, # for comments)", path);
			goto out;
		}
		url = line;
	}
	if (url == NULL) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s holds no URL", path);
		goto out;
	}
	o->database = options_keep(o, url, e);
	ok = o->database != NULL;
out:
	memset(buf, 0, sizeof(buf)); /* the password */
	close(fd);
	return ok;
}

/* A key is a long option's exact name (no prefixes: a file is written
 * once and read for years); --config itself is not one. */
bool options_read_config(Options *o, const char *path, OscErr *e)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int lineno = 0;
	bool ok = false;

	if (f == NULL) {
		err_set(e, OSC_EXIT_INPUT, "--config %s: %s", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		char *key = s, *val = NULL;
		if (eq) {
			*eq = '\0';
			key = trim(s);
			val = trim(eq + 1);
		}
		const OptionDef *d = option_by_name(key);
		if (d == NULL || d->set == NULL) {
			const char *hint = options_hint(key);
			err_set(e, OSC_EXIT_INPUT, "%s:%d: unknown option '%s'%s%s", path, lineno, key,
			        hint ? "; in osc: " : "", hint ? hint : "");
			goto out;
		}
		if ((d->has_arg == required_argument) != (val != NULL)) {
			err_set(e, OSC_EXIT_INPUT, "%s:%d: '%s' %s", path, lineno, key,
			        val ? "takes no value" : "needs `= value`");
			goto out;
		}
		if (val && (val = options_keep(o, val, e)) == NULL)
			goto out;
		if (!option_apply(o, d, val, e))
			goto out;
	}
	ok = true;
out:
	fclose(f);
	return ok;
}
