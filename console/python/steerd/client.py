# SPDX-License-Identifier: MIT
"""The blocking client: Client (see the package's docstring)."""
import json
import threading
import time

import zmq

from . import protocol
from .commands import Commands
from .errors import SteerdError
from .protocol import Topics

__all__ = ["Client", "connect"]

# While the daemon is silent, the connection file is read again after these
# pauses (doubling from the first to the second).
RELOAD_BACKOFF = (0.25, 5.0)


def connect(conn, **kw):
    """Client(conn, **kw)."""
    return Client(conn, **kw)


class Client(Commands):
    """One connection to a run: a DEALER on `control`, a SUB on `diagnostics`.

    conn: the path of the connection file steerd wrote (`-C`), a control
    endpoint ("tcp://127.0.0.1:5555"; the diagnostics endpoint comes from
    hello), or a dict with "control" and "diagnostics". With a file, a
    daemon restarted on other ports is followed (the file is read again).

    key: this client's secret key file (`steerd keygen NAME`) when the run
    has security on; server_key: the server's public key (Z85 text or its
    .key file), by default the connection file's "server_key".

    timeout: seconds to wait for each reply; attempts: how many times a
    request is sent in all before TimeoutError (each time on a fresh socket,
    the connection file read again; writes keep their retry_key, so a write
    whose reply was lost is applied once); backoff: the pause before the
    second attempt, doubled for each further one (at most 5 s).

    watch: watch heartbeats from the start (see watch()); heartbeat_misses:
    heartbeat periods without one before `alive` is False; heartbeat_ms:
    the daemon's period, by default measured. rcvhwm: stream messages this
    client queues before it loses some (0: no bound; a loss shows in
    Message.lost).

    on_restart(kind, old_hello, new_hello): called when the client finds
    another daemon process behind its connection: kind "restarted" (the same
    run_id: the run continued from a checkpoint, at new_hello["restart_step"])
    or "other_run" (another run_id). The run's identity is in .run_id and
    .start_id; .run_changes lists (kind, old, new) of every change seen.
    """

    def __init__(self, conn, name="steerd-python", timeout=10.0, context=None, key=None,
                 server_key=None, attempts=3, backoff=0.5, watch=False, heartbeat_misses=3,
                 heartbeat_ms=None, on_restart=None, rcvhwm=0):
        self._setup(conn, name, key, server_key, on_restart, timeout, attempts, backoff,
                    heartbeat_misses, heartbeat_ms)
        self.rcvhwm = rcvhwm
        self.ctx = context or zmq.Context.instance()
        self.ctl = self.sub = None
        self._replies = {}       # replies that arrived while waiting for another id
        self._open_control()
        self._heartbeats = None
        if watch:
            try:
                self.watch()
            except BaseException:  # e.g. Ctrl-C while waiting: no thread left behind
                self.close()
                raise

    # ---------------------------------------------------------------- sockets

    def _open_control(self):
        Commands._open_control(self)
        self._replies.clear()

    def _diagnostics_endpoint(self):
        ep = self.endpoints.get("diagnostics")
        if ep is None:  # connected by a control endpoint: hello says where
            ep = self.hello()["diagnostics_endpoint"]
            self.endpoints = dict(self.endpoints, diagnostics=ep)
        return ep

    def _open_stream(self):
        """A new SUB with all our subscriptions, live when this returns (see _sync_stream)."""
        if self.sub is not None:
            self.sub.close(0)
        self._sub_gen = self._conn_gen
        ep = self._diagnostics_endpoint()
        self.sub = self._socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, self.rcvhwm)
        self.sub.connect(ep)
        self.seq.reset()
        for t in self._wanted.subscriptions():
            self.sub.setsockopt(zmq.SUBSCRIBE, t.encode())
        self._sync_stream()

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
        self._recheck = True

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

    # ---------------------------------------------------------------- requests

    def _send(self, header, body):
        self._follow()
        self.ctl.send_multipart(protocol.request_frames(header, body))
        return header["id"]

    def send(self, cmd, body=None):
        """Send a request without waiting; returns its id (for poll_reply)."""
        return self._send(self._header(cmd), body)

    def poll_reply(self, rid, timeout, frames=False):
        """(header, body) of reply `rid` if it comes within timeout s, else
        None; (header, body, extra frames) with frames=True."""
        got = self._replies.pop(rid, None)
        deadline = time.monotonic() + max(0.0, timeout)
        while got is None:
            left = deadline - time.monotonic()
            if not self.ctl.poll(max(0, int(left * 1000))):
                return None
            r = protocol.parse_reply(self.ctl.recv_multipart())
            if r is None:
                continue  # not a reply shape PROTOCOL.md promises: ignore it
            if r[0].get("id") == rid:
                got = r
            else:
                self._replies[r[0].get("id")] = r
        return got if frames else got[:2]

    def _pause(self, attempt):
        """The pause after failed attempt number `attempt` (1, 2, ...)."""
        return min(self.backoff * 2 ** (attempt - 1), 5.0)

    def _call_raw(self, cmd, body, timeout=None, attempts=None, retry_key=None):
        timeout = self.timeout if timeout is None else timeout
        attempts = self.attempts if attempts is None else max(1, attempts)
        header = self._header(cmd, retry_key)
        for attempt in range(1, attempts + 1):
            self._send(header, body)
            got = self.poll_reply(header["id"], timeout, frames=True)
            if got is not None:
                if self._recheck and cmd != "hello" and self._hello is not None:
                    try:
                        self.check_run()
                    except TimeoutError:
                        self._recheck = True  # the reply came: check at the next one
                return got
            self.reconnect()
            if attempt < attempts:
                time.sleep(self._pause(attempt))
        raise TimeoutError("%s: no reply from steerd within %d x %g s" % (cmd, attempts, timeout))

    def call(self, cmd, body=None, timeout=None, attempts=None, retry_key=None):
        """Any command; its result body. An error reply raises SteerdError
        (a subclass per code: steerd.OutOfRange, ...).

        No reply within timeout s (default self.timeout): the request is sent
        again, the very same (id, and retry_key for a write), on a fresh
        socket, up to `attempts` times in all (default self.attempts); then
        TimeoutError. retry_key: your own key for a write (1-64 printable
        bytes), e.g. one kept across restarts of your program; by default a
        new uuid4 for each call of a write."""
        h, b, _ = self._call_raw(cmd, body, timeout, attempts, retry_key)
        return protocol.result(cmd, h, b)

    def _request(self, cmd, body, transform):
        h, b, frames = self._call_raw(cmd, body)
        return transform(protocol.result(cmd, h, b), frames)

    def _knob(self, name):
        if self._hello is None:
            self.hello()
        return self._knob_from_hello(name)

    # ---------------------------------------------------------------- run identity

    def check_run(self):
        """Ask hello and compare the run's identity with the last one seen:
        "same" (the same process), "restarted" (the same run continued from a
        checkpoint by a new process) or "other_run"; on a change the stream's
        sequence numbers start again and on_restart is called."""
        self._recheck = False
        old = self._hello
        return self._run_change(old, self.hello())

    # ---------------------------------------------------------------- liveness

    def ping(self, timeout=1.0):
        """True when steerd answers a `status` within timeout s (one attempt;
        a miss leaves fresh sockets behind, as any timeout does)."""
        try:
            self.call("status", timeout=timeout, attempts=1)
        except TimeoutError:
            return False
        except SteerdError:
            pass  # an answer all the same (e.g. a revoked key)
        return True

    def watch(self):
        """Watch steerd's heartbeats from now on, in a background thread with
        a SUB socket of its own (so the timing does not depend on when the
        program reads the stream). Returns once the heartbeat period is known
        (from two heartbeats, or heartbeat_ms), or the daemon has been
        silent too long."""
        if self._heartbeats is None:
            self._diagnostics_endpoint()
            self._heartbeats = hb = _Heartbeats(self)
            hb.start()
            while (hb.last is None or not (hb.period or self.heartbeat_ms)) and hb.alive():
                hb.beat.wait(0.05)
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

    # ---------------------------------------------------------------- stream

    def subscribe(self, *topics, scalars=None, arrays=None, events=None, heartbeats=False):
        """Subscribe to exact topics (see protocol.Topics: "scalars",
        "array.phi", "event.knob_changed", "array.*", ...; or scalars=True,
        arrays=["phi"], events=["knob_changed"], heartbeats=True). Waits (at
        most 3 s) for a heartbeat, so that steerd has seen the subscription
        when this returns: messages published after it arrive. The
        subscriptions are made again when the stream moves to a daemon
        restarted on new ports (one on the same ports gets them from ZeroMQ).
        Returns the Topics added."""
        want = Topics(scalars, arrays, events, heartbeats, topics, self._diagnostic_ranks())
        if self._wanted is None:
            self._wanted = want
        else:
            self._wanted.exact |= want.exact
            self._wanted.prefixes |= want.prefixes
            if want.scalar_names is None and "scalars" in want.exact:
                self._wanted.scalar_names = None
        if self.sub is None or self._sub_gen != self._conn_gen:
            self._open_stream()
            return want
        for t in want.subscriptions():
            self.sub.setsockopt(zmq.SUBSCRIBE, t.encode())
        self._sync_stream()
        return want

    def _sync_stream(self):
        # A heartbeat after our subscriptions, on the same connection, proves
        # they arrived (heartbeat_ms is 1 s by default). Messages of our
        # topics received meanwhile are kept for recv().
        self.sub.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            m = self._recv_stream(deadline - time.monotonic(), sync=True)
            if m is None or m.topic == "heartbeat":
                if m is not None and self._wanted.wants("heartbeat"):
                    self._pending.append(m)
                break
            self._pending.append(m)
        if not any("heartbeat".startswith(p) for p in self._wanted.subscriptions()):
            self.sub.setsockopt(zmq.UNSUBSCRIBE, b"heartbeat")

    def _recv_stream(self, timeout, sync=False):
        if self.sub is None:
            return None
        if not sync:
            self._follow()
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            left = deadline - time.monotonic()
            if not self.sub.poll(max(0, int(left * 1000))):
                return None
            m = protocol.decode_message(self.sub.recv_multipart())
            if m is None:
                continue
            if sync and m.topic == "heartbeat":
                return m
            if not self._wanted.wants(m.topic) or not self.seq.observe(m):
                continue
            return self._wanted.narrow(m)

    def recv(self, timeout=None):
        """The next stream message of the subscribed topics (a Message:
        .topic, .header, .values, .lost; unpacks as (topic, header, values)),
        or None after timeout s (default self.timeout)."""
        if self._pending:
            return self._pending.pop(0)
        return self._recv_stream(self.timeout if timeout is None else timeout)

    def stream(self, *topics, scalars=None, arrays=None, events=None, heartbeats=False,
               count=None, seconds=None, join=False):
        """Iterate over stream messages of exactly these topics (subscribing
        first; see subscribe()), for `count` messages or `seconds` s, else
        forever. Each Message has .lost (messages of its topic lost just
        before it, from topic_seq: 0 when none). join=True: late join
        (PROTOCOL.md, snapshot): the snapshot is taken once subscribed
        (self.joined), messages it
        covers are dropped, and a topic whose first message shows one missed
        since has .lost None."""
        want = self.subscribe(*topics, scalars=scalars, arrays=arrays, events=events,
                              heartbeats=heartbeats)
        if join:
            self.joined = self.snapshot()
            self.seq.join(self.joined["seq"])
            pending, self._pending = self._pending, []
            for m in pending:  # counted again from the snapshot on
                m.lost = 0
                if self.seq.observe(m):
                    self._pending.append(m)
        end = None if seconds is None else time.monotonic() + seconds
        n = 0
        while (count is None or n < count) and (end is None or time.monotonic() < end):
            m = self.recv(0.5 if end is None else max(0.0, min(0.5, end - time.monotonic())))
            if m is None or not want.wants(m.topic):
                continue
            n += 1
            yield want.narrow(m)

    def array(self, name, timeout=None):
        """The next `array.NAME` as a numpy array (waits for it; TimeoutError)."""
        return self.arrays(name, timeout=timeout)[0]

    def arrays(self, *names, timeout=None):
        """The next values of these array diagnostics published at one step
        (e.g. arrays("phase_x", "phase_v")), as numpy arrays in that order."""
        topics = ["array." + n for n in names]
        want = self.subscribe(arrays=list(names))
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        at = {}
        while True:
            left = deadline - time.monotonic()
            m = self.recv(left) if left > 0 else None
            if m is None:
                raise TimeoutError("no %s within %g s" % (" + ".join(topics), timeout))
            if not want.wants(m.topic):
                continue
            got = at.setdefault(m.step, {})
            got[m.topic] = m.values
            if len(got) == len(topics):
                return [got[t] for t in topics]

    # ---------------------------------------------------------------- search

    def search(self, knob, lo, hi, until, hold=None, hold_time=None, tol=None, max_steps=None,
               direction=None, progress=None, stall=None):
        """Run the daemon's `search` (PROTOCOL.md): the largest value of knob
        in [lo, hi] for which `until` stays false (lo, hi and hold_time may be
        text with units). Returns the reply body (`result`, `bracket`,
        `converged`, `steps`, `probes`, ...).

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
        body = self._search_body(knob, lo, hi, until, hold, hold_time, tol, max_steps, direction)
        stall = self.timeout if stall is None else stall
        self.subscribe(events=["search_probe", "search_finished"])
        header = self._header("search")
        rid = self._send(header, body)
        attempt = 1
        last_alive = time.monotonic()
        ping = None  # (id, sent) of a status request while the stream is quiet

        def on_message(m):
            if m.topic == "event.search_probe" and m.header.get("knob") == knob and progress:
                progress(m.header)
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
                        on_message(m)
                        if m.topic == "event.search_finished" and m.header.get("knob") == knob:
                            break
                    return protocol.result("search", *got)
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
                    on_message(m)
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
        self.beat = threading.Event()
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
            self.client._recheck = True
            if self.client.endpoints.get("pid") != pid:
                self._gaps, self.period, self.last = [], None, None
        if self.last is not None:
            # The median of the last 8 gaps: neither a silence nor a burst moves it.
            self._gaps = (self._gaps + [now - self.last])[-8:]
            self.period = max(sorted(self._gaps)[(len(self._gaps) - 1) // 2], 0.01)
        self.header = header
        self.last = now
        self.beat.set()

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
