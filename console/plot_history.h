/* SPDX-License-Identifier: GPL-3.0-or-later */
/* plot_history.h — `plot history NAME...` (ccmd-plot.c hands it over). */
#ifndef CONSOLE_PLOT_HISTORY_H
#define CONSOLE_PLOT_HISTORY_H

#include "console.h"

/* names: knobs or scalar diagnostics. On a terminal a live view (any key
 * returns); else drawn once on stdout, 80 columns wide. 0 or -1 (reported). */
int plot_history(console *c, int n, char **names);

#endif
