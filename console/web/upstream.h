/* SPDX-License-Identifier: MIT */
/*
 * upstream.h — steer-web's one attachment to steerd: a thread that owns the
 * ZeroMQ sockets (two SUBs for the stream: data, and events with heartbeats;
 * a DEALER for steer-web's own reads, and one per operator key when steerd
 * runs with security), keeps the newest state of the run in a model
 * (model.h) and forwards the commands browsers send, already checked
 * (webcmd.h), under the operator's name.
 *
 * The browsers never touch these sockets: however many pages are open,
 * steerd sees the same subscriptions.
 */
#ifndef STEER_WEB_UPSTREAM_H
#define STEER_WEB_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model.h"

#define UP_MAX_PENDING 64 /* commands forwarded and not yet answered */

typedef struct upstream upstream;

typedef struct upstream_opts {
	const char *connfile;   /* the run's connection file */
	const char *key_file;   /* steer-web's own NAME.key_secret, or NULL */
	long hello_timeout_ms;  /* how long to wait for steerd at start */
	void (*wake)(void *arg); /* called (from the upstream thread) when replies wait */
	void *wake_arg;
} upstream_opts;

/* One reply to a browser's command, handed back to the web thread. */
typedef struct up_reply {
	uint64_t client;   /* the browser connection's serial number */
	json_t *msg;       /* {"type": "reply", "id", "ok", "body"} */
	struct up_reply *next;
} up_reply;

/*
 * Connects, reads `hello` (waiting at most hello_timeout_ms) and starts the
 * thread. NULL with a message in err when steerd cannot be reached or the
 * key cannot be read.
 */
upstream *upstream_start(const upstream_opts *o, char *err, size_t errlen);
void upstream_stop(upstream **up);

/* A new reference to the last `hello` body (knobs, diagnostics, commands). */
json_t *upstream_hello(upstream *up);
/*
 * Grows each time steer-web follows a new steerd (the connection file names
 * another process): upstream_hello() is then the new one's, and the model
 * starts again from it; pages need the new hello.
 */
uint64_t upstream_generation(upstream *up);

/*
 * Forwards a checked command: header client = who (the operator's name),
 * sent on the DEALER of key_file when given (steerd with security: the
 * operator's own CURVE key, so steerd itself names them), else on
 * steer-web's own. Steals body. -1 when UP_MAX_PENDING are waiting.
 */
int upstream_submit(upstream *up, uint64_t client, json_t *browser_id, const char *cmd,
                    json_t *body, const char *who, const char *key_file);

/*
 * Asks steerd's `history` (when it has the capability) of every scalar, at
 * most max_points points; the answer comes to this browser connection as
 * {"type": "history", "ok", "steps", "series": {NAME: [means]}, "markers"}.
 * -1 when steerd keeps no history or too much is waiting.
 */
int upstream_request_history(upstream *up, uint64_t client, size_t max_points);

/* The replies that arrived since the last call (a list; the caller frees with up_reply_free). */
up_reply *upstream_take_replies(upstream *up);
void up_reply_free(up_reply *r);

/* The newest state of the run (model.h), for the web thread's frames. */
model *upstream_model(upstream *up);

#endif
