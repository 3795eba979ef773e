/*
 * my.c — build/mywriter: the mirrored writer (common.c) on MySQL/MariaDB.
 *
 *   mywriter --db mysql://user[:pass]@host[:port]/db --table T --ref R
 *            --kind int|composite|varchar|binary16|timestamp
 *            [--seed N] [--rate OPS_PER_SEC] [--duration SECS]
 *            [--stats FILE] [--latency-log FILE] [--ready FILE]
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
 * The two statements must affect the same number of rows (CLIENT_FOUND_ROWS:
 * matched rows). Session: autocommit off, innodb_lock_wait_timeout 10.
 * Identifiers are quoted with backticks (doubled inside), values are
 * parameters of prepared statements. An error "..._osc_log' doesn't exist"
 * (osc's capture trigger after the swap) is also counted apart in the stats
 * as stale_errors; a lost connection is counted as an error and the writer
 * reconnects (new session, statements prepared again).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>

#include "writer.h"

enum { KIND_INT, KIND_COMPOSITE, KIND_VARCHAR, KIND_BINARY16, KIND_TIMESTAMP };

static const WriterKind my_kinds[] = {
    [KIND_INT] = {"int", false},
    [KIND_COMPOSITE] = {"composite", false},
    [KIND_VARCHAR] = {"varchar", false},
    [KIND_BINARY16] = {"binary16", false},
    [KIND_TIMESTAMP] = {"timestamp", false},
    {NULL, false},
};

/* its prepared statements (per connection) */
typedef struct Prepared {
    MYSQL_STMT *ins;
    MYSQL_STMT *upd[UPD__COUNT];
    MYSQL_STMT *pk;
    MYSQL_STMT *del;
} Prepared;

typedef struct Url {
    char *user;
    char *pass;
    char *host;
    char *db;
    unsigned port;
} Url;

static char *xstrndup(const char *s, size_t n)
{
    char *p = writer_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
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
    char *out = writer_malloc(n + 1);
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

static void parse_url(const char *s, Url *u)
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

static void free_url(Url *u)
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
    char *r = writer_malloc(n + extra + 3);
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
static int nkeys(int k)
{
    return k == KIND_COMPOSITE ? 2 : 1;
}

/* the key condition, its placeholders in order */
static const char *key_cond(int k)
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
    default:
        return "id = ?";
    }
}

/* "SET key = new" for a key change */
static const char *key_set(int k)
{
    return k == KIND_COMPOSITE ? "a = ?, b = ?" : key_cond(k);
}

static void build_sqls(WriterSql *s, int k, const char *qt)
{
    const char *cond = key_cond(k);
    switch (k) {
    case KIND_COMPOSITE:
        s->ins = writer_asprintf("INSERT INTO %s (a, b, v, n) VALUES (?, ?, ?, ?)", qt);
        break;
    case KIND_VARCHAR:
        s->ins = writer_asprintf("INSERT INTO %s (k, v, n) VALUES (?, ?, ?)", qt);
        break;
    case KIND_BINARY16:
        s->ins = writer_asprintf("INSERT INTO %s (id, v, n) VALUES (UNHEX(MD5(?)), ?, ?)", qt);
        break;
    case KIND_TIMESTAMP:
        s->ins = writer_asprintf("INSERT INTO %s (id, v, n) VALUES (FROM_UNIXTIME(?), ?, ?)", qt);
        break;
    case KIND_INT:
    default:
        s->ins = writer_asprintf("INSERT INTO %s (id, v, n) VALUES (?, ?, ?)", qt);
        break;
    }
    /* values first, then the key: the order of the placeholders */
    s->upd[UPD_V] = writer_asprintf("UPDATE %s SET v = ? WHERE %s", qt, cond);
    s->upd[UPD_N] = writer_asprintf("UPDATE %s SET n = ? WHERE %s", qt, cond);
    s->upd[UPD_VN] = writer_asprintf("UPDATE %s SET v = ?, n = ? WHERE %s", qt, cond);
    s->pk = writer_asprintf("UPDATE %s SET %s WHERE %s", qt, key_set(k), cond);
    s->del = writer_asprintf("DELETE FROM %s WHERE %s", qt, cond);
}

/* ---- parameters ---- */
enum ptype { P_NULL, P_INT, P_STR };

typedef struct Param {
    enum ptype t;
    long long i;
    char s[48];
    unsigned long len;
    my_bool is_null;
} Param;

static void p_null(Param *p)
{
    p->t = P_NULL;
}

static void p_int(Param *p, long long v)
{
    p->t = P_INT;
    p->i = v;
}

static void p_str(Param *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void p_str(Param *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->s, sizeof p->s, fmt, ap);
    va_end(ap);
    p->t = P_STR;
    p->len = n < 0 ? 0 : (unsigned long)n >= sizeof p->s ? sizeof p->s - 1 : (unsigned long)n;
}

/* the key parameters of key number n (nkeys of them) */
static void key_params(int k, int64_t n, Param *p)
{
    switch (k) {
    case KIND_COMPOSITE:
        p_int(&p[0], (long long)n);
        p_int(&p[1], (long long)writer_key_b(n));
        return;
    case KIND_VARCHAR: {
        char key[32];
        writer_text_key(key, sizeof key, n);
        p_str(&p[0], "%s", key);
        return;
    }
    case KIND_BINARY16:
        p_str(&p[0], "%" PRId64, n); /* UNHEX(MD5(?)) in the SQL */
        return;
    case KIND_TIMESTAMP:
    case KIND_INT:
        break;
    }
    p_int(&p[0], (long long)n);
}

/* the new values of op as parameters */
static void p_value_v(Param *p, const WriterOp *op)
{
    if (op->v)
        p_str(p, "%s", op->v);
    else
        p_null(p);
}

static void p_value_n(Param *p, const WriterOp *op)
{
    if (op->n_null)
        p_null(p);
    else
        p_int(p, op->n);
}

/* ---- the session ---- */
typedef struct MyWriter {
    MYSQL *c; /* NULL after a lost connection that could not be renewed */
    Url url;
    int kind;
    WriterSql t, r;       /* SQL text */
    Prepared pt, pr; /* prepared on c */
    char *qt, *qr;
    bool lost;       /* the last failure lost the session */
} MyWriter;

static int is_conn_error(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
           e == CR_CONN_HOST_ERROR || e == CR_COMMANDS_OUT_OF_SYNC || e == 1927 /* ER_CONNECTION_KILLED */ ||
           e == 1053 /* ER_SERVER_SHUTDOWN */;
}

/* a new session: NULL with the reason in errbuf */
static MYSQL *connect_db(const Url *u, char *errbuf, size_t errlen)
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

static void close_prepared(Prepared *p)
{
    MYSQL_STMT **all[] = {&p->ins, &p->upd[0], &p->upd[1], &p->upd[2], &p->pk, &p->del};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i])
            mysql_stmt_close(*all[i]);
        *all[i] = NULL;
    }
}

static int prepare_all(MYSQL *c, const WriterSql *s, Prepared *p, char *errbuf, size_t errlen)
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
static void disconnect(MyWriter *s)
{
    close_prepared(&s->pt);
    close_prepared(&s->pr);
    if (s->c)
        mysql_close(s->c);
    s->c = NULL;
}

/* a fresh session with all statements prepared; 0 or -1 (errbuf) */
static int reconnect(MyWriter *s, char *errbuf, size_t errlen)
{
    disconnect(s);
    s->c = connect_db(&s->url, errbuf, errlen);
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
static long long exec_stmt(MYSQL_STMT *st, Param *p, int np, unsigned *errno_out, char *errbuf,
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
static void key_range(MYSQL *c, int k, const char *qref, int64_t *lo, int64_t *hi)
{
    char *sql;
    switch (k) {
    case KIND_VARCHAR:
        sql = writer_asprintf("SELECT COALESCE(MIN(CAST(SUBSTRING(k, 5) AS SIGNED)), 1), "
                              "COALESCE(MAX(CAST(SUBSTRING(k, 5) AS SIGNED)), 0) FROM %s",
                              qref);
        break;
    case KIND_COMPOSITE:
        sql = writer_asprintf("SELECT COALESCE(MIN(a), 1), COALESCE(MAX(a), 0) FROM %s", qref);
        break;
    case KIND_BINARY16:
        /* the fixture's key numbers are 1..N with extra = i */
        sql = writer_asprintf("SELECT 1, COALESCE(MAX(extra), 0) FROM %s", qref);
        break;
    case KIND_TIMESTAMP:
        sql = writer_asprintf("SELECT COALESCE(UNIX_TIMESTAMP(MIN(id)), 1), COALESCE(UNIX_TIMESTAMP(MAX(id)), 0) FROM %s",
                              qref);
        break;
    case KIND_INT:
    default:
        /* CAST: a FLOAT prints 6 digits, a BIT its bytes */
        sql = writer_asprintf("SELECT COALESCE(CAST(MIN(id) AS SIGNED), 1), COALESCE(CAST(MAX(id) AS SIGNED), 0) FROM %s",
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

/* ---- the engine ---- */
static void *my_open(const WriterOpts *o, int64_t *lo, int64_t *hi)
{
    MyWriter *w = writer_malloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = o->kind;
    parse_url(o->db, &w->url);
    if (mysql_library_init(0, NULL, NULL) != 0)
        writer_die("mysql_library_init failed");
    w->qt = quote_ident(o->table);
    w->qr = quote_ident(o->ref);
    build_sqls(&w->t, w->kind, w->qt);
    build_sqls(&w->r, w->kind, w->qr);
    char errbuf[1024];
    if (reconnect(w, errbuf, sizeof errbuf) != 0) {
        fprintf(stderr, "mywriter: %s\n", errbuf);
        exit(1);
    }
    key_range(w->c, w->kind, w->qr, lo, hi);
    return w;
}

static bool my_begin(void *s, char *err, size_t errlen)
{
    MyWriter *w = s;
    w->lost = false;
    if (!w->c && reconnect(w, err, errlen) != 0) {
        /* still without a session after a lost connection */
        w->lost = true;
        return false;
    }
    if (mysql_query(w->c, "START TRANSACTION") != 0) {
        unsigned e = mysql_errno(w->c);
        snprintf(err, errlen, "START TRANSACTION: %s (%u)", mysql_error(w->c), e);
        w->lost = is_conn_error(e);
        return false;
    }
    return true;
}

/* the key parameters of a key change: the new key (SET), then the old (WHERE);
 * of an update: the values, then the key */
static long long my_exec(void *s, bool ref, WriterOp *op, char *err, size_t errlen)
{
    MyWriter *w = s;
    const Prepared *pp = ref ? &w->pr : &w->pt;
    Param p[8];
    memset(p, 0, sizeof p);
    int nk = nkeys(w->kind), np = 0;
    MYSQL_STMT *st = NULL;

    switch (op->kind) {
    case OP_INSERT:
        key_params(w->kind, op->key, p);
        np = nk;
        p_value_v(&p[np++], op);
        p_value_n(&p[np++], op);
        st = pp->ins;
        break;
    case OP_UPDATE:
        if (op->upd == UPD_V || op->upd == UPD_VN)
            p_value_v(&p[np++], op);
        if (op->upd == UPD_N || op->upd == UPD_VN)
            p_value_n(&p[np++], op);
        key_params(w->kind, op->key, p + np);
        np += nk;
        st = pp->upd[op->upd];
        break;
    case OP_PKCHANGE:
        key_params(w->kind, op->newkey, p);
        key_params(w->kind, op->key, p + nk);
        np = 2 * nk;
        st = pp->pk;
        break;
    case OP_DELETE:
        key_params(w->kind, op->key, p);
        np = nk;
        st = pp->del;
        break;
    case OP__COUNT:
        snprintf(err, errlen, "no such operation");
        return -1;
    }
    unsigned e = 0;
    long long n = exec_stmt(st, p, np, &e, err, errlen);
    if (n < 0)
        w->lost = is_conn_error(e);
    return n;
}

static bool my_commit(void *s, char *err, size_t errlen)
{
    MyWriter *w = s;
    if (mysql_commit(w->c) == 0)
        return true;
    unsigned e = mysql_errno(w->c);
    snprintf(err, errlen, "COMMIT: %s (%u)", mysql_error(w->c), e);
    w->lost = is_conn_error(e);
    if (!w->lost)
        mysql_rollback(w->c);
    return false;
}

static void my_rollback(void *s)
{
    MyWriter *w = s;
    if (!w->lost && mysql_rollback(w->c) != 0)
        w->lost = is_conn_error(mysql_errno(w->c));
}

static bool my_lost(void *s)
{
    return ((MyWriter *)s)->lost;
}

static void my_reconnect(void *s)
{
    char rbuf[512];
    if (reconnect(s, rbuf, sizeof rbuf) != 0)
        fprintf(stderr, "mywriter: reconnect failed: %s\n", rbuf);
}

static void my_close(void *s)
{
    MyWriter *w = s;
    disconnect(w);
    writer_sql_free(&w->t);
    writer_sql_free(&w->r);
    free(w->qt);
    free(w->qr);
    free_url(&w->url);
    free(w);
    mysql_library_end();
}

static const WriterEngine my_engine = {
    .prog = "mywriter",
    .usage = "usage: mywriter --db mysql://user[:pass]@host[:port]/db --table T --ref R\n"
             "                --kind int|composite|varchar|binary16|timestamp\n"
             "                [--seed N] [--rate OPS_PER_SEC (0 = unlimited, default 200)]\n"
             "                [--duration SECS] [--stats FILE] [--latency-log FILE] [--ready FILE]\n",
    .kinds = my_kinds,
    .kinds_text = "int, composite, varchar, binary16 or timestamp",
    .takes_schema = false,
    /* osc's capture trigger naming its dropped change log: counted apart,
     * see stop_mywriter in tests/lib.sh */
    .stale_error = "_osc_log' doesn't exist",
    .open = my_open,
    .begin = my_begin,
    .exec = my_exec,
    .commit = my_commit,
    .rollback = my_rollback,
    .lost = my_lost,
    .reconnect = my_reconnect,
    .close = my_close,
};

int main(int argc, char **argv)
{
    return writer_main(argc, argv, &my_engine);
}
