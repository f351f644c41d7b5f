# SPDX-License-Identifier: MIT
"""steer_client.py — a small steerd client in Python, written from PROTOCOL.md
alone (pyzmq and the standard library; Debian: python3-zmq).

As a library:

    from steer_client import SteerClient
    with SteerClient("build/diode.json", name="me") as s:
        print(s.get("injected_current", "virtual_cathode"))
        s.set(injected_current=1500)
        for topic, header, values in s.stream("scalars", count=3):
            print(header["step"], values["j_transmitted"])
        r = s.search("injected_current", 100, 300, until="virtual_cathode", hold=8431, tol=0.01)
        print(r["result"])

A daemon that dies, hangs or restarts is survived. A request not answered
within `timeout` s is sent again on a fresh socket (re-reading the connection
file, in case a restarted daemon has new ports), up to `attempts` times with a
growing pause in between. Writes (every command but the reads hello, status,
params, get, ramps and snapshot) carry a `retry_key`, the same on every
attempt, so steerd applies a write once however many copies of it arrive
(PROTOCOL.md, "Retrying writes").

    s = SteerClient("build/diode.json", watch=True)   # heartbeats, in the background
    s.alive      # False once no heartbeat came for heartbeat_misses (3) periods

`alive` without `watch` sends a `status` with a short timeout instead.

From the shell (python3 steer_client.py -h):

    python3 steer_client.py -C conn.json get injected_current virtual_cathode
    python3 steer_client.py -C conn.json set injected_current=150 anode_voltage=0
    python3 steer_client.py -C conn.json search injected_current 100 300 \\
        --until virtual_cathode --hold 8431 --tol 0.01
    python3 steer_client.py -C conn.json call snapshot-state '{"name": "before"}'
    python3 steer_client.py -C conn.json watch      # "daemon not responding" / "daemon back"

Exit status: 0 on success, 1 when steerd refused a request (the error code
and message go to stderr) or did not answer, 2 for a usage error, 130 on
Ctrl-C (0 for `watch`, which runs until Ctrl-C or --seconds).
"""
import argparse
import itertools
import json
import struct
import sys
import threading
import time
import uuid

import zmq
import zmq.auth

__all__ = ["SteerClient", "SteerError"]

PROTOCOL = 1

# The commands that only read (`changes: false` in hello): sent again as they
# are. Every other command changes the run and carries a retry_key.
READS = frozenset(("hello", "status", "params", "get", "ramps", "snapshot"))

# While the daemon is silent, the connection file is read again after these
# pauses (doubling from the first to the second).
RELOAD_BACKOFF = (0.25, 5.0)


class SteerError(Exception):
    """An error reply: .code (e.g. "out_of_range", "bad_state") and .message."""

    def __init__(self, cmd, code, message):
        Exception.__init__(self, "%s failed: %s (%s)" % (cmd, message, code))
        self.cmd, self.code, self.message = cmd, code, message


class SteerClient:
    """One connection to a run: a DEALER on `control`, a SUB on `diagnostics`.

    conn: the path of the connection file steerd wrote (`-C` / `--connection-file`),
    or a dict with `control` and `diagnostics` endpoints (then a daemon that
    comes back on other ports cannot be followed).
    """

    def __init__(self, conn, name="steer_client.py", timeout=10.0, context=None, key=None,
                 attempts=3, backoff=0.5, watch=False, heartbeat_misses=3, heartbeat_ms=None):
        """key: the client's secret key file (czmq format, e.g. from
        `steerd keygen`) when the run has security on; the server's public
        key comes from the connection file ("server_key").

        timeout: seconds to wait for each reply; attempts: how many times a
        request is sent in all before TimeoutError; backoff: the pause
        before the second attempt, doubled for each further one (at most 5 s).

        watch: watch heartbeats in a background thread from the start (see
        watch()); heartbeat_misses: how many heartbeat periods may pass
        without one before the daemon counts as not responding;
        heartbeat_ms: the daemon's period (diagnostics.heartbeat_ms), by
        default measured from the heartbeats themselves."""
        self.conn_path = conn if isinstance(conn, str) else None
        if self.conn_path:
            with open(self.conn_path) as f:
                conn = json.load(f)
        # Replaced (never changed in place) when the connection file is read
        # again; _conn_gen counts the changes of endpoints or server key. The
        # heartbeat thread reads both.
        self.endpoints = conn
        self._conn_gen = 0
        self._reload_lock = threading.Lock()
        self.name = name
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.heartbeat_misses = heartbeat_misses
        self.heartbeat_ms = heartbeat_ms
        self.ctx = context or zmq.Context.instance()
        self.curve = self._keys = None
        if key:
            public, secret = zmq.auth.load_certificate(key)
            if secret is None:
                raise ValueError("%s holds no secret key" % key)
            if "server_key" not in conn:
                raise ValueError("the connection file has no server_key: is security on?")
            self._keys = (public, secret)
            self.curve = (public, secret, conn["server_key"].encode())
        self.ctl = self.sub = None
        self._topics = []  # the stream subscriptions, made again on a new SUB
        self._pending = []  # stream messages received while subscribing
        self._ids = itertools.count(1)
        self._replies = {}  # replies that arrived while waiting for another id
        self._open_control()
        self._heartbeats = None
        if watch:
            try:
                self.watch()
            except BaseException:  # e.g. Ctrl-C while waiting: no thread left behind
                self.close()
                raise

    def _socket(self, kind):
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if self.curve:
            sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = self.curve
        return sock

    def _open_control(self):
        if self.ctl is not None:
            self.ctl.close(0)
        self._ctl_gen = self._conn_gen
        self.ctl = self._socket(zmq.DEALER)
        self.ctl.connect(self.endpoints["control"])
        self._replies.clear()

    def _open_stream(self):
        """A new SUB with all our subscriptions, live when this returns (see _sync_stream)."""
        if self.sub is not None:
            self.sub.close(0)
        self._sub_gen = self._conn_gen
        self.sub = self._socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 0)
        self.sub.connect(self.endpoints["diagnostics"])
        for t in self._topics:
            self.sub.setsockopt(zmq.SUBSCRIBE, t.encode())
        self._sync_stream()

    def _reload(self):
        """Read the connection file again: a restarted daemon rewrites it,
        maybe with new ports. True when the endpoints or the server key
        changed. A missing or unreadable file changes nothing."""
        if self.conn_path is None:
            return False
        try:
            with open(self.conn_path) as f:
                conn = json.load(f)
            where = (conn["control"], conn["diagnostics"], conn.get("server_key"))
        except (OSError, ValueError, KeyError, TypeError):
            return False
        with self._reload_lock:
            old = self.endpoints
            if where == (old["control"], old["diagnostics"], old.get("server_key")):
                self.endpoints = conn  # the pid may be new
                return False
            if self._keys and conn.get("server_key"):
                self.curve = self._keys + (conn["server_key"].encode(),)
            self.endpoints = conn
            self._conn_gen += 1  # last: whoever sees it also sees the new endpoints
            return True

    def _follow(self):
        """Move our sockets to the endpoints of the connection file, when they changed."""
        if self._ctl_gen != self._conn_gen:
            self._open_control()
        if self.sub is not None and self._sub_gen != self._conn_gen:
            self._open_stream()

    def reconnect(self):
        """Fresh sockets, as after a timeout: a new DEALER (so a late reply to
        a request given up on can never pass for a newer one's), and the
        connection file read again; the SUB moves only if the endpoints did
        (a SUB reconnects by itself to a daemon back on the same ones)."""
        self._reload()
        self._open_control()
        self._follow()

    # ---------------------------------------------------------------- basics

    def close(self):
        if self._heartbeats is not None:
            self._heartbeats.stopping.set()
            self._heartbeats.join(2.0)
            self._heartbeats = None
        for s in (self.ctl, self.sub):
            if s is not None:
                s.close(0)
        self.ctl = self.sub = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _header(self, cmd, retry_key=None):
        header = {"cmd": cmd, "id": next(self._ids), "client": self.name, "protocol": PROTOCOL}
        if retry_key or cmd not in READS:
            # steerd remembers it per client name (ours is fixed), with its reply.
            header["retry_key"] = retry_key or uuid.uuid4().hex
        return header

    def _send(self, header, body):
        self._follow()
        # A DEALER sends the empty delimiter frame itself.
        self.ctl.send_multipart([b"", json.dumps(header).encode(),
                                 json.dumps(body if body is not None else {}).encode()])
        return header["id"]

    def send(self, cmd, body=None):
        """Send a request without waiting; returns its id (for poll_reply)."""
        return self._send(self._header(cmd), body)

    def poll_reply(self, rid, timeout):
        """(header, body) of reply `rid` if it comes within timeout s, else None."""
        if rid in self._replies:
            return self._replies.pop(rid)
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            left = deadline - time.monotonic()
            if not self.ctl.poll(max(0, int(left * 1000))):
                return None
            frames = self.ctl.recv_multipart()
            if len(frames) != 3 or frames[0] != b"":
                continue  # not a reply shape PROTOCOL.md promises: ignore it
            header, body = json.loads(frames[1]), json.loads(frames[2])
            if header.get("id") == rid:
                return header, body
            self._replies[header.get("id")] = (header, body)

    @staticmethod
    def _result(cmd, header, body):
        if header.get("ok") is not True:
            err = body.get("error", {}) if isinstance(body, dict) else {}
            raise SteerError(cmd, err.get("code", "?"), err.get("message", "malformed reply"))
        return body

    def _pause(self, attempt):
        """The pause after failed attempt number `attempt` (1, 2, ...)."""
        return min(self.backoff * 2 ** (attempt - 1), 5.0)

    def call(self, cmd, body=None, timeout=None, attempts=None, retry_key=None):
        """One request; its result body. An error reply raises SteerError.

        No reply within timeout s (default self.timeout): the request is sent
        again, the very same (id, and retry_key for a write), on a fresh
        socket, up to `attempts` times in all (default self.attempts); then
        TimeoutError. retry_key: your own key for a write (1-64 printable
        bytes), e.g. one kept across restarts of your program; by default a
        new uuid4 for each call of a write."""
        timeout = self.timeout if timeout is None else timeout
        attempts = self.attempts if attempts is None else max(1, attempts)
        header = self._header(cmd, retry_key)
        for attempt in range(1, attempts + 1):
            self._send(header, body)
            got = self.poll_reply(header["id"], timeout)
            if got is not None:
                return self._result(cmd, *got)
            self.reconnect()
            if attempt < attempts:
                time.sleep(self._pause(attempt))
        raise TimeoutError("%s: no reply from steerd within %d x %g s" % (cmd, attempts, timeout))

    # ---------------------------------------------------------------- liveness

    def ping(self, timeout=1.0):
        """True when steerd answers a `status` within timeout s (one attempt;
        a miss leaves fresh sockets behind, as any timeout does)."""
        try:
            self.call("status", timeout=timeout, attempts=1)
        except TimeoutError:
            return False
        except SteerError:
            pass  # an answer all the same (e.g. a revoked key)
        return True

    def watch(self):
        """Watch steerd's heartbeats from now on, in a background thread with
        a SUB socket of its own (so the timing does not depend on when the
        program reads the stream). Returns once the heartbeat period is known
        (from two heartbeats, or heartbeat_ms), or the daemon has been
        silent too long."""
        if self._heartbeats is None:
            self._heartbeats = hb = _Heartbeats(self)
            hb.start()
            while (hb.last is None or not (hb.period or self.heartbeat_ms)) and hb.alive():
                time.sleep(0.01)
        return self

    @property
    def alive(self):
        """Whether steerd is responding. With watch(): a heartbeat came within
        the last heartbeat_misses periods (a stopped, hung or dead daemon
        publishes none, though its TCP connections may stay up; while they
        are missing the connection file is read again with backoff, and the
        sockets follow a daemon restarted on new ports). Without: ping(),
        which waits up to 1 s."""
        if self._heartbeats is None:
            return self.ping()
        return self._heartbeats.alive()

    @property
    def heartbeat_age(self):
        """Seconds since the last heartbeat (since watch() began if none came
        yet); None when not watching."""
        return None if self._heartbeats is None else self._heartbeats.silence()

    @property
    def silence_limit(self):
        """Seconds without a heartbeat after which `alive` is False; None when not watching."""
        return None if self._heartbeats is None else self._heartbeats.limit()

    @property
    def last_heartbeat(self):
        """The header of the last heartbeat (`step`, `time`, `state`, ...), or None."""
        return None if self._heartbeats is None else self._heartbeats.header

    # ---------------------------------------------------------------- commands

    def hello(self):
        return self.call("hello")

    def status(self):
        return self.call("status")

    def get(self, *names):
        """Knobs and scalar diagnostics: {name: value} (None when not computed yet)."""
        return self.call("get", {"names": list(names)})["values"]

    def set(self, values=None, **kw):
        """Set runtime knobs atomically at one boundary; returns the reply
        ({"step": S, "applied": {...}})."""
        values = dict(values or {}, **kw)
        return self.call("set", {"values": values})

    # ---------------------------------------------------------------- stream

    def subscribe(self, *topics):
        """Subscribe to topic prefixes ("scalars", "event.", "array.phi", "" for
        all). Waits (at most 3 s) for a heartbeat, so that steerd has seen the
        subscription when this returns: messages published after it arrive.
        The subscriptions are made again when the stream moves to a daemon
        restarted on new ports (one on the same ports gets them from ZeroMQ)."""
        self._topics += [t for t in topics if t not in self._topics]
        if self.sub is None or self._sub_gen != self._conn_gen:
            self._open_stream()
            return
        for t in topics:
            self.sub.setsockopt(zmq.SUBSCRIBE, t.encode())
        self._sync_stream()

    def _sync_stream(self):
        # A heartbeat after our subscriptions, on the same connection, proves
        # they arrived (heartbeat_ms is 1 s by default). Messages of our
        # topics received meanwhile are kept for recv().
        hb_wanted = any("heartbeat".startswith(t) for t in self._topics)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            m = self._recv_stream(deadline - time.monotonic())
            if m is None:
                break
            if m[0] == "heartbeat":
                if hb_wanted:
                    self._pending.append(m)
                break
            self._pending.append(m)
        if not hb_wanted:
            self.sub.setsockopt(zmq.UNSUBSCRIBE, b"heartbeat")

    def _recv_stream(self, timeout):
        if self.sub is None:
            return None
        self._follow()
        if not self.sub.poll(max(0, int(timeout * 1000))):
            return None
        frames = self.sub.recv_multipart()
        topic = frames[0].decode("ascii", "replace")
        header = json.loads(frames[1])
        values = None
        if len(frames) > 2:  # scalars and array.*: little-endian float64
            data = frames[2]
            floats = struct.unpack("<%dd" % (len(data) // 8), data)
            values = dict(zip(header["names"], floats)) if topic == "scalars" else list(floats)
        return topic, header, values

    def recv(self, timeout=None):
        """The next stream message: (topic, header, values) where values is
        {name: float} for scalars, a list for array.*, None otherwise; or None
        after timeout s."""
        if self._pending:
            return self._pending.pop(0)
        return self._recv_stream(self.timeout if timeout is None else timeout)

    def stream(self, *topics, count=None, seconds=None):
        """Iterate over stream messages of these topics (subscribing first)."""
        self.subscribe(*topics)
        end = None if seconds is None else time.monotonic() + seconds
        n = 0
        while (count is None or n < count) and (end is None or time.monotonic() < end):
            m = self.recv(0.5 if end is None else max(0.0, min(0.5, end - time.monotonic())))
            if m is None:
                continue
            if m[0] == "heartbeat" and not any("heartbeat".startswith(t) for t in topics):
                continue
            n += 1
            yield m

    # ---------------------------------------------------------------- search

    def search(self, knob, lo, hi, until, hold=None, hold_time=None, tol=None, max_steps=None,
               progress=None, stall=None):
        """Run the daemon's `search` (PROTOCOL.md): the largest value of knob
        in [lo, hi] for which `until` stays false. Returns the reply body
        (`result`, `bracket`, `converged`, `steps`, `probes`, ...).

        progress(header) is called for each search_probe event. The reply can
        take minutes: it is waited for as long as steerd shows signs of life
        (stream messages, or a reply to `status` when the stream is quiet for
        2 s). After `stall` s without either (default self.timeout) the
        search is sent again on fresh sockets with the same retry_key (a
        daemon still running it answers when it ends, one that finished it
        sends its reply again; a restarted daemon starts it afresh), up to
        self.attempts times in a row; then TimeoutError. Ctrl-C
        (KeyboardInterrupt) cancels the search in the daemon, waits for it to
        end and re-raises."""
        body = {"knob": knob, "from": lo, "to": hi, "until": until}
        for k, v in (("hold", hold), ("hold_time", hold_time), ("tol", tol),
                     ("max_steps", max_steps)):
            if v is not None:
                body[k] = v
        stall = self.timeout if stall is None else stall
        self.subscribe("event.search_")
        header = self._header("search")
        rid = self._send(header, body)
        attempt = 1
        last_alive = time.monotonic()
        ping = None  # (id, sent) of a status request while the stream is quiet
        try:
            while True:
                got = self.poll_reply(rid, 0)
                if got is not None:
                    # The stream may deliver the last probes after the reply
                    # (another socket): read on to search_finished, bounded.
                    # A search that never started (an argument error) has none.
                    ran = got[0].get("ok") or got[1].get("error", {}).get("code") == "refused"
                    deadline = time.monotonic() + (2.0 if ran and progress else 0.0)
                    while time.monotonic() < deadline:
                        m = self.recv(0.05)
                        if m is None:
                            continue
                        if m[0] == "event.search_probe" and m[1].get("knob") == knob and progress:
                            progress(m[1])
                        if m[0] == "event.search_finished" and m[1].get("knob") == knob:
                            break
                    return self._result("search", *got)
                if ping is not None and self.poll_reply(ping[0], 0) is not None:
                    ping, last_alive, attempt = None, time.monotonic(), 1
                now = time.monotonic()
                if ping is None and now - last_alive > 2.0:
                    ping = (self.send("status"), now)
                if ping is not None and now - ping[1] > stall:
                    self.reconnect()
                    if attempt == self.attempts:
                        raise TimeoutError("search: steerd stopped answering")
                    time.sleep(self._pause(attempt))
                    attempt += 1
                    self._send(header, body)
                    ping, last_alive = None, time.monotonic()
                poller = zmq.Poller()  # made anew: reconnect() replaces the sockets
                poller.register(self.ctl, zmq.POLLIN)
                poller.register(self.sub, zmq.POLLIN)
                poller.poll(200)
                while True:
                    m = self.recv(0)
                    if m is None:
                        break
                    last_alive = time.monotonic()
                    if m[0] == "event.search_probe" and m[1].get("knob") == knob and progress:
                        progress(m[1])
        except KeyboardInterrupt:
            self.send("cancel", {"search": True})
            self.poll_reply(rid, 60.0)  # refused, "cancelled": back in the last good state
            raise


class _Heartbeats(threading.Thread):
    """Notes when each heartbeat arrives, on a SUB socket of its own. While
    they are missing, reads the connection file again now and then (with
    backoff), so that a daemon restarted on new ports is found: the client's
    sockets and this one move there."""

    def __init__(self, client):
        threading.Thread.__init__(self, name="steerd-heartbeats", daemon=True)
        self.client = client
        self.stopping = threading.Event()
        self.started = time.monotonic()
        self.last = None  # time.monotonic() of the newest heartbeat
        self.header = None  # and its header
        self.period = None  # the usual gap between two heartbeats, s (measured)
        self._gaps = []

    def limit(self):
        ms = self.client.heartbeat_ms
        period = ms / 1000.0 if ms else self.period or 1.0  # steerd's default: 1000 ms
        return self.client.heartbeat_misses * period

    def silence(self):
        return time.monotonic() - (self.started if self.last is None else self.last)

    def alive(self):
        return self.silence() <= self.limit()

    def _beat(self, header):
        now = time.monotonic()
        if self.last is not None and now - self.last > self.limit():
            # Back after a silence: read the connection file before saying so,
            # and forget the period if it is another daemon (another pid).
            pid = self.client.endpoints.get("pid")
            self.client._reload()
            if self.client.endpoints.get("pid") != pid:
                self._gaps, self.period, self.last = [], None, None
        if self.last is not None:
            # The median of the last 8 gaps: neither a silence nor a burst moves it.
            self._gaps = (self._gaps + [now - self.last])[-8:]
            self.period = max(sorted(self._gaps)[(len(self._gaps) - 1) // 2], 0.01)
        self.header = header
        self.last = now

    def run(self):
        sock, gen = None, None
        pause, reload_at = RELOAD_BACKOFF[0], 0.0
        try:
            while not self.stopping.is_set():
                if gen != self.client._conn_gen:
                    if sock is not None:
                        sock.close(0)
                    gen = self.client._conn_gen
                    sock = self.client._socket(zmq.SUB)
                    sock.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
                    sock.connect(self.client.endpoints["diagnostics"])
                if sock.poll(100):
                    # All that is queued counts as one heartbeat, received now:
                    # a backlog (this process was held up) is not a fast daemon.
                    header = None
                    while sock.poll(0):
                        frames = sock.recv_multipart()
                        if frames[0] == b"heartbeat" and len(frames) >= 2:
                            try:
                                header = json.loads(frames[1])
                            except ValueError:
                                header = {}
                    if header is not None:
                        self._beat(header)
                    pause = RELOAD_BACKOFF[0]
                elif not self.alive() and time.monotonic() >= reload_at:
                    self.client._reload()
                    reload_at = time.monotonic() + pause
                    pause = min(2 * pause, RELOAD_BACKOFF[1])
        finally:
            if sock is not None:
                sock.close(0)


# -------------------------------------------------------------------- CLI


def _print_probe(h):
    bracket = "[%s, %s]" % (_num(h.get("good")), _num(h.get("bad_value")))
    print("probe %s: %s = %s %s after %s steps; bracket %s; %s steps in all" % (
        h.get("probes"), h.get("knob"), _num(h.get("value")), "bad " if h.get("bad") else "good",
        h.get("steps"), bracket, h.get("total_steps")), file=sys.stderr, flush=True)


def _num(v):
    return "?" if v is None else "%.6g" % v


def _value(text):
    """A knob value as typed: a JSON literal (150, 1.5e3, true) or a choice name."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _watch(cl, seconds):
    """Print a line when the daemon stops responding and when it is back,
    until Ctrl-C or `seconds` have passed."""
    end = None if seconds is None else time.monotonic() + seconds
    was, silent_since = None, None
    try:
        while end is None or time.monotonic() < end:
            alive = cl.alive
            if alive != was:
                hb = cl.last_heartbeat or {}
                if alive:
                    line = "daemon %s: pid %s, step %s, %s" % (
                        "alive" if was is None else "back", cl.endpoints.get("pid", "?"),
                        hb.get("step", "?"), hb.get("state", "?"))
                    if silent_since is not None:
                        line += " (silent for %.1f s)" % (time.monotonic() - silent_since)
                else:
                    age = cl.heartbeat_age
                    silent_since = time.monotonic() - age
                    line = "daemon not responding: no heartbeat for %.1f s" % age
                print("%s %s" % (time.strftime("%H:%M:%S"), line), flush=True)
                was = alive
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="steer_client.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("-C", "--connection-file", required=True, help="the run's connection file")
    ap.add_argument("--name", default="steer_client.py", help="client name shown in events")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="reply timeout of each attempt, s (default 10)")
    ap.add_argument("--attempts", type=int, default=3,
                    help="send a request this many times at most, on fresh sockets (default 3)")
    ap.add_argument("--key", help="this client's secret key file, when the run has security on")
    sp = ap.add_subparsers(dest="command", required=True)
    g = sp.add_parser("get", help="knobs and scalar diagnostics")
    g.add_argument("names", nargs="+")
    s = sp.add_parser("set", help="set knobs atomically: NAME=VALUE ... or NAME VALUE ...")
    s.add_argument("values", nargs="+")
    c = sp.add_parser("call", help="any command with a JSON body")
    c.add_argument("cmd")
    c.add_argument("body", nargs="?", default="{}")
    r = sp.add_parser("search", help="the largest KNOB in [FROM, TO] with CONDITION false")
    r.add_argument("knob")
    r.add_argument("lo", type=float, metavar="FROM")
    r.add_argument("hi", type=float, metavar="TO")
    r.add_argument("--until", required=True, help='NAME, or "NAME OP NUMBER"')
    r.add_argument("--hold", type=int, help="steps a probe must stay good (default 2000)")
    r.add_argument("--hold-time", type=float, help="or that many simulated seconds")
    r.add_argument("--tol", type=float, help="relative width of the final bracket (0.01)")
    r.add_argument("--max-steps", type=int, help="give up after this many simulated steps")
    r.add_argument("--json", action="store_true", help="print the reply body as one JSON line")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    w = sp.add_parser("watch", help='print "daemon not responding" / "daemon back" lines '
                                    "from the heartbeats, until Ctrl-C")
    w.add_argument("--misses", type=int, default=3,
                   help="heartbeat periods without one before 'not responding' (default 3)")
    w.add_argument("--heartbeat-ms", type=float,
                   help="the daemon's heartbeat_ms (default: measured)")
    w.add_argument("--seconds", type=float, help="stop after this long")
    a = ap.parse_args(argv)
    if a.attempts < 1 or getattr(a, "misses", 1) < 1:
        ap.error("--attempts and --misses must be at least 1")

    try:
        with SteerClient(a.connection_file, name=a.name, timeout=a.timeout, key=a.key,
                         attempts=a.attempts, watch=a.command == "watch",
                         heartbeat_misses=getattr(a, "misses", 3),
                         heartbeat_ms=getattr(a, "heartbeat_ms", None)) as cl:
            if a.command == "get":
                for k, v in cl.get(*a.names).items():
                    print("%s = %s" % (k, json.dumps(v)))
            elif a.command == "set":
                vals, words = {}, list(a.values)
                while words:
                    w = words.pop(0)
                    if "=" in w:
                        k, v = w.split("=", 1)
                    elif words:
                        k, v = w, words.pop(0)
                    else:
                        ap.error("set: %s has no value" % w)
                    vals[k] = _value(v)
                rep = cl.set(vals)
                print("applied at step %d: %s" % (rep["step"], json.dumps(rep["applied"])))
            elif a.command == "call":
                print(json.dumps(cl.call(a.cmd, json.loads(a.body)), indent=2))
            elif a.command == "watch":
                return _watch(cl, a.seconds)
            else:
                rep = cl.search(a.knob, a.lo, a.hi, a.until, hold=a.hold, hold_time=a.hold_time,
                                tol=a.tol, max_steps=a.max_steps,
                                progress=None if a.quiet else _print_probe)
                if a.json:
                    print(json.dumps(rep))
                else:
                    print("result:  %s = %.6g (%s)" % (rep["knob"], rep["result"],
                                                      "converged" if rep["converged"]
                                                      else "NOT converged"))
                    print("bracket: [%s, %s]" % tuple(_num(v) for v in rep["bracket"]))
                    print("steps:   %d simulated in %d probes; the run is at step %d"
                          % (rep["steps"], len(rep["probes"]), rep["step"]))
    except SteerError as e:
        print("steer_client.py: %s" % e, file=sys.stderr)
        return 1
    except (TimeoutError, OSError, ValueError) as e:
        print("steer_client.py: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("steer_client.py: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
