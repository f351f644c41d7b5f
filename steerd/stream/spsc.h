/* SPDX-License-Identifier: MIT */
/*
 * spsc.h — a bounded single-producer single-consumer queue of fixed-size
 * slots, lock-free and free of system calls.
 *
 * The simulation thread hands stream messages to the publisher thread through
 * it: a push is a copy into a slot and one release store, so publishing costs
 * the simulation nothing that grows with the number of subscribers.
 *
 * Exactly one thread may call spsc_push_*, and exactly one (maybe another)
 * spsc_pop_*. Slots are reused: a popped slot's bytes belong to the queue
 * again once spsc_pop_done() returns.
 */
#ifndef STEERD_SPSC_H
#define STEERD_SPSC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct spsc spsc;

/* A queue of at least `capacity` slots (rounded up to a power of two) of slot_size bytes each. */
spsc *spsc_new(size_t capacity, size_t slot_size);
/* Frees the queue; *qp is set to NULL. Whatever was still queued is forgotten. */
void spsc_destroy(spsc **qp);

/* Producer: the slot to fill next, or NULL when the queue is full. */
void *spsc_push_slot(spsc *q);
/* Producer: publish the slot returned by spsc_push_slot to the consumer. */
void spsc_push_done(spsc *q);

/* Consumer: the oldest filled slot, or NULL when the queue is empty. */
void *spsc_pop_slot(spsc *q);
/* Consumer: give that slot back. */
void spsc_pop_done(spsc *q);

/* Either side: is the queue empty right now? */
bool spsc_empty(spsc *q);
/* Either side: slots filled and not yet popped, right now. */
size_t spsc_used(spsc *q);

#endif
