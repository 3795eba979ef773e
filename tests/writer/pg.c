/*
 * pg.c — build/writer: the mirrored writer (common.c) on PostgreSQL.
 *
 *   writer --db CONNINFO_OR_URL --table T --ref R --kind int|composite|text|identity
 *          [--schema S] [--seed N] [--rate OPS_PER_SEC] [--duration SECS]
 *          [--stats FILE] [--latency-log FILE] [--ready FILE]
 *
 * Layouts (tests/lib.sh fixture creates them), plus in all of them v text,
 * n int, extra int NOT NULL DEFAULT 0, pad text:
 *   int        id int PRIMARY KEY                     key number i
 *   composite  a int, b int, PRIMARY KEY (a, b)       (i, i % 7)
 *   text       k text PRIMARY KEY                     'key-000123'
 *   identity   id bigint GENERATED ALWAYS AS IDENTITY T generates i (RETURNING id),
 *                                                     R takes it; no key changes
 * Identifiers are quoted with PQescapeIdentifier, values are parameters
 * (text). The session: application_name osc_test_writer, lock_timeout 10s,
 * statement_timeout 30s; a lost connection is reset (PQreset).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "writer.h"

enum { KIND_INT, KIND_COMPOSITE, KIND_TEXT, KIND_IDENTITY };

static const WriterKind pg_kinds[] = {
    [KIND_INT] = {"int", false},
    [KIND_COMPOSITE] = {"composite", false},
    [KIND_TEXT] = {"text", false},
    [KIND_IDENTITY] = {"identity", true},
    {NULL, false},
};

typedef struct PgWriter {
    PGconn *c;
    int kind;
    WriterSql t, r;
    char *qt, *qr;
} PgWriter;

/* ---- SQL building ---- */
static char *quote_ident(PGconn *c, const char *s)
{
    char *q = PQescapeIdentifier(c, s, strlen(s));
    if (!q)
        writer_die("cannot quote identifier: %s", PQerrorMessage(c));
    char *r = writer_asprintf("%s", q);
    PQfreemem(q);
    return r;
}

static char *qualified(PGconn *c, const char *schema, const char *table)
{
    char *t = quote_ident(c, table);
    if (!schema)
        return t;
    char *s = quote_ident(c, schema);
    char *r = writer_asprintf("%s.%s", s, t);
    free(s);
    free(t);
    return r;
}

/* number of key parameters per kind */
static int nkeys(int k)
{
    return k == KIND_COMPOSITE ? 2 : 1;
}

/* "a = $1 AND b = $2" (first parameter number p) */
static char *key_cond(int k, int p)
{
    switch (k) {
    case KIND_COMPOSITE:
        return writer_asprintf("a = $%d AND b = $%d", p, p + 1);
    case KIND_TEXT:
        return writer_asprintf("k = $%d", p);
    default:
        return writer_asprintf("id = $%d", p);
    }
}

static const char *key_cols(int k)
{
    switch (k) {
    case KIND_COMPOSITE:
        return "a, b";
    case KIND_TEXT:
        return "k";
    default:
        return "id";
    }
}

/* the statements for one table; is_target: the identity-generating side.
 * Parameters: the key first, then the values */
static void build_stmts(WriterSql *s, int k, const char *qt, int is_target)
{
    int nk = nkeys(k);
    char *cond = key_cond(k, 1);
    if (k == KIND_IDENTITY && is_target)
        s->ins = writer_asprintf("INSERT INTO %s (v, n) VALUES ($1, $2) RETURNING id", qt);
    else if (k == KIND_COMPOSITE)
        s->ins = writer_asprintf("INSERT INTO %s (a, b, v, n) VALUES ($1, $2, $3, $4)", qt);
    else
        s->ins = writer_asprintf("INSERT INTO %s (%s, v, n) VALUES ($1, $2, $3)", qt, key_cols(k));
    s->upd[UPD_V] = writer_asprintf("UPDATE %s SET v = $%d WHERE %s", qt, nk + 1, cond);
    s->upd[UPD_N] = writer_asprintf("UPDATE %s SET n = $%d WHERE %s", qt, nk + 1, cond);
    s->upd[UPD_VN] = writer_asprintf("UPDATE %s SET v = $%d, n = $%d WHERE %s", qt, nk + 1, nk + 2, cond);
    if (k == KIND_COMPOSITE)
        s->pk = writer_asprintf("UPDATE %s SET a = $3, b = $4 WHERE %s", qt, cond);
    else
        s->pk = writer_asprintf("UPDATE %s SET %s = $%d WHERE %s", qt, key_cols(k), nk + 1, cond);
    s->del = writer_asprintf("DELETE FROM %s WHERE %s", qt, cond);
    free(cond);
}

/* ---- parameters as text ---- */
typedef struct KeyBuf {
    char a[32];
    char b[32];
} KeyBuf;

/* fills kb for key number n and points params[0..nkeys) at it */
static void key_params(int k, int64_t n, KeyBuf *kb, const char **params)
{
    switch (k) {
    case KIND_COMPOSITE:
        snprintf(kb->a, sizeof kb->a, "%" PRId64, n);
        snprintf(kb->b, sizeof kb->b, "%" PRId64, writer_key_b(n));
        params[0] = kb->a;
        params[1] = kb->b;
        return;
    case KIND_TEXT:
        writer_text_key(kb->a, sizeof kb->a, n);
        params[0] = kb->a;
        return;
    default:
        snprintf(kb->a, sizeof kb->a, "%" PRId64, n);
        params[0] = kb->a;
    }
}

/* ---- the session ---- */

/* runs a command without parameters */
static bool exec_simple(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    PQclear(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* bound every wait; osc's swap may hold a lock for a moment */
static void session_setup(PGconn *c)
{
    exec_simple(c, "SET application_name = 'osc_test_writer'");
    exec_simple(c, "SET lock_timeout = '10s'");
    exec_simple(c, "SET statement_timeout = '30s'");
}

/* min and max key number in R */
static void key_range(PgWriter *w, int64_t *lo, int64_t *hi)
{
    char *sql;
    if (w->kind == KIND_TEXT)
        sql = writer_asprintf("SELECT coalesce(min(substring(k from '([0-9]+)$')::bigint), 1), "
                              "coalesce(max(substring(k from '([0-9]+)$')::bigint), 0) FROM %s",
                              w->qr);
    else if (w->kind == KIND_COMPOSITE)
        sql = writer_asprintf("SELECT coalesce(min(a), 1), coalesce(max(a), 0) FROM %s", w->qr);
    else
        sql = writer_asprintf("SELECT coalesce(min(id), 1), coalesce(max(id), 0) FROM %s", w->qr);
    PGresult *r = PQexec(w->c, sql);
    free(sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "writer: cannot read the key range: %s", PQresultErrorMessage(r));
        PQclear(r);
        PQfinish(w->c);
        exit(1);
    }
    *lo = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *hi = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    if (*lo > *hi)
        *lo = *hi;
}

static void *pg_open(const WriterOpts *o, int64_t *lo, int64_t *hi)
{
    PgWriter *w = writer_malloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = o->kind;
    w->c = PQconnectdb(o->db);
    if (PQstatus(w->c) != CONNECTION_OK) {
        fprintf(stderr, "writer: cannot connect: %s", PQerrorMessage(w->c));
        PQfinish(w->c);
        exit(1);
    }
    session_setup(w->c);
    w->qt = qualified(w->c, o->schema, o->table);
    w->qr = qualified(w->c, o->schema, o->ref);
    build_stmts(&w->t, w->kind, w->qt, 1);
    build_stmts(&w->r, w->kind, w->qr, 0);
    key_range(w, lo, hi);
    return w;
}

static bool pg_begin(void *s, char *err, size_t errlen)
{
    PgWriter *w = s;
    if (exec_simple(w->c, "BEGIN"))
        return true;
    snprintf(err, errlen, "BEGIN: %s", PQerrorMessage(w->c));
    return false;
}

static long long pg_exec(void *s, bool ref, WriterOp *op, char *err, size_t errlen)
{
    PgWriter *w = s;
    const WriterSql *st = ref ? &w->r : &w->t;
    const char *p[8] = {0};
    KeyBuf kb, kb2;
    char nbuf[16];
    int nk = nkeys(w->kind), np = 0;
    bool generates = op->kind == OP_INSERT && w->kind == KIND_IDENTITY && !ref;
    const char *sql = NULL;

    if (op->kind != OP_INSERT || !generates) {
        key_params(w->kind, op->key, &kb, p);
        np = nk;
    }
    if (!op->n_null)
        snprintf(nbuf, sizeof nbuf, "%d", op->n);
    switch (op->kind) {
    case OP_INSERT:
        p[np++] = op->v;
        p[np++] = op->n_null ? NULL : nbuf;
        sql = st->ins;
        break;
    case OP_UPDATE:
        if (op->upd == UPD_V || op->upd == UPD_VN)
            p[np++] = op->v;
        if (op->upd == UPD_N || op->upd == UPD_VN)
            p[np++] = op->n_null ? NULL : nbuf;
        sql = st->upd[op->upd];
        break;
    case OP_PKCHANGE:
        key_params(w->kind, op->newkey, &kb2, p + np);
        np += nk;
        sql = st->pk;
        break;
    case OP_DELETE:
        sql = st->del;
        break;
    case OP__COUNT:
        snprintf(err, errlen, "no such operation");
        return -1;
    }

    PGresult *r = PQexecParams(w->c, sql, np, NULL, p, NULL, NULL, 0);
    ExecStatusType rs = PQresultStatus(r);
    long long n = -1;
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        const char *m = PQresultErrorMessage(r);
        snprintf(err, errlen, "%s", (m && *m) ? m : PQerrorMessage(w->c));
        goto done;
    }
    if (generates) {
        /* T generated the id: the reference takes the same */
        if (rs != PGRES_TUPLES_OK || PQntuples(r) < 1 || PQgetisnull(r, 0, 0)) {
            snprintf(err, errlen, "INSERT ... RETURNING id returned no id");
            goto done;
        }
        op->key = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    }
    const char *t = PQcmdTuples(r);
    n = (t && *t) ? strtoll(t, NULL, 10) : 0;
done:
    PQclear(r);
    return n;
}

static bool pg_commit(void *s, char *err, size_t errlen)
{
    PgWriter *w = s;
    if (exec_simple(w->c, "COMMIT"))
        return true;
    snprintf(err, errlen, "COMMIT: %s", PQerrorMessage(w->c));
    exec_simple(w->c, "ROLLBACK");
    return false;
}

static void pg_rollback(void *s)
{
    exec_simple(((PgWriter *)s)->c, "ROLLBACK");
}

static bool pg_lost(void *s)
{
    return PQstatus(((PgWriter *)s)->c) != CONNECTION_OK;
}

static void pg_reconnect(void *s)
{
    PgWriter *w = s;
    PQreset(w->c);
    if (PQstatus(w->c) == CONNECTION_OK)
        session_setup(w->c);
}

static void pg_close(void *s)
{
    PgWriter *w = s;
    writer_sql_free(&w->t);
    writer_sql_free(&w->r);
    free(w->qt);
    free(w->qr);
    PQfinish(w->c);
    free(w);
}

static const WriterEngine pg_engine = {
    .prog = "writer",
    .usage = "usage: writer --db CONNINFO_OR_URL --table T --ref R --kind int|composite|text|identity\n"
             "              [--schema S] [--seed N] [--rate OPS_PER_SEC (0 = unlimited, default 200)]\n"
             "              [--duration SECS] [--stats FILE] [--latency-log FILE] [--ready FILE]\n",
    .kinds = pg_kinds,
    .kinds_text = "int, composite, text or identity",
    .takes_schema = true,
    .stale_error = NULL,
    .open = pg_open,
    .begin = pg_begin,
    .exec = pg_exec,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lost = pg_lost,
    .reconnect = pg_reconnect,
    .close = pg_close,
};

int main(int argc, char **argv)
{
    return writer_main(argc, argv, &pg_engine);
}
