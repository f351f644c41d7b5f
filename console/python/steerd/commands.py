# SPDX-License-Identifier: MIT
"""The commands of PROTOCOL.md as methods, written once for both clients.

Each method builds a request and hands it to self._request(cmd, body,
transform), which the blocking client (client.py) runs at once and the
asyncio client (aio.py) turns into a coroutine; transform(body, frames)
makes the method's result from the reply."""
import itertools
import threading

import zmq

from . import protocol, units
from .protocol import History, SeqTracker

__all__ = ["Commands"]


def _first(body, frames):
    return body


def _opt(body, **kw):
    for k, v in kw.items():
        if v is not None:
            body[k] = v
    return body


class Commands:
    """Needs: _request(cmd, body, transform) and _knob(name) (the knob's
    hello entry, or None when the daemon has no such knob: the daemon then
    answers unknown_name). Also holds what both clients keep about the
    connection and the run's identity (_setup)."""

    def _setup(self, conn, name, key, server_key, on_restart, timeout, attempts, backoff,
               heartbeat_misses, heartbeat_ms):
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.heartbeat_misses = heartbeat_misses
        self.heartbeat_ms = heartbeat_ms
        conn, self.conn_path = protocol.read_connection(conn)
        # Replaced (never changed in place) when the connection file is read
        # again; _conn_gen counts the changes of endpoints or server key. A
        # heartbeat thread may read both.
        self.endpoints = conn
        self._conn_gen = 0
        self._reload_lock = threading.Lock()
        self.name = name
        self.on_restart = on_restart
        self.run_changes = []
        self._server_key = server_key
        self.curve = protocol.load_keys(key, server_key, conn)
        self._keys = self.curve[:2] if self.curve else None
        self._hello = None
        self._recheck = False    # another process may be behind the connection now
        self._wanted = None      # Topics of the stream subscriptions
        self._pending = []       # stream messages received while subscribing
        self.seq = SeqTracker()  # gaps in the stream (Message.lost)
        self.joined = None       # the snapshot of the last late join
        self._ids = itertools.count(1)

    def _socket(self, kind):
        """A socket of self.ctx, with our CURVE keys when the run has security."""
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if self.curve:
            sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = self.curve
        return sock

    def _open_control(self):
        """A fresh DEALER on the control endpoint (the old one closed)."""
        if self.ctl is not None:
            self.ctl.close(0)
        self._ctl_gen = self._conn_gen
        self.ctl = self._socket(zmq.DEALER)
        self.ctl.connect(self.endpoints["control"])

    def _reads(self):
        if self._hello:
            return frozenset(c["name"] for c in self._hello.get("commands", [])
                             if not c.get("changes")) | {"hello"}
        return protocol.READS

    def _header(self, cmd, retry_key=None):
        return protocol.header(cmd, next(self._ids), self.name, self._reads(), retry_key)

    def _reload(self):
        """Read the connection file again: a restarted daemon rewrites it,
        maybe with new ports. True when the endpoints or the server key
        changed. A missing or unreadable file changes nothing."""
        if self.conn_path is None:
            return False
        try:
            conn, _ = protocol.read_connection(self.conn_path)
            where = (conn["control"], conn["diagnostics"], conn.get("server_key"))
        except (OSError, ValueError, KeyError, TypeError):
            return False
        with self._reload_lock:
            old = self.endpoints
            if old.get("pid") != conn.get("pid"):
                self._recheck = True
            if where == (old["control"], old.get("diagnostics"), old.get("server_key")):
                self.endpoints = conn  # the pid may be new
                return False
            if self._keys and conn.get("server_key") and self._server_key is None:
                self.curve = self._keys + (conn["server_key"].encode(),)
            self.endpoints = conn
            self._conn_gen += 1  # last: whoever sees it also sees the new endpoints
            self._recheck = True
            return True

    @property
    def run_id(self):
        """The run's identity (hello's run_id): the same after a restart from a checkpoint."""
        return (self._hello or {}).get("run_id")

    @property
    def start_id(self):
        """The daemon process's identity (hello's start_id)."""
        return (self._hello or {}).get("start_id")

    def _run_change(self, old, new):
        """"same", "restarted" or "other_run" (PROTOCOL.md, hello: run_id,
        start_id); a change resets the stream's sequence numbers and is
        recorded and reported (on_restart)."""
        if old is None or old.get("start_id") == new.get("start_id"):
            return "same"
        kind = "restarted" if old.get("run_id") == new.get("run_id") else "other_run"
        self.seq.reset()
        self.run_changes.append((kind, old, new))
        if self.on_restart is not None:
            self.on_restart(kind, old, new)
        return kind

    # -- reads

    def hello(self):
        """The daemon's hello: knobs, diagnostics, commands, capabilities, run identity."""
        return self._request("hello", None, self._note_hello)

    def status(self):
        return self._request("status", None, _first)

    def params(self):
        """Every knob with its value and unit: {"step": S, "knobs": [...]}."""
        return self._request("params", None, _first)

    def get(self, *names):
        """Knobs and scalar diagnostics: {name: value} (None when not computed yet)."""
        if len(names) == 1 and not isinstance(names[0], str):
            names = tuple(names[0])
        return self._request("get", {"names": list(names)}, lambda b, f: b["values"])

    def ramps(self):
        """The active ramps (list)."""
        return self._request("ramps", None, lambda b, f: b["ramps"])

    def snapshot(self):
        """Everything a late joiner needs, consistent with its `seq`."""
        return self._request("snapshot", None, _first)

    def history(self, *names, from_step=None, to_step=None, from_seq=None, max_points=None,
                stats=None, frame=None):
        """The run's past kept by the daemon (capability `history`): numpy
        arrays (a History: h.step, h["NAME"], h.markers, ...), or a pandas
        DataFrame with the same columns when pandas is installed (frame=None;
        frame=False: always a History, True: always a DataFrame)."""
        if len(names) == 1 and not isinstance(names[0], str):
            names = tuple(names[0])
        body = _opt({"names": list(names)}, from_step=from_step, to_step=to_step,
                    from_seq=from_seq, max_points=max_points,
                    stats=None if stats is None else list(stats))

        def make(b, frames):
            h = History(b, frames)
            if frame is False:
                return h
            if frame is None:
                try:
                    import pandas  # noqa: F401
                except ImportError:
                    return h
            return h.to_pandas()
        return self._request("history", body, make)

    # -- writes

    def set(self, values=None, **kw):
        """Set runtime knobs atomically at one boundary. Values are numbers or
        text with units, set(injected_current="1.5 kA/m^2") (PROTOCOL.md,
        "Values as text"). Returns {"step": S, "applied": {...}}."""
        values = dict(values or {}, **kw)
        return self._request("set", {"values": {k: self._value(k, v) for k, v in values.items()}},
                             _first)

    def ramp(self, knob=None, to=None, steps=None, rate=None, duration=None, ramps=None):
        """Move a knob linearly to `to` over `steps` steps, at `rate` knob
        units per step, or over `duration` simulated seconds (text with units
        too: ramp("anode_voltage", "1.2 kV", duration="2 ns")). Several knobs:
        ramps=[{"knob": ..., "to": ..., "steps": ...}, ...]. Returns the
        started ramps (list)."""
        if ramps is None:
            if knob is None or to is None:
                raise TypeError("ramp() needs knob and to, or ramps=[...]")
            ramps = [_opt({"knob": knob, "to": to}, steps=steps, rate=rate, duration=duration)]
        out = []
        for r in ramps:
            r = dict(r)
            k = r.get("knob")
            if "to" in r:
                r["to"] = self._value(k, r["to"])
            if isinstance(r.get("rate"), str):
                r["rate"] = units.parse(r["rate"], (self._knob(k) or {}).get("unit", ""))
            if isinstance(r.get("duration"), str):
                r["duration"] = units.parse(r["duration"], "s")
            out.append(r)
        return self._request("ramp", {"ramps": out}, lambda b, f: b["ramps"])

    def cancel(self, id=None, knob=None, search=False, steps=False):
        """Cancel a ramp (by id or knob), every ramp (no argument), the search
        or the queued steps."""
        body = _opt({}, id=id, knob=knob)
        if search:
            body["search"] = True
        if steps:
            body["steps"] = True
        return self._request("cancel", body, _first)

    def pause(self):
        return self._request("pause", None, _first)

    def resume(self):
        return self._request("resume", None, _first)

    def step(self, n=1):
        """While paused, run n more steps: {"step": S, "until": S + n}."""
        return self._request("step", {"n": n}, _first)

    def checkpoint(self, name=None):
        """Write a checkpoint: {"path", "step", "bytes", "write_seq"}."""
        return self._request("checkpoint", _opt({}, name=name), _first)

    def snapshot_state(self, name):
        return self._request("snapshot-state", {"name": name}, _first)

    def rewind(self, name):
        return self._request("rewind", {"name": name}, _first)

    def drop_state(self, name):
        return self._request("drop-state", {"name": name}, _first)

    def shutdown(self):
        return self._request("shutdown", None, _first)

    # -- helpers

    def _search_body(self, knob, lo, hi, until, hold, hold_time, tol, max_steps, direction):
        if isinstance(hold_time, str):
            hold_time = units.parse(hold_time, "s")
        return _opt({"knob": knob, "from": self._value(knob, lo), "to": self._value(knob, hi),
                     "until": until}, hold=hold, hold_time=hold_time, tol=tol,
                    max_steps=max_steps, direction=direction)

    def _value(self, knob, value):
        if not isinstance(value, str):
            return value
        info = self._knob(knob)
        if info is None:
            return value  # the daemon answers unknown_name, with a suggestion
        return units.knob_value(info, value)

    def _note_hello(self, body, frames):
        self._hello = body
        return body

    def _knob_from_hello(self, name):
        for k in (self._hello or {}).get("knobs", []):
            if k.get("name") == name:
                return k
        return None

    def _diagnostic_ranks(self):
        if not self._hello:
            return None
        return {d["name"]: d.get("rank", 0) for d in self._hello.get("diagnostics", [])}
