/* SPDX-License-Identifier: GPL-3.0-or-later */
/* view.c — the terminal side of watch/plot (see view.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "view.h"

int view_check_tty(console *c, const char *cmd)
{
	if (!isatty(0) || !isatty(1))
		return con_error(c, "%s needs a terminal (use get or wait in scripts)", cmd);
	return 0;
}

void view_size(int *cols, int *rows)
{
	struct winsize ws;
	*cols = 80;
	*rows = 24;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}

int view_run(console *c, view_draw_fn draw, void *arg, int period_ms, bool alt_screen)
{
	struct termios saved, raw;
	bool have_tio = tcgetattr(0, &saved) == 0;
	if (have_tio) {
		/* Keys one at a time and unechoed; ISIG stays, so Ctrl-C still signals. */
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(0, TCSANOW, &raw);
	}
	fputs(alt_screen ? "\033[?1049h\033[?25l" : "\033[?25l", stdout);
	fflush(stdout);
	c->view_active = true;
	c->view_msg[0] = '\0';
	int rc = 0;
	int64_t next = 0;
	for (;;) {
		int64_t now = con_now_ms();
		if (now >= next) {
			if (draw(c, arg) < 0) {
				rc = -1;
				break;
			}
			fflush(stdout);
			next = now + period_ms;
			continue;
		}
		int ev = con_poll(c, (long)(next - now), true);
		if (ev & CON_EV_INTR) {
			con_interrupted = 0;
			break;
		}
		if (ev & CON_EV_STDIN) {
			char ch; /* any key: swallow it and go back to the prompt */
			ssize_t got = read(0, &ch, 1);
			(void)got;
			break;
		}
		if (con_winch) {
			con_winch = 0;
			if (alt_screen)
				fputs("\033[2J", stdout);
		}
		if (c->interactive)
			con_idle(c);
	}
	c->view_active = false;
	fputs(alt_screen ? "\033[?25h\033[?1049l" : "\033[?25h", stdout);
	fflush(stdout);
	if (have_tio)
		tcsetattr(0, TCSANOW, &saved);
	return rc;
}

void view_spark(const double *v, size_t n, char *out, size_t len)
{
	static const char *const bars[] = { "\u2581", "\u2582", "\u2583", "\u2584",
		                                "\u2585", "\u2586", "\u2587", "\u2588" };
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i])) {
			lo = fmin(lo, v[i]);
			hi = fmax(hi, v[i]);
		}
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && off + 4 < len; i++) {
		if (isnan(v[i])) {
			out[off++] = ' ';
			continue;
		}
		/* A flat line sits in the middle rather than on the floor. */
		int k = hi > lo ? (int)((v[i] - lo) / (hi - lo) * 7.999) : 3;
		size_t bl = strlen(bars[k]);
		memcpy(out + off, bars[k], bl);
		off += bl;
	}
	out[off] = '\0';
}

void canvas_init(canvas *cv, int cols, int rows)
{
	cv->cols = cols > 1 ? cols : 1;
	cv->rows = rows > 1 ? rows : 1;
	cv->cells = calloc((size_t)cv->cols * (size_t)cv->rows, 1);
	if (!cv->cells)
		abort();
}

void canvas_free(canvas *cv)
{
	free(cv->cells);
	cv->cells = NULL;
}

void canvas_dot(canvas *cv, int x, int y)
{
	/* Unicode braille: dots 1-2-3-7 down the left column, 4-5-6-8 the right. */
	static const uint8_t bit[2][4] = { { 0x01, 0x02, 0x04, 0x40 }, { 0x08, 0x10, 0x20, 0x80 } };
	if (x < 0 || y < 0 || x >= 2 * cv->cols || y >= 4 * cv->rows)
		return;
	cv->cells[(y / 4) * cv->cols + x / 2] |= bit[x % 2][y % 4];
}

void canvas_line(canvas *cv, int x0, int y0, int x1, int y1)
{
	int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
	int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
	int err = dx + dy;
	for (int guard = 0; guard < 100000; guard++) {
		canvas_dot(cv, x0, y0);
		if (x0 == x1 && y0 == y1)
			break;
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			err += dx;
			y0 += sy;
		}
	}
}

void canvas_row(const canvas *cv, int row, char *out, size_t len)
{
	size_t off = 0;
	for (int x = 0; x < cv->cols && off + 4 < len; x++) {
		unsigned cp = 0x2800u + cv->cells[row * cv->cols + x];
		out[off++] = (char)(0xE0 | (cp >> 12));
		out[off++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[off++] = (char)(0x80 | (cp & 0x3F));
	}
	out[off] = '\0';
}
