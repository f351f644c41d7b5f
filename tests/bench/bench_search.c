/* SPDX-License-Identifier: MIT */
/*
 * bench_search.c — what `search` saves, in simulated steps and wall time, on
 * a real steerd, against the two ways of finding the same answer without it.
 *
 * The question: the space-charge limit of the default diode
 * (configs/diode.yaml: 1 kV, 1 cm, 100 eV electrons, 200 cells, 2 ps; theory
 * K (sqrt(V0) + sqrt(V0 + V))^3 / d^2 = 1877.3 A/m^2), to 0.5 %.
 *
 *  1. `search injected_current 500 4000 until virtual_cathode`, defaults only
 *     (hold 50 transit times, a good probe ending once the run has settled,
 *     the result confirmed to the whole hold; tol 0.5 %): steps (`steps` of
 *     the reply), probes, wall time, the answer against theory and the
 *     brute-force reference.
 *  2. A restart-per-value scan (what users did before): a fresh run per value
 *     from an empty gap, values 0.5 % of the answer apart across [500, 4000],
 *     each held the same hold. Counted, not run (about 7 million steps): its
 *     wall time is the steps at the rate the restarts of 3 reached.
 *  3. A restart-per-probe bisection: the same bisection, hold and tol as 1,
 *     but every probe a fresh daemon from an empty gap (stopped at the first
 *     virtual cathode, as a bad probe of the search is), every good probe
 *     held the whole hold (what decides a value good: the result of 1 has
 *     held it too). Run for real.
 *  3b. The same with the search's settling test: each probe is the first
 *     probe of a search in a fresh daemon (so the very same test), a settled
 *     good's daemon is kept paused, and when the bracket closes at one it is
 *     run on to the whole hold (if a virtual cathode forms, the bisection
 *     goes on from the good below), as the search does. It shows how much of
 *     the gain over 3 is the settling test and how much is the live run.
 *
 * Ratios: 2 / 1 (goal >= 20), 3 / 1 (goal >= 2) and 3b / 1, in steps and in
 * wall time. Reported, not enforced: the exit status is non-zero only on
 * real errors. The bench's daemons publish indicator events at once
 * (indicator_dwell_steps 1), and a fresh run's virtual cathode is counted
 * at its first boundary (since_step), as the search's condition sees it.
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

#define FROM 500.0
#define TO 4000.0
#define TOL 0.005 /* the search's default */

static const double e_charge = 1.602176634e-19, m_e = 9.1093837015e-31,
                    eps0 = 8.8541878128e-12, gap = 0.01, v0_volts = 100.0, anode = 1000.0;

/* configs/diode.yaml's knobs, started paused, with a fast heartbeat. */
static const char *yaml_fmt =
    "simulation:\n"
    "  adapter: pic1d\n"
    "  knobs:\n"
    "    gap: 0.01\n"
    "    cells: 200\n"
    "    dt: 2.0e-12\n"
    "    particles_per_step: 40\n"
    "    emission: beam\n"
    "    injected_current: %.17g\n"
    "    anode_voltage: 1000\n"
    "    injection_energy: 100\n"
    "    thermal_energy: 0\n"
    "run:\n  start: paused\n"
    "endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
    "diagnostics:\n  scalars_every: 1\n  arrays_every: 100\n  heartbeat_ms: 50\n"
    "  indicators: [virtual_cathode]\n  indicator_dwell_steps: 1\n"
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

/* Send one request on the daemon's DEALER; its id. body is stolen. */
static int send_request(daemon_proc *d, const char *cmd, json_t *body)
{
	char *b = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	int id = ++d->next_id;
	char hdr[160];
	int hl = bench_request_header(hdr, sizeof hdr, cmd, id, "bench_search");
	if (!b || bench_send_request(d->ctl, hdr, (size_t)hl, b, strlen(b)) < 0)
		bench_die("send %s: %s", cmd, zmq_strerror(errno));
	free(b);
	return id;
}

/* The reply to request id: its body, *ok whether it succeeded (NULL: die on
 * an error reply); die on no reply within timeout_s. Older replies are
 * skipped. */
static json_t *wait_reply(daemon_proc *d, const char *cmd, int id, double timeout_s, bool *ok)
{
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
		bool good = json_is_true(json_object_get(h, "ok"));
		json_decref(h);
		if (ok)
			*ok = good;
		else if (!good) {
			char *s = json_dumps(r, JSON_COMPACT);
			bench_die("%s failed: %s", cmd, s ? s : "?");
		}
		return r;
	}
}

/* One request; the reply body (die on an error reply or no reply within
 * timeout_s). body is stolen. */
static json_t *call(daemon_proc *d, const char *cmd, json_t *body, double timeout_s)
{
	return wait_reply(d, cmd, send_request(d, cmd, body), timeout_s, NULL);
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
	size_t probes, settled, confirms;
} search_result;

static search_result run_search(long long *hold)
{
	daemon_proc *d = daemon_start(FROM);
	double t0 = bench_now();
	json_t *r = call(d, "search",
	                 json_pack("{s:s, s:f, s:f, s:s}", "knob", "injected_current", "from", FROM,
	                           "to", TO, "until", "virtual_cathode"),
	                 7200);
	search_result s = { .wall = bench_now() - t0 };
	if (!json_is_true(json_object_get(r, "converged")))
		bench_die("the search did not converge");
	s.result = json_number_value(json_object_get(r, "result"));
	s.lo = json_number_value(json_array_get(json_object_get(r, "bracket"), 0));
	s.hi = json_number_value(json_array_get(json_object_get(r, "bracket"), 1));
	s.steps = int_of(r, "steps");
	json_t *p;
	size_t i;
	json_array_foreach (json_object_get(r, "probes"), i, p) {
		s.probes++;
		s.settled += json_is_true(json_object_get(p, "settled"));
		s.confirms += json_is_true(json_object_get(p, "confirm"));
	}
	*hold = int_of(json_array_get(json_object_get(r, "probes"), 0), "hold");
	json_decref(r);
	daemon_stop(d);
	return s;
}

/* ---- 2 and 3: fresh runs ------------------------------------------------- */

typedef struct {
	double factor, value, wall;
	long long onset; /* steps from the start to the first virtual cathode; -1 none */
	long long steps;
	bool settled;    /* 3b: a good probe that ended settled */
} restart_result;

/*
 * Takes one event.indicator message [topic, header] off sub (flags 0: waits
 * for it; ZMQ_DONTWAIT: not) and notes the first virtual cathode in
 * res->onset: its since_step (the first boundary with one; the bench's
 * daemons publish at once, indicator_dwell_steps 1), counted from
 * first_step. 0 when there was none to take.
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
		res->onset = int_of(hdr, "since_step") - first_step;
	json_decref(hdr);
	zmq_msg_close(&t);
	zmq_msg_close(&h);
	return 1;
}

/* A SUB on d's stream for topic, live: a heartbeat came after subscribing. */
static void *subscribe(daemon_proc *d, const char *topic)
{
	void *sub = socket_to(ZMQ_SUB, d->proc.diagnostics);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "heartbeat", 9);
	for (double t0 = bench_now();;) {
		zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
		if (bench_now() - t0 > 20)
			bench_die("no heartbeat within 20 s");
		if (zmq_poll(&it, 1, 1000) <= 0)
			continue;
		char name[64];
		int n = zmq_recv(sub, name, sizeof name - 1, 0);
		int more;
		size_t ml = sizeof more;
		zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
		while (more) {
			char junk[4096];
			zmq_recv(sub, junk, sizeof junk, 0);
			zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
		}
		if (n >= 9 && !strncmp(name, "heartbeat", 9))
			break;
	}
	zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, "heartbeat", 9);
	return sub;
}

/* Runs d (paused) `steps` steps on; with stop_at_vc it stops at the first
 * virtual cathode (counted as the steps to it). */
static restart_result run_on(daemon_proc *d, double value, long long steps, bool stop_at_vc)
{
	restart_result res = { .factor = value / 1877.0, .value = value, .onset = -1, .steps = steps };
	void *sub = subscribe(d, "event.indicator");
	double t0 = bench_now();
	json_t *r = call(d, "step", json_pack("{s:I}", "n", (json_int_t)steps), 10);
	long long until = int_of(r, "until");
	json_decref(r);
	for (;;) {
		zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
		if (zmq_poll(&it, 1, 50) > 0) {
			take_event(sub, 0, &res, until - steps);
			if (stop_at_vc && res.onset >= 0) {
				json_decref(call(d, "pause", json_object(), 10));
				res.steps = res.onset;
				break;
			}
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
	return res;
}

/* A fresh daemon at value, `steps` steps from an empty gap; with stop_at_vc
 * it stops at the first virtual cathode (counted as the steps to it). */
static restart_result run_restart(double factor, double value, long long steps, bool stop_at_vc)
{
	daemon_proc *d = daemon_start(value);
	restart_result res = run_on(d, value, steps, stop_at_vc);
	res.factor = factor;
	daemon_stop(d);
	return res;
}

/*
 * 3b: a fresh daemon at value, probed by the search's own first probe (from
 * = value, from the empty gap, the default hold and settling test), then the
 * search is cancelled. A good run is kept, paused in its state at the end of
 * the probe, in *keep (to be run on if it has to be confirmed).
 */
static restart_result fresh_settle_probe(double value, daemon_proc **keep)
{
	restart_result res = { .factor = value / 1877.0, .value = value, .onset = -1 };
	daemon_proc *d = daemon_start(value);
	void *sub = subscribe(d, "event.search_probe");
	double t0 = bench_now();
	send_request(d, "search", json_pack("{s:s, s:f, s:f, s:s}", "knob", "injected_current", "from",
	                                    value, "to", value * 1.001, "until", "virtual_cathode"));
	zmq_msg_t t, h;
	zmq_msg_init(&t);
	zmq_msg_init(&h);
	zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
	if (zmq_poll(&it, 1, 3600 * 1000) <= 0 || zmq_msg_recv(&t, sub, 0) < 0 ||
	    zmq_msg_recv(&h, sub, 0) < 0)
		bench_die("no search_probe event");
	res.wall = bench_now() - t0;
	json_t *ev = json_loadb(zmq_msg_data(&h), zmq_msg_size(&h), 0, NULL);
	zmq_msg_close(&t);
	zmq_msg_close(&h);
	res.steps = int_of(ev, "steps");
	bool bad = json_is_true(json_object_get(ev, "bad"));
	res.settled = json_is_true(json_object_get(ev, "settled"));
	if (bad)
		res.onset = res.steps;
	json_decref(ev);
	zmq_close(sub);
	/* Stop the search (a bad first probe ended it already): the run is back
	 * at the end of its first probe, paused. */
	bool ok;
	json_decref(wait_reply(d, "cancel", send_request(d, "cancel", json_pack("{s:b}", "search", 1)),
	                       60, &ok));
	if (bad)
		daemon_stop(d);
	else
		*keep = d;
	return res;
}

/* 3b: the good runs kept while provisional (settled), bottom first. */
typedef struct kept_run {
	double value;
	daemon_proc *d;
	long long held;
	bool settled;
} kept_run;

static void drop_runs(kept_run *k, size_t *n)
{
	while (*n)
		daemon_stop(k[--*n].d);
}

/* ---- main --------------------------------------------------------------- */

/*
 * 3: the search's bisection with a fresh run per probe, every good probe held
 * the whole hold. 3b (settle): as the search with its settling test, each
 * probe a fresh run; a settled good's run is kept, and when the bracket is
 * closed at one, it is run on to the whole hold (and if a virtual cathode
 * forms, that value is bad and the bisection goes on from the good below).
 */
static search_result restart_bisection(long long hold, bool settle)
{
	search_result s = { 0 };
	kept_run kept[64];
	size_t n = 0;
	double good = FROM, bad = TO;
	double t0 = bench_now();
	/* FROM and TO first, as the search does; then the middle until tol. */
	for (int phase = 0;; phase++) {
		double v = phase == 0 ? FROM : phase == 1 ? TO : 0.5 * (good + bad);
		if (phase >= 2 && bad - good <= TOL * bad) {
			if (!settle || !n || !kept[n - 1].settled)
				break;
			kept_run *k = &kept[n - 1];
			restart_result r = run_on(k->d, k->value, hold - k->held, true);
			s.steps += r.steps;
			s.probes++;
			s.confirms++;
			if (r.onset < 0)
				break;
			bad = k->value;
			daemon_stop(k->d);
			if (--n == 0)
				bench_die("restart bisection: FROM failed its confirmation");
			good = kept[n - 1].value;
			continue;
		}
		daemon_proc *d = NULL;
		restart_result r = settle ? fresh_settle_probe(v, &d) : run_restart(v / 1877.0, v, hold, true);
		s.steps += r.steps;
		s.probes++;
		s.settled += r.settled;
		if (r.onset >= 0) {
			bad = v;
		} else if (phase == 0 || v > good) {
			good = v;
			if (settle) {
				if (!r.settled || n == sizeof kept / sizeof kept[0])
					drop_runs(kept, &n);
				kept[n++] = (kept_run){ .value = v, .d = d, .held = r.steps, .settled = r.settled };
			}
		}
		if (phase == 0 && r.onset >= 0)
			bench_die("restart bisection: a virtual cathode at FROM");
	}
	drop_runs(kept, &n);
	s.wall = bench_now() - t0;
	s.result = s.lo = good;
	s.hi = bad;
	return s;
}

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
	double j_limit = k * pow(sqrt(v0_volts) + sqrt(v0_volts + anode), 3) / (gap * gap);
	double t_all = bench_now();
	/* The brute-force reference of this diode (make search-reference; kept
	 * in tests/integration/test_search.py, REFERENCE["diode"]["up"]). */
	const double brute_force = 1879.61;

	long long hold = 0;
	search_result s = run_search(&hold);
	printf("default diode (configs/diode.yaml), limit K (sqrt V0 + sqrt(V0 + V))^3 / d^2 = "
	       "%.2f A/m^2\n", j_limit);
	printf("  1. search [%g, %g] with defaults (hold %lld steps = 50 transit times, tol %g):\n"
	       "     %.2f A/m^2 (%+.2f %% from theory, %+.2f %% from brute force), bracket "
	       "[%.2f, %.2f],\n     %zu probes (%zu settled, %zu confirmations), %lld steps, "
	       "%.1f s wall\n",
	       FROM, TO, hold, TOL, s.result, 100 * (s.result / j_limit - 1),
	       100 * (s.result / brute_force - 1), s.lo, s.hi, s.probes, s.settled, s.confirms,
	       s.steps, s.wall);

	search_result b = restart_bisection(hold, false);
	printf("  3. restart-per-probe bisection, every good probe held the whole hold, same tol:\n"
	       "     %.2f A/m^2 (%+.2f %% from theory), %zu probes, %lld steps, %.1f s wall\n",
	       b.result, 100 * (b.result / j_limit - 1), b.probes, b.steps, b.wall);
	search_result c = restart_bisection(hold, true);
	printf("  3b. restart-per-probe bisection with the search's settling test and confirmation "
	       "(fresh runs,\n     a settled good's run kept to be run on): %.2f A/m^2 (%+.2f %% from "
	       "theory), %zu probes\n     (%zu settled, %zu confirmations), %lld steps, %.1f s wall\n",
	       c.result, 100 * (c.result / j_limit - 1), c.probes, c.settled, c.confirms, c.steps,
	       c.wall);

	/* The settling criterion decides fresh runs too: restarts around the
	 * limit, 2 x hold each; also the rate of fresh runs for the scan. */
	static const double factors[] = { 0.98, 0.99, 1.01, 1.02 };
	printf("  fresh runs around the limit (2 x hold steps each):\n");
	double restart_steps = 0, restart_wall = 0;
	bool settle_ok = true;
	for (size_t i = 0; i < sizeof factors / sizeof factors[0]; i++) {
		restart_result r = run_restart(factors[i], factors[i] * j_limit, 2 * hold, false);
		restart_steps += (double)r.steps;
		restart_wall += r.wall;
		bool above = factors[i] > 1;
		if (r.onset >= 0)
			printf("    %.2f x = %7.2f A/m^2: virtual cathode at step %lld (%.2f x hold)%s\n",
			       r.factor, r.value, r.onset, (double)r.onset / (double)hold,
			       above ? "" : "  <- below the limit!");
		else
			printf("    %.2f x = %7.2f A/m^2: none in %lld steps%s\n", r.factor, r.value,
			       r.steps, above ? "  <- above the limit, not decided!" : "");
		if (above ? (r.onset < 0 || r.onset > hold) : r.onset >= 0)
			settle_ok = false;
	}
	double rate = restart_steps / restart_wall;
	printf("    the hold %s them; fresh runs step at %.0f steps/s\n",
	       settle_ok ? "decides" : "does NOT decide", rate);

	long long n_values = (long long)ceil((TO - FROM) / (TOL * s.result));
	long long scan_steps = n_values * hold;
	double scan_wall = (double)scan_steps / rate;
	printf("  2. restart-per-value scan at %.1f %% spacing: %lld restarts x %lld steps = %lld "
	       "steps, ~%.0f s wall at that rate (counted, not run)\n",
	       100 * TOL, n_values, hold, scan_steps, scan_wall);

	double r_scan = (double)scan_steps / (double)s.steps, r_bis = (double)b.steps / (double)s.steps;
	printf("search vs restart scan: %.1f x fewer steps, %.1f x less wall time (goal >= 20 x: %s)\n",
	       r_scan, scan_wall / s.wall, r_scan >= 20 ? "met" : "NOT met");
	printf("search vs restart bisection (3): %.2f x fewer steps, %.2f x less wall time "
	       "(goal >= 2 x: %s)\n", r_bis, b.wall / s.wall,
	       r_bis >= 2 && b.wall / s.wall >= 2 ? "met" : "NOT met");
	printf("search vs restart bisection with the same settling test (3b): %.2f x fewer steps, "
	       "%.2f x less wall time\n", (double)c.steps / (double)s.steps, c.wall / s.wall);
	printf("search answer within 0.5 %% of theory and of brute force: %s\n",
	       fabs(s.result / j_limit - 1) <= 0.005 && fabs(s.result / brute_force - 1) <= 0.005
	           ? "yes" : "NO");
	printf("(bench_search took %.0f s)\n", bench_now() - t_all);
	zmq_ctx_term(zctx);
	bench_daemon_teardown();
	return 0;
}
