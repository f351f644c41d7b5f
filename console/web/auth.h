/* SPDX-License-Identifier: MIT */
/*
 * auth.h — who is at the other end of a browser connection.
 *
 * As Jupyter does: the URL steer-web prints carries a token; the first visit
 * exchanges it for a session cookie (HttpOnly, SameSite=Strict) and is
 * redirected to the bare page, so the token leaves the address bar and the
 * history. The printed token (new at every start) gives an observer: it
 * sees everything and changes nothing. Operators have tokens of their own,
 * named in steer-web's config (webcfg.h); removing one there (and SIGHUP)
 * ends that person's sessions at once.
 *
 * DNS rebinding: a page from another site that resolves its own name to
 * 127.0.0.1 would reach us with its own name in Host. So the Host header must
 * name loopback (localhost, 127.x.y.z, [::1]; any port, for ssh tunnels that
 * remap it) or a name given with --allow-host, and a WebSocket's Origin must
 * be this very page (http://HOST).
 */
#ifndef STEER_WEB_AUTH_H
#define STEER_WEB_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "webcfg.h"

#define AUTH_MAX_SESSIONS 256
#define AUTH_ID_LEN 64
#define AUTH_MAX_HOSTS 8

typedef enum web_role { ROLE_OBSERVER = 1, ROLE_OPERATOR = 2 } web_role;

typedef struct web_session {
	char id[AUTH_ID_LEN + 1]; /* "" = free slot */
	web_role role;
	char name[WEBCFG_NAME_MAX];       /* the operator's, or "observer" */
	char token[WEBCFG_TOKEN_MAX + 1]; /* the operator's token when it was exchanged */
	char key[4096];                   /* the operator's CURVE key file, or "" */
	unsigned long long used;          /* for evicting the least recently used */
} web_session;

typedef struct auth {
	char observer_token[WEBCFG_TOKEN_MAX + 1];
	webcfg cfg;
	web_session sessions[AUTH_MAX_SESSIONS];
	unsigned long long clock;
	char hosts[AUTH_MAX_HOSTS][256]; /* extra names allowed in Host (--allow-host) */
	size_t n_hosts;
} auth;

/* A fresh observer token; cfg copied in. -1 when no random bytes. */
int auth_init(auth *a, const webcfg *cfg);

/*
 * Exchanges a token from the URL for a new session: its id (to put in the
 * cookie), or NULL for a token nobody holds.
 */
const web_session *auth_exchange(auth *a, const char *token);

/* The session named by the Cookie header (cookie cookie_name), or NULL. */
const web_session *auth_from_cookie(auth *a, const char *cookie_header, const char *cookie_name);

/* The session with this id when it is still valid (not revoked), or NULL. */
const web_session *auth_lookup(auth *a, const char *id);

/*
 * Takes a new operator list: sessions of operators no longer listed, or
 * whose token changed, are ended. Returns how many were ended.
 */
int auth_reload(auth *a, const webcfg *cfg);

bool auth_host_ok(const auth *a, const char *host);
bool auth_origin_ok(const char *origin, const char *host);

#endif
