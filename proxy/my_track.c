/*
 * my_track.c — a MySQL/MariaDB session's state in the command phase,
 * followed from the packets that pass.  Pure: no I/O.
 *
 * Each command the client sends owes one response (COM_STMT_CLOSE,
 * COM_STMT_SEND_LONG_DATA and COM_QUIT owe none); the responses owed are a
 * queue, oldest first (MariaDB clients pipeline COM_STMT_PREPARE with an
 * COM_STMT_EXECUTE of statement -1).  The oldest is read packet by packet:
 * OK, ERR, a LOCAL INFILE request, or result sets (column count, column
 * definitions, EOF unless CLIENT_DEPRECATE_EOF, rows, and an EOF — or an OK
 * with a 0xFE header — whose status flags say whether another result follows,
 * SERVER_MORE_RESULTS_EXISTS).  COM_STMT_PREPARE is answered by its own OK
 * and two blocks of definitions; MariaDB's cached metadata
 * (MARIADB_CLIENT_CACHE_METADATA) may leave out an execute's definitions, a
 * byte after the column count says so.  The status flags of every OK and
 * EOF are kept: SERVER_STATUS_IN_TRANS says a transaction is open (so its
 * metadata locks are held), SERVER_STATUS_CURSOR_EXISTS that a cursor is.
 *
 * A session is idle when it owes nothing, has no LOCAL INFILE or
 * authentication exchange open, and its last status had neither flag.  An
 * ERR carries no status: a transaction a deadlock rolled back still looks
 * open until the next OK, which only makes a hold wait (never keep a
 * session inside a transaction).
 */
#include "proxy_int.h"

#include <string.h>

enum {
	RS_START,        /* the first packet of a response, or of the next result */
	RS_COLDEFS,      /* column definitions */
	RS_COLEOF,       /* the EOF after them */
	RS_ROWS,         /* rows until the terminating EOF/OK or an ERR */
	RS_PREP_PARAMS,  /* COM_STMT_PREPARE: parameter definitions */
	RS_PREP_PARAMS_EOF,
	RS_PREP_COLS,    /* then column definitions */
	RS_PREP_COLS_EOF,
	RS_FIELDS,       /* COM_FIELD_LIST: definitions until EOF */
};

void mytrack_init(MyTrack *t)
{
	memset(t, 0, sizeof(*t));
}

/* A length-encoded integer at p[*i]; false when it does not fit in plen. */
static bool lenenc(const unsigned char *p, size_t plen, size_t *i, uint64_t *v)
{
	if (*i >= plen)
		return false;
	unsigned char c = p[*i];
	size_t n = c < 0xFB ? 0 : c == 0xFC ? 2 : c == 0xFD ? 3 : c == 0xFE ? 8 : 0;
	if (c < 0xFB || c == 0xFB || c == 0xFF) {
		*v = c < 0xFB ? c : 0;
		(*i)++;
		return true;
	}
	if (*i + 1 + n > plen)
		return false;
	uint64_t x = 0;
	for (size_t k = 0; k < n; k++)
		x |= (uint64_t)p[*i + 1 + k] << (8 * k);
	*v = x;
	*i += 1 + n;
	return true;
}

/* The status flags of an OK packet (header 0x00 or 0xFE). */
static bool ok_status(const unsigned char *p, size_t plen, uint16_t *status)
{
	size_t i = 1;
	uint64_t v;
	if (!lenenc(p, plen, &i, &v) || !lenenc(p, plen, &i, &v) || i + 2 > plen)
		return false;
	*status = (uint16_t)(p[i] | p[i + 1] << 8);
	return true;
}

/* The status flags of an EOF packet (0xFE, warnings, status). */
static bool eof_status(const unsigned char *p, size_t plen, uint16_t *status)
{
	if (plen < 5)
		return false;
	*status = (uint16_t)(p[3] | p[4] << 8);
	return true;
}

static void set_status(MyTrack *t, uint16_t st)
{
	t->status = st;
	t->cursor = (st & MY_STATUS_CURSOR_EXISTS) && !(st & MY_STATUS_LAST_ROW_SENT);
}

/* An EOF packet, or with CLIENT_DEPRECATE_EOF the OK that replaces it.  A
 * text row may begin with 0xFE too, but then it is 16 MB long. */
static bool is_terminator(const MyTrack *t, const unsigned char *p, size_t plen, size_t len)
{
	if (plen < 1 || p[0] != 0xFE)
		return false;
	return (t->caps & MY_CLIENT_DEPRECATE_EOF) ? len < 0xFFFFFF : len < 9;
}

static void terminator_status(MyTrack *t, const unsigned char *p, size_t plen, size_t len)
{
	uint16_t st;
	bool ok = (t->caps & MY_CLIENT_DEPRECATE_EOF) && len >= 7 ? ok_status(p, plen, &st) : eof_status(p, plen, &st);
	if (ok)
		set_status(t, st);
}

/* MariaDB's progress report: an ERR whose code is 0xFFFF, not an error. */
static bool is_progress(const unsigned char *p, size_t plen)
{
	return plen >= 3 && p[0] == 0xFF && p[1] == 0xFF && p[2] == 0xFF;
}

static void pop(MyTrack *t)
{
	if (t->nq > 0) {
		memmove(t->q, t->q + 1, (size_t)(t->nq - 1));
		t->nq--;
	}
	t->rs = RS_START;
	t->left = 0;
	t->infile = false;
	t->client_turn = false;
}

bool mytrack_starts_request(const MyTrack *t)
{
	return t->ready && !t->infile && !t->client_turn;
}

void mytrack_command(MyTrack *t, const unsigned char *payload, size_t len)
{
	int kind;
	if (len < 1)
		return;
	switch (payload[0]) {
	case 0x01: /* COM_QUIT */
	case 0x18: /* COM_STMT_SEND_LONG_DATA */
		return;
	case 0x19: /* COM_STMT_CLOSE */
		t->cursor = false;
		return;
	case 0x16: kind = MYR_PREPARE; break;
	case 0x17: /* COM_STMT_EXECUTE */
	case 0xFA: /* COM_STMT_BULK_EXECUTE */
		kind = MYR_EXECUTE;
		break;
	case 0x1C: kind = MYR_FETCH; break;
	case 0x09: /* COM_STATISTICS: one string */
	case 0x1B: /* COM_SET_OPTION: EOF or ERR */
	case 0x0D: /* COM_DEBUG */
		kind = MYR_ONE;
		break;
	case 0x04: kind = MYR_FIELDS; break;
	case 0x11: kind = MYR_AUTH; break;
	case 0x12: /* COM_BINLOG_DUMP */
	case 0x1E: /* COM_BINLOG_DUMP_GTID */
	case 0x13: /* COM_TABLE_DUMP */
		kind = MYR_STREAM;
		break;
	case 0x1A: /* COM_STMT_RESET */
		t->cursor = false;
		kind = MYR_GENERIC;
		break;
	default: kind = MYR_GENERIC; break;
	}
	if (t->nq >= MY_QMAX) {
		t->overflow = true;
		return;
	}
	t->q[t->nq++] = (uint8_t)kind;
}

void mytrack_client_data(MyTrack *t, size_t len)
{
	if (t->infile && len == 0)
		t->infile = false; /* the empty packet ends the file; the server answers OK or ERR */
	else if (t->client_turn)
		t->client_turn = false;
}

/* The first packet of a response (or of the next result of one). */
static void response_start(MyTrack *t, int kind, const unsigned char *p, size_t plen, size_t len)
{
	uint16_t st;
	size_t i;
	uint64_t n;

	switch (kind) {
	case MYR_GENERIC:
	case MYR_EXECUTE:
		if (p[0] == 0x00 && len >= 7) { /* OK */
			if (ok_status(p, plen, &st))
				set_status(t, st);
			if (!(t->status & MY_STATUS_MORE_RESULTS))
				pop(t);
			return;
		}
		if (p[0] == 0xFF) {
			if (!is_progress(p, plen))
				pop(t); /* an error ends the response, a multi-statement one too */
			return;
		}
		if (p[0] == 0xFB && kind == MYR_GENERIC) { /* LOCAL INFILE: the client sends the file */
			t->infile = true;
			return;
		}
		i = 0;
		if (!lenenc(p, plen, &i, &n)) {
			t->overflow = true;
			return;
		}
		t->left = n;
		if (kind == MYR_EXECUTE && (t->ext & MY_EXT_CACHE_METADATA) && i < plen && p[i] == 0)
			t->left = 0; /* the client has the definitions already */
		t->rs = t->left > 0 ? RS_COLDEFS : (t->caps & MY_CLIENT_DEPRECATE_EOF) ? RS_ROWS : RS_COLEOF;
		return;
	case MYR_PREPARE:
		if (p[0] != 0x00 || plen < 9) {
			pop(t);
			return;
		}
		t->prep_cols = (uint64_t)(p[5] | p[6] << 8);
		n = (uint64_t)(p[7] | p[8] << 8);
		if (n > 0) {
			t->left = n;
			t->rs = RS_PREP_PARAMS;
		} else if (t->prep_cols > 0) {
			t->left = t->prep_cols;
			t->rs = RS_PREP_COLS;
		} else {
			pop(t);
		}
		return;
	case MYR_FETCH:
		t->rs = RS_ROWS;
		mytrack_server(t, p, plen, len);
		return;
	case MYR_ONE:
		if (p[0] == 0xFE && len < 9 && eof_status(p, plen, &st))
			set_status(t, st);
		else if (p[0] == 0x00 && len >= 7 && ok_status(p, plen, &st))
			set_status(t, st);
		pop(t);
		return;
	case MYR_FIELDS:
		t->rs = RS_FIELDS;
		mytrack_server(t, p, plen, len);
		return;
	case MYR_AUTH:
		if (p[0] == 0x00) {
			if (ok_status(p, plen, &st))
				set_status(t, st);
			pop(t);
		} else if (p[0] == 0xFF) {
			pop(t);
		} else {
			t->client_turn = true; /* an auth switch or more data: the client answers */
		}
		return;
	default: /* MYR_STREAM never ends */
		return;
	}
}

void mytrack_server(MyTrack *t, const unsigned char *p, size_t plen, size_t len)
{
	if (t->nq == 0 || plen == 0)
		return; /* unasked (an ERR before the server closes): changes nothing */
	int kind = t->q[0];
	switch (t->rs) {
	case RS_START:
		response_start(t, kind, p, plen, len);
		return;
	case RS_COLDEFS:
		if (--t->left == 0)
			t->rs = (t->caps & MY_CLIENT_DEPRECATE_EOF) ? RS_ROWS : RS_COLEOF;
		return;
	case RS_COLEOF:
		if (p[0] == 0xFF) {
			pop(t);
			return;
		}
		if (!(p[0] == 0xFE && len < 9)) {
			/* no EOF where one was expected (cached metadata): a row */
			t->rs = RS_ROWS;
			mytrack_server(t, p, plen, len);
			return;
		}
		terminator_status(t, p, plen, len);
		/* a cursor: the rows come by COM_STMT_FETCH */
		if (kind == MYR_EXECUTE && (t->status & MY_STATUS_CURSOR_EXISTS))
			pop(t);
		else
			t->rs = RS_ROWS;
		return;
	case RS_ROWS:
		if (p[0] == 0xFF && len < 0xFFFFFF) {
			if (!is_progress(p, plen))
				pop(t);
			return;
		}
		if (is_terminator(t, p, plen, len)) {
			terminator_status(t, p, plen, len);
			if ((t->status & MY_STATUS_MORE_RESULTS) && kind != MYR_FETCH)
				t->rs = RS_START;
			else
				pop(t);
		}
		return;
	case RS_PREP_PARAMS:
		if (--t->left > 0)
			return;
		if (!(t->caps & MY_CLIENT_DEPRECATE_EOF)) {
			t->rs = RS_PREP_PARAMS_EOF;
			return;
		}
		/* no EOF after the parameters: the columns come now */
		/* fall through */
	case RS_PREP_PARAMS_EOF:
		if (t->prep_cols > 0) {
			t->left = t->prep_cols;
			t->rs = RS_PREP_COLS;
		} else {
			pop(t);
		}
		return;
	case RS_PREP_COLS:
		if (--t->left > 0)
			return;
		if (!(t->caps & MY_CLIENT_DEPRECATE_EOF))
			t->rs = RS_PREP_COLS_EOF;
		else
			pop(t);
		return;
	case RS_PREP_COLS_EOF:
		pop(t);
		return;
	case RS_FIELDS:
		if (p[0] == 0xFF || is_terminator(t, p, plen, len)) {
			if (p[0] == 0xFE)
				terminator_status(t, p, plen, len);
			pop(t);
		}
		return;
	default:
		return;
	}
}

void mytrack_authenticated(MyTrack *t, const unsigned char *p, size_t plen)
{
	uint16_t st;
	t->ready = true;
	if (plen >= 7 && ok_status(p, plen, &st))
		set_status(t, st);
}

bool mytrack_idle(const MyTrack *t)
{
	return t->ready && t->nq == 0 && !t->infile && !t->client_turn && !t->overflow &&
	       !(t->status & MY_STATUS_IN_TRANS) && !t->cursor;
}

const char *mytrack_state(const MyTrack *t)
{
	if (!t->ready)
		return "authenticating";
	if (t->overflow)
		return "state unknown (too many pipelined commands)";
	if (t->infile)
		return "sending a LOCAL INFILE";
	if (t->nq > 0)
		return (t->status & MY_STATUS_IN_TRANS) ? "running a command in a transaction" : "running a command";
	if (t->status & MY_STATUS_IN_TRANS)
		return "idle in transaction";
	if (t->cursor)
		return "idle with an open cursor";
	return "idle";
}
