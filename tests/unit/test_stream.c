/* SPDX-License-Identifier: MIT */
/*
 * test_stream.c — the stream's numbering (PROTOCOL.md, "Sequence numbers"):
 * every message produced is numbered, subscribed or not; each topic, each
 * event name included, has its own gap-free topic_seq; a message lost to a
 * full queue is lost after it was numbered, so subscribers see the gap.
 * A real XPUB socket and a real SUB socket over loopback TCP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "config.h"
#include "stream.h"

#define WAIT_MS 20000 /* bound of every wait: a loaded machine, ASan */

typedef struct fixture {
	void *zctx;
	config *cfg;
	stream *st;
	void *sub;
} fixture;

static int setup(void **state)
{
	static const char text[] = "simulation:\n  adapter: pic1d\n"
	                           "endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
	                           "diagnostics:\n  send_hwm: 100000\n  heartbeat_ms: 60000\n";
	fixture *f = calloc(1, sizeof *f);
	char err[512];
	f->zctx = zmq_ctx_new();
	if (config_parse("test.yaml", text, strlen(text), &f->cfg, err, sizeof err) < 0)
		fail_msg("config: %s", err);
	f->st = stream_new(f->zctx, f->cfg, f->cfg->adapter->sa, NULL, err, sizeof err);
	if (!f->st)
		fail_msg("stream: %s", err);
	f->sub = zmq_socket(f->zctx, ZMQ_SUB);
	int zero = 0;
	zmq_setsockopt(f->sub, ZMQ_RCVHWM, &zero, sizeof zero);
	zmq_setsockopt(f->sub, ZMQ_LINGER, &zero, sizeof zero);
	assert_int_equal(zmq_connect(f->sub, stream_endpoint(f->st)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	zmq_close(f->sub);
	stream_destroy(&f->st);
	config_destroy(&f->cfg);
	zmq_ctx_term(f->zctx);
	free(f);
	return 0;
}

/* The next message's topic and header (NULL after WAIT_MS). */
static json_t *next(fixture *f, char *topic, size_t len)
{
	zmq_pollitem_t item = { .socket = f->sub, .events = ZMQ_POLLIN };
	if (zmq_poll(&item, 1, WAIT_MS) <= 0)
		return NULL;
	int n = zmq_recv(f->sub, topic, len - 1, 0);
	assert_true(n >= 0);
	topic[n < (int)len - 1 ? n : (int)len - 1] = '\0';
	zmq_msg_t m;
	zmq_msg_init(&m);
	assert_true(zmq_msg_recv(&m, f->sub, 0) >= 0);
	json_t *h = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, NULL);
	int more = zmq_msg_more(&m);
	zmq_msg_close(&m);
	while (more) { /* data frames */
		zmq_msg_init(&m);
		zmq_msg_recv(&m, f->sub, 0);
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
	}
	assert_non_null(h);
	return h;
}

static uint64_t num(const json_t *h, const char *key)
{
	json_t *v = json_object_get(h, key);
	assert_true(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

/* Subscribe to prefix and publish "sync" events until one arrives: the subscription is live. */
static void subscribe(fixture *f, const char *prefix)
{
	zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, prefix, strlen(prefix));
	zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "event.sync", 10);
	zmq_pollitem_t item = { .socket = f->sub, .events = ZMQ_POLLIN };
	for (int i = 0; i < WAIT_MS / 10; i++) {
		stream_publish_event(f->st, "sync", 0, 0.0, NULL);
		if (zmq_poll(&item, 1, 10) > 0)
			break;
	}
	char topic[64];
	json_t *h;
	while (zmq_poll(&item, 1, 100) > 0 && (h = next(f, topic, sizeof topic)))
		json_decref(h); /* the sync events */
	zmq_setsockopt(f->sub, ZMQ_UNSUBSCRIBE, "event.sync", 10);
}

static void each_event_name_is_a_topic(void **state)
{
	fixture *f = *state;
	/* Produced before anyone subscribed: numbered all the same. */
	stream_publish_event(f->st, "knob_changed", 1, 0.0, NULL);
	stream_publish_event(f->st, "paused", 1, 0.0, NULL);
	subscribe(f, "event.knob_changed");
	uint64_t before = stream_seq(f->st);
	for (int i = 0; i < 5; i++) {
		stream_publish_event(f->st, "paused", 2, 0.0, NULL);
		stream_publish_event(f->st, "knob_changed", 2, 0.0, json_pack("{s:i}", "i", i));
	}
	char topic[64];
	uint64_t prev = 0;
	for (int i = 0; i < 5; i++) {
		json_t *h = next(f, topic, sizeof topic);
		assert_non_null(h);
		assert_string_equal(topic, "event.knob_changed");
		/* the other event names do not count: no gap for a subscriber that filters */
		assert_int_equal(num(h, "topic_seq"), 2 + i);
		assert_int_equal(num(h, "seq"), before + 2 * (uint64_t)i + 2);
		assert_int_equal(num(h, "prev_seq"), i == 0 ? 1 : prev);
		assert_int_equal(num(h, "i"), i);
		prev = num(h, "seq");
		json_decref(h);
	}
}

static void a_full_queue_shows_as_a_gap(void **state)
{
	fixture *f = *state;
	subscribe(f, "event.flood");
	zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "event.end", 9);
	enum { N = 10000 }; /* more than the queue holds (4096) */
	stream_hold_publisher(f->st, true);
	for (int i = 0; i < N; i++)
		stream_publish_event(f->st, "flood", (uint64_t)i, 0.0, NULL);
	stream_hold_publisher(f->st, false);
	char topic[64];
	uint64_t got = 0, prev_topic = 0, prev_seq = 0, gaps = 0;
	zmq_pollitem_t item = { .socket = f->sub, .events = ZMQ_POLLIN };
	for (int tries = 0;; tries++) {
		/* "end" once the queue has room again: everything before it has been sent */
		assert_true(tries < WAIT_MS);
		if (zmq_poll(&item, 1, got == 0 ? 1 : 0) == 0) {
			stream_publish_event(f->st, "end", N, 0.0, NULL);
			continue;
		}
		json_t *h = next(f, topic, sizeof topic);
		assert_non_null(h);
		if (strcmp(topic, "event.end") == 0) {
			json_decref(h);
			if (got > 0)
				break;
			continue;
		}
		assert_string_equal(topic, "event.flood");
		uint64_t ts = num(h, "topic_seq"), sq = num(h, "seq");
		if (got > 0) {
			assert_true(ts > prev_topic);
			if (ts != prev_topic + 1)
				gaps++;
			/* prev_seq: the seq of the topic's previous message, received or lost */
			assert_int_equal(num(h, "prev_seq"), ts != prev_topic + 1 ? sq - 1 : prev_seq);
		}
		prev_topic = ts;
		prev_seq = sq;
		got++;
		json_decref(h);
	}
	assert_true(got >= 4096 && got < N); /* the queue's worth, not all */
	assert_int_equal(gaps, 0);            /* the loss is at the end: */
	assert_true(prev_topic < N);
	/* the next one that gets through shows it as a gap */
	zmq_setsockopt(f->sub, ZMQ_UNSUBSCRIBE, "event.end", 9);
	stream_publish_event(f->st, "flood", N, 0.0, NULL);
	json_t *h = next(f, topic, sizeof topic);
	assert_non_null(h);
	assert_string_equal(topic, "event.flood");
	assert_int_equal(num(h, "topic_seq"), N + 1);
	assert_true(num(h, "prev_seq") > prev_seq);
	json_decref(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(each_event_name_is_a_topic, setup, teardown),
		cmocka_unit_test_setup_teardown(a_full_queue_shows_as_a_gap, setup, teardown),
	};
	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
