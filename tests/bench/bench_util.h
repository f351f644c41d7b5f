/* SPDX-License-Identifier: MIT */
/*
 * bench_util.h — what the benchmarks in tests/bench/ had each written for
 * themselves: a clock, medians and percentiles, dying with a message, and
 * real steerd processes (started from a YAML text, stopped with SIGTERM and
 * a check that they exited cleanly). Linked into every bench binary
 * (Makefile: BENCH_UTIL_OBJ); not a bench itself.
 *
 * Only what two or more benches did the same way is here: what a bench
 * measures, and how it talks to steerd beyond the request frames, stays in
 * the bench, so that reading one file still tells what it measures.
 *
 * Single-threaded use: bench_die(), the daemon registry and the tmpdir
 * belong to the process, and are meant to be used from the main thread
 * (threads a bench starts only measure).
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <zmq.h>

#include "steerd_adapter.h"

/* ---- time and statistics ------------------------------------------------ */

/* Seconds on the monotonic clock: only differences mean anything. */
double bench_now(void);

/* Sleeps s seconds, resuming after signals, so a wait is the one asked for. */
void bench_sleep(double s);

/* Sorts x[0..n) ascending. */
void bench_sort(double *x, size_t n);

/* The median of x[0..n) (n >= 1); sorts x in place. */
double bench_median(double *x, size_t n);

/* Nearest-rank percentile (q in [0, 1]) of x[0..n) (n >= 1); sorts x in place. */
double bench_percentile(double *x, size_t n, double q);

/* ---- errors ------------------------------------------------------------- */

/*
 * Names the program in bench_die()'s messages ("bench_control: ..."); call
 * first in main(). name must outlive the process (a string literal).
 */
void bench_init(const char *name);

/*
 * Prints "<name>: <message>" on stderr, kills every steerd still running
 * (printing its log first, and keeping it), and exits with status 1: the
 * benches report targets, and fail only on real errors like these.
 */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- steerd processes --------------------------------------------------- */

/* $STEERD_BUILD, or "build": where bin/steerd (and bench/lib*.so) are. */
const char *bench_build_dir(void);

/*
 * For the benches that run steerd: finds <build>/bin/steerd (dies if it is
 * missing), makes a private directory <$TMPDIR or /tmp>/<name>.XXXXXX for
 * configs, connection files and logs, notes this process's CPUs (before
 * any thread is pinned: every steerd gets all of them), and makes SIGINT
 * and SIGTERM kill the daemons before exiting. Call after bench_init().
 */
void bench_daemon_setup(void);

/* The directory bench_daemon_setup() made; files a bench puts there are its own. */
const char *bench_tmpdir(void);

/*
 * Removes bench_tmpdir() (it must be empty by then but for kept logs, which
 * keep it). Call at the end of a run, every daemon stopped.
 */
void bench_daemon_teardown(void);

/*
 * A steerd process. The caller owns the struct; between bench_daemon_start()
 * and bench_daemon_stop() the module keeps a pointer to it (to kill the
 * process on bench_die() or a signal), so it must stay where it is.
 */
typedef struct bench_daemon {
	pid_t pid;               /* 0 once it has exited */
	char name[64];           /* in file names and messages */
	double timeout_s;        /* to write the connection file; to exit after SIGTERM */
	char config[PATH_MAX], conn[PATH_MAX], log[PATH_MAX];
	char control[256], diagnostics[256]; /* endpoints, from the connection file */
} bench_daemon;

/*
 * Writes yaml to <tmpdir>/<name>.yaml and runs steerd on it (stdout and
 * stderr into <name>.log), then waits up to timeout_s for its connection
 * file, which fills d->control and d->diagnostics. name NULL: "run<N>",
 * N counting the daemons started. Dies if steerd exits or writes nothing.
 */
void bench_daemon_start(bench_daemon *d, const char *name, const char *yaml, double timeout_s);

/*
 * SIGTERM, then waits up to d->timeout_s for exit status 0 (anything else
 * dies, log printed) and removes the daemon's files. Close the sockets to
 * it first: steerd's exit is then not held up by them.
 */
void bench_daemon_stop(bench_daemon *d);

/* ---- the default run ---------------------------------------------------- */

/*
 * The knobs of configs/diode.yaml, as a YAML `knobs:` mapping (each line
 * indented by indent spaces) for steerd's config, and as the values pic1d's
 * create() takes (v: room for sa->n_knobs), so that a bench gives steerd and
 * its bare loop the same run.
 */
void bench_diode_knobs_yaml(FILE *f, int indent);
void bench_diode_values(const sa_adapter *sa, sa_value *v);

/* ---- requests ----------------------------------------------------------- */

/* A socket of zctx with linger 0 (a bench never waits for unsent messages). */
void *bench_socket(void *zctx, int type);

/* zmq_connect, or die. Socket options must be set before. */
void bench_connect(void *sock, const char *endpoint);

/*
 * The header frame of a request, {"cmd":..,"id":..,"client":..}, into
 * buf; its length. Kept apart from sending so that a timed round trip
 * starts at the send.
 */
int bench_request_header(char *buf, size_t size, const char *cmd, int id, const char *client);

/* Sends ["", header, body]: what a DEALER client sends steerd. 0, or -1 (errno). */
int bench_send_request(void *sock, const char *header, size_t hlen, const char *body, size_t blen);

/*
 * Receives one multipart message into frames[0..max) (more frames are
 * received and dropped); the frame count, or -1 (errno; nothing kept).
 * Close what was kept with bench_close_frames().
 */
int bench_recv_multipart(void *sock, zmq_msg_t *frames, int max);

void bench_close_frames(zmq_msg_t *frames, int n, int max);

#endif
