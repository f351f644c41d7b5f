/* SPDX-License-Identifier: MIT */
/*
 * security.h — the config's security section put to work: the server's key
 * pair, the ZAP handler (zap.h) with the table of client keys and roles, the
 * start-up self-test, and reloading the client keys on SIGHUP.
 *
 * Reload: SIGHUP only sets reload_signal (reload.h). The simulation thread,
 * which owns the diagnostics socket, does the work the next time it takes in
 * subscriptions (run_loop calls reload_poll: every 10 ms while stepping,
 * at every wake-up while paused): it reads the config file's
 * security section again (config_load_security; only the file named with -c:
 * a config taken from a checkpoint keeps its list of files) and every key
 * file it lists. A key file that is absent or malformed is left out (a WARN
 * names it): that key is revoked. A config file that cannot be parsed, or a
 * config or key file that another user could change (fileperm.h), changes
 * nothing (an ERROR says why). When the list cannot be read at all (an I/O
 * error, no file descriptors: CERT_E_IO), nobody knows which keys it still
 * holds, so every key's writes (ZAP_E_KEYS_UNAVAILABLE) and every new
 * connection are refused until a retry, every second (security_retry,
 * logged), reads it. When a key is gone, its connections are cut:
 * commands on the control socket are refused at once (zap_authorize reads the
 * current table), and the diagnostics socket is bound anew (stream_rebind),
 * so every subscriber reconnects through ZAP, the revoked ones in vain, the
 * others after a gap of about 100-200 ms. Role changes take effect on the
 * next command. The server key is not reloaded (that needs a restart).
 */
#ifndef STEERD_SECURITY_H
#define STEERD_SECURITY_H

#include <stdbool.h>
#include <stddef.h>

#include "cert.h"
#include "config.h"
#include "stream.h"
#include "zap.h"

typedef struct security security;

/*
 * Read the server's secret key and every client key file of sec, start
 * nothing (steerd --check). 0, or -1 with "path[:line]: message" in err.
 */
int security_check(const config_security *sec, char *err, size_t errlen);

/*
 * Before any socket of zctx is bound: read the server's secret key (refused
 * when group or others may read it), start the ZAP handler in zctx, load the
 * client keys, and prove with zap_self_test that an unknown key is refused.
 * config_path: the file a reload reads the security section from (NULL:
 * reload the key files listed in cfg). NULL on failure, with a message in
 * err and *exit_status EX_CONFIG (a key file) or EX_SOFTWARE (the handler
 * or the self-test).
 */
security *security_start(void *zctx, const config *cfg, const char *config_path,
                         int *exit_status, char *err, size_t errlen);

/* The server's key pair, for stream_new / control_new; NULL-safe. */
const cert *security_server(const security *s);

/* The ZAP handler, for control_new; NULL-safe. */
zap *security_zap(security *s);

/* Number of client keys in effect. */
size_t security_key_count(security *s);

/*
 * Reload the client keys now (simulation thread: it may rebind st). Returns
 * how many keys were removed (>= 0); SECURITY_UNAVAILABLE when the list
 * could not be read (writes refused from now on, a retry is due in a
 * second); or -1 with a message in err (then the table in effect is
 * unchanged).
 */
#define SECURITY_UNAVAILABLE (-2)
int security_reload(security *s, stream *st, char *err, size_t errlen);

/*
 * SIGHUP: reload and log the outcome. True when the table changed or became
 * unavailable (what revoked keys started is then to be cancelled).
 */
bool security_sighup(security *s, stream *st);

/* While the list is unavailable, once a second: try again, as security_sighup. NULL-safe. */
bool security_retry(security *s, stream *st);

/* Stop the handler (after every CURVE socket is closed) and wipe the secret. NULL-safe. */
void security_stop(security **sp);

#endif
