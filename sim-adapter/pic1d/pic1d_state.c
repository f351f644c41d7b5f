/* SPDX-License-Identifier: MIT */
/*
 * pic1d_state.c — save and restore of the complete state.
 *
 * Saved: every knob (the runtime ones may have changed since create), the
 * step count, the particles, the deposited charge the current field was
 * solved from, the current averages with their ring buffers, and the
 * counters. Everything else (phi, E, the kicks) is a deterministic function of
 * the charge and the anode voltage and is recomputed, so a restored run
 * continues bitwise. phi and E are written too, for readers of the file.
 *
 * restore() trusts nothing it reads: sizes are checked against each other and
 * the knobs, values for range and finiteness; it commits only when all passed.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pic1d_internal.h"

/* Above the speed of light a saved velocity cannot come from this model. */
#define PIC1D_C 299792458.0

/* A non-NULL pointer for empty arrays: writers may copy from it. */
static const double pic1d_empty[1];

static const double *pic1d_nonnull(const double *p)
{
	return p ? p : pic1d_empty;
}

static int pic1d_knob_path(char *buf, size_t len, size_t k)
{
	return snprintf(buf, len, "knobs/%s", pic1d_knobs[k].name) < (int)len ? 0 : -1;
}

int pic1d_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	const pic1d *s = sim;
	const pic1d_grid *g = &s->grid;
	const size_t nodes = g->cells + 1;
	char name[64];


	for (size_t k = 0; k < PIC1D_N_KNOBS; k++) {
		if (pic1d_knob_path(name, sizeof name, k) < 0)
			return pic1d_fail(err, errlen, "knob name too long");
		int rc = pic1d_knobs[k].type == SA_DOUBLE
		             ? w->attr(w->ctx, name, SA_F64, &s->knob[k].d)
		             : w->attr(w->ctx, name, SA_I64, &s->knob[k].i);
		if (rc < 0)
			return pic1d_fail(err, errlen, "cannot write %s", name);
	}

	double time = (double)s->step * s->knob[PIC1D_K_DT].d;
	uint64_t pos = s->avg.pos, count = s->avg.count;
	const struct {
		const char *name;
		sa_dtype type;
		const void *value;
	} attrs[] = {
		{ "state/step", SA_U64, &s->step },
		{ "state/time", SA_F64, &time },
		{ "state/particles_dropped", SA_U64, &s->dropped },
		{ "state/kinetic_energy", SA_F64, &s->kinetic_energy },
		{ "average/pos", SA_U64, &pos },
		{ "average/count", SA_U64, &count },
	};
	for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
		if (w->attr(w->ctx, attrs[i].name, attrs[i].type, attrs[i].value) < 0)
			return pic1d_fail(err, errlen, "cannot write %s", attrs[i].name);

	/*
	 * An MPI run (pic1d_par.c): the particles are this rank's part of each
	 * array, written together by all ranks; everything else is global.
	 */
	const struct {
		const char *name;
		size_t n;
		const double *data;
	} parts[] = {
		{ "particles/x", s->p.n, s->p.x },
		{ "particles/v", s->p.n, s->p.v },
		{ "particles/w", s->p.n, s->p.w },
	};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if ((s->nranks > 1 ? w->array_part : w->array)(w->ctx, parts[i].name, SA_F64, parts[i].n,
		                                                pic1d_nonnull(parts[i].data)) < 0)
			return pic1d_fail(err, errlen, "cannot write %s", parts[i].name);

	const struct {
		const char *name;
		size_t n;
		const double *data;
	} arrays[] = {
		{ "fields/charge", nodes, g->q },
		{ "fields/phi", nodes, g->phi },
		{ "fields/efield", nodes, g->e },
		{ "average/ring", s->avg.window * PIC1D_AVG_N, s->avg.ring },
		{ "average/sum", PIC1D_AVG_N, s->avg.sum },
	};
	for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
		if (w->array(w->ctx, arrays[i].name, SA_F64, arrays[i].n,
		             pic1d_nonnull(arrays[i].data)) < 0)
			return pic1d_fail(err, errlen, "cannot write %s", arrays[i].name);
	return 0;
}

/* ---- restore ---------------------------------------------------------- */

/* Size of a saved F64 array, or -1 with a message when missing. */
static int pic1d_read_size(const sa_reader *r, const char *name, size_t *n, char *err,
                           size_t errlen)
{
	if (r->array_size(r->ctx, name, SA_F64, n) < 0)
		return pic1d_fail(err, errlen, "saved state lacks the array %s", name);
	return 0;
}

/* Read exactly n finite doubles of `name` into out. */
static int pic1d_read_finite(const sa_reader *r, const char *name, size_t n, double *out,
                             char *err, size_t errlen)
{
	size_t have;
	if (pic1d_read_size(r, name, &have, err, errlen) < 0)
		return -1;
	if (have != n)
		return pic1d_fail(err, errlen, "%s has %zu elements, expected %zu", name, have, n);
	if (n && r->array(r->ctx, name, SA_F64, n, out) < 0)
		return pic1d_fail(err, errlen, "cannot read %s", name);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(out[i]))
			return pic1d_fail(err, errlen, "%s[%zu] is not finite", name, i);
	return 0;
}

static int pic1d_read_attr(const sa_reader *r, const char *name, sa_dtype type, void *out,
                           char *err, size_t errlen)
{
	if (r->attr(r->ctx, name, type, out) < 0)
		return pic1d_fail(err, errlen, "cannot read the saved attribute %s", name);
	return 0;
}

/* Knobs: fixed ones must equal this instance's, runtime ones are taken. */
static int pic1d_restore_knobs(const pic1d *s, const sa_reader *r, sa_value *out, char *err,
                               size_t errlen)
{
	char name[64];
	for (size_t k = 0; k < PIC1D_N_KNOBS; k++) {
		const sa_knob *kn = &pic1d_knobs[k];
		sa_value v;
		if (pic1d_knob_path(name, sizeof name, k) < 0)
			return pic1d_fail(err, errlen, "knob name too long");
		int rc = kn->type == SA_DOUBLE ? pic1d_read_attr(r, name, SA_F64, &v.d, err, errlen)
		                               : pic1d_read_attr(r, name, SA_I64, &v.i, err, errlen);
		if (rc < 0)
			return -1;
		char why[160];
		if (pic1d_knob_in_bounds(k, v, why, sizeof why) < 0)
			return pic1d_fail(err, errlen, "saved knob: %s", why);
		if (!kn->runtime) {
			int same = kn->type == SA_DOUBLE ? v.d == s->knob[k].d : v.i == s->knob[k].i;
			if (!same)
				return pic1d_fail(err, errlen,
				                  "saved with a different %s than this run was created with",
				                  kn->name);
		}
		out[k] = v;
	}
	return pic1d_check_courant(out, err, errlen);
}

static int pic1d_check_particles(const pic1d *s, const pic1d_particles *p, char *err,
                                 size_t errlen);

/*
 * This rank's particles: in an MPI run its part of the saved arrays (its own
 * when as many ranks saved them, else an even share), serially all of them.
 * The reader's part calls exist in every host that gives a communicator.
 */
static int pic1d_read_particles(const pic1d *s, const sa_reader *r, pic1d_particles *p,
                                char *err, size_t errlen)
{
	const bool part = s->nranks > 1;
	int (*size)(void *, const char *, sa_dtype, size_t *) = part ? r->part_size : r->array_size;
	int (*read)(void *, const char *, sa_dtype, size_t, void *) = part ? r->part : r->array;
	static const char *const names[3] = { "particles/x", "particles/v", "particles/w" };
	size_t n[3];
	for (int i = 0; i < 3; i++)
		if (size(r->ctx, names[i], SA_F64, &n[i]) < 0)
			return pic1d_fail(err, errlen, "saved state lacks the array %s", names[i]);
	if (n[1] != n[0] || n[2] != n[0])
		return pic1d_fail(err, errlen, "particle arrays differ in length (x %zu, v %zu, w %zu)",
		                  n[0], n[1], n[2]);
	size_t limit = (size_t)s->knob[PIC1D_K_MAX_PARTICLES].i;
	if (n[0] > limit)
		return pic1d_fail(err, errlen, "%zu saved particles exceed max_particles %zu", n[0],
		                  limit);
	if (pic1d_particles_reserve(p, n[0], limit) < 0)
		return pic1d_fail(err, errlen, "out of memory for %zu particles", n[0]);
	double *out[3] = { p->x, p->v, p->w };
	for (int i = 0; i < 3; i++) {
		if (n[0] && read(r->ctx, names[i], SA_F64, n[0], out[i]) < 0)
			return pic1d_fail(err, errlen, "cannot read %s", names[i]);
		for (size_t j = 0; j < n[0]; j++)
			if (!isfinite(out[i][j]))
				return pic1d_fail(err, errlen, "%s[%zu] is not finite", names[i], j);
	}
	p->n = n[0];
	return 0;
}

/*
 * Particles: equal sizes within max_particles (all ranks' together),
 * positions inside the gap. In an MPI run every rank reaches the count's
 * collective, failed (already, when failed is set) or not, and all fail if
 * one does.
 */
static int pic1d_restore_particles(pic1d *s, const sa_reader *r, pic1d_particles *p, int failed,
                                   char *err, size_t errlen)
{
	int rc = failed ? -1 : pic1d_read_particles(s, r, p, err, errlen);
	if (rc == 0)
		rc = pic1d_check_particles(s, p, err, errlen);
	size_t n_global;
	if (pic1d_par_count(s, rc == 0 ? p->n : 0, rc < 0, &n_global, err, errlen) < 0)
		return -1;
	size_t limit = (size_t)s->knob[PIC1D_K_MAX_PARTICLES].i;
	if (n_global > limit)
		return pic1d_fail(err, errlen, "%zu saved particles exceed max_particles %zu", n_global,
		                  limit);
	s->n_global = n_global;
	return 0;
}

/* Positions inside the gap, speeds below c, weights above 0. */
static int pic1d_check_particles(const pic1d *s, const pic1d_particles *p, char *err,
                                 size_t errlen)
{
	const size_t n = p->n;
	const double gap = s->grid.gap;
	for (size_t i = 0; i < n; i++) {
		if (!(p->x[i] > 0.0 && p->x[i] < gap))
			return pic1d_fail(err, errlen, "particle %zu is outside the gap (x = %g m)", i,
			                  p->x[i]);
		if (!(fabs(p->v[i]) < PIC1D_C))
			return pic1d_fail(err, errlen, "particle %zu is faster than light (v = %g m/s)",
			                  i, p->v[i]);
		if (!(p->w[i] > 0.0))
			return pic1d_fail(err, errlen, "particle %zu has weight %g <= 0", i, p->w[i]);
	}
	return 0;
}

/* Everything but the particles, read into a scratch copy of the state. */
typedef struct pic1d_saved {
	sa_value knob[PIC1D_N_KNOBS];
	uint64_t step, dropped, pos, count;
	double time, kinetic;
	double sum[PIC1D_AVG_N];
	double *ring; /* [window * PIC1D_AVG_N] */
	double *q;    /* [cells + 1] */
} pic1d_saved;

static int pic1d_restore_rest(const pic1d *s, const sa_reader *r, pic1d_saved *sv, char *err,
                              size_t errlen)
{
	const size_t nodes = s->grid.cells + 1, window = s->avg.window;
	if (pic1d_restore_knobs(s, r, sv->knob, err, errlen) < 0)
		return -1;
	if (pic1d_read_attr(r, "state/step", SA_U64, &sv->step, err, errlen) < 0 ||
	    pic1d_read_attr(r, "state/time", SA_F64, &sv->time, err, errlen) < 0 ||
	    pic1d_read_attr(r, "state/particles_dropped", SA_U64, &sv->dropped, err, errlen) < 0 ||
	    pic1d_read_attr(r, "state/kinetic_energy", SA_F64, &sv->kinetic, err, errlen) < 0 ||
	    pic1d_read_attr(r, "average/pos", SA_U64, &sv->pos, err, errlen) < 0 ||
	    pic1d_read_attr(r, "average/count", SA_U64, &sv->count, err, errlen) < 0)
		return -1;
	if (sv->time != (double)sv->step * s->knob[PIC1D_K_DT].d)
		return pic1d_fail(err, errlen, "state/time %g s does not match state/step %llu",
		                  sv->time, (unsigned long long)sv->step);
	if (!(isfinite(sv->kinetic) && sv->kinetic >= 0.0))
		return pic1d_fail(err, errlen, "state/kinetic_energy is invalid");
	/* The ring fills from slot 0; once full, pos is any slot. */
	if (sv->count > window || sv->pos >= window ||
	    (sv->count < window && sv->pos != sv->count))
		return pic1d_fail(err, errlen, "average/pos %llu and average/count %llu do not fit "
		                  "a window of %zu", (unsigned long long)sv->pos,
		                  (unsigned long long)sv->count, window);

	sv->ring = malloc(window * PIC1D_AVG_N * sizeof *sv->ring);
	sv->q = calloc(nodes + 1, sizeof *sv->q); /* + the padding node */
	if (!sv->ring || !sv->q)
		return pic1d_fail(err, errlen, "out of memory");
	if (pic1d_read_finite(r, "average/ring", window * PIC1D_AVG_N, sv->ring, err, errlen) < 0 ||
	    pic1d_read_finite(r, "average/sum", PIC1D_AVG_N, sv->sum, err, errlen) < 0 ||
	    pic1d_read_finite(r, "fields/charge", nodes, sv->q, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < nodes; i++)
		if (sv->q[i] < 0.0)
			return pic1d_fail(err, errlen, "fields/charge[%zu] is negative", i);
	/* the ring holds current magnitudes, exactly as stepped */
	for (size_t i = 0; i < window * PIC1D_AVG_N; i++)
		if (sv->ring[i] < 0.0)
			return pic1d_fail(err, errlen, "average/ring[%zu] is negative", i);
	/* (the running sums may round to a hair below 0, so no such check) */
	/* phi and E are recomputed; their saved copies must at least fit. */
	size_t n;
	if (pic1d_read_size(r, "fields/phi", &n, err, errlen) < 0)
		return -1;
	if (n != nodes)
		return pic1d_fail(err, errlen, "fields/phi has %zu nodes, expected %zu", n, nodes);
	return 0;
}

int pic1d_restore(void *sim, const sa_reader *r, char *err, size_t errlen)
{
	pic1d *s = sim;
	pic1d_saved sv = { 0 };
	pic1d_particles p = { 0 };
	int rc = -1;

	size_t n_global = s->n_global;
	int failed = pic1d_restore_rest(s, r, &sv, err, errlen) < 0;
	if (pic1d_restore_particles(s, r, &p, failed, err, errlen) < 0) {
		s->n_global = n_global;
		goto out;
	}

	/* All read and checked: commit. */
	memcpy(s->knob, sv.knob, sizeof s->knob);
	s->step = sv.step;
	s->dropped = sv.dropped;
	s->kinetic_energy = sv.kinetic;
	pic1d_particles tmp = s->p;
	s->p = p;
	p = tmp;
	double *ring = s->avg.ring;
	s->avg.ring = sv.ring;
	sv.ring = ring;
	s->avg.pos = sv.pos;
	s->avg.count = sv.count;
	memcpy(s->avg.sum, sv.sum, sizeof s->avg.sum);
	memcpy(s->grid.q, sv.q, (s->grid.cells + 2) * sizeof *s->grid.q);
	pic1d_field_solve(&s->grid, s->knob[PIC1D_K_VOLTAGE].d, s->knob[PIC1D_K_DT].d);
	rc = 0;
out:
	pic1d_particles_free(&p);
	free(sv.ring);
	free(sv.q);
	return rc;
}
