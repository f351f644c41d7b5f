/* SPDX-License-Identifier: MIT */
/* framepool.c — reply frame buffers kept for reuse (framepool.h says why). */
#include "framepool.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* Before each buffer: its capacity, and the link while it is kept. */
typedef struct fhead {
	alignas(max_align_t) size_t cap;
	struct fhead *next;
} fhead;

#define FRAMEPOOL_GRAIN ((size_t)4096) /* capacities rounded up: near sizes reuse a buffer */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static fhead *kept;      /* a list, in no order */
static size_t kept_bytes;

void *framepool_alloc(size_t bytes)
{
	if (bytes >= FRAMEPOOL_MIN_BYTES) {
		/* The smallest kept buffer that fits. */
		pthread_mutex_lock(&lock);
		fhead **best = NULL;
		for (fhead **f = &kept; *f; f = &(*f)->next)
			if ((*f)->cap >= bytes && (!best || (*f)->cap < (*best)->cap))
				best = f;
		fhead *h = best ? *best : NULL;
		if (h) {
			*best = h->next;
			kept_bytes -= h->cap;
		}
		pthread_mutex_unlock(&lock);
		if (h)
			return h + 1;
		if (bytes > SIZE_MAX - FRAMEPOOL_GRAIN - sizeof(fhead))
			return NULL;
		bytes = (bytes + FRAMEPOOL_GRAIN - 1) / FRAMEPOOL_GRAIN * FRAMEPOOL_GRAIN;
	}
	fhead *h = malloc(sizeof *h + bytes);
	if (!h)
		return NULL;
	h->cap = bytes;
	return h + 1;
}

void framepool_free(void *p)
{
	if (!p)
		return;
	fhead *h = (fhead *)p - 1;
	if (h->cap >= FRAMEPOOL_MIN_BYTES) {
		pthread_mutex_lock(&lock);
		bool keep = h->cap <= FRAMEPOOL_MAX_BYTES - kept_bytes;
		if (keep) {
			h->next = kept;
			kept = h;
			kept_bytes += h->cap;
		}
		pthread_mutex_unlock(&lock);
		if (keep)
			return;
	}
	free(h);
}

void framepool_drain(void)
{
	pthread_mutex_lock(&lock);
	fhead *f = kept;
	kept = NULL;
	kept_bytes = 0;
	pthread_mutex_unlock(&lock);
	while (f) {
		fhead *next = f->next;
		free(f);
		f = next;
	}
}
