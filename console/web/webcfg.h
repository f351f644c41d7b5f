/* SPDX-License-Identifier: MIT */
/*
 * webcfg.h — steer-web's config file (YAML): the named operator tokens.
 *
 *   operators:
 *     - name: alice                    # who steers: steerd's journal and events say it
 *       token: 9c1f...                 # >= 32 of [A-Za-z0-9_-]; `steer-web --new-token` makes one
 *       key: keys/alice.key_secret     # only when steerd runs with security: alice's
 *                                      # CURVE key, so steerd itself names her
 *
 * The file holds secrets: it is refused when group or others may read it,
 * or when another user could change it (fileperm.h). Paths are relative to
 * the file's directory. Errors are "file:line:col: message". SIGHUP reads
 * it again; a removed operator (or a changed token) is revoked at once.
 */
#ifndef STEER_WEB_WEBCFG_H
#define STEER_WEB_WEBCFG_H

#include <stddef.h>

#define WEBCFG_MAX_OPERATORS 64
#define WEBCFG_NAME_MAX 64
#define WEBCFG_TOKEN_MIN 32
#define WEBCFG_TOKEN_MAX 128

typedef struct web_operator {
	char name[WEBCFG_NAME_MAX];
	char token[WEBCFG_TOKEN_MAX + 1];
	char key[4096]; /* "" without */
} web_operator;

typedef struct webcfg {
	web_operator ops[WEBCFG_MAX_OPERATORS];
	size_t n_ops;
} webcfg;

/* 0, or -1 with "file:line:col: message" (or "file: message") in err. */
int webcfg_load(const char *path, webcfg *out, char *err, size_t errlen);

/* Is this acceptable as a token (length and characters)? */
int webcfg_token_ok(const char *t);

/* A new random token (64 hex digits, 256 bits) into buf (>= 65 bytes); -1 on failure. */
int webcfg_new_token(char *buf, size_t len);

#endif
