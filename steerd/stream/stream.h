/* SPDX-License-Identifier: MIT */
/*
 * stream.h — the diagnostics stream: a ZeroMQ XPUB socket served by its own
 * publisher thread.
 *
 * The simulation thread calls stream_publish_* and stream_heartbeat: each
 * numbers the message and copies it into a lock-free queue (spsc.h), with no
 * system call and no cost per subscriber. The publisher thread formats the
 * headers, sends, and takes in (un)subscriptions as they arrive. While
 * messages flow it sends them in batches every millisecond, so a subscriber
 * sees them at most ~1 ms late. A full queue (the publisher ~0.3 s behind)
 * drops messages: the simulation never waits for the stream.
 *
 * Every message is [topic][JSON header][binary frames...]. Headers carry a
 * run-wide sequence number (seq), a per-topic one (topic_seq; each event
 * name is a topic of its own) and the seq of the topic's previous message
 * (prev_seq). Every message the run produces is numbered, sent or not, so
 * any loss (full queue, high-water mark, reconnect) is a gap. Topics:
 *   scalars          all rank-0 diagnostics, one float64 frame
 *   array.NAME       one rank-1 diagnostic, one float64 frame
 *   event.NAME       something happened (knob_changed, ramp_started, ...)
 *   heartbeat        every heartbeat_ms of wall time
 * A topic nobody subscribes to is never built (XPUB reports subscriptions).
 * Sends never block: a subscriber over its high-water mark loses messages.
 * Everything below but stream_rebind's work runs on the calling thread, which
 * must be the simulation thread.
 */
#ifndef STEERD_STREAM_H
#define STEERD_STREAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "adapter.h"
#include "cert.h"
#include "config.h"

typedef struct stream stream;

/*
 * Bind the XPUB socket in zmq context zctx and start the publisher thread; with server (the server's key
 * pair, kept by the caller), as a CURVE server whose subscribers ZAP admits
 * (zap.h); NULL: plaintext. NULL with a message on failure.
 */
stream *stream_new(void *zctx, const config *cfg, const sa_adapter *sa, const cert *server,
                   char *err, size_t errlen);
/* Sends what is queued, stops the thread, closes the socket (lingering 200 ms). */
void stream_destroy(stream **sp);

/*
 * Drop every subscriber: close the socket and bind a new one, set up as
 * before, at the same endpoint (zap_rebind). Subscribers reconnect by
 * themselves and go through ZAP again, so revoked keys stay out; until they
 * have subscribed again (100-200 ms) nothing reaches them. The subscription
 * table starts empty. Done by the publisher thread; the caller waits for it.
 * 0, or -1 with a message.
 */
int stream_rebind(stream *s, char *err, size_t errlen);


/* The bound endpoint (ports resolved), e.g. "tcp://127.0.0.1:40123". */
const char *stream_endpoint(const stream *s);

/* Sequence number of the last message produced, sent or not (0: none yet). */
uint64_t stream_seq(const stream *s);

/*
 * Tests only: while held, the publisher thread sends nothing, so the queue
 * fills up and then loses messages, as when the publisher falls behind.
 */
void stream_hold_publisher(stream *s, bool hold);

/* Publish the scalars (values in the order of the adapter's rank-0 diags). */
void stream_publish_scalars(stream *s, uint64_t step, double time, const double *values);

/* Publish the adapter diagnostic `diag` (rank 1) of sim, read straight into the message. */
void stream_publish_array(stream *s, const void *sim, size_t diag, uint64_t step, double time);

/*
 * Publish event `name` (topic "event.NAME"); fields (may be NULL) is an object
 * merged into the header, and is consumed.
 */
void stream_publish_event(stream *s, const char *name, uint64_t step, double time, json_t *fields);

/*
 * Publish a heartbeat if heartbeat_ms have passed since the last one. state
 * is kept, not copied: a string that outlives the stream (run_state_name()).
 */
void stream_heartbeat(stream *s, uint64_t step, double time, const char *state);

/* Milliseconds until the next heartbeat is due (>= 0). */
long stream_ms_to_heartbeat(const stream *s);

#endif
