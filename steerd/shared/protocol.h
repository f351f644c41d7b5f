/* SPDX-License-Identifier: MIT */
/*
 * protocol.h — the protocol's version and error codes (PROTOCOL.md), the
 * constants both ends use: the daemon's framing (control/wire.c) and the
 * console.
 */
#ifndef STEERD_PROTOCOL_H
#define STEERD_PROTOCOL_H

#define WIRE_PROTOCOL 1

/* Error codes of the protocol. */
#define E_BAD_REQUEST "bad_request"         /* frames or header malformed */
#define E_TOO_LARGE "too_large"             /* over limits.max_message_bytes */
#define E_UNKNOWN_COMMAND "unknown_command"
#define E_BAD_ARGUMENT "bad_argument"       /* missing, unknown or mistyped argument */
#define E_UNKNOWN_NAME "unknown_name"       /* no such knob, diagnostic or ramp */
#define E_OUT_OF_RANGE "out_of_range"       /* value outside the knob's bounds */
#define E_FIXED_KNOB "fixed_knob"           /* knob may not change while running */
#define E_REFUSED "refused"                 /* the simulation refused the change */
#define E_LIMIT_REACHED "limit_reached"     /* a bounded store is full (snapshot-state) */
#define E_BAD_STATE "bad_state"             /* e.g. `step` while running */
#define E_SHUTTING_DOWN "shutting_down"
#define E_FORBIDDEN "forbidden"             /* security: the client's key may not run it */
#define E_INTERNAL "internal"
#define E_UNSUPPORTED "unsupported"     /* the simulation lacks what the command needs */
#define E_BUSY "busy"                   /* too many writes waiting: retry later */

#endif
