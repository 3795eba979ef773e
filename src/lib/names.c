/*
 * names.c — parsing --table and deriving osc's object names (see names.h).
 */
#include "names.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

/* Reads one name part at *pp into out.  Quoted parts end at the closing
 * quote; unquoted parts at the first dot. */
static bool parse_part(const char **pp, char *out, bool *quoted, OscErr *e)
{
	const char *p = *pp;
	size_t n = 0;

	*quoted = (*p == '"');
	if (*quoted) {
		p++;
		for (;;) {
			if (*p == '\0') {
				err_set(e, OSC_EXIT_INPUT, "--table: unterminated double quote");
				return false;
			}
			if (*p == '"') {
				if (p[1] != '"')
					break;
				p++;
			}
			if (n + 1 >= OSC_NAME_MAX) {
				err_set(e, OSC_EXIT_INPUT, "--table: name too long");
				return false;
			}
			out[n++] = *p++;
		}
		p++; /* closing quote */
		if (*p != '\0' && *p != '.') {
			err_set(e, OSC_EXIT_INPUT, "--table: unexpected text after a quoted name");
			return false;
		}
	} else {
		while (*p && *p != '.') {
			if (n + 1 >= OSC_NAME_MAX) {
				err_set(e, OSC_EXIT_INPUT, "--table: name too long");
				return false;
			}
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	if (n == 0) {
		err_set(e, OSC_EXIT_INPUT, "--table: empty name");
		return false;
	}
	*pp = p;
	return true;
}

bool names_parse_table(const char *spec, TableName *out, OscErr *e)
{
	const char *p = spec;
	char first[OSC_NAME_MAX];
	bool first_quoted;

	memset(out, 0, sizeof(*out));
	if (spec == NULL || *spec == '\0') {
		err_set(e, OSC_EXIT_INPUT, "--table is required");
		return false;
	}
	if (!parse_part(&p, first, &first_quoted, e))
		return false;
	if (*p == '\0') {
		memcpy(out->table, first, sizeof(first));
		out->table_quoted = first_quoted;
		return true;
	}
	p++; /* the dot */
	memcpy(out->schema, first, sizeof(first));
	out->schema_quoted = first_quoted;
	if (!parse_part(&p, out->table, &out->table_quoted, e))
		return false;
	if (*p != '\0') {
		err_set(e, OSC_EXIT_INPUT, "--table: expected table or schema.table, got %s", spec);
		return false;
	}
	return true;
}

void names_hash_hex(char *out, size_t digits, const void *data, size_t len)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	static const char hex[] = "0123456789abcdef";

	SHA256(data, len, md);
	if (digits > 2 * SHA256_DIGEST_LENGTH)
		digits = 2 * SHA256_DIGEST_LENGTH;
	for (size_t i = 0; i < digits; i++)
		out[i] = hex[(md[i / 2] >> ((i % 2) ? 0 : 4)) & 0xf];
	out[digits] = '\0';
}

void names_derive(char *out, size_t outsz, const char *prefix, const char *base,
                  const char *suffix, size_t maxlen)
{
	size_t plen = strlen(prefix), blen = strlen(base), slen = strlen(suffix);

	if (maxlen >= outsz)
		maxlen = outsz - 1;
	if (plen + blen + slen <= maxlen) {
		snprintf(out, outsz, "%s%s%s", prefix, base, suffix);
		return;
	}
	char hash[9];
	names_hash_hex(hash, 8, base, blen);
	/* room for the base: maxlen - prefix - "_" - 8 - suffix */
	size_t room = maxlen > plen + 9 + slen ? maxlen - plen - 9 - slen : 0;
	if (room > blen)
		room = blen;
	/* never cut a UTF-8 sequence in half */
	while (room > 0 && ((unsigned char)base[room] & 0xC0) == 0x80)
		room--;
	snprintf(out, outsz, "%s%.*s_%s%s", prefix, (int)room, base, hash, suffix);
}

void names_old_suffix(char *out, size_t outsz, int n)
{
	if (n <= 1)
		snprintf(out, outsz, "_osc_old");
	else
		snprintf(out, outsz, "_osc_old_%d", n);
}
