/*
 * fault.h — fault injection for the tests, and nothing else.
 *
 * OSC_FAULT=<point>:<ms> makes osc stop for <ms> at the named point, so a
 * test can kill it there (inside the swap transaction, right after the swap
 * committed).  Unset, a fault point costs one getenv.
 */
#ifndef OSC_FAULT_H
#define OSC_FAULT_H

#include "osc.h"

void fault_point(Osc *o, const char *point);

#endif
