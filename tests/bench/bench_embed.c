/* SPDX-License-Identifier: MIT */
/*
 * bench_embed.c — what steering costs a code, three ways in one run, on the
 * default diode (the knobs and diagnostics settings of configs/diode.yaml,
 * pic1d):
 *
 *   bare      pic1d's step() called in a loop, nothing else;
 *   embedded  a code with its own loop calling steerd_boundary() around
 *             pic1d's step(), on its own instance (steerd_open with pic1d's
 *             descriptor): what libsteerd costs a code that keeps main();
 *   hosted    steerd_open(NULL, NULL) + steerd_run(): the steerd daemon's
 *             path, creating and stepping pic1d itself.
 *
 * Each way runs the same STEPS steps from step 0 (the same deterministic
 * physics, so the same work), timed from the first step to the last (open and
 * close excluded). No client is attached; scalars are published every step
 * and arrays every 100 as in the default run. Rounds rotate the order so a
 * drift in machine load hits all three; medians of the per-round ratios are
 * reported. Targets (reported, never enforced): embedded/bare and
 * hosted/bare >= 98% in steps per second of wall time. Beside it, the same
 * ratio in steps per second of the stepping thread's CPU time: on a shared,
 * loaded machine the wall-time figures swing with the others' load, the CPU
 * time much less (steerd's own threads, which publish, are not in it).
 *
 * Linked statically with the same objects as the daemon (libsteerd-core.a,
 * libsim.a), so the three ways step one copy of pic1d's code.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "pic1d/pic1d.h"
#include "steerd.h"

enum { ROUNDS = 7, STEPS = 5000 };
#define TARGET_RATIO 0.98

/* configs/diode.yaml's run, endpoints and diagnostics; no checkpoints (files). */
static const char *const SETTINGS =
	"run:\n  start: running\n  max_steps: %d\n"
	"endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
	"diagnostics:\n  scalars_every: 1\n  arrays_every: 100\n  heartbeat_ms: 1000\n"
	"  send_hwm: 1000\n  indicators: [virtual_cathode]\n  indicator_dwell_steps: 1000\n"
	"log_level: warn\n";

static char conn_path[PATH_MAX];

/* What one way measured: steps per second of wall time and of thread CPU time. */
typedef struct rate {
	double wall, cpu;
} rate;

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct timer {
	double wall, cpu;
} timer;

static timer timer_start(void) { return (timer){ bench_now(), thread_cpu() }; }
static rate timer_rate(timer t0)
{
	return (rate){ STEPS / (bench_now() - t0.wall), STEPS / (thread_cpu() - t0.cpu) };
}

static char *config_text(bool hosted)
{
	char *y = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&y, &len);
	if (!f)
		bench_die("out of memory");
	if (hosted) {
		fprintf(f, "simulation:\n  adapter: pic1d\n  knobs:\n");
		bench_diode_knobs_yaml(f, 4);
	}
	/* Embedded: the code stops itself after STEPS; hosted: run.max_steps does. */
	fprintf(f, SETTINGS, hosted ? STEPS : 0);
	fclose(f);
	return y;
}

static void *diode_sim(const sa_adapter *sa)
{
	sa_value v[64];
	if (sa->n_knobs > 64)
		bench_die("pic1d has too many knobs");
	bench_diode_values(sa, v);
	char err[256];
	void *sim = sa->create(v, NULL, err, sizeof err);
	if (!sim)
		bench_die("pic1d create: %s", err);
	return sim;
}

static steerd_options options(const char *yaml)
{
	steerd_options o = STEERD_OPTIONS_INIT;
	o.config_text = yaml;
	o.connection_file = conn_path;
	return o;
}

/* Steps per second of each way. */
static rate bare_rate(void)
{
	const sa_adapter *sa = pic1d_adapter();
	void *sim = diode_sim(sa);
	char err[256];
	timer t0 = timer_start();
	for (int i = 0; i < STEPS; i++)
		if (sa->step(sim, err, sizeof err) < 0)
			bench_die("pic1d step: %s", err);
	rate r = timer_rate(t0);
	sa->destroy(sim);
	return r;
}

static rate embedded_rate(void)
{
	const sa_adapter *sa = pic1d_adapter();
	void *sim = diode_sim(sa);
	char *yaml = config_text(false);
	steerd_options o = options(yaml);
	char err[512];
	steerd *s = steerd_open(sa, sim, &o, err, sizeof err);
	if (!s)
		bench_die("steerd_open (embedded): %s", err);
	timer t0 = timer_start();
	for (int i = 0;; i++) { /* the code's own loop */
		if (steerd_boundary(s) != STEERD_GO)
			bench_die("steerd_boundary stopped at step %d: %s", i, steerd_last_error());
		if (i == STEPS)
			break;
		if (sa->step(sim, err, sizeof err) < 0)
			bench_die("pic1d step: %s", err);
	}
	rate r = timer_rate(t0);
	if (steerd_close(&s) < 0)
		bench_die("steerd_close (embedded) failed");
	free(yaml);
	if (sa->step_count(sim) != STEPS)
		bench_die("embedded run at step %llu, not %d", (unsigned long long)sa->step_count(sim),
		          STEPS);
	sa->destroy(sim);
	return r;
}

static rate hosted_rate(void)
{
	char *yaml = config_text(true);
	steerd_options o = options(yaml);
	char err[512];
	steerd *s = steerd_open(NULL, NULL, &o, err, sizeof err);
	if (!s)
		bench_die("steerd_open (hosted): %s", err);
	timer t0 = timer_start();
	if (steerd_run(s) < 0)
		bench_die("steerd_run: %s", steerd_last_error());
	rate r = timer_rate(t0);
	if (steerd_close(&s) < 0)
		bench_die("steerd_close (hosted) failed");
	free(yaml);
	return r;
}

int main(void)
{
	bench_init("bench_embed");
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX - 64];
	snprintf(dir, sizeof dir, "%s/bench_embed.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		bench_die("cannot make a directory in %s", tmp && *tmp ? tmp : "/tmp");
	snprintf(conn_path, sizeof conn_path, "%s/conn.json", dir);

	rate (*const way[3])(void) = { bare_rate, embedded_rate, hosted_rate };
	static const char *const name[3] = { "bare", "embedded", "hosted" };
	rate got[3][ROUNDS];
	double ratio[2][2][ROUNDS]; /* [embedded, hosted][wall, cpu][round] */
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < 3; i++) { /* rotate who goes first */
			int w = (r + i) % 3;
			got[w][r] = way[w]();
		}
		for (int w = 1; w < 3; w++) {
			ratio[w - 1][0][r] = got[w][r].wall / got[0][r].wall;
			ratio[w - 1][1][r] = got[w][r].cpu / got[0][r].cpu;
		}
	}
	rmdir(dir);

	printf("default diode (configs/diode.yaml knobs, pic1d), %d steps from step 0, %d rounds, "
	       "medians:\n", STEPS, ROUNDS);
	for (int w = 0; w < 3; w++) {
		double x[ROUNDS], c[ROUNDS];
		for (int r = 0; r < ROUNDS; r++) {
			x[r] = got[w][r].wall;
			c[r] = got[w][r].cpu;
		}
		printf("  %-8s %7.0f steps/s wall, %7.0f steps/s of thread CPU   (wall rounds:", name[w],
		       bench_median(x, ROUNDS), bench_median(c, ROUNDS));
		for (int r = 0; r < ROUNDS; r++)
			printf(" %.0f", got[w][r].wall);
		printf(")\n");
	}
	for (int w = 0; w < 2; w++) {
		double wall = bench_median(ratio[w][0], ROUNDS), cpu = bench_median(ratio[w][1], ROUNDS);
		printf("  %s/bare %.1f%% in wall time (target >= %.0f%%: %s); %.1f%% in thread CPU time\n",
		       name[w + 1], 100.0 * wall, 100.0 * TARGET_RATIO,
		       wall >= TARGET_RATIO ? "met" : "NOT met", 100.0 * cpu);
	}
	return 0;
}
