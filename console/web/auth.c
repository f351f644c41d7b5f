/* SPDX-License-Identifier: MIT */
/* auth.c — tokens, sessions, Host and Origin: see auth.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "auth.h"

/* Compares without leaking, through timing, how much of a token matched. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;
	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0 && la > 0;
}

int auth_init(auth *a, const webcfg *cfg)
{
	memset(a, 0, sizeof *a);
	a->cfg = *cfg;
	return webcfg_new_token(a->observer_token, sizeof a->observer_token);
}

static web_session *new_session(auth *a)
{
	web_session *s = &a->sessions[0];
	for (size_t i = 0; i < AUTH_MAX_SESSIONS; i++) {
		if (!a->sessions[i].id[0]) {
			s = &a->sessions[i];
			break;
		}
		if (a->sessions[i].used < s->used)
			s = &a->sessions[i];
	}
	memset(s, 0, sizeof *s);
	if (webcfg_new_token(s->id, sizeof s->id) < 0)
		return NULL;
	s->used = ++a->clock;
	return s;
}

const web_session *auth_exchange(auth *a, const char *token)
{
	if (!token || !webcfg_token_ok(token))
		return NULL;
	const web_operator *op = NULL;
	for (size_t i = 0; i < a->cfg.n_ops; i++)
		if (same_secret(token, a->cfg.ops[i].token))
			op = &a->cfg.ops[i];
	if (!op && !same_secret(token, a->observer_token))
		return NULL;
	web_session *s = new_session(a);
	if (!s)
		return NULL;
	if (op) {
		s->role = ROLE_OPERATOR;
		snprintf(s->name, sizeof s->name, "%s", op->name);
		snprintf(s->token, sizeof s->token, "%s", op->token);
		snprintf(s->key, sizeof s->key, "%s", op->key);
	} else {
		s->role = ROLE_OBSERVER;
		snprintf(s->name, sizeof s->name, "observer");
	}
	return s;
}

const web_session *auth_lookup(auth *a, const char *id)
{
	if (!id || strlen(id) != AUTH_ID_LEN)
		return NULL;
	for (size_t i = 0; i < AUTH_MAX_SESSIONS; i++) {
		web_session *s = &a->sessions[i];
		if (s->id[0] && same_secret(id, s->id)) {
			s->used = ++a->clock;
			return s;
		}
	}
	return NULL;
}

const web_session *auth_from_cookie(auth *a, const char *header, const char *name)
{
	size_t nl = strlen(name);
	const char *p = header;
	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == nl + 1 + AUTH_ID_LEN && !strncmp(p, name, nl) && p[nl] == '=') {
			char id[AUTH_ID_LEN + 1];
			memcpy(id, p + nl + 1, AUTH_ID_LEN);
			id[AUTH_ID_LEN] = '\0';
			const web_session *s = auth_lookup(a, id);
			if (s)
				return s;
		}
		p = end;
	}
	return NULL;
}

int auth_reload(auth *a, const webcfg *cfg)
{
	a->cfg = *cfg;
	int ended = 0;
	for (size_t i = 0; i < AUTH_MAX_SESSIONS; i++) {
		web_session *s = &a->sessions[i];
		if (!s->id[0] || s->role != ROLE_OPERATOR)
			continue;
		bool kept = false;
		for (size_t k = 0; k < cfg->n_ops && !kept; k++)
			kept = !strcmp(cfg->ops[k].name, s->name) && same_secret(cfg->ops[k].token, s->token) &&
			       !strcmp(cfg->ops[k].key, s->key);
		if (!kept) {
			memset(s, 0, sizeof *s);
			ended++;
		}
	}
	return ended;
}

/* The name part of a Host header: "name", "name:port", "[v6]" or "[v6]:port". */
static bool host_name(const char *host, char *out, size_t len)
{
	const char *end;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end)
			return false;
		end++;
	} else {
		end = strchr(host, ':');
		if (!end)
			end = host + strlen(host);
	}
	if (*end && (*end != ':' || strspn(end + 1, "0123456789") != strlen(end + 1)))
		return false;
	size_t n = (size_t)(end - host);
	if (n == 0 || n >= len)
		return false;
	memcpy(out, host, n);
	out[n] = '\0';
	return true;
}

bool auth_host_ok(const auth *a, const char *host)
{
	char name[256];
	if (!host || !host_name(host, name, sizeof name))
		return false;
	struct in_addr v4;
	if (!strcasecmp(name, "localhost") || !strcmp(name, "[::1]") ||
	    (inet_pton(AF_INET, name, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127))
		return true;
	for (size_t i = 0; i < a->n_hosts; i++)
		if (!strcasecmp(name, a->hosts[i]))
			return true;
	return false;
}

bool auth_origin_ok(const char *origin, const char *host)
{
	static const char scheme[] = "http://";
	return origin && host && !strncmp(origin, scheme, sizeof scheme - 1) &&
	       !strcasecmp(origin + sizeof scheme - 1, host);
}
