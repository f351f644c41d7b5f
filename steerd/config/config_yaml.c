/* SPDX-License-Identifier: MIT */
/*
 * config_yaml.c — strict YAML reading for config.c, with libyaml.
 *
 * Two passes over the text:
 *   1. an event scan that refuses what the document API would hide or
 *      mishandle: syntax errors, more than one document, aliases (so no
 *      "billion laughs"), unknown tags, absurd nesting; it also notes the
 *      scalars explicitly tagged !!str, which the document API cannot tell
 *      from plain ones;
 *   2. yaml_parser_load, whose nodes config.c walks against the schema.
 * Scalars are resolved with the YAML 1.2 core schema: quoted scalars are
 * strings, numbers must be whole and exact, yes/no/on/off are strings.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "suggest.h"

/* ---------------------------------------------------------------- errors */

static int vfail(cfg_ctx *c, bool pos, yaml_mark_t m, const char *fmt, va_list ap)
{
	if (!c->err || c->errlen == 0)
		return -1;
	int n;
	if (pos)
		n = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->path, m.line + 1, m.column + 1);
	else
		n = snprintf(c->err, c->errlen, "%s: ", c->path);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	return -1;
}

int cfg_fail_at(cfg_ctx *c, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(c, true, m, fmt, ap);
	va_end(ap);
	return -1;
}

int cfg_fail(cfg_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	yaml_mark_t none = { 0, 0, 0 };
	vfail(c, false, none, fmt, ap);
	va_end(ap);
	return -1;
}

#define FAIL(c, node, ...) cfg_fail_at((c), (node)->start_mark, __VA_ARGS__)

yaml_node_t *cfg_node(cfg_ctx *c, int index)
{
	return yaml_document_get_node(&c->doc, index);
}

/* ---------------------------------------------------------------- names */

/* The closest of names to s, when close enough to be a likely typo; or NULL. */
const char *cfg_suggest(const char *s, const char *const *names, size_t n)
{
	return suggest_name(s, names, n);
}

/* "a, b, c" into buf (truncated when long). */
const char *cfg_join_names(char *buf, size_t len, const char *const *names, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return buf;
}

static bool is_str_tagged(const cfg_ctx *c, size_t index)
{
	size_t lo = 0, hi = c->n_str_tagged;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->str_tagged[mid] == index)
			return true;
		if (c->str_tagged[mid] < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool all_digits(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/*
 * YAML 1.2 core schema numbers: [-+]?[0-9]+, 0x[0-9a-fA-F]+, 0o[0-7]+,
 * [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, [-+]?\.inf, \.nan.
 * Returns false when s is not a number; sets *range when it is one but too
 * large for long long (an integer form) or for a double.
 */
static bool parse_number(const char *s, scalar *out, bool *range)
{
	*range = false;
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';

	if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
		out->kind = V_FLOAT;
		out->d = neg ? -INFINITY : INFINITY;
		return true;
	}
	if (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") || !strcmp(p, ".NAN"))) {
		out->kind = V_FLOAT;
		out->d = NAN;
		return true;
	}

	int base = 0;
	if (p == s && (!strncmp(p, "0x", 2) && all_digits(p + 2, "0123456789abcdefABCDEF")))
		base = 16;
	else if (p == s && (!strncmp(p, "0o", 2) && all_digits(p + 2, "01234567")))
		base = 8;
	else if (all_digits(p, "0123456789"))
		base = 10;
	if (base) {
		const char *digits = base == 10 ? s : s + 2;
		errno = 0;
		char *end;
		long long v = strtoll(digits, &end, base);
		if (errno == ERANGE || *end) {
			*range = true;
			return true;
		}
		out->kind = V_INT;
		out->i = v;
		out->d = (double)v;
		return true;
	}

	/* Float form. */
	const char *q = p;
	size_t before = strspn(q, "0123456789");
	q += before;
	size_t after = 0;
	if (*q == '.') {
		q++;
		after = strspn(q, "0123456789");
		q += after;
	}
	if (before == 0 && after == 0)
		return false;
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		size_t exp = strspn(q, "0123456789");
		if (!exp)
			return false;
		q += exp;
	}
	if (*q)
		return false;
	errno = 0;
	char *end;
	double d = strtod(s, &end);
	if (*end)
		return false;
	if (errno == ERANGE && isinf(d))
		*range = true;
	out->kind = V_FLOAT;
	out->d = d;
	return true;
}

static bool is_null_text(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static int bool_text(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return 0;
	return -1;
}

/*
 * What a node holds. Collections are reported as V_STR with s == NULL by
 * the callers' type checks (see node_is_scalar). Returns -1 on a scalar that
 * contradicts its explicit tag, or holds a NUL.
 */
int cfg_resolve(cfg_ctx *c, const yaml_node_t *n, scalar *out)
{
	memset(out, 0, sizeof *out);
	const char *s = (const char *)n->data.scalar.value;
	const char *tag = (const char *)n->tag;
	out->s = s;
	if (strlen(s) != n->data.scalar.length)
		return FAIL(c, n, "a NUL character is not allowed here");

	bool range;
	if (!strcmp(tag, YAML_NULL_TAG)) {
		if (!is_null_text(s))
			return FAIL(c, n, "'%s' is not a valid !!null", s);
		out->kind = V_NULL;
		return 0;
	}
	if (!strcmp(tag, YAML_BOOL_TAG)) {
		int b = bool_text(s);
		if (b < 0)
			return FAIL(c, n, "'%s' is not a valid !!bool (true or false)", s);
		out->kind = V_BOOL;
		out->b = b;
		return 0;
	}
	if (!strcmp(tag, YAML_INT_TAG) || !strcmp(tag, YAML_FLOAT_TAG)) {
		bool is_int = !strcmp(tag, YAML_INT_TAG);
		if (!parse_number(s, out, &range) || (is_int && out->kind != V_INT && !range))
			return FAIL(c, n, "'%s' is not a valid !!%s", s, is_int ? "int" : "float");
		if (range)
			return FAIL(c, n, "%s is too large", s);
		if (!is_int && out->kind == V_INT)
			out->kind = V_FLOAT;
		return 0;
	}
	/* The default tag: plain scalars are resolved, anything else is a string. */
	out->kind = V_STR;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    is_str_tagged(c, n->start_mark.index))
		return 0;
	out->plain = true;
	if (is_null_text(s)) {
		out->kind = V_NULL;
		return 0;
	}
	int b = bool_text(s);
	if (b >= 0) {
		out->kind = V_BOOL;
		out->b = b;
		return 0;
	}
	scalar num = *out;
	if (parse_number(s, &num, &range)) {
		if (range)
			return FAIL(c, n, "%s is too large", s);
		*out = num;
	}
	return 0;
}

/* A string value (a scalar resolving to a string) or -1 with "<name> must be a string". */
int cfg_get_string(cfg_ctx *c, const yaml_node_t *n, const char *name, const char **out)
{
	scalar v;
	if (n->type != YAML_SCALAR_NODE)
		return FAIL(c, n, "%s must be a string", name);
	if (cfg_resolve(c, n, &v) < 0)
		return -1;
	if (v.kind != V_STR)
		return FAIL(c, n, "%s must be a string", name);
	*out = v.s;
	return 0;
}

/* An integer in [min, max]; integral floats (1e3) are accepted. */
int cfg_get_uint(cfg_ctx *c, const yaml_node_t *n, const char *name, uint64_t min,
                    uint64_t max, uint64_t *out)
{
	scalar v;
	if (n->type != YAML_SCALAR_NODE)
		return FAIL(c, n, "%s must be an integer", name);
	if (cfg_resolve(c, n, &v) < 0)
		return -1;
	if (v.kind == V_INT) {
		if (v.i < 0 || (uint64_t)v.i < min || (uint64_t)v.i > max)
			return FAIL(c, n, "%s = %lld is out of range [%" PRIu64 ", %" PRIu64 "]", name,
			            v.i, min, max);
		*out = (uint64_t)v.i;
		return 0;
	}
	if (v.kind == V_FLOAT) {
		if (!isfinite(v.d))
			return FAIL(c, n, "%s must be a finite number", name);
		if (v.d != floor(v.d))
			return FAIL(c, n, "%s must be an integer", name);
		if (v.d < (double)min || v.d > (double)max)
			return FAIL(c, n, "%s = %g is out of range [%" PRIu64 ", %" PRIu64 "]", name,
			            v.d, min, max);
		*out = (uint64_t)v.d;
		return 0;
	}
	return FAIL(c, n, "%s must be an integer", name);
}

int cfg_get_bool(cfg_ctx *c, const yaml_node_t *n, const char *name, bool *out)
{
	scalar v;
	if (n->type != YAML_SCALAR_NODE)
		return FAIL(c, n, "%s must be true or false", name);
	if (cfg_resolve(c, n, &v) < 0)
		return -1;
	if (v.kind != V_BOOL)
		return FAIL(c, n, "%s must be true or false", name);
	*out = v.b;
	return 0;
}

/* A finite number. */
int cfg_get_double(cfg_ctx *c, const yaml_node_t *n, const char *name, double *out)
{
	scalar v;
	if (n->type != YAML_SCALAR_NODE)
		return FAIL(c, n, "%s must be a number", name);
	if (cfg_resolve(c, n, &v) < 0)
		return -1;
	if (v.kind != V_INT && v.kind != V_FLOAT)
		return FAIL(c, n, "%s must be a number", name);
	if (!isfinite(v.d))
		return FAIL(c, n, "%s must be a finite number", name);
	*out = v.d;
	return 0;
}

/* Null values stand for an empty mapping or list (a section with all keys commented out). */
bool cfg_is_null(cfg_ctx *c, const yaml_node_t *n)
{
	scalar v;
	if (n->type != YAML_SCALAR_NODE)
		return false;
	/* cfg_resolve() only fails on malformed explicit tags; treat those as non-null. */
	size_t errlen = c->errlen;
	c->errlen = 0;
	int rc = cfg_resolve(c, n, &v);
	c->errlen = errlen;
	return rc == 0 && v.kind == V_NULL;
}

/* ---------------------------------------------------------------- keys */

/*
 * The key of pair i of map, checked: a string, one of names (else "unknown
 * key"), not given before in map (else "duplicate key"). Returns its index in
 * names, or -1 with the error. where names the mapping ("" at top level).
 */
int cfg_check_key(cfg_ctx *c, const yaml_node_t *map, size_t i, const char *const *names,
                     size_t n, const char *where)
{
	const yaml_node_pair_t *pair = map->data.mapping.pairs.start + i;
	const yaml_node_t *k = cfg_node(c, pair->key);
	scalar v;
	if (k->type != YAML_SCALAR_NODE)
		return FAIL(c, k, "keys must be strings");
	if (cfg_resolve(c, k, &v) < 0)
		return -1;
	const char *key = v.s;
	const char *in = *where ? " in " : "";

	int found = -1;
	for (size_t j = 0; j < n; j++)
		if (!strcmp(names[j], key))
			found = (int)j;
	if (found < 0) {
		const char *hint = cfg_suggest(key, names, n);
		if (hint)
			return FAIL(c, k, "unknown key '%s'%s%s (did you mean '%s'?)", key, in, where, hint);
		char list[512];
		return FAIL(c, k, "unknown key '%s'%s%s (expected one of: %s)", key, in, where,
		            cfg_join_names(list, sizeof list, names, n));
	}
	for (size_t j = 0; j < i; j++) {
		const yaml_node_t *prev = cfg_node(c, map->data.mapping.pairs.start[j].key);
		if (prev->type == YAML_SCALAR_NODE && !strcmp((const char *)prev->data.scalar.value, key))
			return FAIL(c, k, "duplicate key '%s'%s%s (first given at line %zu)", key, in,
			            where, prev->start_mark.line + 1);
	}
	return found;
}

size_t cfg_map_size(const yaml_node_t *map)
{
	return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

const char *cfg_key_text(cfg_ctx *c, const yaml_node_t *map, size_t i)
{
	return (const char *)cfg_node(c, map->data.mapping.pairs.start[i].key)->data.scalar.value;
}

yaml_node_t *cfg_pair_value(cfg_ctx *c, const yaml_node_t *map, size_t i)
{
	return cfg_node(c, map->data.mapping.pairs.start[i].value);
}

yaml_node_t *cfg_pair_key(cfg_ctx *c, const yaml_node_t *map, size_t i)
{
	return cfg_node(c, map->data.mapping.pairs.start[i].key);
}

/* ---------------------------------------------------------------- YAML */

/* 0-based line and column (in characters) of a byte offset. */
static yaml_mark_t mark_of_offset(const cfg_ctx *c, size_t off)
{
	yaml_mark_t m = { off, 0, 0 };
	if (off > c->len)
		off = c->len;
	for (size_t i = 0; i < off; i++) {
		if (c->text[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)c->text[i] & 0xC0) != 0x80) {
			m.column++;
		}
	}
	return m;
}

static int yaml_fail(cfg_ctx *c, const yaml_parser_t *p)
{
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return cfg_fail(c, "out of memory while reading YAML");
	case YAML_READER_ERROR:
		if (p->problem_value != -1)
			return cfg_fail_at(c, mark_of_offset(c, p->problem_offset), "%s (byte 0x%02X)",
			               p->problem, (unsigned)p->problem_value);
		return cfg_fail_at(c, mark_of_offset(c, p->problem_offset), "%s", p->problem);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
		if (p->context)
			return cfg_fail_at(c, p->problem_mark, "%s (%s at %zu:%zu)", p->problem, p->context,
			               p->context_mark.line + 1, p->context_mark.column + 1);
		return cfg_fail_at(c, p->problem_mark, "%s", p->problem ? p->problem : "YAML error");
	default:
		return cfg_fail(c, "YAML error: %s", p->problem ? p->problem : "unknown");
	}
}

static bool allowed_tag(const char *tag, yaml_event_type_t type)
{
	if (!tag || !strcmp(tag, "!"))
		return true;
	switch (type) {
	case YAML_SCALAR_EVENT:
		return !strcmp(tag, YAML_STR_TAG) || !strcmp(tag, YAML_INT_TAG) ||
		       !strcmp(tag, YAML_FLOAT_TAG) || !strcmp(tag, YAML_BOOL_TAG) ||
		       !strcmp(tag, YAML_NULL_TAG);
	case YAML_SEQUENCE_START_EVENT:
		return !strcmp(tag, YAML_SEQ_TAG);
	case YAML_MAPPING_START_EVENT:
		return !strcmp(tag, YAML_MAP_TAG);
	default:
		return false;
	}
}

static const char *short_tag(const char *tag)
{
	static const char std[] = "tag:yaml.org,2002:";
	return strncmp(tag, std, sizeof std - 1) ? tag : tag + sizeof std - 1;
}

/*
 * Pass 1, over events: syntax, one document, no aliases, known tags,
 * bounded nesting; note the !!str scalars. Sets *empty when there is no
 * document at all.
 */
int cfg_prescan(cfg_ctx *c, bool *empty)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = -1, docs = 0, depth = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		return cfg_fail(c, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			yaml_fail(c, &p);
			goto out;
		}
		const char *tag = NULL;
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				cfg_fail_at(c, ev.start_mark, "only one YAML document is allowed per file");
				goto out_ev;
			}
			break;
		case YAML_ALIAS_EVENT:
			cfg_fail_at(c, ev.start_mark, "aliases (*%s) are not supported; write the value out",
			        (const char *)ev.data.alias.anchor);
			goto out_ev;
		case YAML_SCALAR_EVENT:
			tag = (const char *)ev.data.scalar.tag;
			if (tag && (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "!"))) {
				if (c->n_str_tagged == c->cap_str_tagged) {
					size_t cap = c->cap_str_tagged ? 2 * c->cap_str_tagged : 16;
					size_t *v = realloc(c->str_tagged, cap * sizeof *v);
					if (!v) {
						cfg_fail(c, "out of memory");
						goto out_ev;
					}
					c->str_tagged = v;
					c->cap_str_tagged = cap;
				}
				c->str_tagged[c->n_str_tagged++] = ev.start_mark.index;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
			tag = (const char *)ev.data.sequence_start.tag;
			depth++;
			break;
		case YAML_MAPPING_START_EVENT:
			tag = (const char *)ev.data.mapping_start.tag;
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		if (!allowed_tag(tag, ev.type)) {
			cfg_fail_at(c, ev.start_mark, "unsupported tag '%s' (only the standard !!str, !!int, "
			        "!!float, !!bool, !!null, !!seq and !!map are allowed)", short_tag(tag));
			goto out_ev;
		}
		if (depth > CFG_MAX_DEPTH) {
			cfg_fail_at(c, ev.start_mark, "nesting deeper than %d levels", CFG_MAX_DEPTH);
			goto out_ev;
		}
		yaml_event_delete(&ev);
	}
	*empty = docs == 0;
	rc = 0;
	goto out;
out_ev:
	yaml_event_delete(&ev);
out:
	yaml_parser_delete(&p);
	return rc;
}

/* Pass 2: load the document. */
int cfg_load_document(cfg_ctx *c)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return cfg_fail(c, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
	int ok = yaml_parser_load(&p, &c->doc);
	if (!ok)
		yaml_fail(c, &p);
	yaml_parser_delete(&p);
	c->have_doc = ok;
	return ok ? 0 : -1;
}

