/* SPDX-License-Identifier: MIT */
/* mpi_image.c — a rank's own parts of saved states, in memory (mpi_image.h). */
#include "mpi_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct item {
	char *name;
	sa_dtype dtype;
	bool attr;
	size_t n;
	void *data; /* n elements of 8 bytes */
} item;

struct mpi_blob {
	int refs;
	item *items;
	size_t n, cap;
	bool failed; /* out of memory while saving */
};

static void blob_unref(mpi_blob *b)
{
	if (!b || --b->refs > 0)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->items[i].name);
		free(b->items[i].data);
	}
	free(b->items);
	free(b);
}

static int add(mpi_blob *b, const char *name, sa_dtype dtype, bool attr, size_t n, const void *data)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 32;
		item *grown = realloc(b->items, cap * sizeof *grown);
		if (!grown)
			return b->failed = true, -1;
		b->items = grown;
		b->cap = cap;
	}
	item *it = &b->items[b->n];
	*it = (item){ .name = strdup(name), .dtype = dtype, .attr = attr, .n = n,
		      .data = malloc(n ? n * 8 : 1) };
	if (!it->name || !it->data) {
		free(it->name);
		free(it->data);
		return b->failed = true, -1;
	}
	memcpy(it->data, data, n * 8);
	b->n++;
	return 0;
}

static int w_array(void *ctx, const char *name, sa_dtype dtype, size_t n, const void *data)
{
	return add(ctx, name, dtype, false, n, data);
}

static int w_attr(void *ctx, const char *name, sa_dtype dtype, const void *value)
{
	return add(ctx, name, dtype, true, 1, value);
}

static const item *find(const mpi_blob *b, const char *name, sa_dtype dtype, bool attr)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].attr == attr && b->items[i].dtype == dtype &&
		    strcmp(b->items[i].name, name) == 0)
			return &b->items[i];
	return NULL;
}

static int r_array_size(void *ctx, const char *name, sa_dtype dtype, size_t *n)
{
	const item *it = find(ctx, name, dtype, false);
	if (!it)
		return -1;
	*n = it->n;
	return 0;
}

static int r_array(void *ctx, const char *name, sa_dtype dtype, size_t n, void *out)
{
	const item *it = find(ctx, name, dtype, false);
	if (!it || it->n != n)
		return -1;
	memcpy(out, it->data, n * 8);
	return 0;
}

static int r_attr(void *ctx, const char *name, sa_dtype dtype, void *out)
{
	const item *it = find(ctx, name, dtype, true);
	if (!it)
		return -1;
	memcpy(out, it->data, 8);
	return 0;
}

/* The slot for id: a new one, evicting the least recently used when full. */
static size_t slot_for(mpi_images *im)
{
	if (im->n < MPI_IMAGES_MAX)
		return im->n++;
	size_t old = 0;
	for (size_t i = 1; i < im->n; i++)
		if (im->slot[i].used < im->slot[old].used)
			old = i;
	blob_unref(im->slot[old].blob);
	return old;
}

int mpi_image_save(mpi_images *im, const sa_adapter *sa, const void *sim, uint64_t id,
                   bool unchanged, char *err, size_t errlen)
{
	mpi_blob *b = unchanged ? im->last : NULL;
	if (b) {
		b->refs++;
	} else {
		if (!sa || !sa->save) {
			snprintf(err, errlen, "this rank has no save()");
			return -1;
		}
		if (!(b = calloc(1, sizeof *b))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		b->refs = 1;
		sa_writer w = { b, w_array, w_attr, w_array }; /* a part is this rank's: kept whole */
		if (sa->save(sim, &w, err, errlen) < 0 || b->failed) {
			if (b->failed)
				snprintf(err, errlen, "out of memory for this rank's state");
			blob_unref(b);
			return -1;
		}
		blob_unref(im->last);
		im->last = b;
		b->refs++;
	}
	size_t i = slot_for(im);
	im->slot[i].id = id;
	im->slot[i].used = ++im->clock;
	im->slot[i].blob = b;
	return 0;
}

int mpi_image_restore(mpi_images *im, const sa_adapter *sa, void *sim, uint64_t id, char *err,
                      size_t errlen)
{
	for (size_t i = 0; i < im->n; i++) {
		if (im->slot[i].id != id)
			continue;
		if (!sa || !sa->restore) {
			snprintf(err, errlen, "this rank has no restore()");
			return -1;
		}
		im->slot[i].used = ++im->clock;
		sa_reader r = { im->slot[i].blob, r_array_size, r_array, r_attr, r_array_size, r_array };
		return sa->restore(sim, &r, err, errlen);
	}
	snprintf(err, errlen, "its part of state %llu is not kept any more (at most %d states are "
	         "kept per rank)", (unsigned long long)id, MPI_IMAGES_MAX);
	return -1;
}

void mpi_image_release(mpi_images *im, uint64_t id)
{
	for (size_t i = 0; i < im->n; i++)
		if (im->slot[i].id == id) {
			blob_unref(im->slot[i].blob);
			im->slot[i] = im->slot[--im->n];
			return;
		}
}

void mpi_images_free(mpi_images *im)
{
	for (size_t i = 0; i < im->n; i++)
		blob_unref(im->slot[i].blob);
	blob_unref(im->last);
	memset(im, 0, sizeof *im);
}
