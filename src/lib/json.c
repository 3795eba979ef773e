/*
 * json.c — the JSON writer (see json.h).
 *
 * Commas: a value (or a key) takes a comma when the container it goes into
 * already holds one, which one bit per open container records; a value
 * right after its key takes none.  Strings are copied in runs of bytes that
 * need no escape, so a long message costs one fwrite, not one per byte.
 */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void json_start(Json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

/* Before a value or a key: the comma that separates it from the one before. */
static void separate(Json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		uint32_t bit = 1u << (j->depth - 1);
		if (j->has_value & bit)
			fputc(',', j->out);
		j->has_value |= bit;
	}
}

static void open_container(Json *j, char c)
{
	separate(j);
	if (j->depth == JSON_MAX_DEPTH) {
		/* the callers' shapes are fixed and shallow: this is a bug in osc */
		fputs("osc: JSON nested too deep\n", stderr);
		abort();
	}
	j->depth++;
	j->has_value &= ~(1u << (j->depth - 1));
	fputc(c, j->out);
}

static void close_container(Json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	fputc(c, j->out);
}

void json_object(Json *j)
{
	open_container(j, '{');
}

void json_object_end(Json *j)
{
	close_container(j, '}');
}

void json_array(Json *j)
{
	open_container(j, '[');
}

void json_array_end(Json *j)
{
	close_container(j, ']');
}

/* The length of the well-formed UTF-8 sequence at p (1 to 4), or 0 when the
 * bytes there are not one (a stray continuation byte, an overlong form, a
 * surrogate, past U+10FFFF, or cut short by the end of the string). */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* past U+10FFFF */
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

void json_write_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	fputc('"', out);
	while (*p) {
		size_t n = utf8_len(p);
		if (n > 1 || (n == 1 && *p >= 0x20 && *p != '"' && *p != '\\')) {
			p += n;
			continue;
		}
		fwrite(run, 1, (size_t)(p - run), out);
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (n == 1)
				fprintf(out, "\\u%04x", *p);
			else
				fputs("\\ufffd", out); /* not UTF-8: one replacement per bad byte */
		}
		p++;
		run = p;
	}
	fwrite(run, 1, (size_t)(p - run), out);
	fputc('"', out);
}

void json_key(Json *j, const char *key)
{
	separate(j);
	json_write_string(j->out, key);
	fputc(':', j->out);
	j->after_key = true;
}

void json_string(Json *j, const char *s)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	separate(j);
	json_write_string(j->out, s);
}

void json_int(Json *j, int64_t v)
{
	separate(j);
	fprintf(j->out, "%lld", (long long)v);
}

void json_uint(Json *j, uint64_t v)
{
	separate(j);
	fprintf(j->out, "%llu", (unsigned long long)v);
}

void json_double(Json *j, double v, int decimals)
{
	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	separate(j);
	if (decimals < 0)
		fprintf(j->out, "%g", v);
	else
		fprintf(j->out, "%.*f", decimals, v);
}

void json_bool(Json *j, bool v)
{
	separate(j);
	fputs(v ? "true" : "false", j->out);
}

void json_null(Json *j)
{
	separate(j);
	fputs("null", j->out);
}

static bool digits(const char **p)
{
	const char *s = *p;
	while (**p >= '0' && **p <= '9')
		(*p)++;
	return *p > s;
}

/* The JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s)
{
	if (s == NULL)
		return false;
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s < '1' || *s > '9' || !digits(&s))
		return false;
	if (*s == '.') {
		s++;
		if (!digits(&s))
			return false;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!digits(&s))
			return false;
	}
	return *s == '\0';
}

void json_number_text(Json *j, const char *s)
{
	if (!is_json_number(s)) {
		json_null(j);
		return;
	}
	separate(j);
	fputs(s, j->out);
}

void json_kv_string(Json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void json_kv_int(Json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kv_uint(Json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kv_double(Json *j, const char *key, double v, int decimals)
{
	json_key(j, key);
	json_double(j, v, decimals);
}

void json_kv_bool(Json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_kv_null(Json *j, const char *key)
{
	json_key(j, key);
	json_null(j);
}

void json_kv_number_text(Json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_number_text(j, s);
}
