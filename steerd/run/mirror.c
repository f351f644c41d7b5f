/* SPDX-License-Identifier: MIT */
/* mirror.c — the run's published state, copied in and out under one short lock. */
#include "mirror.h"
#include "own_scalars.h"

#include <stdatomic.h>

#include <stdlib.h>
#include <string.h>

/*
 * A sequence lock: the simulation thread (the only writer) never waits; a
 * reader copies, and copies again if a write overlapped (odd or changed
 * sequence). Readers are only the control thread, so they never contend.
 */
struct mirror {
	atomic_uint_fast64_t seq;
	size_t n_knobs, n_scalars;
	mirror_state state;
	struct history *history; /* not owned */
};

const char *run_state_name(run_state s)
{
	switch (s) {
	case RUN_RUNNING: return "running";
	case RUN_PAUSED: return "paused";
	case RUN_STOPPING: return "stopping";
	}
	return "?";
}

int mirror_state_init(const mirror *m, mirror_state *s)
{
	memset(s, 0, sizeof *s);
	s->knobs = calloc(m->n_knobs ? m->n_knobs : 1, sizeof *s->knobs);
	s->scalars = calloc(m->n_scalars ? m->n_scalars : 1, sizeof *s->scalars);
	s->ramps = calloc(m->n_knobs ? m->n_knobs : 1, sizeof *s->ramps);
	if (!s->knobs || !s->scalars || !s->ramps) {
		mirror_state_free(s);
		return -1;
	}
	return 0;
}

void mirror_state_free(mirror_state *s)
{
	free(s->knobs);
	free(s->scalars);
	free(s->ramps);
	memset(s, 0, sizeof *s);
}

mirror *mirror_new(size_t n_knobs, size_t n_scalars)
{
	mirror *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->n_knobs = n_knobs;
	m->n_scalars = n_scalars + OWN_N_SCALARS; /* steerd's own come last */
	if (mirror_state_init(m, &m->state) < 0) {
		free(m);
		return NULL;
	}
	atomic_init(&m->seq, 0);
	return m;
}

void mirror_destroy(mirror **mp)
{
	if (!mp || !*mp)
		return;
	mirror_state_free(&(*mp)->state);
	free(*mp);
	*mp = NULL;
}

size_t mirror_n_scalars(const mirror *m) { return m->n_scalars; }
void mirror_set_history(mirror *m, struct history *h) { m->history = h; }
struct history *mirror_history(mirror *m) { return m->history; }

static void copy_state(const mirror *m, mirror_state *dst, const mirror_state *src)
{
	sa_value *knobs = dst->knobs;
	double *scalars = dst->scalars;
	ramp *ramps = dst->ramps;
	*dst = *src;
	dst->knobs = memcpy(knobs, src->knobs, m->n_knobs * sizeof *knobs);
	dst->scalars = memcpy(scalars, src->scalars, m->n_scalars * sizeof *scalars);
	/* A reader may see a count torn by a write (it then copies again): bound it. */
	dst->n_ramps = src->n_ramps <= m->n_knobs ? src->n_ramps : m->n_knobs;
	dst->ramps = memcpy(ramps, src->ramps, dst->n_ramps * sizeof *ramps);
}

void mirror_put(mirror *m, const mirror_state *src)
{
	uint_fast64_t s = atomic_load_explicit(&m->seq, memory_order_relaxed);
	atomic_store_explicit(&m->seq, s + 1, memory_order_relaxed); /* odd: writing */
	atomic_thread_fence(memory_order_release);
	copy_state(m, &m->state, src);
	atomic_store_explicit(&m->seq, s + 2, memory_order_release);
}

void mirror_get(mirror *m, mirror_state *dst)
{
	for (;;) {
		uint_fast64_t before = atomic_load_explicit(&m->seq, memory_order_acquire);
		if (before & 1)
			continue; /* a write is under way: it takes well under a microsecond */
		copy_state(m, dst, &m->state);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&m->seq, memory_order_relaxed) == before)
			return;
	}
}

int mirror_scalar_slot(const sa_adapter *sa, const char *name)
{
	int slot = 0;
	for (size_t d = 0; d < sa->n_diags; d++) {
		if (sa->diags[d].rank != 0)
			continue;
		if (strcmp(sa->diags[d].name, name) == 0)
			return slot;
		slot++;
	}
	int own = own_scalar_index(name); /* steerd's own come after the adapter's */
	return own < 0 ? -1 : slot + own;
}
