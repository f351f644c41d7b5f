/* SPDX-License-Identifier: MIT */
/*
 * history_internal.h — the store's layout, shared by history.c (keeping and
 * querying) and history_h5.c (saving to and reading from checkpoints). Not
 * an interface for the rest of steerd.
 */
#ifndef STEERD_HISTORY_INTERNAL_H
#define STEERD_HISTORY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "history.h"

/*
 * One level: a ring of rows, oldest at `head`. Level 0 keeps one value per
 * sample (v[0]); the coarser levels keep min, mean and max
 * (v[HISTORY_MIN..MAX]), each laid out as hcell() says. Every row has the
 * step and seq of its last sample, its stretch and (coarser levels) how many
 * samples it covers.
 */
typedef struct hlevel {
	size_t cap, head, n;  /* cap: a multiple of HBLOCK */
	size_t n_series;
	uint64_t *step, *seq, *count, *stretch; /* count is NULL at level 0 (always 1) */
	double *v[3];
	/* The bucket being filled (levels >= 1): from rows of the level below. */
	uint64_t acc_rows, acc_count, acc_step, acc_seq, acc_stretch;
	double *acc_min, *acc_sum, *acc_max, *acc_weight; /* [n_series] */
} hlevel;

/*
 * Values are kept in blocks of HBLOCK rows, each block column-major: series
 * s of ring row i is v[k][hcell(lv, s, i)]. Recording a sample (every step,
 * on the simulation's thread) then writes its n_series values into one
 * block, a page or less, instead of n_series columns a whole level apart (a
 * TLB miss and a cache miss each: measured, most of what history cost a
 * step); a query of one series still reads whole cache lines of it.
 */
#define HBLOCK 8

static inline size_t hcell(const hlevel *lv, size_t s, size_t i)
{
	return (i / HBLOCK) * (lv->n_series * HBLOCK) + s * HBLOCK + i % HBLOCK;
}

/* The ring index of row n (0: oldest; n < cap): no division, a query takes it per row. */
static inline size_t hlevel_at(const hlevel *lv, size_t n)
{
	size_t i = lv->head + n;
	return i >= lv->cap ? i - lv->cap : i;
}

/* A row in flight between levels (pointers to n_series values each). */
typedef struct hrow {
	uint64_t step, seq, count, stretch;
	const double *min, *mean, *max;
} hrow;

typedef struct hstretch {
	uint64_t id, first_seq, last_seq, first_step, last_step;
	const char *began;
	bool abandoned;
} hstretch;

typedef struct hmarker {
	uint64_t seq, step;
	char *entry; /* compact JSON object text */
} hmarker;

struct history {
	pthread_mutex_t lock; /* the store; the pending buffer is the writer's own */
	size_t n_series;
	char **names;
	history_limits lim;
	size_t bytes;         /* allocated, for history_bytes */
	hlevel levels[HISTORY_MAX_LEVELS];
	unsigned n_levels;    /* 0: keeps nothing */
	uint64_t next_seq;    /* of the next sample added to the store */

	hstretch stretches[HISTORY_MAX_STRETCHES]; /* a ring, oldest at s_head */
	size_t s_head, s_n;
	uint64_t next_stretch;
	const char *jump;     /* set: the next sample starts a stretch begun so */
	bool have_last;
	uint64_t last_step;   /* of the last sample added */

	hmarker *markers;     /* a ring, oldest at m_head */
	size_t m_cap, m_head, m_n, m_bytes, m_budget;

	/*
	 * Samples taken but not yet in the store: a ring the writer fills
	 * without the lock (row-major, a sample's values side by side) and
	 * whoever holds the lock empties (history_take_staged). The writer adds
	 * them in batches of HBLOCK, so a block's cache lines are written while
	 * hot, and the lock is taken once a batch; a query adds them first, so
	 * it sees every sample taken before it.
	 */
	uint64_t *pend_step;
	double *pend_values;
	size_t pend_cap;
	atomic_size_t pend_w; /* samples staged, ever (the writer's) */
	atomic_size_t pend_r; /* samples added to the store, ever (under the lock) */
	uint64_t taken_seq;   /* seq of the last sample taken (staged included; the writer's) */
};

/* Add every staged sample to the store. The caller holds the lock. */
void history_take_staged(history *h);

/* A store with the given capacity per level (checkpoints: as saved). */
history *history_alloc(const history_limits *lim, size_t n_series, const char *const *names,
                       const size_t *caps, unsigned levels);
/* Add one row to level L's ring (the oldest row goes when it is full). */
void history_push_row(history *h, unsigned L, const hrow *r);
/* Row i (0: oldest) of level L. */
void history_get_row(const history *h, unsigned L, size_t i, hrow *r, double *min, double *mean,
                     double *max);
/* Feed a row into level L's bucket (L >= 1); a full bucket goes up. */
void history_feed(history *h, unsigned L, const hrow *r);
/* Append a stretch / a marker as they were (restart). */
void history_put_stretch(history *h, const hstretch *s);
void history_put_marker(history *h, uint64_t seq, uint64_t step, const char *entry);
/* A static string for a stretch's `began` read from a file, or NULL. */
const char *history_began_name(const char *s);

#endif
