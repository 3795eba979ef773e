/*
 * preflight.c — what a run checks before it makes anything, in one order
 * for every engine, each check the engine's SQL (src/core/engine.h,
 * "preflight"):
 *
 *   the table    it exists and is an ordinary table osc migrates
 *   the server   a primary (never a standby or a replica), the --replica
 *                URLs its replicas, every privilege the run needs
 *   the key      a primary key or a unique index over NOT NULL columns
 *   dependents   nothing the swap could not carry (PostgreSQL's rules,
 *                functions bound to the table)
 *   the lock     the run's advisory lock on the table: a second run stops
 *                here (exit 3); then the resume decision (resume.c)
 *
 * osc plan takes no lock: it refuses what earlier runs left instead, as a
 * new migration would (a run does that after the resume decision).  Bad
 * input is exit 2 with nothing changed: every check only reads.
 */
#include "preflight.h"

bool preflight_run(Osc *o, bool lock, OscErr *e)
{
	const Engine *E = o->engine;
	EngineTable *t = o->table;

	if (!E->table_find(t, &o->info, e) || !E->target_check(t, e) || !E->key_find(t, e) ||
	    (E->dependents_check && !E->dependents_check(t, e)))
		return false;
	if (lock)
		return E->table_lock(t, e);
	return !E->leftovers_check || E->leftovers_check(t, e);
}
