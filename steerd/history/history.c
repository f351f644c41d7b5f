/* SPDX-License-Identifier: MIT */
/* history.c — the run's past: keeping samples, markers and stretches (see history.h). */
#include "history_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_ROWS 256      /* samples staged: a batch, or what comes while a reader holds the store */
#define MARKER_SHARE 16       /* markers get 1/16 of max_bytes */
#define MARKER_AVG_BYTES 64   /* ring slots: one per this many bytes of their share */
#define MALLOC_OVERHEAD 32    /* what malloc takes beside a marker's text, counted too */

/* ---- allocation -------------------------------------------------------- */

/*
 * Zeroed memory, touched now: a large calloc is pages the kernel maps on
 * first write, and recording would then take a page fault every few hundred
 * samples on the simulation's thread until the store is full (measured: a
 * third of what history cost a step). The store is bounded by max_bytes and
 * fills anyway; it is resident from the start instead.
 */
static void *take(history *h, size_t n, size_t size)
{
	size_t bytes = (n ? n : 1) * size;
	char *p = calloc(1, bytes);
	if (p) {
		/* A write per page: the compiler drops a memset of calloc'd memory. */
		for (size_t i = 0; i < bytes; i += 4096)
			((volatile char *)p)[i] = 0;
		h->bytes += bytes;
	}
	return p;
}

static size_t row_bytes(size_t n_series, unsigned L)
{
	return L == 0 ? 8 * n_series + 3 * 8 : 3 * 8 * n_series + 4 * 8;
}

static int alloc_level(history *h, unsigned L, size_t cap)
{
	hlevel *lv = &h->levels[L];
	size_t S = h->n_series;
	lv->cap = (cap + HBLOCK - 1) / HBLOCK * HBLOCK;
	lv->n_series = S;
	cap = lv->cap;
	lv->step = take(h, cap, 8);
	lv->seq = take(h, cap, 8);
	lv->stretch = take(h, cap, 8);
	if (!lv->step || !lv->seq || !lv->stretch)
		return -1;
	for (int k = 0; k < (L == 0 ? 1 : 3); k++)
		if (!(lv->v[k] = take(h, S * cap, sizeof(double))))
			return -1;
	if (L == 0)
		return 0;
	lv->count = take(h, cap, 8);
	lv->acc_min = take(h, S, sizeof(double));
	lv->acc_sum = take(h, S, sizeof(double));
	lv->acc_max = take(h, S, sizeof(double));
	lv->acc_weight = take(h, S, sizeof(double));
	if (!lv->count || !lv->acc_min || !lv->acc_sum || !lv->acc_max || !lv->acc_weight)
		return -1;
	for (size_t s = 0; s < S; s++)
		lv->acc_min[s] = lv->acc_max[s] = NAN;
	return 0;
}

/* The common part: names, pending buffer, markers; no level yet. */
static history *alloc_base(const history_limits *lim, size_t n_series, const char *const *names)
{
	history *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->bytes = sizeof *h;
	pthread_mutex_init(&h->lock, NULL);
	h->lim = *lim;
	if (h->lim.bucket_samples < 2)
		h->lim.bucket_samples = 2;
	h->n_series = n_series;
	h->next_seq = 1;
	h->names = take(h, n_series, sizeof *h->names);
	if (!h->names)
		goto fail;
	for (size_t s = 0; s < n_series; s++) {
		if (!(h->names[s] = strdup(names[s])))
			goto fail;
		h->bytes += strlen(names[s]) + 1;
	}
	if (lim->max_bytes == 0 || lim->levels == 0 || n_series == 0)
		return h; /* keeps nothing */
	h->pend_cap = PENDING_ROWS;
	h->pend_step = take(h, h->pend_cap, 8);
	h->pend_values = take(h, h->pend_cap * n_series, sizeof(double));
	h->m_budget = lim->max_bytes / MARKER_SHARE;
	h->m_cap = h->m_budget / MARKER_AVG_BYTES;
	if (h->m_cap < 16)
		h->m_cap = 16;
	h->markers = take(h, h->m_cap, sizeof *h->markers);
	if (!h->pend_step || !h->pend_values || !h->markers)
		goto fail;
	return h;
fail:
	history_destroy(&h);
	return NULL;
}

history *history_alloc(const history_limits *lim, size_t n_series, const char *const *names,
                       const size_t *caps, unsigned levels)
{
	history *h = alloc_base(lim, n_series, names);
	if (!h || !h->markers)
		return h;
	for (unsigned L = 0; L < levels && L < HISTORY_MAX_LEVELS; L++)
		if (alloc_level(h, L, caps[L] ? caps[L] : 1) < 0) {
			history_destroy(&h);
			return NULL;
		}
	h->n_levels = levels;
	return h;
}

history *history_new(const history_limits *lim, size_t n_series, const char *const *names)
{
	history *h = alloc_base(lim, n_series, names);
	if (!h || !h->markers)
		return h;
	unsigned levels = lim->levels > HISTORY_MAX_LEVELS ? HISTORY_MAX_LEVELS : lim->levels;
	size_t B = h->lim.bucket_samples;
	/* What is left: half to full resolution, half shared by the coarser levels. */
	size_t fixed = h->bytes + h->m_budget + (size_t)levels * 4 * n_series * sizeof(double);
	size_t rows = lim->max_bytes > fixed ? lim->max_bytes - fixed : 0;
	for (unsigned L = 0; L < levels; L++) {
		size_t share = levels == 1 ? rows : L == 0 ? rows / 2 : rows / 2 / (levels - 1);
		size_t cap = share / row_bytes(n_series, L);
		/* A level must outlast the bucket the next one is filling. */
		if (cap < 2 * B)
			cap = 2 * B;
		cap -= cap % HBLOCK; /* within max_bytes: alloc_level rounds up */
		if (alloc_level(h, L, cap) < 0) {
			history_destroy(&h);
			return NULL;
		}
	}
	h->n_levels = levels;
	return h;
}

void history_destroy(history **hp)
{
	if (!hp || !*hp)
		return;
	history *h = *hp;
	for (unsigned L = 0; L < HISTORY_MAX_LEVELS; L++) {
		hlevel *lv = &h->levels[L];
		free(lv->step);
		free(lv->seq);
		free(lv->count);
		free(lv->stretch);
		for (int k = 0; k < 3; k++)
			free(lv->v[k]);
		free(lv->acc_min);
		free(lv->acc_sum);
		free(lv->acc_max);
		free(lv->acc_weight);
	}
	for (size_t i = 0; i < h->m_n; i++)
		free(h->markers[(h->m_head + i) % h->m_cap].entry);
	free(h->markers);
	for (size_t s = 0; h->names && s < h->n_series; s++)
		free(h->names[s]);
	free(h->names);
	free(h->pend_step);
	free(h->pend_values);
	pthread_mutex_destroy(&h->lock);
	free(h);
	*hp = NULL;
}

size_t history_bytes(const history *h) { return h->bytes + h->m_budget; }

int history_series(const history *h, const char *name)
{
	for (size_t s = 0; s < h->n_series; s++)
		if (strcmp(h->names[s], name) == 0)
			return (int)s;
	return -1;
}

/* ---- rows and levels ---------------------------------------------------- */

void history_push_row(history *h, unsigned L, const hrow *r)
{
	hlevel *lv = &h->levels[L];
	size_t i;
	if (lv->n < lv->cap) {
		i = (lv->head + lv->n++) % lv->cap;
	} else {
		i = lv->head;
		lv->head = (lv->head + 1) % lv->cap;
	}
	lv->step[i] = r->step;
	lv->seq[i] = r->seq;
	lv->stretch[i] = r->stretch;
	if (L == 0) {
		for (size_t s = 0; s < h->n_series; s++)
			lv->v[0][hcell(lv, s, i)] = r->mean[s];
		return;
	}
	lv->count[i] = r->count;
	for (size_t s = 0; s < h->n_series; s++) {
		size_t at = hcell(lv, s, i);
		lv->v[HISTORY_MIN][at] = r->min[s];
		lv->v[HISTORY_MEAN][at] = r->mean[s];
		lv->v[HISTORY_MAX][at] = r->max[s];
	}
}

void history_get_row(const history *h, unsigned L, size_t n, hrow *r, double *min, double *mean,
                     double *max)
{
	const hlevel *lv = &h->levels[L];
	size_t i = hlevel_at(lv, n);
	r->step = lv->step[i];
	r->seq = lv->seq[i];
	r->stretch = lv->stretch[i];
	r->count = L == 0 ? 1 : lv->count[i];
	for (size_t s = 0; min && s < h->n_series; s++) {
		if (L == 0) {
			min[s] = mean[s] = max[s] = lv->v[0][hcell(lv, s, i)];
		} else {
			size_t at = hcell(lv, s, i);
			min[s] = lv->v[HISTORY_MIN][at];
			mean[s] = lv->v[HISTORY_MEAN][at];
			max[s] = lv->v[HISTORY_MAX][at];
		}
	}
	r->min = min;
	r->mean = mean;
	r->max = max;
}

/* The bucket of level L is complete (or its stretch ended): keep it, pass it up. */
static void close_bucket(history *h, unsigned L)
{
	hlevel *lv = &h->levels[L];
	size_t S = h->n_series;
	for (size_t s = 0; s < S; s++) /* the mean, in place of the sum */
		lv->acc_sum[s] = lv->acc_weight[s] > 0 ? lv->acc_sum[s] / lv->acc_weight[s] : NAN;
	hrow r = { .step = lv->acc_step, .seq = lv->acc_seq, .count = lv->acc_count,
	           .stretch = lv->acc_stretch, .min = lv->acc_min, .mean = lv->acc_sum,
	           .max = lv->acc_max };
	history_push_row(h, L, &r);
	if (L + 1 < h->n_levels)
		history_feed(h, L + 1, &r);
	for (size_t s = 0; s < S; s++) {
		lv->acc_min[s] = lv->acc_max[s] = NAN;
		lv->acc_sum[s] = lv->acc_weight[s] = 0;
	}
	lv->acc_rows = lv->acc_count = 0;
}

void history_feed(history *h, unsigned L, const hrow *r)
{
	hlevel *lv = &h->levels[L];
	if (lv->acc_rows && r->stretch != lv->acc_stretch)
		close_bucket(h, L); /* a bucket never spans two stretches */
	for (size_t s = 0; s < h->n_series; s++) {
		if (isfinite(r->mean[s])) {
			lv->acc_sum[s] += r->mean[s] * (double)r->count;
			lv->acc_weight[s] += (double)r->count;
		}
		lv->acc_min[s] = fmin(lv->acc_min[s], r->min[s]); /* fmin skips NaN */
		lv->acc_max[s] = fmax(lv->acc_max[s], r->max[s]);
	}
	lv->acc_rows++;
	lv->acc_count += r->count;
	lv->acc_step = r->step;
	lv->acc_seq = r->seq;
	lv->acc_stretch = r->stretch;
	if (lv->acc_rows >= h->lim.bucket_samples)
		close_bucket(h, L);
}

/* ---- stretches and markers ---------------------------------------------- */

static hstretch *last_stretch(history *h)
{
	return h->s_n ? &h->stretches[(h->s_head + h->s_n - 1) % HISTORY_MAX_STRETCHES] : NULL;
}

void history_put_stretch(history *h, const hstretch *s)
{
	if (h->s_n == HISTORY_MAX_STRETCHES) {
		h->s_head = (h->s_head + 1) % HISTORY_MAX_STRETCHES;
		h->s_n--;
	}
	h->stretches[(h->s_head + h->s_n++) % HISTORY_MAX_STRETCHES] = *s;
	if (s->id > h->next_stretch)
		h->next_stretch = s->id;
}

static const char *const began_names[] = { "start", "restart", "rewind", "search", "jump", NULL };

const char *history_began_name(const char *s)
{
	for (size_t i = 0; began_names[i]; i++)
		if (strcmp(s, began_names[i]) == 0)
			return began_names[i];
	return NULL;
}

static void drop_oldest_marker(history *h)
{
	hmarker *m = &h->markers[h->m_head];
	h->m_bytes -= strlen(m->entry) + 1 + MALLOC_OVERHEAD;
	free(m->entry);
	m->entry = NULL;
	h->m_head = (h->m_head + 1) % h->m_cap;
	h->m_n--;
}

void history_put_marker(history *h, uint64_t seq, uint64_t step, const char *entry)
{
	size_t len = strlen(entry) + 1 + MALLOC_OVERHEAD;
	if (!h->m_cap || len > h->m_budget)
		return;
	while (h->m_n && (h->m_n == h->m_cap || h->m_bytes + len > h->m_budget))
		drop_oldest_marker(h);
	char *copy = strdup(entry);
	if (!copy)
		return; /* out of memory: the marker is lost, the run goes on */
	h->markers[(h->m_head + h->m_n++) % h->m_cap] = (hmarker){ seq, step, copy };
	h->m_bytes += len;
}

/* ---- the writer --------------------------------------------------------- */

static void add_sample(history *h, uint64_t step, const double *values)
{
	uint64_t seq = h->next_seq++;
	hstretch *cur = last_stretch(h);
	if (h->jump || !h->have_last || !cur || step != h->last_step + 1) {
		if (cur && h->have_last && step <= cur->last_step)
			cur->abandoned = true; /* the run went back before its end */
		hstretch s = { .id = h->next_stretch + 1, .first_seq = seq, .last_seq = seq,
		               .first_step = step, .last_step = step,
		               .began = h->jump ? h->jump : h->have_last ? "jump" : "start" };
		history_put_stretch(h, &s);
		cur = last_stretch(h);
		h->jump = NULL;
	} else {
		cur->last_seq = seq;
		cur->last_step = step;
	}
	h->have_last = true;
	h->last_step = step;
	hrow r = { .step = step, .seq = seq, .count = 1, .stretch = cur->id, .min = values,
	           .mean = values, .max = values };
	history_push_row(h, 0, &r);
	if (h->n_levels > 1)
		history_feed(h, 1, &r);
}

void history_take_staged(history *h)
{
	size_t r = atomic_load_explicit(&h->pend_r, memory_order_relaxed); /* ours: under the lock */
	size_t w = atomic_load_explicit(&h->pend_w, memory_order_acquire);
	for (; r != w; r++) {
		size_t i = r % h->pend_cap;
		add_sample(h, h->pend_step[i], h->pend_values + i * h->n_series);
	}
	atomic_store_explicit(&h->pend_r, r, memory_order_release); /* the slots are free again */
}

void history_record(history *h, uint64_t step, const double *values)
{
	if (!h->n_levels)
		return;
	h->taken_seq++;
	size_t w = atomic_load_explicit(&h->pend_w, memory_order_relaxed); /* ours */
	if (w - atomic_load_explicit(&h->pend_r, memory_order_acquire) == h->pend_cap) {
		pthread_mutex_lock(&h->lock); /* a reader has held the store a whole ring long */
		history_take_staged(h);
		pthread_mutex_unlock(&h->lock);
	}
	size_t i = w % h->pend_cap;
	h->pend_step[i] = step;
	memcpy(h->pend_values + i * h->n_series, values, h->n_series * sizeof *values);
	atomic_store_explicit(&h->pend_w, w + 1, memory_order_release);
	/* A batch is due: add it unless a reader holds the store (it adds them). */
	if (w + 1 - atomic_load_explicit(&h->pend_r, memory_order_relaxed) >= HBLOCK &&
	    pthread_mutex_trylock(&h->lock) == 0) {
		history_take_staged(h);
		pthread_mutex_unlock(&h->lock);
	}
}

void history_marker(history *h, uint64_t step, const char *entry_json)
{
	if (!h->n_levels)
		return;
	pthread_mutex_lock(&h->lock);
	history_take_staged(h);
	history_put_marker(h, h->taken_seq, step, entry_json);
	pthread_mutex_unlock(&h->lock);
}

void history_jump(history *h, const char *began)
{
	pthread_mutex_lock(&h->lock);
	history_take_staged(h);
	h->jump = began;
	pthread_mutex_unlock(&h->lock);
}

/* ---- restart ------------------------------------------------------------ */

static void copy_row(const history *from, const hrow *r, const int *map, history *to,
                     double *buf, hrow *out)
{
	size_t S = to->n_series;
	*out = *r;
	for (size_t s = 0; s < S; s++) {
		int f = map[s];
		buf[s] = f < 0 ? NAN : r->min[f];
		buf[S + s] = f < 0 ? NAN : r->mean[f];
		buf[2 * S + s] = f < 0 ? NAN : r->max[f];
	}
	(void)from;
	out->min = buf;
	out->mean = buf + S;
	out->max = buf + 2 * S;
}

void history_adopt(history *h, history **savedp)
{
	history *sv = *savedp;
	if (!sv || !h->n_levels || !sv->n_levels) {
		history_destroy(savedp);
		history_jump(h, "restart");
		return;
	}
	size_t S = h->n_series, SS = sv->n_series;
	int *map = calloc(S, sizeof *map);
	double *in = calloc(3 * SS + 1, sizeof *in), *out = calloc(3 * S + 1, sizeof *out);
	pthread_mutex_lock(&h->lock);
	history_take_staged(h);
	if (map && in && out) {
		for (size_t s = 0; s < S; s++)
			map[s] = history_series(sv, h->names[s]);
		unsigned top = sv->n_levels < h->n_levels ? sv->n_levels : h->n_levels;
		hrow r, c;
		/* Each level's rows as they were (the coarser ones first, none passed up)... */
		for (unsigned L = 0; L < top; L++)
			for (size_t i = 0; i < sv->levels[L].n; i++) {
				history_get_row(sv, L, i, &r, in, in + SS, in + 2 * SS);
				copy_row(sv, &r, map, h, out, &c);
				history_push_row(h, L, &c);
			}
		/*
		 * ... then each open bucket refilled from the rows below it newer than
		 * its level's last, from the top down, so that a bucket closing on the
		 * way is passed up after the older rows its parent already holds.
		 */
		for (unsigned L = top; L-- > 1;) {
			const hlevel *lv = &sv->levels[L];
			uint64_t last = lv->n ? lv->seq[(lv->head + lv->n - 1) % lv->cap] : 0;
			for (size_t i = 0; i < sv->levels[L - 1].n; i++) {
				history_get_row(sv, L - 1, i, &r, in, in + SS, in + 2 * SS);
				if (r.seq <= last)
					continue;
				copy_row(sv, &r, map, h, out, &c);
				history_feed(h, L, &c);
			}
		}
		h->next_seq = sv->next_seq;
		h->taken_seq = h->next_seq - 1;
		for (size_t i = 0; i < sv->s_n; i++)
			history_put_stretch(h, &sv->stretches[(sv->s_head + i) % HISTORY_MAX_STRETCHES]);
		for (size_t i = 0; i < sv->m_n; i++) {
			const hmarker *m = &sv->markers[(sv->m_head + i) % sv->m_cap];
			history_put_marker(h, m->seq, m->step, m->entry);
		}
		hstretch *cur = last_stretch(h);
		h->have_last = cur != NULL;
		h->last_step = cur ? cur->last_step : 0;
	}
	h->jump = "restart";
	pthread_mutex_unlock(&h->lock);
	free(map);
	free(in);
	free(out);
	history_destroy(savedp);
}
