/* SPDX-License-Identifier: MIT */
/*
 * test_embed_api.c — bad input to libsteerd's embedding API (steerd.h), with
 * real sockets and real threads: steerd_boundary from a second thread, after
 * close, malformed descriptors, a descriptor without state, a wrong options
 * size, a second steerd_open in the process. Each gets an error code and a
 * message (the return value, err and steerd_last_error), never a crash, and
 * a run that was going goes on unharmed (a client asks it over ZeroMQ).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "steerd.h"

#define assert_contains(hay, needle)                                                  \
	do {                                                                          \
		if (!strstr((hay), (needle)))                                         \
			fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
	} while (0)

/* ---- the embedded code: a counter with its own loop -------------------- */

typedef struct code {
	uint64_t step;
	double x, rate;
} code;

static const sa_knob knobs[] = {
	{ "rate", SA_DOUBLE, "1/s", 0.0, 10.0, { .d = 1.0 }, "growth per step", 1, NULL },
	{ "mode", SA_INT, "", 0, 3, { .i = 0 }, "a fixed knob", 0, NULL },
};
static const sa_diag diags[] = {
	{ "x", "", "the counter", 0, NULL },
};

static uint64_t c_step_count(const void *sim) { return ((const code *)sim)->step; }
static double c_time(const void *sim) { return (double)((const code *)sim)->step; }
static sa_value c_get(const void *sim, size_t k)
{
	return k == 0 ? (sa_value){ .d = ((const code *)sim)->rate } : (sa_value){ .i = 0 };
}
static int c_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (k == 0)
		((code *)sim)->rate = v.d;
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
	out[0] = ((const code *)sim)->x;
	return 1;
}
static int c_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	(void)sim;
	(void)w;
	(void)err;
	(void)errlen;
	return 0;
}

static void code_step(code *c)
{
	c->step++;
	c->x += c->rate;
}

/* A valid embedded descriptor; the tests break copies of it. */
static sa_knob bad_knobs[2];
static sa_adapter descriptor(void)
{
	return (sa_adapter){
		SA_ABI_INIT, .name = "counter", .version = "1", .description = "a counter",
		.knobs = knobs, .n_knobs = 2, .diags = diags, .n_diags = 1,
		.step_count = c_step_count, .time = c_time, .get = c_get, .set = c_set,
		.diag_len = c_diag_len, .diag_read = c_diag_read,
	};
}

/* ---- a place for the connection file, a config, a client ---------------- */

static char dir[PATH_MAX - 64], conn_path[PATH_MAX];

static const char *const CONFIG =
	"run:\n  start: running\n"
	"endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n";

static steerd_options options(void)
{
	steerd_options o = STEERD_OPTIONS_INIT;
	o.config_text = CONFIG;
	o.connection_file = conn_path;
	return o;
}

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/steerd-embed-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(conn_path, sizeof conn_path, "%s/conn.json", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(conn_path);
	return rmdir(dir);
}

/* The run's status, asked over the control socket as any client would. */
static json_t *status_over_zmq(void)
{
	json_error_t jerr;
	json_t *conn = json_load_file(conn_path, 0, &jerr);
	assert_non_null(conn);
	const char *ep = json_string_value(json_object_get(conn, "control"));
	assert_non_null(ep);
	void *ctx = zmq_ctx_new();
	void *sock = zmq_socket(ctx, ZMQ_DEALER);
	int linger = 0, timeout_ms = 20000; /* bounded: a hung run fails the test */
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
	assert_int_equal(zmq_connect(sock, ep), 0);
	json_decref(conn);
	static const char header[] = "{\"cmd\":\"status\",\"id\":\"1\",\"client\":\"embed-test\"}";
	zmq_send(sock, "", 0, ZMQ_SNDMORE);
	zmq_send(sock, header, strlen(header), ZMQ_SNDMORE);
	zmq_send(sock, "{}", 2, 0);
	char frames[3][4096];
	int n = 0, more = 1;
	for (; more && n < 3; n++) {
		int len = zmq_recv(sock, frames[n], sizeof frames[n] - 1, 0);
		if (len < 0)
			fail_msg("no reply to status: %s", zmq_strerror(zmq_errno()));
		frames[n][len < (int)sizeof frames[n] - 1 ? len : (int)sizeof frames[n] - 1] = '\0';
		size_t sz = sizeof more;
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
	}
	zmq_close(sock);
	zmq_ctx_term(ctx);
	assert_int_equal(n, 3);
	assert_contains(frames[1], "\"ok\":true");
	json_t *body = json_loads(frames[2], 0, &jerr);
	assert_non_null(body);
	return body;
}

/* ---- a second thread ------------------------------------------------------ */

typedef struct foreign {
	steerd *s;
	steerd **sp;
	int boundary, close_rc;
	char boundary_msg[512], close_msg[512];
} foreign;

static void *call_from_another_thread(void *arg)
{
	foreign *f = arg;
	f->boundary = steerd_boundary(f->s);
	snprintf(f->boundary_msg, sizeof f->boundary_msg, "%s", steerd_last_error());
	steerd_step_failed(f->s, "not mine to say");
	f->close_rc = steerd_close(f->sp);
	snprintf(f->close_msg, sizeof f->close_msg, "%s", steerd_last_error());
	return NULL;
}

static void test_boundary_from_second_thread(void **state)
{
	(void)state;
	code c = { .rate = 1.0 };
	sa_adapter d = descriptor();
	steerd_options o = options();
	char err[512] = "";
	steerd *s = steerd_open(&d, &c, &o, err, sizeof err);
	if (!s)
		fail_msg("steerd_open: %s", err);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(steerd_boundary(s), STEERD_GO);
		code_step(&c);
	}

	foreign f = { .s = s, .sp = &s };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_from_another_thread, &f), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(f.boundary, STEERD_ERROR);
	assert_contains(f.boundary_msg, "steerd_boundary called from another thread");
	assert_int_equal(f.close_rc, -1);
	assert_contains(f.close_msg, "steerd_close called from another thread");
	assert_non_null(s); /* not closed */
	assert_string_equal(steerd_last_error(), ""); /* the errors were that thread's */

	/* The run goes on: the step_failed from the other thread was not taken. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(steerd_boundary(s), STEERD_GO);
		code_step(&c);
	}
	assert_int_equal(steerd_boundary(s), STEERD_GO); /* publishes step 10 */
	json_t *st = status_over_zmq();
	assert_int_equal(json_integer_value(json_object_get(st, "step")), 10);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "running");
	json_decref(st);
	assert_int_equal(c.step, 10);

	assert_int_equal(steerd_close(&s), 0);
	assert_null(s);
	assert_int_equal(access(conn_path, F_OK), -1);
}

static void test_after_close(void **state)
{
	(void)state;
	code c = { .rate = 1.0 };
	sa_adapter d = descriptor();
	steerd_options o = options();
	char err[512] = "";
	steerd *s = steerd_open(&d, &c, &o, err, sizeof err);
	if (!s)
		fail_msg("steerd_open: %s", err);
	assert_int_equal(steerd_boundary(s), STEERD_GO);
	assert_int_equal(steerd_close(&s), 0);
	assert_null(s);

	assert_int_equal(steerd_boundary(s), STEERD_ERROR);
	assert_contains(steerd_last_error(), "steerd_boundary: no steerd");
	assert_int_equal(steerd_run(s), -1);
	assert_contains(steerd_last_error(), "steerd_run: no steerd");
	steerd_step_failed(s, "x"); /* no crash */
	assert_contains(steerd_last_error(), "steerd_step_failed: no steerd");
	assert_int_equal(steerd_close(&s), 0); /* NULL: a no-op */
	assert_int_equal(steerd_close(NULL), 0);
	steerd_request_stop(); /* nothing open: harmless */
}

/* steerd_open must refuse, with `want` in err and in steerd_last_error(). */
static void expect_open_refused(const sa_adapter *d, void *sim, const steerd_options *o,
                                const char *want)
{
	char err[512] = "";
	steerd *s = steerd_open(d, sim, o, err, sizeof err);
	if (s) {
		steerd_close(&s);
		fail_msg("steerd_open accepted what it should refuse (%s)", want);
	}
	assert_contains(err, want);
	assert_string_equal(steerd_last_error(), err);
	assert_int_equal(access(conn_path, F_OK), -1); /* nothing written, nothing left running */
}

static void test_malformed_descriptors(void **state)
{
	(void)state;
	code c = { .rate = 1.0 };
	steerd_options o = options();
	sa_adapter d;

	memcpy(bad_knobs, knobs, sizeof bad_knobs);
	bad_knobs[1].name = "rate";
	d = descriptor();
	d.knobs = bad_knobs;
	expect_open_refused(&d, &c, &o, "knob 'rate' is declared twice");

	memcpy(bad_knobs, knobs, sizeof bad_knobs);
	bad_knobs[0].min = 20.0;
	d = descriptor();
	d.knobs = bad_knobs;
	expect_open_refused(&d, &c, &o, "knob 'rate' has min > max");

	d = descriptor();
	d.get = NULL;
	expect_open_refused(&d, &c, &o, "leaves the required function get NULL");
	d = descriptor();
	d.diag_read = NULL;
	expect_open_refused(&d, &c, &o, "leaves the required function diag_read NULL");

	d = descriptor();
	d.save = c_save;
	expect_open_refused(&d, &c, &o, "gives save without restore (both or neither)");

	d = descriptor();
	d.name = NULL;
	expect_open_refused(&d, &c, &o, "lacks a name");

	d = descriptor();
	d.abi_major = 1;
	expect_open_refused(&d, &c, &o, "ABI 1, steerd speaks ABI 2.1");
	d = descriptor();
	d.size = 16;
	expect_open_refused(&d, &c, &o, "smaller than ABI 2.0");

	/* The config names another adapter than the code's descriptor. */
	steerd_options other = o;
	other.config_text = "simulation:\n  adapter: pic1d\n";
	d = descriptor();
	expect_open_refused(&d, &c, &other, "pic1d");

	/* After all that, a good open works: nothing was left open. */
	d = descriptor();
	char err[512] = "";
	steerd *s = steerd_open(&d, &c, &o, err, sizeof err);
	if (!s)
		fail_msg("steerd_open after refusals: %s", err);
	assert_int_equal(steerd_close(&s), 0);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	code c = { .rate = 1.0 };
	sa_adapter d = descriptor();
	steerd_options o = options();

	expect_open_refused(&d, NULL, &o, "give both the descriptor and the code's state");
	expect_open_refused(NULL, &c, &o, "give both the descriptor and the code's state");

	steerd_options wrong = o;
	wrong.size = 0;
	expect_open_refused(&d, &c, &wrong, "steerd_options.size is 0");
	wrong.size = offsetof(steerd_options, log_level); /* an older, shorter struct */
	expect_open_refused(&d, &c, &wrong, "STEERD_OPTIONS_INIT");

	steerd_options level = o;
	level.log_level = 7;
	expect_open_refused(&d, &c, &level, "log_level 7");

	/* No room for a message: still refused, the message kept for steerd_last_error. */
	assert_null(steerd_open(&d, NULL, &o, NULL, 0));
	assert_contains(steerd_last_error(), "give both");
}

static void test_second_open_refused(void **state)
{
	(void)state;
	code a = { .rate = 1.0 }, b = { .rate = 2.0 };
	sa_adapter d = descriptor();
	steerd_options o = options();
	char err[512] = "";
	steerd *s = steerd_open(&d, &a, &o, err, sizeof err);
	if (!s)
		fail_msg("steerd_open: %s", err);
	assert_int_equal(steerd_boundary(s), STEERD_GO);

	char path2[PATH_MAX];
	snprintf(path2, sizeof path2, "%s/2.json", dir);
	steerd_options o2 = o;
	o2.connection_file = path2;
	steerd *s2 = steerd_open(&d, &b, &o2, err, sizeof err);
	assert_null(s2);
	assert_contains(err, "already open in this process");
	assert_contains(steerd_last_error(), "already open in this process");
	assert_int_equal(access(path2, F_OK), -1);
	/* Hosted too. */
	assert_null(steerd_open(NULL, NULL, &o2, err, sizeof err));
	assert_contains(err, "already open");

	/* The first goes on, then closes; then a new one may open. */
	code_step(&a);
	assert_int_equal(steerd_boundary(s), STEERD_GO);
	assert_int_equal(steerd_run(s), -1); /* embedded: the code steps it */
	assert_contains(steerd_last_error(), "embedded");
	assert_int_equal(steerd_close(&s), 0);
	s2 = steerd_open(&d, &b, &o2, err, sizeof err);
	if (!s2)
		fail_msg("steerd_open after close: %s", err);
	assert_int_equal(steerd_close(&s2), 0);
	assert_int_equal(access(path2, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_boundary_from_second_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_after_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("embed_api", tests, NULL, NULL);
}
