/*
 * writer.h — the mirrored writer of osc's tests and benchmarks: what its
 * common driver (common.c) asks of a database engine (pg.c, my.c).
 *
 * The driver owns everything the two writers share: the command line, the
 * seeded random workload (inserts, updates of v and/or n, also to NULL, key
 * changes, deletes), the rate control, the latency statistics and the output
 * that tests/lib.sh and bench/ parse. It plans each operation as a WriterOp
 * (key numbers and values, no SQL) and runs it as one transaction through
 * the engine: begin, the statement on the table, the same statement on the
 * reference, the check that both touched as many rows, commit. An engine
 * only turns key numbers into its key layouts and a WriterOp into SQL, and
 * knows when its session is lost.
 */
#ifndef OSC_TEST_WRITER_H
#define OSC_TEST_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { OP_INSERT, OP_UPDATE, OP_PKCHANGE, OP_DELETE, OP__COUNT } WriterOpKind;

/* which columns an update sets */
enum { UPD_V, UPD_N, UPD_VN, UPD__COUNT };

/* one planned operation: key numbers (the engine maps them to its key
 * layout) and the new values */
typedef struct WriterOp {
    WriterOpKind kind;
    int upd;        /* OP_UPDATE: UPD_* */
    int64_t key;    /* the row's key number; OP_INSERT: the new row's (an
                       engine whose table generates keys replaces it on the
                       table's side, and the reference then gets that key) */
    int64_t newkey; /* OP_PKCHANGE: the key number the row moves to */
    const char *v;  /* new v (insert, UPD_V, UPD_VN); NULL is SQL NULL */
    bool n_null;    /* new n (insert, UPD_N, UPD_VN) is SQL NULL */
    int n;
    char vbuf[24];  /* storage for v */
} WriterOp;

/* the SQL of one table (the target or the reference), one statement per
 * kind of operation: an engine builds it in its dialect, writer_sql_free
 * releases it */
typedef struct WriterSql {
    char *ins;
    char *upd[UPD__COUNT];
    char *pk;
    char *del;
} WriterSql;

typedef struct WriterOpts {
    const char *db;
    const char *table;
    const char *ref;
    const char *schema; /* only for engines with takes_schema */
    const char *stats;
    const char *latlog;
    const char *ready;  /* created once the writer is about to write */
    int kind;           /* index into WriterEngine.kinds */
    uint64_t seed;
    double rate;
    double duration;    /* <= 0: until signalled */
} WriterOpts;

/* a key layout the engine offers (--kind NAME) */
typedef struct WriterKind {
    const char *name;
    bool fixed_key; /* the table generates the key: no key changes */
} WriterKind;

typedef struct WriterEngine {
    const char *prog;         /* the program's name: the prefix of its messages */
    const char *usage;        /* the usage text */
    const WriterKind *kinds;  /* ends with {NULL} */
    const char *kinds_text;   /* "int, composite or text": for the --kind error */
    bool takes_schema;        /* accepts --schema */
    const char *stale_error;  /* errors whose message contains this are also
                                 counted as "stale_errors" in the stats;
                                 NULL: the stats have no such field */

    /* connects, prepares, reads the reference's key range [*lo, *hi];
     * prints the reason and exits 1 when it cannot */
    void *(*open)(const WriterOpts *o, int64_t *lo, int64_t *hi);
    /* starts a transaction (and a session if the last one was lost) */
    bool (*begin)(void *s, char *err, size_t errlen);
    /* runs op on the table (ref false) or the reference: rows affected,
     * or -1 with err set */
    long long (*exec)(void *s, bool ref, WriterOp *op, char *err, size_t errlen);
    bool (*commit)(void *s, char *err, size_t errlen);
    /* after a failure inside the transaction (not a failed begin) */
    void (*rollback)(void *s);
    /* after a failed operation: the session is gone */
    bool (*lost)(void *s);
    /* a new session after a lost one (the driver waits 100 ms first) */
    void (*reconnect)(void *s);
    void (*close)(void *s);
} WriterEngine;

/* the whole program: parses argv, runs the workload, writes the stats */
int writer_main(int argc, char **argv, const WriterEngine *e);

/* for the engines: "PROG: message" on stderr, exit 1 */
void writer_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* allocation that never returns NULL (writer_die instead); the caller frees */
void *writer_malloc(size_t n);
char *writer_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void writer_sql_free(WriterSql *s);

/* key number n in the key layouts of tests/lib.sh's fixtures, both engines:
 * a composite key (a, b) is (n, writer_key_b(n)); a text key is
 * writer_text_key's "key-000042" */
int64_t writer_key_b(int64_t n);
void writer_text_key(char *buf, size_t size, int64_t n);

#endif
