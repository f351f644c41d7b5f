# SPDX-License-Identifier: MIT
"""steer-web against a real steerd, seen by a real browser (headless Chromium
driven by Selenium) and by raw WebSocket clients (python3-websocket):

- the page loads (the token leaves the address bar) and its step advances;
- a `set` from steer-console appears on the page as a steering marker;
- an operator sets a knob from the page, `get` shows it, and the event names
  the operator;
- an observer's attempt is refused by steer-web and changes nothing;
- a stalled browser (a WebSocket client that never reads) loses frames while
  another keeps receiving, and steerd keeps stepping;
- Host and Origin checks, cookies, revocation of an operator on SIGHUP,
  commands steer-web refuses to relay, loopback-only by default.

Run: STEERD_BUILD=build /usr/bin/python3 tests/integration/test_steer_web.py
"""
import http.client
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from steerd_harness import (BUILD, FAST_KNOBS, REPO, DaemonTestCase, _die_with_parent,  # noqa: E402
                            run_tests, sanitizer_report, wait_until)

import websocket  # noqa: E402  (python3-websocket)

BIN_DIR = os.path.join(BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD), "bin")
STEER_WEB = os.path.join(BIN_DIR, "steer-web")
CONSOLE = os.path.join(BIN_DIR, "steer-console")
LSAN_CONSOLE = "suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "lsan-console.supp")
ALICE = "a1" * 32  # alice's operator token (64 hex digits)
BOB = "b2" * 32
START_TIMEOUT = 30.0
WAIT = 30.0


class SteerWeb:
    """One steer-web process attached to a steerd's connection file."""

    def __init__(self, conn_path, operators=(("alice", ALICE),), args=()):
        self.tmp = tempfile.mkdtemp(prefix="steer-web-it-")
        self.config = os.path.join(self.tmp, "steer-web.yaml")
        self.write_config(operators)
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self._stderr = open(self.stderr_path, "wb")
        cmd = [STEER_WEB, "-C", conn_path, "--listen", "127.0.0.1:0", "-c", self.config] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                                     env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1",
                                              LSAN_OPTIONS=LSAN_CONSOLE))
        out = b""
        deadline = time.monotonic() + START_TIMEOUT
        while b"\n  read-only" not in out or not out.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("steer-web did not start:\n%s%s" % (out.decode(), self.stderr()))
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                out += os.read(self.proc.stdout.fileno(), 4096)
        self.lines = out.decode().splitlines()
        self.base = self.lines[0].split()[-1]  # http://127.0.0.1:PORT/
        self.host = self.base.split("/")[2]
        self.observer_token = self.lines[1].split("token=")[1].strip()

    def write_config(self, operators):
        text = "operators:\n" + "".join(
            "  - {name: %s, token: %s%s}\n" % (o[0], o[1], ", key: %s" % o[2] if len(o) > 2 else "")
            for o in operators)
        with open(self.config + ".tmp", "w") as f:
            f.write(text)
        os.chmod(self.config + ".tmp", 0o600)
        os.replace(self.config + ".tmp", self.config)

    def url(self, token):
        return "%s?token=%s" % (self.base, token)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, path, headers=None):
        """GET path: (status, headers dict, body)."""
        c = http.client.HTTPConnection(self.host, timeout=WAIT)
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        c.close()
        return out

    def cookie(self, token):
        status, headers, _ = self.request("/?token=" + token)
        assert status == 303, status
        return headers["set-cookie"].split(";")[0]

    def ws(self, token=None, cookie=None, origin=None, host=None):
        """A raw WebSocket client with the session of token."""
        cookie = cookie or self.cookie(token)
        return websocket.create_connection(
            "ws://%s/ws" % self.host, timeout=WAIT, subprotocols=["steer-web"],
            origin=origin or "http://" + self.host, host=host or self.host, cookie=cookie)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("steer-web did not stop on SIGTERM")
        self.proc.stdout.close()
        self._stderr.close()
        report = sanitizer_report(self.stderr())
        if report:
            raise AssertionError("steer-web: sanitizer report:\n" + report)
        if self.proc.returncode != 0:
            raise AssertionError("steer-web exited %d:\n%s" % (self.proc.returncode, self.stderr()))


def recv_json(ws):
    return json.loads(ws.recv())


def next_of(ws, kind):
    """The next message of this type (others are skipped), bounded by the socket timeout."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        m = recv_json(ws)
        if m["type"] == kind:
            return m
    raise AssertionError("no %s message" % kind)


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
              "--disable-gpu"):
        o.add_argument(a)
    o.binary_location = "/usr/bin/chromium"
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_script_timeout(WAIT)
    return d


class WebTestCase(DaemonTestCase):
    config = {"start": "running", "knobs": FAST_KNOBS}

    def setUp(self):
        super().setUp()
        self.web = SteerWeb(self.d.conn_path)
        self.addCleanup(self.web.stop)

    def js(self, driver, script, *args):
        return driver.execute_script(script, *args)

    def wait_js(self, driver, script, what, timeout=WAIT):
        return wait_until(lambda: driver.execute_script(script), timeout, interval=0.05, what=what)


class BrowserTestCase(WebTestCase):
    """One Chromium for the class; a steerd and a steer-web per test."""

    @classmethod
    def setUpClass(cls):
        cls.browser = browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()

    def open_page(self, token):
        b = self.browser
        b.delete_all_cookies()
        b.get(self.web.url(token))
        self.wait_js(b, "return window.steerWeb && steerWeb.frames > 0", "the page's first frame")
        return b


class TestPage(BrowserTestCase):
    def test_page_loads_and_step_advances(self):
        b = self.open_page(self.web.observer_token)
        self.assertEqual(b.current_url, self.web.base, "the token must leave the address bar")
        self.assertEqual(self.js(b, "return steerWeb.role"), "observer")
        s0 = self.js(b, "return steerWeb.step")
        self.wait_js(b, "return steerWeb.step > %d + 1000" % s0, "the page's step advancing")
        self.wait_js(b, "return steerWeb.charts.series.data.datasets[0].data.length > 5",
                     "points in the scalar chart")
        self.wait_js(b, "return steerWeb.arrayCharts.phi.chart.data.datasets[0].data.length > 0",
                     "phi drawn")
        self.wait_js(b, "return steerWeb.charts.phase.data.datasets[0].data.length > 0",
                     "the phase space drawn")
        self.assertIn("running", b.find_element("id", "state").text)

    def test_console_set_appears_as_marker(self):
        b = self.open_page(self.web.observer_token)
        p = subprocess.run([CONSOLE, "-C", self.d.conn_path, "--name", "carol", "--json", "-e",
                            "set injected_current 1234"], capture_output=True, text=True,
                           timeout=WAIT, env=dict(os.environ, LSAN_OPTIONS=LSAN_CONSOLE))
        self.assertEqual(p.returncode, 0, p.stderr)
        step = json.loads(p.stdout.strip().splitlines()[-1])["step"]
        marker = self.wait_js(
            b, "return steerWeb.markers.find(m => m.x === %d && m.text.includes('injected_current'))"
            % step, "the console's set as a marker")
        self.assertIn("carol", marker["text"])
        self.assertIn("1234", marker["text"])
        # It is drawn: the chart placed a point for it (not skipped for want of a y).
        self.wait_js(b, "const c = steerWeb.charts.series;"
                        "const n = c.data.datasets.findIndex(d => d.label === 'steering');"
                        "const i = c.data.datasets[n].data.findIndex(m => m.x === %d);"
                        "const p = c.getDatasetMeta(n).data[i];"
                        "return p && !p.skip && isFinite(p.y)" % step, "the marker drawn in the chart")

    def test_follows_a_restarted_steerd(self):
        """steerd stops and starts again (the same connection file, new ports,
        a new run): steer-web follows it and the open page starts again from
        the new run, then shows a change made in it."""
        b = self.open_page(self.web.observer_token)
        self.wait_js(b, "return steerWeb.step > 100", "the first run stepping")
        old = dict(self.d.conn)
        self.d.stop()
        self.d.start()
        self.assertNotEqual(self.d.conn["control"], old["control"], "a new steerd, new ports")
        c = self.d.client("erin")
        self.wait_js(b, "return steerWeb.hellos === 2", "the page greeted again by the new run")
        self.assertEqual(self.js(b, "return steerWeb.hello.start_id"), c.call("hello")[1]["start_id"])
        s0 = self.js(b, "return steerWeb.step")
        self.wait_js(b, "return steerWeb.step > %d + 200" % s0, "the new run's step advancing")
        step = c.call("set", {"values": {"injected_current": 1313}})[1]["step"]
        self.wait_js(b, "return steerWeb.knobs.injected_current === 1313", "the new run's knob")
        self.wait_js(b, "return steerWeb.markers.some(m => m.x === %d && m.text.includes('erin'))"
                     % step, "the new run's set as a marker")
        self.assertIn("steerd started again", b.find_element("id", "events").text)
        self.assertIn("following", self.web.stderr())

    def test_page_starts_from_history(self):
        """A steer-web started after the steering still shows it: the page
        starts from steerd's history, then follows the stream."""
        s0 = self.c.status()["step"]
        self.c.wait_step(s0 + 500)
        step = self.c.call("set", {"values": {"injected_current": 1111}}, client="dave")[1]["step"]
        self.c.wait_step(step + 500)
        late = SteerWeb(self.d.conn_path)
        self.addCleanup(late.stop)
        b = self.browser
        b.delete_all_cookies()
        b.get(late.url(late.observer_token))
        self.wait_js(b, "return window.steerWeb && steerWeb.history && steerWeb.frames > 0",
                     "the history and a frame")
        self.assertTrue(self.js(b, "return steerWeb.history.ok"), self.js(b, "return steerWeb.history"))
        marker = self.wait_js(b, "return steerWeb.markers.find(m => m.x === %d)" % step,
                              "the set before steer-web started, as a marker")
        self.assertIn("dave", marker["text"])
        self.assertIn("1111", marker["text"])
        first = self.js(b, "return steerWeb.series.j_injected[0].x")
        self.assertLess(first, step, "the series starts before the page was opened")

    def test_operator_sets_knob_from_page(self):
        sub = self.d.subscriber("event.knob_changed")
        b = self.open_page(ALICE)
        self.assertEqual(self.js(b, "return steerWeb.role"), "operator")
        field = b.find_element("id", "set-injected_current")
        field.clear()
        field.send_keys("1500")
        b.find_element("id", "set-btn-injected_current").click()
        wait_until(lambda: self.c.get1("injected_current") == 1500.0, WAIT,
                   what="injected_current = 1500 in steerd")
        ev = sub.event("knob_changed", timeout=WAIT, knob="injected_current")
        self.assertEqual(ev["client"], "alice", "steerd must name the operator who steered")
        self.wait_js(b, "return document.getElementById('message').textContent.startsWith('set: done')",
                     "the reply on the page")

    def test_operator_searches_and_watches_progress(self):
        b = self.open_page(ALICE)
        # A short hold and a loose tolerance: this checks the page, test_search.py the physics.
        r = b.execute_async_script(
            "steerWeb.send('search', {knob: 'injected_current', from: 100, to: 8000,"
            " until: 'virtual_cathode', hold: 3000, tol: 0.05}).then(arguments[0]);")
        self.assertTrue(r["ok"], r)
        self.assertTrue(r["body"]["converged"])
        probes = len(r["body"]["probes"])
        self.wait_js(b, "return document.getElementById('search-bar').value === 1",
                     "the progress bar full")
        text = self.wait_js(b, "const t = document.getElementById('search-text').textContent;"
                               "return t.startsWith('probe') && t", "the probes shown")
        self.assertIn("injected_current", text)
        n = self.js(b, "return [...document.querySelectorAll('#events li')]"
                       ".filter(li => li.textContent.includes('search probe')).length")
        self.assertEqual(n, probes, "every probe in the page's events")

    def test_observer_attempt_refused(self):
        b = self.open_page(self.web.observer_token)
        before = self.c.get1("injected_current")
        self.assertFalse(b.find_element("id", "pause").is_displayed(), "controls shown to an observer")
        r = b.execute_async_script(
            "const done = arguments[0];"
            "steerWeb.send('set', {values: {injected_current: 2222}}).then(done);")
        self.assertFalse(r["ok"])
        self.assertEqual(r["body"]["error"]["code"], "forbidden")
        r = b.execute_async_script("steerWeb.send('pause').then(arguments[0]);")
        self.assertEqual(r["body"]["error"]["code"], "forbidden")
        self.assertEqual(self.c.get1("injected_current"), before)
        self.assertEqual(self.c.status()["state"], "running")


class TestFanOut(WebTestCase):
    def test_stalled_browser_loses_frames(self):
        stalled = self.web.ws(self.web.observer_token)  # never reads, never acknowledges
        live = self.web.ws(self.web.observer_token)
        self.addCleanup(stalled.close)
        self.addCleanup(live.close)
        next_of(live, "hello")
        steps = []
        while len(steps) < 40:
            f = next_of(live, "frame")
            steps.append(f["step"])
            live.send('{"type": "ack"}')
        self.assertGreater(steps[-1], steps[0], "the live browser's step advances")
        self.assertEqual(steps, sorted(steps))
        # steerd went on stepping meanwhile, and still does.
        s = self.c.status()["step"]
        self.c.wait_step(s + 100)
        # The stalled one was sent one frame, then nothing until it acknowledged:
        # everything in between was dropped for it alone.
        hello = recv_json(stalled)
        self.assertEqual(hello["type"], "hello")
        first = next_of(stalled, "frame")
        stalled.settimeout(0.5)
        try:  # nothing more is queued for it but the history (no frame)
            while True:
                self.assertNotEqual(recv_json(stalled)["type"], "frame")
        except websocket.WebSocketTimeoutException:
            pass
        stalled.settimeout(WAIT)
        stalled.send('{"type": "ack"}')
        second = next_of(stalled, "frame")
        self.assertGreater(second["step"], first["step"])
        self.assertGreaterEqual(second["step"], steps[-1],
                                "after its stall it gets the newest state, not the backlog")

    def test_blind_acknowledger_never_slows_the_others(self):
        """A client that acknowledges without reading fills its TCP buffers: its
        frames wait in the kernel, not in steer-web, and the others go on."""
        flood = self.web.ws(self.web.observer_token)
        self.addCleanup(flood.close)
        flood.sock.setblocking(False)
        live = self.web.ws(self.web.observer_token)
        self.addCleanup(live.close)
        next_of(live, "hello")
        n = 0
        while n < 60:
            try:
                flood.send('{"type": "ack"}')
            except (BlockingIOError, websocket.WebSocketException, OSError):
                pass
            f = next_of(live, "frame")
            live.send('{"type": "ack"}')
            n += 1
        self.assertTrue(self.d.alive())
        self.assertEqual(self.web.proc.poll(), None)


class TestSecurity(WebTestCase):
    def test_token_exchanged_for_cookie(self):
        status, h, _ = self.web.request("/?token=" + self.web.observer_token)
        self.assertEqual(status, 303)
        self.assertEqual(h["location"], "/")
        self.assertIn("HttpOnly", h["set-cookie"])
        self.assertIn("SameSite=Strict", h["set-cookie"])
        cookie = h["set-cookie"].split(";")[0]
        status, h, body = self.web.request("/", {"Cookie": cookie})
        self.assertEqual(status, 200)
        self.assertIn(b"/app.js", body)
        self.assertIn("default-src 'none'", h["content-security-policy"])
        self.assertEqual(self.web.request("/")[0], 403, "no cookie, no page")
        self.assertEqual(self.web.request("/?token=" + "0" * 64)[0], 403, "a token nobody holds")

    def test_host_checked(self):
        cookie = self.web.cookie(self.web.observer_token)
        for host in ("evil.example", "evil.example:%s" % self.web.host.split(":")[1], "127.0.0.1.evil.example"):
            status, _, _ = self.web.request("/", {"Host": host, "Cookie": cookie})
            self.assertEqual(status, 403, host)
        # Loopback names on any port pass (an ssh tunnel may remap the port).
        self.assertEqual(self.web.request("/", {"Host": "localhost:9999", "Cookie": cookie})[0], 200)

    def test_origin_and_cookie_checked_for_websocket(self):
        cookie = self.web.cookie(self.web.observer_token)
        with self.assertRaises(websocket.WebSocketException):
            self.web.ws(cookie=cookie, origin="http://evil.example")
        with self.assertRaises(websocket.WebSocketException):
            self.web.ws(cookie="steer-web-1=" + "0" * 64)
        ws = self.web.ws(cookie=cookie)
        self.assertEqual(recv_json(ws)["type"], "hello")
        ws.close()

    def test_commands_checked_before_steerd(self):
        ws = self.web.ws(ALICE)
        self.addCleanup(ws.close)

        def ask(cmd, body, id):
            ws.send(json.dumps({"type": "cmd", "id": id, "cmd": cmd, "body": body}))
            while True:
                m = recv_json(ws)
                if m["type"] == "reply" and m["id"] == id:
                    return m
        self.assertEqual(ask("shutdown", {}, 1)["body"]["error"]["code"], "unknown_command")
        self.assertEqual(ask("rewind", {"name": "x"}, 2)["body"]["error"]["code"], "unknown_command")
        self.assertEqual(ask("set", {"values": {"gap": 0.02}}, 3)["body"]["error"]["code"], "fixed_knob")
        self.assertEqual(ask("set", {"values": {"nope": 1}}, 4)["body"]["error"]["code"], "unknown_name")
        self.assertEqual(ask("pause", {"extra": 1}, 5)["body"]["error"]["code"], "bad_argument")
        self.assertEqual(ask("checkpoint", {"name": "a\u0001b"}, 6)["body"]["error"]["code"],
                         "bad_argument")
        self.assertEqual(self.c.status()["state"], "running")
        # steerd's own checks still speak: a value out of range is steerd's refusal.
        r = ask("set", {"values": {"injected_current": -5}}, 7)
        self.assertEqual(r["body"]["error"]["code"], "out_of_range")
        r = ask("pause", {}, 8)
        self.assertTrue(r["ok"], r)
        self.assertEqual(self.c.status()["state"], "paused")

    def test_operator_revoked_on_sighup(self):
        ws = self.web.ws(ALICE)
        self.addCleanup(ws.close)
        next_of(ws, "hello")
        self.web.write_config([("bob", BOB)])
        self.web.proc.send_signal(signal.SIGHUP)
        # The page is closed with 4001, and the cookie no longer opens anything.
        deadline = time.monotonic() + WAIT
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                op, data = ws.recv_data(control_frame=True)
                closed = op == websocket.ABNF.OPCODE_CLOSE
                if not closed:
                    ws.send('{"type": "ack"}')
            except (websocket.WebSocketConnectionClosedException, BrokenPipeError,
                    ConnectionResetError):
                # Also when steer-web's close came first and the client's reply to it
                # found the connection gone (websocket-client answers a close frame).
                closed = True
        self.assertTrue(closed, "alice's page stayed open after her token was removed")
        self.assertEqual(self.web.request("/?token=" + ALICE)[0], 403)
        bob = self.web.ws(BOB)
        self.addCleanup(bob.close)
        self.assertEqual(next_of(bob, "hello")["role"], "operator")

    def test_loopback_only_unless_allowed(self):
        p = subprocess.run([STEER_WEB, "-C", self.d.conn_path, "--listen", "0.0.0.0:0"],
                           capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(p.returncode, 64)
        self.assertIn("--allow-remote", p.stderr)


class TestWithSecurity(unittest.TestCase):
    """steerd with CURVE: an operator's change reaches steerd with the
    operator's own key, so steerd itself names them; an operator without a
    key is only as strong as steer-web's own key (an observer's here), and
    steerd refuses the change."""

    def test_operator_key_names_the_operator_in_steerd(self):
        from test_security import SecureDaemon
        d = SecureDaemon(start="running")
        self.addCleanup(d.cleanup)
        d.start()
        web = SteerWeb(d.conn_path, operators=[("alice", ALICE, d.secret("alice")), ("mallory", BOB)],
                       args=["--key", d.secret("bob")])
        self.addCleanup(web.stop)

        def ask(token, body):
            ws = web.ws(token)
            try:
                ws.send(json.dumps({"type": "cmd", "id": 1, "cmd": "set", "body": body}))
                return next_of(ws, "reply")
            finally:
                ws.close()
        r = ask(ALICE, {"values": {"injected_current": 1600}})
        self.assertTrue(r["ok"], r)
        self.assertIn("set by alice", d.stderr())
        r = ask(BOB, {"values": {"injected_current": 1700}})
        self.assertEqual(r["body"]["error"]["code"], "forbidden", r)
        c = d.curve_client("alice")
        self.assertEqual(c.get1("injected_current"), 1600.0)


class TestConfig(unittest.TestCase):
    def run_web(self, text, mode=0o600):
        tmp = tempfile.mkdtemp(prefix="steer-web-cfg-")
        path = os.path.join(tmp, "w.yaml")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        p = subprocess.run([STEER_WEB, "-C", os.path.join(tmp, "none.json"), "-c", path],
                           capture_output=True, text=True, timeout=WAIT)
        return p.returncode, p.stderr, path

    def test_bad_configs_refused_with_position(self):
        rc, err, path = self.run_web("operators:\n  - {name: alice, token: short}\n")
        self.assertEqual(rc, 78)
        self.assertIn(path + ":2:", err)
        rc, err, path = self.run_web("operator:\n  - {name: a}\n")
        self.assertEqual(rc, 78)
        self.assertIn(path + ":1:1", err)
        rc, err, path = self.run_web("operators:\n  - {name: alice, token: %s}\n  - {name: bob, token: %s}\n"
                                     % (ALICE, ALICE))
        self.assertEqual(rc, 78)
        self.assertIn("same token", err)

    def test_readable_config_refused(self):
        rc, err, _ = self.run_web("operators:\n  - {name: alice, token: %s}\n" % ALICE, mode=0o644)
        self.assertEqual(rc, 78)
        self.assertIn("chmod 600", err)


if __name__ == "__main__":
    run_tests(TestPage, TestFanOut, TestSecurity, TestWithSecurity, TestConfig)
