/* SPDX-License-Identifier: MIT */
/*
 * zap.h — who may connect, and as what: a ZAP handler (RFC 27) for CURVE.
 *
 * libzmq asks the handler bound to inproc://zeromq.zap.01 in the socket's
 * context whether a peer that completed a CURVE handshake may stay. When no
 * handler is bound, Debian's libzmq 4.3 admits every client, so:
 *
 *   - zap_start() before any socket binds, zap_stop() only after every
 *     CURVE socket is closed (a connection arriving in between would be
 *     admitted without a question);
 *   - zap_self_test() at start-up proves an unknown key is refused.
 *
 * The handler admits a client whose CURVE public key is in its table and
 * replies 200 with user id = the key's name and the metadata properties
 * "Role" ("observer" or "operator") and "Key" (the client's public key, Z85).
 * Everything else gets 400: unknown keys, other mechanisms (NULL, PLAIN),
 * unknown ZAP versions, malformed requests. libzmq then closes the
 * connection; no message from it ever reaches the socket.
 *
 * Every frame received from an admitted peer carries that metadata
 * (zmq_msg_gets(&frame, "User-Id"), zmq_msg_gets(&frame, "Role")), except the
 * routing id frame a ROUTER adds. ZAP runs only at the handshake, so
 * zap_peer_role() and zap_authorize() look the key up again in the current
 * table: a key removed (or demoted) by a reload takes effect on the next
 * command of an existing connection. They trust "Key" only: libzmq gives the
 * handler's properties precedence over any a peer sends about itself.
 */
#ifndef STEERD_ZAP_H
#define STEERD_ZAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "cert.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN "steerd"      /* set on steerd's sockets by zap_curve_server */
#define ZAP_E_FORBIDDEN "forbidden" /* suggested protocol error code for refused commands */
/* The error code of a write refused while the key list cannot be read (zap_set_unavailable). */
#define ZAP_E_KEYS_UNAVAILABLE "keys_unavailable"

typedef enum { ZAP_ROLE_NONE = 0, ZAP_ROLE_OBSERVER, ZAP_ROLE_OPERATOR } zap_role;

/* One admitted client. */
typedef struct zap_key {
	uint8_t key[CERT_KEY_BYTES]; /* CURVE public key */
	char name[CERT_NAME_MAX];    /* shown in logs; the ZAP user id */
	zap_role role;
} zap_key;

/* A client key file as configured. */
typedef struct zap_key_file {
	const char *path; /* NAME.key (or NAME.key_secret, whose secret is not kept) */
	const char *name; /* NULL: the file's metadata name, else its base name minus ".key" */
	zap_role role;
} zap_key_file;

typedef struct zap zap;

/* "observer", "operator" (or "none"); and back: 0, or -1 for anything else. */
const char *zap_role_name(zap_role role);
int zap_role_parse(const char *s, zap_role *out);

/* May role run a command? Observers run reads only (changes = false). */
bool zap_role_allows(zap_role role, bool changes);

/*
 * Bind the handler in zmq context zctx and start its thread; the table starts
 * empty (everyone refused). The handler is bound when this returns. NULL with
 * a message in err (e.g. another handler is already bound in zctx).
 */
zap *zap_start(void *zctx, char *err, size_t errlen);

/* Stop the thread and close its socket; sets *zp to NULL. NULL-safe. */
void zap_stop(zap **zp);

/*
 * Replace the table (copied). Refused (-1, message in err, table unchanged)
 * when a key appears twice or a role is ZAP_ROLE_NONE. Otherwise returns how
 * many keys of the old table are gone: when > 0, established stream
 * connections should be dropped (zap_rebind). Role changes need nothing more:
 * zap_authorize reads the current table on every command.
 */
int zap_set_keys(zap *z, const zap_key *keys, size_t n, char *err, size_t errlen);

/*
 * The key list could not be read (a reload failed for want of descriptors,
 * an I/O error): until the next zap_set_keys, every write (zap_authorize)
 * and every new handshake is refused, since a key removed from the list may
 * be among those connected. Reads of established connections go on.
 */
void zap_set_unavailable(zap *z);

/* Is a key of this name in the table (false while unavailable)? */
bool zap_name_admitted(zap *z, const char *name);

/* Keys in the table now. */
size_t zap_key_count(zap *z);

/*
 * Read client key files into a new table (*out, free() it; *n entries).
 * Errors name the file ("path:line: message"); a key listed twice is refused.
 * The return value on error is -1 or the CERT_E_* code of the key file
 * (cert.h) that failed.
 */
int zap_keys_load(const zap_key_file *files, size_t n_files, zap_key **out, size_t *n, char *err,
                  size_t errlen);

/*
 * Make sock a CURVE server with the given secret key, in ZAP domain "steerd".
 * Call before zmq_bind. 0, or -1 with a message.
 */
int zap_curve_server(void *sock, const cert *server, char *err, size_t errlen);

/*
 * Who is on the other end of a connection: read once from the ZAP metadata of
 * a frame the peer sent. NOT the ROUTER's routing id frame, which libzmq makes
 * without metadata: use the first frame after it (in wire_recv: the frame
 * at index 1, whether the empty delimiter or the header).
 */
typedef struct zap_peer {
	bool authenticated;                /* the frame had our ZAP metadata */
	char key_z85[CERT_Z85_LEN + 1];    /* "Key": the client's CURVE public key */
	char user_id[CERT_NAME_MAX];       /* "User-Id": the name it was admitted under */
} zap_peer;

/* Fill *peer from frame's metadata; 0, or ZAP_NO_AUTH (peer zeroed) when it has none. */
#define ZAP_NO_AUTH (-1)
#define ZAP_REVOKED (-2)
#define ZAP_UNAVAILABLE (-3)
int zap_peer_of(zmq_msg_t *frame, zap_peer *peer);

/*
 * The peer's role by the CURRENT table (ZAP ran only at the handshake):
 *   0             known key: *role and name (the table's) are set;
 *   ZAP_NO_AUTH   not authenticated (no ZAP metadata: security is off, or a bug);
 *   ZAP_REVOKED   the key is no longer in the table (name = the name it was
 *                 admitted under).
 */
int zap_peer_role(zap *z, const zap_peer *peer, char *name, size_t namelen, zap_role *role);

/* Both at once, from a frame the peer sent. */
int zap_role_of(zap *z, zmq_msg_t *frame, char *name, size_t namelen, zap_role *role);

/*
 * The per-command check: 0 when peer may run cmd (changes: whether it is a
 * write, cmd_entry.changes). Otherwise -1, a one-line reason in msg (e.g. "set
 * changes the run and needs the operator role; key 'bob' is an observer",
 * "status refused: key 'alice' has been revoked") and a WARN log line naming
 * the client; ZAP_UNAVAILABLE instead of -1 for a write while the key list
 * is unavailable (zap_set_unavailable). name receives the key's name ("?"
 * when not authenticated).
 */
int zap_authorize(zap *z, const zap_peer *peer, const char *cmd, bool changes, char *name,
                  size_t namelen, char *msg, size_t msglen);

/*
 * Proves that the handler in zctx refuses an unknown key: binds a throwaway
 * CURVE server on tcp://127.0.0.1:*, connects a client with a fresh key and
 * watches the handshake (socket monitor, at most 2 s). With z (the handler
 * running in zctx) it also checks that a key it knows is admitted and that
 * its Role arrives in the metadata; this uses a one-off key valid only in a
 * random ZAP domain of the throwaway socket. 0 when all is as it must be;
 * -1 with a message otherwise, in particular when an unknown key got in.
 */
int zap_self_test(void *zctx, zap *z, char *err, size_t errlen);

/*
 * Drop every connection of a bound socket: close *sock and bind a new socket
 * of the same type to the same resolved endpoint (ZMQ_LAST_ENDPOINT), after
 * setup(new, arg) applied its options (CURVE keys, HWM, ...). Peers reconnect
 * by themselves and go through ZAP again; revoked keys are refused. Must run
 * on the thread that owns the socket. 0, or -1 with a message (then *sock is
 * the new socket, possibly unbound).
 */
int zap_rebind(void *zctx, void **sock, int (*setup)(void *sock, void *arg), void *arg, char *err,
               size_t errlen);

#endif
