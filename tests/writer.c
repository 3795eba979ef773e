/*
 * writer — a concurrent, mirrored writer for osc's tests and benchmarks.
 *
 * Every operation is one transaction that applies the identical change to
 * table T (the one osc migrates) and to table R (a reference copy nobody
 * else touches). After the writer stops, T must equal R (transformed by the
 * ALTER): any lost, ghost or stale row shows up as a difference.
 *
 *   writer --db CONNINFO_OR_URL --table T --ref R --kind int|composite|text|identity
 *          [--schema S] [--seed N] [--rate OPS_PER_SEC] [--duration SECS]
 *          [--stats FILE] [--latency-log FILE]
 *
 * Identifiers are quoted with PQescapeIdentifier, values are parameters.
 * Exit status: 0 after a run (errors are reported in the stats, the test
 * decides), 1 when the writer cannot start, 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

enum kind { KIND_INT, KIND_COMPOSITE, KIND_TEXT, KIND_IDENTITY };
enum op { OP_INSERT, OP_UPDATE, OP_PKCHANGE, OP_DELETE, OP__COUNT };

static const char *const op_names[OP__COUNT] = {"insert", "update", "pkchange", "delete"};

enum { UPD_V, UPD_N, UPD_VN, UPD__COUNT };

/* the SQL for one table */
struct stmts {
    char *ins;
    char *upd[UPD__COUNT];
    char *pk;
    char *del;
};

struct opts {
    const char *db;
    const char *table;
    const char *ref;
    const char *schema;
    const char *stats;
    const char *latlog;
    enum kind kind;
    uint64_t seed;
    double rate;
    double duration; /* <= 0: until signalled */
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("writer: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("vsnprintf failed");
    char *p = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
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

/* ---- usage and options ---- */
static void usage(FILE *f)
{
    fputs("usage: writer --db CONNINFO_OR_URL --table T --ref R --kind int|composite|text|identity\n"
          "              [--schema S] [--seed N] [--rate OPS_PER_SEC (0 = unlimited, default 200)]\n"
          "              [--duration SECS] [--stats FILE] [--latency-log FILE]\n",
          f);
}

static double parse_double(const char *opt, const char *s)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(d) || d < 0) {
        fprintf(stderr, "writer: %s: not a non-negative number: %s\n", opt, s);
        exit(2);
    }
    return d;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->rate = 200;
    o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    const char *kind = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "writer: unknown or incomplete option: %s\n", a);
            usage(stderr);
            exit(2);
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--db"))
            o->db = v;
        else if (!strcmp(a, "--table"))
            o->table = v;
        else if (!strcmp(a, "--ref"))
            o->ref = v;
        else if (!strcmp(a, "--schema"))
            o->schema = v;
        else if (!strcmp(a, "--kind"))
            kind = v;
        else if (!strcmp(a, "--stats"))
            o->stats = v;
        else if (!strcmp(a, "--latency-log"))
            o->latlog = v;
        else if (!strcmp(a, "--rate"))
            o->rate = parse_double(a, v);
        else if (!strcmp(a, "--duration"))
            o->duration = parse_double(a, v);
        else if (!strcmp(a, "--seed")) {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || end == v || *end) {
                fprintf(stderr, "writer: --seed: not a number: %s\n", v);
                exit(2);
            }
            o->seed = (uint64_t)s;
        } else {
            fprintf(stderr, "writer: unknown option: %s\n", a);
            usage(stderr);
            exit(2);
        }
    }
    if (!o->db || !o->table || !o->ref || !kind) {
        fputs("writer: --db, --table, --ref and --kind are required\n", stderr);
        usage(stderr);
        exit(2);
    }
    if (!strcmp(kind, "int"))
        o->kind = KIND_INT;
    else if (!strcmp(kind, "composite"))
        o->kind = KIND_COMPOSITE;
    else if (!strcmp(kind, "text"))
        o->kind = KIND_TEXT;
    else if (!strcmp(kind, "identity"))
        o->kind = KIND_IDENTITY;
    else {
        fprintf(stderr, "writer: --kind: int, composite, text or identity, not %s\n", kind);
        exit(2);
    }
}

/* ---- SQL building ---- */
static char *quote_ident(PGconn *c, const char *s)
{
    char *q = PQescapeIdentifier(c, s, strlen(s));
    if (!q)
        die("cannot quote identifier: %s", PQerrorMessage(c));
    char *r = xstrdup(q);
    PQfreemem(q);
    return r;
}

static char *qualified(PGconn *c, const char *schema, const char *table)
{
    char *t = quote_ident(c, table);
    if (!schema)
        return t;
    char *s = quote_ident(c, schema);
    char *r = xasprintf("%s.%s", s, t);
    free(s);
    free(t);
    return r;
}

/* number of key parameters per kind */
static int nkeys(enum kind k)
{
    return k == KIND_COMPOSITE ? 2 : 1;
}

/* "a = $1 AND b = $2" (first parameter number p) */
static char *key_cond(enum kind k, int p)
{
    switch (k) {
    case KIND_COMPOSITE:
        return xasprintf("a = $%d AND b = $%d", p, p + 1);
    case KIND_TEXT:
        return xasprintf("k = $%d", p);
    case KIND_INT:
    case KIND_IDENTITY:
        break;
    }
    return xasprintf("id = $%d", p);
}

static const char *key_cols(enum kind k)
{
    switch (k) {
    case KIND_COMPOSITE:
        return "a, b";
    case KIND_TEXT:
        return "k";
    case KIND_INT:
    case KIND_IDENTITY:
        break;
    }
    return "id";
}

/* the statements for one table; is_target: the identity-generating side */
static void build_stmts(struct stmts *s, enum kind k, const char *qt, int is_target)
{
    int nk = nkeys(k);
    char *cond = key_cond(k, 1);
    if (k == KIND_IDENTITY && is_target)
        s->ins = xasprintf("INSERT INTO %s (v, n) VALUES ($1, $2) RETURNING id", qt);
    else if (k == KIND_COMPOSITE)
        s->ins = xasprintf("INSERT INTO %s (a, b, v, n) VALUES ($1, $2, $3, $4)", qt);
    else
        s->ins = xasprintf("INSERT INTO %s (%s, v, n) VALUES ($1, $2, $3)", qt, key_cols(k));
    s->upd[UPD_V] = xasprintf("UPDATE %s SET v = $%d WHERE %s", qt, nk + 1, cond);
    s->upd[UPD_N] = xasprintf("UPDATE %s SET n = $%d WHERE %s", qt, nk + 1, cond);
    s->upd[UPD_VN] = xasprintf("UPDATE %s SET v = $%d, n = $%d WHERE %s", qt, nk + 1, nk + 2, cond);
    if (k == KIND_COMPOSITE)
        s->pk = xasprintf("UPDATE %s SET a = $3, b = $4 WHERE %s", qt, cond);
    else
        s->pk = xasprintf("UPDATE %s SET %s = $%d WHERE %s", qt, key_cols(k), nk + 1, cond);
    s->del = xasprintf("DELETE FROM %s WHERE %s", qt, cond);
    free(cond);
}

static void free_stmts(struct stmts *s)
{
    free(s->ins);
    for (int i = 0; i < UPD__COUNT; i++)
        free(s->upd[i]);
    free(s->pk);
    free(s->del);
}

/* ---- keys as parameter text ---- */
struct keybuf {
    char a[32];
    char b[32];
};

/* fills kb for key number n and points params[0..nkeys) at it */
static void key_params(enum kind k, int64_t n, struct keybuf *kb, const char **params)
{
    switch (k) {
    case KIND_COMPOSITE:
        snprintf(kb->a, sizeof kb->a, "%" PRId64, n);
        snprintf(kb->b, sizeof kb->b, "%" PRId64, n % 7);
        params[0] = kb->a;
        params[1] = kb->b;
        return;
    case KIND_TEXT:
        snprintf(kb->a, sizeof kb->a, "key-%06" PRId64, n);
        params[0] = kb->a;
        return;
    case KIND_INT:
    case KIND_IDENTITY:
        break;
    }
    snprintf(kb->a, sizeof kb->a, "%" PRId64, n);
    params[0] = kb->a;
}

/* ---- statistics ---- */
struct stats {
    int64_t ops;
    int64_t errors;
    int64_t *lat; /* microseconds, one per op */
    size_t nlat, caplat;
    char *first_error;
};

static void record_latency(struct stats *st, int64_t us)
{
    if (st->nlat == st->caplat) {
        size_t cap = st->caplat ? st->caplat * 2 : 4096;
        int64_t *p = realloc(st->lat, cap * sizeof *p);
        if (!p)
            die("out of memory");
        st->lat = p;
        st->caplat = cap;
    }
    st->lat[st->nlat++] = us;
}

static void record_error(struct stats *st, const char *op, const char *msg)
{
    st->errors++;
    if (!st->first_error) {
        char *m = xasprintf("%s: %s", op, msg ? msg : "(no message)");
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

static void write_stats(struct stats *st, const char *path, uint64_t seed)
{
    FILE *f = stdout;
    if (path) {
        f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "writer: cannot write %s: %s\n", path, strerror(errno));
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
    fprintf(f, ",\"seed\":%" PRIu64 "}\n", seed);
    if (f != stdout)
        fclose(f);
    else
        fflush(f);
}

/* ---- database helpers ---- */

/* runs a command without parameters; returns 0 or -1 (message in *err) */
static int exec_simple(PGconn *c, const char *sql, const char **err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    int ok = (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK);
    if (!ok && err)
        *err = "failed";
    PQclear(r);
    return ok ? 0 : -1;
}

/* executes one statement; returns affected rows (>= 0) or -1 with errbuf set */
static long exec_stmt(PGconn *c, const char *sql, int np, const char *const *params, char *retval,
                      size_t retlen, char *errbuf, size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, np, NULL, params, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        const char *m = PQresultErrorMessage(r);
        snprintf(errbuf, errlen, "%s", (m && *m) ? m : PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    if (retval && retlen) {
        retval[0] = '\0';
        if (s == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            snprintf(retval, retlen, "%s", PQgetvalue(r, 0, 0));
    }
    const char *t = PQcmdTuples(r);
    long n = (t && *t) ? strtol(t, NULL, 10) : 0;
    PQclear(r);
    return n;
}

/* min and max key number in R */
static void key_range(PGconn *c, enum kind k, const char *qref, int64_t *lo, int64_t *hi)
{
    char *sql;
    if (k == KIND_TEXT)
        sql = xasprintf("SELECT coalesce(min(substring(k from '([0-9]+)$')::bigint), 1), "
                        "coalesce(max(substring(k from '([0-9]+)$')::bigint), 0) FROM %s",
                        qref);
    else if (k == KIND_COMPOSITE)
        sql = xasprintf("SELECT coalesce(min(a), 1), coalesce(max(a), 0) FROM %s", qref);
    else
        sql = xasprintf("SELECT coalesce(min(id), 1), coalesce(max(id), 0) FROM %s", qref);
    PGresult *r = PQexec(c, sql);
    free(sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "writer: cannot read the key range: %s", PQresultErrorMessage(r));
        PQclear(r);
        PQfinish(c);
        exit(1);
    }
    *lo = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *hi = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    if (*lo > *hi)
        *lo = *hi;
}

/* ---- one operation ---- */
struct state {
    PGconn *c;
    enum kind kind;
    struct stmts t, r;
    int64_t lo, hi;  /* keys drawn from [lo, hi] */
    int64_t counter; /* last key handed out */
};

static const char *rnd_v(char *buf, size_t len)
{
    if (rnd_below(10) == 0)
        return NULL;
    snprintf(buf, len, "w%016" PRIx64, rnd());
    return buf;
}

static const char *rnd_n(char *buf, size_t len)
{
    if (rnd_below(10) == 0)
        return NULL;
    snprintf(buf, len, "%d", (int)rnd_below(1000));
    return buf;
}

static enum op pick_op(enum kind k)
{
    for (;;) {
        uint64_t x = rnd_below(100);
        enum op o = x < 30 ? OP_INSERT : x < 65 ? OP_UPDATE : x < 80 ? OP_PKCHANGE : OP_DELETE;
        if (o == OP_PKCHANGE && k == KIND_IDENTITY)
            continue;
        return o;
    }
}

/*
 * Runs the two statements of op in one transaction. Returns 0 on success,
 * -1 on an error (rolled back, message in errbuf).
 */
static int do_op(struct state *s, enum op op, char *errbuf, size_t errlen)
{
    const char *pt[8] = {0}, *pr[8] = {0};
    struct keybuf kb, kb2;
    char vbuf[40], nbuf[16], ret[32];
    int nk = nkeys(s->kind), np = 0;
    const char *sqlt = NULL, *sqlr = NULL;
    int64_t key = s->lo + (int64_t)rnd_below((uint64_t)(s->hi - s->lo + 1));

    switch (op) {
    case OP_INSERT:
        key = ++s->counter;
        if (s->kind == KIND_IDENTITY) {
            /* T generates the id; R gets the same id afterwards */
            pt[0] = rnd_v(vbuf, sizeof vbuf);
            pt[1] = rnd_n(nbuf, sizeof nbuf);
            np = 2;
        } else {
            key_params(s->kind, key, &kb, pt);
            pt[nk] = rnd_v(vbuf, sizeof vbuf);
            pt[nk + 1] = rnd_n(nbuf, sizeof nbuf);
            np = nk + 2;
        }
        sqlt = s->t.ins;
        sqlr = s->r.ins;
        break;
    case OP_UPDATE: {
        int mode = (int)rnd_below(UPD__COUNT);
        key_params(s->kind, key, &kb, pt);
        np = nk;
        if (mode == UPD_V || mode == UPD_VN)
            pt[np++] = rnd_v(vbuf, sizeof vbuf);
        if (mode == UPD_N || mode == UPD_VN)
            pt[np++] = rnd_n(nbuf, sizeof nbuf);
        sqlt = s->t.upd[mode];
        sqlr = s->r.upd[mode];
        break;
    }
    case OP_PKCHANGE:
        key_params(s->kind, key, &kb, pt);
        key_params(s->kind, ++s->counter, &kb2, pt + nk);
        np = 2 * nk;
        sqlt = s->t.pk;
        sqlr = s->r.pk;
        break;
    case OP_DELETE:
        key_params(s->kind, key, &kb, pt);
        np = nk;
        sqlt = s->t.del;
        sqlr = s->r.del;
        break;
    case OP__COUNT:
        return -1;
    }
    memcpy(pr, pt, sizeof pr);

    if (exec_simple(s->c, "BEGIN", NULL) != 0) {
        snprintf(errbuf, errlen, "BEGIN: %s", PQerrorMessage(s->c));
        return -1;
    }
    long nt = exec_stmt(s->c, sqlt, np, pt, ret, sizeof ret, errbuf, errlen);
    if (nt < 0)
        goto fail;
    if (op == OP_INSERT && s->kind == KIND_IDENTITY) {
        if (!ret[0]) {
            snprintf(errbuf, errlen, "INSERT ... RETURNING id returned no id");
            goto fail;
        }
        key = strtoll(ret, NULL, 10);
        pr[0] = ret;
        pr[1] = pt[0];
        pr[2] = pt[1];
        np = 3;
    }
    long nr = exec_stmt(s->c, sqlr, np, pr, NULL, 0, errbuf, errlen);
    if (nr < 0)
        goto fail;
    if (nt != nr) {
        snprintf(errbuf, errlen, "%s affected %ld row(s) in the table but %ld in the reference (key %" PRId64 ")",
                 op_names[op], nt, nr, key);
        goto fail;
    }
    if (exec_simple(s->c, "COMMIT", NULL) != 0) {
        snprintf(errbuf, errlen, "COMMIT: %s", PQerrorMessage(s->c));
        exec_simple(s->c, "ROLLBACK", NULL);
        return -1;
    }
    if (key > s->hi)
        s->hi = key;
    if (s->kind == KIND_IDENTITY && key > s->counter)
        s->counter = key;
    return 0;
fail:
    exec_simple(s->c, "ROLLBACK", NULL);
    return -1;
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_args(argc, argv, &o);
    g_rng = o.seed;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    PGconn *c = PQconnectdb(o.db);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "writer: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    /* bound every wait; osc's swap may hold a lock for a moment */
    exec_simple(c, "SET application_name = 'osc_test_writer'", NULL);
    exec_simple(c, "SET lock_timeout = '10s'", NULL);
    exec_simple(c, "SET statement_timeout = '30s'", NULL);

    struct state s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.kind = o.kind;
    char *qt = qualified(c, o.schema, o.table);
    char *qr = qualified(c, o.schema, o.ref);
    build_stmts(&s.t, o.kind, qt, 1);
    build_stmts(&s.r, o.kind, qr, 0);
    key_range(c, o.kind, qr, &s.lo, &s.hi);
    s.counter = s.hi;

    FILE *lat = NULL;
    if (o.latlog) {
        lat = fopen(o.latlog, "w");
        if (!lat)
            die("cannot write %s: %s", o.latlog, strerror(errno));
    }

    struct stats st;
    memset(&st, 0, sizeof st);
    int64_t start = mono_us();
    int64_t interval = o.rate > 0 ? (int64_t)(1e6 / o.rate) : 0;
    int64_t next = start;
    char errbuf[1024];

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
        enum op op = pick_op(o.kind);
        int64_t t0 = mono_us();
        int rc = do_op(&s, op, errbuf, sizeof errbuf);
        int64_t us = mono_us() - t0;
        st.ops++;
        record_latency(&st, us);
        if (rc != 0) {
            record_error(&st, op_names[op], errbuf);
            if (PQstatus(c) != CONNECTION_OK) {
                sleep_us(100000);
                PQreset(c);
                if (PQstatus(c) == CONNECTION_OK) {
                    exec_simple(c, "SET application_name = 'osc_test_writer'", NULL);
                    exec_simple(c, "SET lock_timeout = '10s'", NULL);
                    exec_simple(c, "SET statement_timeout = '30s'", NULL);
                }
            }
        }
        if (lat) {
            struct timespec rt;
            clock_gettime(CLOCK_REALTIME, &rt);
            fprintf(lat, "%lld.%03ld %" PRId64 " %s\n", (long long)rt.tv_sec, rt.tv_nsec / 1000000, us,
                    op_names[op]);
        }
    }

    if (lat)
        fclose(lat);
    write_stats(&st, o.stats, o.seed);

    free(st.lat);
    free(st.first_error);
    free_stmts(&s.t);
    free_stmts(&s.r);
    free(qt);
    free(qr);
    PQfinish(c);
    return 0;
}
