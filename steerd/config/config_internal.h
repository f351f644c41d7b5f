/* SPDX-License-Identifier: MIT */
/*
 * config_internal.h — shared by config.c (the schema), config_yaml.c (strict
 * YAML reading: syntax, tags, aliases, scalars, keys, errors with positions)
 * and config_schedule.c. Not an interface for the rest of steerd.
 */
#ifndef STEERD_CONFIG_INTERNAL_H
#define STEERD_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config.h"

#define CFG_MAX_DEPTH 32 /* nesting of mappings and sequences */

/* An endpoint given in the file, checked once allow_remote is known. */
struct endpoint_ref {
	const char *name;          /* setting name, e.g. "endpoints.control" */
	const yaml_node_t *node;   /* where it was given */
	size_t offset;             /* field of the value in struct config */
};

/* One parse. */
typedef struct cfg_ctx {
	const char *path;
	const char *text;
	size_t len;
	char *err;
	size_t errlen;
	config *cfg;

	yaml_document_t doc;
	bool have_doc;

	size_t *str_tagged;        /* start_mark.index of scalars tagged !!str or !, sorted */
	size_t n_str_tagged, cap_str_tagged;

	bool *every_set;           /* per diagnostic: given in diagnostics.every */
	bool indicators_given;

	struct endpoint_ref endpoints[4];
	size_t n_endpoints;

	const char *base_dir;      /* relative paths of the security section are
	                              resolved against it; NULL: kept as given */
	bool security_only;        /* config_load_security: parse that section alone */
	const adapter *borrow;     /* config_reload: use this adapter, load none */
	bool adapter_changed;      /* config_reload: the file names another adapter */
} cfg_ctx;

/* What a scalar holds, resolved with the YAML 1.2 core schema. */
typedef enum { V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR } vkind;

typedef struct scalar {
	vkind kind;
	bool b;
	long long i;   /* V_INT */
	double d;      /* V_INT and V_FLOAT */
	const char *s; /* the text */
	bool plain;    /* unquoted and untagged: e.g. 1 kV, a number with its unit */
} scalar;

/* Errors: "path:line:col: message" (1-based) or "path: message". Return -1. */
int cfg_fail_at(cfg_ctx *c, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cfg_fail(cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define FAIL(c, node, ...) cfg_fail_at((c), (node)->start_mark, __VA_ARGS__)

/* Reading: pass 1 (events: syntax, one document, no aliases, known tags,
   bounded nesting) then pass 2 (c->doc). */
int cfg_prescan(cfg_ctx *c, bool *empty);
int cfg_load_document(cfg_ctx *c);

/* Names: the closest of names to s when it looks like a typo, else NULL;
   "a, b, c" into buf. */
const char *cfg_suggest(const char *s, const char *const *names, size_t n);
const char *cfg_join_names(char *buf, size_t len, const char *const *names, size_t n);

/* Nodes. */
yaml_node_t *cfg_node(cfg_ctx *c, int index);
size_t cfg_map_size(const yaml_node_t *map);
const char *cfg_key_text(cfg_ctx *c, const yaml_node_t *map, size_t i);
yaml_node_t *cfg_pair_key(cfg_ctx *c, const yaml_node_t *map, size_t i);
yaml_node_t *cfg_pair_value(cfg_ctx *c, const yaml_node_t *map, size_t i);

/* Values; each fails with "<name> must be ..." at the node. */
int cfg_resolve(cfg_ctx *c, const yaml_node_t *n, scalar *out);
int cfg_get_string(cfg_ctx *c, const yaml_node_t *n, const char *name, const char **out);
int cfg_get_uint(cfg_ctx *c, const yaml_node_t *n, const char *name, uint64_t min,
                 uint64_t max, uint64_t *out);
int cfg_get_bool(cfg_ctx *c, const yaml_node_t *n, const char *name, bool *out);
int cfg_get_double(cfg_ctx *c, const yaml_node_t *n, const char *name, double *out);
bool cfg_is_null(cfg_ctx *c, const yaml_node_t *n);

/*
 * Key i of map: a string, one of names (else "unknown key", with a
 * suggestion), not given before in map (else "duplicate key"). Returns its
 * index in names or -1. where names the mapping ("" at the top level).
 */
int cfg_check_key(cfg_ctx *c, const yaml_node_t *map, size_t i, const char *const *names,
                  size_t n, const char *where);

/* Knobs (config.c): key i of map as a knob index; a knob value checked
   against type and bounds. */
int cfg_knob_key(cfg_ctx *c, const yaml_node_t *map, size_t i, const char *where);
int cfg_knob_value(cfg_ctx *c, const sa_knob *kn, const yaml_node_t *n, sa_value *out);

/* The schedule section (config_schedule.c). */
int cfg_parse_schedule(cfg_ctx *c, const char *name, const yaml_node_t *value);

#endif
