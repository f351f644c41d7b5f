/* SPDX-License-Identifier: MIT */
/*
 * bench_control.c — what steering costs, measured on real steerd processes.
 *
 *  1. `get` round trip over tcp loopback against steerd while pic1d steps flat
 *     out, and against steerd hosting adapter_slow (every step sleeps 100 ms),
 *     each next to a raw DEALER/ROUTER ping-pong (a ROUTER echo thread in this
 *     process) measured in interleaved blocks while that same daemon runs, so
 *     both see the same machine load. Target: steerd p50 <= 1.3 x raw p50.
 *  2. pic1d steps per second inside steerd with scalars published every step
 *     to 4 subscribers (SUB threads here, draining), against the pic1d adapter
 *     stepped in a bare loop in this process with the same knobs. The daemon's
 *     rate comes from `status` step counts over a fixed wall window. Rounds
 *     alternate bare/daemon; medians are reported. Target: >= 98%. Measured
 *     twice: first with steerd's run.simulation_cpu on the last CPU (the bare
 *     loop on that CPU too, this process's other threads off it, as clients
 *     on other machines would be): what steering costs the simulation; then
 *     unpinned, everything sharing every CPU.
 *
 * Targets are reported, never enforced: the exit status is non-zero only on
 * real errors (steerd not found, not starting, bad replies, unclean exit).
 *
 * Environment: STEERD_BUILD (default "build") holds bin/steerd and
 * bench/libslow.so. `bench_control --explore` adds the experiments behind the
 * rate figure (scalars_every 0/1, 0/4 subscribers) and takes about 2 minutes;
 * `bench_control --rtt-only` runs part 1 alone (seconds, for iterating on it).
 */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "bench_util.h"
#include "pic1d/pic1d.h"

/* ---- settings ----------------------------------------------------------- */

enum {
	RTT_REQUESTS = 3000, /* timed `get` round trips per daemon (and as many raw) */
	RTT_WARMUP = 300,    /* untimed round trips on each socket first */
	RTT_BLOCK = 250,     /* raw and steerd alternate in blocks of this many */
	RATE_ROUNDS = 3,     /* bare/daemon rounds for the step rate */
	N_SUBSCRIBERS = 4,
};
#define RATE_WARMUP_S 1.0
#define RATE_WINDOW_S 5.0
#define TARGET_RTT_RATIO 1.3
#define TARGET_RATE_RATIO 0.98

/* A realistic read: one knob and one scalar diagnostic. */
#define GET_BODY_PIC1D "{\"names\":[\"injected_current\",\"j_transmitted\"]}"
#define GET_BODY_SLOW "{\"names\":[\"step_ms\",\"steps_slept\"]}"

/* ---- state -------------------------------------------------------------- */

/* Processes, tmpdir, clock and bench_die(): bench_util.h. */
static void *zctx;
static int sim_cpu = -1;         /* run.simulation_cpu for the rate runs; -1: not pinned */
static cpu_set_t others;         /* the CPUs but sim_cpu */
static cpu_set_t all_cpus;       /* the CPUs this process may use, as it started */
static char slow_so_path[PATH_MAX];

/* ---- steerd configs ----------------------------------------------------- */

#define DAEMON_TIMEOUT_S 10.0 /* to start; to exit after SIGTERM */

static char *pic1d_yaml(unsigned scalars_every)
{
	char *y = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&y, &len);
	if (!f)
		bench_die("out of memory");
	fprintf(f, "simulation:\n  adapter: pic1d\n  knobs:\n");
	bench_diode_knobs_yaml(f, 4);
	fprintf(f, "run:\n");
	if (sim_cpu >= 0)
		fprintf(f, "  simulation_cpu: %d\n", sim_cpu);
	fprintf(f,
	        "  start: running\n"
	        "endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
	        "diagnostics:\n  scalars_every: %u\n  arrays_every: 100\n  heartbeat_ms: 1000\n"
	        "  send_hwm: 1000\n  indicators: [virtual_cathode]\n"
	        "log_level: warn\n",
	        scalars_every);
	fclose(f);
	return y;
}

static char *slow_yaml(void)
{
	char *y = NULL;
	if (asprintf(&y,
	             "simulation:\n  adapter: %s\n  knobs:\n    step_ms: 100\n"
	             "run:\n  start: running\n"
	             "endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
	             "diagnostics:\n  scalars_every: 1\n  heartbeat_ms: 1000\n"
	             "log_level: warn\n",
	             slow_so_path) < 0)
		bench_die("out of memory");
	return y;
}

/* ---- request/reply ------------------------------------------------------ */

/*
 * One round trip on a DEALER. With check set, the reply must be
 * ["", header with "ok":true, body]; the body is copied into out (if given).
 * Returns the round-trip time in seconds.
 */
static double round_trip(void *sock, const char *cmd, int id, const char *body, bool check,
                         json_t **out)
{
	char header[128];
	int hlen = bench_request_header(header, sizeof header, cmd, id, "bench");
	size_t blen = strlen(body);
	zmq_msg_t f[8];
	double t0 = bench_now();
	if (bench_send_request(sock, header, (size_t)hlen, body, blen) < 0)
		bench_die("send %s: %s", cmd, zmq_strerror(errno));
	int n = bench_recv_multipart(sock, f, 8);
	double dt = bench_now() - t0;
	if (n < 0)
		bench_die("no reply to %s: %s", cmd, zmq_strerror(errno));
	if (n != 3 || zmq_msg_size(&f[0]) != 0) {
		bench_close_frames(f, n, 8);
		bench_die("reply to %s has %d frames, expected 3", cmd, n);
	}
	if (check) {
		if (!memmem(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), "\"ok\":true", 9)) {
			fprintf(stderr, "bench_control: %s failed: %.*s %.*s\n", cmd,
			        (int)zmq_msg_size(&f[1]), (char *)zmq_msg_data(&f[1]),
			        (int)zmq_msg_size(&f[2]), (char *)zmq_msg_data(&f[2]));
			bench_close_frames(f, n, 8);
			bench_die("steerd refused %s", cmd);
		}
		if (out) {
			json_error_t jerr;
			*out = json_loadb(zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), 0, &jerr);
			if (!*out)
				bench_die("reply body to %s is not JSON: %s", cmd, jerr.text);
		}
	}
	bench_close_frames(f, n, 8);
	return dt;
}

static void *connect_dealer(const char *endpoint)
{
	void *s = bench_socket(zctx, ZMQ_DEALER);
	int tmo = 10000; /* a reply 10 s late is an error, not a hang */
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
	bench_connect(s, endpoint);
	return s;
}

/* The step count from `status`. */
static uint64_t status_step(void *ctl)
{
	static int id = 1000000;
	json_t *st = NULL;
	round_trip(ctl, "status", id++, "{}", true, &st);
	json_t *step = json_object_get(st, "step");
	if (!json_is_integer(step))
		bench_die("status has no integer step");
	uint64_t s = (uint64_t)json_integer_value(step);
	json_decref(st);
	return s;
}

/* ---- the raw echo server ------------------------------------------------ */

static atomic_bool echo_stop;

static void *echo_main(void *router)
{
	zmq_pollitem_t it = { .socket = router, .events = ZMQ_POLLIN };
	while (!atomic_load(&echo_stop)) {
		if (zmq_poll(&it, 1, 50) <= 0)
			continue;
		for (;;) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, router, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m);
				break;
			}
			/* recv multipart, send it back frame by frame (identity first) */
			int more = zmq_msg_more(&m);
			zmq_msg_send(&m, router, more ? ZMQ_SNDMORE : 0);
			while (more) {
				zmq_msg_init(&m);
				if (zmq_msg_recv(&m, router, 0) < 0) {
					zmq_msg_close(&m);
					break;
				}
				more = zmq_msg_more(&m);
				zmq_msg_send(&m, router, more ? ZMQ_SNDMORE : 0);
			}
		}
	}
	return NULL;
}

/* ---- 1. get round trip -------------------------------------------------- */

typedef struct rtt_result {
	double raw_p50, raw_p99, get_p50, get_p99;
} rtt_result;

/*
 * Interleaves blocks of raw ping-pongs (to the echo server) and `get`
 * requests (to steerd), RTT_REQUESTS of each, on two DEALERs of this thread.
 */
static rtt_result measure_rtt(const char *echo_ep, const bench_daemon *d, const char *body)
{
	void *raw = connect_dealer(echo_ep), *ctl = connect_dealer(d->control);
	double *tr = calloc(RTT_REQUESTS, sizeof *tr), *tg = calloc(RTT_REQUESTS, sizeof *tg);
	if (!tr || !tg)
		bench_die("out of memory");
	int id = 1;
	for (int i = 0; i < RTT_WARMUP; i++) {
		round_trip(raw, "get", id, body, false, NULL);
		round_trip(ctl, "get", id++, body, true, NULL);
	}
	for (int done = 0; done < RTT_REQUESTS; done += RTT_BLOCK) {
		int n = RTT_REQUESTS - done < RTT_BLOCK ? RTT_REQUESTS - done : RTT_BLOCK;
		for (int i = 0; i < n; i++)
			tr[done + i] = round_trip(raw, "get", id, body, false, NULL);
		for (int i = 0; i < n; i++)
			tg[done + i] = round_trip(ctl, "get", id++, body, true, NULL);
	}
	rtt_result r = {
		.raw_p50 = 1e6 * bench_percentile(tr, RTT_REQUESTS, 0.50),
		.raw_p99 = 1e6 * bench_percentile(tr, RTT_REQUESTS, 0.99),
		.get_p50 = 1e6 * bench_percentile(tg, RTT_REQUESTS, 0.50),
		.get_p99 = 1e6 * bench_percentile(tg, RTT_REQUESTS, 0.99),
	};
	free(tr);
	free(tg);
	zmq_close(raw);
	zmq_close(ctl);
	return r;
}

static const char *met(bool ok) { return ok ? "met" : "NOT met"; }

static void bench_rtt(void)
{
	void *router = bench_socket(zctx, ZMQ_ROUTER);
	if (zmq_bind(router, "tcp://127.0.0.1:*") != 0)
		bench_die("bind the echo server: %s", zmq_strerror(errno));
	char echo_ep[256];
	size_t len = sizeof echo_ep;
	zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, echo_ep, &len);
	pthread_t th;
	atomic_store(&echo_stop, false);
	if (pthread_create(&th, NULL, echo_main, router) != 0)
		bench_die("cannot start the echo thread");

	/* pic1d flat out: scalars every step as in configs/diode.yaml, nobody subscribed */
	char *y = pic1d_yaml(1);
	bench_daemon d;
	bench_daemon_start(&d, NULL, y, DAEMON_TIMEOUT_S);
	free(y);
	bench_sleep(0.5);
	void *ctl = connect_dealer(d.control);
	uint64_t s0 = status_step(ctl);
	rtt_result fast = measure_rtt(echo_ep, &d, GET_BODY_PIC1D);
	uint64_t s1 = status_step(ctl);
	zmq_close(ctl);
	bench_daemon_stop(&d);
	if (s1 <= s0)
		bench_die("the pic1d run did not step while it was read (step %llu -> %llu)",
		    (unsigned long long)s0, (unsigned long long)s1);

	y = slow_yaml();
	bench_daemon_start(&d, NULL, y, DAEMON_TIMEOUT_S);
	free(y);
	bench_sleep(0.2);
	ctl = connect_dealer(d.control);
	s0 = status_step(ctl);
	rtt_result slow = measure_rtt(echo_ep, &d, GET_BODY_SLOW);
	s1 = status_step(ctl);
	zmq_close(ctl);
	bench_daemon_stop(&d);
	if (s1 <= s0)
		bench_die("the 100 ms run did not step while it was read (step %llu -> %llu)",
		    (unsigned long long)s0, (unsigned long long)s1);

	atomic_store(&echo_stop, true);
	pthread_join(th, NULL);
	zmq_close(router);

	double rf = fast.get_p50 / fast.raw_p50, rs = slow.get_p50 / slow.raw_p50;
	printf("control get round trip (tcp loopback, %d requests each, raw and get interleaved\n"
	       "in blocks of %d while the same daemon runs):\n",
	       RTT_REQUESTS, RTT_BLOCK);
	printf("  raw DEALER/ROUTER ping-pong  p50 %6.1f us  p99 %6.1f us   (beside the pic1d run)\n",
	       fast.raw_p50, fast.raw_p99);
	printf("  steerd get (pic1d flat out)  p50 %6.1f us  p99 %6.1f us   p50 ratio %.2f "
	       "(target <= %.1f: %s)\n",
	       fast.get_p50, fast.get_p99, rf, TARGET_RTT_RATIO, met(rf <= TARGET_RTT_RATIO));
	printf("  raw DEALER/ROUTER ping-pong  p50 %6.1f us  p99 %6.1f us   (beside the 100 ms run)\n",
	       slow.raw_p50, slow.raw_p99);
	printf("  steerd get (100 ms steps)    p50 %6.1f us  p99 %6.1f us   p50 ratio %.2f "
	       "(target <= %.1f: %s)\n",
	       slow.get_p50, slow.get_p99, rs, TARGET_RTT_RATIO, met(rs <= TARGET_RTT_RATIO));
	fflush(stdout);
}

/* ---- 2. steps per second ------------------------------------------------ */

typedef struct subscriber {
	pthread_t thread;
	void *sock;
	atomic_ullong messages;
} subscriber;

static atomic_bool subs_stop;

static void *subscriber_main(void *arg)
{
	subscriber *s = arg;
	zmq_pollitem_t it = { .socket = s->sock, .events = ZMQ_POLLIN };
	while (!atomic_load(&subs_stop)) {
		if (zmq_poll(&it, 1, 50) <= 0)
			continue;
		/* drain everything queued, then wait again */
		for (;;) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			int rc = zmq_msg_recv(&m, s->sock, ZMQ_DONTWAIT);
			int more = rc >= 0 && zmq_msg_more(&m);
			zmq_msg_close(&m);
			if (rc < 0)
				break;
			if (!more)
				atomic_fetch_add(&s->messages, 1);
		}
	}
	return NULL;
}

typedef struct rate_result {
	double rate;          /* steps/s over the window */
	double delivered;     /* fraction of the window's steps each subscriber got (min) */
	double sim_cpu_us;    /* CPU time of the simulation thread per step */
	double proc_cpu_us;   /* CPU time of all steerd threads per step */
} rate_result;

static double thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return 1e9 * (double)ts.tv_sec + (double)ts.tv_nsec;
}

/* pic1d stepped in a bare loop in this thread, from step 0, over the same window. */
static rate_result bare_rate(void)
{
	const sa_adapter *sa = pic1d_adapter();
	sa_value v[64];
	if (sa->n_knobs > 64)
		bench_die("pic1d has too many knobs");
	bench_diode_values(sa, v);
	char err[256];
	void *sim = sa->create(v, NULL, err, sizeof err);
	if (!sim)
		bench_die("pic1d create: %s", err);
	if (sim_cpu >= 0) { /* on the CPU steerd's simulation thread gets */
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(sim_cpu, &one);
		pthread_setaffinity_np(pthread_self(), sizeof one, &one);
	}
	double t0 = bench_now(), start = 0.0, cpu0 = 0.0;
	uint64_t s0 = 0, steps = 0;
	bool measuring = false;
	for (;;) {
		if (sa->step(sim, err, sizeof err) < 0)
			bench_die("pic1d step: %s", err);
		steps++;
		if ((steps & 15) == 0) {
			double t = bench_now();
			if (!measuring && t - t0 >= RATE_WARMUP_S) {
				measuring = true;
				start = t;
				cpu0 = thread_cpu_ns();
				s0 = steps;
			} else if (measuring && t - start >= RATE_WINDOW_S) {
				double cpu = thread_cpu_ns() - cpu0;
				sa->destroy(sim);
				if (sim_cpu >= 0)
					pthread_setaffinity_np(pthread_self(), sizeof others, &others);
				rate_result r = { .rate = (double)(steps - s0) / (t - start), .delivered = 1.0 };
				r.sim_cpu_us = r.proc_cpu_us = 1e-3 * cpu / (double)(steps - s0);
				return r;
			}
		}
	}
}

/* Nanoseconds task tid of process pid has run on a CPU (/proc schedstat), or -1. */
static double task_cpu_ns(pid_t pid, const char *tid)
{
	char path[128];
	snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1.0;
	unsigned long long ns = 0;
	int n = fscanf(f, "%llu", &ns);
	fclose(f);
	return n == 1 ? (double)ns : -1.0;
}

/* CPU ns of steerd's main (simulation) thread, and of all its threads. */
static void steerd_cpu_ns(pid_t pid, double *sim, double *all)
{
	char tid[32];
	snprintf(tid, sizeof tid, "%d", (int)pid);
	*sim = task_cpu_ns(pid, tid);
	*all = 0.0;
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	DIR *dp = opendir(dir);
	if (!dp) {
		*all = -1.0;
		return;
	}
	struct dirent *e;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.') {
			double ns = task_cpu_ns(pid, e->d_name);
			if (ns > 0)
				*all += ns;
		}
	closedir(dp);
}

/* Steps/s of pic1d inside steerd, with n_subs subscribers to "scalars". */
static rate_result steerd_rate(unsigned scalars_every, int n_subs)
{
	char *y = pic1d_yaml(scalars_every);
	bench_daemon dm, *d = &dm;
	bench_daemon_start(d, NULL, y, DAEMON_TIMEOUT_S);
	free(y);
	subscriber subs[N_SUBSCRIBERS];
	atomic_store(&subs_stop, false);
	for (int i = 0; i < n_subs; i++) {
		subs[i].sock = bench_socket(zctx, ZMQ_SUB);
		atomic_init(&subs[i].messages, 0);
		if (zmq_connect(subs[i].sock, d->diagnostics) != 0 ||
		    zmq_setsockopt(subs[i].sock, ZMQ_SUBSCRIBE, "scalars", 7) != 0)
			bench_die("subscribe to %s: %s", d->diagnostics, zmq_strerror(errno));
		if (pthread_create(&subs[i].thread, NULL, subscriber_main, &subs[i]) != 0)
			bench_die("cannot start a subscriber thread");
	}
	void *ctl = connect_dealer(d->control);
	bench_sleep(RATE_WARMUP_S);
	unsigned long long m0[N_SUBSCRIBERS];
	for (int i = 0; i < n_subs; i++)
		m0[i] = atomic_load(&subs[i].messages);
	double t0 = bench_now(), sim0, all0, sim1, all1;
	uint64_t s0 = status_step(ctl);
	steerd_cpu_ns(d->pid, &sim0, &all0);
	bench_sleep(RATE_WINDOW_S);
	uint64_t s1 = status_step(ctl);
	steerd_cpu_ns(d->pid, &sim1, &all1);
	double t1 = bench_now();
	rate_result r = { .rate = (double)(s1 - s0) / (t1 - t0), .delivered = 1.0 };
	double steps = s1 > s0 ? (double)(s1 - s0) : 1.0;
	r.sim_cpu_us = sim0 >= 0 && sim1 >= 0 ? 1e-3 * (sim1 - sim0) / steps : NAN;
	r.proc_cpu_us = all0 >= 0 && all1 >= 0 ? 1e-3 * (all1 - all0) / steps : NAN;
	for (int i = 0; i < n_subs; i++) {
		double got = (double)(atomic_load(&subs[i].messages) - m0[i]);
		double want = scalars_every ? (double)(s1 - s0) / scalars_every : 0.0;
		if (want > 0 && got / want < r.delivered)
			r.delivered = got / want;
	}
	zmq_close(ctl);
	bench_daemon_stop(d);
	atomic_store(&subs_stop, true);
	for (int i = 0; i < n_subs; i++) {
		pthread_join(subs[i].thread, NULL);
		zmq_close(subs[i].sock);
	}
	if (n_subs > 0 && scalars_every && r.delivered < 0.5)
		bench_die("subscribers got only %.0f%% of the scalars messages", 100.0 * r.delivered);
	return r;
}

static double med_of(const rate_result *r, int n, size_t offset)
{
	double x[16];
	for (int i = 0; i < n && i < 16; i++)
		memcpy(&x[i], (const char *)&r[i] + offset, sizeof x[i]);
	return bench_median(x, (size_t)(n < 16 ? n : 16));
}

#define MED(r, n, field) med_of(r, n, offsetof(rate_result, field))

static void bench_rate_once(void)
{
	rate_result bare[RATE_ROUNDS], dae[RATE_ROUNDS];
	for (int r = 0; r < RATE_ROUNDS; r++) {
		/* alternate which goes first, so a drift in machine load hits both */
		if (r % 2 == 0)
			bare[r] = bare_rate();
		dae[r] = steerd_rate(1, N_SUBSCRIBERS);
		if (r % 2 == 1)
			bare[r] = bare_rate();
	}
	char pin[96] = "not pinned: everything shares every CPU";
	if (sim_cpu >= 0)
		snprintf(pin, sizeof pin, "run.simulation_cpu %d, the bare loop there too", sim_cpu);
	printf("steps per second, scalars every step to %d subscribers (%d rounds of %.0f s after "
	       "%.0f s warm-up, medians; %s):\n",
	       N_SUBSCRIBERS, RATE_ROUNDS, RATE_WINDOW_S, RATE_WARMUP_S, pin);
	double mb = MED(bare, RATE_ROUNDS, rate), md = MED(dae, RATE_ROUNDS, rate);
	printf("  bare adapter loop %6.0f steps/s   steerd %6.0f steps/s   ratio %.1f%% "
	       "(target >= %.0f%%: %s)\n",
	       mb, md, 100.0 * md / mb, 100.0 * TARGET_RATE_RATIO, met(md / mb >= TARGET_RATE_RATIO));
	printf("  rounds (steps/s): bare");
	for (int r = 0; r < RATE_ROUNDS; r++)
		printf(" %.0f", bare[r].rate);
	printf("; steerd");
	for (int r = 0; r < RATE_ROUNDS; r++)
		printf(" %.0f", dae[r].rate);
	printf("; subscribers got %.1f%% of the steps' messages\n",
	       100.0 * MED(dae, RATE_ROUNDS, delivered));
	double cb = MED(bare, RATE_ROUNDS, sim_cpu_us), cs = MED(dae, RATE_ROUNDS, sim_cpu_us);
	printf("  CPU per step: bare loop %.1f us; steerd simulation thread %.1f us (ratio %.1f%%: "
	       "steerd's rate with a core to itself); all steerd threads %.1f us\n",
	       cb, cs, 100.0 * cb / cs, MED(dae, RATE_ROUNDS, proc_cpu_us));
	fflush(stdout);
}

/* Pin (cpu >= 0: this thread and the threads it starts off cpu) or unpin (-1). */
static void set_sim_cpu(int cpu, const cpu_set_t *allowed)
{
	if (cpu >= 0) {
		others = *allowed;
		CPU_CLR(cpu, &others);
		pthread_setaffinity_np(pthread_self(), sizeof others, &others);
	} else {
		pthread_setaffinity_np(pthread_self(), sizeof *allowed, allowed);
	}
	sim_cpu = cpu;
}

static void bench_rate(void)
{
	int last = -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all_cpus))
			last = c;
	if (CPU_COUNT(&all_cpus) >= 2) {
		set_sim_cpu(last, &all_cpus);
		bench_rate_once();
		set_sim_cpu(-1, &all_cpus);
	}
	bench_rate_once();
}

/* The experiments behind the rate figure: what each part of steering costs. */
static void explore(void)
{
	static const struct {
		unsigned every;
		int subs;
		const char *what;
	} variants[] = {
		{ 0, 0, "scalars_every 0, no subscribers" },
		{ 1, 0, "scalars_every 1, no subscribers" },
		{ 1, 1, "scalars_every 1, 1 subscriber  " },
		{ 1, 4, "scalars_every 1, 4 subscribers " },
	};
	enum { NV = sizeof variants / sizeof variants[0], ROUNDS = 3 };
	rate_result bare[ROUNDS], res[NV][ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		bare[r] = bare_rate();
		for (int v = 0; v < NV; v++)
			res[v][r] = steerd_rate(variants[v].every, variants[v].subs);
	}
	double mb = MED(bare, ROUNDS, rate), cb = MED(bare, ROUNDS, sim_cpu_us);
	printf("explore (%d rounds, medians):\n"
	       "  bare adapter loop                       %6.0f steps/s          CPU/step %5.1f us\n",
	       ROUNDS, mb, cb);
	for (int v = 0; v < NV; v++) {
		double m = MED(res[v], ROUNDS, rate);
		printf("  steerd %s %6.0f steps/s %5.1f%%   CPU/step sim thread %5.1f us, "
		       "all threads %5.1f us\n",
		       variants[v].what, m, 100.0 * m / mb, MED(res[v], ROUNDS, sim_cpu_us),
		       MED(res[v], ROUNDS, proc_cpu_us));
	}
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
	bool do_explore = argc > 1 && strcmp(argv[1], "--explore") == 0;
	bool rtt_only = argc > 1 && strcmp(argv[1], "--rtt-only") == 0;
	if (argc > 2 || (argc > 1 && !do_explore && !rtt_only)) {
		fprintf(stderr, "usage: bench_control [--explore | --rtt-only]\n");
		return 2;
	}
	bench_init("bench_control");
	bench_daemon_setup();
	const char *build = bench_build_dir();
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s/bench/libslow.so", build);
	if (!realpath(buf, slow_so_path))
		bench_die("no %s (build it: make BUILD=%s %s)", buf, build, buf);
	zctx = zmq_ctx_new();
	if (!zctx)
		bench_die("zmq_ctx_new failed");

	sched_getaffinity(0, sizeof all_cpus, &all_cpus);
	double t0 = bench_now();
	bench_rtt();
	if (!rtt_only)
		bench_rate();
	if (do_explore)
		explore();
	printf("(bench_control took %.0f s)\n", bench_now() - t0);

	zmq_ctx_term(zctx);
	bench_daemon_teardown();
	return 0;
}
