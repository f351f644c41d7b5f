/* SPDX-License-Identifier: MIT */
/*
 * framepool.h — buffers for a reply's binary frames (`history`), kept for
 * the next reply instead of going back to the system.
 *
 * A reply of 10^5 points is a few MB of fresh buffers. From malloc, each
 * comes as new pages (mmap, or a heap the allocator trimmed when libzmq freed
 * the last reply's), and faulting them in cost more than filling them did
 * (tests/bench/bench_history.c). Buffers of FRAMEPOOL_MIN_BYTES or more are
 * kept when released, up to FRAMEPOOL_MAX_BYTES in all, and reused by the
 * next reply that fits; smaller ones are plain malloc/free.
 *
 * Thread-safe: a buffer is taken on the control thread and released by
 * libzmq's I/O thread once the frame is sent.
 */
#ifndef STEERD_FRAMEPOOL_H
#define STEERD_FRAMEPOOL_H

#include <stddef.h>

#define FRAMEPOOL_MIN_BYTES (64u << 10)
#define FRAMEPOOL_MAX_BYTES (16u << 20) /* kept, at most: a 10^5-point reply of a few names */

/* A buffer of at least `bytes` (uninitialised), or NULL when out of memory. */
void *framepool_alloc(size_t bytes);
/* Give a buffer back (NULL: nothing). */
void framepool_free(void *p);
/* Release every kept buffer (the control thread's end). */
void framepool_drain(void);

#endif
