/* SPDX-License-Identifier: MIT */
/*
 * test_bind.c — the variable-binding builder (steerd_desc_*, steerd/bind.c):
 * every malformed declaration is refused with a message and changes
 * nothing; the callbacks read and write the bound variables; save and
 * restore go through a real HDF5 file and refuse a state of another length
 * or with a knob out of bounds without touching the variables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5io.h"
#include "steerd.h"

static double alpha = 0.5, level, time_s, u[4] = { 1, 2, 3, 4 }, x[4] = { 0, 1, 2, 3 };
static int32_t every = 10, n_in_use = 3;
static int64_t big = 7, step, seeds[2] = { 11, 12 };

static void assert_refused(int rc, const char *needle)
{
	assert_int_equal(rc, -1);
	if (!strstr(steerd_last_error(), needle))
		fail_msg("message '%s' lacks '%s'", steerd_last_error(), needle);
}

static steerd_desc *complete(void)
{
	steerd_desc *d = steerd_desc_new("bound", "1", "a test");
	assert_non_null(d);
	assert_int_equal(steerd_desc_knob_double(d, "alpha", "m", 0, 1, 1, "a knob", &alpha), 0);
	assert_int_equal(steerd_desc_knob_int32(d, "every", "", 1, 100, 1, "an int", &every), 0);
	assert_int_equal(steerd_desc_knob_int64(d, "big", "", 0, 1000, 0, "fixed", &big), 0);
	assert_int_equal(steerd_desc_scalar(d, "level", "m", "a scalar", &level), 0);
	assert_int_equal(steerd_desc_array(d, "x", "m", "positions", x, 4, NULL, NULL), 0);
	assert_int_equal(steerd_desc_array(d, "u", "K", "values", u, 4, &n_in_use, "x"), 0);
	assert_int_equal(steerd_desc_clock(d, &step, &time_s), 0);
	return d;
}

static void bad_declarations_are_refused(void **state)
{
	(void)state;
	assert_null(steerd_desc_new("Bad Name", "1", ""));
	assert_non_null(strstr(steerd_last_error(), "Bad Name"));
	assert_null(steerd_desc_new(NULL, "1", ""));
	steerd_desc *d = complete();
	double lo = 2;
	assert_refused(steerd_desc_knob_double(d, "alpha", "", 0, 1, 1, "", &lo), "already a knob");
	assert_refused(steerd_desc_scalar(d, "alpha", "", "", &lo), "already a knob");
	assert_refused(steerd_desc_knob_double(d, "level", "", 0, 1, 1, "", &alpha), "already a diagnostic");
	assert_refused(steerd_desc_knob_double(d, "lo", "", 3, 1, 1, "", &lo), "min > max");
	assert_refused(steerd_desc_knob_double(d, "lo", "", 0, 1, 1, "", &lo), "initialise it");
	assert_refused(steerd_desc_knob_double(d, "lo", "", 0, 1, 1, "", NULL), "no variable");
	assert_refused(steerd_desc_knob_int32(d, "n", "", 5, 1, 1, "", &every), "min > max");
	assert_refused(steerd_desc_knob_int64(d, "n", "", 0, INT64_MAX, 1, "", &big), "2^53");
	assert_refused(steerd_desc_scalar(d, "9lives", "", "", &lo), "[a-z]");
	assert_refused(steerd_desc_scalar(NULL, "s", "", "", &lo), "NULL");
	assert_refused(steerd_desc_array(d, "v", "", "", u, 4, NULL, "nowhere"), "axis 'nowhere'");
	assert_refused(steerd_desc_array(d, "v", "", "", u, 4, NULL, "level"), "axis 'level'");
	assert_refused(steerd_desc_array(d, "v", "", "", NULL, 4, NULL, NULL), "no variable");
	assert_refused(steerd_desc_clock(d, &step, NULL), "no variable");
	assert_refused(steerd_desc_clock(d, &step, &time_s), "already bound");
	assert_refused(steerd_desc_state_f64(d, "u", NULL, 4, NULL), "no variable");
	assert_int_equal(steerd_desc_state_f64(d, "u", u, 4, &n_in_use), 0);
	assert_refused(steerd_desc_state_i64(d, "u", seeds, 2, NULL), "already a state array");
	char longname[80];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_refused(steerd_desc_scalar(d, longname, "", "", &lo), "at most 64");
	/* Nothing refused was added. */
	const sa_adapter *sa = steerd_desc_adapter(d);
	assert_non_null(sa);
	assert_int_equal(sa->n_knobs, 3);
	assert_int_equal(sa->n_diags, 3);
	assert_refused(steerd_desc_scalar(d, "late", "", "", &lo), "in use");
	assert_ptr_equal(steerd_desc_adapter(d), sa); /* again: the same descriptor */
	steerd_desc_destroy(&d);
	assert_null(d);
	steerd_desc_destroy(&d); /* no-op */
	steerd_desc_destroy(NULL);

	d = steerd_desc_new("noclock", "1", "");
	assert_null(steerd_desc_adapter(d));
	assert_non_null(strstr(steerd_last_error(), "steerd_desc_clock"));
	steerd_desc_destroy(&d);
	assert_null(steerd_desc_adapter(NULL));
}

static void callbacks_use_the_variables(void **state)
{
	(void)state;
	steerd_desc *d = complete();
	const sa_adapter *sa = steerd_desc_adapter(d);
	assert_null(sa->save); /* no state declared */
	assert_null(sa->restore);
	assert_true(sa->flags & SA_SINGLE_INSTANCE);
	assert_true(sa->knobs[0].def.d == 0.5 && sa->knobs[1].def.i == 10);
	step = 42;
	time_s = 4.2;
	assert_int_equal(sa->step_count(d), 42);
	assert_true(sa->time(d) == 4.2);
	char err[128];
	assert_int_equal(sa->set(d, 0, (sa_value){ .d = 0.25 }, err, sizeof err), 0);
	assert_true(alpha == 0.25);
	assert_int_equal(sa->set(d, 1, (sa_value){ .i = 99 }, err, sizeof err), 0);
	assert_int_equal(every, 99);
	assert_int_equal(sa->get(d, 1).i, 99);
	level = 3.5;
	double out[4] = { 0 };
	assert_int_equal(sa->read_scalars(d, out, 1), 0);
	assert_true(out[0] == 3.5);
	assert_int_equal(sa->diag_len(d, 2), 3); /* u: n_in_use of 4 */
	n_in_use = 9;                            /* more than the room: clamped */
	assert_int_equal(sa->diag_len(d, 2), 4);
	n_in_use = -1;
	assert_int_equal(sa->diag_len(d, 2), 0);
	n_in_use = 3;
	assert_int_equal(sa->diag_read(d, 2, out, 2), 2);
	assert_true(out[0] == 1 && out[1] == 2);
	alpha = 0.5;
	every = 10;
	steerd_desc_destroy(&d);
}

/* A state saved to and read from a real HDF5 file's group. */
static hid_t new_file(char *path, size_t len)
{
	snprintf(path, len, "/tmp/test_bind_%d.h5", (int)getpid());
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	assert_true(f >= 0);
	return f;
}

static void save_and_restore_in_place(void **state)
{
	(void)state;
	steerd_desc *d = complete();
	assert_int_equal(steerd_desc_state_f64(d, "u", u, 4, &n_in_use), 0);
	assert_int_equal(steerd_desc_state_i64(d, "seeds", seeds, 2, NULL), 0);
	const sa_adapter *sa = steerd_desc_adapter(d);
	assert_non_null(sa->save);
	step = 5;
	time_s = 0.5;
	alpha = 0.75;
	char path[64], err[256];
	hid_t f = new_file(path, sizeof path);
	hid_t g = H5Gcreate2(f, "state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	h5io_state ctx = { 0 };
	sa_writer w;
	h5io_writer(&w, &ctx);
	ctx.group = g;
	assert_int_equal(sa->save(d, &w, err, sizeof err), 0);
	h5io_state_free(&ctx);

	/* The code moves on; restore puts everything back, bitwise. */
	step = 9;
	time_s = 0.9;
	alpha = 0.1;
	big = 8;
	u[0] = -1;
	seeds[1] = 0;
	sa_reader r;
	h5io_reader(&r, &ctx);
	ctx.group = g;
	if (sa->restore(d, &r, err, sizeof err) < 0)
		fail_msg("restore: %s", err);
	assert_true(step == 5 && time_s == 0.5 && alpha == 0.75 && big == 7);
	assert_true(u[0] == 1 && u[2] == 3 && seeds[1] == 12);

	/* Another length in use now: refused, nothing written. */
	n_in_use = 4;
	u[0] = -1;
	step = 9;
	assert_int_equal(sa->restore(d, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "3 elements saved, the code has 4"));
	assert_true(u[0] == -1 && step == 9);
	n_in_use = 3;

	/* A knob out of bounds in the file (untrusted): refused, nothing written. */
	hid_t kg = h5io_open_group(g, "knobs");
	H5Adelete(kg, "alpha");
	double bad = 7;
	assert_int_equal(h5io_attr_put(kg, "alpha", SA_F64, &bad), 0);
	H5Gclose(kg);
	assert_int_equal(sa->restore(d, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "alpha"));
	assert_true(u[0] == -1 && step == 9 && alpha == 0.75);

	H5Gclose(g);
	H5Fclose(f);
	unlink(path);
	steerd_desc_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_declarations_are_refused),
		cmocka_unit_test(callbacks_use_the_variables),
		cmocka_unit_test(save_and_restore_in_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
