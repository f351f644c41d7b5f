/* SPDX-License-Identifier: GPL-3.0-or-later */
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
	}
	dedup_finish(d, "c", "k0", true, NULL); /* forgotten meanwhile: ignored */
	assert_int_equal(dedup_begin(d, "c", "k0", "step {}", &ok, &body), DEDUP_NEW);
	assert_int_equal(dedup_begin(d, "c", "k5", "step {}", &ok, &body), DEDUP_IN_FLIGHT);
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
		cmocka_unit_test(a_key_reused_for_another_request_is_told),
	};
	return cmocka_run_group_tests_name("dedup", tests, NULL, NULL);
}
