/*
 * migrate_int.h — the pipeline's steps that the revert (src/core/revert.c)
 * shares with the forward run (src/core/migrate.c).
 */
#ifndef OSC_MIGRATE_INT_H
#define OSC_MIGRATE_INT_H

#include "osc.h"

/* Enters a phase: the progress, the summary, the log, the control socket. */
void mig_phase(Osc *o, const char *name, const char *what);
/* ...and says so in the state row ("running"). */
bool mig_enter(Osc *o, const char *name, const char *what, OscErr *e) MUSTCHECK;
/* The state row: phase and outcome (NULL keeps the old value), the message, the counters. */
bool mig_record(Osc *o, const char *phase_name, const char *outcome, const char *message, OscErr *e) MUSTCHECK;
/* The engine's main session and table description. */
bool mig_open(Osc *o, OscErr *e) MUSTCHECK;
void mig_close(Osc *o);
/* The control loop and the monitor stop with the run, whatever its end. */
OscExit mig_finish(Osc *o, OscExit rc);

#endif
