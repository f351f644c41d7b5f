/* SPDX-License-Identifier: MIT */
/*
 * service.h — what the service manager (systemd, Type=notify) is told:
 * READY=1 once the sockets are bound and the connection file is written,
 * STOPPING=1 when the run ends, and WATCHDOG=1 pings while the daemon is
 * healthy. Without NOTIFY_SOCKET in the environment every call does nothing.
 *
 * The watchdog pings come from a thread of their own, and only while the
 * control thread keeps going round its loop (control_liveness): a long
 * simulation step is healthy (clients are still answered), a wedged control
 * thread is not, and systemd then restarts the daemon (WatchdogSec=).
 */
#ifndef STEERD_SERVICE_H
#define STEERD_SERVICE_H

#include <stdatomic.h>

typedef struct service service;

/*
 * Starts the watchdog thread when systemd asks for pings (WATCHDOG_USEC for
 * this pid); liveness is a counter the control thread advances at least every
 * few tens of milliseconds (borrowed; must outlive the service). NULL when
 * there is nothing to do (not under systemd, or no watchdog and no socket).
 */
service *service_start(const atomic_uint *liveness);

/* READY=1 with a one-line STATUS=. Safe on NULL (then only READY is sent when
 * NOTIFY_SOCKET is set). */
void service_ready(service *s, const char *status);

/* STOPPING=1: the run is ending (on_exit checkpoint, then exit). */
void service_stopping(service *s);

/* Stops and joins the watchdog thread; sets *sp to NULL. */
void service_destroy(service **sp);

#endif
