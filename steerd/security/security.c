/* SPDX-License-Identifier: MIT */
/* security.c — the server key, the ZAP handler's table, self-test and reload (see security.h). */
#include "security.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "clock.h"
#include "log.h"

#define RETRY_S 1.0 /* an unreadable key list is read again this often */

struct security {
	void *zctx;
	zap *zap;
	cert server;
	char *config_path;            /* re-read on reload; NULL: use `initial` */
	const config_security *initial; /* the config's section (the config outlives us) */
	bool unavailable;             /* the list could not be read: writes refused (zap.h) */
	double next_retry;            /* clock_seconds() of the next attempt while unavailable */
	unsigned retries;
};

/* The key files of a section, as zap_keys_load takes them (pointers into sec). */
static zap_key_file *key_files(const config_security *sec)
{
	zap_key_file *files = calloc(sec->n_clients ? sec->n_clients : 1, sizeof *files);
	if (!files)
		return NULL;
	for (size_t i = 0; i < sec->n_clients; i++)
		files[i] = (zap_key_file){ .path = sec->clients[i].key,
		                           .name = sec->clients[i].name,
		                           .role = (zap_role)sec->clients[i].role };
	return files;
}

/* Every key file at once: any error is an error (start-up, --check). */
static int load_all(const config_security *sec, zap_key **keys, size_t *n, char *err,
                    size_t errlen)
{
	zap_key_file *files = key_files(sec);
	if (!files) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = zap_keys_load(files, sec->n_clients, keys, n, err, errlen);
	free(files);
	return rc;
}

/*
 * On reload: a key file that is absent or malformed is left out (revoked),
 * with a warning. One that could not be read now (CERT_E_IO) or that another
 * user could change (CERT_E_UNSAFE) fails the whole reload with that code.
 */
static int load_each(const config_security *sec, zap_key **keys, size_t *n, char *err,
                     size_t errlen)
{
	zap_key_file *files = key_files(sec);
	zap_key *all = calloc(sec->n_clients ? sec->n_clients : 1, sizeof *all);
	if (!files || !all) {
		free(files);
		free(all);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t got = 0;
	for (size_t i = 0; i < sec->n_clients; i++) {
		zap_key *one = NULL;
		size_t n_one = 0;
		char why[1024];
		int rc = zap_keys_load(&files[i], 1, &one, &n_one, why, sizeof why);
		if (rc == CERT_E_IO || rc == CERT_E_UNSAFE) {
			snprintf(err, errlen, "%s", why);
			free(files);
			free(all);
			return rc;
		}
		if (rc < 0) {
			log_warn("security: reload: %s; that key is not admitted", why);
			continue;
		}
		all[got++] = one[0];
		free(one);
	}
	free(files);
	*keys = all;
	*n = got;
	return 0;
}

static void log_keys(const zap_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char z85[CERT_Z85_LEN + 1];
		zmq_z85_encode(z85, keys[i].key, CERT_KEY_BYTES);
		log_info("security: client '%s' (%s), key %.8s...", keys[i].name,
		         zap_role_name(keys[i].role), z85);
	}
}

int security_check(const config_security *sec, char *err, size_t errlen)
{
	cert server;
	if (cert_load_secret(sec->server_key, &server, err, errlen) < 0)
		return -1;
	cert_wipe(&server);
	zap_key *keys = NULL;
	size_t n = 0;
	if (load_all(sec, &keys, &n, err, errlen) < 0)
		return -1;
	free(keys);
	return 0;
}

security *security_start(void *zctx, const config *cfg, const char *config_path,
                         int *exit_status, char *err, size_t errlen)
{
	*exit_status = EX_SOFTWARE;
	security *s = calloc(1, sizeof *s);
	if (!s || (config_path && !(s->config_path = strdup(config_path)))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->zctx = zctx;
	s->initial = cfg->security;
	zap_key *keys = NULL;
	size_t n = 0;
	if (cert_load_secret(cfg->security->server_key, &s->server, err, errlen) < 0 ||
	    load_all(cfg->security, &keys, &n, err, errlen) < 0) {
		*exit_status = EX_CONFIG;
		security_stop(&s);
		return NULL;
	}
	char why[512];
	if (!(s->zap = zap_start(zctx, why, sizeof why))) {
		snprintf(err, errlen, "cannot start the ZAP handler: %s", why);
		free(keys);
		security_stop(&s);
		return NULL;
	}
	if (zap_set_keys(s->zap, keys, n, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", cfg->path, why);
		*exit_status = EX_CONFIG;
		free(keys);
		security_stop(&s);
		return NULL;
	}
	if (zap_self_test(zctx, s->zap, why, sizeof why) < 0) {
		snprintf(err, errlen, "the security self-test failed, refusing to run: %s", why);
		free(keys);
		security_stop(&s);
		return NULL;
	}
	log_info("security: CURVE on both sockets, server key %s (public %s); self-test passed: "
	         "unknown keys are refused", cfg->security->server_key, s->server.public_z85);
	log_keys(keys, n);
	free(keys);
	return s;
}

const cert *security_server(const security *s) { return s ? &s->server : NULL; }
zap *security_zap(security *s) { return s ? s->zap : NULL; }
size_t security_key_count(security *s) { return s ? zap_key_count(s->zap) : 0; }

/* The fresh list: 0, or CERT_E_IO (unreadable now), or -1/CERT_E_UNSAFE (keep the old one). */
static int read_list(security *s, zap_key **keys, size_t *n, char *err, size_t errlen)
{
	config_security *fresh = NULL;
	const config_security *sec = s->initial;
	if (s->config_path) {
		int rc = config_load_security(s->config_path, &fresh, err, errlen);
		if (rc < 0)
			return rc == CONFIG_E_IO ? CERT_E_IO : rc == CONFIG_E_UNSAFE ? CERT_E_UNSAFE : -1;
		sec = fresh;
		if (strcmp(fresh->server_key, s->initial->server_key) != 0)
			log_warn("security: reload: server_key changed to %s; it is not reloaded, restart "
			         "steerd to use it", fresh->server_key);
	}
	int rc = load_each(sec, keys, n, err, errlen);
	config_security_free(&fresh);
	return rc;
}

int security_reload(security *s, stream *st, char *err, size_t errlen)
{
	zap_key *keys = NULL;
	size_t n = 0;
	int rc = read_list(s, &keys, &n, err, errlen);
	int lost = rc == 0 ? zap_set_keys(s->zap, keys, n, err, errlen) : rc;
	if (lost < 0) {
		free(keys);
		if (rc == CERT_E_IO) {
			if (!s->unavailable)
				zap_set_unavailable(s->zap);
			s->unavailable = true;
			s->next_retry = clock_seconds() + RETRY_S;
			return SECURITY_UNAVAILABLE;
		}
		return -1;
	}
	if (s->unavailable)
		log_info("security: the client key list is readable again; writes are accepted from "
		         "the keys it lists");
	s->unavailable = false;
	s->retries = 0;
	log_info("security: reloaded %zu client key%s (%d removed)", n, n == 1 ? "" : "s", lost);
	log_keys(keys, n);
	free(keys);
	if (n == 0)
		log_warn("security: no client key is admitted now");
	if (lost > 0) {
		/* Cut the revoked subscribers off: everyone reconnects through ZAP. */
		char why[512];
		if (stream_rebind(st, why, sizeof why) < 0)
			log_error("security: %s", why);
		else
			log_info("security: diagnostics socket bound again: subscribers reconnect");
	}
	return lost;
}

/* Reload and log the outcome; true when the table changed or became unavailable. */
static bool reload_logged(security *s, stream *st)
{
	char err[1024];
	bool was_unavailable = s->unavailable;
	int rc = security_reload(s, st, err, sizeof err);
	if (rc == SECURITY_UNAVAILABLE) {
		log_error("security: the client key list cannot be read (%s): every key's writes are "
		          "refused and new connections too, until it can (retried every %.0f s)",
		          err, RETRY_S);
		return !was_unavailable;
	}
	if (rc < 0) {
		if (s->unavailable)
			log_error("security: reload failed, writes stay refused: %s", err);
		else
			log_error("security: reload failed, the keys in effect stay: %s", err);
		if (s->unavailable)
			s->next_retry = clock_seconds() + RETRY_S;
		return false;
	}
	return true;
}

bool security_sighup(security *s, stream *st)
{
	log_info("security: SIGHUP: reloading client keys from %s",
	         s->config_path ? s->config_path : "the key files configured at start");
	return reload_logged(s, st);
}

bool security_retry(security *s, stream *st)
{
	if (!s || !s->unavailable || clock_seconds() < s->next_retry)
		return false;
	log_info("security: reading the client key list again (attempt %u)", ++s->retries);
	return reload_logged(s, st);
}

void security_stop(security **sp)
{
	if (!sp || !*sp)
		return;
	security *s = *sp;
	zap_stop(&s->zap);
	cert_wipe(&s->server);
	free(s->config_path);
	free(s);
	*sp = NULL;
}
