/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bench_search.c — what `search` saves, in simulated steps, on a real steerd.
 *
 * The question: the space-charge limit of the grounded gap (100 eV electrons,
 * 1 cm, anode grounded: 8 K V0^1.5 / d^2 = 186.7 A/m^2) to 1 %.
 *
 *  1. `search injected_current 100 300 until virtual_cathode hold 8431 tol
 *     0.01` (8431 steps = 50 transit times d/v0 at 10 ps per step): the steps
 *     the daemon simulated (`steps` of the reply), probes, wall time.
 *  2. The old way: scan the same range in steps of 1 % of the limit, each
 *     value a fresh run from an empty gap held for the same settling time:
 *     ceil((to - from) / (0.01 * result)) restarts x hold steps. Counted, not
 *     run; but to check that the settling time assumed is the one needed, a
 *     coarse version of that scan is run for real (fresh daemons at 0.95,
 *     0.98, 0.99, 1.01, 1.02 and 1.05 x the result, 2 x hold steps each) and
 *     the step at which a virtual cathode first appears (event.indicator) is
 *     reported: above the limit it must appear within the hold, below never.
 *
 * Ratio: old-way steps / search steps; target >= 10. Reported, not enforced:
 * the exit status is non-zero only on real errors.
 *
 * Environment: STEERD_BUILD (default "build") holds bin/steerd.
 *   make BUILD=build/srch build/srch/bench/bench_search
 *   STEERD_BUILD=build/srch build/srch/bench/bench_search
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "bench_util.h"

/* ---- the problem ------------------------------------------------------- */

#define FROM 100.0
#define TO 300.0
#define TOL 0.01
#define CELLS_DT_NOTE "100 cells, dt 10 ps"

static const double e_charge = 1.602176634e-19, m_e = 9.1093837015e-31,
                    eps0 = 8.8541878128e-12, gap = 0.01, v0_volts = 100.0, dt = 1e-11;

/* configs/grounded-gap-fast.yaml, started paused, with a fast heartbeat. */
static const char *yaml_fmt =
    "simulation:\n"
    "  adapter: pic1d\n"
    "  knobs:\n"
    "    gap: 0.01\n"
    "    cells: 100\n"
    "    dt: 1.0e-11\n"
    "    particles_per_step: 20\n"
    "    emission: beam\n"
    "    injected_current: %.17g\n"
    "    anode_voltage: 0\n"
    "    injection_energy: 100\n"
    "    thermal_energy: 0\n"
    "run:\n  start: paused\n"
    "endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
    "diagnostics:\n  scalars_every: 1\n  arrays_every: 100\n  heartbeat_ms: 50\n"
    "  indicators: [virtual_cathode]\n"
    "log_level: warn\n";

/* ---- helpers ------------------------------------------------------------ */

/* Processes, tmpdir, clock and bench_die(): bench_util.h. */
static void *zctx;

/* A steerd and the DEALER this bench talks to it on. */
typedef struct daemon_proc {
	bench_daemon proc;
	void *ctl;
	int next_id;
} daemon_proc;

#define DAEMON_TIMEOUT_S 20.0 /* to start; to exit after SIGTERM */

static void *socket_to(int type, const char *endpoint)
{
	void *s = bench_socket(zctx, type);
	bench_connect(s, endpoint);
	return s;
}

static daemon_proc *daemon_start(double current_density)
{
	daemon_proc *d = calloc(1, sizeof *d);
	char *yaml = NULL;
	if (!d || asprintf(&yaml, yaml_fmt, current_density) < 0)
		bench_die("out of memory");
	bench_daemon_start(&d->proc, NULL, yaml, DAEMON_TIMEOUT_S);
	free(yaml);
	d->ctl = socket_to(ZMQ_DEALER, d->proc.control);
	return d;
}

static void daemon_stop(daemon_proc *d)
{
	zmq_close(d->ctl);
	bench_daemon_stop(&d->proc);
	free(d);
}

/* One request on the daemon's DEALER; the reply body (die on an error reply
 * or no reply within timeout_s). body is stolen. */
static json_t *call(daemon_proc *d, const char *cmd, json_t *body, double timeout_s)
{
	char *b = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	int id = ++d->next_id;
	char hdr[160];
	int hl = bench_request_header(hdr, sizeof hdr, cmd, id, "bench_search");
	if (!b || bench_send_request(d->ctl, hdr, (size_t)hl, b, strlen(b)) < 0)
		bench_die("send %s: %s", cmd, zmq_strerror(errno));
	free(b);
	for (;;) {
		zmq_pollitem_t it = { .socket = d->ctl, .events = ZMQ_POLLIN };
		if (zmq_poll(&it, 1, (long)(timeout_s * 1000)) <= 0)
			bench_die("no reply to %s within %g s", cmd, timeout_s);
		zmq_msg_t f[3];
		int n = bench_recv_multipart(d->ctl, f, 3);
		if (n < 0)
			bench_die("recv: %s", zmq_strerror(errno));
		if (n != 3) {
			bench_close_frames(f, n, 3);
			bench_die("reply to %s has %d frames", cmd, n);
		}
		json_t *h = json_loadb(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 0, NULL);
		json_t *r = json_loadb(zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), 0, NULL);
		bench_close_frames(f, n, 3);
		if (json_integer_value(json_object_get(h, "id")) != id) { /* a stale reply */
			json_decref(h);
			json_decref(r);
			continue;
		}
		if (!json_is_true(json_object_get(h, "ok"))) {
			char *s = json_dumps(r, JSON_COMPACT);
			bench_die("%s failed: %s", cmd, s ? s : "?");
		}
		json_decref(h);
		return r;
	}
}

static long long int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		bench_die("reply lacks integer %s", key);
	return (long long)json_integer_value(v);
}

/* ---- 1: search ---------------------------------------------------------- */

typedef struct {
	double result, lo, hi, wall;
	long long steps;
	size_t probes;
} search_result;

static search_result run_search(long long hold)
{
	daemon_proc *d = daemon_start(FROM);
	json_decref(call(d, "step", json_pack("{s:i}", "n", 1), 10));
	double t0 = bench_now();
	json_t *r = call(d, "search",
	                 json_pack("{s:s, s:f, s:f, s:s, s:I, s:f}", "knob", "injected_current", "from",
	                           FROM, "to", TO, "until", "virtual_cathode", "hold",
	                           (json_int_t)hold, "tol", TOL),
	                 1800);
	search_result s = { .wall = bench_now() - t0 };
	if (!json_is_true(json_object_get(r, "converged")))
		bench_die("the search did not converge");
	s.result = json_number_value(json_object_get(r, "result"));
	s.lo = json_number_value(json_array_get(json_object_get(r, "bracket"), 0));
	s.hi = json_number_value(json_array_get(json_object_get(r, "bracket"), 1));
	s.steps = int_of(r, "steps");
	s.probes = json_array_size(json_object_get(r, "probes"));
	json_decref(r);
	daemon_stop(d);
	return s;
}

/* ---- 2: the old way, a few restarts for real ----------------------------- */

typedef struct {
	double factor, value, wall;
	long long onset; /* steps from the start to the first virtual cathode; -1 none */
	long long steps;
} restart_result;

/*
 * Takes one event.indicator message [topic, header] off sub (flags 0: waits
 * for it; ZMQ_DONTWAIT: not) and notes the first virtual cathode in
 * res->onset, counted from first_step. 0 when there was none to take.
 */
static int take_event(void *sub, int flags, restart_result *res, long long first_step)
{
	zmq_msg_t t, h;
	zmq_msg_init(&t);
	if (zmq_msg_recv(&t, sub, flags) < 0) {
		zmq_msg_close(&t);
		return 0;
	}
	zmq_msg_init(&h);
	zmq_msg_recv(&h, sub, 0);
	json_t *hdr = json_loadb(zmq_msg_data(&h), zmq_msg_size(&h), 0, NULL);
	if (res->onset < 0 && json_is_true(json_object_get(hdr, "on")))
		res->onset = int_of(hdr, "step") - first_step;
	json_decref(hdr);
	zmq_msg_close(&t);
	zmq_msg_close(&h);
	return 1;
}

static restart_result run_restart(double factor, double value, long long steps)
{
	restart_result res = { .factor = factor, .value = value, .onset = -1, .steps = steps };
	daemon_proc *d = daemon_start(value);
	void *sub = socket_to(ZMQ_SUB, d->proc.diagnostics);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "event.indicator", 15);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "heartbeat", 9);
	/* A heartbeat after the subscriptions: they are live. */
	for (double t0 = bench_now();;) {
		zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
		if (bench_now() - t0 > 20)
			bench_die("no heartbeat within 20 s");
		if (zmq_poll(&it, 1, 1000) <= 0)
			continue;
		char topic[64];
		int n = zmq_recv(sub, topic, sizeof topic - 1, 0);
		int more;
		size_t ml = sizeof more;
		zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
		while (more) {
			char junk[4096];
			zmq_recv(sub, junk, sizeof junk, 0);
			zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
		}
		if (n >= 9 && !strncmp(topic, "heartbeat", 9))
			break;
	}
	zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, "heartbeat", 9);
	double t0 = bench_now();
	json_t *r = call(d, "step", json_pack("{s:I}", "n", (json_int_t)steps), 10);
	long long until = int_of(r, "until");
	json_decref(r);
	for (;;) {
		zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
		if (zmq_poll(&it, 1, 50) > 0) {
			take_event(sub, 0, &res, until - steps);
			continue;
		}
		json_t *st = call(d, "status", json_object(), 10);
		bool done = int_of(st, "steps_left") == 0 && int_of(st, "step") >= until;
		json_decref(st);
		if (done)
			break;
	}
	/* Events published at the last steps are in the socket by now, or were
	 * before the status reply: one last drain. */
	while (take_event(sub, ZMQ_DONTWAIT, &res, until - steps))
		;
	res.wall = bench_now() - t0;
	zmq_close(sub);
	daemon_stop(d);
	return res;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: bench_search (STEERD_BUILD=dir holds bin/steerd)\n");
		return 2;
	}
	bench_init("bench_search");
	bench_daemon_setup();
	zctx = zmq_ctx_new();

	double k = 4 * eps0 / 9 * sqrt(2 * e_charge / m_e);
	double j_limit = 8 * k * pow(v0_volts, 1.5) / (gap * gap);
	double transit = gap / sqrt(2 * e_charge * v0_volts / m_e);
	long long hold = (long long)ceil(50 * transit / dt);
	double t_all = bench_now();

	search_result s = run_search(hold);
	printf("grounded gap (" CELLS_DT_NOTE "), limit 8 K V0^1.5/d^2 = %.2f A/m^2, "
	       "hold %lld steps (50 transit times)\n",
	       j_limit, hold);
	printf("  search [%g, %g] tol %g: %.2f A/m^2 (%+.2f %% from theory), bracket [%.2f, %.2f],\n"
	       "    %zu probes, %lld steps, %.2f s wall\n",
	       FROM, TO, TOL, s.result, 100 * (s.result / j_limit - 1), s.lo, s.hi, s.probes, s.steps,
	       s.wall);

	long long n_values = (long long)ceil((TO - FROM) / (TOL * s.result));
	long long old_steps = n_values * hold;
	printf("  old way, a restart per value at 1 %% spacing: ceil((%g - %g) / (%g x %.2f)) = %lld "
	       "restarts x %lld steps = %lld steps\n",
	       TO, FROM, TOL, s.result, n_values, hold, old_steps);

	static const double factors[] = { 0.95, 0.98, 0.99, 1.01, 1.02, 1.05 };
	printf("  coarse scan with real restarts (fresh run from an empty gap, 2 x hold steps each):\n");
	double restart_steps = 0, restart_wall = 0;
	bool settle_ok = true;
	long long worst_onset = 0;
	for (size_t i = 0; i < sizeof factors / sizeof factors[0]; i++) {
		restart_result r = run_restart(factors[i], factors[i] * s.result, 2 * hold);
		restart_steps += (double)r.steps;
		restart_wall += r.wall;
		bool above = factors[i] > 1;
		if (r.onset >= 0)
			printf("    %.2f x = %6.2f A/m^2: virtual cathode at step %lld (%.2f x hold)%s\n",
			       r.factor, r.value, r.onset, (double)r.onset / (double)hold,
			       above ? "" : "  <- below the limit!");
		else
			printf("    %.2f x = %6.2f A/m^2: none in %lld steps%s\n", r.factor, r.value,
			       r.steps, above ? "  <- above the limit, not decided!" : "");
		if (above && r.onset > worst_onset)
			worst_onset = r.onset;
		if (above ? (r.onset < 0 || r.onset > hold) : r.onset >= 0)
			settle_ok = false;
	}
	printf("  the assumed settling time %s: the slowest onset above the limit took %lld steps "
	       "(%.0f %% of the hold);\n"
	       "    %.0f steps in %.2f s wall for these %zu restarts (%.0f steps/s)\n",
	       settle_ok ? "decides them" : "does NOT decide them", worst_onset,
	       100.0 * (double)worst_onset / (double)hold, restart_steps, restart_wall,
	       sizeof factors / sizeof factors[0], restart_steps / restart_wall);
	double ratio = (double)old_steps / (double)s.steps;
	printf("search needs %.1f x fewer steps than the restart scan (%lld vs %lld); "
	       "target >= 10 x: %s\n",
	       ratio, s.steps, old_steps, ratio >= 10 ? "met" : "NOT met");
	printf("(bench_search took %.0f s)\n", bench_now() - t_all);
	zmq_ctx_term(zctx);
	bench_daemon_teardown();
	return 0;
}
