/*
 * common.c — the driver both mirrored writers share (build/writer for
 * PostgreSQL, build/mywriter for MySQL/MariaDB; see writer.h).
 *
 * Every operation is one transaction that applies the identical change to
 * table T (the one osc migrates) and to table R (a reference copy nobody
 * else touches); after the writer stops, T must equal R (transformed by the
 * ALTER): any lost, ghost or stale row shows up as a difference.
 *
 * The workload, from a seeded splitmix64 (--seed repeats a run): insert
 * (~30%, a new key above every key handed out), update of v and/or n, also
 * to NULL (~35%), key change to a new key (~15%, not for a table that
 * generates its keys), delete (~20%); existing keys are drawn from the
 * reference's key range, which grows with every key the writer hands out.
 * The two statements must touch as many rows, or the transaction is rolled
 * back and counted as an error.
 *
 * --rate paces the transactions (0: as fast as they go); after a stall of
 * more than a second the schedule restarts instead of bursting. On SIGTERM
 * or SIGINT (or after --duration) the writer writes its stats, one JSON line:
 *   {"ops":N,"errors":N,"p50_ms":..,"p99_ms":..,"p999_ms":..,"max_ms":..,
 *    "first_error":"..",["stale_errors":N,]"seed":N}
 * and with --latency-log one line per transaction: "EPOCH.MS MICROSECONDS OP"
 * (" error" appended when it failed). --ready FILE: the writer creates FILE
 * once it is connected and about to write (tests wait for it). A lost
 * session is counted as an error; the writer waits 100 ms and reconnects.
 *
 * Exit status: 0 after a run (errors are reported in the stats, the test
 * decides), 1 when the writer cannot start, 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "writer.h"

static const char *const op_names[OP__COUNT] = {"insert", "update", "pkchange", "delete"};

static const char *g_prog = "writer";
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void writer_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void *writer_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        writer_die("out of memory");
    return p;
}

char *writer_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        writer_die("vsnprintf failed");
    char *p = writer_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void writer_sql_free(WriterSql *s)
{
    free(s->ins);
    for (int i = 0; i < UPD__COUNT; i++)
        free(s->upd[i]);
    free(s->pk);
    free(s->del);
}

int64_t writer_key_b(int64_t n)
{
    return n % 7;
}

void writer_text_key(char *buf, size_t size, int64_t n)
{
    snprintf(buf, size, "key-%06" PRId64, n);
}

/* ---- random numbers: splitmix64, seeded, reproducible ---- */
static uint64_t g_rng;

static uint64_t rnd(void)
{
    uint64_t z = (g_rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* uniform in [0, n) for n > 0 */
static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

/* ---- time ---- */
static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL); /* EINTR on a signal: fine, the loop checks g_stop */
}

/* ---- options ---- */
/* "PROG: WHAT: ARG" and the usage on stderr, exit 2 */
static void usage_error(const WriterEngine *e, const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s: %s\n", e->prog, what, arg);
    fputs(e->usage, stderr);
    exit(2);
}

static double parse_double(const WriterEngine *e, const char *opt, const char *s)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(d) || d < 0) {
        fprintf(stderr, "%s: %s: not a non-negative number: %s\n", e->prog, opt, s);
        exit(2);
    }
    return d;
}

static void parse_args(const WriterEngine *e, int argc, char **argv, WriterOpts *o)
{
    memset(o, 0, sizeof *o);
    o->rate = 200;
    o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    const char *kind = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(e->usage, stdout);
            exit(0);
        }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0)
            usage_error(e, "unknown or incomplete option", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--db"))
            o->db = v;
        else if (!strcmp(a, "--table"))
            o->table = v;
        else if (!strcmp(a, "--ref"))
            o->ref = v;
        else if (!strcmp(a, "--schema") && e->takes_schema)
            o->schema = v;
        else if (!strcmp(a, "--kind"))
            kind = v;
        else if (!strcmp(a, "--stats"))
            o->stats = v;
        else if (!strcmp(a, "--latency-log"))
            o->latlog = v;
        else if (!strcmp(a, "--ready"))
            o->ready = v;
        else if (!strcmp(a, "--rate"))
            o->rate = parse_double(e, a, v);
        else if (!strcmp(a, "--duration"))
            o->duration = parse_double(e, a, v);
        else if (!strcmp(a, "--seed")) {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end) {
                fprintf(stderr, "%s: --seed: not a number: %s\n", e->prog, v);
                exit(2);
            }
            o->seed = (uint64_t)s;
        } else {
            usage_error(e, "unknown option", a);
        }
    }
    if (!o->db || !o->table || !o->ref || !kind) {
        fprintf(stderr, "%s: --db, --table, --ref and --kind are required\n", e->prog);
        fputs(e->usage, stderr);
        exit(2);
    }
    for (o->kind = 0; e->kinds[o->kind].name; o->kind++)
        if (!strcmp(kind, e->kinds[o->kind].name))
            return;
    fprintf(stderr, "%s: --kind: %s, not %s\n", e->prog, e->kinds_text, kind);
    exit(2);
}

/* ---- statistics ---- */
typedef struct Stats {
    int64_t ops;
    int64_t errors;
    int64_t stale_errors; /* errors whose message has the engine's stale_error */
    int64_t *lat;         /* microseconds, one per op */
    size_t nlat, caplat;
    char *first_error;
} Stats;

static void record_latency(Stats *st, int64_t us)
{
    if (st->nlat == st->caplat) {
        size_t cap = st->caplat ? st->caplat * 2 : 4096;
        int64_t *p = realloc(st->lat, cap * sizeof *p);
        if (!p)
            writer_die("out of memory");
        st->lat = p;
        st->caplat = cap;
    }
    st->lat[st->nlat++] = us;
}

static void record_error(const WriterEngine *e, Stats *st, const char *op, const char *msg)
{
    st->errors++;
    if (e->stale_error && msg && strstr(msg, e->stale_error))
        st->stale_errors++;
    if (!st->first_error) {
        char *m = writer_asprintf("%s: %s", op, msg ? msg : "(no message)");
        size_t n = strlen(m);
        while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
            m[--n] = '\0';
        st->first_error = m;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* percentile q (0..1) in milliseconds of sorted samples */
static double pct_ms(const int64_t *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t idx = (size_t)ceil(q * (double)n);
    if (idx > 0)
        idx--;
    if (idx >= n)
        idx = n - 1;
    return (double)v[idx] / 1000.0;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void write_stats(const WriterEngine *e, Stats *st, const char *path, uint64_t seed)
{
    FILE *f = stdout;
    if (path) {
        f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "%s: cannot write %s: %s\n", e->prog, path, strerror(errno));
            f = stdout;
        }
    }
    qsort(st->lat, st->nlat, sizeof *st->lat, cmp_i64);
    double mx = st->nlat ? (double)st->lat[st->nlat - 1] / 1000.0 : 0;
    fprintf(f, "{\"ops\":%" PRId64 ",\"errors\":%" PRId64 ",\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
               "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"first_error\":",
            st->ops, st->errors, pct_ms(st->lat, st->nlat, 0.50), pct_ms(st->lat, st->nlat, 0.99),
            pct_ms(st->lat, st->nlat, 0.999), mx);
    json_string(f, st->first_error ? st->first_error : "");
    if (e->stale_error)
        fprintf(f, ",\"stale_errors\":%" PRId64, st->stale_errors);
    fprintf(f, ",\"seed\":%" PRIu64 "}\n", seed);
    if (f != stdout)
        fclose(f);
    else
        fflush(f);
}

/* ---- the workload ---- */
typedef struct Keys {
    int64_t lo, hi;  /* existing keys are drawn from [lo, hi] */
    int64_t counter; /* the last key handed out */
} Keys;

static void rnd_v(WriterOp *op)
{
    if (rnd_below(10) == 0) {
        op->v = NULL;
        return;
    }
    snprintf(op->vbuf, sizeof op->vbuf, "w%016" PRIx64, rnd());
    op->v = op->vbuf;
}

static void rnd_n(WriterOp *op)
{
    op->n_null = rnd_below(10) == 0;
    if (!op->n_null)
        op->n = (int)rnd_below(1000);
}

static WriterOpKind pick_op(bool fixed_key)
{
    for (;;) {
        uint64_t x = rnd_below(100);
        WriterOpKind k = x < 30 ? OP_INSERT : x < 65 ? OP_UPDATE : x < 80 ? OP_PKCHANGE : OP_DELETE;
        if (k == OP_PKCHANGE && fixed_key)
            continue;
        return k;
    }
}

/* the next operation: its kind, keys and values */
static void plan_op(WriterOp *op, Keys *k, bool fixed_key)
{
    memset(op, 0, sizeof *op);
    op->kind = pick_op(fixed_key);
    op->key = k->lo + (int64_t)rnd_below((uint64_t)(k->hi - k->lo + 1));
    switch (op->kind) {
    case OP_INSERT:
        op->key = ++k->counter;
        rnd_v(op);
        rnd_n(op);
        break;
    case OP_UPDATE:
        op->upd = (int)rnd_below(UPD__COUNT);
        if (op->upd == UPD_V || op->upd == UPD_VN)
            rnd_v(op);
        if (op->upd == UPD_N || op->upd == UPD_VN)
            rnd_n(op);
        break;
    case OP_PKCHANGE:
        op->newkey = ++k->counter;
        break;
    case OP_DELETE:
    case OP__COUNT:
        break;
    }
}

/*
 * Runs op's two statements in one transaction. Returns 0 on success, -1 on
 * an error (rolled back, message in err). On success the key the row now has
 * widens the range updates and deletes draw from.
 */
static int run_op(const WriterEngine *e, void *s, WriterOp *op, Keys *k, char *err, size_t errlen)
{
    if (!e->begin(s, err, errlen))
        return -1;
    long long nt = e->exec(s, false, op, err, errlen);
    if (nt < 0)
        goto fail;
    long long nr = e->exec(s, true, op, err, errlen);
    if (nr < 0)
        goto fail;
    int64_t now_key = op->kind == OP_PKCHANGE ? op->newkey : op->key;
    if (nt != nr) {
        snprintf(err, errlen, "%s affected %lld row(s) in the table but %lld in the reference (key %" PRId64 ")",
                 op_names[op->kind], nt, nr, now_key);
        goto fail;
    }
    if (!e->commit(s, err, errlen))
        return -1;
    if (now_key > k->hi)
        k->hi = now_key;
    if (now_key > k->counter) /* a key the table generated */
        k->counter = now_key;
    return 0;
fail:
    e->rollback(s);
    return -1;
}

int writer_main(int argc, char **argv, const WriterEngine *e)
{
    g_prog = e->prog;
    WriterOpts o;
    parse_args(e, argc, argv, &o);
    g_rng = o.seed;
    bool fixed_key = e->kinds[o.kind].fixed_key;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* never interrupt a client library's read (libmariadb does not retry
     * it; libpq does either way); nanosleep still wakes, the loop checks
     * g_stop */
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    Keys k;
    void *s = e->open(&o, &k.lo, &k.hi);
    k.counter = k.hi;

    FILE *lat = NULL;
    if (o.latlog) {
        lat = fopen(o.latlog, "w");
        if (!lat)
            writer_die("cannot write %s: %s", o.latlog, strerror(errno));
    }

    /* connected, prepared, key range read: a test waits for this file
     * instead of a guessed time */
    if (o.ready) {
        FILE *rf = fopen(o.ready, "w");
        if (!rf)
            writer_die("cannot write %s: %s", o.ready, strerror(errno));
        fclose(rf);
    }

    Stats st;
    memset(&st, 0, sizeof st);
    int64_t start = mono_us();
    int64_t interval = o.rate > 0 ? (int64_t)(1e6 / o.rate) : 0;
    int64_t next = start;
    char err[1024];

    while (!g_stop) {
        int64_t now = mono_us();
        if (o.duration > 0 && now - start >= (int64_t)(o.duration * 1e6))
            break;
        if (interval > 0) {
            if (next > now) {
                sleep_us(next - now);
                if (g_stop)
                    break;
            } else if (now - next > 1000000) {
                next = now; /* far behind (a long lock wait): do not burst */
            }
            next += interval;
        }
        WriterOp op;
        plan_op(&op, &k, fixed_key);
        int64_t t0 = mono_us();
        int rc = run_op(e, s, &op, &k, err, sizeof err);
        int64_t us = mono_us() - t0;
        st.ops++;
        record_latency(&st, us);
        if (rc != 0) {
            record_error(e, &st, op_names[op.kind], err);
            if (e->lost(s)) {
                sleep_us(100000);
                e->reconnect(s);
            }
        }
        if (lat) {
            struct timespec rt;
            clock_gettime(CLOCK_REALTIME, &rt);
            fprintf(lat, "%lld.%03ld %" PRId64 " %s%s\n", (long long)rt.tv_sec, rt.tv_nsec / 1000000, us,
                    op_names[op.kind], rc != 0 ? " error" : "");
        }
    }

    if (lat)
        fclose(lat);
    write_stats(e, &st, o.stats, o.seed);

    free(st.lat);
    free(st.first_error);
    e->close(s);
    return 0;
}
