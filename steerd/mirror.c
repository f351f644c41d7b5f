/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mirror.c — the run's published state, copied in and out under one short lock. */
#include "mirror.h"

#include <stdlib.h>
#include <string.h>

struct mirror {
	pthread_mutex_t lock;
	size_t n_knobs, n_scalars;
	mirror_state state;
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
	m->n_scalars = n_scalars;
	if (mirror_state_init(m, &m->state) < 0) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void mirror_destroy(mirror **mp)
{
	if (!mp || !*mp)
		return;
	pthread_mutex_destroy(&(*mp)->lock);
	mirror_state_free(&(*mp)->state);
	free(*mp);
	*mp = NULL;
}

size_t mirror_n_scalars(const mirror *m) { return m->n_scalars; }

static void copy_state(const mirror *m, mirror_state *dst, const mirror_state *src)
{
	sa_value *knobs = dst->knobs;
	double *scalars = dst->scalars;
	ramp *ramps = dst->ramps;
	*dst = *src;
	dst->knobs = memcpy(knobs, src->knobs, m->n_knobs * sizeof *knobs);
	dst->scalars = memcpy(scalars, src->scalars, m->n_scalars * sizeof *scalars);
	dst->ramps = memcpy(ramps, src->ramps, src->n_ramps * sizeof *ramps);
}

void mirror_put(mirror *m, const mirror_state *src)
{
	pthread_mutex_lock(&m->lock);
	copy_state(m, &m->state, src);
	pthread_mutex_unlock(&m->lock);
}

void mirror_get(mirror *m, mirror_state *dst)
{
	pthread_mutex_lock(&m->lock);
	copy_state(m, dst, &m->state);
	pthread_mutex_unlock(&m->lock);
}
