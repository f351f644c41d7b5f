/* SPDX-License-Identifier: MIT */
/* dedup.c — replies to recent writes by retry key (see dedup.h). */
#include "dedup.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dedup {
	/*
	 * "client\nkey" -> the request's hash (16 hex digits), then '-' (in
	 * flight), 'x' (it failed: forgotten) or '1' and the reply's body as
	 * compact JSON.
	 * Text, not a copy of the objects: a remembered `set` reply then costs
	 * ~200 bytes instead of ~1 KB.
	 */
	json_t *replies;
	char **order;     /* ring of keys, oldest at `head` */
	size_t capacity, head, count;
};

dedup *dedup_new(size_t capacity)
{
	dedup *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->replies = json_object();
	d->order = calloc(capacity, sizeof *d->order);
	d->capacity = capacity;
	if (!d->replies || !d->order || !capacity) {
		dedup_destroy(&d);
		return NULL;
	}
	return d;
}

void dedup_destroy(dedup **dp)
{
	if (!dp || !*dp)
		return;
	dedup *d = *dp;
	for (size_t i = 0; d->order && i < d->count; i++)
		free(d->order[(d->head + i) % d->capacity]);
	free(d->order);
	json_decref(d->replies);
	free(d);
	*dp = NULL;
}

static char *join(const char *client, const char *key)
{
	char *s = NULL;
	return asprintf(&s, "%s\n%s", client, key) < 0 ? NULL : s;
}

#define HASH_DIGITS 16

/* FNV-1a, 64 bits: tells a repeat from another request that reuses its key. */
static void request_hash(const char *request, char out[HASH_DIGITS + 1])
{
	uint64_t h = 14695981039346656037u;
	for (const unsigned char *p = (const unsigned char *)request; *p; p++)
		h = (h ^ *p) * 1099511628211u;
	snprintf(out, HASH_DIGITS + 1, "%016llx", (unsigned long long)h);
}


/*
 * Make room: forget the oldest key whose reply is known. A key in flight is
 * never forgotten (a repeat would then be applied twice): it moves to the
 * newest end instead. False when every key is in flight.
 */
static bool forget_oldest_done(dedup *d)
{
	for (size_t tries = 0; tries < d->count; tries++) {
		char *k = d->order[d->head];
		d->head = (d->head + 1) % d->capacity;
		if (json_string_value(json_object_get(d->replies, k))[HASH_DIGITS] != '-') {
			json_object_del(d->replies, k);
			free(k);
			d->count--;
			return true;
		}
		d->order[(d->head + d->count - 1) % d->capacity] = k; /* the ring is full: the slot just left */
	}
	return false;
}

dedup_state dedup_begin(dedup *d, const char *client, const char *key, const char *request,
                        bool *ok, json_t **body)
{
	char *k = join(client, key);
	if (!k)
		return DEDUP_NEW; /* out of memory: behave as without a key */
	char hash[HASH_DIGITS + 2];
	request_hash(request, hash);
	json_t *seen = json_object_get(d->replies, k);
	if (seen) {
		const char *text = json_string_value(seen);
		if (text[HASH_DIGITS] == 'x') { /* an error reply: forgotten, checked afresh */
			strcat(hash, "-");
			json_object_set_new(d->replies, k, json_string(hash));
			free(k);
			return DEDUP_NEW;
		}
		free(k);
		if (strncmp(text, hash, HASH_DIGITS) != 0)
			return DEDUP_OTHER;
		text += HASH_DIGITS;
		if (text[0] == '-')
			return DEDUP_IN_FLIGHT;
		*ok = text[0] == '1';
		*body = json_loads(text + 1, 0, NULL);
		if (!*body)
			*body = json_object(); /* out of memory: an empty body, still the first reply */
		return DEDUP_DONE;
	}
	if (d->count == d->capacity && !forget_oldest_done(d)) {
		free(k);
		return DEDUP_FULL;
	}
	strcat(hash, "-");
	json_object_set_new(d->replies, k, json_string(hash));
	d->order[(d->head + d->count++) % d->capacity] = k;
	return DEDUP_NEW;
}

void dedup_finish(dedup *d, const char *client, const char *key, bool ok, const json_t *body)
{
	char *k = join(client, key);
	if (!k)
		return;
	/* Only a key still remembered (not forgotten meanwhile) gets its reply. */
	char *text = NULL;
	const char *seen = json_string_value(json_object_get(d->replies, k));
	if (seen) {
		char *dumped = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		/* An error changed nothing: it is not kept ('x'), a repeat is checked afresh. */
		if (ok ? asprintf(&text, "%.*s1%s", HASH_DIGITS, seen, dumped ? dumped : "{}") >= 0
		       : asprintf(&text, "%.*sx", HASH_DIGITS, seen) >= 0)
			json_object_set_new(d->replies, k, json_string(text));
		free(dumped);
	}
	free(text);
	free(k);
}

void dedup_forget(dedup *d, const char *client, const char *key)
{
	char *k = join(client, key);
	if (!k)
		return;
	/* From the newest: the key forgotten is normally the one just begun. */
	for (size_t i = d->count; i-- > 0;) {
		size_t at = (d->head + i) % d->capacity;
		if (strcmp(d->order[at], k) != 0)
			continue;
		json_object_del(d->replies, k);
		free(d->order[at]);
		for (size_t j = i; j + 1 < d->count; j++) /* close the hole: keep the order */
			d->order[(d->head + j) % d->capacity] = d->order[(d->head + j + 1) % d->capacity];
		d->count--;
		break;
	}
	free(k);
}
