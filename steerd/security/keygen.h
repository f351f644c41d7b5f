/* SPDX-License-Identifier: MIT */
/*
 * keygen.h — `steerd keygen NAME [--dir DIR]`: make a CURVE key pair,
 * DIR/NAME.key (public, 0644) and DIR/NAME.key_secret (0600), in the czmq
 * certificate format pyzmq reads (zmq.auth.load_certificate). Never
 * overwrites. Prints both paths and the public key.
 */
#ifndef STEERD_KEYGEN_H
#define STEERD_KEYGEN_H

/*
 * argv[0] is the subcommand ("keygen"), then its arguments; main() calls
 * keygen_main(argc - 1, argv + 1) for `steerd keygen ...`. Returns the exit
 * status: 0, 64 (EX_USAGE) or 73 (EX_CANTCREAT).
 */
int keygen_main(int argc, char **argv);

#endif
