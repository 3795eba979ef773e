/*
 * verify.c — the verify-and-recopy rule and the summary after the swap (see
 * verify.h).  The copy's chunks (src/core/copy.c) and the replay's batches
 * (replicator/replay.c) both come here, so the rule and its words are the
 * same for both, on both engines.
 */
#include "verify.h"

VerifyOutcome verify_judge(VerifyStats *st, Log *log, bool same, bool chunk, int attempt, const char *what,
                           const char *why, OscErr *e)
{
	if (same) {
		if (chunk)
			st->chunks++;
		else
			st->batches++;
		return VERIFY_SAME;
	}
	const char *verb = chunk ? "differs" : "differ";
	if (attempt >= 2) {
		err_set(e, OSC_EXIT_FAILED, "verification: %s %s from the original twice (%s); stopped before the swap", what,
		        verb, why);
		return VERIFY_DIFFERS;
	}
	st->recopied++;
	log_msg(log, LOG_WARN, "verification: %s %s from the original (%s); %s", what, verb, why,
	        chunk ? "copying it again" : "merging them again");
	return VERIFY_AGAIN;
}

void verify_summary(const VerifyStats *st, Log *log, VerifyMode mode)
{
	if (mode == VERIFY_NONE)
		return;
	log_msg(log, LOG_INFO,
	        "verified (%s): %lld chunks and %lld merged batches (the last ones under the swap's lock) equal the "
	        "original; %lld re-copied after a difference",
	        mode == VERIFY_CHECKSUM ? "checksum" : "count", (long long)st->chunks, (long long)st->batches,
	        (long long)st->recopied);
}
