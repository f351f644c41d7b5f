/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * view.h — full-screen live views (watch, plot): the terminal in
 * character-at-a-time mode so any key ends the view, a redraw loop driven by
 * the same poll as everything else, sparklines and a braille canvas.
 */
#ifndef CONSOLE_VIEW_H
#define CONSOLE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"

/* Redraw when due; return -1 to stop the view with an error. */
typedef int (*view_draw_fn)(console *c, void *arg);

/*
 * Runs a view until a key is pressed (0) or Ctrl-C (0; the view was asked
 * to stop), calling draw every period_ms. `alt_screen` draws on the
 * terminal's alternate screen, which gives the prompt's screen back after.
 */
int view_run(console *c, view_draw_fn draw, void *arg, int period_ms, bool alt_screen);
/* Refuses a view when stdin/stdout are not a terminal. */
int view_check_tty(console *c, const char *cmd);
void view_size(int *cols, int *rows);

/* n values as a sparkline of ▁▂▃▄▅▆▇█ (NaN: blank), scaled to their range. */
void view_spark(const double *v, size_t n, char *out, size_t len);

/* A braille canvas: each character cell holds 2×4 dots. */
typedef struct canvas {
	int cols, rows;  /* in character cells */
	uint8_t *cells;  /* cols * rows dot masks */
} canvas;

void canvas_init(canvas *cv, int cols, int rows);
void canvas_free(canvas *cv);
/* A dot at (x, y) in dots, (0, 0) top left; outside is ignored. */
void canvas_dot(canvas *cv, int x, int y);
void canvas_line(canvas *cv, int x0, int y0, int x1, int y1);
/* One row of the canvas as UTF-8 (3 bytes per cell). */
void canvas_row(const canvas *cv, int row, char *out, size_t len);

#endif
