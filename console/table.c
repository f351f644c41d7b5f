/* SPDX-License-Identifier: GPL-3.0-or-later */
/* table.c — aligned columns; widths count characters, not UTF-8 bytes. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

struct table {
	char align[16];
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols */
};

table *table_new(const char *align)
{
	table *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	snprintf(t->align, sizeof t->align, "%s", align);
	t->ncols = strlen(t->align);
	return t;
}

void table_row(table *t, ...)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
		if (!t->cells)
			abort();
	}
	va_list ap;
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);
		t->cells[t->nrows * t->ncols + i] = strdup(s ? s : "");
	}
	va_end(ap);
	t->nrows++;
}

static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

void table_print(table *t, FILE *f)
{
	size_t w[16] = { 0 };
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			size_t cw = width(t->cells[r * t->ncols + i]);
			if (cw > w[i])
				w[i] = cw;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		/* Trailing empty cells would only leave trailing blanks. */
		size_t last = t->ncols;
		while (last > 1 && !t->cells[r * t->ncols + last - 1][0])
			last--;
		for (size_t i = 0; i < last; i++) {
			const char *s = t->cells[r * t->ncols + i];
			size_t pad = w[i] - width(s);
			if (t->align[i] == 'r')
				fprintf(f, "%*s%s", (int)pad, "", s);
			else if (i + 1 < last)
				fprintf(f, "%s%*s", s, (int)pad, "");
			else
				fputs(s, f);
			if (i + 1 < last)
				fputs("  ", f);
		}
		fputc('\n', f);
		for (size_t i = 0; i < t->ncols; i++)
			free(t->cells[r * t->ncols + i]);
	}
	fflush(f);
	free(t->cells);
	free(t);
}
