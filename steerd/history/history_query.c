/* SPDX-License-Identifier: MIT */
/*
 * history_query.c — answering `history`: the kept rows in seq order, each
 * part at the finest level that still holds it, filtered and merged into at
 * most max_points points that never span two stretches (PROTOCOL.md).
 */
#include "history_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The first sample a level still covers; UINT64_MAX when it is empty. */
static uint64_t level_first_seq(const history *h, unsigned L)
{
	const hlevel *lv = &h->levels[L];
	if (!lv->n)
		return UINT64_MAX;
	size_t i = lv->head;
	return lv->seq[i] - (L == 0 ? 1 : lv->count[i]) + 1;
}

/* Walks the kept rows oldest first: coarse levels for what the finer ones no longer hold. */
typedef struct row_iter {
	const history *h;
	const history_request *rq;
	unsigned L;            /* the level being walked (from the top down) */
	size_t i;
	uint64_t covered;      /* the last seq given */
	uint64_t cutoff[HISTORY_MAX_LEVELS];
} row_iter;

static void iter_init(row_iter *it, const history *h, const history_request *rq)
{
	memset(it, 0, sizeof *it);
	it->h = h;
	it->rq = rq;
	uint64_t finer = UINT64_MAX;
	for (unsigned L = 0; L < h->n_levels; L++) {
		it->cutoff[L] = finer;
		uint64_t f = level_first_seq(h, L);
		if (f < finer)
			finer = f;
	}
	it->L = h->n_levels ? h->n_levels - 1 : 0;
}

static bool selected(const history_request *rq, const hrow *r)
{
	return r->seq >= rq->from_seq && r->step >= rq->from_step &&
	       r->step - (r->count - 1) <= rq->to_step;
}

/* The next selected row (values not read), its level and index; false at the end. */
static bool iter_next(row_iter *it, hrow *r, unsigned *level, size_t *index)
{
	const history *h = it->h;
	if (!h->n_levels)
		return false;
	for (;;) {
		const hlevel *lv = &h->levels[it->L];
		if (it->i >= lv->n) {
			if (it->L == 0)
				return false;
			it->L--;
			it->i = 0;
			continue;
		}
		size_t n = it->i++, at = hlevel_at(lv, n);
		/* The row's keys only (history_get_row without values, inline: once per row, twice a query). */
		r->step = lv->step[at];
		r->seq = lv->seq[at];
		r->stretch = lv->stretch[at];
		r->count = it->L == 0 ? 1 : lv->count[at];
		r->min = r->mean = r->max = NULL;
		uint64_t first = r->seq - r->count + 1;
		if (it->L > 0 && first >= it->cutoff[it->L]) {
			it->i = lv->n; /* the finer levels hold the rest */
			continue;
		}
		if (r->seq <= it->covered)
			continue;
		it->covered = r->seq;
		if (!selected(it->rq, r))
			continue;
		*level = it->L;
		*index = n;
		return true;
	}
}

/* Runs of selected rows of one stretch. */
typedef struct runs {
	size_t *len;
	size_t n, cap;
} runs;

static int runs_add(runs *rs, bool new_run)
{
	if (new_run) {
		if (rs->n == rs->cap) {
			size_t cap = rs->cap ? 2 * rs->cap : 64;
			size_t *g = realloc(rs->len, cap * sizeof *g);
			if (!g)
				return -1;
			rs->len = g;
			rs->cap = cap;
		}
		rs->len[rs->n++] = 0;
	}
	rs->len[rs->n - 1]++;
	return 0;
}

static size_t points_for(const runs *rs, size_t first_run, size_t g)
{
	size_t p = 0;
	for (size_t i = first_run; i < rs->n; i++)
		p += (rs->len[i] + g - 1) / g;
	return p;
}

/* The least group size g giving at most max points (runs before first_run left out). */
static size_t group_size(const runs *rs, size_t first_run, size_t max)
{
	size_t lo = 1, hi = 1;
	for (size_t i = first_run; i < rs->n; i++)
		if (rs->len[i] > hi)
			hi = rs->len[i];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (points_for(rs, first_run, mid) <= max)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static json_t *stretch_json(const hstretch *s)
{
	return json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:b}", "id", (json_int_t)s->id, "began",
	                 s->began, "first_seq", (json_int_t)s->first_seq, "last_seq",
	                 (json_int_t)s->last_seq, "first_step", (json_int_t)s->first_step,
	                 "last_step", (json_int_t)s->last_step, "abandoned", s->abandoned);
}

static const hstretch *find_stretch(const history *h, uint64_t id)
{
	for (size_t i = h->s_n; i-- > 0;) {
		const hstretch *s = &h->stretches[(h->s_head + i) % HISTORY_MAX_STRETCHES];
		if (s->id == id)
			return s;
	}
	return NULL;
}

static json_t *markers_json(const history *h, const history_request *rq)
{
	json_t *out = json_array();
	uint64_t lo = rq->from_seq ? rq->from_seq - 1 : 0;
	size_t first = h->m_n, taken = 0;
	/* The newest HISTORY_MAX_MARKERS that qualify, then in order. */
	for (size_t i = h->m_n; i-- > 0 && taken < HISTORY_MAX_MARKERS;) {
		const hmarker *m = &h->markers[(h->m_head + i) % h->m_cap];
		if (m->seq >= lo && m->step >= rq->from_step && m->step <= rq->to_step) {
			first = i;
			taken++;
		}
	}
	for (size_t i = first; out && i < h->m_n; i++) {
		const hmarker *m = &h->markers[(h->m_head + i) % h->m_cap];
		if (!(m->seq >= lo && m->step >= rq->from_step && m->step <= rq->to_step))
			continue;
		json_t *entry = json_loads(m->entry, 0, NULL);
		if (!json_is_object(entry)) {
			json_decref(entry);
			continue;
		}
		json_array_append_new(out, json_pack("{s:I, s:I, s:o}", "seq", (json_int_t)m->seq, "step",
		                                     (json_int_t)m->step, "entry", entry));
	}
	return out;
}

static json_t *levels_json(const history *h)
{
	json_t *out = json_array();
	uint64_t spb = 1;
	for (unsigned L = 0; L < h->n_levels; L++) {
		uint64_t f = level_first_seq(h, L);
		json_array_append_new(out, json_pack("{s:I, s:I, s:I}", "samples_per_bucket",
		                                     (json_int_t)spb, "capacity",
		                                     (json_int_t)h->levels[L].cap, "first_seq",
		                                     (json_int_t)(f == UINT64_MAX ? 0 : f)));
		spb *= h->lim.bucket_samples;
	}
	return out;
}

/* One output point being merged. */
typedef struct point {
	uint64_t step, seq, count, stretch, rows;
	double min[HISTORY_MAX_NAMES], sum[HISTORY_MAX_NAMES], weight[HISTORY_MAX_NAMES],
	    max[HISTORY_MAX_NAMES];
} point;

static void point_start(point *p, size_t n_series)
{
	p->rows = p->count = 0;
	for (size_t s = 0; s < n_series; s++) { /* only those asked for: once per point */
		p->min[s] = p->max[s] = NAN;
		p->sum[s] = p->weight[s] = 0;
	}
}

static void point_add(point *p, const history *h, const history_request *rq, unsigned L,
                      size_t index)
{
	const hlevel *lv = &h->levels[L];
	size_t i = hlevel_at(lv, index);
	uint64_t count = L == 0 ? 1 : lv->count[i];
	for (size_t k = 0; k < rq->n_series; k++) {
		size_t at = hcell(lv, rq->series[k], i);
		double mn, mean, mx;
		if (L == 0) {
			mn = mean = mx = lv->v[0][at];
		} else {
			mn = lv->v[HISTORY_MIN][at];
			mean = lv->v[HISTORY_MEAN][at];
			mx = lv->v[HISTORY_MAX][at];
		}
		p->min[k] = fmin(p->min[k], mn);
		p->max[k] = fmax(p->max[k], mx);
		if (isfinite(mean)) {
			p->sum[k] += mean * (double)count;
			p->weight[k] += (double)count;
		}
	}
	p->rows++;
	p->count += count;
	p->step = lv->step[i];
	p->seq = lv->seq[i];
	p->stretch = lv->stretch[i];
}

static void point_put(const point *p, const history_request *rq, history_reply *out, size_t n)
{
	out->step[n] = p->step;
	out->seq[n] = p->seq;
	out->count[n] = p->count;
	for (size_t k = 0; k < rq->n_series; k++) {
		double *row = out->values[k] + n * rq->n_stats;
		for (size_t j = 0; j < rq->n_stats; j++) {
			int st = rq->stats[j];
			row[j] = st == HISTORY_MIN    ? p->min[k]
			         : st == HISTORY_MAX  ? p->max[k]
			         : p->weight[k] > 0   ? p->sum[k] / p->weight[k]
			                              : NAN;
		}
	}
}

/*
 * A level-0 row as a point of its own (groups of 1): what point_start,
 * point_add and point_put give, without their per-series merging: min and
 * max are the sample, the mean is the sample when finite and NaN otherwise.
 * Most of a full-resolution reply's points come this way.
 */
static void sample_put(const history *h, const history_request *rq, size_t index,
                       history_reply *out, size_t n)
{
	const hlevel *lv = &h->levels[0];
	size_t i = hlevel_at(lv, index);
	out->step[n] = lv->step[i];
	out->seq[n] = lv->seq[i];
	out->count[n] = 1;
	for (size_t k = 0; k < rq->n_series; k++) {
		double v = lv->v[0][hcell(lv, rq->series[k], i)], *row = out->values[k] + n * rq->n_stats;
		for (size_t j = 0; j < rq->n_stats; j++)
			row[j] = rq->stats[j] != HISTORY_MEAN || isfinite(v) ? v : NAN;
	}
}

static int alloc_reply(history_reply *out, const history_request *rq, size_t points)
{
	void *(*alloc)(size_t) = rq->alloc ? rq->alloc : malloc;
	size_t rows = points ? points : 1;
	out->points = points;
	out->release = rq->release;
	out->step = alloc(rows * 8);
	out->seq = alloc(rows * 8);
	out->count = alloc(rows * 8);
	if (!out->step || !out->seq || !out->count)
		return -1;
	for (size_t k = 0; k < rq->n_series; k++)
		if (!(out->values[k] = alloc(rows * rq->n_stats * sizeof(double))))
			return -1;
	return 0;
}

int history_query(history *h, const history_request *rq, history_reply *out)
{
	memset(out, 0, sizeof *out);
	runs rs = { 0 };
	int rc = -1;
	uint64_t *pstretch = NULL; /* the stretch of each point */
	point *p = malloc(sizeof *p);
	pthread_mutex_lock(&h->lock);
	history_take_staged(h); /* every sample taken before the query */
	if (!p)
		goto out;
	/* Pass 1: the runs of selected rows, to size the groups. */
	row_iter it;
	hrow r;
	unsigned L;
	size_t index;
	uint64_t stretch = 0;
	iter_init(&it, h, rq);
	while (iter_next(&it, &r, &L, &index)) {
		if (runs_add(&rs, rs.n == 0 || r.stretch != stretch) < 0)
			goto out;
		stretch = r.stretch;
	}
	/* More stretches than points: the oldest are left out. */
	size_t first_run = rs.n > rq->max_points ? rs.n - rq->max_points : 0, skip = 0;
	for (size_t i = 0; i < first_run; i++)
		skip += rs.len[i];
	size_t g = rs.n ? group_size(&rs, first_run, rq->max_points) : 1;
	size_t points = rs.n ? points_for(&rs, first_run, g) : 0;
	pstretch = malloc((points ? points : 1) * sizeof *pstretch);
	if (!pstretch || alloc_reply(out, rq, points) < 0)
		goto out;
	/* Pass 2: merge each run's rows by g. */
	size_t n = 0, seen = 0;
	point_start(p, rq->n_series);
	iter_init(&it, h, rq);
	while (iter_next(&it, &r, &L, &index)) {
		if (seen++ < skip)
			continue;
		if (p->rows && (r.stretch != p->stretch || p->rows == g)) {
			pstretch[n] = p->stretch;
			point_put(p, rq, out, n++);
			point_start(p, rq->n_series);
		}
		if (g == 1 && L == 0) { /* p holds no rows: each one went out with its point */
			pstretch[n] = r.stretch;
			sample_put(h, rq, index, out, n++);
			continue;
		}
		point_add(p, h, rq, L, index);
	}
	if (p->rows) {
		pstretch[n] = p->stretch;
		point_put(p, rq, out, n++);
	}
	out->points = n;
	/* The stretches of the points (ids grow with seq), the markers, the levels. */
	out->stretches = json_array();
	uint64_t listed = 0;
	for (size_t i = 0; out->stretches && i < n; i++) {
		if (pstretch[i] == listed)
			continue;
		listed = pstretch[i];
		const hstretch *s = find_stretch(h, listed);
		if (s) /* else older than the stretches described */
			json_array_append_new(out->stretches, stretch_json(s));
	}
	out->markers = markers_json(h, rq);
	out->levels = levels_json(h);
	out->next_seq = h->next_seq;
	if (!out->stretches || !out->markers || !out->levels)
		goto out;
	rc = 0;
out:
	pthread_mutex_unlock(&h->lock);
	free(p);
	free(pstretch);
	free(rs.len);
	if (rc < 0)
		history_reply_free(out);
	return rc;
}

void history_reply_free(history_reply *r)
{
	void (*release)(void *) = r->release ? r->release : free;
	release(r->step);
	release(r->seq);
	release(r->count);
	for (size_t k = 0; k < HISTORY_MAX_NAMES; k++)
		release(r->values[k]);
	json_decref(r->stretches);
	json_decref(r->markers);
	json_decref(r->levels);
	memset(r, 0, sizeof *r);
}
