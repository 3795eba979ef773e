/*
 * err.h — the error that travels up from a failed step to main.
 *
 * Every function that can fail returns bool (warn_unused_result) and fills an
 * OscErr: a one-line message for the operator, the SQLSTATE when the database
 * said no, an optional detail line (the query text), and the exit code class
 * the failure belongs to (README.md "Exit codes": 1 failed/original
 * intact, 2 bad input, 3 stopped but resumable).  Only main turns it into an
 * exit.
 */
#ifndef OSC_ERR_H
#define OSC_ERR_H

#include <stdbool.h>
#include <stdarg.h>

#define MUSTCHECK __attribute__((warn_unused_result))
#define PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))

typedef enum OscExit {
	OSC_EXIT_OK = 0,
	OSC_EXIT_FAILED = 1,  /* failed; the original is intact */
	OSC_EXIT_INPUT = 2,   /* bad input; nothing changed */
	OSC_EXIT_STOPPED = 3, /* stopped, resumable, or someone else holds the table */
	OSC_EXIT_RISK = 4,    /* osc plan --fail-on: the plan's risk reached that level */
} OscExit;

typedef struct OscErr {
	OscExit exit;
	char msg[2048];
	char detail[2048];
	char sqlstate[8];
} OscErr;

void err_set(OscErr *e, OscExit code, const char *fmt, ...) PRINTFLIKE(3, 4);
void err_detail(OscErr *e, const char *fmt, ...) PRINTFLIKE(2, 3);
void err_clear(OscErr *e);
/* Puts context around the message already in e: before + message + after
 * (the SQLSTATE and detail stay). */
void err_wrap(OscErr *e, OscExit code, const char *before, const char *after);
/* Replaces every `from` in the message by `to` (no longer than `from`): the
 * database names osc's shadow where the user knows the table. */
void err_replace(OscErr *e, const char *from, const char *to);

#endif
