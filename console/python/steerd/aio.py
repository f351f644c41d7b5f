# SPDX-License-Identifier: MIT
"""The asyncio client: AsyncClient, for notebooks and services.

    run = await steerd.AsyncClient.connect("run.json")
    await run.set(injected_current="1.5 kA/m^2")
    async for m in run.stream(scalars=True, count=10):
        ...
    await run.close()

The same commands as Client (each a coroutine), the same retries (a request
not answered within `timeout` is sent again, the same retry_key, on a fresh
socket, the connection file read again), the same stream (exact topics,
Message.lost, join=True), the same run identity checks. Several coroutines
may share one AsyncClient: replies are matched by id.
"""
import asyncio
import time

import zmq
import zmq.asyncio

from . import protocol
from .commands import Commands
from .errors import SteerdError
from .protocol import Topics

__all__ = ["AsyncClient"]


class AsyncClient(Commands):
    """See Client for the arguments. Make one with `await AsyncClient.connect(...)`,
    which also reads hello (needed for values with units)."""

    def __init__(self, conn, name="steerd-python", timeout=10.0, context=None, key=None,
                 server_key=None, attempts=3, backoff=0.5, heartbeat_misses=3,
                 heartbeat_ms=None, on_restart=None):
        self._setup(conn, name, key, server_key, on_restart, timeout, attempts, backoff,
                    heartbeat_misses, heartbeat_ms)
        self.ctx = context or zmq.asyncio.Context.instance()
        self.ctl = None
        self._futures = {}
        self._reader = None
        self._watcher = None
        self._last_beat = None
        self._watch_started = None
        self._open_control()

    @classmethod
    async def connect(cls, conn, **kw):
        self = cls(conn, **kw)
        try:
            await self.hello()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aenter__(self):
        if self._hello is None:
            await self.hello()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    def _open_control(self):
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        Commands._open_control(self)

    def _ensure_reader(self):
        if self._reader is None or self._reader.done():
            self._reader = asyncio.ensure_future(self._read_replies(self.ctl))

    async def _read_replies(self, sock):
        while True:
            r = protocol.parse_reply(await sock.recv_multipart())
            if r is None:
                continue
            fut = self._futures.get(r[0].get("id"))
            if fut is not None and not fut.done():
                fut.set_result(r)

    def reconnect(self):
        """Fresh control socket, the connection file read again."""
        self._reload()
        self._open_control()
        self._recheck = True

    async def close(self):
        for t in (self._reader, self._watcher):
            if t is not None:
                t.cancel()
        self._reader = self._watcher = None
        if self.ctl is not None:
            self.ctl.close(0)
            self.ctl = None

    # ---------------------------------------------------------------- requests

    async def _call_raw(self, cmd, body, timeout=None, attempts=None, retry_key=None):
        timeout = self.timeout if timeout is None else timeout
        attempts = self.attempts if attempts is None else max(1, attempts)
        header = self._header(cmd, retry_key)
        rid = header["id"]
        try:
            for attempt in range(1, attempts + 1):
                if self._ctl_gen != self._conn_gen:
                    self._open_control()
                fut = self._futures[rid] = asyncio.get_running_loop().create_future()
                self._ensure_reader()
                await self.ctl.send_multipart(protocol.request_frames(header, body))
                try:
                    got = await asyncio.wait_for(asyncio.shield(fut), timeout)
                except asyncio.TimeoutError:
                    self.reconnect()
                    if attempt < attempts:
                        await asyncio.sleep(min(self.backoff * 2 ** (attempt - 1), 5.0))
                    continue
                if self._recheck and cmd != "hello" and self._hello is not None:
                    try:
                        await self.check_run()
                    except TimeoutError:
                        self._recheck = True  # the reply came: check at the next one
                return got
        finally:
            self._futures.pop(rid, None)
        raise TimeoutError("%s: no reply from steerd within %d x %g s" % (cmd, attempts, timeout))

    async def call(self, cmd, body=None, timeout=None, attempts=None, retry_key=None):
        """Any command; its result body (see Client.call)."""
        h, b, _ = await self._call_raw(cmd, body, timeout, attempts, retry_key)
        return protocol.result(cmd, h, b)

    def _request(self, cmd, body, transform):
        async def run():
            h, b, frames = await self._call_raw(cmd, body)
            return transform(protocol.result(cmd, h, b), frames)
        return run()

    def _knob(self, name):
        # hello is read by connect(); a knob it does not list is left to the daemon.
        return self._knob_from_hello(name)

    async def check_run(self):
        """As Client.check_run."""
        self._recheck = False
        old = self._hello
        return self._run_change(old, await self.hello())

    async def search(self, knob, lo, hi, until, hold=None, hold_time=None, tol=None,
                     max_steps=None, direction=None, progress=None):
        """As Client.search: waits for the reply as long as the daemon
        answers `status` (sent again, same retry_key, when it stops)."""
        body = self._search_body(knob, lo, hi, until, hold, hold_time, tol, max_steps, direction)
        watcher = None
        if progress is not None:
            async def follow():
                async for m in self.stream(events=["search_probe"]):
                    if m.header.get("knob") == knob:
                        progress(m.header)
            watcher = asyncio.ensure_future(follow())
        header = self._header("search")
        rid = header["id"]
        try:
            for attempt in range(1, self.attempts + 1):
                fut = self._futures[rid] = asyncio.get_running_loop().create_future()
                self._ensure_reader()
                await self.ctl.send_multipart(protocol.request_frames(header, body))
                while True:
                    try:
                        h, b, _ = await asyncio.wait_for(asyncio.shield(fut), 2.0)
                        return protocol.result("search", h, b)
                    except asyncio.TimeoutError:
                        pass
                    try:  # still there?
                        await self.call("status", attempts=1)
                    except TimeoutError:
                        self.reconnect()
                        break
            raise TimeoutError("search: steerd stopped answering")
        finally:
            self._futures.pop(rid, None)
            if watcher is not None:
                watcher.cancel()

    # ---------------------------------------------------------------- stream

    async def _diagnostics_endpoint(self):
        ep = self.endpoints.get("diagnostics")
        if ep is None:
            ep = (await self.hello())["diagnostics_endpoint"]
            self.endpoints = dict(self.endpoints, diagnostics=ep)
        return ep

    async def stream(self, *topics, scalars=None, arrays=None, events=None, heartbeats=False,
                     count=None, seconds=None, join=False):
        """An async iterator of Messages of exactly these topics (see
        Client.stream); its own SUB socket, live when the first message is
        awaited. Follows the daemon to new ports when the connection file
        says so."""
        want = Topics(scalars, arrays, events, heartbeats, topics, self._diagnostic_ranks())
        seq = protocol.SeqTracker()
        end = None if seconds is None else time.monotonic() + seconds
        n, sub, gen = 0, None, None
        try:
            while count is None or n < count:
                if sub is None or gen != self._conn_gen:
                    if sub is not None:
                        sub.close(0)
                    gen = self._conn_gen
                    sub = self._socket(zmq.SUB)
                    sub.setsockopt(zmq.RCVHWM, 0)
                    sub.connect(await self._diagnostics_endpoint())
                    for t in want.subscriptions() + ["heartbeat"]:
                        sub.setsockopt(zmq.SUBSCRIBE, t.encode())
                    seq.reset()
                    synced, early, sync_by = False, [], time.monotonic() + 3.0
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return
                wait = 0.5 if left is None else min(0.5, left)
                m = None
                if await sub.poll(int(wait * 1000)):
                    m = protocol.decode_message(await sub.recv_multipart())
                if not synced and ((m is not None and m.topic == "heartbeat")
                                   or time.monotonic() > sync_by):
                    # Our subscriptions have arrived (PROTOCOL.md, "When a
                    # subscription is active"): now join, if asked, and hand
                    # out what came meanwhile.
                    synced = True
                    if not want.wants("heartbeat"):
                        sub.setsockopt(zmq.UNSUBSCRIBE, b"heartbeat")
                        if m is not None and m.topic == "heartbeat":
                            m = None
                    if join:
                        self.joined = await self.snapshot()
                        seq.join(self.joined["seq"])
                    for e in early:
                        if seq.observe(e) and (count is None or n < count):
                            n += 1
                            yield want.narrow(e)
                if m is None:
                    # Quiet: a daemon restarted on other ports says so in the file.
                    if self.conn_path is not None:
                        self._reload()
                    continue
                if not want.wants(m.topic):
                    continue
                if not synced:
                    early.append(m)
                    continue
                if not seq.observe(m) or (count is not None and n >= count):
                    continue
                n += 1
                yield want.narrow(m)
        finally:
            if sub is not None:
                sub.close(0)

    async def array(self, name, timeout=None):
        """The next `array.NAME` as a numpy array."""
        return (await self.arrays(name, timeout=timeout))[0]

    async def arrays(self, *names, timeout=None):
        """The next values of these arrays published at one step, as numpy arrays."""
        topics = ["array." + n for n in names]

        async def first():
            at = {}
            async for m in self.stream(arrays=list(names)):
                got = at.setdefault(m.step, {})
                got[m.topic] = m.values
                if len(got) == len(topics):
                    return [got[t] for t in topics]
        try:
            return await asyncio.wait_for(first(), self.timeout if timeout is None else timeout)
        except asyncio.TimeoutError:
            raise TimeoutError("no %s" % " + ".join(topics)) from None

    # ---------------------------------------------------------------- liveness

    def watch(self):
        """Watch heartbeats in a task from now on (see `alive`)."""
        if self._watcher is None:
            self._watch_started = time.monotonic()
            self._beat_seen = asyncio.Event()

            async def beats():
                async for m in self.stream(heartbeats=True):
                    self._last_beat = (time.monotonic(), m.header)
                    self._beat_seen.set()
            self._watcher = asyncio.ensure_future(beats())
        return self

    async def wait_heartbeat(self):
        """With watch(): wait until a heartbeat has been seen; its header.
        Bound it with asyncio.wait_for."""
        if self._watcher is None:
            raise RuntimeError("wait_heartbeat needs watch() first")
        await self._beat_seen.wait()
        return self._last_beat[1]

    @property
    def alive(self):
        """With watch(): a heartbeat came within heartbeat_misses periods
        (heartbeat_ms, else hello's stream.heartbeat_ms, else 1 s)."""
        if self._watcher is None:
            raise RuntimeError("alive needs watch() first (or use ping())")
        ms = self.heartbeat_ms or ((self._hello or {}).get("stream") or {}).get("heartbeat_ms",
                                                                               1000)
        last = self._last_beat[0] if self._last_beat else self._watch_started
        return time.monotonic() - last <= self.heartbeat_misses * ms / 1000.0

    @property
    def last_heartbeat(self):
        return self._last_beat[1] if self._last_beat else None

    async def ping(self, timeout=1.0):
        """True when steerd answers a `status` within timeout s."""
        try:
            await self.call("status", timeout=timeout, attempts=1)
        except TimeoutError:
            return False
        except SteerdError:
            pass  # an answer all the same
        return True
