/* SPDX-License-Identifier: MIT */
/*
 * make_checkpoint_seeds.c — writes the seed corpus of fuzz_checkpoint: small
 * pic1d checkpoints (a few cells and particles, so a few KB each), as HDF5
 * images made by checkpoint_to_image(). Usage: make_checkpoint_seeds DIR.
 * `make fuzz-seeds` runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "pic1d/pic1d.h"

typedef struct seed {
	const char *name;
	const char *emission;
	int64_t cells, pps, window, phase_sample, max_particles;
	double thermal;
	unsigned steps;
	int ramp;    /* with a ramp of injected_current */
	int journal; /* with a journal entry */
} seed;

static const seed seeds[] = {
	{ "step0", "beam", 4, 1, 1, 0, 1, 0.0, 0, 0, 0 },
	{ "beam", "beam", 8, 2, 4, 8, 64, 0.0, 12, 1, 1 },
	{ "scl-thermal", "scl", 6, 3, 3, 4, 32, 2.0, 20, 0, 1 },
	{ "full", "beam", 8, 4, 2, 4, 8, 1.0, 30, 1, 0 }, /* particles dropped at max_particles */
};

static int knob(const sa_adapter *sa, const char *name)
{
	int k = adapter_knob_index(sa, name);
	if (k < 0) {
		fprintf(stderr, "pic1d has no knob %s\n", name);
		exit(1);
	}
	return k;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	const sa_adapter *sa = pic1d_adapter();
	checkpoint_test_hooks hooks = { .date = "2024-01-01 00:00:00 +0000" };
	checkpoint_set_test_hooks(&hooks);
	for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
		const seed *sd = &seeds[i];
		char err[512];
		sa_value v[64], req[64];
		if (sa->n_knobs > 64)
			return 1;
		for (size_t k = 0; k < sa->n_knobs; k++)
			v[k] = sa->knobs[k].def;
		v[knob(sa, "cells")].i = sd->cells;
		v[knob(sa, "particles_per_step")].i = sd->pps;
		v[knob(sa, "average_window")].i = sd->window;
		v[knob(sa, "phase_sample")].i = sd->phase_sample;
		v[knob(sa, "max_particles")].i = sd->max_particles;
		v[knob(sa, "thermal_energy")].d = sd->thermal;
		v[knob(sa, "emission")].i = adapter_enum_index(&sa->knobs[knob(sa, "emission")], sd->emission);
		void *sim = sa->create(v, NULL, err, sizeof err);
		if (!sim) {
			fprintf(stderr, "%s: %s\n", sd->name, err);
			return 1;
		}
		for (unsigned s = 0; s < sd->steps; s++)
			if (sa->step(sim, err, sizeof err) < 0) {
				fprintf(stderr, "%s: %s\n", sd->name, err);
				return 1;
			}
		for (size_t k = 0; k < sa->n_knobs; k++)
			v[k] = req[k] = sa->get(sim, k);
		int cur = knob(sa, "injected_current");
		ramp r = { .id = 2, .knob = (size_t)cur, .from = v[cur].d, .to = 2 * v[cur].d + 1,
		           .start_step = sa->step_count(sim), .steps = 50, .client = "seed" };
		if (sd->ramp)
			req[cur].d = r.to;
		json_t *journal = sd->journal
		                      ? json_pack("[{s:I, s:s, s:s, s:f, s:f}]", "step", (json_int_t)1,
		                                  "client", "seed", "knob", "anode_voltage", "old",
		                                  1000.0, "new", 900.0)
		                      : json_array();
		checkpoint_info info = {
			.step = sa->step_count(sim), .time = sa->time(sim), .knobs = v, .requested = req,
			.ramps = &r, .n_ramps = sd->ramp ? 1 : 0, .next_ramp_id = 3, .schedule_pos = 0,
			.config_text = "simulation:\n  adapter: pic1d\n", .journal = journal,
		};
		void *image;
		size_t len;
		if (checkpoint_to_image(sa, sim, &info, &image, &len, err, sizeof err) != 0) {
			fprintf(stderr, "%s: %s\n", sd->name, err);
			return 1;
		}
		checkpoint_loaded l;
		if (checkpoint_from_image(image, len, sa, &l, err, sizeof err) != 0) {
			fprintf(stderr, "%s: does not read back: %s\n", sd->name, err);
			return 1;
		}
		checkpoint_loaded_free(sa, &l);
		char path[4096];
		snprintf(path, sizeof path, "%s/%s.h5", argv[1], sd->name);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(image, 1, len, f) != len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		printf("%s: %zu bytes\n", path, len);
		free(image);
		json_decref(journal);
		sa->destroy(sim);
	}
	checkpoint_set_test_hooks(NULL);
	return 0;
}
