/* SPDX-License-Identifier: MIT */
/*
 * config_schedule.c — the schedule: section. Each entry {at, set | ramp}
 * expands to one sched_entry per knob; only runtime knobs, ramps only on
 * double and int knobs; kept sorted by `at`, stably.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

typedef struct sched_vec {
	sched_entry *v;
	size_t n, cap;
} sched_vec;

static int sched_push(sched_vec *s, sched_entry e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		sched_entry *v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = e;
	return 0;
}

struct sorted {
	sched_entry e;
	size_t seq;
};

static int cmp_sorted(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	if (x->e.at != y->e.at)
		return x->e.at < y->e.at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Stable sort by `at`. */
static int sched_sort(sched_entry *v, size_t n)
{
	if (n < 2)
		return 0;
	struct sorted *t = malloc(n * sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < n; i++)
		t[i] = (struct sorted){ v[i], i };
	qsort(t, n, sizeof *t, cmp_sorted);
	for (size_t i = 0; i < n; i++)
		v[i] = t[i].e;
	free(t);
	return 0;
}

/* A knob that may appear in the schedule: exists, is runtime. */
static int sched_knob(cfg_ctx *c, const yaml_node_t *map, size_t i, const char *where)
{
	int k = cfg_knob_key(c, map, i, where);
	if (k < 0)
		return -1;
	const sa_knob *kn = &c->cfg->adapter->sa->knobs[k];
	if (!kn->runtime)
		return FAIL(c, cfg_pair_key(c, map, i),
		            "%s is fixed (set once at start in simulation.knobs); it cannot be scheduled",
		            kn->name);
	return k;
}

static int parse_set(cfg_ctx *c, uint64_t at, const yaml_node_t *map, sched_vec *out)
{
	if (map->type != YAML_MAPPING_NODE || cfg_map_size(map) == 0)
		return FAIL(c, map, "schedule: 'set' must be a non-empty mapping of knob: value");
	const sa_adapter *sa = c->cfg->adapter->sa;
	for (size_t i = 0; i < cfg_map_size(map); i++) {
		int k = sched_knob(c, map, i, "schedule set");
		if (k < 0)
			return -1;
		sched_entry e = { .at = at, .kind = SCHED_SET, .knob = (size_t)k };
		if (cfg_knob_value(c, &sa->knobs[k], cfg_pair_value(c, map, i), &e.value) < 0)
			return -1;
		if (sched_push(out, e) < 0)
			return FAIL(c, map, "out of memory");
	}
	return 0;
}

static int parse_ramp_spec(cfg_ctx *c, const sa_knob *kn, const yaml_node_t *spec, sched_entry *e)
{
	static const char *const keys[] = { "to", "steps", "rate" };
	char where[96];
	snprintf(where, sizeof where, "the ramp of %s", kn->name);
	if (spec->type != YAML_MAPPING_NODE)
		return FAIL(c, spec, "the ramp of %s must be a mapping {to: X, steps: N} or "
		                     "{to: X, rate: R}", kn->name);
	const yaml_node_t *to = NULL, *steps = NULL, *rate = NULL;
	for (size_t i = 0; i < cfg_map_size(spec); i++) {
		int k = cfg_check_key(c, spec, i, keys, 3, where);
		if (k < 0)
			return -1;
		const yaml_node_t *v = cfg_pair_value(c, spec, i);
		if (k == 0)
			to = v;
		else if (k == 1)
			steps = v;
		else
			rate = v;
	}
	if (!to)
		return FAIL(c, spec, "the ramp of %s needs 'to' (the target value)", kn->name);
	if (!steps == !rate)
		return FAIL(c, spec, "the ramp of %s needs exactly one of 'steps' or 'rate'", kn->name);
	if (cfg_knob_value(c, kn, to, &e->value) < 0)
		return -1;
	if (steps) {
		if (cfg_get_uint(c, steps, "ramp steps", 1, INT64_MAX, &e->steps) < 0)
			return -1;
	} else {
		if (cfg_get_double(c, rate, "ramp rate", &e->rate) < 0)
			return -1;
		if (!(e->rate > 0))
			return FAIL(c, rate, "ramp rate must be > 0 (%s units per step)",
			            *kn->unit ? kn->unit : "knob");
	}
	return 0;
}

static int parse_ramp(cfg_ctx *c, uint64_t at, const yaml_node_t *map, sched_vec *out)
{
	if (map->type != YAML_MAPPING_NODE || cfg_map_size(map) == 0)
		return FAIL(c, map, "schedule: 'ramp' must be a non-empty mapping of "
		                    "knob: {to: X, steps: N}");
	const sa_adapter *sa = c->cfg->adapter->sa;
	for (size_t i = 0; i < cfg_map_size(map); i++) {
		int k = sched_knob(c, map, i, "schedule ramp");
		if (k < 0)
			return -1;
		const sa_knob *kn = &sa->knobs[k];
		if (kn->type != SA_DOUBLE && kn->type != SA_INT)
			return FAIL(c, cfg_pair_key(c, map, i),
			            "%s is a %s knob; only double and int knobs can be ramped (use set)",
			            kn->name, adapter_type_name(kn->type));
		sched_entry e = { .at = at, .kind = SCHED_RAMP, .knob = (size_t)k };
		if (parse_ramp_spec(c, kn, cfg_pair_value(c, map, i), &e) < 0)
			return -1;
		if (sched_push(out, e) < 0)
			return FAIL(c, map, "out of memory");
	}
	return 0;
}

static int parse_schedule_item(cfg_ctx *c, const yaml_node_t *item, sched_vec *out)
{
	static const char *const keys[] = { "at", "set", "ramp" };
	if (item->type != YAML_MAPPING_NODE)
		return FAIL(c, item, "a schedule entry must be a mapping like "
		                     "{at: 1000, set: {knob: value}}");
	const yaml_node_t *at = NULL, *set = NULL, *ramp = NULL;
	for (size_t i = 0; i < cfg_map_size(item); i++) {
		int k = cfg_check_key(c, item, i, keys, 3, "a schedule entry");
		if (k < 0)
			return -1;
		const yaml_node_t *v = cfg_pair_value(c, item, i);
		if (k == 0)
			at = v;
		else if (k == 1)
			set = v;
		else
			ramp = v;
	}
	if (!at)
		return FAIL(c, item, "a schedule entry needs 'at' (the step it applies at)");
	if (!set == !ramp)
		return FAIL(c, item, "a schedule entry needs exactly one of 'set' or 'ramp'");
	uint64_t step;
	if (cfg_get_uint(c, at, "schedule 'at'", 0, INT64_MAX, &step) < 0)
		return -1;
	return set ? parse_set(c, step, set, out) : parse_ramp(c, step, ramp, out);
}

int cfg_parse_schedule(cfg_ctx *c, const char *name, const yaml_node_t *value)
{
	if (cfg_is_null(c, value))
		return 0;
	if (value->type != YAML_SEQUENCE_NODE)
		return FAIL(c, value, "%s must be a list of entries like '- at: 1000'", name);
	sched_vec s = { 0 };
	for (yaml_node_item_t *it = value->data.sequence.items.start;
	     it < value->data.sequence.items.top; it++) {
		if (parse_schedule_item(c, cfg_node(c, *it), &s) < 0) {
			free(s.v);
			return -1;
		}
	}
	if (sched_sort(s.v, s.n) < 0) {
		free(s.v);
		return FAIL(c, value, "out of memory");
	}
	c->cfg->schedule = s.v;
	c->cfg->n_schedule = s.n;
	return 0;
}
