# SPDX-License-Identifier: MIT
"""Security: a real steerd with a `security` section, and clients that are
plain pyzmq CURVE sockets whose keys are read with zmq.auth.load_certificate
(so a third-party client works as documented in PROTOCOL.md).

Keys are made with `steerd keygen` in the daemon's temp dir. Covered: unknown
keys and plaintext clients get nothing (bounded waits); observers read and
watch but every changing command is `forbidden`; operators steer under their
key's name; a loose secret file is refused (exit 78); SIGHUP after editing the
client list (or deleting a key file) revokes; the connection file carries the
server key; --check; remote binds need security or allow_remote; the console
with --key.
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import steerd_harness as h  # noqa: E402
import zmq  # noqa: E402
import zmq.auth  # noqa: E402

# The protocol's error code for a refused command (PROTOCOL.md, Security).
h.ERROR_CODES.add("forbidden")
h.ERROR_CODES.add("keys_unavailable")

CONSOLE = os.path.join(os.path.dirname(h.BIN), "steer-console")
NOTHING_S = 1.0  # how long a refused client is watched for any message


def keygen(directory, name):
    os.makedirs(directory, exist_ok=True)
    r = subprocess.run([h.BIN, "keygen", name, "--dir", directory], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, "steerd keygen %s: %s" % (name, r.stderr)
    return os.path.join(directory, name + ".key"), os.path.join(directory, name + ".key_secret")


def security_yaml(clients, server="keys/server.key_secret"):
    lines = ["security:", "  server_key: %s" % server, "  clients:"]
    for c in clients:
        extra = ", name: %s" % c["name"] if c.get("name") else ""
        lines.append("    - {key: %s, role: %s%s}" % (c["key"], c["role"], extra))
    return "\n".join(lines) + "\n"


def config_text(clients, endpoints=None, start="paused", security=True):
    cfg = h.make_config(start=start)
    if endpoints:
        cfg["endpoints"].update(endpoints)
    text = h.to_yaml(cfg) + "\n"
    return text + (security_yaml(clients) if security else "")


def local(endpoint):
    """A wildcard bind as a connectable address."""
    return endpoint.replace("//0.0.0.0:", "//127.0.0.1:").replace("//*:", "//127.0.0.1:")


def curve(sock, server_public, secret_file):
    """Make sock a CURVE client: keys as a third party would load them."""
    if secret_file is None:
        return sock
    if isinstance(secret_file, tuple):  # a key pair in memory
        public, secret = secret_file
    else:
        public, secret = zmq.auth.load_certificate(secret_file)
    sock.curve_serverkey = server_public
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    return sock


class CurveClient(h.Client):
    """The harness's control client, over CURVE (secret_file None: plaintext)."""

    def __init__(self, endpoint, server_public, secret_file, name="tester", kind=zmq.DEALER):
        self.kind = kind
        self.name = name
        self.sock = h.CTX.socket(kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        curve(self.sock, server_public, secret_file)
        self.sock.connect(local(endpoint))
        self._id = 0

    def nothing(self, cmd="hello", wait=NOTHING_S):
        """Send a request; assert that nothing at all comes back within WAIT."""
        self.sock.send_multipart([b"", json.dumps({"cmd": cmd, "id": 1}).encode(), b"{}"])
        got = self.sock.poll(int(wait * 1000))
        assert not got, "a refused client got a reply: %r" % (self.sock.recv_multipart(),)


class CurveSubscriber(h.Subscriber):
    def __init__(self, endpoint, server_public, secret_file, topics=("",), sync=True):
        self.sock = h.CTX.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        curve(self.sock, server_public, secret_file)
        self.sock.connect(local(endpoint))
        self.topics = list(topics) or [""]
        for t in self.topics:
            self.sock.setsockopt(zmq.SUBSCRIBE, t.encode())
        self.backlog = []
        if sync:
            self.sync()

    def nothing(self, wait=NOTHING_S):
        got = self.sock.poll(int(wait * 1000))
        assert not got, "a refused subscriber got %r" % (self.sock.recv_multipart(),)


class SecureDaemon(h.Steerd):
    """A steerd in a temp dir holding keys/: server, alice (operator), bob (observer)."""

    def __init__(self, clients=None, endpoints=None, start="paused", extra_keys=(), **kw):
        h.Steerd.__init__(self, config="placeholder\n", **kw)
        self.keys = os.path.join(self.tmp, "keys")
        for name in ("server", "alice", "bob") + tuple(extra_keys):
            keygen(self.keys, name)
        if clients is None:
            clients = [{"key": "keys/alice.key", "role": "operator"},
                       {"key": "keys/bob.key", "role": "observer", "name": "bob-laptop"}]
        self.write_config(config_text(clients, endpoints, start))
        self.server_public = zmq.auth.load_certificate(os.path.join(self.keys, "server.key"))[0]

    def write_config(self, text):
        self.config_text = text
        with open(self.config_path, "w") as f:
            f.write(text)

    def secret(self, name):
        return os.path.join(self.keys, name + ".key_secret")

    def curve_client(self, key, name="tester"):
        c = CurveClient(self.conn["control"], self.server_public,
                        self.secret(key) if isinstance(key, str) else key, name=name)
        self._clients.append(c)
        return c

    def curve_subscriber(self, key, *topics, sync=True):
        s = CurveSubscriber(self.conn["diagnostics"], self.server_public,
                            self.secret(key) if isinstance(key, str) else key,
                            topics or ("",), sync=sync)
        self._clients.append(s)
        return s


class SecurityTestCase(h.DaemonTestCase):
    autostart = False

    def secure(self, **kw):
        d = SecureDaemon(**kw)
        self.addCleanup(d.cleanup)
        self._daemons = getattr(self, "_daemons", []) + [d]
        d.start()
        return d


class Admission(SecurityTestCase):
    def test_connection_file_has_the_server_key(self):
        d = self.secure()
        self.assertEqual(d.conn["server_key"], d.server_public.decode())
        self.assertIn("security on", d.stderr())
        self.assertIn("self-test passed", d.stderr())

    def test_unknown_key_gets_nothing(self):
        d = self.secure()
        stranger = zmq.curve_keypair()
        d.curve_client(stranger).nothing()
        d.curve_subscriber(stranger, sync=False).nothing()
        # A known key on the same daemon is served: the silence was the refusal.
        self.assertEqual(d.curve_client("alice")("hello")["protocol"], 1)
        self.assertIn("unknown key", d.stderr())

    def test_plaintext_gets_nothing(self):
        d = self.secure()
        d.curve_client(None).nothing()
        d.curve_subscriber(None, sync=False).nothing()
        self.assertEqual(d.curve_client("bob")("status")["state"], "paused")

    def test_wrong_server_key_gets_nothing(self):
        d = self.secure()
        c = CurveClient(d.conn["control"], zmq.curve_keypair()[0], d.secret("alice"))
        d._clients.append(c)
        c.nothing()


class Roles(SecurityTestCase):
    def test_observer_reads_and_watches_but_cannot_change(self):
        d = self.secure()
        bob = d.curve_client("bob", name="alice")  # header.client cannot impersonate
        sub = d.curve_subscriber("bob", "scalars", "event.")
        hello = bob("hello")
        self.assertEqual(hello["diagnostics_endpoint"], d.conn["diagnostics"])
        bob("status")
        bob("params")
        bob("get", {"names": ["anode_voltage"]})
        bob("ramps")
        bob("snapshot")
        writes = [c["name"] for c in hello["commands"] if c["changes"]]
        reads = [c["name"] for c in hello["commands"] if not c["changes"]]
        self.assertIn("set", writes)
        self.assertIn("ramps", reads)
        for cmd in writes:
            with self.subTest(cmd=cmd):
                hdr, body = bob.request(cmd, {})
                h.check_error_reply(hdr, body)
                self.assertEqual(body["error"]["code"], "forbidden", body)
                self.assertIn("operator", body["error"]["message"])
                self.assertIn("bob-laptop", body["error"]["message"])
        for cmd in reads:
            with self.subTest(cmd=cmd):
                hdr, body = bob.request(cmd, {})
                self.assertFalse(hdr["ok"] is False and body["error"]["code"] == "forbidden", body)
        # Nothing changed; the observer's stream works.
        self.assertEqual(bob.get1("anode_voltage"), 1000.0)
        d.curve_client("alice")("step", {"n": 2})
        m = sub.expect(lambda m: m.topic == "scalars")[0]
        self.assertGreaterEqual(m["step"], 1)
        self.assertIn("refused set from bob-laptop", d.stderr())

    def test_operator_steers_under_its_key_name(self):
        d = self.secure()
        alice = d.curve_client("alice", name="mallory")
        sub = d.curve_subscriber("alice", "event.")
        r = alice("set", {"values": {"anode_voltage": 1500.0}})
        self.assertIsInstance(r, dict)
        ev = sub.event("knob_changed", knob="anode_voltage")
        self.assertEqual(ev["client"], "alice")
        self.assertEqual(alice.get1("anode_voltage"), 1500.0)
        alice.step_and_wait(3)
        self.assertIn("set by alice applied", d.stderr())
        self.assertNotIn("mallory", d.stderr())


class Reload(SecurityTestCase):
    def test_sighup_after_removing_a_client_revokes_it(self):
        d = self.secure(start="running")
        alice, bob = d.curve_client("alice"), d.curve_client("bob")
        bob_sub = d.curve_subscriber("bob", "heartbeat")
        alice_sub = d.curve_subscriber("alice", "heartbeat")
        bob("status")
        d.write_config(config_text([{"key": "keys/alice.key", "role": "operator"}],
                                   start="running"))
        d.proc.send_signal(signal.SIGHUP)

        def bob_refused():
            hdr, body = bob.request("status")
            return hdr["ok"] is False and body["error"]["code"] == "forbidden" and body
        body = h.wait_until(bob_refused, what="bob's status refused after SIGHUP")
        self.assertIn("revoked", body["error"]["message"])
        h.wait_until(lambda: "rebound" in d.stderr() or "bound again" in d.stderr(),
                     what="the diagnostics socket bound again")
        # Alice's subscriber reconnects by itself and hears heartbeats again:
        # one published after the rebind.
        seq = alice("status")["seq"]
        alice_sub.expect(lambda m: m["seq"] > seq, what="a heartbeat after the rebind")
        # Bob's hears nothing any more.
        bob_sub.drain(quiet=0.3)
        bob_sub.nothing()
        alice("status")
        self.assertIn("1 removed", d.stderr())

    def test_ipc_stream_comes_back_after_a_rebind(self):
        # libzmq's old ipc listener unlinks the socket file when it closes,
        # possibly after the new bind: steerd must notice and bind again.
        d = SecureDaemon(start="running")
        ipc = {"control": "ipc://%s/ctl" % d.tmp, "diagnostics": "ipc://%s/diag" % d.tmp}
        clients = [{"key": "keys/alice.key", "role": "operator"},
                   {"key": "keys/bob.key", "role": "observer"}]
        d.write_config(config_text(clients, ipc, start="running"))
        self.addCleanup(d.cleanup)
        self._daemons = [d]
        d.start()
        alice = d.curve_client("alice")
        for i in range(3):
            sub = d.curve_subscriber("alice", "heartbeat")
            clients = clients[:1] if i % 2 == 0 else clients + [{"key": "keys/bob.key",
                                                                 "role": "observer"}]
            d.write_config(config_text(clients, ipc, start="running"))
            before = d.stderr().count("bound again")
            d.proc.send_signal(signal.SIGHUP)
            h.wait_until(lambda: "reloaded" in d.stderr().split("SIGHUP")[-1],
                         what="reload %d" % i)
            if i % 2 == 0:
                h.wait_until(lambda: d.stderr().count("bound again") > before, what="rebind")
            seq = alice("status")["seq"]
            sub.expect(lambda m: m["seq"] > seq, timeout=10, what="a heartbeat after reload")
            self.assertTrue(os.path.exists(d.tmp + "/diag"))

    def test_deleted_key_file_is_revoked_and_a_broken_config_changes_nothing(self):
        d = self.secure(extra_keys=("carol",), clients=[
            {"key": "keys/alice.key", "role": "operator"},
            {"key": "keys/carol.key", "role": "operator"}])
        alice, carol = d.curve_client("alice"), d.curve_client("carol")
        carol("set", {"values": {"anode_voltage": 1200.0}})

        # A config that does not parse: the keys in effect stay.
        good = d.config_text
        d.write_config(good + "  bogus: 1\n")
        d.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: "reload failed" in d.stderr(), what="the failed reload logged")
        self.assertIn("unknown key 'bogus' in security", d.stderr())
        carol("status")

        # Carol's key file is gone: her key is out.
        d.write_config(good)
        os.unlink(os.path.join(d.keys, "carol.key"))
        d.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: carol.request("status")[0]["ok"] is False, what="carol refused")
        self.assertIn("carol.key", d.stderr())
        self.assertEqual(alice.get1("anode_voltage"), 1200.0)

    def test_demotion_takes_effect_on_the_next_command(self):
        d = self.secure()
        alice = d.curve_client("alice")
        alice("pause")
        d.write_config(config_text([{"key": "keys/alice.key", "role": "observer"},
                                    {"key": "keys/bob.key", "role": "observer"}]))
        d.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: alice.request("resume")[0]["ok"] is False, what="alice demoted")
        self.assertEqual(alice.error("set", {"values": {"anode_voltage": 1.0}}), "forbidden")
        alice("status")
        self.assertIn("0 removed", d.stderr())


class StartUp(SecurityTestCase):
    def test_loose_secret_file_is_refused(self):
        d = SecureDaemon()
        self.addCleanup(d.cleanup)
        os.chmod(d.secret("server"), 0o640)
        d.start(wait=False)
        self.assertEqual(d.wait_exit(), 78)
        err = d.stderr()
        self.assertIn("server.key_secret", err)
        self.assertFalse(os.path.exists(d.conn_path))
        d.check_sanitizers()

    def test_missing_client_key_is_refused(self):
        d = SecureDaemon()
        self.addCleanup(d.cleanup)
        os.unlink(os.path.join(d.keys, "bob.key"))
        d.start(wait=False)
        self.assertEqual(d.wait_exit(), 78)
        self.assertIn("bob.key", d.stderr())

    def test_check(self):
        d = SecureDaemon()
        self.addCleanup(d.cleanup)
        r = subprocess.run([h.BIN, "-c", d.config_path, "--check"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("security on", r.stdout)
        os.chmod(d.secret("server"), 0o604)
        r = subprocess.run([h.BIN, "-c", d.config_path, "--check"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 78)
        self.assertIn("server.key_secret", r.stderr)
        d.write_config(config_text([{"key": "keys/alice.key", "role": "admin"}]))
        r = subprocess.run([h.BIN, "-c", d.config_path, "--check"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 78)
        self.assertIn("config.yaml:", r.stderr)
        self.assertIn("'admin' is not one of: observer, operator", r.stderr)

    def test_keygen_never_overwrites(self):
        d = SecureDaemon()
        self.addCleanup(d.cleanup)
        r = subprocess.run([h.BIN, "keygen", "alice", "--dir", d.keys], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 73, r.stderr)


class RemoteBinds(SecurityTestCase):
    def test_without_security_a_wildcard_bind_is_refused(self):
        d = h.Steerd(config=config_text([], {"control": "tcp://0.0.0.0:*"}, security=False))
        self.addCleanup(d.cleanup)
        d.start(wait=False)
        self.assertEqual(d.wait_exit(), 78)
        self.assertIn("binding 0.0.0.0 without security is refused", d.stderr())

    def test_allow_remote_without_security_warns(self):
        d = h.Steerd(config=config_text([], {"control": "tcp://0.0.0.0:*", "allow_remote": True},
                                        security=False))
        self.addCleanup(d.cleanup)
        self._daemons = [d]
        d.start()
        self.assertNotIn("server_key", d.conn)
        c = h.Client(local(d.conn["control"]))
        self.addCleanup(c.close)
        self.assertEqual(c("status")["state"], "paused")
        self.assertIn("no security configured and endpoints.allow_remote is set", d.stderr())

    def test_with_security_a_wildcard_bind_is_allowed(self):
        d = self.secure(endpoints={"control": "tcp://0.0.0.0:*", "diagnostics": "tcp://*:*"})
        self.assertEqual(d.curve_client("bob")("status")["state"], "paused")
        d.curve_subscriber("bob", "heartbeat")
        d.curve_client(zmq.curve_keypair()).nothing()


@unittest.skipUnless(os.path.exists(CONSOLE), "steer-console not built")
class Console(SecurityTestCase):
    def run_console(self, d, key, script, extra=()):
        args = [CONSOLE, "-C", d.conn_path, "--timeout", "2s", "-e", script] + list(extra)
        if key:
            args += ["--key", d.secret(key)]
        return subprocess.run(args, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, env=d.env)

    def test_operator_console_steers(self):
        d = self.secure()
        r = self.run_console(d, "alice", "set anode_voltage 1300; get anode_voltage")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1300", r.stdout)

    def test_python_example_client_with_key(self):
        client = os.path.join(h.REPO, "examples", "python", "steer_client.py")
        def run(key, *cmd):
            return subprocess.run([h.PYTHON if hasattr(h, "PYTHON") else "/usr/bin/python3", client,
                                   "-C", d.conn_path, "--key", d.secret(key)] + list(cmd),
                                  capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL)
        d = self.secure()
        r = run("alice", "set", "anode_voltage", "1250")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("bob", "get", "anode_voltage")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("1250", r.stdout)
        r = run("bob", "set", "anode_voltage", "1300")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("forbidden", r.stdout + r.stderr)

    def test_observer_console_is_refused_changes(self):
        d = self.secure()
        r = self.run_console(d, "bob", "status; set anode_voltage 1300")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("forbidden", r.stderr)
        self.assertIn("paused", r.stdout)

    def test_console_by_endpoint_with_server_key(self):
        d = self.secure()
        pub = os.path.join(d.keys, "server.key")
        r = subprocess.run([CONSOLE, local(d.conn["control"]), "--key", d.secret("alice"),
                            "--server-key", pub, "--timeout", "2s", "-e", "status"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([CONSOLE, local(d.conn["control"]), "--key", d.secret("alice"),
                            "--server-key", d.server_public.decode(), "--timeout", "2s",
                            "-e", "status"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_console_without_key_says_so(self):
        d = self.secure()
        r = self.run_console(d, None, "status")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--key", r.stderr)


class AbstractIpcWithSecurity(SecurityTestCase):
    """#12 item 11: with security an abstract ipc socket is allowed (CURVE guards it)."""

    def test_abstract_ipc_with_curve(self):
        d = SecureDaemon()
        name = "ipc://@steerd-test-%d-%s" % (os.getpid(), os.path.basename(d.tmp))
        d.write_config(config_text([{"key": "keys/alice.key", "role": "operator"}],
                                   {"control": name + "-ctl", "diagnostics": name + "-diag"}))
        self.addCleanup(d.cleanup)
        self._daemons = [d]
        d.start()
        self.assertEqual(d.conn["control"], name + "-ctl")
        self.assertEqual(d.curve_client("alice")("status")["state"], "paused")
        d.curve_client(zmq.curve_keypair()).nothing()


def lowest_free_fd(pid):
    used = {int(n) for n in os.listdir("/proc/%d/fd" % pid)}
    fd = 0
    while fd in used:
        fd += 1
    return fd


class FilePermissions(SecurityTestCase):
    """#12 item 12: key files and the config that another user could change are refused,
    naming the file, at start (exit 78) and on reload (the keys in effect stay)."""

    def start_refused(self, d, name):
        d.start(wait=False)
        self.assertEqual(d.wait_exit(), 78, d.stderr())
        self.assertIn(name, d.stderr())
        self.assertFalse(os.path.exists(d.conn_path))
        d.check_sanitizers()

    def test_writable_key_file_or_config_refused_at_start(self):
        # Group write alone depends on the group (a user private group is
        # fine): test_config_cli.py TestConfigPermissions covers it.
        for what, mode in (("alice.key", 0o666), ("alice.key", 0o602), ("config.yaml", 0o646),
                           ("config.yaml", 0o662)):
            with self.subTest(file=what, mode=oct(mode)):
                d = SecureDaemon()
                self.addCleanup(d.cleanup)
                os.chmod(os.path.join(d.keys, what) if what.endswith(".key") else d.config_path, mode)
                self.start_refused(d, what)
                self.assertIn("writable by", d.stderr())

    def test_key_directory_writable_by_others(self):
        d = SecureDaemon()
        self.addCleanup(d.cleanup)
        os.chmod(d.keys, 0o777)
        self.start_refused(d, "/keys is writable by")
        self.assertIn("not sticky", d.stderr())
        # A sticky directory of ours (like /tmp) is fine.
        os.chmod(d.keys, 0o1777)
        d2 = self.secure()
        self.assertEqual(d2.curve_client("alice")("status")["state"], "paused")

    def test_swapped_writable_key_is_not_admitted_on_reload(self):
        d = self.secure(extra_keys=("mallory",))
        alice = d.curve_client("alice")
        alice("status")
        # Someone could write alice.key: they put mallory's key in it.
        alice_key = os.path.join(d.keys, "alice.key")
        with open(os.path.join(d.keys, "mallory.key")) as src, open(alice_key, "w") as dst:
            dst.write(src.read())
        os.chmod(alice_key, 0o666)
        d.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: "the keys in effect stay" in d.stderr(), what="the reload refused")
        self.assertIn("alice.key", d.stderr().split("SIGHUP")[-1])
        d.curve_client("mallory").nothing()
        alice("set", {"values": {"anode_voltage": 1100.0}})
        # The config file too.
        os.chmod(alice_key, 0o644)
        os.chmod(d.config_path, 0o666)
        before = d.stderr().count("the keys in effect stay")
        d.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: d.stderr().count("the keys in effect stay") > before,
                     what="the reload refused")
        self.assertIn("config.yaml", d.stderr().split("SIGHUP")[-1])
        d.curve_client("mallory").nothing()
        alice("status")


class RevocationFailsClosed(SecurityTestCase):
    """#12 item 13: a key list that cannot be read on SIGHUP (here: no file descriptor left,
    RLIMIT_NOFILE lowered on the running daemon) refuses every key's writes until a retry
    reads it; what a revoked key started is cancelled."""

    def test_unreadable_list_refuses_writes_until_a_retry_reads_it(self):
        d = self.secure(extra_keys=("carol",), clients=[
            {"key": "keys/alice.key", "role": "operator"},
            {"key": "keys/carol.key", "role": "operator"}])
        alice, carol = d.curve_client("alice"), d.curve_client("carol")
        sub = d.curve_subscriber("alice", "event.")
        carol("ramp", {"ramps": [{"knob": "injected_current", "to": 1500, "steps": 10 ** 6}]})
        sub.event("ramp_started", client="carol")
        # Carol is removed from the list, but the list cannot be read.
        d.write_config(config_text([{"key": "keys/alice.key", "role": "operator"}]))
        import resource
        soft, hard = resource.prlimit(d.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (lowest_free_fd(d.pid), hard))
        restored = [False]

        def restore():
            if not restored[0]:
                resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (soft, hard))
                restored[0] = True
        self.addCleanup(restore)
        d.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: "client key list cannot be read" in d.stderr(),
                     what="the unreadable list logged")
        for who in (alice, carol):
            self.assertEqual(who.error("set", {"values": {"anode_voltage": 1200.0}}),
                             "keys_unavailable")
        hdr, body = alice.request("resume")
        self.assertEqual(body["error"]["code"], "keys_unavailable", body)
        self.assertIn("cannot be read", body["error"]["message"])
        self.assertEqual(alice("status")["state"], "paused")  # reads go on
        ev = sub.event("ramp_cancelled", knob="injected_current")
        self.assertEqual(ev["client"], "steerd")
        # Retried every second, logged; nothing changes while it fails.
        h.wait_until(lambda: "(attempt 2)" in d.stderr(), what="two retries")
        self.assertEqual(alice.error("set", {"values": {"anode_voltage": 1200.0}}),
                         "keys_unavailable")
        restore()
        h.wait_until(lambda: "readable again" in d.stderr(), what="a retry that reads the list")
        alice("set", {"values": {"anode_voltage": 1200.0}})
        self.assertEqual(carol.error("status"), "forbidden")
        self.assertEqual(alice.get1("anode_voltage"), 1200.0)

    def test_revoked_key_search_is_cancelled(self):
        d = self.secure(extra_keys=("carol",), clients=[
            {"key": "keys/alice.key", "role": "operator"},
            {"key": "keys/carol.key", "role": "operator"}])
        alice, carol = d.curve_client("alice"), d.curve_client("carol")
        sub = d.curve_subscriber("alice", "event.")
        rid = carol.next_id()
        carol.send_raw([b"", json.dumps({"cmd": "search", "id": rid, "client": "carol"}).encode(),
                        json.dumps({"knob": "injected_current", "from": 100, "to": 300,
                                    "until": "virtual_cathode", "hold": 10 ** 7}).encode()])
        sub.event("search_started")
        d.write_config(config_text([{"key": "keys/alice.key", "role": "operator"}]))
        d.proc.send_signal(signal.SIGHUP)
        # (The search_finished event goes out as the revocation binds the stream anew: the
        # subscribers, reconnecting, see it or a seq gap.)
        hdr, body = carol.recv_reply(want_id=rid)
        self.assertFalse(hdr["ok"])
        self.assertEqual(body["error"]["code"], "forbidden")
        self.assertIn("key 'carol' is not admitted", body["error"]["message"])
        alice("set", {"values": {"injected_current": 150.0}})  # no search under way


@unittest.skipUnless(os.path.exists(CONSOLE), "steer-console not built")
class ConsoleBadKey(SecurityTestCase):
    """#12 item 14: a --key file that cannot be used is refused without a leak (LeakSanitizer
    in the ASan build)."""

    def test_bad_key_file_is_refused_without_leaking(self):
        d = self.secure()
        junk = os.path.join(d.tmp, "junk.key_secret")
        with open(junk, "w") as f:
            f.write("not a key\n")
        os.chmod(junk, 0o600)
        env = dict(d.env, ASAN_OPTIONS="detect_leaks=1")
        for key in (junk, os.path.join(d.tmp, "missing.key_secret"), d.keys):
            with self.subTest(key=key):
                r = subprocess.run([CONSOLE, "-C", d.conn_path, "--key", key, "--timeout", "2s",
                                    "-e", "status"], capture_output=True, text=True, timeout=60,
                                   stdin=subprocess.DEVNULL, env=env)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(os.path.basename(key), r.stderr)
                self.assertIsNone(h.sanitizer_report(r.stderr), r.stderr)


if __name__ == "__main__":
    h.run_tests(Admission, Roles, Reload, StartUp, RemoteBinds, Console, ConsoleBadKey,
                AbstractIpcWithSecurity, FilePermissions, RevocationFailsClosed)
