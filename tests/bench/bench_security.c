/* SPDX-License-Identifier: MIT */
/*
 * bench_security.c — what CURVE costs: two real steerd processes on the same
 * config, one plaintext and one with a security section (keys made here with
 * cert_write_pair, the client an operator).
 *
 *  1. `get` round trip over tcp loopback, both daemons paused, plaintext and
 *     CURVE DEALERs alternating in blocks so both see the same machine load:
 *     p50 and p99 of each, and the ratio of the p50s.
 *  2. Stream throughput: one daemon at a time runs flat out publishing
 *     scalars every step (and arrays every 100), a SUB here takes everything
 *     for a fixed window: messages/s, MB/s and steps/s. Rounds alternate
 *     plaintext/CURVE; medians are reported, with the CURVE/plaintext ratio.
 *
 * Reported, never enforced: the exit status is non-zero only on real errors.
 * Environment: STEERD_BUILD (default "build") holds bin/steerd.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "bench_util.h"
#include "cert.h"

enum { RTT_REQUESTS = 3000, RTT_WARMUP = 300, RTT_BLOCK = 250, RATE_ROUNDS = 3 };
#define RATE_WARMUP_S 0.5
#define RATE_WINDOW_S 3.0
#define DAEMON_TIMEOUT_S 10.0 /* to start; to exit after SIGTERM */

/* Processes, tmpdir, clock and bench_die(): bench_util.h. */
static void *zctx;
static cert server_cert, client_cert;

/* A steerd and the DEALER this bench talks to it on. */
typedef struct daemon_proc {
	bench_daemon proc; /* proc.name: "plaintext" or "CURVE", in the output */
	bool curve;
	void *ctl;
} daemon_proc;

static daemon_proc daemons[2];

/*
 * The sample at index round(q (n - 1)). Not bench_percentile() (nearest
 * rank, bench_control's): for the p50 of 3000 samples the two pick
 * neighbouring samples, and this bench's figures should not move with a
 * clean-up; making the two agree is a change of what it measures.
 */
static double percentile(double *x, size_t n, double q)
{
	bench_sort(x, n);
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);
	return x[i < n ? i : n - 1];
}

/* A socket; a CURVE client of the bench's server key when curve is set. */
static void *client_socket(int type, bool curve, const char *endpoint)
{
	void *s = bench_socket(zctx, type);
	int zero = 0, tmo = 10000;
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
	if (type == ZMQ_SUB)
		zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
	if (curve &&
	    (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_cert.public_key, CERT_KEY_BYTES) != 0 ||
	     zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, client_cert.public_key, CERT_KEY_BYTES) != 0 ||
	     zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, client_cert.secret_key, CERT_KEY_BYTES) != 0))
		bench_die("CURVE options: %s", zmq_strerror(errno));
	bench_connect(s, endpoint);
	return s;
}

static void daemon_start(daemon_proc *d, const char *label, bool curve)
{
	d->curve = curve;
	char *yaml = NULL;
	if (asprintf(&yaml, "%s%s",
	             "simulation:\n  adapter: pic1d\n"
	             "run:\n  start: paused\n"
	             "endpoints:\n  control: tcp://127.0.0.1:*\n  diagnostics: tcp://127.0.0.1:*\n"
	             "diagnostics:\n  scalars_every: 1\n  arrays_every: 100\n  heartbeat_ms: 1000\n"
	             "  send_hwm: 100000\n"
	             "log_level: warn\n",
	             curve ? "security:\n  server_key: server.key_secret\n"
	                     "  clients: [{key: bench.key, role: operator}]\n"
	                   : "") < 0)
		bench_die("out of memory");
	bench_daemon_start(&d->proc, label, yaml, DAEMON_TIMEOUT_S);
	free(yaml);
	d->ctl = client_socket(ZMQ_DEALER, curve, d->proc.control);
}

static void daemon_stop(daemon_proc *d)
{
	zmq_close(d->ctl);
	bench_daemon_stop(&d->proc);
}

/* One request and its reply; the body of an ok reply (caller decrefs) when out is given. */
static double call(daemon_proc *d, const char *cmd, const char *body, json_t **out)
{
	static int id;
	char hdr[128];
	int hl = bench_request_header(hdr, sizeof hdr, cmd, ++id, "bench");
	double t0 = bench_now();
	if (bench_send_request(d->ctl, hdr, (size_t)hl, body, strlen(body)) < 0)
		bench_die("send %s: %s", cmd, zmq_strerror(errno));
	char f[3][65536];
	int n[3];
	for (int i = 0; i < 3; i++) {
		n[i] = zmq_recv(d->ctl, f[i], sizeof f[i] - 1, 0);
		if (n[i] < 0)
			bench_die("no reply to %s from %s: %s", cmd, d->proc.name, zmq_strerror(errno));
		int more = 0;
		size_t ml = sizeof more;
		zmq_getsockopt(d->ctl, ZMQ_RCVMORE, &more, &ml);
		if ((i < 2) != (more != 0))
			bench_die("reply to %s from %s is not 3 frames", cmd, d->proc.name);
	}
	double dt = bench_now() - t0;
	f[1][n[1] < 65535 ? n[1] : 65535] = '\0';
	if (!strstr(f[1], "\"ok\":true"))
		bench_die("%s refused %s: %.*s", d->proc.name, cmd, n[2] < 65535 ? n[2] : 65535, f[2]);
	if (out)
		*out = json_loadb(f[2], (size_t)(n[2] < 65535 ? n[2] : 65535), 0, NULL);
	return dt;
}

static void bench_rtt(void)
{
	static double t[2][RTT_REQUESTS];
	const char *body = "{\"names\":[\"anode_voltage\",\"j_transmitted\"]}";
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < RTT_WARMUP; i++)
			call(&daemons[k], "get", body, NULL);
	for (int done = 0; done < RTT_REQUESTS; done += RTT_BLOCK)
		for (int k = 0; k < 2; k++)
			for (int i = done; i < done + RTT_BLOCK && i < RTT_REQUESTS; i++)
				t[k][i] = call(&daemons[k], "get", body, NULL);
	double p50[2], p99[2];
	for (int k = 0; k < 2; k++) {
		p50[k] = percentile(t[k], RTT_REQUESTS, 0.5) * 1e6;
		p99[k] = percentile(t[k], RTT_REQUESTS, 0.99) * 1e6;
		printf("  get round trip, %-9s  p50 %7.1f us  p99 %7.1f us  (%d requests)\n",
		       daemons[k].proc.name, p50[k], p99[k], RTT_REQUESTS);
	}
	printf("  CURVE / plaintext p50: %.2f\n", p50[1] / p50[0]);
}

typedef struct rate { double msgs, mbytes, steps; } rate;

static uint64_t status_step(daemon_proc *d)
{
	json_t *st = NULL;
	call(d, "status", "{}", &st);
	uint64_t s = (uint64_t)json_integer_value(json_object_get(st, "step"));
	json_decref(st);
	return s;
}

static rate stream_rate(daemon_proc *d)
{
	void *sub = client_socket(ZMQ_SUB, d->curve, d->proc.diagnostics);
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
	/* Subscribed once a heartbeat arrives (every 1 s). */
	zmq_msg_t m;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, sub, 0) < 0)
		bench_die("%s: no heartbeat on the stream", d->proc.name);
	zmq_msg_close(&m);
	call(d, "resume", "{}", NULL);
	double t0 = bench_now(), start = 0, end;
	uint64_t step0 = 0, msgs = 0, bytes = 0;
	int tmo = 100;
	zmq_setsockopt(sub, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
	for (;;) {
		double t = bench_now();
		if (!start && t - t0 >= RATE_WARMUP_S) {
			start = t;
			step0 = status_step(d);
			msgs = bytes = 0;
		}
		if (start && t - start >= RATE_WINDOW_S)
			break;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sub, 0) >= 0) {
			bytes += zmq_msg_size(&m);
			msgs += !zmq_msg_more(&m);
		}
		zmq_msg_close(&m);
	}
	uint64_t step1 = status_step(d);
	end = bench_now();
	call(d, "pause", "{}", NULL);
	zmq_close(sub);
	double w = end - start;
	return (rate){ msgs / w, bytes / w / 1e6, (double)(step1 - step0) / w };
}

static void bench_stream(void)
{
	double msgs[2][RATE_ROUNDS], mb[2][RATE_ROUNDS], steps[2][RATE_ROUNDS];
	for (int r = 0; r < RATE_ROUNDS; r++)
		for (int k = 0; k < 2; k++) {
			rate x = stream_rate(&daemons[k]);
			msgs[k][r] = x.msgs;
			mb[k][r] = x.mbytes;
			steps[k][r] = x.steps;
		}
	double med[2][3];
	for (int k = 0; k < 2; k++) {
		med[k][0] = bench_median(msgs[k], RATE_ROUNDS);
		med[k][1] = bench_median(mb[k], RATE_ROUNDS);
		med[k][2] = bench_median(steps[k], RATE_ROUNDS);
		printf("  stream, %-9s  %9.0f messages/s  %7.2f MB/s  %9.0f steps/s  (median of %d)\n",
		       daemons[k].proc.name, med[k][0], med[k][1], med[k][2], RATE_ROUNDS);
	}
	printf("  CURVE / plaintext: messages %.3f, steps %.3f\n", med[1][0] / med[0][0],
	       med[1][2] / med[0][2]);
}

int main(void)
{
	bench_init("bench_security");
	bench_daemon_setup();
	char err[1024];
	if (cert_write_pair(bench_tmpdir(), "server", &server_cert, err, sizeof err) < 0 ||
	    cert_write_pair(bench_tmpdir(), "bench", &client_cert, err, sizeof err) < 0)
		bench_die("%s", err);
	signal(SIGPIPE, SIG_IGN);
	zctx = zmq_ctx_new();
	daemon_start(&daemons[0], "plaintext", false);
	daemon_start(&daemons[1], "CURVE", true);
	printf("bench_security: steerd %s/bin/steerd, pic1d diode, tcp loopback\n", bench_build_dir());
	bench_rtt();
	bench_stream();
	daemon_stop(&daemons[0]);
	daemon_stop(&daemons[1]);
	zmq_ctx_term(zctx);
	char p[PATH_MAX + 32];
	const char *files[] = { "server.key", "server.key_secret", "bench.key", "bench.key_secret" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/%s", bench_tmpdir(), files[i]);
		unlink(p);
	}
	bench_daemon_teardown();
	cert_wipe(&server_cert);
	cert_wipe(&client_cert);
	return 0;
}
