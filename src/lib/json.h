/*
 * json.h — the one JSON writer: every JSON text osc prints goes through it
 * (the log's JSON lines, `osc status json`, `osc plan --format json`,
 * `osc history` as JSON, `osc proxy status --format json`).
 *
 * A Json writes straight to a FILE (a terminal, a log file, or an
 * open_memstream buffer that a socket then sends), so it owns no memory.
 * It keeps the commas: the caller says object/array/key/value in order and
 * never writes punctuation itself.  The output is compact (no spaces), one
 * value per json_start.
 *
 * Every string is escaped here, whatever it holds: quotes, backslashes and
 * control characters become escapes, and bytes that are not UTF-8 (a server
 * message in another encoding) become U+FFFD, so that the text is always
 * valid JSON (RFC 8259 asks for UTF-8).  Text a database printed as a number
 * goes through json_number_text, which writes it only when it is a JSON
 * number (else null), never raw.
 */
#ifndef OSC_JSON_H
#define OSC_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef struct Json {
	FILE *out;
	int depth;          /* open objects and arrays */
	uint32_t has_value; /* bit d: the container at depth d holds a value (the next one takes a comma) */
	bool after_key;     /* a key was written: its value follows without a comma */
} Json;

/* Starts one JSON value on out (nothing is written yet). */
void json_start(Json *j, FILE *out);

void json_object(Json *j);
void json_object_end(Json *j);
void json_array(Json *j);
void json_array_end(Json *j);
/* The key of the next member of the object that is open. */
void json_key(Json *j, const char *key);

/* Values.  A NULL string is null; a double that is not finite is null;
 * decimals < 0 writes a double as %g. */
void json_string(Json *j, const char *s);
void json_int(Json *j, int64_t v);
void json_uint(Json *j, uint64_t v);
void json_double(Json *j, double v, int decimals);
void json_bool(Json *j, bool v);
void json_null(Json *j);
/* A number printed by someone else (a database's text result): written as
 * it is when it is a JSON number, else null. */
void json_number_text(Json *j, const char *s);

/* A key and its value, the common case. */
void json_kv_string(Json *j, const char *key, const char *s);
void json_kv_int(Json *j, const char *key, int64_t v);
void json_kv_uint(Json *j, const char *key, uint64_t v);
void json_kv_double(Json *j, const char *key, double v, int decimals);
void json_kv_bool(Json *j, const char *key, bool v);
void json_kv_null(Json *j, const char *key);
void json_kv_number_text(Json *j, const char *key, const char *s);

/* Writes s as one JSON string literal (quoted, escaped) on out. */
void json_write_string(FILE *out, const char *s);

#endif
