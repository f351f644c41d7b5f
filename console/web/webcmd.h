/* SPDX-License-Identifier: MIT */
/*
 * webcmd.h — what a browser may ask steerd to do, checked before anything
 * leaves steer-web.
 *
 * A page sends {"type": "cmd", "id": N, "cmd": CMD, "body": {...}}. Only an
 * operator's session may, only the steering commands the page offers
 * (set, ramp, cancel, pause, resume, step, checkpoint, search), only those
 * the daemon lists as changes in `hello`, only with the body keys the daemon
 * lists for them, knobs that exist and may change at run time, values of
 * JSON's plain types, within a size bound. steerd then checks everything
 * again (ranges, states): this is steer-web refusing to be a relay for
 * anything else, not the last word.
 */
#ifndef STEER_WEB_WEBCMD_H
#define STEER_WEB_WEBCMD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define WEBCMD_MAX_BODY 4096 /* bytes of a forwarded body, as compact JSON */

/*
 * Checks msg's cmd and body against hello. 0 with *body (a new reference)
 * and *cmd (inside msg) to forward, else -1 with an error code and message.
 */
int webcmd_check(json_t *hello, bool operator_role, json_t *msg, const char **cmd, json_t **body,
                 const char **code, char *message, size_t len);

#endif
