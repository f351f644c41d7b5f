/* SPDX-License-Identifier: MIT */
/*
 * bench_steerd_mpi.c — what steering costs an MPI run (make bench): steps/s
 * of parallel pic1d on the default diode (configs/diode.yaml's knobs and
 * diagnostics settings) over MPI, three ways in one run:
 *
 *   bare      every rank calls pic1d's step() in a loop, nothing else (the
 *             MPI loop of tests/mpi/pic1d_mpi: one allreduce per step);
 *   embedded  an MPI code's own loop around steerd_boundary()
 *             (steerd_open_mpi with pic1d's descriptor);
 *   hosted    steerd-mpi's path: steerd_open_mpi_with(hosted) + steerd_run();
 *   +allreduce  bare plus one MPI_Allreduce of two ints per step, what a quiet
 *             boundary adds to the communication: the rest of steerd's cost
 *             is its serial boundary work on rank 0 (tests/bench/bench_embed).
 *
 * Nothing changes during the run (no client): every boundary is the quiet
 * one, one MPI_Allreduce of two ints. Each way runs STEPS steps from step 0
 * (the same physics, so the same work), timed on every rank from the first
 * step to the last; a way's time is the slowest rank's. Rounds rotate the
 * order; medians of the per-round ratios are reported, against a target of
 * >= 98% (reported, never enforced: the machine is shared and noisy).
 *
 *   mpirun -np 2 build/mpi/bench/bench_steerd_mpi
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bench/bench_util.h"
#include "lib_mpi.h"
#include "pic1d/pic1d.h"

enum { ROUNDS = 7, STEPS = 5000 };
#define TARGET_RATIO 0.98

static const char *const SETTINGS =
	"run:\n  start: running\n  max_steps: %d\n"
	"endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
	"diagnostics:\n  scalars_every: 1\n  arrays_every: 100\n  heartbeat_ms: 1000\n"
	"  send_hwm: 1000\n  indicators: [virtual_cathode]\n  indicator_dwell_steps: 1000\n"
	"log_level: warn\n";

static char conn_path[PATH_MAX];
static int rank;

/* The slowest rank's steps per second since t0 (collective). */
static double rate_since(double t0)
{
	double mine = bench_now() - t0, slowest;
	MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
	return STEPS / slowest;
}

static double start_clock(void)
{
	MPI_Barrier(MPI_COMM_WORLD);
	return bench_now();
}

static char *config_text(int hosted)
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
	fprintf(f, SETTINGS, hosted ? STEPS : 0);
	fclose(f);
	return y;
}

static MPI_Comm world = MPI_COMM_WORLD;

static void *diode_sim(const sa_adapter *sa)
{
	static sa_host host = { .size = sizeof host, .mpi_comm = &world };
	sa_value v[64];
	bench_diode_values(sa, v);
	char err[256];
	void *sim = sa->create(v, &host, err, sizeof err);
	if (!sim)
		bench_die("pic1d create: %s", err);
	return sim;
}

static double bare_rate(void)
{
	const sa_adapter *sa = pic1d_adapter();
	void *sim = diode_sim(sa);
	char err[256];
	double t0 = start_clock();
	for (int i = 0; i < STEPS; i++)
		if (sa->step(sim, err, sizeof err) < 0)
			bench_die("pic1d step: %s", err);
	double r = rate_since(t0);
	sa->destroy(sim);
	return r;
}

static double allreduce_rate(void)
{
	const sa_adapter *sa = pic1d_adapter();
	void *sim = diode_sim(sa);
	char err[256];
	double t0 = start_clock();
	for (int i = 0; i < STEPS; i++) {
		if (sa->step(sim, err, sizeof err) < 0)
			bench_die("pic1d step: %s", err);
		int mine[2] = { 0, rank == 0 }, all[2];
		MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	}
	double r = rate_since(t0);
	sa->destroy(sim);
	return r;
}

static double embedded_rate(void)
{
	const sa_adapter *sa = pic1d_adapter();
	void *sim = diode_sim(sa);
	char *yaml = config_text(0);
	steerd_options o = STEERD_OPTIONS_INIT;
	o.config_text = yaml;
	o.connection_file = conn_path;
	char err[512];
	steerd *s = steerd_open_mpi(MPI_COMM_WORLD, sa, sim, &o, err, sizeof err);
	if (!s)
		bench_die("steerd_open_mpi: %s", err);
	double t0 = start_clock();
	for (int i = 0;; i++) {
		if (steerd_boundary(s) != STEERD_GO)
			bench_die("steerd_boundary stopped at step %d", i);
		if (i == STEPS)
			break;
		if (sa->step(sim, err, sizeof err) < 0)
			steerd_step_failed(s, err);
	}
	double r = rate_since(t0);
	steerd_close(&s);
	free(yaml);
	sa->destroy(sim);
	return r;
}

static double hosted_rate(void)
{
	char *yaml = config_text(1);
	steerd_open_args a = { .config_text = yaml, .connection_file = conn_path, .log_level = -1 };
	char err[512];
	int status;
	steerd *s = steerd_open_mpi_with(MPI_COMM_WORLD, &a, &status, err, sizeof err);
	if (!s)
		bench_die("steerd_open_mpi_with (hosted): %s", err);
	double t0 = start_clock();
	if (steerd_run(s) < 0)
		bench_die("steerd_run: %s", steerd_last_error());
	double r = rate_since(t0);
	steerd_close(&s);
	free(yaml);
	return r;
}

int main(int argc, char **argv)
{
	int provided, size;
	MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	bench_init("bench_steerd_mpi");
	char dir[PATH_MAX - 64] = "";
	if (rank == 0) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/bench_steerd_mpi.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			bench_die("cannot make a directory");
		snprintf(conn_path, sizeof conn_path, "%s/conn.json", dir);
	}
	enum { WAYS = 4 };
	double (*const way[WAYS])(void) = { bare_rate, embedded_rate, hosted_rate, allreduce_rate };
	static const char *const name[WAYS] = { "bare", "embedded", "hosted", "+allreduce" };
	double got[WAYS][ROUNDS], ratio[WAYS - 1][ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < WAYS; i++) {
			int w = (r + i) % WAYS;
			got[w][r] = way[w]();
		}
		for (int w = 1; w < WAYS; w++)
			ratio[w - 1][r] = got[w][r] / got[0][r];
	}
	if (rank == 0) {
		rmdir(dir);
		double load[1];
		getloadavg(load, 1);
		printf("MPI: default diode over %d ranks (pic1d, one allreduce per step), %d steps from "
		       "step 0, %d rounds, slowest rank, medians (load average %.2f on %ld CPUs):\n",
		       size, STEPS, ROUNDS, load[0], sysconf(_SC_NPROCESSORS_ONLN));
		for (int w = 0; w < WAYS; w++) {
			double x[ROUNDS];
			memcpy(x, got[w], sizeof x);
			printf("  %-10s %7.0f steps/s   (rounds:", name[w], bench_median(x, ROUNDS));
			for (int r = 0; r < ROUNDS; r++)
				printf(" %.0f", got[w][r]);
			printf(")\n");
		}
		for (int w = 0; w < 2; w++) {
			double m = bench_median(ratio[w], ROUNDS);
			printf("  MPI %s/bare %.1f%% (target >= %.0f%%: %s)\n", name[w + 1], 100.0 * m,
			       100.0 * TARGET_RATIO, m >= TARGET_RATIO ? "met" : "NOT met");
		}
		printf("  MPI +allreduce/bare %.1f%%: the quiet boundary's collective alone\n",
		       100.0 * bench_median(ratio[2], ROUNDS));
	}
	MPI_Finalize();
	return 0;
}
