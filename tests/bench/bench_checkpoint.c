/* SPDX-License-Identifier: MIT */
/*
 * bench_checkpoint.c — checkpoint write throughput with 10^7 pic1d particles
 * (3 x 80 MB of state, plus fields and metadata), against a plain sequential
 * write + fsync of the same number of bytes in the same directory and run.
 * The target is a checkpoint at >= 70 % of the plain write.
 *
 * Usage: bench_checkpoint [directory]   (default: $TMPDIR or /tmp)
 * Each figure is the median of several repetitions: the machine is shared.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "checkpoint.h"
#include "pic1d/pic1d.h"
#include "pic1d/pic1d_internal.h"

enum { REPS = 5 };
#define PARTICLES 10000000
#define CHUNK (8u << 20)

/* The reference: bytes written sequentially in large writes, then fsync. */
static int plain_write(const char *path, const unsigned char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < len) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		ssize_t w = write(fd, data + done, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	int rc = fsync(fd);
	return close(fd) < 0 || rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[512], ckpt[600], plain[600], err[512];
	snprintf(dir, sizeof dir, "%s/bench_checkpoint.XXXXXX", base);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench_checkpoint: cannot make a directory in %s: %s\n", base,
		        strerror(errno));
		return 1;
	}
	snprintf(ckpt, sizeof ckpt, "%s/ckpt.h5", dir);
	snprintf(plain, sizeof plain, "%s/plain.bin", dir);

	/* 10^7 particles injected in one step (the diode is crossed in ~400). */
	const sa_adapter *sa = pic1d_adapter();
	sa_value k[PIC1D_N_KNOBS];
	for (size_t i = 0; i < sa->n_knobs; i++)
		k[i] = sa->knobs[i].def;
	k[PIC1D_K_PPS].i = PARTICLES;
	k[PIC1D_K_MAX_PARTICLES].i = PARTICLES;
	k[PIC1D_K_CURRENT].d = 100.0;
	k[PIC1D_K_THERMAL].d = 1.0;
	void *sim = sa->create(k, NULL, err, sizeof err);
	if (!sim || sa->step(sim, err, sizeof err) < 0) {
		fprintf(stderr, "bench_checkpoint: %s\n", err);
		return 1;
	}
	const pic1d *s = sim;
	sa_value kv[PIC1D_N_KNOBS];
	for (size_t i = 0; i < sa->n_knobs; i++)
		kv[i] = sa->get(sim, i);
	checkpoint_info info = { .step = sa->step_count(sim), .time = sa->time(sim), .knobs = kv,
		                 .next_ramp_id = 1, .config_text = "simulation:\n  adapter: pic1d\n" };

	/* One warm-up checkpoint gives the size the plain write copies. */
	uint64_t bytes = 0;
	if (checkpoint_write(ckpt, sa, sim, &info, &bytes, err, sizeof err) < 0) {
		fprintf(stderr, "bench_checkpoint: %s\n", err);
		return 1;
	}
	unlink(ckpt);
	unsigned char *buf = malloc(bytes);
	if (!buf)
		return 1;
	size_t arr = s->p.n * sizeof(double), off = 0;
	const double *src[3] = { s->p.x, s->p.v, s->p.w };
	for (int i = 0; i < 3 && off + arr <= bytes; i++, off += arr)
		memcpy(buf + off, src[i], arr);
	memset(buf + off, 0x5a, bytes - off);

	double t_plain[REPS], t_ckpt[REPS];
	for (int r = 0; r < REPS; r++) {
		for (int order = 0; order < 2; order++) {
			int do_plain = (r + order) % 2 == 0;
			double t0 = bench_now();
			int rc = do_plain ? plain_write(plain, buf, bytes)
			                  : checkpoint_write(ckpt, sa, sim, &info, NULL, err, sizeof err);
			double t = bench_now() - t0;
			if (rc < 0) {
				fprintf(stderr, "bench_checkpoint: %s\n", do_plain ? strerror(errno) : err);
				return 1;
			}
			(do_plain ? t_plain : t_ckpt)[r] = t;
			unlink(do_plain ? plain : ckpt);
		}
	}
	double mp = bench_median(t_plain, REPS), mc = bench_median(t_ckpt, REPS);
	double mb = (double)bytes / 1e6;
	printf("checkpoint write, %zu particles, %.1f MB, median of %d, in %s:\n", s->p.n, mb, REPS,
	       dir);
	printf("  plain write+fsync   %8.1f MB/s  (%.3f s)\n", mb / mp, mp);
	printf("  checkpoint_write    %8.1f MB/s  (%.3f s)\n", mb / mc, mc);
	printf("  ratio               %8.1f %%  (target >= 70 %%)\n", 100.0 * mp / mc);

	/* In memory: the same code path into the core driver. */
	double t_img[REPS];
	for (int r = 0; r < REPS; r++) {
		void *img;
		size_t len;
		double t0 = bench_now();
		if (checkpoint_to_image(sa, sim, &info, &img, &len, err, sizeof err) < 0) {
			fprintf(stderr, "bench_checkpoint: %s\n", err);
			return 1;
		}
		t_img[r] = bench_now() - t0;
		free(img);
	}
	double mi = bench_median(t_img, REPS);
	printf("  checkpoint_to_image %8.1f MB/s  (%.3f s)\n", mb / mi, mi);

	free(buf);
	sa->destroy(sim);
	rmdir(dir);
	return 0;
}
