/* SPDX-License-Identifier: MIT */
/* frames.c — see frames.h. */
#include "frames.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int frames_send_request(void *dealer, const json_t *header, const json_t *body)
{
	char *h = json_dumps(header, JSON_COMPACT);
	char *b = body ? json_dumps(body, JSON_COMPACT) : strdup("{}");
	int rc = -1;
	if (h && b && zmq_send(dealer, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0 &&
	    zmq_send(dealer, h, strlen(h), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
	    zmq_send(dealer, b, strlen(b), ZMQ_DONTWAIT) >= 0)
		rc = 0;
	free(h);
	free(b);
	return rc;
}

int frames_recv(void *sock, zmq_msg_t *parts, int max, int flags)
{
	int n = 0;
	for (;;) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, flags) < 0) {
			zmq_msg_close(&m);
			frames_close(parts, n);
			return -1;
		}
		bool more = zmq_msg_more(&m);
		if (n < max)
			parts[n++] = m;
		else
			zmq_msg_close(&m);
		if (!more)
			return n;
		flags = 0; /* the rest of a message is there once its first part is */
	}
}

json_t *frames_json(zmq_msg_t *m)
{
	return json_loadb(zmq_msg_data(m), zmq_msg_size(m), 0, NULL);
}

void frames_close(zmq_msg_t *parts, int n)
{
	for (int i = 0; i < n; i++)
		zmq_msg_close(&parts[i]);
}
