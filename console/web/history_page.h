/* SPDX-License-Identifier: MIT */
/*
 * history_page.h — a `history` reply (PROTOCOL.md: header, body, then one
 * binary frame per entry of the body's "frames") as the message a new page
 * starts from: {"type": "history", "ok", "steps": [...], "series": {NAME:
 * [mean, ...]}, "markers": [{"seq", "step", "entry"}]}, the current stretch
 * only. Frames of the wrong size are left out, never read past.
 */
#ifndef STEER_WEB_HISTORY_PAGE_H
#define STEER_WEB_HISTORY_PAGE_H

#include <jansson.h>
#include <zmq.h>

json_t *history_page_message(json_t *hdr, json_t *body, zmq_msg_t *frames, int n_frames);

#endif
