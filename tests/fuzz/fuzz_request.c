/* SPDX-License-Identifier: MIT */
/*
 * fuzz_request.c — libFuzzer harness for the control channel's request
 * decoder and the commands' exec half.
 *
 * The input is one multipart message: its frames are separated by the four
 * bytes "\n--\n" (the separator cannot occur in valid JSON, and seeds stay
 * readable). A DEALER sends the frames to a ROUTER over inproc, exactly as a
 * client would; wire_recv() decodes them, and then the request is served the
 * way control.c's serve_request does: cmd_find, cmd_check_keys, exec against a
 * mirror of the pic1d adapter (once as running, once as paused), then a reply
 * through the ROUTER, which the DEALER must receive, well-formed, with the
 * request's id and, for an error, the error's code and message. A change is
 * never applied (there is no simulation thread): it is answered and
 * destroyed as when the run is shutting down.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cmd.h"
#include "config.h"
#include "fuzz_common.h"
#include "mirror.h"
#include "pic1d/pic1d.h"
#include "wire.h"

#define SEP "\n--\n"
#define SEP_LEN 4
#define MAX_FRAMES 64

static const char harness_yaml[] =
	"simulation:\n"
	"  adapter: pic1d\n"
	"limits:\n"
	"  max_message_bytes: 1024\n"; /* the smallest allowed: too_large is reachable */

static void *zctx, *router, *dealer;
static config *cfg;
static mirror_state states[2]; /* running with a ramp, paused */
static int verbose;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_request: %s: %s\n", what, zmq_strerror(zmq_errno()));
	exit(1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[512];
	verbose = getenv("FUZZ_VERBOSE") != NULL; /* say what each input gave */
	if (config_parse("fuzz_request.yaml", harness_yaml, sizeof harness_yaml - 1, &cfg, err,
	                 sizeof err) != 0) {
		fprintf(stderr, "fuzz_request: %s\n", err);
		exit(1);
	}
	const sa_adapter *sa = cfg->adapter->sa;
	size_t n_scalars = 0;
	for (size_t d = 0; d < sa->n_diags; d++)
		n_scalars += sa->diags[d].rank == 0;
	mirror *m = mirror_new(sa->n_knobs, n_scalars);
	if (!m)
		exit(1);
	for (int i = 0; i < 2; i++) {
		mirror_state *st = &states[i];
		if (mirror_state_init(m, st) < 0)
			exit(1);
		memcpy(st->knobs, cfg->knobs, sa->n_knobs * sizeof *st->knobs);
		for (size_t s = 0; s < n_scalars; s++)
			st->scalars[s] = s == 1 ? NAN : (double)s * 0.5; /* a NaN among them */
		st->step = 1234;
		st->time = 1234 * 2e-12;
		st->seq = 99;
		st->steps_per_second = 1e4;
	}
	mirror_destroy(&m);
	states[0].state = RUN_RUNNING;
	int k = adapter_knob_index(sa, "injected_current");
	if (k < 0)
		exit(1);
	states[0].ramps[0] = (ramp){ .id = 1, .knob = (size_t)k, .from = 1000, .to = 3000,
	                             .start_step = 1000, .steps = 500, .client = "fuzz" };
	states[0].n_ramps = 1;
	states[1].state = RUN_PAUSED;
	states[1].steps_left = 7;

	zctx = zmq_ctx_new();
	if (!zctx)
		die("zmq_ctx_new");
	router = zmq_socket(zctx, ZMQ_ROUTER);
	dealer = zmq_socket(zctx, ZMQ_DEALER);
	int zero = 0;
	if (!router || !dealer || zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero) ||
	    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero) ||
	    zmq_bind(router, "inproc://fuzz-request") || zmq_connect(dealer, "inproc://fuzz-request"))
		die("inproc sockets");
	return 0;
}

/*
 * Receive the reply on the DEALER and check it: [prefix frames the client
 * sent before its empty delimiter, if any][header][body], the header
 * {protocol, id, cmd, ok} echoing the request's id, the body an object, with
 * {"error": {"code", "message"}} when ok is false. False when none came.
 */
static bool check_reply(const json_t *want_id, size_t n_prefix)
{
	zmq_pollitem_t it = { .socket = dealer, .events = ZMQ_POLLIN };
	if (zmq_poll(&it, 1, 2000) <= 0)
		return false;
	zmq_msg_t m[MAX_FRAMES + 2];
	size_t n = 0;
	int more = 1;
	while (more) {
		zmq_msg_t f;
		zmq_msg_init(&f);
		FUZZ_CHECK(zmq_msg_recv(&f, dealer, 0) >= 0);
		more = zmq_msg_more(&f);
		if (n < sizeof m / sizeof m[0])
			m[n++] = f;
		else
			zmq_msg_close(&f);
	}
	/* The routing id is not echoed to the DEALER: the rest of the prefix is. */
	FUZZ_CHECK(n == n_prefix - 1 + 2);
	json_error_t jerr;
	json_t *h = json_loadb(zmq_msg_data(&m[n - 2]), zmq_msg_size(&m[n - 2]), 0, &jerr);
	json_t *b = json_loadb(zmq_msg_data(&m[n - 1]), zmq_msg_size(&m[n - 1]), 0, &jerr);
	FUZZ_CHECK(json_is_object(h) && json_is_object(b));
	FUZZ_CHECK(json_integer_value(json_object_get(h, "protocol")) == WIRE_PROTOCOL);
	FUZZ_CHECK(json_equal(json_object_get(h, "id"), (json_t *)want_id));
	json_t *ok = json_object_get(h, "ok");
	FUZZ_CHECK(json_is_boolean(ok));
	if (!json_is_true(ok)) {
		json_t *e = json_object_get(b, "error");
		if (verbose && !json_is_object(e))
			fprintf(stderr, "error reply without an error: %.*s\n",
			        (int)zmq_msg_size(&m[n - 1]), (const char *)zmq_msg_data(&m[n - 1]));
		FUZZ_CHECK(json_is_object(e)); /* an error reply says which error */
		FUZZ_CHECK(json_is_string(json_object_get(e, "code")));
		FUZZ_CHECK(json_is_string(json_object_get(e, "message")));
	}
	json_decref(h);
	json_decref(b);
	for (size_t i = 0; i < n; i++)
		zmq_msg_close(&m[i]);
	return true;
}

/* serve_request of control.c, without the simulation thread. */
static void serve(wire_request *req)
{
	if (verbose)
		fprintf(stderr, "request: cmd '%s' client '%s': %s %s\n", req->cmd, req->client,
		        req->err_code ? req->err_code : "ok", req->err_msg);
	if (req->err_code) {
		wire_reply_error(router, req, req->err_code, req->err_msg);
		return;
	}
	const cmd_entry *cmd = cmd_find(req->cmd);
	if (!cmd) {
		char msg[160];
		snprintf(msg, sizeof msg, "unknown command '%.63s' (try hello)", req->cmd);
		wire_reply_error(router, req, E_UNKNOWN_COMMAND, msg);
		return;
	}
	static const char *const no_args[] = { NULL };
	for (int i = 1; i >= 0; i--) { /* paused, then running */
		cmd_ctx ctx = { .cfg = cfg, .sa = cfg->adapter->sa, .state = &states[i],
		                .stream_endpoint = "tcp://127.0.0.1:5556", .client = req->client };
		int rc = cmd_check_keys(&ctx, req->body, cmd->args ? cmd->args : no_args);
		if (rc == 0)
			rc = cmd->exec(&ctx, req->body);
		if (verbose)
			fprintf(stderr, "  %s: %s %s\n", i ? "paused" : "running",
			        rc < 0 ? ctx.err_code : ctx.change ? "change" : "result",
			        rc < 0 ? ctx.err_msg : "");
		if (rc < 0) {
			FUZZ_CHECK(ctx.err_code && ctx.err_msg[0]);
			FUZZ_CHECK(!ctx.result && !ctx.change);
		} else {
			FUZZ_CHECK(!ctx.err_code);
			FUZZ_CHECK(!!ctx.result != !!ctx.change); /* a read's answer or a write's change */
			FUZZ_CHECK(!ctx.change || cmd->changes);
		}
		if (i == 0) {
			/* The last pass is answered the way the daemon answers it. */
			if (rc < 0) {
				wire_reply_error(router, req, ctx.err_code ? ctx.err_code : E_INTERNAL,
				                 ctx.err_msg);
			} else if (ctx.change) {
				change *ch = ctx.change;
				ch->req = *req;
				memset(req, 0, sizeof *req);
				wire_reply_error(router, &ch->req, E_SHUTTING_DOWN, "the run is shutting down");
				change_destroy(&ch);
			} else {
				char *text = json_dumps(ctx.result, JSON_COMPACT);
				FUZZ_CHECK(text); /* every reply body can be sent */
				free(text);
				wire_reply(router, req, true, ctx.result);
			}
		} else {
			json_decref(ctx.result);
			change_destroy(&ctx.change);
		}
	}
}

static void one_input(const uint8_t *data, size_t size)
{
	/* Split into frames. */
	const uint8_t *start[MAX_FRAMES];
	size_t len[MAX_FRAMES], n = 0;
	const uint8_t *p = data, *end = data + size;
	for (;;) {
		const uint8_t *sep = NULL;
		if (n + 1 < MAX_FRAMES)
			sep = memmem(p, (size_t)(end - p), SEP, SEP_LEN);
		start[n] = p;
		len[n] = sep ? (size_t)(sep - p) : (size_t)(end - p);
		n++;
		if (!sep)
			break;
		p = sep + SEP_LEN;
	}
	for (size_t i = 0; i < n; i++)
		if (zmq_send(dealer, start[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
			die("zmq_send");

	zmq_pollitem_t it = { .socket = router, .events = ZMQ_POLLIN };
	if (zmq_poll(&it, 1, 2000) != 1)
		die("the request did not arrive");
	wire_request req;
	FUZZ_CHECK(wire_recv(router, &req, cfg->max_message_bytes) == 0);
	FUZZ_CHECK(req.n_prefix >= 1); /* at least the DEALER's routing id, to answer it */
	FUZZ_CHECK(req.id && req.body && json_is_object(req.body));
	FUZZ_CHECK(memchr(req.client, '\0', sizeof req.client));
	FUZZ_CHECK(memchr(req.cmd, '\0', sizeof req.cmd));
	json_t *id = json_incref(req.id);
	size_t n_prefix = req.n_prefix;
	serve(&req);
	FUZZ_CHECK(req.n_prefix == 0 && !req.id && !req.body); /* released */
	FUZZ_CHECK(check_reply(id, n_prefix)); /* every request is answered, once */
	json_decref(id);

	/* Nothing else is left queued on either side. */
	FUZZ_CHECK(zmq_poll(&it, 1, 0) == 0);
	it.socket = dealer;
	FUZZ_CHECK(zmq_poll(&it, 1, 0) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/*
	 * libFuzzer's SIGALRM (its -timeout check) would interrupt ZeroMQ's
	 * system calls here (EINTR) and cut messages short, which the daemon
	 * never sees: its control thread blocks every signal. Held off while an
	 * input runs, it comes when the input is done. Nothing here can hang:
	 * every wait is bounded (run.sh bounds the whole run too).
	 */
	sigset_t alrm, old;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	one_input(data, size);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}
