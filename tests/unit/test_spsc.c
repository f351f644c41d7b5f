/* SPDX-License-Identifier: MIT */
/* test_spsc.c — the queue between the simulation and publisher threads: order, bounds, two threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "spsc.h"

typedef struct msg {
	uint64_t n;
	double payload[3];
} msg;

static void first_in_first_out(void **state)
{
	(void)state;
	spsc *q = spsc_new(8, sizeof(msg));
	assert_non_null(q);
	assert_true(spsc_empty(q));
	assert_null(spsc_pop_slot(q));
	for (uint64_t round = 0; round < 5; round++) { /* wraps around the slots several times */
		for (uint64_t i = 0; i < 6; i++) {
			msg *m = spsc_push_slot(q);
			assert_non_null(m);
			m->n = round * 100 + i;
			spsc_push_done(q);
		}
		assert_false(spsc_empty(q));
		for (uint64_t i = 0; i < 6; i++) {
			msg *m = spsc_pop_slot(q);
			assert_non_null(m);
			assert_int_equal(m->n, round * 100 + i);
			spsc_pop_done(q);
		}
		assert_true(spsc_empty(q));
	}
	spsc_destroy(&q);
	assert_null(q);
}

static void full_queue_refuses_and_recovers(void **state)
{
	(void)state;
	spsc *q = spsc_new(5, sizeof(msg)); /* rounded up to 8 */
	assert_non_null(q);
	for (int i = 0; i < 8; i++) {
		assert_non_null(spsc_push_slot(q));
		spsc_push_done(q);
	}
	assert_null(spsc_push_slot(q)); /* full: the producer is told, never blocked */
	assert_non_null(spsc_pop_slot(q));
	spsc_pop_done(q);
	assert_non_null(spsc_push_slot(q)); /* one slot free again */
	spsc_destroy(&q);
	spsc_destroy(&q); /* NULL-safe */
}

enum { N_MESSAGES = 2000000 };

static void *consume(void *arg)
{
	spsc *q = arg;
	uint64_t expect = 0;
	while (expect < N_MESSAGES) {
		msg *m = spsc_pop_slot(q);
		if (!m)
			continue;
		/* every byte the producer wrote before push_done is visible */
		if (m->n != expect || m->payload[0] != (double)expect || m->payload[2] != -(double)expect)
			return (void *)1;
		spsc_pop_done(q);
		expect++;
	}
	return NULL;
}

static void two_threads_see_every_message_in_order(void **state)
{
	(void)state;
	spsc *q = spsc_new(64, sizeof(msg));
	assert_non_null(q);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, consume, q), 0);
	for (uint64_t i = 0; i < N_MESSAGES;) {
		msg *m = spsc_push_slot(q);
		if (!m)
			continue; /* full: the consumer catches up */
		m->n = i;
		m->payload[0] = (double)i;
		m->payload[1] = 0.5;
		m->payload[2] = -(double)i;
		spsc_push_done(q);
		i++;
	}
	void *bad = (void *)1;
	pthread_join(t, &bad);
	assert_null(bad);
	assert_true(spsc_empty(q));
	spsc_destroy(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_in_first_out),
		cmocka_unit_test(full_queue_refuses_and_recovers),
		cmocka_unit_test(two_threads_see_every_message_in_order),
	};
	return cmocka_run_group_tests_name("spsc", tests, NULL, NULL);
}
