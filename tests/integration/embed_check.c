/* SPDX-License-Identifier: MIT */
/*
 * embed_check.c — a tiny code that embeds steerd, built by
 * tests/integration/test_install.py against an installed libsteerd with
 * nothing but `pkg-config --cflags --libs steerd` (and, with -DWITH_HDF5,
 * `pkg-config --cflags --libs hdf5-serial`).
 *
 *   embed_check [-c FILE] [--connection-file PATH] --steps N [--h5 FILE]
 *
 * Opens steerd on a counter with save/restore, takes N steps between
 * boundaries, closes, and prints what the test checks: the library it ran
 * against (its file, from dladdr) and its version. With --h5 (WITH_HDF5) the
 * code uses HDF5 itself meanwhile, as a real code does: it installs its own
 * HDF5 error handler, writes one dataset per step into its own file while
 * steerd checkpoints, then checks that its handler is still the one HDF5
 * calls.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steerd.h>
#ifdef WITH_HDF5
#include <hdf5.h>
#endif

typedef struct counter {
	uint64_t step;
	double x;
} counter;

static const sa_knob knobs[] = {
	{ "rate", SA_DOUBLE, "1/s", 0.0, 10.0, { .d = 1.0 }, "growth per step", 1, NULL },
};
static const sa_diag diags[] = { { "x", "", "the counter", 0, NULL } };
static double rate = 1.0;

static uint64_t c_step_count(const void *sim) { return ((const counter *)sim)->step; }
static double c_time(const void *sim) { return (double)((const counter *)sim)->step; }
static sa_value c_get(const void *sim, size_t k)
{
	(void)sim;
	(void)k;
	return (sa_value){ .d = rate };
}
static int c_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	(void)sim;
	(void)k;
	(void)err;
	(void)errlen;
	rate = v.d;
	return 0;
}
static size_t c_diag_len(const void *sim, size_t d)
{
	(void)sim;
	(void)d;
	return 1;
}
static size_t c_diag_read(const void *sim, size_t d, double *out, size_t cap)
{
	(void)d;
	if (cap < 1)
		return 0;
	out[0] = ((const counter *)sim)->x;
	return 1;
}
static int c_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	const counter *c = sim;
	if (w->attr(w->ctx, "step", SA_U64, &c->step) < 0 ||
	    w->array(w->ctx, "x", SA_F64, 1, &c->x) < 0) {
		snprintf(err, errlen, "cannot save");
		return -1;
	}
	return 0;
}
static int c_restore(void *sim, const sa_reader *r, char *err, size_t errlen)
{
	counter *c = sim, in;
	if (r->attr(r->ctx, "step", SA_U64, &in.step) < 0 || r->array(r->ctx, "x", SA_F64, 1, &in.x) < 0) {
		snprintf(err, errlen, "cannot restore");
		return -1;
	}
	*c = in;
	return 0;
}

static const sa_adapter desc = {
	SA_ABI_INIT, .name = "counter", .version = "1", .description = "a counter",
	.knobs = knobs, .n_knobs = 1, .diags = diags, .n_diags = 1,
	.step_count = c_step_count, .time = c_time, .get = c_get, .set = c_set,
	.diag_len = c_diag_len, .diag_read = c_diag_read, .save = c_save, .restore = c_restore,
};

#ifdef WITH_HDF5
static int code_errors; /* HDF5 errors reported to the code's own handler */
static herr_t code_error_handler(hid_t stack, void *data)
{
	(void)stack;
	++*(int *)data;
	return 0;
}
#endif

static int die(const char *what)
{
	fprintf(stderr, "embed_check: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	steerd_options o = STEERD_OPTIONS_INIT;
	char err[1024];
	if (steerd_options_from_args(&o, &argc, argv, err, sizeof err) < 0)
		return die(err);
	long steps = 3;
	const char *h5 = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--steps"))
			steps = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--h5"))
			h5 = argv[i + 1];
		else
			return die("usage: embed_check [-c FILE] [--connection-file PATH] --steps N [--h5 FILE]");
	}
#ifdef WITH_HDF5
	hid_t file = -1;
	if (h5) {
		if (H5Eset_auto2(H5E_DEFAULT, code_error_handler, &code_errors) < 0)
			return die("H5Eset_auto2");
		file = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
		if (file < 0)
			return die("cannot create the code's own HDF5 file");
	}
#else
	if (h5)
		return die("built without HDF5");
#endif

	counter c = { 0, 0.0 };
	steerd *s = steerd_open(&desc, &c, &o, err, sizeof err);
	if (!s)
		return die(err);
	Dl_info info;
	if (dladdr((void *)steerd_boundary, &info) && info.dli_fname)
		printf("library %s\n", info.dli_fname);
	printf("version %s (header %s)\n", steerd_version(), STEERD_VERSION_STRING);
	long done = 0;
	while (done < steps && steerd_boundary(s) == STEERD_GO) {
		c.step++;
		c.x += rate;
		done++;
#ifdef WITH_HDF5
		if (h5) { /* the code's own output, between steerd's checkpoints */
			char name[32];
			snprintf(name, sizeof name, "step_%ld", done);
			hsize_t one = 1;
			hid_t space = H5Screate_simple(1, &one, NULL);
			hid_t set = H5Dcreate2(file, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT,
			                       H5P_DEFAULT, H5P_DEFAULT);
			if (space < 0 || set < 0 ||
			    H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &c.x) < 0)
				return die("cannot write the code's own dataset");
			H5Dclose(set);
			H5Sclose(space);
		}
#endif
	}
	if (done < steps)
		return die("steerd stopped the run early");
	steerd_boundary(s); /* the boundary after the last step: its checkpoint is due */
	if (steerd_close(&s) < 0)
		return die("steerd_close failed");
	printf("steps %ld\n", done);
#ifdef WITH_HDF5
	if (h5) {
		H5E_auto2_t func = NULL;
		void *data = NULL;
		H5Eget_auto2(H5E_DEFAULT, &func, &data);
		if (func != code_error_handler || data != &code_errors)
			return die("steerd changed the code's HDF5 error handler");
		/* An error of the code's own reaches its handler. */
		int before = code_errors;
		if (H5Dopen2(file, "no_such_dataset", H5P_DEFAULT) >= 0 || code_errors != before + 1)
			return die("the code's HDF5 error handler was not called");
		if (H5Fclose(file) < 0)
			return die("cannot close the code's own HDF5 file");
		printf("hdf5 ok\n");
	}
#endif
	return 0;
}
