/* SPDX-License-Identifier: MIT */
/*
 * history.h — the run's past in memory: every knob and scalar diagnostic at
 * every step, multi-resolution like RRDtool, and the steering journal's
 * entries as markers on the same axis (PROTOCOL.md, `history`).
 *
 * Samples are kept in the order they were taken, each with a sample
 * sequence number (seq: 1, 2, ...) beside its step. A step that does not
 * follow the previous one (rewind, a search going back, a restart) starts a
 * new *stretch*; nothing already kept is erased by it. Level 0 holds single
 * samples; level L >= 1 holds buckets (min, mean, max per series) of
 * bucket_samples level L-1 rows of one stretch. Each level is a ring: the
 * oldest rows go first. Every allocation is made by history_new and sized
 * from history.max_bytes: the store never grows past it.
 *
 * Threads: the simulation thread is the only writer (record, marker, jump,
 * adopt); any thread may query. A writer never waits for a reader: samples
 * are staged in a small ring and added to the store in batches, by the
 * writer or by a query (which so sees every sample taken before it).
 */
#ifndef STEERD_HISTORY_H
#define STEERD_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HISTORY_MAX_NAMES 64          /* series in one query */
#define HISTORY_MAX_POINTS 1000000    /* points in one reply */
#define HISTORY_MAX_VALUES (1u << 24) /* max_points * (3 + names * stats) */
#define HISTORY_MAX_MARKERS 10000     /* markers in one reply (the newest) */
#define HISTORY_MAX_STRETCHES 4096    /* stretches described (the newest) */
#define HISTORY_MAX_LEVELS 8

typedef struct history history;

typedef struct history_limits {
	uint64_t max_bytes;      /* the whole store; 0: keep no history */
	unsigned levels;         /* 1 .. HISTORY_MAX_LEVELS (level 0 included) */
	unsigned bucket_samples; /* rows of level L-1 per bucket of level L */
} history_limits;

/*
 * A store for n_series series named names[i] (copied). NULL when out of
 * memory. With max_bytes 0 it keeps nothing and answers every query empty.
 */
history *history_new(const history_limits *lim, size_t n_series, const char *const *names);
void history_destroy(history **hp);

/* Bytes allocated by the store (its bound is history.max_bytes). */
size_t history_bytes(const history *h);
/* The series index of name, or -1. */
int history_series(const history *h, const char *name);

/* --- simulation thread ------------------------------------------------- */

/* One sample: values[n_series] at boundary `step`. Never waits for a reader. */
void history_record(history *h, uint64_t step, const double *values);

/* A steering journal entry (compact JSON object text) made at `step`. */
void history_marker(history *h, uint64_t step, const char *entry_json);

/*
 * The next sample starts a new stretch, whatever its step; `began` says why
 * ("rewind", "search", "restart"; a static string).
 */
void history_jump(history *h, const char *began);

/* --- queries (any thread) ---------------------------------------------- */

enum { HISTORY_MIN, HISTORY_MEAN, HISTORY_MAX };

typedef struct history_request {
	size_t series[HISTORY_MAX_NAMES];
	size_t n_series;
	uint64_t from_step, to_step, from_seq; /* inclusive; to_step UINT64_MAX: no bound */
	size_t max_points;
	int stats[3];                          /* HISTORY_MIN/MEAN/MAX, in reply order */
	size_t n_stats;
	/* The reply's arrays come from alloc and go back by release (NULL: malloc, free). */
	void *(*alloc)(size_t bytes);
	void (*release)(void *p);
} history_request;

typedef struct history_reply {
	size_t points;
	uint64_t *step, *seq, *count; /* [points] */
	double *values[HISTORY_MAX_NAMES]; /* per requested series: [points][n_stats], row-major */
	uint64_t next_seq;
	json_t *stretches, *markers, *levels; /* as PROTOCOL.md describes them */
	void (*release)(void *p);          /* the request's, for history_reply_free */
} history_reply;

/* 0, or -1 when out of memory. Free with history_reply_free. */
int history_query(history *h, const history_request *rq, history_reply *out);
void history_reply_free(history_reply *r);

/* --- checkpoints (history_h5.c) ---------------------------------------- */

/*
 * Restart: take over the past of `saved` (a store read from a checkpoint,
 * consumed) as far as this store's capacities hold it; series are matched
 * by name (a series the checkpoint lacks reads NaN). The next sample starts
 * a stretch that began with "restart". Simulation thread, before the run.
 */
void history_adopt(history *h, history **saved);

#endif
