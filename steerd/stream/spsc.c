/* SPDX-License-Identifier: MIT */
/* spsc.c — bounded single-producer single-consumer queue (see spsc.h). */
#include "spsc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

struct spsc {
	/* head and tail count slots ever pushed and popped; each is written by one side only */
	_Alignas(64) atomic_size_t head;
	_Alignas(64) atomic_size_t tail;
	_Alignas(64) size_t mask;
	size_t slot_size;
	unsigned char *slots;
};

spsc *spsc_new(size_t capacity, size_t slot_size)
{
	size_t n = 1;
	while (n < capacity)
		n <<= 1;
	spsc *q = aligned_alloc(64, sizeof *q);
	if (!q)
		return NULL;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	q->mask = n - 1;
	q->slot_size = (slot_size + 15) & ~(size_t)15;
	q->slots = calloc(n, q->slot_size);
	if (!q->slots) {
		free(q);
		return NULL;
	}
	return q;
}

void spsc_destroy(spsc **qp)
{
	if (!qp || !*qp)
		return;
	free((*qp)->slots);
	free(*qp);
	*qp = NULL;
}

void *spsc_push_slot(spsc *q)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	if (head - tail > q->mask)
		return NULL;
	return q->slots + (head & q->mask) * q->slot_size;
}

void spsc_push_done(spsc *q)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
}

void *spsc_pop_slot(spsc *q)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	if (head == tail)
		return NULL;
	return q->slots + (tail & q->mask) * q->slot_size;
}

void spsc_pop_done(spsc *q)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
}

bool spsc_empty(spsc *q)
{
	return atomic_load_explicit(&q->head, memory_order_acquire) ==
	       atomic_load_explicit(&q->tail, memory_order_acquire);
}

size_t spsc_used(spsc *q)
{
	return atomic_load_explicit(&q->head, memory_order_acquire) -
	       atomic_load_explicit(&q->tail, memory_order_acquire);
}
