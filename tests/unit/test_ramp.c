/* SPDX-License-Identifier: MIT */
/* test_ramp.c — linear ramps: values at boundaries, exact target, rates, integers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "ramp.h"

static const sa_knob dknob = { .name = "v", .type = SA_DOUBLE, .unit = "V", .min = -1e9, .max = 1e9 };
static const sa_knob iknob = { .name = "n", .type = SA_INT, .unit = "", .min = 0, .max = 100 };

static void values_follow_the_line_and_end_exactly(void **state)
{
	(void)state;
	ramp r = { .id = 1, .from = 0.1, .to = 0.7, .start_step = 100, .steps = 3 };
	assert_true(ramp_value_at(&r, &dknob, 100).d == 0.1);
	assert_true(fabs(ramp_value_at(&r, &dknob, 101).d - 0.3) < 1e-15);
	assert_true(fabs(ramp_value_at(&r, &dknob, 102).d - 0.5) < 1e-15);
	/* Exactly the target, not 0.1 + 0.6 * 1 (which rounds to 0.7000000000000001). */
	double end = ramp_value_at(&r, &dknob, 103).d;
	assert_memory_equal(&end, &r.to, sizeof end);
	assert_false(ramp_done_at(&r, 102));
	assert_true(ramp_done_at(&r, 103));
	assert_true(ramp_value_at(&r, &dknob, 500).d == 0.7);
	assert_true(ramp_progress(&r, 99) == 0.0);
	assert_true(ramp_progress(&r, 103) == 1.0);
}

static void rate_gives_ceiling_of_steps(void **state)
{
	(void)state;
	assert_int_equal(ramp_steps_for_rate(0, 10, 3), 4);
	assert_int_equal(ramp_steps_for_rate(10, 0, 5), 2);
	assert_int_equal(ramp_steps_for_rate(5, 5, 1), 1);                     /* nothing to do: one step */
	assert_int_equal(ramp_steps_for_rate(0, 1e300, 1e-300), RAMP_MAX_STEPS); /* capped */
}

static void integer_knobs_round_to_nearest(void **state)
{
	(void)state;
	ramp r = { .id = 2, .from = 0, .to = 10, .start_step = 0, .steps = 4 };
	assert_int_equal(ramp_value_at(&r, &iknob, 1).i, 3); /* 2.5 rounds away from zero */
	assert_int_equal(ramp_value_at(&r, &iknob, 3).i, 8); /* 7.5 */
	assert_int_equal(ramp_value_at(&r, &iknob, 4).i, 10);
}

static void json_has_every_field(void **state)
{
	(void)state;
	ramp r = { .id = 3, .from = 1, .to = 2, .start_step = 10, .steps = 10 };
	strcpy(r.client, "alice");
	json_t *j = ramp_to_json(&r, &dknob, 15);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "end_step")), 20);
	assert_true(json_real_value(json_object_get(j, "progress")) == 0.5);
	assert_string_equal(json_string_value(json_object_get(j, "client")), "alice");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_follow_the_line_and_end_exactly),
		cmocka_unit_test(rate_gives_ceiling_of_steps),
		cmocka_unit_test(integer_knobs_round_to_nearest),
		cmocka_unit_test(json_has_every_field),
	};
	return cmocka_run_group_tests_name("ramp", tests, NULL, NULL);
}
