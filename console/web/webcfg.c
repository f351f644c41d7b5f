/* SPDX-License-Identifier: MIT */
/* webcfg.c — steer-web's config file: see webcfg.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "fileperm.h"
#include "webcfg.h"

#define WEBCFG_MAX_BYTES (1 << 20)

typedef struct loader {
	const char *path;
	yaml_document_t doc;
	char *err;
	size_t errlen;
} loader;

static int at(loader *l, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int at(loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%zu:%zu: %s", l->path, n ? n->start_mark.line + 1 : 1,
	         n ? n->start_mark.column + 1 : 1, msg);
	return -1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int webcfg_token_ok(const char *t)
{
	size_t n = strlen(t);
	if (n < WEBCFG_TOKEN_MIN || n > WEBCFG_TOKEN_MAX)
		return 0;
	return strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n < WEBCFG_NAME_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-@") == n;
}

static int relative_to(loader *l, const yaml_node_t *n, const char *v, char *out, size_t len)
{
	if (v[0] == '/') {
		if ((size_t)snprintf(out, len, "%s", v) >= len)
			return at(l, n, "path too long");
		return 0;
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", l->path);
	if ((size_t)snprintf(out, len, "%s/%s", dirname(dir), v) >= len)
		return at(l, n, "path too long");
	return 0;
}

static int load_operator(loader *l, yaml_node_t *n, webcfg *out)
{
	if (n->type != YAML_MAPPING_NODE)
		return at(l, n, "an operator is a mapping {name, token[, key]}");
	if (out->n_ops == WEBCFG_MAX_OPERATORS)
		return at(l, n, "at most %d operators", WEBCFG_MAX_OPERATORS);
	web_operator *op = &out->ops[out->n_ops];
	memset(op, 0, sizeof *op);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
		const char *key = scalar(k), *val = scalar(v);
		if (!key)
			return at(l, k, "keys are names");
		if (!val)
			return at(l, v, "%s: a string is expected", key);
		if (!strcmp(key, "name")) {
			if (op->name[0])
				return at(l, k, "duplicate key name");
			if (!name_ok(val))
				return at(l, v, "name: 1-63 characters of A-Z a-z 0-9 . _ - @");
			snprintf(op->name, sizeof op->name, "%s", val);
		} else if (!strcmp(key, "token")) {
			if (op->token[0])
				return at(l, k, "duplicate key token");
			if (!webcfg_token_ok(val))
				return at(l, v, "token: %d-%d characters of A-Z a-z 0-9 _ - (make one with "
				                "`steer-web --new-token`)", WEBCFG_TOKEN_MIN, WEBCFG_TOKEN_MAX);
			snprintf(op->token, sizeof op->token, "%s", val);
		} else if (!strcmp(key, "key")) {
			if (op->key[0])
				return at(l, k, "duplicate key key");
			if (relative_to(l, v, val, op->key, sizeof op->key) < 0)
				return -1;
		} else {
			return at(l, k, "unknown key '%s' (an operator has name, token, key)", key);
		}
	}
	if (!op->name[0] || !op->token[0])
		return at(l, n, "an operator needs a name and a token");
	for (size_t i = 0; i < out->n_ops; i++) {
		if (!strcmp(out->ops[i].name, op->name))
			return at(l, n, "operator '%s' is listed twice", op->name);
		if (!strcmp(out->ops[i].token, op->token))
			return at(l, n, "operators '%s' and '%s' have the same token", out->ops[i].name,
			          op->name);
	}
	out->n_ops++;
	return 0;
}

static int load_doc(loader *l, webcfg *out)
{
	yaml_node_t *root = yaml_document_get_root_node(&l->doc);
	if (!root)
		return 0; /* an empty file: no operators */
	if (root->type != YAML_MAPPING_NODE)
		return at(l, root, "the config is a mapping (operators: ...)");
	bool seen = false;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&l->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&l->doc, p->value);
		const char *key = scalar(k);
		if (!key || strcmp(key, "operators"))
			return at(l, k, "unknown key '%s' (steer-web's config has operators)",
			          key ? key : "?");
		if (seen)
			return at(l, k, "duplicate key operators");
		seen = true;
		if (v->type == YAML_SCALAR_NODE && !v->data.scalar.length)
			continue; /* `operators:` with nothing: none */
		if (v->type != YAML_SEQUENCE_NODE)
			return at(l, v, "operators is a list");
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
		     it++)
			if (load_operator(l, yaml_document_get_node(&l->doc, *it), out) < 0)
				return -1;
	}
	return 0;
}

int webcfg_load(const char *path, webcfg *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: holds operator tokens, so group and others must have no access "
		                      "(chmod 600 %s)", path, path);
		close(fd);
		return -1;
	}
	if (fileperm_check(path, &st, err, errlen) < 0 || st.st_size > WEBCFG_MAX_BYTES) {
		if (st.st_size > WEBCFG_MAX_BYTES)
			snprintf(err, errlen, "%s: larger than %d bytes", path, WEBCFG_MAX_BYTES);
		close(fd);
		return -1;
	}
	char *text = malloc((size_t)st.st_size + 1);
	ssize_t got = text ? read(fd, text, (size_t)st.st_size) : -1;
	close(fd);
	if (got != st.st_size) {
		snprintf(err, errlen, "%s: cannot read", path);
		free(text);
		return -1;
	}
	loader l = {.path = path, .err = err, .errlen = errlen};
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, (size_t)got);
	int rc;
	if (!yaml_parser_load(&p, &l.doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1,
		         p.problem_mark.column + 1, p.problem ? p.problem : "not YAML");
		rc = -1;
	} else {
		rc = load_doc(&l, out);
		yaml_document_delete(&l.doc);
	}
	yaml_parser_delete(&p);
	free(text);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int webcfg_new_token(char *buf, size_t len)
{
	unsigned char r[32]; /* 256 bits, as 64 hex digits */
	if (len < 2 * sizeof r + 1 || getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
	explicit_bzero(r, sizeof r);
	return 0;
}
