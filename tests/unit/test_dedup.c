/* SPDX-License-Identifier: MIT */
/* test_dedup.c — replies remembered by retry key: first reply returned, bounded, per client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "dedup.h"

static void repeat_gets_the_first_reply(void **state)
{
	(void)state;
	dedup *d = dedup_new(16);
	assert_non_null(d);
	bool ok = false;
	json_t *body = NULL;
	assert_int_equal(dedup_begin(d, "alice", "k1", "set {}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "alice", "k1", "set {}", &ok, &body), DEDUP_IN_FLIGHT);
	json_t *reply = json_pack("{s:I, s:{s:f}, s:s}", "step", (json_int_t)42, "applied",
	                          "injected_current", 1234.5, "note", "caf\xc3\xa9");
	dedup_finish(d, "alice", "k1", true, reply);
	assert_int_equal(dedup_begin(d, "alice", "k1", "set {}", &ok, &body), DEDUP_DONE);
	assert_true(ok);
	assert_true(json_equal(body, reply));
	json_decref(body);
	/* the same key from another client is another write */
	assert_int_equal(dedup_begin(d, "bob", "k1", "set {}", &ok, &body), DEDUP_NEW);
	/* an error reply is not kept: the same key is a new write again */
	dedup_finish(d, "bob", "k1", false, NULL);
	assert_int_equal(dedup_begin(d, "bob", "k1", "set {}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "bob", "k1", "set {}", &ok, &body), DEDUP_IN_FLIGHT);
	json_decref(reply);
	dedup_destroy(&d);
	assert_null(d);
}

static void oldest_keys_are_forgotten(void **state)
{
	(void)state;
	dedup *d = dedup_new(4);
	bool ok;
	json_t *body;
	char key[16];
	for (int i = 0; i < 6; i++) {
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(dedup_begin(d, "c", key, "step {}", &ok, &body), DEDUP_NEW);
		dedup_finish(d, "c", key, true, NULL);
	}
	assert_int_equal(dedup_begin(d, "c", "k0", "step {}", &ok, &body), DEDUP_NEW); /* forgotten */
	assert_int_equal(dedup_begin(d, "c", "k5", "step {}", &ok, &body), DEDUP_DONE);
	json_decref(body);
	dedup_destroy(&d);
}

/* A key in flight is never evicted: a repeat would be applied twice. */
static void keys_in_flight_are_kept(void **state)
{
	(void)state;
	dedup *d = dedup_new(4);
	bool ok;
	json_t *body;
	char key[16];
	assert_int_equal(dedup_begin(d, "c", "slow", "step {}", &ok, &body), DEDUP_NEW);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(dedup_begin(d, "c", key, "step {}", &ok, &body), DEDUP_NEW);
		dedup_finish(d, "c", key, true, NULL);
		assert_int_equal(dedup_begin(d, "c", "slow", "step {}", &ok, &body), DEDUP_IN_FLIGHT);
	}
	dedup_finish(d, "c", "slow", true, NULL);
	assert_int_equal(dedup_begin(d, "c", "slow", "step {}", &ok, &body), DEDUP_DONE);
	json_decref(body);
	/* the three newest finished keys are still there */
	assert_int_equal(dedup_begin(d, "c", "k99", "step {}", &ok, &body), DEDUP_DONE);
	json_decref(body);
	dedup_destroy(&d);
}

/* Every key in flight: a new one is refused, none is dropped. */
static void full_of_keys_in_flight(void **state)
{
	(void)state;
	dedup *d = dedup_new(2);
	bool ok;
	json_t *body;
	assert_int_equal(dedup_begin(d, "c", "a", "step {}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "c", "b", "step {}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "c", "c", "step {}", &ok, &body), DEDUP_FULL);
	assert_int_equal(dedup_begin(d, "c", "a", "step {}", &ok, &body), DEDUP_IN_FLIGHT);
	assert_int_equal(dedup_begin(d, "c", "b", "step {}", &ok, &body), DEDUP_IN_FLIGHT);
	dedup_finish(d, "c", "a", false, NULL);
	assert_int_equal(dedup_begin(d, "c", "c", "step {}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "c", "b", "step {}", &ok, &body), DEDUP_IN_FLIGHT);
	dedup_destroy(&d);
}

/* A write never handed on (refused before it was sent) does not stay in flight. */
static void forgotten_key_is_new_again(void **state)
{
	(void)state;
	dedup *d = dedup_new(3);
	bool ok;
	json_t *body;
	assert_int_equal(dedup_begin(d, "c", "x", "step {}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "c", "y", "step {}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "c", "z", "step {}", &ok, &body), DEDUP_NEW);
	dedup_forget(d, "c", "y");
	assert_int_equal(dedup_begin(d, "c", "y", "step {}", &ok, &body), DEDUP_NEW);
	dedup_forget(d, "c", "x");
	dedup_forget(d, "c", "nope");
	assert_int_equal(dedup_begin(d, "c", "z", "step {}", &ok, &body), DEDUP_IN_FLIGHT);
	assert_int_equal(dedup_begin(d, "c", "x", "step {}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "c", "w", "step {}", &ok, &body), DEDUP_FULL);
	dedup_finish(d, "c", "z", true, NULL);
	assert_int_equal(dedup_begin(d, "c", "w", "step {}", &ok, &body), DEDUP_NEW); /* z made room */
	assert_int_equal(dedup_begin(d, "c", "y", "step {}", &ok, &body), DEDUP_IN_FLIGHT);
	assert_int_equal(dedup_begin(d, "c", "x", "step {}", &ok, &body), DEDUP_IN_FLIGHT);
	dedup_destroy(&d);
}

static void a_key_reused_for_another_request_is_told(void **state)
{
	(void)state;
	dedup *d = dedup_new(4);
	bool ok;
	json_t *body = NULL;
	assert_int_equal(dedup_begin(d, "c", "k", "set {\"values\":{\"a\":1}}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "c", "k", "set {\"values\":{\"a\":2}}", &ok, &body), DEDUP_OTHER);
	dedup_finish(d, "c", "k", true, NULL);
	assert_int_equal(dedup_begin(d, "c", "k", "pause {}", &ok, &body), DEDUP_OTHER);
	assert_int_equal(dedup_begin(d, "c", "k", "set {\"values\":{\"a\":1}}", &ok, &body), DEDUP_DONE);
	assert_true(ok);
	json_decref(body);
	dedup_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(repeat_gets_the_first_reply),
		cmocka_unit_test(oldest_keys_are_forgotten),
		cmocka_unit_test(keys_in_flight_are_kept),
		cmocka_unit_test(full_of_keys_in_flight),
		cmocka_unit_test(forgotten_key_is_new_again),
		cmocka_unit_test(a_key_reused_for_another_request_is_told),
	};
	return cmocka_run_group_tests_name("dedup", tests, NULL, NULL);
}
