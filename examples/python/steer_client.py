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

From the shell (python3 steer_client.py -h):

    python3 steer_client.py -C conn.json get injected_current virtual_cathode
    python3 steer_client.py -C conn.json set injected_current=150 anode_voltage=0
    python3 steer_client.py -C conn.json search injected_current 100 300 \\
        --until virtual_cathode --hold 8431 --tol 0.01
    python3 steer_client.py -C conn.json call snapshot-state '{"name": "before"}'

Exit status: 0 on success, 1 when steerd refused a request (the error code
and message go to stderr), 2 for a usage error, 130 on Ctrl-C.
"""
import argparse
import itertools
import json
import struct
import sys
import time

import zmq
import zmq.auth

__all__ = ["SteerClient", "SteerError"]

PROTOCOL = 1


class SteerError(Exception):
    """An error reply: .code (e.g. "out_of_range", "bad_state") and .message."""

    def __init__(self, cmd, code, message):
        Exception.__init__(self, "%s failed: %s (%s)" % (cmd, message, code))
        self.cmd, self.code, self.message = cmd, code, message


class SteerClient:
    """One connection to a run: a DEALER on `control`, a SUB on `diagnostics`.

    conn: the path of the connection file steerd wrote (`-C` / `--connection-file`),
    or a dict with `control` and `diagnostics` endpoints.
    """

    def __init__(self, conn, name="steer_client.py", timeout=10.0, context=None, key=None):
        """key: the client's secret key file (czmq format, e.g. from
        `steerd keygen`) when the run has security on; the server's public
        key comes from the connection file ("server_key")."""
        if isinstance(conn, str):
            with open(conn) as f:
                conn = json.load(f)
        self.endpoints = conn
        self.name = name
        self.timeout = timeout
        self.ctx = context or zmq.Context.instance()
        self.curve = None
        if key:
            public, secret = zmq.auth.load_certificate(key)
            if secret is None:
                raise ValueError("%s holds no secret key" % key)
            if "server_key" not in conn:
                raise ValueError("the connection file has no server_key: is security on?")
            self.curve = (public, secret, conn["server_key"].encode())
        self.ctl = self._socket(zmq.DEALER)
        self.ctl.connect(conn["control"])
        self.sub = None
        self._ids = itertools.count(1)
        self._replies = {}  # replies that arrived while waiting for another id

    def _socket(self, kind):
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if self.curve:
            sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = self.curve
        return sock

    # ---------------------------------------------------------------- basics

    def close(self):
        for s in (self.ctl, self.sub):
            if s is not None:
                s.close(0)
        self.ctl = self.sub = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, cmd, body=None):
        """Send a request without waiting; returns its id (for recv_reply)."""
        rid = next(self._ids)
        header = {"cmd": cmd, "id": rid, "client": self.name, "protocol": PROTOCOL}
        # A DEALER sends the empty delimiter frame itself.
        self.ctl.send_multipart([b"", json.dumps(header).encode(),
                                 json.dumps(body if body is not None else {}).encode()])
        return rid

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

    def call(self, cmd, body=None, timeout=None):
        """One request; its result body. An error reply raises SteerError,
        no reply within timeout (default self.timeout) raises TimeoutError."""
        rid = self.send(cmd, body)
        got = self.poll_reply(rid, self.timeout if timeout is None else timeout)
        if got is None:
            raise TimeoutError("%s: no reply from steerd within %g s" % (cmd, self.timeout))
        return self._result(cmd, *got)

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
        subscription when this returns: messages published after it arrive."""
        first = self.sub is None
        if first:
            self.sub = self._socket(zmq.SUB)
            self.sub.setsockopt(zmq.RCVHWM, 0)
            self.sub.connect(self.endpoints["diagnostics"])
        for t in topics:
            self.sub.setsockopt(zmq.SUBSCRIBE, t.encode())
        self._pending = getattr(self, "_pending", [])
        # A heartbeat after our subscriptions, on the same connection, proves
        # they arrived (heartbeat_ms is 1 s by default).
        hb_wanted = any("heartbeat".startswith(t) for t in topics)
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
        if self.sub is None or not self.sub.poll(max(0, int(timeout * 1000))):
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
        if getattr(self, "_pending", None):
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
        2 s; `stall` s without either raises TimeoutError, default
        self.timeout). Ctrl-C (KeyboardInterrupt) cancels the search in the
        daemon, waits for it to end and re-raises."""
        body = {"knob": knob, "from": lo, "to": hi, "until": until}
        for k, v in (("hold", hold), ("hold_time", hold_time), ("tol", tol),
                     ("max_steps", max_steps)):
            if v is not None:
                body[k] = v
        stall = self.timeout if stall is None else stall
        self.subscribe("event.search_")
        rid = self.send("search", body)
        last_alive = time.monotonic()
        ping = None  # (id, sent) of a status request while the stream is quiet
        poller = zmq.Poller()
        poller.register(self.ctl, zmq.POLLIN)
        poller.register(self.sub, zmq.POLLIN)
        try:
            while True:
                got = self.poll_reply(rid, 0)
                if got is not None:
                    return self._result("search", *got)
                if ping is not None and self.poll_reply(ping[0], 0) is not None:
                    ping, last_alive = None, time.monotonic()
                now = time.monotonic()
                if ping is None and now - last_alive > 2.0:
                    ping = (self.send("status"), now)
                if ping is not None and now - ping[1] > stall:
                    raise TimeoutError("search: steerd stopped answering")
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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="steer_client.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("-C", "--connection-file", required=True, help="the run's connection file")
    ap.add_argument("--name", default="steer_client.py", help="client name shown in events")
    ap.add_argument("--timeout", type=float, default=10.0, help="reply timeout, s (default 10)")
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
    a = ap.parse_args(argv)

    try:
        with SteerClient(a.connection_file, name=a.name, timeout=a.timeout, key=a.key) as cl:
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
