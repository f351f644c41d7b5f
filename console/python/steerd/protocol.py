# SPDX-License-Identifier: MIT
"""The wire, without sockets (PROTOCOL.md): connection files, request
headers, replies, stream messages and their sequence numbers, history
frames. Shared by the blocking client (client.py) and the asyncio one
(aio.py), which only move frames."""
import json
import os
import uuid

import numpy as np

from .errors import error_for

PROTOCOL = 1

# The commands that only read (`changes: false` in hello), for a daemon whose
# hello has not been read yet: sent again as they are. Every other command
# changes the run and carries a retry_key.
READS = frozenset(("hello", "status", "params", "get", "ramps", "snapshot", "history"))

ENDPOINT_SCHEMES = ("tcp://", "ipc://", "inproc://")


def read_connection(conn):
    """(dict, path) for a connection: the path of a connection file, a dict
    with "control" (and "diagnostics"), or a control endpoint
    ("tcp://host:port"; the diagnostics endpoint then comes from hello)."""
    if isinstance(conn, dict):
        if "control" not in conn:
            raise ValueError("a connection needs a control endpoint")
        return dict(conn), None
    conn = os.fspath(conn)
    if conn.startswith(ENDPOINT_SCHEMES):
        return {"control": conn}, None
    with open(conn) as f:
        data = json.load(f)
    if not isinstance(data, dict) or not isinstance(data.get("control"), str):
        raise ValueError("%s is not a steerd connection file" % conn)
    return data, conn


def load_keys(key, server_key, conn):
    """(public, secret, server public) for CURVE, or None without a key.
    key: the client's secret key file (czmq format: `steerd keygen`);
    server_key: the server's public key as Z85 text or a .key file, by
    default the connection file's "server_key"."""
    if key is None:
        return None
    import zmq.auth
    public, secret = zmq.auth.load_certificate(os.fspath(key))
    if secret is None:
        raise ValueError("%s holds no secret key" % key)
    if server_key is None:
        server_key = conn.get("server_key")
        if server_key is None:
            raise ValueError("no server key: the connection has no server_key "
                             "(is security on?); pass server_key=")
    if isinstance(server_key, bytes):
        server_key = server_key.decode()
    if len(server_key) != 40 or os.path.exists(server_key):
        server_key = zmq.auth.load_certificate(server_key)[0].decode()
    return public, secret, server_key.encode()


def header(cmd, rid, client, reads, retry_key=None):
    """A request header; writes carry a retry_key (PROTOCOL.md, "Retrying writes")."""
    h = {"cmd": cmd, "id": rid, "client": client, "protocol": PROTOCOL}
    if retry_key or cmd not in reads:
        h["retry_key"] = retry_key or uuid.uuid4().hex
    return h


def request_frames(h, body):
    """The frames a DEALER sends: the empty delimiter, header, body."""
    return [b"", json.dumps(h).encode(), json.dumps(body if body is not None else {}).encode()]


def parse_reply(frames):
    """(header, body, extra frames) of a reply a DEALER received, or None
    for a shape PROTOCOL.md does not promise (ignored)."""
    if len(frames) < 3 or frames[0] != b"":
        return None
    try:
        h, body = json.loads(frames[1]), json.loads(frames[2])
    except ValueError:
        return None
    if not isinstance(h, dict) or not isinstance(body, dict):
        return None
    return h, body, frames[3:]


def result(cmd, h, body):
    """The body of an ok reply; an error reply raises its SteerdError."""
    if h.get("ok") is not True:
        raise error_for(cmd, body)
    return body


# ------------------------------------------------------------------ stream


class Message:
    """A stream message: .topic, .header (JSON), .values: {name: float} for
    `scalars`, a numpy float64 array for `array.NAME`, None for events and
    heartbeats. .lost: messages of this topic lost just before it (0: none;
    None: some, how many is unknown: the first message after a late join
    showed one missing). Unpacks as (topic, header, values)."""
    __slots__ = ("topic", "header", "values", "lost")

    def __init__(self, topic, header, values, lost=0):
        self.topic, self.header, self.values, self.lost = topic, header, values, lost

    def __iter__(self):
        return iter((self.topic, self.header, self.values))

    def __getitem__(self, i):
        return (self.topic, self.header, self.values)[i]

    def __len__(self):
        return 3

    seq = property(lambda self: self.header.get("seq"))
    topic_seq = property(lambda self: self.header.get("topic_seq"))
    step = property(lambda self: self.header.get("step"))
    time = property(lambda self: self.header.get("time"))
    event = property(lambda self: self.header.get("event"))

    @property
    def name(self):
        """The array's or event's name ("phi" for array.phi)."""
        return self.topic.split(".", 1)[1] if "." in self.topic else self.topic

    def __repr__(self):
        return "Message(%r, step=%s, seq=%s%s)" % (
            self.topic, self.step, self.seq, "" if not self.lost else ", lost=%s" % self.lost)


def decode_message(frames):
    """A Message from the frames of the SUB socket, or None for a malformed one."""
    if len(frames) < 2:
        return None
    try:
        topic = frames[0].decode("ascii")
        h = json.loads(frames[1])
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(h, dict):
        return None
    values = None
    if len(frames) > 2:  # scalars and array.*: little-endian float64
        data = np.frombuffer(frames[2], dtype="<f8")
        if topic == "scalars":
            values = dict(zip(h.get("names", []), data.tolist()))
        else:
            values = data.astype(np.float64)  # a writable copy, native order
    return Message(topic, h, values)


class Topics:
    """The topics a stream wants, named explicitly, so that `phi` is never
    taken for `array.phi` nor `array.phi` for `array.phi2`:

    scalars: True, or the names to keep (each `scalars` message's values are
    narrowed to them); arrays: names of array diagnostics (topic array.NAME)
    or True for all; events: event names (topic event.NAME) or True for all;
    heartbeats: bool; topics: exact topic names ("scalars", "heartbeat",
    "array.phi", "event.knob_changed"; "array.*" and "event.*" for all).

    ZeroMQ subscriptions are prefixes: a message is delivered only when its
    topic is one of these exactly (or matches a "*")."""

    def __init__(self, scalars=None, arrays=None, events=None, heartbeats=False, topics=(),
                 diagnostics=None):
        self.exact, self.prefixes, self.scalar_names = set(), set(), None
        for t in topics:
            self._add(t, diagnostics)
        if scalars:
            self.exact.add("scalars")
            if scalars is not True:
                names = [scalars] if isinstance(scalars, str) else list(scalars)
                self._check(names, diagnostics, 0, "scalars")
                self.scalar_names = names
        if arrays:
            if arrays is True:
                self.prefixes.add("array.")
            else:
                names = [arrays] if isinstance(arrays, str) else list(arrays)
                self._check(names, diagnostics, 1, "arrays")
                self.exact.update("array." + n for n in names)
        if events:
            if events is True:
                self.prefixes.add("event.")
            else:
                names = [events] if isinstance(events, str) else list(events)
                for n in names:
                    if n.startswith("event."):
                        raise ValueError("events=[%r]: give the event's name, %r" % (n, n[6:]))
                self.exact.update("event." + n for n in names)
        if heartbeats:
            self.exact.add("heartbeat")
        if not self.exact and not self.prefixes:
            raise ValueError("no topic: give scalars=, arrays=, events=, heartbeats= or topics")

    def _add(self, t, diagnostics):
        if t in ("scalars", "heartbeat"):
            self.exact.add(t)
        elif t in ("array.*", "event.*"):
            self.prefixes.add(t[:-1])
        elif t.startswith("array.") and len(t) > 6:
            self._check([t[6:]], diagnostics, 1, "topic")
            self.exact.add(t)
        elif t.startswith("event.") and len(t) > 6:
            self.exact.add(t)
        else:
            hint = ""
            if diagnostics and t in diagnostics:
                hint = (" (%s is %s: arrays=[%r])" % (t, "an array", t) if diagnostics[t] == 1
                        else " (%s is a scalar: scalars=[%r])" % (t, t))
            raise ValueError("%r is not a topic: topics are scalars, heartbeat, array.NAME, "
                             "event.NAME, array.*, event.*%s" % (t, hint))

    @staticmethod
    def _check(names, diagnostics, rank, what):
        if diagnostics is None:
            return
        for n in names:
            if n not in diagnostics:
                raise ValueError("%s: no diagnostic %r" % (what, n))
            if diagnostics[n] != rank:
                raise ValueError("%s: %r is %s" % (what, n, "a scalar (scalars=)" if rank else
                                                   "an array (arrays=)"))

    def subscriptions(self):
        """The ZeroMQ prefixes to subscribe to."""
        return sorted(self.exact | self.prefixes)

    def wants(self, topic):
        return topic in self.exact or any(topic.startswith(p) for p in self.prefixes)

    def narrow(self, m):
        if m.topic == "scalars" and self.scalar_names is not None and m.values is not None:
            m.values = {n: m.values.get(n) for n in self.scalar_names}
        return m


class SeqTracker:
    """Gap detection with the stream's sequence numbers (PROTOCOL.md,
    "Sequence numbers"): sets each message's .lost from its topic's
    topic_seq; after join(snapshot_seq), drops messages the snapshot already
    covers and flags a topic whose first message shows one missed."""

    def __init__(self):
        self.last = {}          # topic -> topic_seq of the last message
        self.joined = None      # seq of the snapshot joined at, or None
        self.lost = {}          # topic -> messages lost so far (None: unknown)
        self.last_seq = None

    def reset(self):
        """A new daemon process: every counter starts again."""
        self.last.clear()
        self.last_seq = None

    def join(self, seq):
        self.joined = seq
        self.last.clear()

    def observe(self, m):
        """False when m is to be dropped (covered by the snapshot)."""
        seq, ts, prev = m.header.get("seq"), m.header.get("topic_seq"), m.header.get("prev_seq")
        if not isinstance(seq, int) or not isinstance(ts, int):
            return True
        if self.last_seq is not None and seq < self.last_seq:
            self.reset()  # seq never goes back within a process: a restarted daemon
        self.last_seq = seq
        if self.joined is not None and seq <= self.joined:
            return False
        before = self.last.get(m.topic)
        if before is not None:
            m.lost = max(0, ts - before - 1)
        elif self.joined is not None and isinstance(prev, int) and prev > self.joined:
            m.lost = None
        self.last[m.topic] = ts
        if m.lost != 0:
            old = self.lost.get(m.topic, 0)
            self.lost[m.topic] = None if old is None or m.lost is None else old + m.lost
        return True


# ------------------------------------------------------------------ history

_DTYPES = {"<u8": np.dtype("<u8"), "<f8": np.dtype("<f8")}


class History:
    """A `history` reply as numpy arrays (PROTOCOL.md, `history`).

    h.step, h.seq, h.count: uint64 arrays of the points; h["NAME"]: the
    first stat asked for ("mean" by default) of NAME at each point;
    h["NAME.min"] etc.: the others; h.stats["NAME"]: the [points, stats]
    array. h.markers (steering journal entries), h.stretches, h.reply (the
    whole body). h.to_pandas(): a DataFrame with the same columns."""

    def __init__(self, body, frames):
        self.reply = body
        specs = body.get("frames", [])
        if len(specs) != len(frames):
            raise ValueError("history: %d frames announced, %d received" % (len(specs), len(frames)))
        arrays = {}
        for spec, data in zip(specs, frames):
            dt = _DTYPES.get(spec.get("dtype"))
            if dt is None:
                raise ValueError("history: unknown dtype %r" % spec.get("dtype"))
            arrays[spec["name"]] = np.frombuffer(data, dtype=dt).reshape(spec["shape"]).copy()
        self.step, self.seq, self.count = arrays["step"], arrays["seq"], arrays["count"]
        self.names = list(body.get("names", []))
        self.stat_names = list(body.get("stats", ["mean"]))
        self.units = {s["name"]: s.get("unit", "") for s in specs if "unit" in s}
        self.stats = {n: arrays[n] for n in self.names}
        self.markers = body.get("markers", [])
        self.stretches = body.get("stretches", [])
        self.next_seq = body.get("next_seq")

    def columns(self):
        cols = {"step": self.step, "seq": self.seq, "count": self.count}
        for n in self.names:
            for k, s in enumerate(self.stat_names):
                cols[n if k == 0 else "%s.%s" % (n, s)] = self.stats[n][:, k]
        return cols

    def __getitem__(self, key):
        return self.columns()[key]

    def __len__(self):
        return len(self.step)

    def to_pandas(self):
        import pandas
        df = pandas.DataFrame(self.columns())
        df.attrs.update(markers=self.markers, stretches=self.stretches, units=self.units,
                        next_seq=self.next_seq)
        return df

    def __repr__(self):
        return "History(%d points of %s)" % (len(self), ", ".join(self.names))
