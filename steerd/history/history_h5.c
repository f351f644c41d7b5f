/* SPDX-License-Identifier: MIT */
/* history_h5.c — the run's past saved in and read from checkpoints (see history_h5.h). */
#include "history_h5.h"
#include "history_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5io.h"

#define FORMAT_VERSION 1u
#define MAX_SERIES 100000
#define MAX_ROWS ((size_t)1 << 28)          /* of one level */
#define MAX_VALUES ((size_t)1 << 31)        /* rows x series of one level */
#define MAX_TEXT ((size_t)256 << 20)        /* bytes of each JSON text */

/* ---- writing ------------------------------------------------------------ */

static int put_json_text(hid_t g, const char *name, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(j);
	int rc = text ? h5io_text_put(g, name, text, strlen(text)) : -1;
	free(text);
	return rc;
}

static int put_u64s(hid_t g, const char *name, const uint64_t *ring, const hlevel *lv)
{
	uint64_t *lin = malloc((lv->n ? lv->n : 1) * sizeof *lin);
	if (!lin)
		return -1;
	for (size_t i = 0; i < lv->n; i++)
		lin[i] = ring[(lv->head + i) % lv->cap];
	hid_t d = h5io_array_put(g, name, SA_U64, lv->n, lin);
	free(lin);
	if (d < 0)
		return -1;
	H5Dclose(d);
	return 0;
}

static int put_values(hid_t g, const char *name, const double *ring, const hlevel *lv, size_t S)
{
	double *lin = malloc((lv->n * S + 1) * sizeof *lin);
	if (!lin)
		return -1;
	for (size_t s = 0; s < S; s++)
		for (size_t i = 0; i < lv->n; i++)
			lin[s * lv->n + i] = ring[hcell(lv, s, hlevel_at(lv, i))];
	hid_t d = h5io_array_put(g, name, SA_F64, lv->n * S, lin);
	free(lin);
	if (d < 0)
		return -1;
	H5Dclose(d);
	return 0;
}

static int save_level(history *h, hid_t g, unsigned L)
{
	const hlevel *lv = &h->levels[L];
	char name[16];
	snprintf(name, sizeof name, "level%u", L);
	hid_t lg = h5io_mkgroups(g, name);
	if (lg < 0)
		return -1;
	int rc = h5io_attr_u64(lg, "capacity", lv->cap) < 0 || put_u64s(lg, "step", lv->step, lv) < 0 ||
	         put_u64s(lg, "seq", lv->seq, lv) < 0 || put_u64s(lg, "stretch", lv->stretch, lv) < 0
	             ? -1
	             : 0;
	if (rc == 0 && L == 0)
		rc = put_values(lg, "value", lv->v[0], lv, h->n_series);
	else if (rc == 0)
		rc = put_u64s(lg, "count", lv->count, lv) < 0 ||
		             put_values(lg, "min", lv->v[HISTORY_MIN], lv, h->n_series) < 0 ||
		             put_values(lg, "mean", lv->v[HISTORY_MEAN], lv, h->n_series) < 0 ||
		             put_values(lg, "max", lv->v[HISTORY_MAX], lv, h->n_series) < 0
		         ? -1
		         : 0;
	H5Gclose(lg);
	return rc;
}

static json_t *names_json(const history *h)
{
	json_t *a = json_array();
	for (size_t s = 0; a && s < h->n_series; s++)
		json_array_append_new(a, json_string(h->names[s]));
	return a;
}

static json_t *stretches_json(const history *h)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < h->s_n; i++) {
		const hstretch *s = &h->stretches[(h->s_head + i) % HISTORY_MAX_STRETCHES];
		json_array_append_new(a, json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:b}", "id",
		                                   (json_int_t)s->id, "began", s->began, "first_seq",
		                                   (json_int_t)s->first_seq, "last_seq",
		                                   (json_int_t)s->last_seq, "first_step",
		                                   (json_int_t)s->first_step, "last_step",
		                                   (json_int_t)s->last_step, "abandoned", s->abandoned));
	}
	return a;
}

static json_t *saved_markers_json(const history *h)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < h->m_n; i++) {
		const hmarker *m = &h->markers[(h->m_head + i) % h->m_cap];
		json_array_append_new(a, json_pack("{s:I, s:I, s:s}", "seq", (json_int_t)m->seq, "step",
		                                   (json_int_t)m->step, "entry", m->entry));
	}
	return a;
}

int history_h5_save(history *h, hid_t g)
{
	if (!h->n_levels)
		return 0; /* history.max_bytes 0: nothing to keep */
	pthread_mutex_lock(&h->lock); /* readers may hold it; the writer is the caller */
	history_take_staged(h);
	int rc = -1;
	hid_t hg = h5io_mkgroups(g, "history");
	if (hg < 0)
		goto out;
	if (h5io_attr_u32(hg, "format_version", FORMAT_VERSION) < 0 ||
	    h5io_attr_u64(hg, "next_seq", h->next_seq) < 0 ||
	    h5io_attr_u64(hg, "max_bytes", h->lim.max_bytes) < 0 ||
	    h5io_attr_u32(hg, "levels", h->n_levels) < 0 ||
	    h5io_attr_u32(hg, "bucket_samples", h->lim.bucket_samples) < 0 ||
	    h5io_attr_u64(hg, "n_series", h->n_series) < 0 ||
	    put_json_text(hg, "names", names_json(h)) < 0 ||
	    put_json_text(hg, "stretches", stretches_json(h)) < 0 ||
	    put_json_text(hg, "markers", saved_markers_json(h)) < 0)
		goto out;
	for (unsigned L = 0; L < h->n_levels; L++)
		if (save_level(h, hg, L) < 0)
			goto out;
	rc = 0;
out:
	if (hg >= 0)
		H5Gclose(hg);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

static int why_fail(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static json_t *get_json_text(hid_t g, const char *name, char *why, size_t whylen)
{
	char *text = NULL, w[200];
	size_t len;
	if (h5io_text_get(g, name, MAX_TEXT, &text, &len, w, sizeof w) < 0) {
		why_fail(why, whylen, "%s %s", name, w);
		return NULL;
	}
	json_t *j = json_loadb(text, len, 0, NULL);
	free(text);
	if (!json_is_array(j)) {
		json_decref(j);
		why_fail(why, whylen, "%s is not a JSON array", name);
	}
	return j;
}

static int get_u64s(hid_t lg, const char *name, size_t n, uint64_t *out)
{
	size_t have;
	return h5io_array_size(lg, name, SA_U64, &have) < 0 || have != n ||
	               h5io_array_get(lg, name, SA_U64, n, out) < 0
	           ? -1
	           : 0;
}

/* Level L's rows into h's level L (allocated with capacity n, filled in order). */
static int load_level(history *h, hid_t g, unsigned L, size_t n, char *why, size_t whylen)
{
	char name[16];
	snprintf(name, sizeof name, "level%u", L);
	hid_t lg = h5io_open_group(g, name);
	if (lg < 0)
		return why_fail(why, whylen, "has no %s", name);
	hlevel *lv = &h->levels[L];
	size_t S = h->n_series;
	int rc = -1;
	if (get_u64s(lg, "step", n, lv->step) < 0 || get_u64s(lg, "seq", n, lv->seq) < 0 ||
	    get_u64s(lg, "stretch", n, lv->stretch) < 0 ||
	    (L > 0 && get_u64s(lg, "count", n, lv->count) < 0)) {
		why_fail(why, whylen, "%s: step, seq, stretch or count is missing, corrupt or of the wrong size",
		         name);
		goto out;
	}
	static const char *const value_names[3] = { "min", "mean", "max" };
	double *lin = malloc((n * S + 1) * sizeof *lin); /* the file's column-major rows */
	if (!lin) {
		why_fail(why, whylen, "%s: out of memory", name);
		goto out;
	}
	for (int k = 0; k < (L == 0 ? 1 : 3); k++) {
		const char *vn = L == 0 ? "value" : value_names[k];
		size_t have;
		if (h5io_array_size(lg, vn, SA_F64, &have) < 0 || have != n * S ||
		    h5io_array_get(lg, vn, SA_F64, n * S, lin) < 0) {
			why_fail(why, whylen, "%s/%s is missing, corrupt or of the wrong size", name, vn);
			free(lin);
			goto out;
		}
		for (size_t s = 0; s < S; s++)
			for (size_t i = 0; i < n; i++)
				lv->v[k][hcell(lv, s, i)] = lin[s * n + i];
	}
	free(lin);
	/* Rows in order, each covering samples before it: what the queries rely on. */
	for (size_t i = 0; i < n; i++) {
		uint64_t c = L == 0 ? 1 : lv->count[i];
		if (c == 0 || c > lv->seq[i] || c - 1 > lv->step[i] || (i && lv->seq[i] <= lv->seq[i - 1]) ||
		    lv->seq[i] >= h->next_seq) {
			why_fail(why, whylen, "%s row %zu is inconsistent (seq %" PRIu64 ", count %" PRIu64 ")",
			         name, i, lv->seq[i], c);
			goto out;
		}
	}
	lv->head = 0;
	lv->n = n;
	rc = 0;
out:
	H5Gclose(lg);
	return rc;
}

static int load_stretches(history *h, const json_t *a, char *why, size_t whylen)
{
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		json_int_t id, fs, ls, fst, lst;
		const char *began;
		int abandoned;
		if (json_unpack(e, "{s:I, s:s, s:I, s:I, s:I, s:I, s:b}", "id", &id, "began", &began,
		                "first_seq", &fs, "last_seq", &ls, "first_step", &fst, "last_step", &lst,
		                "abandoned", &abandoned) < 0 ||
		    id < 1 || fs < 1 || ls < fs || fst < 0 || lst < fst || !history_began_name(began))
			return why_fail(why, whylen, "stretch %zu is malformed", i);
		hstretch s = { .id = (uint64_t)id, .first_seq = (uint64_t)fs, .last_seq = (uint64_t)ls,
		               .first_step = (uint64_t)fst, .last_step = (uint64_t)lst,
		               .began = history_began_name(began), .abandoned = abandoned };
		history_put_stretch(h, &s);
	}
	return 0;
}

static int load_markers(history *h, const json_t *a, char *why, size_t whylen)
{
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		json_int_t seq, step;
		const char *entry;
		json_t *parsed = NULL;
		int bad = json_unpack(e, "{s:I, s:I, s:s}", "seq", &seq, "step", &step, "entry", &entry) < 0 ||
		          seq < 0 || step < 0;
		if (!bad)
			parsed = json_loads(entry, 0, NULL); /* json_is_object evaluates its argument twice */
		if (bad || !json_is_object(parsed)) {
			json_decref(parsed);
			return why_fail(why, whylen, "marker %zu is malformed", i);
		}
		json_decref(parsed);
		history_put_marker(h, (uint64_t)seq, (uint64_t)step, entry);
	}
	return 0;
}

int history_h5_load(hid_t g, history **out, char *why, size_t whylen)
{
	*out = NULL;
	if (h5io_exists(g, "history") <= 0)
		return 0; /* a checkpoint without history: the run starts its past afresh */
	hid_t hg = h5io_open_group(g, "history");
	if (hg < 0)
		return why_fail(why, whylen, "is not a group");
	int rc = -1;
	history *h = NULL;
	json_t *names = NULL, *stretches = NULL, *markers = NULL;
	uint32_t version, levels, bucket;
	uint64_t next_seq, max_bytes, n_series, caps[HISTORY_MAX_LEVELS] = { 0 };
	size_t rows[HISTORY_MAX_LEVELS] = { 0 };
	if (h5io_attr_get_u32(hg, "format_version", &version) < 0 || version != FORMAT_VERSION ||
	    h5io_attr_get(hg, "next_seq", SA_U64, &next_seq) < 0 ||
	    h5io_attr_get(hg, "max_bytes", SA_U64, &max_bytes) < 0 ||
	    h5io_attr_get_u32(hg, "levels", &levels) < 0 ||
	    h5io_attr_get_u32(hg, "bucket_samples", &bucket) < 0 ||
	    h5io_attr_get(hg, "n_series", SA_U64, &n_series) < 0) {
		why_fail(why, whylen, "attributes missing, malformed or of another format version");
		goto out;
	}
	if (levels < 1 || levels > HISTORY_MAX_LEVELS || bucket < 2 || n_series < 1 ||
	    n_series > MAX_SERIES || next_seq < 1 || max_bytes == 0) {
		why_fail(why, whylen, "attributes out of range");
		goto out;
	}
	if (!(names = get_json_text(hg, "names", why, whylen)) ||
	    !(stretches = get_json_text(hg, "stretches", why, whylen)) ||
	    !(markers = get_json_text(hg, "markers", why, whylen)))
		goto out;
	if (json_array_size(names) != n_series) {
		why_fail(why, whylen, "names does not list n_series names");
		goto out;
	}
	const char **nm = calloc(n_series, sizeof *nm);
	for (size_t s = 0; nm && s < n_series; s++)
		if (!(nm[s] = json_string_value(json_array_get(names, s)))) {
			free(nm);
			why_fail(why, whylen, "names holds a non-string");
			goto out;
		}
	/* Sizes first, bounded, before anything is allocated. */
	for (unsigned L = 0; nm && L < levels; L++) {
		char name[16];
		snprintf(name, sizeof name, "level%u", L);
		hid_t lg = h5io_open_group(hg, name);
		int ok = lg >= 0 && h5io_array_size(lg, "seq", SA_U64, &rows[L]) == 0 &&
		         h5io_attr_get(lg, "capacity", SA_U64, &caps[L]) == 0 && rows[L] <= MAX_ROWS &&
		         rows[L] * n_series <= MAX_VALUES;
		if (lg >= 0)
			H5Gclose(lg);
		if (!ok) {
			free(nm);
			why_fail(why, whylen, "%s is missing or too large", name);
			goto out;
		}
	}
	history_limits lim = { .max_bytes = max_bytes, .levels = levels, .bucket_samples = bucket };
	size_t alloc_caps[HISTORY_MAX_LEVELS];
	for (unsigned L = 0; L < levels; L++)
		alloc_caps[L] = rows[L] ? rows[L] : 1;
	h = nm ? history_alloc(&lim, n_series, nm, alloc_caps, levels) : NULL;
	free(nm);
	if (!h) {
		why_fail(why, whylen, "out of memory");
		goto out;
	}
	h->next_seq = next_seq;
	for (unsigned L = 0; L < levels; L++)
		if (load_level(h, hg, L, rows[L], why, whylen) < 0)
			goto out;
	if (load_stretches(h, stretches, why, whylen) < 0 || load_markers(h, markers, why, whylen) < 0)
		goto out;
	*out = h;
	h = NULL;
	rc = 0;
out:
	history_destroy(&h);
	json_decref(names);
	json_decref(stretches);
	json_decref(markers);
	H5Gclose(hg);
	return rc;
}
