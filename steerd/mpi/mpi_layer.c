/* SPDX-License-Identifier: MIT */
/* mpi_layer.c — ops from rank 0's run to the other ranks' simulations (mpi_layer.h). */
#include "mpi_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint_mpi.h"
#include "clock.h"
#include "log.h"
#include "run.h"

#define SPIN_S 200e-6     /* poll without sleeping this long: the ops of a change follow at once */
#define SLEEP_MAX_NS 1000000L /* then sleep between polls, doubling up to 1 ms */
#define MSG_LEN 248

typedef struct op_hdr {
	int32_t op, a;
	uint64_t id, v;
	uint32_t len, pad;
} op_hdr; /* 32 bytes */

/* The wrapped calls find the layer here: one steerd per process (steerd.h). */
static mpi_layer *wrapped;

mpi_layer *mpi_layer_new(MPI_Comm comm, char *err, size_t errlen)
{
	mpi_layer *L = calloc(1, sizeof *L);
	MPI_Comm dup = MPI_COMM_NULL;
	MPI_Comm_dup(comm, &dup); /* collective: reached by every rank, allocated or not */
	if (!L) {
		MPI_Comm_free(&dup);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	L->comm = dup;
	MPI_Comm_rank(dup, &L->rank);
	MPI_Comm_size(dup, &L->size);
	return L;
}

void mpi_layer_free(mpi_layer **lp)
{
	mpi_layer *L = *lp;
	if (!L)
		return;
	if (wrapped == L)
		wrapped = NULL;
	mpi_images_free(&L->images);
	run_image_hooks(NULL, NULL, NULL);
	free(L->kept);
	free(L->released);
	int down = 0;
	MPI_Finalized(&down);
	if (!down && L->comm != MPI_COMM_NULL)
		MPI_Comm_free(&L->comm);
	free(L);
	*lp = NULL;
}

/* Wait for a nonblocking collective without spinning a CPU for long. */
static void wait_quietly(MPI_Request *rq)
{
	int done = 0;
	double t0 = clock_seconds();
	long ns = 0;
	for (;;) {
		MPI_Test(rq, &done, MPI_STATUS_IGNORE);
		if (done)
			return;
		if (!ns && clock_seconds() - t0 < SPIN_S)
			continue;
		ns = ns ? (ns * 2 > SLEEP_MAX_NS ? SLEEP_MAX_NS : ns * 2) : 1000;
		nanosleep(&(struct timespec){ .tv_nsec = ns }, NULL);
	}
}

static void ibcast(mpi_layer *L, void *buf, int len)
{
	MPI_Request rq;
	MPI_Ibcast(buf, len, MPI_BYTE, 0, L->comm, &rq);
	if (L->rank == 0)
		MPI_Wait(&rq, MPI_STATUS_IGNORE);
	else
		wait_quietly(&rq);
}

void mpi_send(mpi_layer *L, int op, int a, uint64_t id, uint64_t v, const void *payload,
              uint32_t len)
{
	op_hdr h = { .op = op, .a = a, .id = id, .v = v, .len = payload ? len : 0 };
	ibcast(L, &h, sizeof h);
	if (h.len)
		ibcast(L, (void *)payload, (int)h.len);
}

int mpi_agree(mpi_layer *L, int rc, const char *msg, char *err, size_t errlen)
{
	/* size - rank: the maximum names the lowest failed rank */
	int mine = rc < 0 ? L->size - L->rank : 0, worst = 0;
	MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, L->comm);
	if (!worst)
		return 0;
	struct { int32_t failed; char msg[MSG_LEN]; } one = { rc < 0, "" }, *all = NULL;
	if (rc < 0)
		snprintf(one.msg, sizeof one.msg, "%s", msg && *msg ? msg : "(no message)");
	if (L->rank == 0)
		all = calloc((size_t)L->size, sizeof *all);
	MPI_Gather(&one, (int)sizeof one, MPI_BYTE, all, all ? (int)sizeof one : 0, MPI_BYTE, 0,
	           L->comm);
	char text[512] = "";
	if (L->rank == 0) {
		int who = L->size - worst, failed = 0;
		for (int i = 0; all && i < L->size; i++)
			failed += all[i].failed;
		const char *why = all ? all[who].msg : "(out of memory for the messages)";
		if (failed == L->size)
			snprintf(text, sizeof text, "all %d ranks: %s", L->size, why);
		else
			snprintf(text, sizeof text, "rank %d of %d: %s%s", who, L->size, why,
			         failed > 1 ? " (and other ranks)" : "");
		free(all);
	}
	MPI_Bcast(text, sizeof text, MPI_CHAR, 0, L->comm);
	snprintf(err, errlen, "%s", text);
	return -1;
}

/* ---- rank 0: the adapter's calls, announced first ---- */

static int w_set(void *sim, size_t k, sa_value v, char *err, size_t errlen)
{
	mpi_layer *L = wrapped;
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	mpi_send(L, OP_SET, (int)k, 0, bits, NULL, 0);
	char why[256] = "";
	int rc = L->real.set(sim, k, v, why, sizeof why);
	return mpi_agree(L, rc, why, err, errlen);
}

static int w_save(const void *sim, const sa_writer *w, char *err, size_t errlen)
{
	mpi_layer *L = wrapped;
	uint64_t id = ++L->next_image;
	/* Rank 0's image names the state: its restore restores the same on every rank. */
	if (w->attr(w->ctx, MPI_IMAGE_ATTR, SA_U64, &id) < 0) {
		snprintf(err, errlen, "cannot write %s", MPI_IMAGE_ATTR);
		return -1;
	}
	mpi_send(L, OP_SAVE, 0, id, 0, NULL, 0);
	char why[256] = "";
	int rc = L->real.save(sim, w, why, sizeof why);
	return mpi_agree(L, rc, why, err, errlen);
}

static int w_restore(void *sim, const sa_reader *r, char *err, size_t errlen)
{
	mpi_layer *L = wrapped;
	uint64_t id;
	if (r->attr(r->ctx, MPI_IMAGE_ATTR, SA_U64, &id) < 0) {
		snprintf(err, errlen, "this state was not saved by the %d ranks of this run (no %s)",
		         L->size, MPI_IMAGE_ATTR);
		return -1; /* nothing announced: nothing changed anywhere */
	}
	mpi_send(L, OP_RESTORE, 0, id, 0, NULL, 0);
	char why[256] = "";
	int rc = L->real.restore(sim, r, why, sizeof why);
	return mpi_agree(L, rc, why, err, errlen);
}

static size_t w_diag_len(const void *sim, size_t d)
{
	mpi_send(wrapped, OP_DIAG_LEN, (int)d, 0, 0, NULL, 0);
	return wrapped->real.diag_len(sim, d);
}

static size_t w_diag_read(const void *sim, size_t d, double *out, size_t cap)
{
	mpi_send(wrapped, OP_DIAG_READ, (int)d, cap, 0, NULL, 0);
	return wrapped->real.diag_read(sim, d, out, cap);
}

static int w_read_scalars(const void *sim, double *out, size_t n)
{
	mpi_send(wrapped, OP_READ_SCALARS, 0, n, 0, NULL, 0);
	return wrapped->real.read_scalars(sim, out, n);
}

/* ---- rank 0: the run's images, so that the other ranks free theirs too ---- */

static void release(mpi_layer *L, uint64_t id)
{
	if (L->listening) {
		mpi_send(L, OP_RELEASE, 0, id, 0, NULL, 0);
		return;
	}
	if (L->n_released == L->cap_released) {
		size_t cap = L->cap_released ? 2 * L->cap_released : 16;
		uint64_t *grown = realloc(L->released, cap * sizeof *grown);
		if (!grown)
			return; /* the backstop (MPI_IMAGES_MAX) bounds what the others keep */
		L->released = grown;
		L->cap_released = cap;
	}
	L->released[L->n_released++] = id;
}

void mpi_listening(mpi_layer *L, bool listening)
{
	L->listening = listening;
	if (listening)
		for (size_t i = 0; i < L->n_released; i++)
			mpi_send(L, OP_RELEASE, 0, L->released[i], 0, NULL, 0);
	if (listening)
		L->n_released = 0;
}

/* run_image made image: the newest save is its state; older saves since the
 * previous image made none (the size estimate's save) and are dead. */
static void image_made(void *ctx, const void *image)
{
	mpi_layer *L = ctx;
	for (uint64_t id = L->last_kept + 1; id < L->next_image; id++)
		release(L, id);
	L->last_kept = L->next_image;
	if (L->n_kept == L->cap_kept) {
		size_t cap = L->cap_kept ? 2 * L->cap_kept : 16;
		struct mpi_kept *grown = realloc(L->kept, cap * sizeof *grown);
		if (!grown)
			return; /* never released: the backstop evicts it */
		L->kept = grown;
		L->cap_kept = cap;
	}
	L->kept[L->n_kept++] = (struct mpi_kept){ image, L->next_image };
}

static void image_freed(void *ctx, const void *image)
{
	mpi_layer *L = ctx;
	for (size_t i = 0; i < L->n_kept; i++)
		if (L->kept[i].image == image) {
			release(L, L->kept[i].id);
			L->kept[i] = L->kept[--L->n_kept];
			return;
		}
}

void mpi_wrap_adapter(mpi_layer *L, sa_adapter *desc)
{
	L->real = *desc;
	L->collective_diags = (desc->flags & SA_MPI_COLLECTIVE_DIAGS) != 0;
	wrapped = L;
	run_image_hooks(image_made, image_freed, L);
	desc->set = w_set;
	if (desc->save) {
		desc->save = w_save;
		desc->restore = w_restore;
	}
	if (L->collective_diags) {
		desc->diag_len = w_diag_len;
		desc->diag_read = w_diag_read;
		if (desc->read_scalars)
			desc->read_scalars = w_read_scalars;
	}
}

int mpi_write_file(void *layer, const char *path, const checkpoint_info *info, uint64_t *bytes,
                   char *err, size_t errlen)
{
	mpi_layer *L = layer;
	mpi_send(L, OP_CHECKPOINT, 0, 0, 0, NULL, 0);
	/* the same outcome and message on every rank (checkpoint_mpi.h) */
	return checkpoint_mpi_write(L->comm, path, &L->real, L->run_sim, info, bytes, err, errlen);
}

/* ---- the other ranks ---- */

/* A diagnostic read announced by rank 0 (SA_MPI_COLLECTIVE_DIAGS): the same
 * call here, its values unused. */
static void serve_read(mpi_layer *L, const op_hdr *h)
{
	const sa_adapter *sa = L->sa;
	if (h->op == OP_DIAG_LEN) {
		sa->diag_len(L->sim, (size_t)h->a);
		return;
	}
	double *buf = calloc(h->id ? h->id : 1, sizeof *buf);
	if (!buf) /* the adapter's collective cannot be left unmatched */
		MPI_Abort(L->comm, 70);
	if (h->op == OP_DIAG_READ)
		sa->diag_read(L->sim, (size_t)h->a, buf, h->id);
	else
		sa->read_scalars(L->sim, buf, h->id);
	free(buf);
}

int mpi_serve(mpi_layer *L, int *status, char *msg, size_t msglen)
{
	for (;;) {
		op_hdr h;
		ibcast(L, &h, sizeof h);
		char *payload = NULL;
		if (h.len) {
			payload = malloc(h.len);
			if (!payload) /* the broadcast cannot be left unmatched */
				MPI_Abort(L->comm, 70);
			ibcast(L, payload, (int)h.len);
			payload[h.len - 1] = '\0';
		}
		char why[256] = "";
		int rc = -1;
		switch (h.op) {
		case OP_OPENED:
			*status = h.a;
			snprintf(msg, msglen, "%s", payload ? payload : "");
			/* fall through */
		case OP_GO:
		case OP_STOP:
		case OP_END:
			free(payload);
			return h.op;
		case OP_SET: {
			sa_value v;
			memcpy(&v, &h.v, sizeof v);
			if (!L->sa)
				snprintf(why, sizeof why, "no simulation on this rank");
			else
				rc = L->sa->set(L->sim, (size_t)h.a, v, why, sizeof why);
			L->unchanged = false;
			mpi_agree(L, rc, why, why, sizeof why);
			break;
		}
		case OP_SAVE:
			rc = mpi_image_save(&L->images, L->sa, L->sim, h.id, L->unchanged, why, sizeof why);
			L->unchanged = rc == 0;
			mpi_agree(L, rc, why, why, sizeof why);
			break;
		case OP_RESTORE:
			rc = mpi_image_restore(&L->images, L->sa, L->sim, h.id, why, sizeof why);
			L->unchanged = false;
			mpi_agree(L, rc, why, why, sizeof why);
			break;
		case OP_CHECKPOINT:
			checkpoint_mpi_write(L->comm, NULL, L->sa, L->sim, NULL, NULL, why, sizeof why);
			break;
		case OP_RELEASE:
			mpi_image_release(&L->images, h.id);
			break;
		case OP_DIAG_LEN:
		case OP_DIAG_READ:
		case OP_READ_SCALARS:
			serve_read(L, &h);
			break;
		default: /* a different build on rank 0 */
			log_error("MPI rank %d: unknown op %d from rank 0", L->rank, (int)h.op);
			MPI_Abort(L->comm, 70);
		}
		free(payload);
	}
}
