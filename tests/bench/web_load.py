# SPDX-License-Identifier: MIT
"""What browsers on steer-web cost the simulation (make bench).

    /usr/bin/python3 tests/bench/web_load.py [--build build] [--rounds 5] [--seconds 3]

One steerd runs the default diode flat out, steer-web attached to it for the
whole measurement. Rounds alternate two phases: no browser (no Chromium running), and two
browsers: a live one (headless Chromium showing the page, drawing and
acknowledging every frame it can) and a stalled one (a WebSocket client that
never reads nor acknowledges). Each phase measures steps per second from the
run's step count over wall time; the figure is median(browsers) / median(none)
and must be at least --min-ratio (0.98).

What runs where (printed with the figures): steerd's simulation thread has
the last CPU to itself (run.simulation_cpu); steerd's other threads,
steer-web, Chromium and this script share the others. The browsers stand
in for browsers on people's laptops, as in a real deployment: Chromium runs
as SCHED_IDLE once its page is up (it gets only CPU time nothing else
wants), and without CAP_SYS_NICE, since as root Chromium would otherwise
raise its own browser and GPU processes to nice -8 and the machine's other
work would be pushed onto the simulation's CPU. steer-web keeps normal priority: it runs
beside steerd in a real deployment too.

Besides the ratio it prints, per phase, the CPU time each part used
(seconds per second) and the simulation thread's CPU time per step and
share of time spent waiting for its CPU: on a machine shared with other
work these say whether the simulation did more work, or only waited.
"""
import argparse
import ctypes
import os
import statistics
import sys
import threading
import time

PR_CAPBSET_DROP = 24
CAP_SYS_NICE = 23

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))


def pin_all_threads(cpus):
    """sched_setaffinity(0) moves the calling thread only: libzmq's threads of
    this process (started with the first socket) are moved too."""
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


def start_browser(W):
    """Chromium at nice 19, unable to raise its priority (see above)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0)  # for what is exec'd from here on
    os.nice(19)
    return W.browser()


def make_idle(pids):
    """Every thread of pids SCHED_IDLE: done once the page is up, as a
    SCHED_IDLE Chromium could not start on a busy machine; without
    CAP_SYS_NICE it cannot go back, and what it starts later inherits it."""
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setscheduler(int(tid), os.SCHED_IDLE, os.sched_param(0))
            except OSError:
                pass  # a thread that has just ended


def cpu_seconds(pids):
    """utime + stime of the processes (their threads included), in seconds."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / hz


def descendants(pid):
    """Every process below pid (Chromium's are many, and come and go)."""
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("STEERD_BUILD", "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--min-ratio", type=float, default=0.98)
    ap.add_argument("--verbose", action="store_true", help="print every phase's figures")
    ap.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = ap.parse_args(argv)
    os.environ["STEERD_BUILD"] = args.build
    import steerd_harness as H
    import test_steer_web as W
    sys.path.insert(0, os.path.join(REPO, "tests", "soak"))
    from load import sim_schedstat

    cpus = sorted(os.sched_getaffinity(0))
    pin = len(cpus) >= 2
    cfg = H.make_config(start="running", diagnostics={"scalars_every": 1, "arrays_every": 100,
                                                        "heartbeat_ms": 1000, "send_hwm": 1000},
                        run={"simulation_cpu": cpus[-1]} if pin else None)
    d = H.Steerd(config=cfg)
    web = browser = None
    try:
        d.start()
        probe = d.client("web-bench")
        if pin:  # steer-web (a child), Chromium and this script off the simulation's CPU
            pin_all_threads(set(cpus[:-1]))
        web = W.SteerWeb(d.conn_path)
        # A measurement, not a synchronisation: wall-time windows are what is measured.
        window = threading.Event()
        window.wait(1.0)  # the beam fills the gap: let the step cost settle

        def phase(browsers):
            # Chromium is started for each phase with browsers and quit after it: a
            # Chromium left on about:blank was seen still busy with the page it left.
            nonlocal browser
            stalled = None
            frames0 = 0
            if browsers:
                browser = start_browser(W)
                stalled = web.ws(web.observer_token)  # never read from
                browser.get(web.url(web.observer_token))
                H.wait_until(lambda: browser.execute_script(
                    "return window.steerWeb && steerWeb.frames > 0"), 30, what="the page")
                frames0 = browser.execute_script("return steerWeb.frames")
            browser_pids = [p for p in descendants(os.getpid()) if p not in (web.proc.pid, d.pid)]
            make_idle(browser_pids)
            u0 = (cpu_seconds([web.proc.pid]), cpu_seconds(browser_pids))
            s0 = probe.status()["step"]
            t0 = time.monotonic()
            c0, w0 = sim_schedstat(d.pid)
            window.wait(args.seconds)  # the measured window
            s1 = probe.status()["step"]
            t1 = time.monotonic()
            c1, w1 = sim_schedstat(d.pid)
            u1 = (cpu_seconds([web.proc.pid]), cpu_seconds(browser_pids))
            cpu_us.append((browsers, (c1 - c0) / 1e3 / max(1, s1 - s0), (w1 - w0) / 1e7 / (t1 - t0),
                           (u1[0] - u0[0]) / (t1 - t0), (u1[1] - u0[1]) / (t1 - t0)))
            if args.verbose:
                print("  phase %-8s %6.0f steps/s, %.1f us/step, wait %.0f%%, steer-web %.2f s/s, "
                      "Chromium %.2f s/s" % ("browsers" if browsers else "none", (s1 - s0) / (t1 - t0),
                                             *cpu_us[-1][1:]), flush=True)
            frames = 0
            if browsers:
                frames = browser.execute_script("return steerWeb.frames") - frames0
                browser.quit()
                browser = None
                stalled.close()
            return (s1 - s0) / (t1 - t0), frames / (t1 - t0)

        none, loaded, fps, cpu_us = [], [], [], []
        for r in range(args.rounds):
            if r % 2 == 0:
                none.append(phase(False)[0])
            rate, f = phase(True)
            loaded.append(rate)
            fps.append(f)
            if r % 2 == 1:
                none.append(phase(False)[0])
            if not d.alive():
                raise AssertionError("steerd died\n" + d.tail())
        mn, ml = statistics.median(none), statistics.median(loaded)
        ratio = ml / mn if mn else 0.0
        print("steer-web: %d rounds of %.0f s, medians; %s" % (
            args.rounds, args.seconds,
            "the simulation thread alone on CPU %d (run.simulation_cpu); steerd's other threads, "
            "steer-web, SCHED_IDLE Chromium (a stand-in for browsers on other machines) and this "
            "script on CPU %s" % (cpus[-1], ",".join(map(str, cpus[:-1]))) if pin else
            "one CPU: everything shares it"))
        print("  steps/s without browsers %.0f, with a live and a stalled browser %.0f: ratio %.1f%% "
              "(target >= %.0f%%: %s); the live page drew %.1f frames/s"
              % (mn, ml, 100 * ratio, 100 * args.min_ratio,
                 "met" if ratio >= args.min_ratio else "NOT met", statistics.median(fps)), flush=True)
        per_step = {}
        for label, flag in (("without browsers", False), ("with browsers", True)):
            rows = [x for x in cpu_us if x[0] == flag]
            per_step[flag] = statistics.median(x[1] for x in rows)
            print("  %s: simulation thread %.1f us CPU per step, waiting for its CPU %.0f%% of the "
                  "time; CPU used by steer-web %.2f s/s, by Chromium %.2f s/s"
                  % (label, per_step[flag], statistics.median(x[2] for x in rows),
                     statistics.median(x[3] for x in rows), statistics.median(x[4] for x in rows)))
        cpu_ratio = per_step[False] / per_step[True] if per_step[True] else 0.0
        print("  simulation thread CPU per step, without vs with browsers: ratio %.1f%% (the rate with "
              "a core to itself; target >= %.0f%%: %s)" % (100 * cpu_ratio, 100 * args.min_ratio,
                                                         "met" if cpu_ratio >= args.min_ratio else "NOT met"))
        return 1 if args.strict and ratio < args.min_ratio else 0
    finally:
        if browser:
            browser.quit()
        if web:
            web.stop()
        d.cleanup()


if __name__ == "__main__":
    sys.exit(main())
