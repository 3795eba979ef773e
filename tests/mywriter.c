/*
 * mywriter — the concurrent, mirrored writer of osc's tests, for MySQL/MariaDB.
 *
 * The same contract as tests/writer.c (PostgreSQL): every operation is one
 * transaction that applies the identical change to table T (the one osc
 * migrates) and to table R (a reference copy nobody else touches). After the
 * writer stops, T must equal R (transformed by the ALTER): any lost, ghost or
 * stale row shows up as a difference.
 *
 *   mywriter --db mysql://user[:pass]@host[:port]/db --table T --ref R
 *            --kind int|composite|varchar|binary16|timestamp
 *            [--seed N] [--rate OPS_PER_SEC] [--duration SECS]
 *            [--stats FILE] [--latency-log FILE]
 *
 * Layouts (tests/lib.sh my_fixture creates them), plus in all of them
 * v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0, pad VARCHAR(200):
 *   int        id INT PRIMARY KEY                    key number i
 *   composite  a INT, b INT, PRIMARY KEY (a, b)      (i, i % 7)
 *   varchar    k VARCHAR(40) PRIMARY KEY             'key-000123'
 *   binary16   id BINARY(16) PRIMARY KEY             UNHEX(MD5(i)), i as decimal text
 *   timestamp  id TIMESTAMP PRIMARY KEY              FROM_UNIXTIME(i) (the session is in UTC)
 * (int also drives a FLOAT or BIT key holding whole numbers: its key range is
 * read through CAST(... AS SIGNED).)
 * The writer never writes extra or pad. For binary16 the key numbers of the
 * fixture are read from max(extra) of R (the fixture sets extra = i); run one
 * writer per binary16 fixture, or its inserts may meet keys of an earlier run.
 *
 * Operations: insert (~30%), update of v and/or n, also to NULL (~35%),
 * primary-key change (~15%), delete (~20%). Each is START TRANSACTION, the
 * statement on T, the same statement on R, COMMIT; the two must affect the
 * same number of rows (CLIENT_FOUND_ROWS: matched rows). Session: autocommit
 * off, innodb_lock_wait_timeout 10. Identifiers are quoted with backticks
 * (doubled inside), values are parameters of prepared statements. A lost
 * connection is counted as an error and the writer reconnects.
 *
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

#include <errmsg.h>
#include <mysql.h>

enum kind { KIND_INT, KIND_COMPOSITE, KIND_VARCHAR, KIND_BINARY16, KIND_TIMESTAMP };
enum op { OP_INSERT, OP_UPDATE, OP_PKCHANGE, OP_DELETE, OP__COUNT };

static const char *const op_names[OP__COUNT] = {"insert", "update", "pkchange", "delete"};

enum { UPD_V, UPD_N, UPD_VN, UPD__COUNT };

/* the SQL for one table */
struct sqls {
    char *ins;
    char *upd[UPD__COUNT];
    char *pk;
    char *del;
};

/* its prepared statements (per connection) */
struct prepared {
    MYSQL_STMT *ins;
    MYSQL_STMT *upd[UPD__COUNT];
    MYSQL_STMT *pk;
    MYSQL_STMT *del;
};

struct url {
    char *user;
    char *pass;
    char *host;
    char *db;
    unsigned port;
};

struct opts {
    const char *db;
    const char *table;
    const char *ref;
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
    fputs("mywriter: ", stderr);
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

static char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
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
    fputs("usage: mywriter --db mysql://user[:pass]@host[:port]/db --table T --ref R\n"
          "                --kind int|composite|varchar|binary16|timestamp\n"
          "                [--seed N] [--rate OPS_PER_SEC (0 = unlimited, default 200)]\n"
          "                [--duration SECS] [--stats FILE] [--latency-log FILE]\n",
          f);
}

static double parse_double(const char *opt, const char *s)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(d) || d < 0) {
        fprintf(stderr, "mywriter: %s: not a non-negative number: %s\n", opt, s);
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
            fprintf(stderr, "mywriter: unknown or incomplete option: %s\n", a);
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
                fprintf(stderr, "mywriter: --seed: not a number: %s\n", v);
                exit(2);
            }
            o->seed = (uint64_t)s;
        } else {
            fprintf(stderr, "mywriter: unknown option: %s\n", a);
            usage(stderr);
            exit(2);
        }
    }
    if (!o->db || !o->table || !o->ref || !kind) {
        fputs("mywriter: --db, --table, --ref and --kind are required\n", stderr);
        usage(stderr);
        exit(2);
    }
    if (!strcmp(kind, "int"))
        o->kind = KIND_INT;
    else if (!strcmp(kind, "composite"))
        o->kind = KIND_COMPOSITE;
    else if (!strcmp(kind, "varchar"))
        o->kind = KIND_VARCHAR;
    else if (!strcmp(kind, "binary16"))
        o->kind = KIND_BINARY16;
    else if (!strcmp(kind, "timestamp"))
        o->kind = KIND_TIMESTAMP;
    else {
        fprintf(stderr, "mywriter: --kind: int, composite, varchar, binary16 or timestamp, not %s\n", kind);
        exit(2);
    }
}

/* ---- the URL: mysql://user[:pass]@host[:port]/db (or mariadb://) ---- */
static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* a percent-decoded copy of s[0..n) */
static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
            (l = hexval((unsigned char)s[i + 2])) >= 0) {
            out[j++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

static void parse_url(const char *s, struct url *u)
{
    memset(u, 0, sizeof *u);
    u->port = 3306;
    const char *p;
    if (!strncmp(s, "mysql://", 8))
        p = s + 8;
    else if (!strncmp(s, "mariadb://", 10))
        p = s + 10;
    else {
        fprintf(stderr, "mywriter: --db: expected mysql://user[:pass]@host[:port]/db, got %s\n", s);
        exit(2);
    }
    const char *slash = strchr(p, '/');
    const char *authend = slash ? slash : p + strlen(p);
    const char *at = NULL;
    for (const char *q = p; q < authend; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            u->user = pct_decode(p, (size_t)(colon - p));
            u->pass = pct_decode(colon + 1, (size_t)(at - colon - 1));
        } else {
            u->user = pct_decode(p, (size_t)(at - p));
        }
        p = at + 1;
    }
    const char *colon = memchr(p, ':', (size_t)(authend - p));
    if (colon) {
        char *end = NULL;
        errno = 0;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (errno || end != authend || port == 0 || port > 65535) {
            fprintf(stderr, "mywriter: --db: bad port in %s\n", s);
            exit(2);
        }
        u->port = (unsigned)port;
        u->host = xstrndup(p, (size_t)(colon - p));
    } else {
        u->host = xstrndup(p, (size_t)(authend - p));
    }
    if (slash) {
        const char *dbs = slash + 1;
        size_t n = strcspn(dbs, "?");
        if (n)
            u->db = pct_decode(dbs, n);
    }
    if (!u->host[0]) {
        free(u->host);
        u->host = xstrndup("127.0.0.1", 9);
    }
    if (!u->db) {
        fprintf(stderr, "mywriter: --db: no database in %s\n", s);
        exit(2);
    }
}

static void free_url(struct url *u)
{
    free(u->user);
    free(u->pass);
    free(u->host);
    free(u->db);
}

/* ---- SQL building ---- */

/* NAME quoted as a MySQL identifier: backticks, a backtick doubled */
static char *quote_ident(const char *s)
{
    size_t n = strlen(s), extra = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '`')
            extra++;
    char *r = xmalloc(n + extra + 3);
    size_t j = 0;
    r[j++] = '`';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`')
            r[j++] = '`';
        r[j++] = s[i];
    }
    r[j++] = '`';
    r[j] = '\0';
    return r;
}

/* number of key parameters per kind */
static int nkeys(enum kind k)
{
    return k == KIND_COMPOSITE ? 2 : 1;
}

/* the key condition, its placeholders in order */
static const char *key_cond(enum kind k)
{
    switch (k) {
    case KIND_COMPOSITE:
        return "a = ? AND b = ?";
    case KIND_VARCHAR:
        return "k = ?";
    case KIND_BINARY16:
        return "id = UNHEX(MD5(?))";
    case KIND_TIMESTAMP:
        return "id = FROM_UNIXTIME(?)";
    case KIND_INT:
        break;
    }
    return "id = ?";
}

/* "SET key = new" for a key change */
static const char *key_set(enum kind k)
{
    switch (k) {
    case KIND_COMPOSITE:
        return "a = ?, b = ?";
    case KIND_VARCHAR:
        return "k = ?";
    case KIND_BINARY16:
        return "id = UNHEX(MD5(?))";
    case KIND_TIMESTAMP:
        return "id = FROM_UNIXTIME(?)";
    case KIND_INT:
        break;
    }
    return "id = ?";
}

static void build_sqls(struct sqls *s, enum kind k, const char *qt)
{
    const char *cond = key_cond(k);
    switch (k) {
    case KIND_COMPOSITE:
        s->ins = xasprintf("INSERT INTO %s (a, b, v, n) VALUES (?, ?, ?, ?)", qt);
        break;
    case KIND_VARCHAR:
        s->ins = xasprintf("INSERT INTO %s (k, v, n) VALUES (?, ?, ?)", qt);
        break;
    case KIND_BINARY16:
        s->ins = xasprintf("INSERT INTO %s (id, v, n) VALUES (UNHEX(MD5(?)), ?, ?)", qt);
        break;
    case KIND_TIMESTAMP:
        s->ins = xasprintf("INSERT INTO %s (id, v, n) VALUES (FROM_UNIXTIME(?), ?, ?)", qt);
        break;
    case KIND_INT:
        s->ins = xasprintf("INSERT INTO %s (id, v, n) VALUES (?, ?, ?)", qt);
        break;
    }
    /* values first, then the key: the order of the placeholders */
    s->upd[UPD_V] = xasprintf("UPDATE %s SET v = ? WHERE %s", qt, cond);
    s->upd[UPD_N] = xasprintf("UPDATE %s SET n = ? WHERE %s", qt, cond);
    s->upd[UPD_VN] = xasprintf("UPDATE %s SET v = ?, n = ? WHERE %s", qt, cond);
    s->pk = xasprintf("UPDATE %s SET %s WHERE %s", qt, key_set(k), cond);
    s->del = xasprintf("DELETE FROM %s WHERE %s", qt, cond);
}

static void free_sqls(struct sqls *s)
{
    free(s->ins);
    for (int i = 0; i < UPD__COUNT; i++)
        free(s->upd[i]);
    free(s->pk);
    free(s->del);
}

/* ---- parameters ---- */
enum ptype { P_NULL, P_INT, P_STR };

struct param {
    enum ptype t;
    long long i;
    char s[48];
    unsigned long len;
    my_bool is_null;
};

static void p_null(struct param *p)
{
    p->t = P_NULL;
}

static void p_int(struct param *p, long long v)
{
    p->t = P_INT;
    p->i = v;
}

static void p_str(struct param *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void p_str(struct param *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->s, sizeof p->s, fmt, ap);
    va_end(ap);
    p->t = P_STR;
    p->len = n < 0 ? 0 : (unsigned long)n >= sizeof p->s ? sizeof p->s - 1 : (unsigned long)n;
}

/* the key parameters of key number n (nkeys of them) */
static void key_params(enum kind k, int64_t n, struct param *p)
{
    switch (k) {
    case KIND_COMPOSITE:
        p_int(&p[0], (long long)n);
        p_int(&p[1], (long long)(n % 7));
        return;
    case KIND_VARCHAR:
        p_str(&p[0], "key-%06" PRId64, n);
        return;
    case KIND_BINARY16:
        p_str(&p[0], "%" PRId64, n); /* UNHEX(MD5(?)) in the SQL */
        return;
    case KIND_TIMESTAMP:
    case KIND_INT:
        break;
    }
    p_int(&p[0], (long long)n);
}

static void rnd_v(struct param *p)
{
    if (rnd_below(10) == 0)
        p_null(p);
    else
        p_str(p, "w%016" PRIx64, rnd());
}

static void rnd_n(struct param *p)
{
    if (rnd_below(10) == 0)
        p_null(p);
    else
        p_int(p, (long long)rnd_below(1000));
}

/* ---- statistics ---- */
struct stats {
    int64_t ops;
    int64_t errors;
    int64_t stale_errors; /* refused writes to the original after the swap */
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
    /* "..._osc_log doesn't exist" from osc's capture trigger: counted
     * apart, see stop_mywriter in tests/lib.sh */
    if (msg && strstr(msg, "_osc_log' doesn't exist"))
        st->stale_errors++;
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
            fprintf(stderr, "mywriter: cannot write %s: %s\n", path, strerror(errno));
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
    fprintf(f, ",\"stale_errors\":%" PRId64 ",\"seed\":%" PRIu64 "}\n", st->stale_errors, seed);
    if (f != stdout)
        fclose(f);
    else
        fflush(f);
}

/* ---- database ---- */
struct state {
    MYSQL *c;
    const struct url *url;
    enum kind kind;
    struct sqls t, r;          /* SQL text */
    struct prepared pt, pr;    /* prepared on c */
    int64_t lo, hi;            /* keys drawn from [lo, hi] */
    int64_t counter;           /* last key handed out */
};

static int is_conn_error(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
           e == CR_CONN_HOST_ERROR || e == CR_COMMANDS_OUT_OF_SYNC || e == 1927 /* ER_CONNECTION_KILLED */ ||
           e == 1053 /* ER_SERVER_SHUTDOWN */;
}

/* a new session: NULL with the reason in errbuf */
static MYSQL *connect_db(const struct url *u, char *errbuf, size_t errlen)
{
    MYSQL *c = mysql_init(NULL);
    if (!c) {
        snprintf(errbuf, errlen, "mysql_init failed");
        return NULL;
    }
    unsigned int cto = 5, rto = 60, wto = 60;
    mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &cto);
    mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &rto);
    mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &wto);
    mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options4(c, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name", "osc_test_writer");
    if (!mysql_real_connect(c, u->host, u->user, u->pass, u->db, u->port, NULL, CLIENT_FOUND_ROWS)) {
        snprintf(errbuf, errlen, "cannot connect: %s", mysql_error(c));
        mysql_close(c);
        return NULL;
    }
    /* bound every wait; osc's swap may hold a lock for a moment */
    static const char *const setup[] = {
        "SET SESSION autocommit = 0",
        "SET SESSION innodb_lock_wait_timeout = 10",
        "SET SESSION lock_wait_timeout = 10",
        "SET SESSION max_statement_time = 30",
        /* a TIMESTAMP key names one instant whatever the server's zone */
        "SET SESSION time_zone = '+00:00'",
    };
    for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++) {
        if (mysql_query(c, setup[i]) != 0) {
            snprintf(errbuf, errlen, "%s: %s", setup[i], mysql_error(c));
            mysql_close(c);
            return NULL;
        }
    }
    return c;
}

static MYSQL_STMT *prepare(MYSQL *c, const char *sql, char *errbuf, size_t errlen)
{
    MYSQL_STMT *st = mysql_stmt_init(c);
    if (!st) {
        snprintf(errbuf, errlen, "mysql_stmt_init: %s", mysql_error(c));
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0) {
        snprintf(errbuf, errlen, "prepare %s: %s", sql, mysql_stmt_error(st));
        mysql_stmt_close(st);
        return NULL;
    }
    return st;
}

static void close_prepared(struct prepared *p)
{
    MYSQL_STMT **all[] = {&p->ins, &p->upd[0], &p->upd[1], &p->upd[2], &p->pk, &p->del};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i])
            mysql_stmt_close(*all[i]);
        *all[i] = NULL;
    }
}

static int prepare_all(MYSQL *c, const struct sqls *s, struct prepared *p, char *errbuf, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!(p->ins = prepare(c, s->ins, errbuf, errlen)))
        goto fail;
    for (int i = 0; i < UPD__COUNT; i++)
        if (!(p->upd[i] = prepare(c, s->upd[i], errbuf, errlen)))
            goto fail;
    if (!(p->pk = prepare(c, s->pk, errbuf, errlen)))
        goto fail;
    if (!(p->del = prepare(c, s->del, errbuf, errlen)))
        goto fail;
    return 0;
fail:
    close_prepared(p);
    return -1;
}

/* drops the session and its statements */
static void disconnect(struct state *s)
{
    close_prepared(&s->pt);
    close_prepared(&s->pr);
    if (s->c)
        mysql_close(s->c);
    s->c = NULL;
}

/* a fresh session with all statements prepared; 0 or -1 (errbuf) */
static int reconnect(struct state *s, char *errbuf, size_t errlen)
{
    disconnect(s);
    s->c = connect_db(s->url, errbuf, errlen);
    if (!s->c)
        return -1;
    if (prepare_all(s->c, &s->t, &s->pt, errbuf, errlen) != 0 ||
        prepare_all(s->c, &s->r, &s->pr, errbuf, errlen) != 0) {
        disconnect(s);
        return -1;
    }
    return 0;
}

/* executes a prepared statement; affected rows (>= 0) or -1 with errbuf and *errno_out set */
static long long exec_stmt(MYSQL_STMT *st, struct param *p, int np, unsigned *errno_out, char *errbuf,
                           size_t errlen)
{
    MYSQL_BIND b[8];
    memset(b, 0, sizeof b);
    if ((int)mysql_stmt_param_count(st) != np) {
        snprintf(errbuf, errlen, "statement takes %lu parameters, not %d", mysql_stmt_param_count(st), np);
        *errno_out = 0;
        return -1;
    }
    for (int i = 0; i < np && i < 8; i++) {
        switch (p[i].t) {
        case P_NULL:
            p[i].is_null = 1;
            b[i].buffer_type = MYSQL_TYPE_NULL;
            b[i].is_null = &p[i].is_null;
            break;
        case P_INT:
            p[i].is_null = 0;
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &p[i].i;
            b[i].is_null = &p[i].is_null;
            break;
        case P_STR:
            p[i].is_null = 0;
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = p[i].s;
            b[i].buffer_length = p[i].len;
            b[i].length = &p[i].len;
            b[i].is_null = &p[i].is_null;
            break;
        }
    }
    if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
        *errno_out = mysql_stmt_errno(st);
        snprintf(errbuf, errlen, "%s (%u)", mysql_stmt_error(st), mysql_stmt_errno(st));
        return -1;
    }
    my_ulonglong n = mysql_stmt_affected_rows(st);
    mysql_stmt_free_result(st);
    return n == (my_ulonglong)-1 ? 0 : (long long)n;
}

/* min and max key number in R */
static void key_range(MYSQL *c, enum kind k, const char *qref, int64_t *lo, int64_t *hi)
{
    char *sql;
    switch (k) {
    case KIND_VARCHAR:
        sql = xasprintf("SELECT COALESCE(MIN(CAST(SUBSTRING(k, 5) AS SIGNED)), 1), "
                        "COALESCE(MAX(CAST(SUBSTRING(k, 5) AS SIGNED)), 0) FROM %s",
                        qref);
        break;
    case KIND_COMPOSITE:
        sql = xasprintf("SELECT COALESCE(MIN(a), 1), COALESCE(MAX(a), 0) FROM %s", qref);
        break;
    case KIND_BINARY16:
        /* the fixture's key numbers are 1..N with extra = i */
        sql = xasprintf("SELECT 1, COALESCE(MAX(extra), 0) FROM %s", qref);
        break;
    case KIND_TIMESTAMP:
        sql = xasprintf("SELECT COALESCE(UNIX_TIMESTAMP(MIN(id)), 1), COALESCE(UNIX_TIMESTAMP(MAX(id)), 0) FROM %s",
                        qref);
        break;
    case KIND_INT:
    default:
        /* CAST: a FLOAT prints 6 digits, a BIT its bytes */
        sql = xasprintf("SELECT COALESCE(CAST(MIN(id) AS SIGNED), 1), COALESCE(CAST(MAX(id) AS SIGNED), 0) FROM %s",
                        qref);
        break;
    }
    if (mysql_query(c, sql) != 0) {
        fprintf(stderr, "mywriter: cannot read the key range: %s\n", mysql_error(c));
        exit(1);
    }
    free(sql);
    MYSQL_RES *res = mysql_store_result(c);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (!row || !row[0] || !row[1]) {
        fprintf(stderr, "mywriter: cannot read the key range: %s\n", mysql_error(c));
        exit(1);
    }
    *lo = strtoll(row[0], NULL, 10);
    *hi = strtoll(row[1], NULL, 10);
    mysql_free_result(res);
    mysql_commit(c); /* end the read's transaction (autocommit is off) */
    if (*lo > *hi)
        *lo = *hi;
}

/* ---- one operation ---- */
static enum op pick_op(void)
{
    uint64_t x = rnd_below(100);
    return x < 30 ? OP_INSERT : x < 65 ? OP_UPDATE : x < 80 ? OP_PKCHANGE : OP_DELETE;
}

/*
 * Runs the two statements of op in one transaction. Returns 0 on success,
 * -1 on an error (rolled back, message in errbuf; *lost set when the
 * connection is gone).
 */
static int do_op(struct state *s, enum op op, int *lost, char *errbuf, size_t errlen)
{
    struct param p[8];
    memset(p, 0, sizeof p);
    int nk = nkeys(s->kind), np = 0;
    MYSQL_STMT *stt = NULL, *str = NULL;
    unsigned e = 0;
    int64_t key = s->lo + (int64_t)rnd_below((uint64_t)(s->hi - s->lo + 1));
    *lost = 0;

    switch (op) {
    case OP_INSERT:
        key = ++s->counter;
        key_params(s->kind, key, p);
        rnd_v(&p[nk]);
        rnd_n(&p[nk + 1]);
        np = nk + 2;
        stt = s->pt.ins;
        str = s->pr.ins;
        break;
    case OP_UPDATE: {
        int mode = (int)rnd_below(UPD__COUNT);
        if (mode == UPD_V || mode == UPD_VN)
            rnd_v(&p[np++]);
        if (mode == UPD_N || mode == UPD_VN)
            rnd_n(&p[np++]);
        key_params(s->kind, key, p + np);
        np += nk;
        stt = s->pt.upd[mode];
        str = s->pr.upd[mode];
        break;
    }
    case OP_PKCHANGE: {
        int64_t nkey = ++s->counter;
        key_params(s->kind, nkey, p);       /* SET key = new */
        key_params(s->kind, key, p + nk);   /* WHERE key = old */
        np = 2 * nk;
        stt = s->pt.pk;
        str = s->pr.pk;
        key = nkey;
        break;
    }
    case OP_DELETE:
        key_params(s->kind, key, p);
        np = nk;
        stt = s->pt.del;
        str = s->pr.del;
        break;
    case OP__COUNT:
        return -1;
    }

    if (mysql_query(s->c, "START TRANSACTION") != 0) {
        e = mysql_errno(s->c);
        snprintf(errbuf, errlen, "START TRANSACTION: %s (%u)", mysql_error(s->c), e);
        *lost = is_conn_error(e);
        return -1;
    }
    struct param pr[8];
    memcpy(pr, p, sizeof pr);
    long long nt = exec_stmt(stt, p, np, &e, errbuf, errlen);
    if (nt < 0)
        goto fail;
    long long nr = exec_stmt(str, pr, np, &e, errbuf, errlen);
    if (nr < 0)
        goto fail;
    if (nt != nr) {
        snprintf(errbuf, errlen, "%s affected %lld row(s) in the table but %lld in the reference (key %" PRId64 ")",
                 op_names[op], nt, nr, key);
        e = 0;
        goto fail;
    }
    if (mysql_commit(s->c) != 0) {
        e = mysql_errno(s->c);
        snprintf(errbuf, errlen, "COMMIT: %s (%u)", mysql_error(s->c), e);
        *lost = is_conn_error(e);
        if (!*lost)
            mysql_rollback(s->c);
        return -1;
    }
    if (key > s->hi)
        s->hi = key;
    return 0;
fail:
    *lost = is_conn_error(e);
    if (!*lost && mysql_rollback(s->c) != 0)
        *lost = is_conn_error(mysql_errno(s->c));
    return -1;
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_args(argc, argv, &o);
    g_rng = o.seed;

    struct url url;
    parse_url(o.db, &url);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* never interrupt a read in libmariadb; the loop checks g_stop */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (mysql_library_init(0, NULL, NULL) != 0)
        die("mysql_library_init failed");

    struct state s;
    memset(&s, 0, sizeof s);
    s.url = &url;
    s.kind = o.kind;
    char *qt = quote_ident(o.table);
    char *qr = quote_ident(o.ref);
    build_sqls(&s.t, o.kind, qt);
    build_sqls(&s.r, o.kind, qr);

    char errbuf[1024];
    if (reconnect(&s, errbuf, sizeof errbuf) != 0) {
        fprintf(stderr, "mywriter: %s\n", errbuf);
        return 1;
    }
    key_range(s.c, o.kind, qr, &s.lo, &s.hi);
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
        enum op op = pick_op();
        int64_t t0 = mono_us();
        int lost = 0, rc = 0;
        if (!s.c) {
            /* still without a session after a lost connection */
            rc = reconnect(&s, errbuf, sizeof errbuf);
            lost = rc != 0;
        }
        if (s.c)
            rc = do_op(&s, op, &lost, errbuf, sizeof errbuf);
        int64_t us = mono_us() - t0;
        st.ops++;
        record_latency(&st, us);
        if (rc != 0) {
            record_error(&st, op_names[op], errbuf);
            if (lost) {
                sleep_us(100000);
                char rbuf[512];
                if (reconnect(&s, rbuf, sizeof rbuf) != 0)
                    fprintf(stderr, "mywriter: reconnect failed: %s\n", rbuf);
            }
        }
        if (lat) {
            struct timespec rt;
            clock_gettime(CLOCK_REALTIME, &rt);
            fprintf(lat, "%lld.%03ld %" PRId64 " %s%s\n", (long long)rt.tv_sec, rt.tv_nsec / 1000000, us,
                    op_names[op], rc != 0 ? " error" : "");
        }
    }

    if (lat)
        fclose(lat);
    write_stats(&st, o.stats, o.seed);

    free(st.lat);
    free(st.first_error);
    disconnect(&s);
    free_sqls(&s.t);
    free_sqls(&s.r);
    free(qt);
    free(qr);
    free_url(&url);
    mysql_library_end();
    return 0;
}
