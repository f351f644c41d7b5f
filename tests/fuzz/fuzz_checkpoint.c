/* SPDX-License-Identifier: MIT */
/*
 * fuzz_checkpoint.c — libFuzzer harness for the checkpoint reader: the input
 * is an HDF5 file image, read with checkpoint_from_image() for the pic1d
 * adapter. What is accepted must be complete, and the restored simulation
 * must run: it is stepped a few times and its diagnostics read.
 *
 * HDF5 checksums its own metadata in the 1.8+ format that steerd writes (and
 * now requires: older formats have no checksums, and HDF5 1.10 trusted their
 * sizes into gigabyte allocations), so mutations of the metadata mostly stop
 * at a checksum. The fuzzing build (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
 * accepts mismatched steerd_xxh64 checksums of the data (see h5io.h), so
 * that changed data reaches the code that checks and uses it: an attacker
 * can always write a file with correct ones.
 *
 * Every HDF5 identifier an input opens must be closed again (counted per
 * kind after a warm-up read).
 *
 * HDF5 1.10.8 leaks on some corrupt files: run with
 * LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp (fuzz.mk does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "checkpoint.h"
#include "fuzz_common.h"
#include "pic1d/pic1d.h"

#define STEPS 3

static int verbose;

/* Open HDF5 identifiers of each kind: an input must leave none behind. */
static const H5I_type_t id_types[] = { H5I_FILE, H5I_GROUP, H5I_DATATYPE, H5I_DATASPACE,
	                               H5I_DATASET, H5I_ATTR, H5I_GENPROP_LST };
#define N_ID_TYPES (sizeof id_types / sizeof id_types[0])
static hsize_t id_baseline[N_ID_TYPES];

static void count_ids(hsize_t *n)
{
	for (size_t i = 0; i < N_ID_TYPES; i++)
		if (H5Inmembers(id_types[i], &n[i]) < 0)
			n[i] = (hsize_t)-1;
}

/*
 * A checkpoint written and read back once before fuzzing, so that whatever
 * HDF5 sets up lazily is there before the identifiers are counted.
 */
static void warm_up(const sa_adapter *sa)
{
	char err[512];
	sa_value v[64];
	if (sa->n_knobs > 64)
		exit(1);
	for (size_t k = 0; k < sa->n_knobs; k++)
		v[k] = sa->knobs[k].def;
	v[adapter_knob_index(sa, "cells")].i = 4;
	v[adapter_knob_index(sa, "particles_per_step")].i = 1;
	v[adapter_knob_index(sa, "average_window")].i = 1;
	void *sim = sa->create(v, NULL, err, sizeof err);
	if (!sim || sa->step(sim, err, sizeof err) < 0) {
		fprintf(stderr, "fuzz_checkpoint: %s\n", err);
		exit(1);
	}
	for (size_t k = 0; k < sa->n_knobs; k++)
		v[k] = sa->get(sim, k);
	checkpoint_info info = { .step = sa->step_count(sim), .time = sa->time(sim), .knobs = v,
		                 .next_ramp_id = 1 };
	void *image;
	size_t len;
	checkpoint_loaded l;
	if (checkpoint_to_image(sa, sim, &info, &image, &len, err, sizeof err) < 0 ||
	    checkpoint_from_image(image, len, sa, &l, err, sizeof err) < 0) {
		fprintf(stderr, "fuzz_checkpoint: %s\n", err);
		exit(1);
	}
	checkpoint_loaded_free(sa, &l);
	free(image);
	sa->destroy(sim);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("HDF5_PLUGIN_PRELOAD", "::", 1); /* no filter plugins (dlopen is off anyway) */
	verbose = getenv("FUZZ_VERBOSE") != NULL; /* say what each input gave */
	/*
	 * HDF5's free lists keep what they free, without limits: every H5Fopen
	 * callocs a metadata cache of a few MB, which ASan would otherwise map
	 * and unmap each time (most of the time went to page faults).
	 */
	if (H5open() < 0 || H5set_free_list_limits(-1, -1, -1, -1, -1, -1) < 0)
		exit(1);
	warm_up(pic1d_adapter());
	count_ids(id_baseline);
	return 0;
}

static int read_one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int rc = read_one(data, size);
	hsize_t n[N_ID_TYPES];
	count_ids(n);
	for (size_t i = 0; i < N_ID_TYPES; i++)
		if (n[i] != id_baseline[i]) {
			fprintf(stderr, "HDF5 identifiers of type %d: %llu open, %llu before\n",
			        (int)id_types[i], (unsigned long long)n[i],
			        (unsigned long long)id_baseline[i]);
			fuzz_fail(__FILE__, __LINE__, "every HDF5 identifier opened is closed");
		}
	return rc;
}

static int read_one(const uint8_t *data, size_t size)
{
	const sa_adapter *sa = pic1d_adapter();
	checkpoint_loaded l;
	char err[1024] = "";
	if (checkpoint_from_image(data, size, sa, &l, err, sizeof err) != 0) {
		FUZZ_CHECK(err[0]);
		if (verbose)
			fprintf(stderr, "checkpoint_from_image: %s\n", err);
		FUZZ_CHECK(!l.sim && !l.knobs && !l.requested && !l.ramps && !l.config_text &&
		           !l.journal);
		return 0;
	}
	FUZZ_CHECK(l.sim && l.knobs && l.requested && l.config_text && json_is_array(l.journal));
	if (verbose)
		fprintf(stderr, "checkpoint_from_image: accepted, step %llu\n",
		        (unsigned long long)l.step);
	FUZZ_CHECK(l.n_ramps <= sa->n_knobs && (l.ramps || !l.n_ramps));
	FUZZ_CHECK(sa->step_count(l.sim) == l.step);
	for (size_t k = 0; k < sa->n_knobs; k++) {
		char why[256];
		FUZZ_CHECK(adapter_check_value(&sa->knobs[k], l.knobs[k], why, sizeof why) == 0);
		FUZZ_CHECK(adapter_check_value(&sa->knobs[k], l.requested[k], why, sizeof why) == 0);
	}
	for (size_t i = 0; i < l.n_ramps; i++)
		FUZZ_CHECK(l.ramps[i].knob < sa->n_knobs && l.ramps[i].steps > 0 &&
		           l.ramps[i].id < l.next_ramp_id);

	/*
	 * What was accepted runs: a few steps, unless the (valid) knobs make
	 * steps slow, which would only make the fuzzer time out.
	 */
	int cells = adapter_knob_index(sa, "cells"), pps = adapter_knob_index(sa, "particles_per_step");
	FUZZ_CHECK(cells >= 0 && pps >= 0);
	if (l.knobs[cells].i <= 4096 && l.knobs[pps].i <= 4096)
		for (int i = 0; i < STEPS; i++)
			if (sa->step(l.sim, err, sizeof err) < 0)
				break;
	for (size_t d = 0; d < sa->n_diags; d++) {
		size_t n = sa->diag_len(l.sim, d);
		double *buf = malloc((n ? n : 1) * sizeof *buf);
		FUZZ_CHECK(buf);
		FUZZ_CHECK(sa->diag_read(l.sim, d, buf, n) == n);
		free(buf);
	}
	checkpoint_loaded_free(sa, &l);
	return 0;
}
