/* SPDX-License-Identifier: MIT */
/* checkpoint_dir.c — the checkpoints in a directory, newest first (see checkpoint_dir.h). */
#include "checkpoint_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"

static int newest_first(const void *pa, const void *pb)
{
	const checkpoint_entry *a = pa, *b = pb;
	if (a->write_seq != b->write_seq)
		return a->write_seq > b->write_seq ? -1 : 1;
	if (a->mtime_ns != b->mtime_ns)
		return a->mtime_ns > b->mtime_ns ? -1 : 1;
	return -strcmp(a->path, b->path);
}

static bool is_h5_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".h5") == 0;
}

void checkpoint_dir_free(checkpoint_entry **entries, size_t n)
{
	if (!*entries)
		return;
	for (size_t i = 0; i < n; i++)
		free((*entries)[i].path);
	free(*entries);
	*entries = NULL;
}

int checkpoint_dir_list(const char *dir, checkpoint_dir_skip_fn skipped, checkpoint_entry **out,
                        size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	checkpoint_entry *list = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_h5_name(de->d_name))
			continue;
		char *path = NULL;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			rc = -1;
			break;
		}
		struct stat st;
		checkpoint_entry e = { .path = path };
		char why[1024];
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    checkpoint_peek(path, &e.write_seq, &e.step, why, sizeof why) < 0) {
			if (skipped) {
				if (stat(path, &st) < 0)
					snprintf(why, sizeof why, "%s: %s", path, strerror(errno));
				else if (!S_ISREG(st.st_mode))
					snprintf(why, sizeof why, "%s: not a regular file", path);
				skipped(why);
			}
			free(path);
			continue;
		}
		e.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		if (len == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			checkpoint_entry *grown = realloc(list, ncap * sizeof *grown);
			if (!grown) {
				free(path);
				rc = -1;
				break;
			}
			list = grown;
			cap = ncap;
		}
		list[len++] = e;
	}
	closedir(d);
	if (rc < 0) {
		checkpoint_dir_free(&list, len);
		snprintf(err, errlen, "%s: out of memory", dir);
		return -1;
	}
	if (len)
		qsort(list, len, sizeof *list, newest_first);
	*out = list;
	*n = len;
	return 0;
}

uint64_t checkpoint_dir_max_seq(const char *dir)
{
	checkpoint_entry *list;
	size_t n;
	char err[256];
	uint64_t seq = 0;
	if (checkpoint_dir_list(dir, NULL, &list, &n, err, sizeof err) == 0 && n)
		seq = list[0].write_seq;
	checkpoint_dir_free(&list, n);
	return seq;
}
