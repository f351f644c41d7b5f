/* SPDX-License-Identifier: MIT */
/*
 * dedup.h — remembers the replies to recent writes that carried a retry key,
 * so a client that lost a reply (timeout, reconnect) can send the same write
 * again and get the first reply instead of having it applied twice.
 * Used by the control thread only.
 */
#ifndef STEERD_DEDUP_H
#define STEERD_DEDUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct dedup dedup;

/* DEDUP_OTHER: the key was used for a different request (another command or body). */
typedef enum { DEDUP_NEW, DEDUP_IN_FLIGHT, DEDUP_DONE, DEDUP_FULL, DEDUP_OTHER } dedup_state;

/*
 * Remember up to `capacity` keys: when full, the oldest whose reply is known
 * is forgotten first; a key in flight is never forgotten.
 */
dedup *dedup_new(size_t capacity);
void dedup_destroy(dedup **dp);

/*
 * Look up (client, key) for the request `request` (its command and body as
 * text; only a hash of it is kept). DEDUP_NEW: now recorded as in flight; the
 * caller must end it with dedup_finish or dedup_forget. DEDUP_DONE: *ok
 * (true) and *body (a new reference) are the first reply. DEDUP_OTHER: the key
 * was first used for another request. DEDUP_FULL: every key remembered is in
 * flight; nothing recorded.
 */
dedup_state dedup_begin(dedup *d, const char *client, const char *key, const char *request,
                        bool *ok, json_t **body);

/*
 * Record the reply of a write begun with dedup_begin (body is copied). An
 * error reply (ok false) is not kept: the write changed nothing, and the same
 * key is then checked and applied afresh.
 */
void dedup_finish(dedup *d, const char *client, const char *key, bool ok, const json_t *body);

/* Forget (client, key): a write begun that was never handed on (nothing changed). */
void dedup_forget(dedup *d, const char *client, const char *key);

#endif
