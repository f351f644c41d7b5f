/* SPDX-License-Identifier: MIT */
/*
 * test_run_destroy.c — run_destroy with a search under way: the search ends
 * first (it goes back to its last good state, in the simulation), then the
 * simulation is freed, and the search's request is answered shutting_down.
 * Under ASan the old order (simulation freed first) is a use after free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "cmd.h"
#include "config.h"
#include "mirror.h"
#include "run.h"
#include "stream.h"

static void destroy_during_search(void **state)
{
	(void)state;
	static const char text[] = "simulation:\n  adapter: pic1d\n"
	                           "endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n";
	char err[512];
	config *cfg = NULL;
	if (config_parse("test.yaml", text, strlen(text), &cfg, err, sizeof err) < 0)
		fail_msg("config: %s", err);
	const sa_adapter *sa = cfg->adapter->sa;
	void *zctx = zmq_ctx_new();
	stream *st = stream_new(zctx, cfg, sa, NULL, err, sizeof err);
	assert_non_null(st);
	size_t n_scalars = 0;
	for (size_t d = 0; d < sa->n_diags; d++)
		n_scalars += sa->diags[d].rank == 0;
	mirror *m = mirror_new(sa->n_knobs, n_scalars);
	void *ours = zmq_socket(zctx, ZMQ_PAIR), *theirs = zmq_socket(zctx, ZMQ_PAIR);
	assert_int_equal(zmq_bind(ours, "inproc://test-run-destroy"), 0);
	assert_int_equal(zmq_connect(theirs, "inproc://test-run-destroy"), 0);
	run *r = run_new(cfg, st, m, theirs, NULL, true, err, sizeof err);
	assert_non_null(r);

	/* A search, as the control thread makes it and the simulation thread starts it. */
	mirror_state ms;
	assert_int_equal(mirror_state_init(m, &ms), 0);
	mirror_get(m, &ms);
	cmd_ctx ctx = { .cfg = cfg, .sa = sa, .state = &ms, .client = "tester" };
	json_t *body = json_pack("{s:s, s:f, s:f, s:s, s:i}", "knob", "injected_current", "from", 10.0,
	                         "to", 20.0, "until", "virtual_cathode", "hold", 1000);
	assert_int_equal(cmd_search_entry.exec(&ctx, body), 0);
	json_decref(body);
	change *ch = ctx.change;
	assert_non_null(ch);
	snprintf(ch->req.client, sizeof ch->req.client, "tester");
	ch->apply(r, ch);
	assert_true(ch->deferred); /* under way: answered when it ends */
	assert_true(run_busy(r, &(change){ 0 })); /* a search holds the run */

	run_destroy(&r);
	assert_null(r);
	change *answered = NULL;
	assert_int_equal(zmq_recv(ours, &answered, sizeof answered, ZMQ_DONTWAIT), (int)sizeof answered);
	assert_ptr_equal(answered, ch);
	assert_string_equal(answered->err_code, E_SHUTTING_DOWN);
	change_destroy(&answered);

	mirror_state_free(&ms);
	zmq_close(ours);
	zmq_close(theirs);
	mirror_destroy(&m);
	stream_destroy(&st);
	zmq_ctx_term(zctx);
	config_destroy(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(destroy_during_search),
	};
	return cmocka_run_group_tests_name("run_destroy", tests, NULL, NULL);
}
