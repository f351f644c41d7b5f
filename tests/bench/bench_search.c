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
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

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

static void *zctx;
static char tmpdir[512], steerd_path[PATH_MAX];

typedef struct daemon_proc {
	pid_t pid;
	char config[PATH_MAX + 16], conn[PATH_MAX + 16], log[PATH_MAX + 16];
	char control[256], diagnostics[256];
	void *ctl;
	int next_id;
} daemon_proc;

static daemon_proc *current; /* killed by die() */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void print_log(const daemon_proc *d)
{
	FILE *f = fopen(d->log, "r");
	char line[512];
	if (!f)
		return;
	fprintf(stderr, "--- %s ---\n", d->log);
	while (fgets(line, sizeof line, f))
		fputs(line, stderr);
	fclose(f);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_search: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (current && current->pid > 0) {
		print_log(current);
		kill(current->pid, SIGKILL);
		waitpid(current->pid, NULL, 0);
	}
	exit(1);
}

static void on_signal(int sig)
{
	(void)sig;
	if (current && current->pid > 0)
		kill(current->pid, SIGKILL);
	_exit(1);
}

static void *socket_to(int type, const char *endpoint)
{
	void *s = zmq_socket(zctx, type);
	int zero = 0;
	if (!s)
		die("zmq_socket: %s", zmq_strerror(errno));
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	if (zmq_connect(s, endpoint) != 0)
		die("connect %s: %s", endpoint, zmq_strerror(errno));
	return s;
}

static daemon_proc *daemon_start(double current_density)
{
	static int n;
	daemon_proc *d = calloc(1, sizeof *d);
	if (!d)
		die("out of memory");
	n++;
	snprintf(d->config, sizeof d->config, "%s/run%d.yaml", tmpdir, n);
	snprintf(d->conn, sizeof d->conn, "%s/run%d.json", tmpdir, n);
	snprintf(d->log, sizeof d->log, "%s/run%d.log", tmpdir, n);
	FILE *f = fopen(d->config, "w");
	if (!f || fprintf(f, yaml_fmt, current_density) < 0 || fclose(f) != 0)
		die("cannot write %s", d->config);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(steerd_path, "steerd", "-c", d->config, "-C", d->conn, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	current = d;
	for (double t0 = now();; sleep_s(0.005)) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->pid = 0;
			print_log(d);
			die("steerd exited at start");
		}
		json_t *j = json_load_file(d->conn, 0, NULL);
		const char *c = json_string_value(json_object_get(j, "control"));
		const char *s = json_string_value(json_object_get(j, "diagnostics"));
		if (c && s) {
			snprintf(d->control, sizeof d->control, "%s", c);
			snprintf(d->diagnostics, sizeof d->diagnostics, "%s", s);
			json_decref(j);
			break;
		}
		json_decref(j);
		if (now() - t0 > 20)
			die("steerd wrote no connection file within 20 s");
	}
	d->ctl = socket_to(ZMQ_DEALER, d->control);
	return d;
}

static void daemon_stop(daemon_proc *d)
{
	int status = 0;
	zmq_close(d->ctl);
	kill(d->pid, SIGTERM);
	for (double t0 = now(); waitpid(d->pid, &status, WNOHANG) != d->pid; sleep_s(0.002))
		if (now() - t0 > 20)
			die("steerd did not stop within 20 s of SIGTERM");
	d->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_log(d);
		die("steerd exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	unlink(d->config);
	unlink(d->log);
	unlink(d->conn);
	current = NULL;
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
	snprintf(hdr, sizeof hdr, "{\"cmd\":\"%s\",\"id\":%d,\"client\":\"bench_search\"}", cmd, id);
	if (!b || zmq_send(d->ctl, "", 0, ZMQ_SNDMORE) < 0 ||
	    zmq_send(d->ctl, hdr, strlen(hdr), ZMQ_SNDMORE) < 0 ||
	    zmq_send(d->ctl, b, strlen(b), 0) < 0)
		die("send %s: %s", cmd, zmq_strerror(errno));
	free(b);
	for (;;) {
		zmq_pollitem_t it = { .socket = d->ctl, .events = ZMQ_POLLIN };
		if (zmq_poll(&it, 1, (long)(timeout_s * 1000)) <= 0)
			die("no reply to %s within %g s", cmd, timeout_s);
		zmq_msg_t f[3];
		int n = 0, more = 1;
		while (more) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, d->ctl, 0) < 0)
				die("recv: %s", zmq_strerror(errno));
			more = zmq_msg_more(&m);
			if (n < 3)
				f[n] = m;
			else
				zmq_msg_close(&m);
			n++;
		}
		if (n != 3)
			die("reply to %s has %d frames", cmd, n);
		json_t *h = json_loadb(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 0, NULL);
		json_t *r = json_loadb(zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), 0, NULL);
		for (int i = 0; i < 3; i++)
			zmq_msg_close(&f[i]);
		if (json_integer_value(json_object_get(h, "id")) != id) { /* a stale reply */
			json_decref(h);
			json_decref(r);
			continue;
		}
		if (!json_is_true(json_object_get(h, "ok"))) {
			char *s = json_dumps(r, JSON_COMPACT);
			die("%s failed: %s", cmd, s ? s : "?");
		}
		json_decref(h);
		return r;
	}
}

static long long int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		die("reply lacks integer %s", key);
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
	double t0 = now();
	json_t *r = call(d, "search",
	                 json_pack("{s:s, s:f, s:f, s:s, s:I, s:f}", "knob", "injected_current", "from",
	                           FROM, "to", TO, "until", "virtual_cathode", "hold",
	                           (json_int_t)hold, "tol", TOL),
	                 1800);
	search_result s = { .wall = now() - t0 };
	if (!json_is_true(json_object_get(r, "converged")))
		die("the search did not converge");
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

static restart_result run_restart(double factor, double value, long long steps)
{
	restart_result res = { .factor = factor, .value = value, .onset = -1, .steps = steps };
	daemon_proc *d = daemon_start(value);
	void *sub = socket_to(ZMQ_SUB, d->diagnostics);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "event.indicator", 15);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "heartbeat", 9);
	/* A heartbeat after the subscriptions: they are live. */
	for (double t0 = now();;) {
		zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
		if (now() - t0 > 20)
			die("no heartbeat within 20 s");
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
	double t0 = now();
	json_t *r = call(d, "step", json_pack("{s:I}", "n", (json_int_t)steps), 10);
	long long until = int_of(r, "until");
	json_decref(r);
	for (;;) {
		zmq_pollitem_t it = { .socket = sub, .events = ZMQ_POLLIN };
		if (zmq_poll(&it, 1, 50) > 0) {
			zmq_msg_t t, h;
			zmq_msg_init(&t);
			zmq_msg_init(&h);
			zmq_msg_recv(&t, sub, 0);
			zmq_msg_recv(&h, sub, 0);
			json_t *hdr = json_loadb(zmq_msg_data(&h), zmq_msg_size(&h), 0, NULL);
			if (res.onset < 0 && json_is_true(json_object_get(hdr, "on")))
				res.onset = int_of(hdr, "step") - (until - steps);
			json_decref(hdr);
			zmq_msg_close(&t);
			zmq_msg_close(&h);
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
	for (;;) {
		zmq_msg_t t, h;
		zmq_msg_init(&t);
		if (zmq_msg_recv(&t, sub, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&t);
			break;
		}
		zmq_msg_init(&h);
		zmq_msg_recv(&h, sub, 0);
		json_t *hdr = json_loadb(zmq_msg_data(&h), zmq_msg_size(&h), 0, NULL);
		if (res.onset < 0 && json_is_true(json_object_get(hdr, "on")))
			res.onset = int_of(hdr, "step") - (until - steps);
		json_decref(hdr);
		zmq_msg_close(&t);
		zmq_msg_close(&h);
	}
	res.wall = now() - t0;
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
	const char *build = getenv("STEERD_BUILD");
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s/bin/steerd", build && *build ? build : "build");
	if (!realpath(buf, steerd_path) || access(steerd_path, X_OK) != 0) {
		fprintf(stderr, "bench_search: no steerd at %s (build it, or set STEERD_BUILD)\n", buf);
		return 1;
	}
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/bench_search.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	zctx = zmq_ctx_new();

	double k = 4 * eps0 / 9 * sqrt(2 * e_charge / m_e);
	double j_limit = 8 * k * pow(v0_volts, 1.5) / (gap * gap);
	double transit = gap / sqrt(2 * e_charge * v0_volts / m_e);
	long long hold = (long long)ceil(50 * transit / dt);
	double t_all = now();

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
	printf("(bench_search took %.0f s)\n", now() - t_all);
	zmq_ctx_term(zctx);
	rmdir(tmpdir);
	return 0;
}
