/* SPDX-License-Identifier: GPL-3.0-or-later */
/* table.h — aligned columns for the human output. */
#ifndef CONSOLE_TABLE_H
#define CONSOLE_TABLE_H

#include <stdio.h>

typedef struct table table;

/* align: one letter per column, 'l' or 'r'. */
table *table_new(const char *align);
/* One row: as many cells as columns (NULL is empty). */
void table_row(table *t, ...);
/* Print with two spaces between columns, then free. */
void table_print(table *t, FILE *f);

#endif
