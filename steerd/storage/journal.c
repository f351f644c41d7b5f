/* SPDX-License-Identifier: MIT */
/* journal.c — the steering journal as compact JSON lines (see journal.h). */
#include "journal.h"

#include <stdlib.h>
#include <string.h>

static int append(journal *j, const char *s, size_t n)
{
	if (j->len + n + 2 > j->cap) {
		size_t cap = j->cap ? j->cap : 4096;
		while (cap < j->len + n + 2)
			cap *= 2;
		char *grown = realloc(j->text, cap);
		if (!grown)
			return -1;
		j->text = grown;
		j->cap = cap;
	}
	if (j->len)
		j->text[j->len++] = '\n';
	memcpy(j->text + j->len, s, n);
	j->len += n;
	j->text[j->len] = '\0';
	return 0;
}

/* Drop the oldest quarter (whole entries) and note how many went. */
static void drop_oldest(journal *j)
{
	char *cut = memchr(j->text + j->len / 4, '\n', j->len - j->len / 4);
	if (!cut)
		return;
	uint64_t n = 1;
	for (char *p = j->text; p < cut; p++)
		n += *p == '\n';
	j->dropped += n;
	size_t keep = j->len - (size_t)(cut + 1 - j->text);
	char marker[96];
	int m = snprintf(marker, sizeof marker, "{\"dropped_older_entries\":%llu}",
	                 (unsigned long long)j->dropped);
	memmove(j->text + m + 1, cut + 1, keep);
	memcpy(j->text, marker, (size_t)m);
	j->text[m] = '\n';
	j->len = (size_t)m + 1 + keep;
	j->text[j->len] = '\0';
}

int journal_add(journal *j, json_t *entry)
{
	char *s = entry ? json_dumps(entry, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(entry);
	if (!s)
		return -1;
	int rc = append(j, s, strlen(s));
	free(s);
	if (j->len > JOURNAL_MAX_BYTES)
		drop_oldest(j);
	return rc;
}

char *journal_json(const journal *j)
{
	char *out = malloc(j->len + 3);
	if (!out)
		return NULL;
	out[0] = '[';
	for (size_t i = 0; i < j->len; i++)
		out[i + 1] = j->text[i] == '\n' ? ',' : j->text[i];
	out[j->len + 1] = ']';
	out[j->len + 2] = '\0';
	return out;
}

int journal_load(journal *j, const json_t *entries)
{
	journal fresh = { 0 };
	size_t i;
	json_t *e;
	json_array_foreach(entries, i, e) {
		if (journal_add(&fresh, json_incref(e)) < 0) {
			journal_free(&fresh);
			return -1;
		}
	}
	journal_free(j);
	*j = fresh;
	return 0;
}

void journal_free(journal *j)
{
	free(j->text);
	*j = (journal){ 0 };
}
