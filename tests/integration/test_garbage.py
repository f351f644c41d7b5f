# SPDX-License-Identifier: MIT
"""Garbage against a live steerd: seeded random and structured junk on the
control socket (random frame counts and bytes, invalid UTF-8, deep JSON,
wrong types, unknown commands, frames just over the size limits), partial
messages and junk at the ZMTP level over raw TCP, abrupt disconnects, and
hundreds of connections. Afterwards the daemon is alive, its knobs, ramps and
state are unchanged, the run kept stepping, it still answers, and (ASan
build) it stops with no sanitizer report.

test_control.py holds the ~100 structured bad inputs with their exact error
codes; this suite is about volume and randomness. The seed is printed
(STEERD_GARBAGE_SEED to change it)."""
import json
import os
import random
import socket
import struct
import sys

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import (CTX, FAST_KNOBS, DaemonTestCase, check_error_reply,  # noqa: E402
                            run_tests)

SEED = int(os.environ.get("STEERD_GARBAGE_SEED", "4242"))
LIMIT = 65536  # limits.max_message_bytes (default)
READS = ["hello", "status", "params", "get", "ramps", "snapshot"]
WRITES = ["set", "ramp", "cancel", "pause", "resume", "step", "shutdown", "checkpoint",
          "snapshot-state", "rewind", "search"]
UNKNOWN = ["", "STATUS", "status ", "frobnicate", "set\u0000", "\u00e9t\u00e9", "x" * 300, "../../etc"]
# events that would mean the garbage changed something
CHANGES = {"event.knob_changed", "event.ramp_started", "event.ramp_cancelled", "event.paused",
           "event.resumed", "event.stepping", "event.shutting_down", "event.rewound",
           "event.state_saved", "event.search_started", "event.checkpoint_written"}


def note(msg):
    print("# " + msg, flush=True)


# ------------------------------------------------------------------ generators


def rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def rand_json_value(rng, depth=0):
    """A random JSON value of a random type."""
    k = rng.randrange(9 if depth < 3 else 6)
    if k == 0:
        return None
    if k == 1:
        return rng.choice([True, False])
    if k == 2:
        return rng.choice([0, -1, 1, 2 ** 31, -2 ** 63, 2 ** 64, 7])
    if k == 3:
        return rng.choice([1.5, -0.0, 1e308, -1e-308, 3.14])
    if k == 4:
        return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x2000)]))
                       for _ in range(rng.randrange(0, 20)))
    if k == 5:
        return rng.choice(["injected_current", "anode_voltage", "gap", "j_transmitted", "nope"])
    if k == 6:
        return [rand_json_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(["values", "names", "ramps", "n", "id", "knob", "name", "x"]):
            rand_json_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}


def corrupt(rng, data):
    """Damage serialized JSON: truncate, flip bytes, insert invalid UTF-8."""
    if not data:
        return data
    k = rng.randrange(5)
    if k == 0:
        return data[:rng.randrange(len(data))]
    if k == 1:
        b = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.getrandbits(8)
        return bytes(b)
    if k == 2:
        i = rng.randrange(len(data))
        return data[:i] + rng.choice([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                                      b"\xc0\xaf", b"\x00"]) + data[i:]
    if k == 3:
        return data + rand_bytes(rng, rng.randrange(1, 8))
    return data.replace(b'"', b"'", 1)


def request_frames(rng):
    """A request-shaped message whose content is random. Writes always carry a
    body with an argument no command takes, so none of them can be valid."""
    cmd = rng.choice(READS + WRITES + UNKNOWN + [rand_json_value(rng)])
    header = {"cmd": cmd}
    for key in ("id", "client", "protocol"):
        if rng.random() < 0.5:
            header[key] = rand_json_value(rng)
    for _ in range(rng.randrange(0, 3)):
        header["k%d" % rng.randrange(100)] = rand_json_value(rng)
    body = rand_json_value(rng) if rng.random() < 0.3 else {}
    if cmd in WRITES or not isinstance(cmd, str):
        body = dict(body) if isinstance(body, dict) else {"x": body}
        body["zz_not_an_argument"] = rand_json_value(rng)
    h = json.dumps(header, ensure_ascii=rng.random() < 0.5).encode()
    b = json.dumps(body).encode()
    if rng.random() < 0.4:
        h = corrupt(rng, h)
    if rng.random() < 0.3 and cmd not in WRITES:
        b = corrupt(rng, b)
    frames = [b"", h, b]
    r = rng.random()
    if r < 0.15 and cmd not in WRITES:
        frames = frames[:2]  # no body frame
    elif r < 0.3:
        frames += [rand_bytes(rng, rng.randrange(0, 30)) for _ in range(rng.randrange(1, 5))]  # too many
    if rng.random() < 0.25:  # a routing prefix, sometimes longer than the 16 frames allowed
        frames = [rand_bytes(rng, rng.randrange(1, 12)) or b"p" for _ in range(rng.randrange(1, 22))] + frames
    return frames


def random_frames(rng):
    """0..40 frames of random bytes (a few with an empty frame in them)."""
    n = rng.randrange(1, 41)
    return [b"" if rng.random() < 0.1 else rand_bytes(rng, rng.randrange(0, 64)) for _ in range(n)]


def deep(n, opener=b"[", closer=b"]"):
    return opener * n + closer * n


# ------------------------------------------------------------------ raw ZMTP


def zmtp_greeting(mechanism=b"NULL"):
    return b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + mechanism.ljust(20, b"\0") + b"\0" + b"\0" * 31


def zmtp_frame(body, more=False, command=False, long=None):
    flags = (1 if more else 0) | (4 if command else 0)
    if long or len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body) if long is None else long) + body
    return bytes([flags, len(body)]) + body


def zmtp_ready(socket_type=b"DEALER"):
    prop = bytes([len(b"Socket-Type")]) + b"Socket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    return zmtp_frame(b"\x05READY" + prop, command=True)


def raw_session(endpoint, chunks, rng, read_greeting=True):
    """Connect over plain TCP, send CHUNKS (bytes) one by one, then close
    abruptly (RST: SO_LINGER 0)."""
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for ch in chunks:
            try:
                s.sendall(ch)
            except OSError:
                break  # the daemon hung up on us: fine
            if read_greeting and rng.random() < 0.3:
                s.settimeout(0.05)
                try:
                    s.recv(4096)
                except OSError:
                    pass
    finally:
        s.close()


class TestGarbage(DaemonTestCase):
    config = {"start": "running", "knobs": FAST_KNOBS}

    def setUp(self):
        super().setUp()
        self.rng = random.Random(SEED)
        self.events = self.d.subscriber("event.")
        self.knobs_before = self.c.knobs()
        self.state_before = self.c.status()

    def assert_unchanged(self, what):
        """Alive, knobs and ramps as before, still running, still stepping,
        nothing announced as changed, and a real request still works."""
        self.assertTrue(self.d.alive(), "steerd died after %s\n%s" % (what, self.d.tail()))
        c = self.d.client("after-" + what.split()[0])
        self.assertEqual(c.knobs(), self.knobs_before, what)
        self.assertEqual(c("ramps")["ramps"], [], what)
        st = c.status()
        self.assertEqual(st["state"], "running", what)
        c.wait_step(st["step"] + 10)
        self.assertGreater(c.status()["step"], self.state_before["step"])
        changed = [m for m in self.events.drain(0.1) if m.topic in CHANGES]
        self.assertEqual(changed, [], "%s changed something" % what)
        self.assertEqual(set(c.get("injected_current", "j_transmitted")), {"injected_current", "j_transmitted"})
        c.close()

    def drain_replies(self, sock, quiet=0.3):
        """Every reply queued on SOCK: replies to reads may be ok, any other
        is a well-formed error."""
        n = 0
        while sock.poll(int(quiet * 1000)):
            frames = sock.recv_multipart()
            n += 1
            self.assertGreaterEqual(len(frames), 2, frames)
            h, b = json.loads(frames[-2]), json.loads(frames[-1])
            if h.get("ok") is True:
                self.assertIn(h.get("cmd"), READS, "a garbage request succeeded: %r %r" % (h, b))
            else:
                check_error_reply(h, b)
        return n

    def test_random_and_structured_garbage(self):
        sock = self.c.sock
        sent = got = 0
        for i in range(600):
            frames = request_frames(self.rng) if i % 3 else random_frames(self.rng)
            sock.send_multipart(frames)
            sent += 1
            if i % 50 == 49:
                got += self.drain_replies(sock, 0.05)
        got += self.drain_replies(sock)
        note("%d garbage messages sent, %d replies (all errors but reads)" % (sent, got))
        self.assertGreater(got, sent // 2)
        self.assert_unchanged("random garbage")

    def test_deep_json_and_invalid_utf8(self):
        c = self.c
        cases = [
            [b"", deep(100000)],                                     # 200 kB: too_large
            [b"", b'{"cmd":"status","x":' + deep(30000) + b"}"],     # under the limit: parsed
            [b"", b'{"cmd":"get","id":1}', b'{"names":' + deep(30000) + b"}"],
            [b"", b'{"cmd":"get","id":1}', deep(32000, b'{"a":', b"}")[:LIMIT - 40]],
            [b"", b'{"cmd":"status","id":"\xff\xfe\xfd"}'],
            [b"", b'{"cmd":"st\xc3atus"}'],
            [b"", b'{"cmd":"get","id":2}', b'{"names":["\xed\xa0\x80"]}'],      # a UTF-16 surrogate
            [b"", b'{"cmd":"get","id":2}', b'{"names":["\xc0\xaf"]}'],          # overlong
            [b"", b'{"cmd":"get","id":2}', b'{"names":["\xf4\x90\x80\x80"]}'],  # past U+10FFFF
            [b"", b'{"cmd":"set","id":3}', b'{"values":{"injected_current":1e999}}'],
            [b"", b'{"cmd":"set","id":3}', b'{"values":{"injected_current":1500,"injected_current":1600}}'],
            [b"", b'\xef\xbb\xbf{"cmd":"status"}'],                 # a BOM
            [b"", b'{"cmd":"status"}\x00{"cmd":"pause"}'],
        ]
        for frames in cases:
            c.send_raw(frames)
            f = c.recv_raw()
            h, b = json.loads(f[-2]), json.loads(f[-1])
            if h.get("ok") is not True:
                check_error_reply(h, b)
        self.assert_unchanged("deep JSON and invalid UTF-8")

    def test_frames_just_over_the_limits(self):
        c = self.c
        pad = lambda n: b'{"cmd":"status","p":"' + b"x" * (n - len(b'{"cmd":"status","p":""}')) + b'"}'  # noqa: E731
        # header + body of exactly the limit, and one byte over
        for n, code in ((LIMIT - 2, None), (LIMIT - 1, "too_large")):
            c.send_raw([b"", pad(n), b"{}"])
            f = c.recv_raw()
            h, b = json.loads(f[1]), json.loads(f[2])
            if code:
                check_error_reply(h, b)
                self.assertEqual(b["error"]["code"], code)
            else:
                self.assertTrue(h["ok"], b)
        # many frames whose sum is over the limit
        c.send_raw([b"", b'{"cmd":"status"}'] + [b"y" * 30000] * 3)
        check_error_reply(*[json.loads(x) for x in c.recv_raw()[-2:]])
        # a single frame just over 4 x the limit: the connection is dropped,
        # not the daemon; one just under it is read and answered
        for n, answered in ((4 * LIMIT - 64, True), (4 * LIMIT + 1, False), (8 * LIMIT, False)):
            d = self.d.client("big-%d" % n)
            d.send_raw([b"", b'{"cmd":"status"}', b"z" * n])
            self.assertEqual(bool(d.sock.poll(1500 if answered else 500)), answered, n)
            d.close()
        self.assert_unchanged("frames over the limits")

    def test_partial_messages_and_zmtp_junk(self):
        rng = self.rng
        ep = self.d.conn["control"]
        hello = zmtp_greeting() + zmtp_ready()
        sessions = [
            [rand_bytes(rng, 200)],                                       # not ZMTP at all
            [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"],
            [b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f"],              # a ZMTP 2 signature
            [zmtp_greeting()[:5]],                                        # half a greeting
            [zmtp_greeting()],                                            # greeting, no READY
            [zmtp_greeting(b"PLAIN")],                                    # a mechanism not offered
            [zmtp_greeting(b"CURVE"), rand_bytes(rng, 300)],
            [zmtp_greeting(b"\xff" * 20)],
            [hello + zmtp_frame(b"", more=True)],                         # delimiter, then nothing
            [hello + zmtp_frame(b"", more=True) + zmtp_frame(b'{"cmd":"status"}', more=True)],
            [hello + zmtp_frame(b"", more=True) + zmtp_frame(b"x", long=10 ** 6)[:200]],  # cut short
            [hello + zmtp_frame(b"", more=True) + zmtp_frame(b"", long=2 ** 62)],          # absurd size
            [hello + zmtp_frame(b"", more=True) + zmtp_frame(b"", long=2 ** 64 - 1)],
            [hello + zmtp_frame(b"\x05READY", command=True)],             # a second READY
            [hello + zmtp_frame(b"\x05ERROR\x03bad", command=True)],
            [hello + zmtp_frame(b"\x09SUBSCRIBE", command=True)],
            [hello + bytes([0x80, 3]) + b"abc"],                          # reserved flag bits
            [hello + rand_bytes(rng, 500)],
            [zmtp_greeting()[:11], zmtp_greeting()[11:], zmtp_ready()[:3]],  # dribbled, then cut
        ]
        for i in range(40):  # and random ones
            sessions.append([hello + rand_bytes(rng, rng.randrange(1, 400))])
        for chunks in sessions:
            raw_session(ep, chunks, rng)
        # the same junk at the diagnostics endpoint (XPUB)
        for chunks in sessions[:12]:
            raw_session(self.d.conn["diagnostics"], chunks, rng)
        # DEALERs that queue part of a multipart message, then vanish
        for i in range(30):
            s = CTX.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(ep)
            s.send(b"", zmq.SNDMORE)
            if i % 2:
                s.send(b'{"cmd":"status","id":1}', zmq.SNDMORE)
            s.close(0)
        self.assert_unchanged("partial messages and ZMTP junk")

    def test_many_connections_and_abrupt_disconnects(self):
        rng = self.rng
        ep = self.d.conn["control"]
        host, port = ep[len("tcp://"):].rsplit(":", 1)
        # 250 TCP connections opened and reset at once
        for i in range(250):
            s = socket.create_connection((host, int(port)), timeout=5)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        # 200 DEALERs at the same time, each asks, half leave before the reply
        socks = []
        for i in range(200):
            s = CTX.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(ep)
            s.send_multipart([b"", json.dumps({"cmd": rng.choice(READS), "id": i}).encode(),
                              b"{}"])
            socks.append(s)
        answered = 0
        for i, s in enumerate(socks):
            if i % 2 and s.poll(20000):
                h = json.loads(s.recv_multipart()[1])
                self.assertEqual(h["id"], i)
                answered += 1
            s.close(0)
        self.assertEqual(answered, 100)
        # 100 subscribers that come and go on the diagnostics endpoint, some
        # leaving with messages queued
        for i in range(100):
            s = CTX.socket(zmq.SUB)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVHWM, 1)
            s.connect(self.d.conn["diagnostics"])
            s.setsockopt(zmq.SUBSCRIBE, b"" if i % 2 else b"scalars")
            if i % 10 == 0:
                s.poll(200)
            s.close(0)
        self.assert_unchanged("many connections")
        # and the stream still flows to a new subscriber
        sub = self.d.subscriber("scalars")
        self.assertIsNotNone(sub.recv(10))


if __name__ == "__main__":
    note("seed %d (STEERD_GARBAGE_SEED)" % SEED)
    run_tests(TestGarbage)
