/* SPDX-License-Identifier: MIT */
/*
 * control.h — the control channel: a ROUTER socket served by its own thread.
 *
 * Reads are answered on that thread from the mirror, so they take
 * microseconds even while a long step runs. Writes are handed to the
 * simulation thread over an inproc pipe (a pointer to a `change`), applied at
 * the next step boundary and handed back to be answered.
 */
#ifndef STEERD_CONTROL_H
#define STEERD_CONTROL_H

#include <stdatomic.h>

#include "cert.h"
#include "config.h"
#include "mirror.h"
#include "zap.h"

typedef struct control control;

/*
 * Bind the ROUTER socket and make the pipe. With security, server is the
 * server's key pair (the socket becomes a CURVE server; ZAP admits clients)
 * and z the ZAP handler, asked on every request whether the sender's key may
 * run the command (zap_authorize: refused with E_FORBIDDEN); both kept by
 * the caller. Both NULL: plaintext, everyone may run everything. NULL with a
 * message on failure.
 */
control *control_new(void *zctx, const config *cfg, mirror *m, const char *stream_endpoint,
                     const cert *server, zap *z, char *err, size_t errlen);

/* The bound endpoint, ports resolved. */
const char *control_endpoint(const control *c);

/* The simulation thread's end of the pipe (see run.h). */
void *control_sim_pipe(control *c);

/*
 * Nonzero when a change has been sent on the pipe since the simulation
 * thread last cleared it: lets a flat-out run skip looking at the pipe (two
 * system calls inside libzmq) on steps when nothing came.
 */
atomic_uint *control_pending(control *c);

/*
 * A counter the control thread advances each time round its loop (at least
 * every PIPE_LOOK_MS while idle): the watchdog's sign that clients are still
 * served (service.h).
 */
const atomic_uint *control_liveness(control *c);

/* Start serving on a new thread. 0 or -1. */
int control_start(control *c);

/* Stop the thread (after the simulation thread has answered its last change) and join it. */
void control_stop(control *c);

/* Free; the thread must be stopped. Sets *cp to NULL. */
void control_destroy(control **cp);

#endif
