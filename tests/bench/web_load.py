# SPDX-License-Identifier: MIT
"""What browsers on steer-web cost the simulation (make bench).

    /usr/bin/python3 tests/bench/web_load.py [--build build] [--rounds 5] [--seconds 3]

One steerd runs the default diode flat out, steer-web attached to it for the
whole measurement. Rounds alternate two phases: no browser, and two
browsers: a live one (headless Chromium showing the page, drawing and
acknowledging every frame it can) and a stalled one (a WebSocket client that
never reads nor acknowledges). Each phase measures steps per second from the
run's step count over wall time; the figure is median(browsers) / median(none)
and must be at least --min-ratio (0.98).

As in tests/soak/load.py, steerd runs with run.simulation_cpu on the last CPU
and steer-web, Chromium and this script run on the others, standing in for a
deployment where the browsers are on other machines: the figure measures
whether serving browsers makes the simulation wait. Chromium runs at nice 19
for the same reason. The simulation thread's CPU time per step is reported
too (with and without browsers): on a machine shared with other work it is
the figure that says whether the simulation itself did more.
"""
import argparse
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("STEERD_BUILD", "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--min-ratio", type=float, default=0.98)
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
            os.sched_setaffinity(0, set(cpus[:-1]))
        web = W.SteerWeb(d.conn_path)
        # Chromium (and this script from here on) at the lowest priority: it stands in
        # for a browser on another machine, and must not push the machine's other
        # work onto the simulation's CPU. steer-web, started above, keeps its priority.
        os.nice(19)
        browser = W.browser()
        # A measurement, not a synchronisation: wall-time windows are what is measured.
        window = threading.Event()
        window.wait(1.0)  # the beam fills the gap: let the step cost settle

        def phase(browsers):
            stalled = None
            frames0 = 0
            if browsers:
                stalled = web.ws(web.observer_token)  # never read from
                browser.get(web.url(web.observer_token))
                H.wait_until(lambda: browser.execute_script(
                    "return window.steerWeb && steerWeb.frames > 0"), 30, what="the page")
                frames0 = browser.execute_script("return steerWeb.frames")
            s0 = probe.status()["step"]
            t0 = time.monotonic()
            c0, w0 = sim_schedstat(d.pid)
            window.wait(args.seconds)  # the measured window
            s1 = probe.status()["step"]
            t1 = time.monotonic()
            c1, w1 = sim_schedstat(d.pid)
            cpu_us.append((browsers, (c1 - c0) / 1e3 / max(1, s1 - s0), (w1 - w0) / 1e7 / (t1 - t0)))
            frames = 0
            if browsers:
                frames = browser.execute_script("return steerWeb.frames") - frames0
                browser.get("about:blank")
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
        print("steer-web: %d rounds of %.0f s, medians%s:" % (
            args.rounds, args.seconds, ", run.simulation_cpu %d" % cpus[-1] if pin else ""))
        print("  steps/s without browsers %.0f, with a live and a stalled browser %.0f: ratio %.1f%% "
              "(target >= %.0f%%: %s); the live page drew %.1f frames/s"
              % (mn, ml, 100 * ratio, 100 * args.min_ratio,
                 "met" if ratio >= args.min_ratio else "NOT met", statistics.median(fps)), flush=True)
        per_step = {}
        for label, flag in (("without browsers", False), ("with browsers", True)):
            per_step[flag] = statistics.median(x[1] for x in cpu_us if x[0] == flag)
            wait = statistics.median(x[2] for x in cpu_us if x[0] == flag)
            print("  simulation thread %s: %.1f us CPU per step, waiting for its CPU %.0f%% of the time"
                  % (label, per_step[flag], wait))
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
