/* SPDX-License-Identifier: MIT */
/*
 * bench_steerd_mpi.c — what steering costs an MPI run (make bench): steps/s
 * of parallel pic1d on the default diode (configs/diode.yaml's knobs and
 * diagnostics settings, history kept) over MPI, with nothing changing (no
 * client: every boundary is the quiet one, one MPI_Allreduce of two ints).
 *
 * 1. Interleaved, at steady state: three instances are stepped WARM steps
 *    (the gap fills), then take turns, SEG steps each, PAIRS times:
 *      bare        pic1d's step() in a loop (one allreduce per step);
 *      embedded    an MPI code's own loop around steerd_boundary()
 *                  (steerd_open_mpi with pic1d's descriptor);
 *      +allreduce  bare plus one MPI_Allreduce of two ints per step: what a
 *                  quiet boundary adds to the communication.
 *    They are at the same step at each turn (pic1d is deterministic), so
 *    they do the same work; a turn lasts a few tens of ms, so the host's
 *    drift (this is a shared machine) touches each pair alike, and the
 *    median of the per-turn ratios is reported. Done on the default diode
 *    (some 37 us a step on 2 ranks: the hardest case for a per-step
 *    collective) and on configs/diode-1M.yaml's knobs (10^6 particles, the
 *    size the strong-scaling bench runs: BIG_WARM steps, BIG_SEG a turn).
 * 2. From step 0, ROUNDS rounds of STEPS steps, order rotating:
 *      hosted      steerd-mpi's path (steerd_open_mpi_with(hosted) +
 *                  steerd_run()), against bare from step 0.
 *
 * A segment's time is the slowest rank's, from a barrier to its last step.
 * Targets (>= 98%) are reported, never enforced. BENCH_STEPS sets STEPS.
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

enum { ROUNDS = 7, WARM = 4000, SEG = 1000, PAIRS = 41, BIG_WARM = 800, BIG_SEG = 20 };
static int STEPS = 10000; /* BENCH_STEPS overrides */
#define TARGET_RATIO 0.98

static const char *const SETTINGS =
	"run:\n  start: running\n  max_steps: %d\n"
	"endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
	"diagnostics:\n  scalars_every: 1\n  arrays_every: 100\n  heartbeat_ms: 1000\n"
	"  send_hwm: 1000\n  indicators: [virtual_cathode]\n  indicator_dwell_steps: 1000\n"
	"log_level: warn\n";

static char conn_path[PATH_MAX];
static int rank;

/* The slowest rank's steps per second for n steps since t0 (collective). */
static double rate_of(int n, double t0)
{
	double mine = bench_now() - t0, slowest;
	MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
	return n / slowest;
}

static double rate_since(double t0) { return rate_of(STEPS, t0); }

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

/* The default diode, or (big) configs/diode-1M.yaml's: 2600 particles a step at 100 A/m^2. */
static void *diode_sim(const sa_adapter *sa, int big)
{
	static sa_host host = { .size = sizeof host, .mpi_comm = &world };
	sa_value v[64];
	bench_diode_values(sa, v);
	for (size_t k = 0; big && k < sa->n_knobs; k++) {
		if (strcmp(sa->knobs[k].name, "particles_per_step") == 0)
			v[k].i = 2600;
		if (strcmp(sa->knobs[k].name, "injected_current") == 0)
			v[k].d = 100;
	}
	char err[256];
	void *sim = sa->create(v, &host, err, sizeof err);
	if (!sim)
		bench_die("pic1d create: %s", err);
	return sim;
}


/* ---- 1. interleaved at steady state ---------------------------------------- */

static void step_or_die(const sa_adapter *sa, void *sim)
{
	char err[256];
	if (sa->step(sim, err, sizeof err) < 0)
		bench_die("pic1d step: %s", err);
}

static int seg = SEG; /* steps a turn */

static double seg_bare(const sa_adapter *sa, void *sim)
{
	double t0 = start_clock();
	for (int i = 0; i < seg; i++)
		step_or_die(sa, sim);
	return rate_of(seg, t0);
}

static double seg_allreduce(const sa_adapter *sa, void *sim)
{
	double t0 = start_clock();
	for (int i = 0; i < seg; i++) {
		step_or_die(sa, sim);
		int mine[2] = { 0, rank == 0 }, all[2];
		MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	}
	return rate_of(seg, t0);
}

static double seg_embedded(steerd *s, const sa_adapter *sa, void *sim)
{
	double t0 = start_clock();
	for (int i = 0; i < seg; i++) {
		if (steerd_boundary(s) != STEERD_GO)
			bench_die("steerd_boundary stopped");
		step_or_die(sa, sim);
	}
	return rate_of(seg, t0);
}

/* ratio[0][p]: embedded/bare of turn p, ratio[1][p]: +allreduce/bare. */
static void interleaved(int big, int warm, double ratio[2][PAIRS], double *bare_rate_median)
{
	const sa_adapter *sa = pic1d_adapter();
	void *sim[3];
	for (int k = 0; k < 3; k++) {
		sim[k] = diode_sim(sa, big);
		for (int i = 0; i < warm; i++)
			step_or_die(sa, sim[k]);
	}
	char *yaml = config_text(0);
	steerd_options o = STEERD_OPTIONS_INIT;
	o.config_text = yaml;
	o.connection_file = conn_path;
	char err[512];
	steerd *s = steerd_open_mpi(MPI_COMM_WORLD, sa, sim[1], &o, err, sizeof err);
	if (!s)
		bench_die("steerd_open_mpi: %s", err);
	double bare[PAIRS];
	for (int p = 0; p < PAIRS; p++) {
		double r[3];
		for (int i = 0; i < 3; i++) { /* the order rotates */
			int w = (p + i) % 3;
			r[w] = w == 0 ? seg_bare(sa, sim[0]) : w == 1 ? seg_embedded(s, sa, sim[1])
			                                             : seg_allreduce(sa, sim[2]);
		}
		bare[p] = r[0];
		ratio[0][p] = r[1] / r[0];
		ratio[1][p] = r[2] / r[0];
	}
	*bare_rate_median = bench_median(bare, PAIRS);
	steerd_close(&s);
	free(yaml);
	for (int k = 0; k < 3; k++)
		sa->destroy(sim[k]);
}

/* ---- 2. from step 0 ------------------------------------------------------- */

static double bare_rate(void)
{
	const sa_adapter *sa = pic1d_adapter();
	void *sim = diode_sim(sa, 0);
	char err[256];
	double t0 = start_clock();
	for (int i = 0; i < STEPS; i++)
		if (sa->step(sim, err, sizeof err) < 0)
			bench_die("pic1d step: %s", err);
	double r = rate_since(t0);
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
	const char *steps = getenv("BENCH_STEPS");
	if (steps && atoi(steps) > 0)
		STEPS = atoi(steps);
	char dir[PATH_MAX - 64] = "";
	if (rank == 0) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/bench_steerd_mpi.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			bench_die("cannot make a directory");
		snprintf(conn_path, sizeof conn_path, "%s/conn.json", dir);
	}
	double ratio[2][PAIRS], seg_bare_rate, big_ratio[2][PAIRS], big_bare_rate;
	interleaved(0, WARM, ratio, &seg_bare_rate);
	seg = BIG_SEG;
	interleaved(1, BIG_WARM, big_ratio, &big_bare_rate);
	double got[2][ROUNDS], hosted_ratio[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < 2; i++) {
			int w = (r + i) % 2;
			got[w][r] = w == 0 ? bare_rate() : hosted_rate();
		}
		hosted_ratio[r] = got[1][r] / got[0][r];
	}
	if (rank == 0) {
		rmdir(dir);
		double load[1];
		getloadavg(load, 1);
		printf("MPI: default diode over %d ranks (pic1d, one allreduce per step), slowest rank, "
		       "medians (load average %.2f on %ld CPUs):\n",
		       size, load[0], sysconf(_SC_NPROCESSORS_ONLN));
		double emb = bench_median(ratio[0], PAIRS), red = bench_median(ratio[1], PAIRS);
		printf("  steady state (after %d steps), %d turns of %d steps each: bare %.0f steps/s\n",
		       WARM, PAIRS, SEG, seg_bare_rate);
		printf("  MPI embedded/bare %.1f%% (target >= %.0f%%: %s)\n", 100.0 * emb,
		       100.0 * TARGET_RATIO, emb >= TARGET_RATIO ? "met" : "NOT met");
		printf("  MPI +allreduce/bare %.1f%%: the quiet boundary's collective alone\n", 100.0 * red);
		double q1[PAIRS], q3[PAIRS];
		memcpy(q1, ratio[0], sizeof q1);
		memcpy(q3, ratio[0], sizeof q3);
		printf("  (embedded/bare per turn: quartiles %.1f%% .. %.1f%%)\n",
		       100.0 * bench_percentile(q1, PAIRS, 0.25), 100.0 * bench_percentile(q3, PAIRS, 0.75));
		double big = bench_median(big_ratio[0], PAIRS);
		printf("  configs/diode-1M.yaml (about 10^6 particles once filled, after %d steps), %d turns "
		       "of %d steps: bare %.0f steps/s\n", BIG_WARM, PAIRS, BIG_SEG, big_bare_rate);
		printf("  MPI embedded/bare (diode-1M) %.1f%% (target >= %.0f%%: %s); +allreduce/bare %.1f%%\n",
		       100.0 * big, 100.0 * TARGET_RATIO, big >= TARGET_RATIO ? "met" : "NOT met",
		       100.0 * bench_median(big_ratio[1], PAIRS));
		printf("  from step 0, %d rounds of %d steps:\n", ROUNDS, STEPS);
		static const char *const name[2] = { "bare", "hosted" };
		for (int w = 0; w < 2; w++) {
			double x[ROUNDS];
			memcpy(x, got[w], sizeof x);
			printf("  %-10s %7.0f steps/s   (rounds:", name[w], bench_median(x, ROUNDS));
			for (int r = 0; r < ROUNDS; r++)
				printf(" %.0f", got[w][r]);
			printf(")\n");
		}
		double h = bench_median(hosted_ratio, ROUNDS);
		printf("  MPI hosted/bare %.1f%% (target >= %.0f%%: %s)\n", 100.0 * h, 100.0 * TARGET_RATIO,
		       h >= TARGET_RATIO ? "met" : "NOT met");
	}
	MPI_Finalize();
	return 0;
}
