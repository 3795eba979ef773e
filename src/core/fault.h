/*
 * fault.h — fault injection for the tests, and nothing else.
 *
 * OSC_FAULT=<point>:<ms> makes osc stop for <ms> at the named point, so a
 * test can kill it there (inside the swap transaction, right after the swap
 * committed; "chunk": after every chunk of the copy, so that the application
 * writes between two chunks).  Unset, a fault point costs one getenv.
 *
 * OSC_FAULT=<point>:/path makes osc wait at the point until that file
 * exists (at most two minutes): a test then does its work while osc is
 * known to be there, however slow the machine, and lets it go on.
 *
 * OSC_FAULT=corrupt-shadow:once|always makes the copy damage one row of the
 * shadow after a chunk's INSERT and before the chunk's checksum (PostgreSQL:
 * inside the chunk's transaction, src/pg/pg_verify.c; MySQL/MariaDB: a row whose
 * key is not in the change log, src/my/my_verify.c): once on the first chunk
 * only (the re-copy must repair it), always on every attempt of the first
 * chunk (the run must abort naming the chunk's key range).
 */
#ifndef OSC_FAULT_H
#define OSC_FAULT_H

#include "osc.h"

void fault_point(Osc *o, const char *point);
/* The same for code that has the log but not the run (the engines). */
void fault_pause(Log *log, const char *point);
/* The text after "<point>:" when OSC_FAULT names this point, else NULL. */
const char *fault_value(const char *point);

#endif
