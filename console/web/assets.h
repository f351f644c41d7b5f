/* SPDX-License-Identifier: MIT */
/*
 * assets.h — the page's own files (page.html, app.js, app.css), built into
 * the program by embed.py so that steer-web runs from the build tree or
 * installed alike. The charting library is Debian's (libjs-chart.js), read
 * from disk at start (--chartjs).
 */
#ifndef STEER_WEB_ASSETS_H
#define STEER_WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
	const char *path; /* the URL path, e.g. "/app.js" */
	const char *mime;
	const unsigned char *data;
	size_t len;
} web_asset;

extern const web_asset web_assets[]; /* ends with a NULL path */

#endif
