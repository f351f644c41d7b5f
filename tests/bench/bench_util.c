/* SPDX-License-Identifier: MIT */
/*
 * bench_util.c — the helpers the benchmarks share; see bench_util.h.
 */
#include "bench_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

/* ---- time and statistics ------------------------------------------------ */

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bench_sleep(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void bench_sort(double *x, size_t n)
{
	qsort(x, n, sizeof *x, cmp_double);
}

double bench_median(double *x, size_t n)
{
	bench_sort(x, n);
	return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

double bench_percentile(double *x, size_t n, double q)
{
	bench_sort(x, n);
	size_t k = (size_t)(q * (double)n + 0.999999); /* the rank: ceil(q n), at least 1 */
	return x[k ? k - 1 : 0];
}

/* ---- steerd processes: state -------------------------------------------- */

/*
 * Daemons running, for bench_die() and the signal handler to kill: a bench
 * that dies half-way must not leave steerd processes behind, stepping flat
 * out and loading the machine for the next measurement.
 */
#define MAX_DAEMONS 32

static const char *prog = "bench";
static bench_daemon *live[MAX_DAEMONS];
static int n_started;
static char tmpdir[512];
static char steerd_path[PATH_MAX];
static cpu_set_t start_cpus;
static int have_start_cpus;

static void print_log(const bench_daemon *d)
{
	FILE *f = fopen(d->log, "r");
	if (!f)
		return;
	char line[512];
	fprintf(stderr, "--- %s ---\n", d->log);
	while (fgets(line, sizeof line, f))
		fputs(line, stderr);
	fclose(f);
}

/* Kills what runs and removes its files but the log, which an error message
 * may point at; then the tmpdir, which stays while a log does. */
static void cleanup(void)
{
	for (int i = 0; i < MAX_DAEMONS; i++) {
		bench_daemon *d = live[i];
		if (!d)
			continue;
		live[i] = NULL;
		if (d->pid > 0) {
			print_log(d);
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
			d->pid = 0;
		}
		unlink(d->config);
		unlink(d->conn);
	}
	if (tmpdir[0])
		rmdir(tmpdir); /* fails, harmlessly, while a log is kept */
}

/* ---- errors ------------------------------------------------------------- */

void bench_init(const char *name)
{
	prog = name;
}

void bench_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	cleanup();
	exit(1);
}

/* Async-signal-safe: kill(2) and _exit(2) only. */
static void on_signal(int sig)
{
	(void)sig;
	for (int i = 0; i < MAX_DAEMONS; i++)
		if (live[i] && live[i]->pid > 0)
			kill(live[i]->pid, SIGKILL);
	_exit(1);
}

/* ---- steerd processes --------------------------------------------------- */

const char *bench_build_dir(void)
{
	const char *b = getenv("STEERD_BUILD");
	return b && *b ? b : "build";
}

void bench_daemon_setup(void)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s/bin/steerd", bench_build_dir());
	if (!realpath(buf, steerd_path) || access(steerd_path, X_OK) != 0)
		bench_die("no steerd at %s (build it, or set STEERD_BUILD)", buf);

	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/%s.XXXXXX", t && *t ? t : "/tmp", prog);
	if (!mkdtemp(tmpdir)) {
		int e = errno;
		tmpdir[0] = '\0';
		bench_die("mkdtemp: %s", strerror(e));
	}

	have_start_cpus = sched_getaffinity(0, sizeof start_cpus, &start_cpus) == 0;

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

const char *bench_tmpdir(void)
{
	return tmpdir;
}

void bench_daemon_teardown(void)
{
	cleanup();
	tmpdir[0] = '\0';
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reads the connection file once steerd has written it: 1 ready, 0 not yet. */
static int read_connection_file(bench_daemon *d)
{
	json_t *j = json_load_file(d->conn, 0, NULL);
	if (!j)
		return 0; /* not there yet */
	const char *c = json_string_value(json_object_get(j, "control"));
	const char *s = json_string_value(json_object_get(j, "diagnostics"));
	int ok = c && s && strlen(c) < sizeof d->control && strlen(s) < sizeof d->diagnostics;
	if (ok) {
		strcpy(d->control, c);
		strcpy(d->diagnostics, s);
	}
	json_decref(j);
	if (!ok)
		bench_die("%s lacks control or diagnostics endpoints", d->conn);
	return 1;
}

void bench_daemon_start(bench_daemon *d, const char *name, const char *yaml, double timeout_s)
{
	memset(d, 0, sizeof *d);
	int id = ++n_started;
	if (name)
		snprintf(d->name, sizeof d->name, "%s", name);
	else
		snprintf(d->name, sizeof d->name, "run%d", id);
	d->timeout_s = timeout_s;
	snprintf(d->config, sizeof d->config, "%s/%s.yaml", tmpdir, d->name);
	snprintf(d->conn, sizeof d->conn, "%s/%s.json", tmpdir, d->name);
	snprintf(d->log, sizeof d->log, "%s/%s.log", tmpdir, d->name);

	/* registered before there is a process, so that no error path misses it */
	int slot = 0;
	while (slot < MAX_DAEMONS && live[slot])
		slot++;
	if (slot == MAX_DAEMONS)
		bench_die("more than %d steerd processes at once", MAX_DAEMONS);
	live[slot] = d;

	FILE *f = fopen(d->config, "w");
	if (!f || fputs(yaml, f) < 0 || fclose(f) != 0)
		bench_die("cannot write %s: %s", d->config, strerror(errno));

	fflush(NULL); /* or the child would write this process's buffers again */
	pid_t pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		/* steerd places its own threads (run.simulation_cpu): whatever CPU
		 * the calling thread is pinned to, give it every CPU we started with */
		if (have_start_cpus)
			sched_setaffinity(0, sizeof start_cpus, &start_cpus);
		execl(steerd_path, "steerd", "-c", d->config, "-C", d->conn, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", steerd_path, strerror(errno));
		_exit(127);
	}
	d->pid = pid;

	for (double t0 = bench_now();; bench_sleep(0.005)) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->pid = 0;
			print_log(d);
			bench_die("steerd (%s) exited at start (status %d)", d->name, exit_code(status));
		}
		if (read_connection_file(d))
			return;
		if (bench_now() - t0 > timeout_s) {
			print_log(d);
			bench_die("steerd (%s) wrote no connection file %s within %g s", d->name, d->conn,
			          timeout_s);
		}
	}
}

void bench_daemon_stop(bench_daemon *d)
{
	kill(d->pid, SIGTERM);
	int status = 0;
	for (double t0 = bench_now(); waitpid(d->pid, &status, WNOHANG) != d->pid; bench_sleep(0.002))
		if (bench_now() - t0 > d->timeout_s) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			d->pid = 0;
			print_log(d);
			bench_die("steerd (%s) did not stop within %g s of SIGTERM", d->name, d->timeout_s);
		}
	d->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_log(d);
		bench_die("steerd (%s) exited with status %d after SIGTERM", d->name, exit_code(status));
	}
	for (int i = 0; i < MAX_DAEMONS; i++)
		if (live[i] == d)
			live[i] = NULL;
	unlink(d->config);
	unlink(d->log);
	unlink(d->conn); /* steerd removes it; in case it did not */
}

/* ---- requests ----------------------------------------------------------- */

void *bench_socket(void *zctx, int type)
{
	void *s = zmq_socket(zctx, type);
	if (!s)
		bench_die("zmq_socket: %s", zmq_strerror(errno));
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	return s;
}

void bench_connect(void *sock, const char *endpoint)
{
	if (zmq_connect(sock, endpoint) != 0)
		bench_die("connect %s: %s", endpoint, zmq_strerror(errno));
}

int bench_request_header(char *buf, size_t size, const char *cmd, int id, const char *client)
{
	int n = snprintf(buf, size, "{\"cmd\":\"%s\",\"id\":%d,\"client\":\"%s\"}", cmd, id, client);
	if (n < 0 || (size_t)n >= size)
		bench_die("request header for %s too long", cmd);
	return n;
}

int bench_send_request(void *sock, const char *header, size_t hlen, const char *body, size_t blen)
{
	if (zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(sock, header, hlen, ZMQ_SNDMORE) < 0 ||
	    zmq_send(sock, body, blen, 0) < 0)
		return -1;
	return 0;
}

int bench_recv_multipart(void *sock, zmq_msg_t *frames, int max)
{
	int n = 0, more = 1;
	while (more) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, 0) < 0) {
			int e = errno;
			zmq_msg_close(&m);
			bench_close_frames(frames, n, max);
			errno = e;
			return -1;
		}
		more = zmq_msg_more(&m);
		if (n < max)
			frames[n] = m;
		else
			zmq_msg_close(&m);
		n++;
	}
	return n;
}

void bench_close_frames(zmq_msg_t *frames, int n, int max)
{
	for (int i = 0; i < n && i < max; i++)
		zmq_msg_close(&frames[i]);
}

/* ---- the default run ---------------------------------------------------- */

/* The knobs of configs/diode.yaml: given to steerd and to a bare loop alike. */
static const struct {
	const char *name, *value;
} diode_knobs[] = {
	{ "gap", "0.01" },
	{ "cells", "200" },
	{ "dt", "2.0e-12" },
	{ "particles_per_step", "40" },
	{ "seed", "1" },
	{ "emission", "beam" },
	{ "average_window", "500" },
	{ "phase_sample", "2000" },
	{ "max_particles", "10000000" },
	{ "injected_current", "1000" },
	{ "anode_voltage", "1000" },
	{ "injection_energy", "100" },
	{ "thermal_energy", "0" },
	{ "vc_threshold", "0.01" },
};
#define N_DIODE_KNOBS (sizeof diode_knobs / sizeof diode_knobs[0])

void bench_diode_knobs_yaml(FILE *f, int indent)
{
	for (size_t i = 0; i < N_DIODE_KNOBS; i++)
		fprintf(f, "%*s%s: %s\n", indent, "", diode_knobs[i].name, diode_knobs[i].value);
}

void bench_diode_values(const sa_adapter *sa, sa_value *v)
{
	for (size_t k = 0; k < sa->n_knobs; k++)
		v[k] = sa->knobs[k].def;
	for (size_t i = 0; i < N_DIODE_KNOBS; i++) {
		size_t k = 0;
		while (k < sa->n_knobs && strcmp(sa->knobs[k].name, diode_knobs[i].name) != 0)
			k++;
		if (k == sa->n_knobs)
			bench_die("pic1d has no knob '%s'", diode_knobs[i].name);
		const sa_knob *kn = &sa->knobs[k];
		const char *text = diode_knobs[i].value;
		switch (kn->type) {
		case SA_DOUBLE: v[k].d = strtod(text, NULL); break;
		case SA_INT:
		case SA_BOOL: v[k].i = (int64_t)strtod(text, NULL); break;
		case SA_ENUM: {
			int64_t c = 0;
			while (kn->choices[c] && strcmp(kn->choices[c], text) != 0)
				c++;
			if (!kn->choices[c])
				bench_die("pic1d knob %s has no choice '%s'", kn->name, text);
			v[k].i = c;
			break;
		}
		}
	}
}
