# SPDX-License-Identifier: MIT
"""Shared helpers for the integration suites: start a real steerd on free
ports, talk to it over real ZeroMQ sockets, stop it, and report in TAP.

Every wait here is bounded (a hung daemon fails a test, it never hangs the
run) and nothing asserts on wall-clock timing: waits poll for a condition.

Every message that passes through these helpers is checked against the
protocol's JSON Schema, doc/protocol.schema.json (check_message): the
connection file, every reply header and body, the body of every request that
was answered ok, and every stream header. A mismatch fails the test and names
the schema definition and the field.

Environment:
  STEERD_BUILD   build directory holding bin/steerd (default "build"),
                 relative to the repository root or absolute.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import jsonschema
import zmq

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("STEERD_BUILD", "build")
BIN = os.path.join(BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD), "bin", "steerd")



def is_asan_build(path=BIN):
    """True when the steerd at path is built with AddressSanitizer."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# Generous bounds: a loaded 2-core machine running an ASan build is slow.
START_TIMEOUT = 30.0
REPLY_TIMEOUT = 20.0
EXIT_TIMEOUT = 30.0
WAIT_TIMEOUT = 30.0

SANITIZER_PATTERNS = re.compile(
    r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"ERROR: UndefinedBehaviorSanitizer|WARNING: ThreadSanitizer|SUMMARY: \w+Sanitizer)")

CTX = zmq.Context.instance()

# ------------------------------------------------------------------ schema

SCHEMA_PATH = os.path.join(REPO, "doc", "protocol.schema.json")
with open(SCHEMA_PATH) as _f:
    SCHEMA = json.load(_f)
_VALIDATORS = {}


class SchemaMismatch(AssertionError):
    pass


def check_message(definition, instance, what=None):
    """Validate INSTANCE against $defs/DEFINITION of doc/protocol.schema.json;
    raise SchemaMismatch naming the definition, the field and the value."""
    v = _VALIDATORS.get(definition)
    if v is None:
        if definition not in SCHEMA["$defs"]:
            raise SchemaMismatch("doc/protocol.schema.json has no definition %r for %s: %s"
                                 % (definition, what or "this message", json.dumps(instance)[:500]))
        v = jsonschema.Draft202012Validator({"$defs": SCHEMA["$defs"], "$ref": "#/$defs/" + definition})
        _VALIDATORS[definition] = v
    errors = sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        where = "/".join(str(x) for x in err.absolute_path) or "(top)"
        raise SchemaMismatch("%s does not match doc/protocol.schema.json#/$defs/%s at %s: %s\n"
                             "  message: %s" % (what or "message", definition, where, err.message,
                                                json.dumps(instance)[:1000]))


def check_reply(header, body):
    """A reply header and body (ok: reply.CMD, else error_body)."""
    check_message("reply_header", header, "reply header")
    if header.get("ok") is True:
        check_message("reply." + str(header.get("cmd")), body, "reply body of %s" % header.get("cmd"))
    else:
        check_message("error_body", body, "error reply body of %s" % header.get("cmd"))


def stream_definition(topic):
    if topic == "scalars" or topic == "heartbeat":
        return "stream." + topic
    if topic.startswith("array."):
        return "stream.array"
    return topic  # event.NAME


def check_stream_message(topic, header, data):
    definition = stream_definition(topic)
    check_message(definition, header, "stream header of %s" % topic)
    if topic.startswith("event."):
        assert header["event"] == topic[len("event."):], "event %r on topic %s" % (header["event"], topic)
    if topic == "scalars" or topic.startswith("array."):
        assert len(data) == 1 and len(data[0]) == 8 * header["shape"][0], \
            "%s: data frames %r do not hold shape %s float64" % (topic, [len(d) for d in data], header["shape"])
    else:
        assert not data, "%s carries %d data frames, the protocol says none" % (topic, len(data))


def _die_with_parent():
    """In the child: get SIGTERM when the test process dies, so a killed or
    crashed test run leaves no daemon behind (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except Exception:
        pass


class DaemonError(AssertionError):
    pass


def sanitizer_report(text):
    """The first lines of a sanitizer report in TEXT, or None."""
    m = SANITIZER_PATTERNS.search(text)
    if not m:
        return None
    start = text.rfind("\n", 0, m.start()) + 1
    return text[start:start + 3000]


def wait_until(pred, timeout=WAIT_TIMEOUT, interval=0.005, what="condition"):
    """Poll PRED until it returns a true value (returned); fail after TIMEOUT."""
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)


# ------------------------------------------------------------------ config


def _yaml_scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.:/*+-]*", s) and s not in ("true", "false", "null", "yes", "no", "on", "off"):
        return s
    return json.dumps(s)


def to_yaml(value, indent=0):
    """A small YAML emitter for the nested dicts/lists of a steerd config."""
    pad = "  " * indent
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict) and v:
                out.append("%s%s:" % (pad, k))
                out.append(to_yaml(v, indent + 1))
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                out.append("%s%s:" % (pad, k))
                out.append(to_yaml(v, indent + 1))
            elif isinstance(v, list):
                out.append("%s%s: [%s]" % (pad, k, ", ".join(_yaml_scalar(x) for x in v)))
            elif isinstance(v, dict):
                out.append("%s%s: {}" % (pad, k))
            else:
                out.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                body = to_yaml(item, indent + 1).lstrip()
                out.append("%s- %s" % (pad, body))
            else:
                out.append("%s- %s" % (pad, _yaml_scalar(item)))
    return "\n".join(out)


def _merge(base, over):
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v
    return base


def make_config(start="paused", knobs=None, run=None, diagnostics=None, schedule=None, extra=None):
    """A config dict: the diode, loopback free ports, fast heartbeat."""
    cfg = {
        "simulation": {"adapter": "pic1d", "knobs": dict(knobs or {})},
        "run": _merge({"start": start, "max_steps": 0}, run or {}),
        "endpoints": {"control": "tcp://127.0.0.1:*", "diagnostics": "tcp://127.0.0.1:*"},
        "diagnostics": _merge({"scalars_every": 1, "arrays_every": 100, "heartbeat_ms": 50,
                               "send_hwm": 1000}, diagnostics or {}),
    }
    if schedule:
        cfg["schedule"] = schedule
    if extra:
        _merge(cfg, extra)
    return cfg


# A smaller diode that steps faster (for tests that need many steps).
FAST_KNOBS = {"cells": 50, "particles_per_step": 4, "average_window": 50, "phase_sample": 100}


# ------------------------------------------------------------------ daemon


class Steerd:
    """One steerd process on a config (dict or YAML text) in a temp dir."""

    def __init__(self, config=None, args=(), env=None, conn_name="steerd.json", command=None,
                 **cfg_kwargs):
        self.tmp = tempfile.mkdtemp(prefix="steerd-it-")
        if config is None and "simulation" in cfg_kwargs:
            config = cfg_kwargs  # Steerd(**make_config(...)): a whole config as keywords
        elif config is None:
            config = make_config(**cfg_kwargs)
        text = config if isinstance(config, str) else to_yaml(config) + "\n"
        self.config_text = text
        self.config_path = os.path.join(self.tmp, "config.yaml")
        with open(self.config_path, "w") as f:
            f.write(text)
        self.conn_path = os.path.join(self.tmp, conn_name)
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.args = list(args)
        # A code that embeds libsteerd instead of the daemon (its own main):
        # the same -c, with the long --connection-file every embedder takes.
        self.command = list(command) if command else None
        self.env = dict(os.environ, **(env or {}))
        self.env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        if "XDG_STATE_HOME" not in (env or {}):  # configs/diode.yaml checkpoints there
            self.env["XDG_STATE_HOME"] = os.path.join(self.tmp, "state")
        self.proc = None
        self.conn = None
        self.returncode = None
        self._clients = []

    # -- lifecycle

    def start(self, wait=True):
        exe = self.command[0] if self.command else BIN
        if not os.path.exists(exe):
            raise DaemonError("no binary at %s (set STEERD_BUILD)" % exe)
        self._stderr = open(self.stderr_path, "wb")
        if self.command:
            cmd = self.command + ["-c", self.config_path, "--connection-file", self.conn_path] + self.args
        else:
            cmd = [BIN, "-c", self.config_path, "-C", self.conn_path] + self.args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr, env=self.env, cwd=self.tmp,
                                     preexec_fn=_die_with_parent)
        if wait:
            self.wait_connection_file()
        return self

    def wait_connection_file(self):
        def ready():
            if self.proc.poll() is not None:
                raise DaemonError("steerd exited with %s before writing its connection file\n%s"
                                  % (self.proc.returncode, self.stderr()))
            try:
                with open(self.conn_path) as f:
                    return json.load(f)
            except (OSError, ValueError):
                return None
        self.conn = wait_until(ready, START_TIMEOUT, what="the connection file")
        check_message("connection_file", self.conn, "connection file")
        return self.conn

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def check_sanitizers(self):
        rep = sanitizer_report(self.stderr())
        if rep:
            raise DaemonError("sanitizer report in steerd's stderr:\n" + rep)

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise DaemonError("steerd (pid %d) did not exit within %.0f s" % (self.proc.pid, timeout))
        return self.returncode

    def expect_clean_exit(self, timeout=EXIT_TIMEOUT):
        """Wait for the process to end by itself; assert exit 0, no sanitizer
        report, and the connection file removed."""
        rc = self.wait_exit(timeout)
        self.check_sanitizers()
        if rc != 0:
            raise DaemonError("steerd exited with %d, expected 0\n%s" % (rc, self.tail()))
        if os.path.exists(self.conn_path):
            raise DaemonError("connection file %s left behind after a clean exit" % self.conn_path)
        return rc

    def stop(self, sig=signal.SIGTERM):
        """SIGTERM, wait, assert a clean exit (0, no sanitizer report)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.expect_clean_exit()

    def kill(self):
        """Tear down whatever state the test left (never raises)."""
        self._close_clients()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        try:
            self._stderr.close()
        except Exception:
            pass

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def tail(self, n=40):
        return "\n".join(self.stderr().splitlines()[-n:])

    # -- sockets

    def client(self, name="tester", kind=zmq.DEALER, **kw):
        c = Client(self.conn["control"], name=name, kind=kind, **kw)
        self._clients.append(c)
        return c

    def subscriber(self, *topics, **kw):
        s = Subscriber(self.conn["diagnostics"], topics, **kw)
        self._clients.append(s)
        return s

    def _close_clients(self):
        for c in self._clients:
            c.close()
        self._clients = []


# ------------------------------------------------------------------ control


class ErrorReply(AssertionError):
    def __init__(self, header, body):
        self.header, self.body = header, body
        err = body.get("error", {}) if isinstance(body, dict) else {}
        self.code = err.get("code")
        AssertionError.__init__(self, "%s failed: %s" % (header.get("cmd"), json.dumps(body)))


def _jdump(x):
    return x if isinstance(x, bytes) else json.dumps(x).encode()


class Client:
    """A control client: DEALER (adds the empty delimiter) or REQ."""

    def __init__(self, endpoint, name="tester", kind=zmq.DEALER, identity=None):
        self.kind = kind
        self.name = name
        self.sock = CTX.socket(kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        if identity is not None:
            self.sock.setsockopt(zmq.IDENTITY, identity)
        self.sock.connect(endpoint)
        self._id = 0

    def close(self):
        if self.sock is not None:
            self.sock.close(0)
            self.sock = None

    def next_id(self):
        self._id += 1
        return self._id

    def send_raw(self, frames):
        """Send frames exactly as given (a DEALER adds nothing)."""
        self.sock.send_multipart([f if isinstance(f, bytes) else f.encode() for f in frames])

    def recv_raw(self, timeout=REPLY_TIMEOUT):
        if not self.sock.poll(int(timeout * 1000)):
            raise AssertionError("no reply from steerd within %.0f s" % timeout)
        return self.sock.recv_multipart()

    def recv_reply(self, timeout=REPLY_TIMEOUT, want_id=None):
        """Receive one reply: (header, body). A DEALER expects ["", header, body]."""
        deadline = time.monotonic() + timeout
        while True:
            frames = self.recv_raw(max(0.0, deadline - time.monotonic()))
            if self.kind == zmq.DEALER:
                assert len(frames) >= 3 and frames[0] == b"", \
                    "DEALER reply is not [\"\", header, body]: %r" % (frames[:4],)
                frames = frames[1:]
            header = json.loads(frames[0])
            # A successful `history` reply carries its arrays as frames after the body.
            extra = header.get("cmd") == "history" and header.get("ok") is True
            assert len(frames) == 2 or (extra and len(frames) > 2), \
                "reply is not [header, body]: %r" % (frames[:4],)
            body = json.loads(frames[1])
            self.last_frames = frames[2:]
            check_reply(header, body)
            if want_id is None or header.get("id") == want_id:
                return header, body

    def request(self, cmd, body=None, id=None, client=None, header_extra=None, timeout=REPLY_TIMEOUT):
        """Send one request; return (header, body) of its reply, ok or not."""
        if id is None:
            id = self.next_id()
        header = {"cmd": cmd, "id": id, "client": client or self.name}
        if header_extra:
            header.update(header_extra)
        frames = [_jdump(header), _jdump(body if body is not None else {})]
        if self.kind == zmq.DEALER:
            frames.insert(0, b"")
        self.sock.send_multipart(frames)
        reply = self.recv_reply(timeout, want_id=id)
        if reply[0].get("ok") is True:
            # Requests that steerd accepted must be what the schema allows (tests send
            # malformed ones on purpose: those are answered with an error).
            check_message("request_header", json.loads(frames[-2]), "request header of %s" % cmd)
            check_message("request." + cmd, json.loads(frames[-1]), "request body of %s" % cmd)
        return reply

    def call(self, cmd, body=None, **kw):
        """As request(), but an error reply raises ErrorReply; returns (header, body)."""
        header, reply = self.request(cmd, body, **kw)
        if header.get("ok") is not True:
            raise ErrorReply(header, reply)
        return header, reply

    def __call__(self, cmd, body=None, **kw):
        """The result body of a successful command."""
        return self.call(cmd, body, **kw)[1]

    def error(self, cmd, body=None, **kw):
        """Send a request that must fail; return its error code."""
        header, reply = self.request(cmd, body, **kw)
        check_error_reply(header, reply)
        return reply["error"]["code"]

    # -- conveniences

    def status(self):
        return self("status")

    def get(self, *names):
        return self("get", {"names": list(names)})["values"]

    def get1(self, name):
        return self.get(name)[name]

    def knobs(self):
        return {k["name"]: k["value"] for k in self("params")["knobs"]}

    def step_and_wait(self, n=1, timeout=WAIT_TIMEOUT):
        """While paused: run N steps and wait until they are done. Returns the new step."""
        r = self("step", {"n": n})
        until = r["until"]
        wait_until(lambda: (lambda s: s["steps_left"] == 0 and s["step"] >= until and s)(self.status()),
                   timeout, what="step %d" % until)
        return until

    def wait_step(self, target, timeout=WAIT_TIMEOUT):
        """Wait until the run's step is at least TARGET; returns the status."""
        return wait_until(lambda: (lambda s: s["step"] >= target and s)(self.status()), timeout,
                          what="step >= %d" % target)


ERROR_CODES = {"bad_request", "too_large", "unknown_command", "bad_argument", "unknown_name",
               "out_of_range", "fixed_knob", "refused", "bad_state", "shutting_down", "internal",
               "forbidden", "busy", "limit_reached", "unsupported"}


def check_error_reply(header, body):
    assert header.get("ok") is False, "expected an error, got %s %s" % (header, body)
    assert header.get("protocol") == 1, header
    assert isinstance(body, dict) and set(body) == {"error"}, "error body: %r" % (body,)
    err = body["error"]
    assert isinstance(err, dict) and isinstance(err.get("code"), str), body
    assert err["code"] in ERROR_CODES, "undocumented error code %r" % err["code"]
    assert isinstance(err.get("message"), str) and err["message"], "error without message: %r" % body


# ------------------------------------------------------------------ stream


class Message:
    __slots__ = ("topic", "header", "data")

    def __init__(self, frames):
        self.topic = frames[0].decode("ascii")
        self.header = json.loads(frames[1])
        self.data = frames[2:]
        check_stream_message(self.topic, self.header, self.data)

    def __getitem__(self, k):
        return self.header[k]

    def get(self, k, default=None):
        return self.header.get(k, default)

    def floats(self, i=0):
        d = self.data[i]
        assert len(d) % 8 == 0, "data frame of %d bytes is not float64" % len(d)
        return list(struct.unpack("<%dd" % (len(d) // 8), d))

    def __repr__(self):
        return "<%s %s%s>" % (self.topic, json.dumps(self.header)[:300],
                              " +%d frames" % len(self.data) if self.data else "")


class Subscriber:
    """A SUB socket on the diagnostics endpoint."""

    def __init__(self, endpoint, topics=("",), rcvhwm=0, sync=True):
        self.sock = CTX.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, rcvhwm)
        self.sock.connect(endpoint)
        self.topics = list(topics) or [""]
        for t in self.topics:
            self.sock.setsockopt(zmq.SUBSCRIBE, t.encode())
        self.backlog = []
        if sync:
            self.sync()

    def close(self):
        if self.sock is not None:
            self.sock.close(0)
            self.sock = None

    def sync(self, timeout=WAIT_TIMEOUT):
        """Make sure steerd has seen our subscriptions: subscribe to heartbeat
        too (after the others, on the same connection) and wait for one.
        Needs a heartbeat_ms well below the timeout. Messages received
        meanwhile on the wanted topics are kept for recv()."""
        hb_wanted = any("heartbeat".startswith(t) for t in self.topics)
        if not hb_wanted:
            self.sock.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
        deadline = time.monotonic() + timeout
        while True:
            m = self._recv(deadline - time.monotonic())
            if m is None:
                raise AssertionError("no heartbeat within %.0f s: the subscription is not live" % timeout)
            if m.topic == "heartbeat":
                if hb_wanted:
                    self.backlog.append(m)
                break
            self.backlog.append(m)
        if not hb_wanted:
            self.sock.setsockopt(zmq.UNSUBSCRIBE, b"heartbeat")
        return self

    def _recv(self, timeout):
        if timeout <= 0 or not self.sock.poll(int(timeout * 1000)):
            return None
        return Message(self.sock.recv_multipart())

    def _wanted(self, m):
        return any(m.topic.startswith(t) for t in self.topics)

    def recv(self, timeout=WAIT_TIMEOUT):
        """The next message on a subscribed topic, or None after TIMEOUT."""
        deadline = time.monotonic() + timeout
        while self.backlog:
            m = self.backlog.pop(0)
            if self._wanted(m):
                return m
        while True:
            m = self._recv(deadline - time.monotonic())
            if m is None or self._wanted(m):
                return m

    def expect(self, pred, timeout=WAIT_TIMEOUT, what="a message"):
        """Receive until PRED(message) holds; returns (message, skipped)."""
        deadline = time.monotonic() + timeout
        skipped = []
        while True:
            m = self.recv(max(0.0, deadline - time.monotonic()))
            if m is None:
                raise AssertionError("no %s on the stream within %.0f s; saw %d others, last: %r"
                                     % (what, timeout, len(skipped), skipped[-3:]))
            if pred(m):
                return m, skipped
            skipped.append(m)

    def event(self, name, timeout=WAIT_TIMEOUT, **fields):
        """The next event.NAME whose header has FIELDS."""
        def pred(m):
            return m.topic == "event." + name and all(m.get(k) == v for k, v in fields.items())
        return self.expect(pred, timeout, "event.%s %s" % (name, fields or ""))[0]

    def events_until(self, name, timeout=WAIT_TIMEOUT, **fields):
        """All event.* messages up to and including the matching event.NAME."""
        m, skipped = self.event_with_skipped(name, timeout, **fields)
        return [x for x in skipped if x.topic.startswith("event.")] + [m]

    def event_with_skipped(self, name, timeout=WAIT_TIMEOUT, **fields):
        def pred(m):
            return m.topic == "event." + name and all(m.get(k) == v for k, v in fields.items())
        return self.expect(pred, timeout, "event.%s %s" % (name, fields or ""))

    def drain(self, quiet=0.2):
        """Read and return what is queued, until nothing arrives for QUIET s."""
        out = list(self.backlog)
        self.backlog = []
        while True:
            m = self._recv(quiet)
            if m is None:
                return [x for x in out if self._wanted(x)]
            out.append(m)


# ------------------------------------------------------------------ TAP


class DaemonTestCase(unittest.TestCase):
    """A test with one steerd per test: set `config` (kwargs for make_config)
    or override daemon_config(). self.d, self.c (DEALER "tester")."""
    config = {}
    autostart = True

    def daemon_config(self):
        return dict(self.config)

    def setUp(self):
        self.d = None
        if self.autostart:
            self.d = self.start_daemon(**self.daemon_config())
            self.c = self.d.client("tester")

    def start_daemon(self, **kw):
        d = Steerd(**kw)
        self.addCleanup(d.cleanup)
        self._daemons = getattr(self, "_daemons", []) + [d]
        d.start()
        return d

    def tearDown(self):
        # A test that left its daemon running: stop it and insist it stops cleanly.
        for d in getattr(self, "_daemons", []):
            if d.proc is not None and d.proc.returncode is None:
                d.stop()
            else:
                d.check_sanitizers()

    def daemon_logs(self):
        return [(d.config_path, d.tail(25)) for d in getattr(self, "_daemons", [])]


class _TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0
        self.failed = 0

    def _emit(self, test, ok, detail=None, directive="", logs_from=None):
        self.n += 1
        name = test.id()
        if name.startswith("__main__."):
            name = name[len("__main__."):]
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, name, directive), flush=True)
        if detail:
            for line in detail.rstrip().splitlines():
                print("# " + line)
            for path, tail in getattr(logs_from or test, "daemon_logs", lambda: [])():
                print("# --- steerd stderr (%s), last lines:" % path)
                for line in tail.splitlines():
                    print("#   " + line)
            sys.stdout.flush()

    def startTest(self, test):
        super().startTest(test)
        self._t0 = time.monotonic()

    def addSuccess(self, test):
        self._emit(test, True)

    def addFailure(self, test, err):
        self.failed += 1
        self._emit(test, False, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        self.failed += 1
        self._emit(test, False, self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        self._emit(test, True, directive=" # SKIP " + reason)

    def addExpectedFailure(self, test, err):
        self._emit(test, True, directive=" # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        self.failed += 1
        self._emit(test, False, "unexpected success")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self.failed += 1
            self._emit(subtest, False, self._exc_info_to_string(err, test), logs_from=test)


def run_tests(*classes):
    """Run the unittest classes, print TAP, exit 1 if anything failed."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    only = os.environ.get("STEERD_TEST")  # run a subset: substring of Class.test
    for cls in classes:
        for t in loader.loadTestsFromTestCase(cls):
            if only and only not in "%s.%s" % (cls.__name__, t._testMethodName):
                continue
            suite.addTest(t)
    print("# steerd: %s" % BIN, flush=True)
    t0 = time.monotonic()
    result = _TapResult()
    try:
        suite.run(result)
    except KeyboardInterrupt:
        result.failed += 1
    print("1..%d" % result.n)
    print("# %d passed, %d failed in %.1f s" % (result.n - result.failed, result.failed,
                                                 time.monotonic() - t0), flush=True)
    sys.exit(1 if result.failed or result.n == 0 else 0)
