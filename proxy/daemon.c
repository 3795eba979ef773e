/*
 * daemon.c — `osc proxy`: the command line, the event loop, and the two
 * client commands.
 *
 *   osc proxy --listen ADDRESS:PORT --upstream URL [--admin-socket PATH]
 *             [--tls-cert FILE --tls-key FILE] [--drain-timeout DUR]
 *             [--max-hold DUR] [--max-clients N] [--metrics HOST:PORT]
 *             [--log-format text|json] [--log-file FILE] [-q] [-v]
 *   osc proxy status --admin-socket PATH [--format json]
 *   osc proxy hold   --admin-socket PATH [--for DUR]
 *
 * One thread, one event_base: the listener, every session's two
 * bufferevents, the admin socket and the hold's timers all run on it, so
 * nothing in the proxy needs a lock.  It runs in the foreground (systemd,
 * a terminal); SIGINT and SIGTERM stop it, closing every session.  The
 * open-files limit is raised to its hard limit at start, since each client
 * costs two descriptors.
 */
#include "proxy.h"
#include "proxy_int.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"
#include "options.h"

int64_t px_now_ms(void)
{
	return now_ms();
}

enum {
	PO_LISTEN = 256, PO_UPSTREAM, PO_ADMIN, PO_TLS_CERT, PO_TLS_KEY, PO_DRAIN, PO_MAX_HOLD, PO_MAX_CLIENTS,
	PO_LOG_FORMAT, PO_LOG_FILE, PO_FORMAT, PO_FOR, PO_METRICS,
};

static const struct option proxy_opts[] = {
	{ "listen", required_argument, NULL, PO_LISTEN },
	{ "upstream", required_argument, NULL, PO_UPSTREAM },
	{ "admin-socket", required_argument, NULL, PO_ADMIN },
	{ "tls-cert", required_argument, NULL, PO_TLS_CERT },
	{ "tls-key", required_argument, NULL, PO_TLS_KEY },
	{ "drain-timeout", required_argument, NULL, PO_DRAIN },
	{ "max-hold", required_argument, NULL, PO_MAX_HOLD },
	{ "max-clients", required_argument, NULL, PO_MAX_CLIENTS },
	{ "log-format", required_argument, NULL, PO_LOG_FORMAT },
	{ "log-file", required_argument, NULL, PO_LOG_FILE },
	{ "format", required_argument, NULL, PO_FORMAT },
	{ "for", required_argument, NULL, PO_FOR },
	{ "metrics", required_argument, NULL, PO_METRICS },
	{ "help", no_argument, NULL, 'h' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

typedef struct ProxyArgs {
	const char *listen, *upstream, *admin, *cert, *key, *log_file, *metrics;
	int64_t drain_ms, max_hold_ms, for_ms;
	long max_clients;
	LogFormat log_format;
	bool json;
	int verbosity;
	bool help;
} ProxyArgs;

static void usage(void)
{
	fputs("usage: osc proxy --listen ADDRESS:PORT --upstream URL [options]   the proxy (foreground)\n"
	      "       osc proxy status --admin-socket PATH [--format json]      its state\n"
	      "       osc proxy hold --admin-socket PATH [--for DUR]            hold the application by hand\n"
	      "\n"
	      "The application connects to --listen instead of the database; `osc --proxy PATH ...` then holds\n"
	      "its sessions at transaction boundaries for the swap.\n"
	      "\n"
	      "options:\n"
	      "  --listen ADDRESS:PORT   where clients connect (127.0.0.1:6432, [::1]:6432)\n"
	      "  --upstream URL          postgres://host:port[?sslmode=...&sslrootcert=F] or\n"
	      "                          mysql://host:port[?ssl-mode=...&ssl-ca=F]; no password (clients bring theirs)\n"
	      "  --admin-socket PATH     the admin socket osc and `osc proxy status` use (mode 0600; default\n"
	      "                          $XDG_RUNTIME_DIR/osc-proxy-PORT.sock, or /run/... as root)\n"
	      "  --tls-cert F --tls-key F  TLS for clients that ask for it (terminated here)\n"
	      "  --drain-timeout DUR     how long a hold waits for busy sessions before it answers which\n"
	      "                          ones are not idle (default 500ms)\n"
	      "  --max-hold DUR          a hold ends by itself after this (dead-man switch; default 10s)\n"
	      "  --max-clients N         client connections at once (default: half the open-files limit)\n"
	      "  --metrics HOST:PORT     serve the proxy's numbers for Prometheus at http://HOST:PORT/metrics\n"
	      "  --log-format text|json  --log-file FILE  -q, --quiet  -v, --verbose  --help\n",
	      stdout);
}

static bool dur_arg(const char *name, const char *v, int64_t min, int64_t *out, OscErr *e)
{
	if (!duration_parse_ms(v, out) || *out < min) {
		err_set(e, OSC_EXIT_INPUT, "--%s: expected a duration of at least %lldms such as 500ms or 2s, got '%s'", name,
		        (long long)min, v);
		return false;
	}
	return true;
}

static bool parse_args(int argc, char **argv, ProxyArgs *a, OscErr *e)
{
	int c, idx;
	memset(a, 0, sizeof(*a));
	a->drain_ms = 500;
	a->max_hold_ms = 10000;
	a->log_format = LOG_AUTO;
	opterr = 0;
	optind = 0; /* glibc: a full restart, the main parser ran before */
	while ((c = getopt_long(argc, argv, "+hqv", proxy_opts, &idx)) != -1) {
		switch (c) {
		case PO_LISTEN: a->listen = optarg; break;
		case PO_UPSTREAM: a->upstream = optarg; break;
		case PO_ADMIN: a->admin = optarg; break;
		case PO_TLS_CERT: a->cert = optarg; break;
		case PO_TLS_KEY: a->key = optarg; break;
		case PO_LOG_FILE: a->log_file = optarg; break;
		case PO_METRICS: a->metrics = optarg; break;
		case PO_DRAIN:
			if (!dur_arg("drain-timeout", optarg, 1, &a->drain_ms, e))
				return false;
			break;
		case PO_MAX_HOLD:
			if (!dur_arg("max-hold", optarg, 1, &a->max_hold_ms, e))
				return false;
			break;
		case PO_FOR:
			if (!dur_arg("for", optarg, 1, &a->for_ms, e))
				return false;
			break;
		case PO_MAX_CLIENTS: {
			char *end;
			errno = 0;
			a->max_clients = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || a->max_clients < 1 || a->max_clients > 10000000) {
				err_set(e, OSC_EXIT_INPUT, "--max-clients: expected a whole number >= 1, got '%s'", optarg);
				return false;
			}
			break;
		}
		case PO_LOG_FORMAT:
			if (strcmp(optarg, "text") == 0)
				a->log_format = LOG_TEXT;
			else if (strcmp(optarg, "json") == 0)
				a->log_format = LOG_JSON;
			else {
				err_set(e, OSC_EXIT_INPUT, "--log-format: expected text or json, got '%s'", optarg);
				return false;
			}
			break;
		case PO_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				err_set(e, OSC_EXIT_INPUT, "--format: expected text or json, got '%s'", optarg);
				return false;
			}
			a->json = optarg[0] == 'j';
			break;
		case 'h': a->help = true; break;
		case 'q': a->verbosity = -1; break;
		case 'v': a->verbosity++; break;
		default:
			err_set(e, OSC_EXIT_INPUT, "osc proxy: unknown option or missing value: %s (see osc proxy --help)",
			        argv[optind - 1]);
			return false;
		}
	}
	if (optind < argc) {
		err_set(e, OSC_EXIT_INPUT, "osc proxy: unexpected argument '%s' (see osc proxy --help)", argv[optind]);
		return false;
	}
	return true;
}

/* Without --admin-socket: a per-user directory nobody else can write. */
static bool default_admin(char *out, size_t outsz, int port, OscErr *e)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg) {
		snprintf(out, outsz, "%s/osc-proxy-%d.sock", xdg, port);
		return true;
	}
	if (geteuid() == 0) {
		snprintf(out, outsz, "/run/osc-proxy-%d.sock", port);
		return true;
	}
	char dir[64];
	struct stat st;
	snprintf(dir, sizeof(dir), "/tmp/osc-proxy-%ld", (long)geteuid());
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		err_set(e, OSC_EXIT_INPUT, "cannot create %s: %s (give --admin-socket)", dir, strerror(errno));
		return false;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		err_set(e, OSC_EXIT_INPUT, "%s is not a private directory of this user (give --admin-socket)", dir);
		return false;
	}
	snprintf(out, outsz, "%s/proxy-%d.sock", dir, port);
	return true;
}

static int listen_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	(void)l;
	px_session_accept(arg, fd, sa, len);
}

static void on_resume_listener(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	Proxy *px = arg;
	if (px->listener)
		evconnlistener_enable(px->listener);
}

/* accept() failed (out of descriptors): pause accepting for a moment
 * rather than spin on a listener that stays readable. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	Proxy *px = arg;
	int err = EVUTIL_SOCKET_ERROR();
	log_msg(&px->log, LOG_WARN, "accept: %s (%d sessions): pausing new connections for 100ms",
	        evutil_socket_error_to_string(err), px->nsessions);
	evconnlistener_disable(l);
	struct timeval tv = { 0, 100 * 1000 };
	if (event_base_once(px->base, -1, EV_TIMEOUT, on_resume_listener, px, &tv) != 0)
		evconnlistener_enable(l);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	Proxy *px = arg;
	log_msg(&px->log, LOG_INFO, "signal %d: stopping (%d sessions closed)", (int)sig, px->nsessions);
	event_base_loopbreak(px->base);
}

/* The URL as status shows it: scheme, host, port, TLS mode; never a password. */
static void upstream_label(const Proxy *px, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s://%s%s%s:%d", px->up.engine == PX_PG ? "postgres" : "mysql",
	         strchr(px->up.host, ':') ? "[" : "", px->up.host, strchr(px->up.host, ':') ? "]" : "", px->up.port);
}

static int run(const ProxyArgs *a)
{
	Proxy px;
	Options lo;
	OscErr e;
	char why[300];
	int rc = OSC_EXIT_INPUT;
	struct sockaddr_storage ls;
	int lslen = sizeof(ls);

	memset(&px, 0, sizeof(px));
	err_clear(&e);
	options_defaults(&lo);
	lo.log_format = a->log_format;
	lo.log_file = a->log_file;
	lo.verbosity = a->verbosity;
	if (!log_init(&px.log, &lo, &e)) {
		fprintf(stderr, "osc: error: %s\n", e.msg);
		return OSC_EXIT_INPUT;
	}
	px.started_ms = px_now_ms();
	px.drain_timeout_ms = a->drain_ms;
	px.max_hold_ms = a->max_hold_ms;
	if (a->listen == NULL || a->upstream == NULL) {
		err_set(&e, OSC_EXIT_INPUT, "osc proxy: --listen and --upstream are required (see osc proxy --help)");
		goto fail;
	}
	if ((a->cert == NULL) != (a->key == NULL)) {
		err_set(&e, OSC_EXIT_INPUT, "osc proxy: --tls-cert and --tls-key go together");
		goto fail;
	}
	if (evutil_parse_sockaddr_port(a->listen, (struct sockaddr *)&ls, &lslen) != 0) {
		err_set(&e, OSC_EXIT_INPUT, "--listen %s: expected ADDRESS:PORT (127.0.0.1:6432, [::1]:6432)", a->listen);
		goto fail;
	}
	snprintf(px.listen_spec, sizeof(px.listen_spec), "%s", a->listen);
	if (!px_upstream_parse(a->upstream, &px.up, why, sizeof(why))) {
		err_set(&e, OSC_EXIT_INPUT, "--upstream: %s", why);
		goto fail;
	}
	if (!px_upstream_resolve(&px.up, why, sizeof(why))) {
		err_set(&e, OSC_EXIT_INPUT, "--upstream: %s", why);
		goto fail;
	}
	upstream_label(&px, px.upstream_spec, sizeof(px.upstream_spec));
	px.proto = px.up.engine == PX_PG ? &px_pg_proto : &px_my_proto;
	if ((a->cert && !px_tls_server_ctx(&px, a->cert, a->key, &e)) || !px_tls_client_ctx(&px, &e))
		goto fail;

	raise_nofile();
	struct rlimit rl;
	long nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : 1024;
	px.max_clients = a->max_clients ? (int)a->max_clients : (int)((nofile - 64) / 2);
	if (px.max_clients < 1) {
		err_set(&e, OSC_EXIT_INPUT, "osc proxy: the open-files limit (%ld) leaves no room for clients", nofile);
		goto fail;
	}
	if (a->max_clients && a->max_clients * 2 + 64 > nofile)
		log_msg(&px.log, LOG_WARN, "--max-clients %ld needs about %ld open files; the limit is %ld", a->max_clients,
		        a->max_clients * 2 + 64, nofile);

	px.base = event_base_new();
	if (px.base == NULL) {
		err_set(&e, OSC_EXIT_FAILED, "osc proxy: cannot create the event loop");
		goto fail;
	}
	char admin[108];
	if (a->admin)
		snprintf(admin, sizeof(admin), "%s", a->admin);
	else if (!default_admin(admin, sizeof(admin), listen_port(&ls), &e))
		goto fail;
	/* the admin socket first: its checks are about the command line, the
	 * port may be someone else's for a moment */
	if (!px_admin_listen(&px, admin, &e) || !px_metrics_start(&px, a->metrics, &e))
		goto fail;
	px.listener = evconnlistener_new_bind(px.base, on_accept, &px,
	                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
	                                      (struct sockaddr *)&ls, lslen);
	if (px.listener == NULL) {
		err_set(&e, OSC_EXIT_INPUT, "--listen %s: %s", a->listen,
		        evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	evconnlistener_set_error_cb(px.listener, on_accept_error);
	px.sig_int = evsignal_new(px.base, SIGINT, on_signal, &px);
	px.sig_term = evsignal_new(px.base, SIGTERM, on_signal, &px);
	if (px.sig_int == NULL || px.sig_term == NULL || event_add(px.sig_int, NULL) != 0 ||
	    event_add(px.sig_term, NULL) != 0) {
		err_set(&e, OSC_EXIT_FAILED, "osc proxy: cannot catch signals");
		goto fail;
	}
	signal(SIGPIPE, SIG_IGN);
	log_msg(&px.log, LOG_INFO,
	        "proxy: listening on %s for %s (server TLS %s, client TLS %s), admin socket %s, drain timeout %lldms, "
	        "max hold %lldms, up to %d clients",
	        px.listen_spec, px.upstream_spec, px_tls_mode_name(px.up.tls), px.tls_server ? "offered" : "not offered",
	        px.admin_path, (long long)px.drain_timeout_ms, (long long)px.max_hold_ms, px.max_clients);
	event_base_dispatch(px.base);
	rc = OSC_EXIT_OK;
	goto out;
fail:
	log_error(&px.log, &e);
	rc = e.exit == OSC_EXIT_OK ? OSC_EXIT_FAILED : e.exit;
out:
	while (px.holders)
		px_hold_end(px.holders, "stopped");
	px_session_free_all(&px);
	px_admin_free_all(&px);
	px_metrics_stop(&px);
	if (px.listener)
		evconnlistener_free(px.listener);
	if (px.sig_int)
		event_free(px.sig_int);
	if (px.sig_term)
		event_free(px.sig_term);
	if (px.base) {
		/* the deferred frees of the sessions just closed */
		event_base_loop(px.base, EVLOOP_NONBLOCK);
		event_base_free(px.base);
	}
	px_tls_free(&px);
	log_close(&px.log);
	return rc;
}

int proxy_main(int argc, char **argv)
{
	ProxyArgs a;
	OscErr e;
	err_clear(&e);
	bool status = argc > 1 && strcmp(argv[1], "status") == 0;
	bool hold = argc > 1 && strcmp(argv[1], "hold") == 0;
	if (status || hold) {
		argc--;
		argv++;
	}
	if (!parse_args(argc, argv, &a, &e)) {
		fprintf(stderr, "osc: error: %s\n", e.msg);
		return OSC_EXIT_INPUT;
	}
	if (a.help) {
		usage();
		return OSC_EXIT_OK;
	}
	if (status || hold) {
		if (a.admin == NULL) {
			fprintf(stderr, "osc: error: osc proxy %s: --admin-socket is required\n", status ? "status" : "hold");
			return OSC_EXIT_INPUT;
		}
		return status ? px_client_status(a.admin, a.json) : px_client_hold(a.admin, a.for_ms);
	}
	return run(&a);
}
