# SPDX-License-Identifier: MIT
"""Load on a live steerd: many subscribers (some of them stalled), many
clients hammering `get`, and what it costs the simulation.

    /usr/bin/python3 tests/soak/load.py [--build build] [--rounds 5] [--seconds 3]
    /usr/bin/python3 tests/soak/load.py --bench      # one line per figure, for make bench

One daemon runs the default diode (configs/diode.yaml's knobs and diagnostics
cadence) for the whole measurement. Rounds alternate: an unloaded phase (no
subscriber, no client but one status probe) and a loaded phase (50
subscribers to everything, 10 of them stalled: RCVHWM 1, a small kernel
buffer, and they never read; plus 10 clients sending `get` back to back).
Each phase measures steps per second from the run's step count over wall
time; the figure is median(loaded) / median(unloaded), and it must be at
least --min-ratio (0.95). The daemon's RSS (VmRSS) is sampled all along and
must stay under --max-rss-mb and stop growing.

The load generator shares the machine with the daemon. By default (with at
least 2 CPUs) steerd runs with run.simulation_cpu set to the last CPU, which
keeps its own threads off the simulation's core, and the load generator runs
on the other CPUs: the figure then measures whether serving subscribers and
clients makes the simulation wait, not how much CPU a Python load generator
on the same box takes from it (on a real deployment the clients are on other
machines). --no-pin measures both together.

The Load class is also used by tests/integration/test_faults.py for a short
correctness run with no timing assertions.
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))


def rss_kb(pid):
    """VmRSS of PID in KiB (0 when the process is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sim_schedstat(pid):
    """(ns on CPU, ns waiting for a CPU) of the simulation thread: steerd's
    main thread, whose thread id is the process id."""
    try:
        with open("/proc/%d/task/%d/schedstat" % (pid, pid)) as f:
            run, wait = f.read().split()[:2]
        return int(run), int(wait)
    except (OSError, ValueError):
        return 0, 0


class Load:
    """Subscribers and get-hammering clients on one daemon's endpoints.

    start() connects everything and starts the threads; stop() ends them and
    closes every socket. Counters: gets (replies received), get_errors
    (error replies), max_get_latency (s), received (stream messages read by
    the reading subscribers)."""

    def __init__(self, conn, subscribers=50, stalled=10, getters=10, names=("step", "j_transmitted", "injected_current"),
                 reply_timeout=20.0, getter_pause=0.0):
        self.conn = conn
        self.n_subs = subscribers
        self.n_stalled = stalled
        self.n_getters = getters
        self.names = list(names)
        self.reply_timeout = reply_timeout
        self.getter_pause = getter_pause
        self.ctx = zmq.Context()
        self.stop_flag = threading.Event()
        self.threads = []
        self.stalled = []
        self.lock = threading.Lock()
        self.gets = 0
        self.get_errors = 0
        self.max_get_latency = 0.0
        self.received = 0
        self.failures = []

    def _sub(self, hwm, rcvbuf=None):
        s = self.ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVHWM, hwm)
        if rcvbuf:
            s.setsockopt(zmq.RCVBUF, rcvbuf)
        s.connect(self.conn["diagnostics"])
        s.setsockopt(zmq.SUBSCRIBE, b"")
        return s

    def start(self):
        self.stop_flag.clear()
        for _ in range(self.n_stalled):
            self.stalled.append(self._sub(1, rcvbuf=4096))
        readers = [self._sub(1000) for _ in range(self.n_subs - self.n_stalled)]
        t = threading.Thread(target=self._read, args=(readers,), daemon=True)
        t.start()
        self.threads.append(t)
        for i in range(self.n_getters):
            t = threading.Thread(target=self._hammer, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30)
        self.threads = []
        for s in self.stalled:
            s.close(0)
        self.stalled = []
        self.ctx.term()
        if self.failures:
            raise AssertionError("load clients failed: %s" % "; ".join(self.failures[:5]))

    def _read(self, socks):
        poller = zmq.Poller()
        for s in socks:
            poller.register(s, zmq.POLLIN)
        n = 0
        try:
            while not self.stop_flag.is_set():
                for s, _ in poller.poll(100):
                    # read what is queued on this socket, a bounded batch
                    for _ in range(64):
                        try:
                            s.recv_multipart(zmq.NOBLOCK)
                            n += 1
                        except zmq.Again:
                            break
                with self.lock:
                    self.received += n
                n = 0
        finally:
            for s in socks:
                s.close(0)

    def _hammer(self, i):
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.conn["control"])
        body = json.dumps({"names": self.names}).encode()
        n = errs = 0
        worst = 0.0
        try:
            while not self.stop_flag.is_set():
                n += 1
                hdr = json.dumps({"cmd": "get", "id": n, "client": "load-%d" % i}).encode()
                t0 = time.monotonic()
                s.send_multipart([b"", hdr, body])
                if not s.poll(int(self.reply_timeout * 1000)):
                    self.failures.append("getter %d: no reply within %.0f s" % (i, self.reply_timeout))
                    return
                frames = s.recv_multipart()
                dt = time.monotonic() - t0
                worst = max(worst, dt)
                h = json.loads(frames[1])
                if h.get("id") != n:
                    self.failures.append("getter %d: reply id %r, expected %d" % (i, h.get("id"), n))
                    return
                if not h.get("ok"):
                    errs += 1
                if n % 64 == 0:
                    with self.lock:
                        self.gets += 64
                if self.getter_pause:
                    time.sleep(self.getter_pause)
        finally:
            with self.lock:
                self.gets += n % 64
                self.get_errors += errs
                self.max_get_latency = max(self.max_get_latency, worst)
            s.close(0)


# ------------------------------------------------------------------ measurement


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("STEERD_BUILD", "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each phase")
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--stalled", type=int, default=10)
    ap.add_argument("--getters", type=int, default=10)
    ap.add_argument("--min-ratio", type=float, default=0.95)
    ap.add_argument("--max-rss-mb", type=float, default=256.0)
    ap.add_argument("--no-pin", dest="pin", action="store_false",
                    help="do not set run.simulation_cpu nor move the load generator off it")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when the speed target is missed (RSS is always enforced)")
    ap.add_argument("--bench", action="store_true", help="terse output for make bench")
    args = ap.parse_args(argv)
    os.environ["STEERD_BUILD"] = args.build
    import steerd_harness as H  # after STEERD_BUILD is set

    def say(msg):
        if not args.bench:
            print(msg, flush=True)

    cpus = sorted(os.sched_getaffinity(0))
    pin = args.pin and len(cpus) >= 2
    cfg = H.make_config(start="running", diagnostics={"scalars_every": 1, "arrays_every": 100,
                                                        "heartbeat_ms": 1000, "send_hwm": 1000},
                        run={"simulation_cpu": cpus[-1]} if pin else None)
    d = H.Steerd(config=cfg)
    rss = []
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            rss.append(rss_kb(d.pid))
            sampling.wait(0.25)

    t_start = time.monotonic()
    try:
        d.start()
        probe = d.client("load-probe")
        if pin:  # the load generator, like steerd's own threads, off the simulation's CPU
            os.sched_setaffinity(0, set(cpus[:-1]))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(1.0)  # the beam fills the gap: let the step cost settle
        rss_idle_kb = rss_kb(d.pid)

        def phase(load):
            if load:
                load.start()
                time.sleep(0.5)  # connections up, queues filled
            s0 = probe.status()["step"]
            t0 = time.monotonic()
            c0, w0 = sim_schedstat(d.pid)
            time.sleep(args.seconds)
            s1 = probe.status()["step"]
            t1 = time.monotonic()
            c1, w1 = sim_schedstat(d.pid)
            if load:
                load.stop()
                time.sleep(0.3)  # disconnections seen
            rate = (s1 - s0) / (t1 - t0)
            cpu_us = (c1 - c0) / 1e3 / max(1, s1 - s0)
            say("  %-8s %6.0f steps/s; simulation thread: %5.1f us CPU per step, on a CPU %3.0f%% "
                "of the time, waiting for one %3.0f%%" % ("loaded" if load else "unloaded", rate, cpu_us,
                                                         (c1 - c0) / 1e7 / (t1 - t0),
                                                         (w1 - w0) / 1e7 / (t1 - t0)))
            return rate, cpu_us

        unloaded, loaded, gets, worst, received = [], [], 0, 0.0, 0
        for r in range(args.rounds):
            load = Load(d.conn, args.subscribers, args.stalled, args.getters)
            # alternate which phase goes first: a drift in machine load hits both
            if r % 2 == 0:
                unloaded.append(phase(None))
            loaded.append(phase(load))
            if r % 2 == 1:
                unloaded.append(phase(None))
            gets += load.gets
            received += load.received
            worst = max(worst, load.max_get_latency)
            say("round %d: unloaded %.0f steps/s, loaded %.0f steps/s (%d gets, %d stream messages read)"
                % (r + 1, unloaded[-1][0], loaded[-1][0], load.gets, load.received))
            if not d.alive():
                raise AssertionError("steerd died under load\n" + d.tail())
        sampling.set()
        sampler.join(5)
        d.stop()

        mu = statistics.median(x[0] for x in unloaded)
        ml = statistics.median(x[0] for x in loaded)
        cu = statistics.median(x[1] for x in unloaded)
        cl = statistics.median(x[1] for x in loaded)
        ratio = ml / mu if mu else 0.0
        cpu_ratio = cu / cl if cl else 0.0
        peak = max(rss)
        half = len(rss) // 2
        first_peak, last_peak = max(rss[:half] or rss), max(rss[half:] or rss)
        grew = last_peak > first_peak * 1.10 + 8192
        rss_ok = peak <= args.max_rss_mb * 1024 and not grew
        met = "met" if ratio >= args.min_ratio else "NOT met"
        cpu_met = "met" if cpu_ratio >= args.min_ratio else "NOT met"
        print("load: %d subscribers (%d stalled, never reading) + %d clients sending get back to back, "
              "%d rounds of %.0f s, medians%s:" % (args.subscribers, args.stalled, args.getters,
                                                  args.rounds, args.seconds,
                                                  ", run.simulation_cpu %d" % cpus[-1] if pin else ""))
        print("  steps/s unloaded %.0f, loaded %.0f: ratio %.1f%% (target >= %.0f%%: %s)"
              % (mu, ml, 100 * ratio, 100 * args.min_ratio, met))
        print("  simulation thread CPU per step unloaded %.1f us, loaded %.1f us: ratio %.1f%% "
              "(the loaded rate with a core to itself; target >= %.0f%%: %s)"
              % (cu, cl, 100 * cpu_ratio, 100 * args.min_ratio, cpu_met))
        print("  daemon RSS idle %.1f MB, peak %.1f MB (first half %.1f MB, second half %.1f MB; "
              "bound %.0f MB, no growth: %s)" % (rss_idle_kb / 1024, peak / 1024, first_peak / 1024,
                                                 last_peak / 1024, args.max_rss_mb,
                                                 "ok" if rss_ok else "FAILED"))
        print("  %d gets answered (slowest %.1f ms), %d stream messages read; took %.0f s"
              % (gets, worst * 1000, received, time.monotonic() - t_start), flush=True)
        if not rss_ok:
            return 1
        if args.strict and (ratio < args.min_ratio):
            return 1
        return 0
    finally:
        sampling.set()
        d.cleanup()


if __name__ == "__main__":
    sys.exit(main())
