/* SPDX-License-Identifier: MIT */
/*
 * bench_history.c — what the daemon's history costs (issue 17), on real
 * steerd processes:
 *
 *  1. pic1d steps per second inside steerd keeping its history (the
 *     default history: section) against the same run with history.max_bytes
 *     0, rounds alternating, the rate from `status` step counts over a fixed
 *     wall window, medians. Target: kept / not kept >= 99%.
 *  2. A `history` of 10^5 points (one scalar, full resolution, its three
 *     binary frames) against a `get` of the same scalar, round trips over tcp
 *     loopback to the same paused daemon, interleaved, medians. Target: the
 *     ratio <= 20. Measured twice: the client with malloc's defaults, then
 *     the same client with a malloc that keeps freed memory (the page faults
 *     of libzmq's fresh receive buffers, the client's own cost, left out).
 *
 * Targets are reported, never enforced: the exit status is non-zero only on
 * real errors. Environment: STEERD_BUILD (default "build").
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <malloc.h>
#include <zmq.h>

#include "bench_util.h"

enum { RATE_ROUNDS = 3, RTT_ROUNDS = 30, POINTS = 100000 };
#define RATE_WARMUP_S 1.0
#define RATE_WINDOW_S 4.0
#define DAEMON_TIMEOUT_S 30.0
#define TARGET_RATE 0.99
#define TARGET_RTT 20.0

static void *zctx;

/* The default run (configs/diode.yaml's diode), history kept or not. */
static char *yaml(bool history, bool fast)
{
	char *y = NULL;
	if (asprintf(&y,
	             "simulation:\n  adapter: pic1d\n  knobs: {%s}\n"
	             "run:\n  start: %s\n"
	             "endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
	             "%s"
	             "log_level: warn\n",
	             fast ? "cells: 50, particles_per_step: 4, average_window: 50, phase_sample: 100"
	                  : "",
	             fast ? "paused" : "running",
	             history ? "" : "history:\n  max_bytes: 0\n") < 0)
		bench_die("out of memory");
	return y;
}

static void *dealer(const char *endpoint)
{
	void *s = bench_socket(zctx, ZMQ_DEALER);
	int tmo = 20000;
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
	bench_connect(s, endpoint);
	return s;
}

/* One request; its wall time. The body is kept in *out when asked for; *frames gets the count. */
static double call(void *sock, const char *cmd, const char *body, json_t **out, int *frames)
{
	static int id = 1;
	char header[128];
	int hlen = bench_request_header(header, sizeof header, cmd, id++, "bench");
	zmq_msg_t f[8];
	double t0 = bench_now();
	if (bench_send_request(sock, header, (size_t)hlen, body, strlen(body)) < 0)
		bench_die("send %s: %s", cmd, zmq_strerror(errno));
	int n = bench_recv_multipart(sock, f, 8);
	double dt = bench_now() - t0;
	if (n < 3 || !memmem(zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), "\"ok\":true", 9))
		bench_die("%s failed (%d frames)", cmd, n);
	if (out)
		*out = json_loadb(zmq_msg_data(&f[2]), zmq_msg_size(&f[2]), 0, NULL);
	if (frames)
		*frames = n - 3;
	bench_close_frames(f, n, 8);
	return dt;
}

static uint64_t step_of(void *ctl, const char *cmd, const char *body)
{
	json_t *r = NULL;
	call(ctl, cmd, body, &r, NULL);
	uint64_t s = (uint64_t)json_integer_value(json_object_get(r, "step"));
	json_decref(r);
	return s;
}

static double rate(bool history)
{
	char *y = yaml(history, false);
	bench_daemon d;
	bench_daemon_start(&d, NULL, y, DAEMON_TIMEOUT_S);
	free(y);
	void *ctl = dealer(d.control);
	bench_sleep(RATE_WARMUP_S);
	double t0 = bench_now();
	uint64_t s0 = step_of(ctl, "status", "{}");
	bench_sleep(RATE_WINDOW_S);
	uint64_t s1 = step_of(ctl, "status", "{}");
	double r = (double)(s1 - s0) / (bench_now() - t0);
	zmq_close(ctl);
	bench_daemon_stop(&d);
	return r;
}

static void bench_rate(void)
{
	double kept[RATE_ROUNDS], none[RATE_ROUNDS];
	for (int r = 0; r < RATE_ROUNDS; r++) {
		if (r % 2 == 0)
			none[r] = rate(false);
		kept[r] = rate(true);
		if (r % 2 == 1)
			none[r] = rate(false);
	}
	printf("steps per second, configs/diode.yaml's diode (%d rounds of %.0f s, medians):\n",
	       RATE_ROUNDS, RATE_WINDOW_S);
	printf("  rounds: history kept");
	for (int r = 0; r < RATE_ROUNDS; r++)
		printf(" %.0f", kept[r]);
	printf("; none");
	for (int r = 0; r < RATE_ROUNDS; r++)
		printf(" %.0f", none[r]);
	double mk = bench_median(kept, RATE_ROUNDS), mn = bench_median(none, RATE_ROUNDS);
	printf("\n  history kept %.0f steps/s, none %.0f steps/s: ratio %.1f%% (target >= %.0f%%: %s)\n",
	       mk, mn, 100.0 * mk / mn, 100.0 * TARGET_RATE, mk / mn >= TARGET_RATE ? "met" : "NOT met");
}

/* Warm-up, then get and history interleaved; prints the medians and their ratio. */
static void rtt_rounds(void *ctl, const char *get, const char *history, const char *what)
{
	double th[RTT_ROUNDS], tg[RTT_ROUNDS];
	for (int i = 0; i < 3; i++) {
		call(ctl, "get", get, NULL, NULL);
		call(ctl, "history", history, NULL, NULL);
	}
	for (int i = 0; i < RTT_ROUNDS; i++) {
		tg[i] = call(ctl, "get", get, NULL, NULL);
		th[i] = call(ctl, "history", history, NULL, NULL);
	}
	double mg = bench_median(tg, RTT_ROUNDS), mh = bench_median(th, RTT_ROUNDS);
	printf("  %s: get %.0f us, history %.0f us: ratio %.1f (target <= %.0f: %s)\n", what,
	       1e6 * mg, 1e6 * mh, mh / mg, TARGET_RTT, mh / mg <= TARGET_RTT ? "met" : "NOT met");
}

static void bench_rtt(void)
{
	char *y = yaml(true, true);
	bench_daemon d;
	bench_daemon_start(&d, NULL, y, DAEMON_TIMEOUT_S);
	free(y);
	void *ctl = dealer(d.control);
	char body[256];
	snprintf(body, sizeof body, "{\"n\": %d}", POINTS + 10);
	json_t *st = NULL;
	call(ctl, "step", body, &st, NULL);
	uint64_t until = (uint64_t)json_integer_value(json_object_get(st, "until"));
	json_decref(st);
	for (double t0 = bench_now(); step_of(ctl, "status", "{}") < until;) {
		if (bench_now() - t0 > 300)
			bench_die("%d steps took more than 300 s", POINTS);
		bench_sleep(0.1);
	}
	const char *get = "{\"names\": [\"j_transmitted\"]}";
	snprintf(body, sizeof body,
	         "{\"names\": [\"j_transmitted\"], \"from_seq\": 11, \"max_points\": %d}", POINTS);
	json_t *r = NULL;
	int frames = 0;
	call(ctl, "history", body, &r, &frames);
	json_int_t points = json_integer_value(json_object_get(r, "points"));
	json_decref(r);
	if (points != POINTS || frames != 4)
		bench_die("history gave %lld points in %d frames, not %d in 4", (long long)points, frames,
		          POINTS);
	printf("history of %d points (one scalar, 3.2 MB of frames) vs get, round trips over tcp "
	       "loopback, paused run, interleaved, medians of %d:\n", POINTS, RTT_ROUNDS);
	rtt_rounds(ctl, get, body, "client with glibc malloc's defaults");
	/*
	 * The same client, its malloc now keeping freed memory: libzmq receives
	 * each large frame into a fresh buffer, and with the defaults that is
	 * new pages every time (mmap, or a heap trimmed when the last reply was
	 * freed). Their page faults are the client's cost, not the daemon's;
	 * both figures are printed so the difference shows.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	rtt_rounds(ctl, get, body, "client whose malloc keeps freed memory (mallopt)");
	zmq_close(ctl);
	bench_daemon_stop(&d);
}

int main(int argc, char **argv)
{
	bench_init("bench_history");
	bench_daemon_setup();
	zctx = zmq_ctx_new();
	bool rtt_only = argc > 1 && !strcmp(argv[1], "--rtt-only");
	bench_rtt();
	if (!rtt_only)
		bench_rate();
	zmq_ctx_term(zctx);
	bench_daemon_teardown();
	return 0;
}
