/* SPDX-License-Identifier: MIT */
/*
 * frames.h — a client's side of the control channel's framing (PROTOCOL.md),
 * shared by steer-console and steer-web: a request is ["", header, body] on a
 * DEALER; a reply is ["", header, body, binary frame...]; a stream message
 * is [topic, header, body]. The daemon's side is steerd/control/wire.c.
 */
#ifndef STEERD_FRAMES_H
#define STEERD_FRAMES_H

#include <jansson.h>
#include <zmq.h>

/* Send ["", header, body] without waiting (body NULL: {}). 0, or -1 (the
 * socket would block, or out of memory). header and body are borrowed. */
int frames_send_request(void *dealer, const json_t *header, const json_t *body);

/*
 * Receive one multipart message: the first part with flags (ZMQ_DONTWAIT
 * or 0), the rest as they come. The first max parts go into parts (the
 * caller closes them: frames_close), the rest are dropped. The number kept,
 * or -1 with nothing received.
 */
int frames_recv(void *sock, zmq_msg_t *parts, int max, int flags);

/* A part as JSON, or NULL when it is not JSON. */
json_t *frames_json(zmq_msg_t *m);

void frames_close(zmq_msg_t *parts, int n);

#endif
