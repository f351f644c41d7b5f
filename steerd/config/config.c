/* SPDX-License-Identifier: MIT */
/*
 * config.c — the configuration schema: read the file (config_yaml.c does the
 * strict YAML part) and check it.
 *
 * The daemon's own settings are the table `settings` below (dotted name,
 * type, bounds, default, field of struct config), walked generically; the
 * simulation's knobs come from the adapter's descriptor, loaded first. The
 * first error ends the walk with "file:line:col: message"; everything
 * allocated so far is freed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config_internal.h"
#include "fileperm.h"
#include "log.h"
#include "quantity.h"
#include "zap.h"

#define CONFIG_MAX_BYTES (1u << 20) /* 1 MiB */
#define MAX_ENDPOINT_LEN 256
#define MAX_PATH_LEN 4095
#define MAX_NAMES 64                /* keys of one section in the table */

_Static_assert(sizeof(bool) == 1, "bool fields are stored as one byte");

/* ---------------------------------------------------------------- the settings table */

typedef enum {
	S_SECTION,   /* a mapping of further settings */
	S_UINT,      /* integer in [min, max] */
	S_BOOL,
	S_ENUM,      /* one of choices; stored as its index */
	S_ENDPOINT,  /* ZeroMQ endpoint string */
	S_PATH,      /* file path string */
	S_CUSTOM,    /* parsed by fn */
	S_RESERVED,  /* refused: not supported yet */
} stype;

typedef int (*custom_fn)(cfg_ctx *c, const char *name, const yaml_node_t *value);

typedef struct setting {
	const char *name;            /* dotted path from the top level */
	stype type;
	uint64_t min, max, def;      /* S_UINT bounds; S_UINT, S_BOOL, S_ENUM default */
	const char *sdef;            /* S_ENDPOINT, S_PATH default (NULL: none) */
	const char *const *choices;  /* S_ENUM, NULL-terminated */
	size_t offset, size;         /* field in struct config (size 0: none) */
	custom_fn fn;                /* S_CUSTOM; NULL: handled before the walk */
	bool reload;                 /* SIGHUP applies a new value to the running daemon */
} setting;

#define FIELD(f) .offset = offsetof(config, f), .size = sizeof(((config *)0)->f)
#define OPT_SECTION(n) { .name = n, .type = S_SECTION }
#define OPT_CUSTOM(n, f, ...) { .name = n, .type = S_CUSTOM, .fn = f, __VA_ARGS__ }
#define OPT_RESERVED(n) { .name = n, .type = S_RESERVED }
#define OPT_UINT(n, lo, hi, d, f, ...) \
	{ .name = n, .type = S_UINT, .min = lo, .max = hi, .def = d, FIELD(f), __VA_ARGS__ }
#define OPT_BOOL(n, d, f, ...) { .name = n, .type = S_BOOL, .def = d, FIELD(f), __VA_ARGS__ }
#define OPT_ENUM(n, ch, d, f, ...) \
	{ .name = n, .type = S_ENUM, .choices = ch, .def = d, FIELD(f), __VA_ARGS__ }
/*
 * Reloaded on SIGHUP (config_reload): settings read afresh by the simulation
 * thread at every use, whose change cannot break a client or the run. Not
 * reloadable: endpoints, the adapter, knobs and schedule (state of the run:
 * knobs change by `set`), run.* (but run.max_steps_per_second), heartbeat_ms (clients time their liveness
 * by it), send_hwm and limits (fixed on sockets), checkpoint.directory (the
 * rotation list is per directory), indicators. The security section has its
 * own reload (security.h).
 */
#define RELOAD .reload = true
#define OPT_STRING(n, t, d, f) { .name = n, .type = t, .sdef = d, FIELD(f) }

static const char *const start_choices[] = { "running", "paused", NULL }; /* = start_paused */
static const char *const log_choices[] = { "error", "warn", "info", "debug", NULL }; /* = log_level */

static int parse_every(cfg_ctx *c, const char *name, const yaml_node_t *value);
static int parse_indicators(cfg_ctx *c, const char *name, const yaml_node_t *value);
static int parse_security(cfg_ctx *c, const char *name, const yaml_node_t *value);

/* Every key the file may hold (the simulation's knobs aside). */
static const setting settings[] = {
	OPT_SECTION("simulation"),                 /* read first: the rest needs the adapter */
	OPT_CUSTOM("simulation.adapter", NULL),
	OPT_CUSTOM("simulation.knobs", NULL),

	OPT_SECTION("run"),
	OPT_ENUM("run.start", start_choices, 0, start_paused),
	OPT_UINT("run.max_steps", 0, INT64_MAX, 0, max_steps),
	/* absent: not pinned (stored as -1; see config.h) */
	OPT_UINT("run.simulation_cpu", 0, 1023, UINT32_MAX, simulation_cpu),
	/* 0: as fast as it goes; read at every step, so a reload paces a running run */
	OPT_UINT("run.max_steps_per_second", 0, 1000000000, 0, max_steps_per_second, RELOAD),

	OPT_SECTION("endpoints"),
	OPT_STRING("endpoints.control", S_ENDPOINT, "tcp://127.0.0.1:*", control_endpoint),
	OPT_STRING("endpoints.diagnostics", S_ENDPOINT, "tcp://127.0.0.1:*", diagnostics_endpoint),
	OPT_STRING("endpoints.connection_file", S_PATH, NULL, connection_file),
	OPT_BOOL("endpoints.allow_remote", false, allow_remote),

	OPT_SECTION("diagnostics"),
	OPT_UINT("diagnostics.scalars_every", 0, UINT_MAX, 1, scalars_every, RELOAD),
	OPT_UINT("diagnostics.arrays_every", 0, UINT_MAX, 100, arrays_every, RELOAD),
	OPT_CUSTOM("diagnostics.every", parse_every, RELOAD),
	OPT_UINT("diagnostics.heartbeat_ms", 10, 60000, 1000, heartbeat_ms),
	OPT_UINT("diagnostics.send_hwm", 1, 1000000, 1000, send_hwm),
	OPT_CUSTOM("diagnostics.indicators", parse_indicators),
	/* an indicator's `indicator` event waits until the change has lasted this many steps */
	OPT_UINT("diagnostics.indicator_dwell_steps", 1, 1000000000, 1000, indicator_dwell_steps,
	         RELOAD),

	OPT_CUSTOM("schedule", cfg_parse_schedule),

	OPT_SECTION("history"),
	/* the run's past in memory (history.h); 0 keeps none */
	OPT_UINT("history.max_bytes", 0, (uint64_t)1 << 40, (uint64_t)64 << 20, history_max_bytes),
	OPT_UINT("history.levels", 1, 8, 4, history_levels),
	OPT_UINT("history.bucket_samples", 2, 65536, 64, history_bucket_samples),

	OPT_SECTION("limits"),
	OPT_UINT("limits.max_message_bytes", 1024, 16777216, 65536, max_message_bytes),

	OPT_ENUM("log_level", log_choices, LOG_INFO, log_level, RELOAD),

	OPT_SECTION("checkpoint"),
	OPT_STRING("checkpoint.directory", S_PATH, NULL, checkpoint_dir),
	OPT_UINT("checkpoint.every_steps", 0, INT64_MAX, 0, checkpoint_every_steps, RELOAD),
	OPT_UINT("checkpoint.every_seconds", 0, 31536000, 0, checkpoint_every_seconds, RELOAD),
	OPT_UINT("checkpoint.keep", 1, 100000, 3, checkpoint_keep, RELOAD),
	OPT_UINT("checkpoint.keep_named", 1, 100000, 16, checkpoint_keep_named, RELOAD),
	OPT_BOOL("checkpoint.on_exit", true, checkpoint_on_exit, RELOAD),

	OPT_CUSTOM("security", parse_security), /* its own small schema, below */
};

#define N_SETTINGS (sizeof settings / sizeof settings[0])

static void store_uint(config *cfg, const setting *s, uint64_t v)
{
	char *field = (char *)cfg + s->offset;
	switch (s->size) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(field, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(field, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(field, &x, 4); break; }
	case 8: { uint64_t x = v; memcpy(field, &x, 8); break; }
	}
}

static char **string_field(config *cfg, const setting *s)
{
	return (char **)((char *)cfg + s->offset);
}

static int apply_defaults(config *cfg)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const setting *s = &settings[i];
		if (!s->size)
			continue;
		if (s->type == S_ENDPOINT || s->type == S_PATH) {
			char **f = string_field(cfg, s);
			if (s->sdef && !(*f = strdup(s->sdef)))
				return -1;
		} else {
			store_uint(cfg, s, s->def);
		}
	}
	return 0;
}

/* The settings directly under prefix ("" for the top level). */
static size_t child_names(const char *prefix, const char **names, const setting **which)
{
	size_t plen = strlen(prefix), n = 0;
	for (size_t i = 0; i < N_SETTINGS && n < MAX_NAMES; i++) {
		const char *name = settings[i].name;
		const char *leaf;
		if (plen) {
			if (strncmp(name, prefix, plen) || name[plen] != '.')
				continue;
			leaf = name + plen + 1;
		} else {
			leaf = name;
		}
		if (strchr(leaf, '.'))
			continue;
		names[n] = leaf;
		which[n] = &settings[i];
		n++;
	}
	return n;
}

/* "tcp://host:port": host (without brackets) into buf; -1 with a message when malformed. */
static int split_tcp(const char *rest, char *host, size_t hostlen, const char **port,
                     const char **why)
{
	const char *colon;
	const char *h = rest, *hend;
	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		if (!close || close[1] != ':') {
			*why = "a bracketed IPv6 address must be followed by :port";
			return -1;
		}
		h = rest + 1;
		hend = close;
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (!colon) {
			*why = "lacks a port (e.g. tcp://127.0.0.1:* or tcp://127.0.0.1:5555)";
			return -1;
		}
		hend = colon;
	}
	if (hend == h) {
		*why = "lacks a host (e.g. tcp://127.0.0.1:*)";
		return -1;
	}
	if ((size_t)(hend - h) >= hostlen) {
		*why = "has a host name that is too long";
		return -1;
	}
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = colon + 1;
	if (strcmp(*port, "*") != 0) {
		char *end;
		errno = 0;
		long p = **port && !(*port)[strspn(*port, "0123456789")] ? strtol(*port, &end, 10) : -1;
		if (p < 1 || p > 65535) {
			*why = "has a port that is neither * nor a number in [1, 65535]";
			return -1;
		}
	}
	return 0;
}

static bool host_is_loopback(const char *host)
{
	if (!strcmp(host, "localhost"))
		return true;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	struct in6_addr a6;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static int check_endpoint(cfg_ctx *c, const char *name, const yaml_node_t *n, const char *ep)
{
	size_t len = strlen(ep);
	if (!len)
		return FAIL(c, n, "%s must not be empty", name);
	if (len > MAX_ENDPOINT_LEN)
		return FAIL(c, n, "%s is too long (%zu characters; at most %d)", name, len,
		            MAX_ENDPOINT_LEN);
	for (const char *p = ep; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return FAIL(c, n, "%s must not contain spaces or control characters", name);
	if (!strncmp(ep, "tcp://", 6)) {
		char host[MAX_ENDPOINT_LEN + 1];
		const char *port, *why;
		if (split_tcp(ep + 6, host, sizeof host, &port, &why) < 0)
			return FAIL(c, n, "%s: '%s' %s", name, ep, why);
		return 0;
	}
	size_t scheme = !strncmp(ep, "ipc://", 6) ? 6 : !strncmp(ep, "inproc://", 9) ? 9 : 0;
	if (scheme) {
		if (!ep[scheme])
			return FAIL(c, n, "%s: '%s' lacks a path or name after ://", name, ep);
		return 0;
	}
	return FAIL(c, n, "%s: '%s' must start with tcp://, ipc:// or inproc://", name, ep);
}

/* After the walk, when allow_remote is known. */
static int check_endpoints_local(cfg_ctx *c)
{
	const config *cfg = c->cfg;
	if (!strcmp(cfg->control_endpoint, cfg->diagnostics_endpoint) &&
	    !(strncmp(cfg->control_endpoint, "tcp://", 6) == 0 &&
	      cfg->control_endpoint[strlen(cfg->control_endpoint) - 1] == '*')) {
		const yaml_node_t *at = c->n_endpoints ? c->endpoints[c->n_endpoints - 1].node : NULL;
		if (at)
			return FAIL(c, at, "endpoints.control and endpoints.diagnostics are the same "
			                   "('%s'); they need different addresses", cfg->control_endpoint);
	}
	if (cfg->security)
		return 0; /* with CURVE and client keys, any interface may be bound */
	/*
	 * A Linux abstract socket (ipc://@name) has no file, so no directory
	 * permission guards it: every local user can connect. allow_remote is
	 * about network interfaces and does not allow this either.
	 */
	for (size_t i = 0; i < c->n_endpoints; i++) {
		const char *ep = *(char **)((char *)c->cfg + c->endpoints[i].offset);
		if (!strncmp(ep, "ipc://@", 7))
			return FAIL(c, c->endpoints[i].node,
			            "%s: '%s' is an abstract socket, which every local user can connect "
			            "to; without security use ipc:// with a path in a 0700 directory, or "
			            "tcp://127.0.0.1",
			            c->endpoints[i].name, ep);
	}
	if (cfg->allow_remote)
		return 0;
	for (size_t i = 0; i < c->n_endpoints; i++) {
		const char *ep = *(char **)((char *)c->cfg + c->endpoints[i].offset);
		if (strncmp(ep, "tcp://", 6))
			continue;
		char host[MAX_ENDPOINT_LEN + 1];
		const char *port, *why;
		if (split_tcp(ep + 6, host, sizeof host, &port, &why) < 0)
			continue; /* cannot happen: checked when read */
		if (!host_is_loopback(host))
			return FAIL(c, c->endpoints[i].node,
			            "%s: binding %s without security is refused; set "
			            "endpoints.allow_remote: true to allow it",
			            c->endpoints[i].name, !strcmp(host, "*") ? "* (every interface)" : host);
	}
	return 0;
}

/* ---------------------------------------------------------------- paths */

/* The home directory: $HOME, else the password database's; NULL if neither. */
static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	if (home && home[0] == '/')
		return home;
	struct passwd *pw = getpwuid(geteuid());
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

/*
 * A path of the file as steerd uses it (README "Configuration", paths):
 *   "/abs"                 as given;
 *   "~/rest"               under the home directory ($HOME, else the password database's);
 *   "$XDG_STATE_HOME/rest" under $XDG_STATE_HOME when it is set to an absolute path,
 *                          else under ~/.local/state (the XDG default);
 *   other                  relative to c->base_dir: the config file's directory, or the
 *                          checkpoint's for a config read from a checkpoint (NULL: as given,
 *                          i.e. the current directory).
 * Nothing else is expanded: any other "~" or "$" at the start is refused, so that a
 * path never silently means a directory named "$HOME". With force_slash the result
 * always holds a '/' (dlopen searches the library path for a bare "x.so").
 */
static int expand_path(cfg_ctx *c, const yaml_node_t *n, const char *name, const char *str,
                       bool force_slash, char **out)
{
	static const char xdg[] = "$XDG_STATE_HOME/";
	const char *base = c->base_dir, *rest = str;
	char state[PATH_MAX];
	*out = NULL;
	if (!strncmp(str, "~/", 2) || !strncmp(str, xdg, sizeof xdg - 1)) {
		bool tilde = str[0] == '~';
		const char *env = tilde ? NULL : getenv("XDG_STATE_HOME");
		const char *home = env && env[0] == '/' ? NULL : home_dir();
		if (!(env && env[0] == '/') && !home)
			return FAIL(c, n, "%s: '%s' needs the home directory, but HOME is not set and "
			                  "the user has none", name, str);
		if (env && env[0] == '/')
			snprintf(state, sizeof state, "%s", env);
		else
			snprintf(state, sizeof state, tilde ? "%s" : "%s/.local/state", home);
		base = state;
		rest = str + (tilde ? 2 : sizeof xdg - 1);
	} else if (str[0] == '~' || str[0] == '$') {
		return FAIL(c, n, "%s: '%s': only a leading ~/ or $XDG_STATE_HOME/ is expanded in "
		                  "paths; write the path out", name, str);
	} else if (str[0] == '/') {
		base = NULL;
	}
	int rc;
	if (!base || !*base)
		rc = force_slash && !strchr(str, '/') ? asprintf(out, "./%s", str)
		                                       : ((*out = strdup(str)) ? 0 : -1);
	else if (!strcmp(base, ".") && !force_slash)
		rc = (*out = strdup(rest)) ? 0 : -1;
	else
		rc = asprintf(out, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", rest);
	if (rc < 0) {
		*out = NULL;
		return FAIL(c, n, "out of memory");
	}
	if (strlen(*out) > MAX_PATH_LEN) {
		free(*out);
		*out = NULL;
		return FAIL(c, n, "%s is too long once resolved (at most %d characters)", name,
		            MAX_PATH_LEN);
	}
	return 0;
}

/* A path setting at n: a non-empty string, resolved by expand_path. */
static int resolve_path(cfg_ctx *c, const yaml_node_t *n, const char *name, char **out)
{
	const char *str;
	if (cfg_get_string(c, n, name, &str) < 0)
		return -1;
	if (!*str)
		return FAIL(c, n, "%s must not be empty", name);
	if (strlen(str) > MAX_PATH_LEN)
		return FAIL(c, n, "%s is too long (at most %d characters)", name, MAX_PATH_LEN);
	return expand_path(c, n, name, str, false, out);
}

/*
 * An endpoint setting at n. The path of an ipc:// endpoint is a path like any
 * other (expand_path); ipc://@name (abstract) and inproc:// have none.
 */
static int resolve_endpoint(cfg_ctx *c, const yaml_node_t *n, const char *name, char **out)
{
	const char *str;
	*out = NULL;
	if (cfg_get_string(c, n, name, &str) < 0)
		return -1;
	if (check_endpoint(c, name, n, str) < 0)
		return -1;
	const char *ipc = !strncmp(str, "ipc://", 6) && str[6] != '@' ? str + 6 : NULL;
	char *path = NULL;
	if (ipc && expand_path(c, n, name, ipc, false, &path) < 0)
		return -1;
	int rc = path ? asprintf(out, "ipc://%s", path) : ((*out = strdup(str)) ? 0 : -1);
	free(path);
	if (rc < 0) {
		*out = NULL;
		return FAIL(c, n, "out of memory");
	}
	if (ipc && check_endpoint(c, name, n, *out) < 0) { /* its length once resolved */
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int set_setting(cfg_ctx *c, const setting *s, const yaml_node_t *n)
{
	config *cfg = c->cfg;
	switch (s->type) {
	case S_UINT: {
		uint64_t v;
		if (cfg_get_uint(c, n, s->name, s->min, s->max, &v) < 0)
			return -1;
		store_uint(cfg, s, v);
		return 0;
	}
	case S_BOOL: {
		bool b = false;
		if (cfg_get_bool(c, n, s->name, &b) < 0)
			return -1;
		store_uint(cfg, s, b);
		return 0;
	}
	case S_ENUM: {
		size_t nc = 0;
		while (s->choices[nc])
			nc++;
		char list[256];
		cfg_join_names(list, sizeof list, s->choices, nc);
		scalar v;
		if (n->type != YAML_SCALAR_NODE)
			return FAIL(c, n, "%s must be one of: %s", s->name, list);
		if (cfg_resolve(c, n, &v) < 0)
			return -1;
		if (v.kind == V_STR)
			for (size_t i = 0; i < nc; i++)
				if (!strcmp(v.s, s->choices[i])) {
					store_uint(cfg, s, i);
					return 0;
				}
		const char *hint = v.kind == V_STR ? cfg_suggest(v.s, s->choices, nc) : NULL;
		if (hint)
			return FAIL(c, n, "%s: '%s' is not one of: %s (did you mean '%s'?)", s->name, v.s,
			            list, hint);
		return FAIL(c, n, "%s must be one of: %s", s->name, list);
	}
	case S_ENDPOINT:
	case S_PATH: {
		char *copy;
		if (s->type == S_ENDPOINT) {
			if (resolve_endpoint(c, n, s->name, &copy) < 0)
				return -1;
			if (c->n_endpoints < sizeof c->endpoints / sizeof c->endpoints[0])
				c->endpoints[c->n_endpoints++] =
				    (struct endpoint_ref){ s->name, n, s->offset };
		} else if (resolve_path(c, n, s->name, &copy) < 0) {
			return -1;
		}
		char **f = string_field(cfg, s);
		free(*f);
		*f = copy;
		return 0;
	}
	case S_SECTION:
	case S_CUSTOM:
	case S_RESERVED:
		break;
	}
	return FAIL(c, n, "%s: internal error (setting type)", s->name);
}

/*
 * Walk a mapping of settings under prefix. With keys_only, only check its
 * keys (unknown, duplicate, reserved) without reading values.
 */
static int walk(cfg_ctx *c, const yaml_node_t *map, const char *prefix, bool keys_only)
{
	const char *names[MAX_NAMES];
	const setting *which[MAX_NAMES];
	size_t n = child_names(prefix, names, which);

	for (size_t i = 0; i < cfg_map_size(map); i++) {
		int k = cfg_check_key(c, map, i, names, n, prefix);
		if (k < 0)
			return -1;
		const setting *s = which[k];
		const yaml_node_t *value = cfg_pair_value(c, map, i);
		if (s->type == S_RESERVED)
			return FAIL(c, cfg_pair_key(c, map, i), "%s is not supported yet", s->name);
		if (keys_only)
			continue;
		switch (s->type) {
		case S_SECTION:
			if (!strcmp(s->name, "simulation"))
				break; /* read before the walk */
			if (cfg_is_null(c, value))
				break;
			if (value->type != YAML_MAPPING_NODE)
				return FAIL(c, value, "%s must be a mapping (indented 'key: value' lines)",
				            s->name);
			if (walk(c, value, s->name, false) < 0)
				return -1;
			/* A checkpoint section is a wish for checkpoints (on_exit, every_*):
			 * without a directory they go where the command's do, here. */
			if (!strcmp(s->name, "checkpoint") && !c->cfg->checkpoint_dir &&
			    !(c->cfg->checkpoint_dir = strdup(".")))
				return cfg_fail(c, "out of memory");
			break;
		case S_CUSTOM:
			if (s->fn && s->fn(c, s->name, value) < 0)
				return -1;
			break;
		default:
			if (set_setting(c, s, value) < 0)
				return -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- simulation */

static const char *const *knob_names(const sa_adapter *sa, const char **buf)
{
	for (size_t k = 0; k < sa->n_knobs; k++)
		buf[k] = sa->knobs[k].name;
	return buf;
}

/* Suggestion or list of the adapter's knob names, for messages. */
static const char *knob_hint(const sa_adapter *sa, const char *name, char *buf, size_t len)
{
	const char **names = malloc((sa->n_knobs + 1) * sizeof *names);
	if (!names) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	knob_names(sa, names);
	const char *hint = cfg_suggest(name, names, sa->n_knobs);
	if (hint) {
		snprintf(buf, len, " (did you mean '%s'?)", hint);
	} else {
		char list[512];
		snprintf(buf, len, " (knobs of %s: %s)", sa->name,
		         cfg_join_names(list, sizeof list, names, sa->n_knobs));
	}
	free(names);
	return buf;
}

/*
 * The knob named by key node kn of a mapping, checked to exist (and not be
 * given twice in map); returns its index or -1.
 */
int cfg_knob_key(cfg_ctx *c, const yaml_node_t *map, size_t i, const char *where)
{
	const sa_adapter *sa = c->cfg->adapter->sa;
	const yaml_node_t *k = cfg_pair_key(c, map, i);
	scalar v;
	if (k->type != YAML_SCALAR_NODE)
		return FAIL(c, k, "keys must be strings");
	if (cfg_resolve(c, k, &v) < 0)
		return -1;
	int idx = adapter_knob_index(sa, v.s);
	if (idx < 0) {
		char hint[600];
		return FAIL(c, k, "unknown key '%s' in %s%s", v.s, where,
		            knob_hint(sa, v.s, hint, sizeof hint));
	}
	for (size_t j = 0; j < i; j++) {
		const yaml_node_t *prev = cfg_pair_key(c, map, j);
		if (!strcmp((const char *)prev->data.scalar.value, v.s))
			return FAIL(c, k, "duplicate key '%s' in %s (first given at line %zu)", v.s, where,
			            prev->start_mark.line + 1);
	}
	return idx;
}

static int quantity_fail(cfg_ctx *c, const yaml_node_t *n, const sa_knob *kn, const char *why)
{
	const char *what = kn->type == SA_INT ? "an integer" : "a number";
	if (kn->unit && kn->unit[0])
		return FAIL(c, n, "%s must be %s, in %s with an optional SI prefix (1.5 k%s): %s",
		            kn->name, what, kn->unit, kn->unit, why);
	return FAIL(c, n, "%s must be %s, with an optional SI prefix (1.5k): %s", kn->name, what,
	            why);
}

/* A knob value from node n, checked against type and bounds. */
int cfg_knob_value(cfg_ctx *c, const sa_knob *kn, const yaml_node_t *n, sa_value *out)
{
	char why[256];
	scalar v;
	bool scalar_node = n->type == YAML_SCALAR_NODE;
	if (scalar_node && cfg_resolve(c, n, &v) < 0)
		return -1;
	/* An unquoted, untagged string is a number with its unit ("1 kV",
	 * PROTOCOL.md, "Values as text"); a quoted one stays a string. */
	bool unit_text = scalar_node && v.kind == V_STR && v.plain;
	switch (kn->type) {
	case SA_DOUBLE:
		if (unit_text) {
			if (quantity_parse(v.s, kn->unit, &out->d, why, sizeof why) < 0)
				return quantity_fail(c, n, kn, why);
			break;
		}
		if (!scalar_node || (v.kind != V_INT && v.kind != V_FLOAT))
			return FAIL(c, n, "%s must be a number", kn->name);
		out->d = v.d;
		break;
	case SA_INT:
		if (unit_text) {
			if (quantity_parse(v.s, kn->unit, &v.d, why, sizeof why) < 0)
				return quantity_fail(c, n, kn, why);
			v.kind = V_FLOAT;
		}
		if (!scalar_node || (v.kind != V_INT && v.kind != V_FLOAT))
			return FAIL(c, n, "%s must be an integer", kn->name);
		if (v.kind == V_INT)
			out->i = v.i;
		else if (adapter_value_from_double(kn, v.d, out, why, sizeof why) < 0)
			return FAIL(c, n, "%s", why);
		break;
	case SA_BOOL:
		if (!scalar_node || v.kind != V_BOOL)
			return FAIL(c, n, "%s must be true or false", kn->name);
		out->i = v.b;
		break;
	case SA_ENUM: {
		size_t nc = 0;
		while (kn->choices[nc])
			nc++;
		char list[256];
		cfg_join_names(list, sizeof list, kn->choices, nc);
		if (!scalar_node || v.kind != V_STR)
			return FAIL(c, n, "%s must be one of: %s", kn->name, list);
		int e = adapter_enum_index(kn, v.s);
		if (e < 0) {
			const char *hint = cfg_suggest(v.s, kn->choices, nc);
			if (hint)
				return FAIL(c, n, "%s: '%s' is not one of: %s (did you mean '%s'?)",
				            kn->name, v.s, list, hint);
			return FAIL(c, n, "%s: '%s' is not one of: %s", kn->name, v.s, list);
		}
		out->i = e;
		break;
	}
	default:
		return FAIL(c, n, "%s has an unknown type", kn->name);
	}
	if (adapter_check_value(kn, *out, why, sizeof why) < 0)
		return FAIL(c, n, "%s", why);
	return 0;
}

static int parse_knobs(cfg_ctx *c, const yaml_node_t *value)
{
	if (cfg_is_null(c, value))
		return 0;
	if (value->type != YAML_MAPPING_NODE)
		return FAIL(c, value, "simulation.knobs must be a mapping of knob: value");
	const sa_adapter *sa = c->cfg->adapter->sa;
	for (size_t i = 0; i < cfg_map_size(value); i++) {
		int k = cfg_knob_key(c, value, i, "simulation.knobs");
		if (k < 0)
			return -1;
		if (cfg_knob_value(c, &sa->knobs[k], cfg_pair_value(c, value, i), &c->cfg->knobs[k]) < 0)
			return -1;
		c->cfg->knob_given[k] = true;
	}
	return 0;
}

/* The adapter's tables of knob values and cadences, with defaults, then the
 * knobs given (may be NULL); at: where to point an error. */
static int adapter_tables(cfg_ctx *c, const yaml_node_t *at, const yaml_node_t *knobs)
{
	const sa_adapter *sa = c->cfg->adapter->sa;
	c->cfg->knobs = calloc(sa->n_knobs ? sa->n_knobs : 1, sizeof *c->cfg->knobs);
	c->cfg->knob_given = calloc(sa->n_knobs ? sa->n_knobs : 1, sizeof *c->cfg->knob_given);
	c->cfg->every = calloc(sa->n_diags ? sa->n_diags : 1, sizeof *c->cfg->every);
	c->every_set = calloc(sa->n_diags ? sa->n_diags : 1, sizeof *c->every_set);
	if (!c->cfg->knobs || !c->cfg->knob_given || !c->cfg->every || !c->every_set)
		return FAIL(c, at, "out of memory");
	for (size_t k = 0; k < sa->n_knobs; k++)
		c->cfg->knobs[k] = sa->knobs[k].def;
	return knobs ? parse_knobs(c, knobs) : 0;
}

/*
 * A code that embeds steerd (libsteerd) brings its own descriptor: the
 * simulation section is optional, and simulation.adapter, if given, must
 * name it.
 */
static int embedded_simulation(cfg_ctx *c, const yaml_node_t *an, const yaml_node_t *knobs,
                               const yaml_node_t *root)
{
	const adapter *a = c->borrow;
	if (an) {
		const char *name;
		if (cfg_get_string(c, an, "simulation.adapter", &name) < 0)
			return -1;
		if (strcmp(name, a->sa->name))
			return FAIL(c, an, "simulation.adapter is '%s', but steerd is embedded in '%s' here "
			                   "(leave simulation.adapter out, or name '%s')",
			            name, a->sa->name, a->sa->name);
	}
	c->cfg->adapter = (adapter *)a;
	c->cfg->adapter_borrowed = true;
	return adapter_tables(c, an ? an : root, knobs);
}

static int parse_simulation(cfg_ctx *c, const yaml_node_t *sim, const yaml_node_t *root)
{
	bool embedded = c->borrow && c->borrow->embedded;
	if (!sim && embedded)
		return embedded_simulation(c, NULL, NULL, root);
	if (!sim)
		return FAIL(c, root, "the 'simulation' section is required (at least simulation.adapter)");
	if (sim->type != YAML_MAPPING_NODE)
		return FAIL(c, sim, "simulation must be a mapping with at least 'adapter'");
	if (walk(c, sim, "simulation", true) < 0)
		return -1;
	const yaml_node_t *an = NULL, *knobs = NULL;
	for (size_t i = 0; i < cfg_map_size(sim); i++) {
		if (!strcmp(cfg_key_text(c, sim, i), "adapter"))
			an = cfg_pair_value(c, sim, i);
		else
			knobs = cfg_pair_value(c, sim, i);
	}
	if (embedded)
		return embedded_simulation(c, an, knobs, sim);
	if (!an)
		return FAIL(c, sim, "simulation.adapter is required (a built-in name such as "
		                    "pic1d, or the path of a .so)");
	const char *name;
	if (cfg_get_string(c, an, "simulation.adapter", &name) < 0)
		return -1;
	if (!*name)
		return FAIL(c, an, "simulation.adapter must not be empty");
	/* The path of a .so is a path like the others: relative to the config file. */
	char *resolved = NULL;
	if (adapter_name_is_path(name)) {
		if (expand_path(c, an, "simulation.adapter", name, true, &resolved) < 0)
			return -1;
		name = resolved;
	}
	char why[512];
	if (c->borrow) {
		/* A reload: the running adapter, whatever the file names now. */
		const adapter *a = c->borrow;
		c->cfg->adapter = (adapter *)a;
		c->cfg->adapter_borrowed = true;
		c->adapter_changed = strcmp(name, strcmp(a->source, "builtin") ? a->source : a->sa->name);
	} else {
		c->cfg->adapter = adapter_load(name, why, sizeof why);
	}
	free(resolved);
	if (!c->cfg->adapter)
		return FAIL(c, an, "%s", why);
	return adapter_tables(c, an, knobs);
}

/* ---------------------------------------------------------------- diagnostics */

static const char *diag_hint(const sa_adapter *sa, const char *name, char *buf, size_t len)
{
	const char **names = malloc((sa->n_diags + 1) * sizeof *names);
	if (!names) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	for (size_t d = 0; d < sa->n_diags; d++)
		names[d] = sa->diags[d].name;
	const char *hint = cfg_suggest(name, names, sa->n_diags);
	if (hint) {
		snprintf(buf, len, " (did you mean '%s'?)", hint);
	} else {
		char list[512];
		snprintf(buf, len, " (diagnostics of %s: %s)", sa->name,
		         cfg_join_names(list, sizeof list, names, sa->n_diags));
	}
	free(names);
	return buf;
}

static int diag_from_node(cfg_ctx *c, const yaml_node_t *n, const char *where)
{
	const sa_adapter *sa = c->cfg->adapter->sa;
	const char *name;
	if (cfg_get_string(c, n, where, &name) < 0)
		return -1;
	int d = adapter_diag_index(sa, name);
	if (d < 0) {
		char hint[600];
		return FAIL(c, n, "unknown diagnostic '%s' in %s%s", name, where,
		            diag_hint(sa, name, hint, sizeof hint));
	}
	return d;
}

static int parse_every(cfg_ctx *c, const char *name, const yaml_node_t *value)
{
	if (cfg_is_null(c, value))
		return 0;
	if (value->type != YAML_MAPPING_NODE)
		return FAIL(c, value, "%s must be a mapping of diagnostic: steps", name);
	for (size_t i = 0; i < cfg_map_size(value); i++) {
		const yaml_node_t *k = cfg_pair_key(c, value, i);
		if (k->type != YAML_SCALAR_NODE)
			return FAIL(c, k, "keys must be strings");
		int d = diag_from_node(c, k, name);
		if (d < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg_key_text(c, value, j), cfg_key_text(c, value, i)))
				return FAIL(c, k, "duplicate key '%s' in %s (first given at line %zu)",
				            cfg_key_text(c, value, i), name,
				            cfg_pair_key(c, value, j)->start_mark.line + 1);
		char full[128];
		snprintf(full, sizeof full, "%s.%s", name, c->cfg->adapter->sa->diags[d].name);
		uint64_t v;
		if (cfg_get_uint(c, cfg_pair_value(c, value, i), full, 0, UINT_MAX, &v) < 0)
			return -1;
		c->cfg->every[d] = (unsigned)v;
		c->every_set[d] = true;
	}
	return 0;
}

static int parse_indicators(cfg_ctx *c, const char *name, const yaml_node_t *value)
{
	const sa_adapter *sa = c->cfg->adapter->sa;
	c->indicators_given = true;
	if (cfg_is_null(c, value))
		return 0;
	if (value->type != YAML_SEQUENCE_NODE)
		return FAIL(c, value, "%s must be a list of scalar diagnostics, e.g. [virtual_cathode]",
		            name);
	size_t n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
	if (!n)
		return 0;
	if (n > sa->n_diags)
		n = sa->n_diags + 1; /* a duplicate is certain: it is reported below */
	config *cfg = c->cfg;
	cfg->indicators = calloc(n, sizeof *cfg->indicators);
	if (!cfg->indicators)
		return FAIL(c, value, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *item = cfg_node(c, value->data.sequence.items.start[i]);
		int d = diag_from_node(c, item, name);
		if (d < 0)
			return -1;
		if (sa->diags[d].rank != 0)
			return FAIL(c, item, "%s: '%s' is an array; indicators must be scalar diagnostics",
			            name, sa->diags[d].name);
		for (size_t j = 0; j < cfg->n_indicators; j++)
			if (!strcmp(cfg->indicators[j], sa->diags[d].name))
				return FAIL(c, item, "%s: '%s' is listed twice", name, sa->diags[d].name);
		if (!(cfg->indicators[cfg->n_indicators] = strdup(sa->diags[d].name)))
			return FAIL(c, item, "out of memory");
		cfg->n_indicators++;
	}
	return 0;
}

static int default_indicators(cfg_ctx *c)
{
	const sa_adapter *sa = c->cfg->adapter->sa;
	int d = adapter_diag_index(sa, "virtual_cathode");
	if (c->indicators_given || d < 0 || sa->diags[d].rank != 0)
		return 0;
	config *cfg = c->cfg;
	if (!(cfg->indicators = calloc(1, sizeof *cfg->indicators)) ||
	    !(cfg->indicators[0] = strdup("virtual_cathode")))
		return cfg_fail(c, "out of memory");
	cfg->n_indicators = 1;
	return 0;
}

/* ---------------------------------------------------------------- security */


static bool key_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n >= CERT_NAME_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || *s == 0x7f)
			return false;
	return true;
}

/* One item of security.clients: {key: PATH, role: observer|operator, name: NAME}. */
static int parse_client(cfg_ctx *c, const yaml_node_t *item, config_client *out)
{
	static const char *const names[] = { "key", "role", "name" };
	static const char *const roles[] = { "observer", "operator" };
	if (item->type != YAML_MAPPING_NODE)
		return FAIL(c, item, "each entry of security.clients must be a mapping "
		                     "{key: FILE, role: observer|operator}");
	const yaml_node_t *key = NULL, *role = NULL;
	for (size_t i = 0; i < cfg_map_size(item); i++) {
		int k = cfg_check_key(c, item, i, names, 3, "security.clients");
		if (k < 0)
			return -1;
		const yaml_node_t *v = cfg_pair_value(c, item, i);
		if (k == 0) {
			key = v;
		} else if (k == 1) {
			role = v;
		} else {
			const char *str;
			if (cfg_get_string(c, v, "security.clients.name", &str) < 0)
				return -1;
			if (!key_name_ok(str))
				return FAIL(c, v, "security.clients.name must be 1 to %d printable "
				                  "characters without blanks", CERT_NAME_MAX - 1);
			if (!(out->name = strdup(str)))
				return FAIL(c, v, "out of memory");
		}
	}
	if (!key)
		return FAIL(c, item, "security.clients: an entry lacks 'key' (the client's public "
		                     "key file, made by `steerd keygen NAME`)");
	if (!role)
		return FAIL(c, item, "security.clients: an entry lacks 'role' (observer or operator)");
	if (resolve_path(c, key, "security.clients.key", &out->key) < 0)
		return -1;
	scalar v;
	if (role->type != YAML_SCALAR_NODE)
		return FAIL(c, role, "security.clients.role must be one of: observer, operator");
	if (cfg_resolve(c, role, &v) < 0)
		return -1;
	zap_role r = ZAP_ROLE_NONE;
	if (v.kind != V_STR || zap_role_parse(v.s, &r) < 0 || r == ZAP_ROLE_NONE) {
		const char *hint = v.kind == V_STR ? cfg_suggest(v.s, roles, 2) : NULL;
		if (hint)
			return FAIL(c, role, "security.clients.role: '%s' is not one of: observer, "
			                     "operator (did you mean '%s'?)", v.s, hint);
		return FAIL(c, role, "security.clients.role: '%s' is not one of: observer, operator",
		            v.s);
	}
	out->role = (int)r;
	out->line = (unsigned)item->start_mark.line + 1;
	return 0;
}

static int parse_clients(cfg_ctx *c, config_security *sec, const yaml_node_t *value)
{
	if (value->type != YAML_SEQUENCE_NODE || cfg_is_null(c, value))
		return FAIL(c, value, "security.clients must be a list of {key: FILE, role: "
		                      "observer|operator}");
	size_t n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
	if (!n)
		return FAIL(c, value, "security.clients must list at least one client key");
	if (!(sec->clients = calloc(n, sizeof *sec->clients)))
		return FAIL(c, value, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *item = cfg_node(c, value->data.sequence.items.start[i]);
		config_client *cl = &sec->clients[sec->n_clients++];
		if (parse_client(c, item, cl) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(sec->clients[j].key, cl->key))
				return FAIL(c, item, "security.clients: '%s' is listed twice (first at line %u)",
				            cl->key, sec->clients[j].line);
	}
	return 0;
}

static int parse_security(cfg_ctx *c, const char *name, const yaml_node_t *value)
{
	static const char *const names[] = { "server_key", "clients" };
	if (value->type != YAML_MAPPING_NODE)
		return FAIL(c, value, "%s must be a mapping with server_key and clients", name);
	config_security *sec = calloc(1, sizeof *sec);
	if (!sec)
		return FAIL(c, value, "out of memory");
	c->cfg->security = sec; /* freed with the config on error */
	const yaml_node_t *clients = NULL;
	for (size_t i = 0; i < cfg_map_size(value); i++) {
		int k = cfg_check_key(c, value, i, names, 2, name);
		if (k < 0)
			return -1;
		const yaml_node_t *v = cfg_pair_value(c, value, i);
		if (k == 0) {
			if (resolve_path(c, v, "security.server_key", &sec->server_key) < 0)
				return -1;
		} else {
			clients = v;
		}
	}
	if (!sec->server_key)
		return FAIL(c, value, "security.server_key is required (the server's NAME.key_secret, "
		                      "made by `steerd keygen NAME`)");
	if (!clients)
		return FAIL(c, value, "security.clients is required: at least one {key: FILE, role: "
		                      "observer|operator}");
	return parse_clients(c, sec, clients);
}

void config_security_free(config_security **sp)
{
	if (!sp || !*sp)
		return;
	config_security *sec = *sp;
	free(sec->server_key);
	for (size_t i = 0; i < sec->n_clients; i++) {
		free(sec->clients[i].key);
		free(sec->clients[i].name);
	}
	free(sec->clients);
	free(sec);
	*sp = NULL;
}

/* ---------------------------------------------------------------- entry points */

static int parse(cfg_ctx *c)
{
	bool empty = true;
	if (cfg_prescan(c, &empty) < 0)
		return -1;
	if (empty && c->borrow && c->borrow->embedded && !c->security_only) {
		c->text = "{}"; /* an embedded code's config may say nothing: every default */
		c->len = 2;
	} else if (empty) {
		return cfg_fail(c, "the file is empty (it needs at least simulation.adapter)");
	}
	if (cfg_load_document(c) < 0)
		return -1;
	const yaml_node_t *root = yaml_document_get_root_node(&c->doc);
	if (!root)
		return cfg_fail(c, "the file is empty (it needs at least simulation.adapter)");
	if (root->type != YAML_MAPPING_NODE)
		return FAIL(c, root, "the top level must be a mapping of sections "
		                     "(simulation:, run:, endpoints:, ...)");

	if (c->security_only) {
		for (size_t i = 0; i < cfg_map_size(root); i++)
			if (!strcmp(cfg_key_text(c, root, i), "security"))
				return parse_security(c, "security", cfg_pair_value(c, root, i));
		return cfg_fail(c, "no security section (it cannot be removed while steerd runs)");
	}
	if (apply_defaults(c->cfg) < 0)
		return cfg_fail(c, "out of memory");
	if (walk(c, root, "", true) < 0)
		return -1;
	const yaml_node_t *sim = NULL;
	for (size_t i = 0; i < cfg_map_size(root); i++)
		if (!strcmp(cfg_key_text(c, root, i), "simulation"))
			sim = cfg_pair_value(c, root, i);
	if (parse_simulation(c, sim, root) < 0)
		return -1;
	if (walk(c, root, "", false) < 0)
		return -1;

	const sa_adapter *sa = c->cfg->adapter->sa;
	for (size_t d = 0; d < sa->n_diags; d++)
		if (!c->every_set[d])
			c->cfg->every[d] = sa->diags[d].rank == 0 ? c->cfg->scalars_every
			                                          : c->cfg->arrays_every;
	if (default_indicators(c) < 0)
		return -1;
	return check_endpoints_local(c);
}

static int parse_text(const char *path, const char *base_dir, bool security_only,
                      const adapter *borrow, bool *adapter_changed, const char *text, size_t len,
                      config **out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	*out = NULL;
	cfg_ctx c = { .path = path ? path : "<config>", .err = err, .errlen = errlen,
	              .base_dir = base_dir, .security_only = security_only, .borrow = borrow };
	if (len > CONFIG_MAX_BYTES)
		return cfg_fail(&c, "the file is too large (%zu bytes; at most %u)", len,
		                  CONFIG_MAX_BYTES);

	config *cfg = calloc(1, sizeof *cfg);
	if (!cfg || !(cfg->path = strdup(c.path)) || !(cfg->text = malloc(len + 1))) {
		config_destroy(&cfg);
		return cfg_fail(&c, "out of memory");
	}
	memcpy(cfg->text, text, len);
	cfg->text[len] = '\0';
	c.text = cfg->text;
	c.len = len;
	c.cfg = cfg;

	int rc = parse(&c);
	if (adapter_changed)
		*adapter_changed = c.adapter_changed;
	if (c.have_doc)
		yaml_document_delete(&c.doc);
	free(c.str_tagged);
	free(c.every_set);
	if (rc < 0) {
		config_destroy(&cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int config_parse(const char *path, const char *text, size_t len, config **out, char *err,
                 size_t errlen)
{
	return parse_text(path, NULL, false, NULL, NULL, text, len, out, err, errlen);
}

static char *dir_of(const char *path);
static int load_file(const char *path, bool security_only, const adapter *borrow,
                     bool *adapter_changed, config **out, char *err, size_t errlen);

int config_load_embedded(const char *path, const adapter *a, config **out, char *err,
                         size_t errlen)
{
	return load_file(path, false, a, NULL, out, err, errlen);
}

int config_parse_embedded(const char *path, const char *base_file, const char *text, size_t len,
                          const adapter *a, config **out, char *err, size_t errlen)
{
	char *base = base_file ? dir_of(base_file) : NULL;
	if (base_file && !base) {
		*out = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int rc = parse_text(path, base, false, a, NULL, text, len, out, err, errlen);
	free(base);
	return rc;
}

/*
 * The directory part of path, made absolute: resolved paths (an ipc://
 * endpoint in the connection file, a key file in a message) then mean the
 * same to every reader, whatever its working directory. NULL when out of
 * memory.
 */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = !slash ? strdup(".") : slash == path ? strdup("/")
	                                                 : strndup(path, (size_t)(slash - path));
	char *abs = dir ? realpath(dir, NULL) : NULL;
	if (!abs)
		return dir; /* it does not exist (the file cannot be read either): as given */
	free(dir);
	return abs;
}

int config_parse_beside(const char *path, const char *file, const char *text, size_t len,
                        config **out, char *err, size_t errlen)
{
	char *base = dir_of(file);
	if (!base) {
		*out = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int rc = parse_text(path, base, false, NULL, NULL, text, len, out, err, errlen);
	free(base);
	return rc;
}

/* An error of open/read/stat: the file is absent (fix it), or could not be read just now. */
static int io_code(int e)
{
	return fileperm_transient(e) ? CONFIG_E_IO : CONFIG_E_INVALID;
}

static int load_file(const char *path, bool security_only, const adapter *borrow, bool *adapter_changed,
                     config **out, char *err, size_t errlen)
{
	cfg_ctx c = { .path = path, .err = err, .errlen = errlen };
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		cfg_fail(&c, "cannot open: %s", strerror(e));
		return io_code(e);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		cfg_fail(&c, "cannot stat: %s", strerror(e));
		return io_code(e);
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return cfg_fail(&c, "is a directory, not a configuration file");
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return cfg_fail(&c, "not a regular file");
	}
	/* It says who may steer and which code runs: no other user may change it. */
	char why[768];
	if (fileperm_check(path, &st, why, sizeof why) < 0) {
		int e = errno;
		close(fd);
		snprintf(err, errlen, "%s", why);
		return e ? io_code(e) : CONFIG_E_UNSAFE;
	}
	if (st.st_size > (off_t)CONFIG_MAX_BYTES) {
		close(fd);
		return cfg_fail(&c, "the file is too large (%lld bytes; at most %u)",
		                  (long long)st.st_size, CONFIG_MAX_BYTES);
	}
	/* Read up to one byte past the limit, in case the file grew since fstat. */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	if (cap > CONFIG_MAX_BYTES + 1)
		cap = CONFIG_MAX_BYTES + 1;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return cfg_fail(&c, "out of memory");
	}
	for (;;) {
		if (len == cap) {
			if (cap > CONFIG_MAX_BYTES)
				break;
			size_t ncap = cap * 2 > CONFIG_MAX_BYTES + 1 ? CONFIG_MAX_BYTES + 1 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				close(fd);
				return cfg_fail(&c, "out of memory");
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			cfg_fail(&c, "cannot read: %s", strerror(e));
			return io_code(e);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	char *base = dir_of(path);
	int rc = base ? parse_text(path, base, security_only, borrow, adapter_changed, buf, len, out,
	                           err, errlen)
	              : cfg_fail(&c, "out of memory");
	free(base);
	free(buf);
	return rc;
}

int config_load(const char *path, config **out, char *err, size_t errlen)
{
	return load_file(path, false, NULL, NULL, out, err, errlen);
}

int config_load_security(const char *path, config_security **out, char *err, size_t errlen)
{
	*out = NULL;
	config *cfg = NULL;
	int rc = load_file(path, true, NULL, NULL, &cfg, err, errlen);
	if (rc < 0)
		return rc;
	*out = cfg->security;
	cfg->security = NULL;
	config_destroy(&cfg);
	return 0;
}

int config_reload(const config *cur, config **out, char *err, size_t errlen)
{
	bool adapter_changed = false;
	int rc = load_file(cur->path, false, cur->adapter, &adapter_changed, out, err, errlen);
	if (rc == 0 && adapter_changed)
		log_warn("reload: simulation.adapter changed in %s; it is read only at start (restart "
		         "steerd to use another adapter)", cur->path);
	return rc;
}

static uint64_t load_uint(const config *cfg, const setting *s)
{
	const char *field = (const char *)cfg + s->offset;
	switch (s->size) {
	case 1: { uint8_t x; memcpy(&x, field, 1); return x; }
	case 2: { uint16_t x; memcpy(&x, field, 2); return x; }
	case 4: { uint32_t x; memcpy(&x, field, 4); return x; }
	default: { uint64_t x; memcpy(&x, field, 8); return x; }
	}
}

static void value_text(const config *cfg, const setting *s, char *buf, size_t len)
{
	uint64_t v = load_uint(cfg, s);
	if (s->type == S_BOOL)
		snprintf(buf, len, "%s", v ? "true" : "false");
	else if (s->type == S_ENUM)
		snprintf(buf, len, "%s", s->choices[v]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void read_only_changed(const char *name, size_t *n)
{
	log_warn("reload: %s changed in the file but is read only at start; restart steerd to "
	         "apply it", name);
	(*n)++;
}

/* The custom settings that are not a field: did the file change them? */
static bool knobs_differ(const config *a, const config *b)
{
	const sa_adapter *sa = a->adapter->sa;
	for (size_t k = 0; k < sa->n_knobs; k++)
		if (!adapter_value_equal(&sa->knobs[k], a->knobs[k], b->knobs[k]))
			return true;
	return false;
}

static bool schedule_differs(const config *a, const config *b)
{
	if (a->n_schedule != b->n_schedule)
		return true;
	for (size_t i = 0; i < a->n_schedule; i++) {
		const sched_entry *x = &a->schedule[i], *y = &b->schedule[i];
		if (x->at != y->at || x->kind != y->kind || x->knob != y->knob || x->steps != y->steps ||
		    x->rate != y->rate ||
		    !adapter_value_equal(&a->adapter->sa->knobs[x->knob], x->value, y->value))
			return true;
	}
	return false;
}

static bool indicators_differ(const config *a, const config *b)
{
	if (a->n_indicators != b->n_indicators)
		return true;
	for (size_t i = 0; i < a->n_indicators; i++)
		if (strcmp(a->indicators[i], b->indicators[i]))
			return true;
	return false;
}

unsigned config_apply_reload(config *cur, const config *fresh)
{
	unsigned changed = 0;
	size_t applied = 0, ignored = 0;
	char was[64], now[64];
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const setting *s = &settings[i];
		if (!s->size)
			continue;
		if (s->type == S_ENDPOINT || s->type == S_PATH) {
			const char *a = *(char *const *)((const char *)cur + s->offset);
			const char *b = *(char *const *)((const char *)fresh + s->offset);
			if ((a || b) && (!a || !b || strcmp(a, b)))
				read_only_changed(s->name, &ignored); /* none is reloadable */
			continue;
		}
		if (load_uint(cur, s) == load_uint(fresh, s))
			continue;
		if (!s->reload) {
			read_only_changed(s->name, &ignored);
			continue;
		}
		value_text(cur, s, was, sizeof was);
		value_text(fresh, s, now, sizeof now);
		store_uint(cur, s, load_uint(fresh, s));
		log_info("reload: %s: %s -> %s", s->name, was, now);
		applied++;
		if (s->offset == offsetof(config, log_level))
			changed |= CONFIG_RELOADED_LOG_LEVEL;
		if (s->offset == offsetof(config, checkpoint_every_seconds))
			changed |= CONFIG_RELOADED_CHECKPOINT_TIMER;
	}
	/* diagnostics.every and the two defaults above it give each diagnostic's cadence. */
	const sa_adapter *sa = cur->adapter->sa;
	for (size_t d = 0; d < sa->n_diags; d++)
		if (cur->every[d] != fresh->every[d]) {
			/* Scalars go out together, every scalars_every steps (logged above). */
			if (sa->diags[d].rank != 0) {
				log_info("reload: array %s published every %u steps (was %u)",
				         sa->diags[d].name, fresh->every[d], cur->every[d]);
				applied++;
			}
			cur->every[d] = fresh->every[d];
		}
	if (knobs_differ(cur, fresh))
		read_only_changed("simulation.knobs (change knobs with `set`)", &ignored);
	if (schedule_differs(cur, fresh))
		read_only_changed("schedule", &ignored);
	if (indicators_differ(cur, fresh))
		read_only_changed("diagnostics.indicators", &ignored);
	log_info("reload: %zu setting%s applied, %zu changed setting%s need a restart", applied,
	         applied == 1 ? "" : "s", ignored, ignored == 1 ? "" : "s");
	return changed;
}

void config_destroy(config **cp)
{
	if (!cp || !*cp)
		return;
	config *cfg = *cp;
	free(cfg->path);
	free(cfg->text);
	if (!cfg->adapter_borrowed)
		adapter_destroy(&cfg->adapter);
	free(cfg->knobs);
	free(cfg->knob_given);
	free(cfg->control_endpoint);
	free(cfg->diagnostics_endpoint);
	free(cfg->connection_file);
	free(cfg->checkpoint_dir);
	free(cfg->every);
	for (size_t i = 0; i < cfg->n_indicators; i++)
		free(cfg->indicators[i]);
	free(cfg->indicators);
	free(cfg->schedule);
	config_security_free(&cfg->security);
	free(cfg);
	*cp = NULL;
}

/* ---------------------------------------------------------------- the table as JSON */

static const char *const stype_names[] = {
	[S_SECTION] = "section", [S_UINT] = "integer", [S_BOOL] = "boolean", [S_ENUM] = "enum",
	[S_ENDPOINT] = "endpoint", [S_PATH] = "path", [S_CUSTOM] = "custom", [S_RESERVED] = "reserved",
};

/* One setting: what `steerd --dump-config` prints, and doc/gen-man.py turns
 * into steerd.yaml(5), so the page lists exactly the keys this table takes. */
static json_t *setting_json(const setting *s)
{
	json_t *o = json_pack("{s:s, s:s, s:b}", "name", s->name, "type", stype_names[s->type],
	                      "reload", s->reload);
	if (!o)
		return NULL;
	json_t *def = json_null();
	switch (s->type) {
	case S_UINT:
		json_object_set_new(o, "min", json_integer((json_int_t)s->min));
		json_object_set_new(o, "max", json_integer((json_int_t)s->max));
		/* a default outside the bounds means "absent" (e.g. run.simulation_cpu) */
		if (s->def >= s->min && s->def <= s->max)
			def = json_integer((json_int_t)s->def);
		break;
	case S_BOOL:
		def = json_boolean(s->def);
		break;
	case S_ENUM: {
		json_t *ch = json_array();
		for (size_t i = 0; s->choices[i]; i++)
			json_array_append_new(ch, json_string(s->choices[i]));
		json_object_set_new(o, "choices", ch);
		def = json_string(s->choices[s->def]);
		break;
	}
	case S_ENDPOINT:
	case S_PATH:
		if (s->sdef)
			def = json_string(s->sdef);
		break;
	default:
		break;
	}
	json_object_set_new(o, "default", def);
	return o;
}

int config_dump_table(FILE *out)
{
	json_t *all = json_array();
	int rc = all ? 0 : -1;
	for (size_t i = 0; i < N_SETTINGS && rc == 0; i++)
		rc = json_array_append_new(all, setting_json(&settings[i]));
	if (rc == 0)
		rc = json_dumpf(all, out, JSON_INDENT(1));
	fputc('\n', out);
	json_decref(all);
	return rc;
}
