/*
 * hooks.h — --on-success, --on-failure, --on-cutover: the operator's
 * commands, run through `sh -c` with the migration's facts in OSC_*
 * environment variables.  A hook that fails or hangs (60 s) is logged and
 * never changes osc's own result.
 */
#ifndef OSC_HOOKS_H
#define OSC_HOOKS_H

#include "osc.h"

/* Runs cmd (if set) for `outcome` ("success", "failure", "cutover"). */
void hooks_run(Osc *o, const char *cmd, const char *outcome, OscExit code, const char *reason);

#endif
