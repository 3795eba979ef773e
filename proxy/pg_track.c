/*
 * pg_track.c — a PostgreSQL session's transaction state, followed from the
 * messages that pass (frontend/backend protocol 3.0).  Pure: no I/O.
 *
 * The server answers every Query, FunctionCall and Sync with exactly one
 * ReadyForQuery, whose status byte says where the session stands: 'I' idle,
 * 'T' in a transaction block, 'E' in a failed one.  So the proxy counts the
 * ReadyForQuery messages it is still owed (pipelined Syncs included) and
 * keeps the last status; a session is idle when it owes nothing, its last
 * status was 'I', and no extended-protocol cycle (Parse..Sync) or COPY is
 * open.  Only then may a hold keep its next request.
 *
 * Two corners of the protocol bend the count:
 *  - while the server reads COPY data it ignores Sync and Flush; libpq sends
 *    a Sync right after an Execute that turns out to be a COPY (it cannot
 *    know), and another after CopyDone.  The Syncs forwarded between that
 *    Execute and the CopyInResponse are therefore taken back when the
 *    CopyInResponse arrives, and Syncs during COPY IN are not counted; the
 *    cycle stays open until the Sync after CopyDone, since the COPY's
 *    implicit transaction commits only there.
 *  - an ErrorResponse ends COPY IN; the ReadyForQuery still comes (simple
 *    query) or comes at the next Sync (extended), as counted.
 * When in doubt the session counts as busy: a hold then waits for it (and
 * names it after the drain timeout) instead of keeping it in a transaction.
 */
#include "proxy_int.h"

#include <string.h>

void pgtrack_init(PgTrack *t)
{
	memset(t, 0, sizeof(*t));
	t->status = 'I';
}

bool pgtrack_starts_request(const PgTrack *t, char type)
{
	if (!t->ready || t->in_cycle || t->copy_in)
		return false;
	switch (type) {
	case 'd': /* CopyData, CopyDone, CopyFail: continuations (a late one after an error too) */
	case 'c':
	case 'f':
	case 'p': /* a password or SASL answer */
		return false;
	default:
		return true;
	}
}

void pgtrack_client(PgTrack *t, char type)
{
	switch (type) {
	case 'Q':
		t->pending++;
		t->last_extended = false;
		t->syncs_after_exec = 0;
		break;
	case 'F':
		t->pending++;
		break;
	case 'P':
	case 'B':
	case 'D':
	case 'C':
		t->in_cycle = true;
		break;
	/* 'H' Flush starts nothing on the server: inside a cycle the cycle is
	 * already open, outside one it changes nothing */
	case 'E':
		t->in_cycle = true;
		t->last_extended = true;
		t->syncs_after_exec = 0;
		break;
	case 'S':
		if (t->copy_in)
			break; /* the server ignores it */
		t->pending++;
		t->syncs_after_exec++;
		t->in_cycle = false;
		break;
	case 'c':
	case 'f':
		t->copy_in = false;
		break;
	default:
		break;
	}
}

void pgtrack_server(PgTrack *t, char type, const unsigned char *body, size_t bodylen)
{
	switch (type) {
	case 'Z':
		t->ready = true;
		if (bodylen >= 1)
			t->status = (char)body[0];
		if (t->pending > 0)
			t->pending--;
		t->copy_in = false;
		break;
	case 'K':
		if (bodylen >= 4)
			t->pid = (uint32_t)body[0] << 24 | (uint32_t)body[1] << 16 | (uint32_t)body[2] << 8 | body[3];
		break;
	case 'G': /* CopyInResponse */
	case 'W': /* CopyBothResponse */
		t->copy_in = true;
		if (t->last_extended) {
			/* the Syncs sent after the Execute were read in copy mode and
			 * ignored; the cycle ends with the Sync after CopyDone */
			t->pending -= t->syncs_after_exec;
			if (t->pending < 0)
				t->pending = 0;
			t->syncs_after_exec = 0;
			t->in_cycle = true;
		}
		break;
	case 'E':
		t->copy_in = false;
		break;
	default:
		break;
	}
}

bool pgtrack_idle(const PgTrack *t)
{
	return t->ready && t->pending == 0 && !t->in_cycle && !t->copy_in && t->status == 'I';
}

const char *pgtrack_state(const PgTrack *t)
{
	if (!t->ready)
		return "authenticating";
	if (t->copy_in)
		return "in COPY";
	if (t->pending > 0)
		return t->status == 'I' ? "running a request" : "running a request in a transaction";
	if (t->in_cycle)
		return "in an extended-protocol cycle (no Sync yet)";
	switch (t->status) {
	case 'T': return "idle in transaction";
	case 'E': return "idle in a failed transaction";
	default: return "idle";
	}
}
