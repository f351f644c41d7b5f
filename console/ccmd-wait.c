/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ccmd-wait.c — `wait steps N [timeout T]`, `wait until EXPR [timeout T]`.
 *
 * The condition is checked on every stream message that can change it (a
 * `scalars` message, a knob event) and, since ramps move knobs without
 * events and scalars may be published rarely or never, also by asking the
 * daemon a few times a second. That poll doubles as the liveness check: a
 * daemon that stopped answering fails the wait after the request timeout.
 */
#include <stdlib.h>
#include <string.h>

#include "ccmd.h"
#include "expr.h"
#include "units.h"

#define POLL_MS 200

typedef struct waiter {
	bool until;
	expr e;
	unsigned long long target; /* steps: the step to reach */
	unsigned long long step;   /* the latest step seen */
	bool done;
} waiter;

static void check(waiter *w)
{
	if (w->until ? expr_eval(&w->e) : w->step >= w->target)
		w->done = true;
}

static void on_stream(console *c, const char *topic, json_t *hdr, const double *data, size_t n,
                      void *arg)
{
	(void)c;
	waiter *w = arg;
	if (w->done)
		return;
	json_t *st = json_object_get(hdr, "step");
	if (json_is_integer(st) && (unsigned long long)json_integer_value(st) > w->step)
		w->step = (unsigned long long)json_integer_value(st);
	if (w->until && !strcmp(topic, "scalars")) {
		size_t i;
		json_t *name;
		json_array_foreach(json_object_get(hdr, "names"), i, name) {
			if (i >= n)
				break;
			json_t *v = json_real(data[i]);
			expr_update(&w->e, json_string_value(name), v);
			json_decref(v);
		}
	} else if (w->until && !strcmp(topic, "event.knob_changed")) {
		expr_update(&w->e, schema_str(hdr, "knob"), json_object_get(hdr, "new"));
	} else if (w->until && !strncmp(topic, "event.ramp_", 11) && json_object_get(hdr, "value")) {
		expr_update(&w->e, schema_str(hdr, "knob"), json_object_get(hdr, "value"));
	}
	check(w);
}

/* Ask the daemon directly: `get` the names, or `status` for the step. */
static int poll_daemon(console *c, waiter *w)
{
	json_t *r;
	if (w->until) {
		if (con_call(c, "get", json_pack("{s:o}", "names", expr_names(&w->e)), &r) < 0)
			return -1;
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(r, "values"), key, v)
			expr_update(&w->e, key, v);
	} else if (con_call(c, "status", NULL, &r) < 0) {
		return -1;
	}
	json_t *st = json_object_get(r, "step");
	if (json_is_integer(st) && (unsigned long long)json_integer_value(st) > w->step)
		w->step = (unsigned long long)json_integer_value(st);
	json_decref(r);
	check(w);
	return 0;
}

static int run_wait(console *c, waiter *w, double timeout_s, const char *what)
{
	int64_t start = con_now_ms();
	int64_t deadline = timeout_s >= 0 ? start + (int64_t)(timeout_s * 1000) : -1;
	int64_t next_poll = start;
	c->hook = on_stream;
	c->hook_arg = w;
	con_subscribe(c, "scalars");
	int rc = 0;
	while (!w->done) {
		int64_t now = con_now_ms();
		if (deadline >= 0 && now >= deadline) {
			char vals[512] = "";
			if (w->until)
				expr_describe(c, &w->e, vals, sizeof vals);
			else
				snprintf(vals, sizeof vals, "at step %llu of %llu", w->step, w->target);
			rc = con_error(c, "wait %s: timed out after %g s (%s)", what, timeout_s, vals);
			break;
		}
		if (now >= next_poll) {
			if (poll_daemon(c, w) < 0) {
				rc = -1;
				break;
			}
			next_poll = con_now_ms() + POLL_MS;
			continue;
		}
		int64_t wake = next_poll;
		if (deadline >= 0 && deadline < wake)
			wake = deadline;
		if (con_poll(c, (long)(wake - now), false) & CON_EV_INTR) {
			rc = con_error(c, "wait %s: interrupted", what);
			break;
		}
	}
	con_unsubscribe(c, "scalars");
	c->hook = NULL;
	c->hook_arg = NULL;
	if (rc == 0 && !c->json) {
		printf("%s: reached at step %llu\n", what, w->step);
		fflush(stdout);
	}
	return rc;
}

static int wait_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	double timeout_s = -1;
	char err[512], what[512] = "";
	if (argc >= 4 && !strcmp(argv[argc - 2], "timeout")) {
		if (units_duration(argv[argc - 1], &timeout_s, err, sizeof err) < 0)
			return con_error(c, "wait: timeout %s", err);
		argc -= 2;
	}
	if (argc < 3)
		return ccmd_usage(c, &ccmd_wait_entry);
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(what);
		snprintf(what + n, sizeof what - n, "%s%s", i > 1 ? " " : "", argv[i]);
	}
	waiter w = { 0 };
	if (!strcmp(argv[1], "steps") && argc == 3) {
		char *e;
		long long n = strtoll(argv[2], &e, 10);
		if (*e || n < 0)
			return con_error(c, "wait steps: N must be an integer >= 0, not \"%s\"", argv[2]);
		/* From the step of the command before ("step 25; wait steps 25",
		 * "ramp ...; wait steps 100"), else from now. */
		long long from = c->prev_step;
		if (from < 0) {
			json_t *r;
			if (con_call(c, "status", NULL, &r) < 0)
				return -1;
			from = (long long)json_integer_value(json_object_get(r, "step"));
			json_decref(r);
		}
		w.step = (unsigned long long)from;
		w.target = w.step + (unsigned long long)n;
	} else if (!strcmp(argv[1], "until")) {
		w.until = true;
		if (expr_parse(c, what + strlen("until "), &w.e, err, sizeof err) < 0)
			return con_error(c, "wait until: %s", err);
	} else {
		return ccmd_usage(c, &ccmd_wait_entry);
	}
	int rc = run_wait(c, &w, timeout_s, what);
	expr_free(&w.e);
	return rc;
}

const ccmd_entry ccmd_wait_entry = {
	.name = "wait",
	.usage = "steps N [timeout T] | until NAME OP VALUE [and|or ...] [timeout T]",
	.summary = "wait for N more steps (after the previous command's step) or for a condition",
	.exec = wait_exec,
	.complete = CC_NAMES,
};
