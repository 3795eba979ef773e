/*
 * control_int.h — what the files of the control module share among
 * themselves (control.h is what the rest of osc sees).
 *
 *   control_state.c     the shared state: the throttle decision, and the
 *                       worker's side (publish, gate, abort, cutover, limits)
 *   control_commands.c  the command table of the socket and each command
 *   control_status.c    `osc status` rendered as text or as JSON
 *   control_tick.c      the flag files and the 100 ms tick
 *   control_server.c    the control loop: its thread, the socket, start/stop
 *   control_socket.c    the socket's path, and who is at the other end
 *   control_client.c    `osc status|pause|...` talking to a run
 */
#ifndef OSC_CONTROL_INT_H
#define OSC_CONTROL_INT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "control.h"

struct event_base;
struct evconnlistener;
struct event;
struct evhttp;

/* The libevent side of the control loop (Control.loop). */
typedef struct ControlLoop {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *tick;
	struct evhttp *http;      /* --metrics (src/core/metrics.c); NULL: none */
} ControlLoop;

/* The shared state before the threads start: the mutex, and the limits
 * and chunk sizes as the options give them (osc set changes them later). */
void control_state_init(Osc *o);

/* The uid and pid at the other end of a Unix socket; false (and a uid that
 * matches nobody) when they cannot be read. */
bool control_peer_uid(int fd, uid_t *uid, pid_t *pid);

/* Runs one command line of the socket's protocol (the table in
 * control_commands.c), taking mu; line is cut into words in place.
 * *answer is the reply, "ok..." or "error: ...", with the passwords osc
 * knows masked; malloc'd, the caller frees it.  True when the command was
 * carried out. */
bool control_dispatch(Osc *o, char *line, char **answer);

/* `osc status`, as text or one JSON line, from what the worker last
 * published (mu held). */
void control_status_text(Osc *o, FILE *f);
void control_status_json(Osc *o, FILE *f);

/* Reads the flag files (--pause-file, --panic-file) and decides again. */
void control_read_flag_files(Osc *o);
/* Adds the 100 ms tick to lp's event base: it reads the flag files, and
 * ends the loop once Control.quit is set. */
bool control_tick_add(Osc *o, ControlLoop *lp) MUSTCHECK;

#endif
