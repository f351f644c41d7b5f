/* SPDX-License-Identifier: MIT */
/*
 * wire.h — control-channel framing on the ROUTER socket (see PROTOCOL.md).
 *
 * A request is [routing prefix...][empty delimiter][header JSON][body JSON]
 * (body optional). The routing prefix is every frame up to and including the
 * first empty one, and is echoed whole, so REQ clients, DEALER clients and
 * proxies all get their reply. A reply is [prefix][header JSON][body JSON].
 */
#ifndef STEERD_WIRE_H
#define STEERD_WIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <zmq.h>

#include "protocol.h"
#include "zap.h"

#define WIRE_MAX_PREFIX 16 /* routing frames kept; a longer prefix is refused */
#define WIRE_ID_MAX 128    /* characters of a request id */
#define WIRE_CLIENT_MAX 64 /* bytes of a client name, with the NUL */

/* One received request. */
typedef struct wire_request {
	zmq_msg_t prefix[WIRE_MAX_PREFIX]; /* routing frames, delimiter included */
	size_t n_prefix;
	json_t *id;                 /* echoed; JSON null when absent */
	char cmd[64];               /* "" when the header could not be read */
	char retry_key[65];         /* header.retry_key, or "" */
	char client[WIRE_CLIENT_MAX]; /* header.client, else "anon-" + routing id in hex;
	                                 with security, the key's name (control.c) */
	zap_peer peer;              /* who sent it (CURVE key, ZAP user id): from the first
	                               frame after the routing id; unauthenticated without security */
	json_t *body;               /* an object; {} when absent */
	const char *err_code;       /* set when the request is malformed */
	char err_msg[256];
} wire_request;

/*
 * Receive one whole multipart message from the ROUTER socket (never blocks
 * when called after zmq_poll reported POLLIN). Returns -1 only when nothing
 * could be received; a malformed request returns 0 with err_code set (it
 * still has its prefix, so it can be answered).
 */
int wire_recv(void *router, wire_request *req, size_t max_bytes);

/*
 * The same, waiting for a request up to the socket's ZMQ_RCVTIMEO: one
 * blocking receive costs fewer system calls than zmq_poll then wire_recv
 * (see control.c). -1 with errno EAGAIN when none came in time.
 */
int wire_recv_wait(void *router, wire_request *req, size_t max_bytes);

/* Send the reply and release the request's frames, id and body. */
void wire_reply(void *router, wire_request *req, bool ok, json_t *body /* consumed */);

/* A binary frame after a reply's body (`history`): data comes from
 * framepool_alloc and is handed to libzmq, which gives it back to the pool
 * once sent (no copy). */
typedef struct wire_frame {
	void *data;
	size_t len;
} wire_frame;
#define WIRE_MAX_FRAMES 80

/* wire_reply, then the frames (each taken over: data freed, even on failure). */
void wire_reply_frames(void *router, wire_request *req, json_t *body /* consumed */,
                       wire_frame *frames, size_t n);

/* Reply with {"error": {"code": code, "message": message}}. */
void wire_reply_error(void *router, wire_request *req, const char *code, const char *message);

/* Release a request without replying. */
void wire_request_free(wire_request *req);

#endif
