# SPDX-License-Identifier: MIT
"""The long soak: one steerd runs a small fast diode for at least --steps
steps and --seconds of wall time while consoles attach and detach (status,
get, set, ramp, snapshot-state, checkpoint through build/bin/steer-console
-e), subscribers come and go, periodic checkpoints rotate, and the run's
history is queried (by consoles, and `history` requests of up to 10^5 points
with random names, stats and ranges). The history store gets a small bound
(--history-bytes, 2 MiB, buckets of --history-bucket 4 samples) so that every
level of it is full and rotating before the second quarter (checked): with
the default 64 MiB its coarse levels would still be filling after days, and
that growth is by design, not a leak. RSS is sampled
every --sample seconds and must be flat: the mean of the last quarter of the
run within --flat (10%) of the mean of the second quarter. It must stop
cleanly (exit 0) on SIGTERM.

Then a shorter stretch of the same under the ASan/LeakSanitizer build
(--asan-build, default build/asan; skipped with a note when it is not built):
it must stop with exit 0 and no sanitizer or leak report.

    /usr/bin/python3 tests/soak/soak.py [--build build] [--steps 1000000] [--seconds 600]
                                        [--asan-build build/asan] [--asan-seconds 90]

`make soak` runs it with the defaults (about 12 minutes). Exit status 0 when
everything held, 1 otherwise; the last line says which.
"""
import argparse
import glob
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)


def say(msg):
    print(msg, flush=True)


def read_some(sub, most=2000):
    """Read what is queued on a subscriber, at most MOST messages (a busy
    topic never goes quiet)."""
    import zmq
    for _ in range(most):
        try:
            sub.sock.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return


_journal_cache = {}


def journal_entries(d):
    """Entries in the steering journal as of the newest rotated checkpoint
    (the journal is not exposed otherwise). It grows with every change, by
    design, up to 100000 entries."""
    import h5py
    files = sorted(glob.glob(os.path.join(d.tmp, "ckpt", "ckpt_*.h5")))
    for path in reversed(files):
        if path in _journal_cache:
            return _journal_cache[path]
        try:
            with h5py.File(path, "r") as f:
                n = len(json.loads(f["steerd/journal"][()]))
        except (OSError, KeyError, ValueError):
            continue  # rotated away meanwhile
        _journal_cache[path] = n
        return n
    return 0


HISTORY_NAMES = ["injected_current", "anode_voltage", "j_transmitted", "j_injected",
                 "steerd_boundary_fraction"]


def history_full(reply):
    """Every level of the store has dropped rows: it is full and rotating."""
    return all(level["first_seq"] > 1 for level in reply["levels"])


def query_history(probe, rng):
    """One `history` request as a client would make it; its reply body."""
    body = {"names": rng.sample(HISTORY_NAMES, rng.randrange(1, 4)),
            "max_points": rng.choice([10, 1000, 100000]),
            "stats": rng.sample(["min", "mean", "max"], rng.randrange(1, 4))}
    if rng.random() < 0.3:
        body["from_seq"] = rng.randrange(1, 200000)
    return probe("history", body)


def stretch(H, build, steps, seconds, sample_s, seed, asan, history):
    """One daemon, the whole workload; returns (ok, summary dict)."""
    from load import rss_kb
    binary = os.path.join(build if os.path.isabs(build) else os.path.join(REPO, build), "bin", "steerd")
    console = os.path.join(os.path.dirname(binary), "steer-console")
    if not os.path.exists(binary):
        raise SystemExit("soak: no steerd at %s (make BUILD=%s build)" % (binary, build))
    H.BIN = binary
    rng = random.Random(seed)
    cfg = H.make_config(start="running", knobs=H.FAST_KNOBS,
                        diagnostics={"scalars_every": 1, "arrays_every": 100, "heartbeat_ms": 1000,
                                     "send_hwm": 1000},
                        extra={"checkpoint": {"directory": "ckpt", "every_steps": 200000, "keep": 3},
                               "history": history})
    env = {"ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1:quarantine_size_mb=32"} if asan else None
    d = H.Steerd(config=cfg, env=env)
    problems = []
    rss = []  # (elapsed s, RSS KiB, journal entries)
    consoles = subs = queries = 0
    full_at = None  # elapsed s when every history level was rotating
    try:
        d.start()
        probe = d.client("soak-probe")
        t0 = time.monotonic()
        next_sample = t0
        sub = None
        while True:
            now = time.monotonic()
            step = probe.status()["step"]
            if step >= steps and now - t0 >= seconds:
                break
            if now >= next_sample:
                rss.append((now - t0, rss_kb(d.pid), journal_entries(d)))
                next_sample = now + sample_s
                if len(rss) % 30 == 0:
                    say("  %5.0f s  step %10d  RSS %.1f MB" % (now - t0, step, rss[-1][1] / 1024))
            # a console attaches, steers, detaches
            script = ["status", "get injected_current j_transmitted virtual_cathode",
                      "set anode_voltage %.0f V" % rng.uniform(900, 1100)]
            r = rng.random()
            if r < 0.5:
                script.append("ramp injected_current %.0f steps %d" % (rng.uniform(800, 1200),
                                                                      rng.randrange(1000, 20000)))
            elif r < 0.6:
                script.append('snapshot-state {"name": "soak%d"}' % rng.randrange(3))
            elif r < 0.65:
                script.append("checkpoint {}")
            elif r < 0.75:
                script.append("cancel")
            elif r < 0.85:
                script.append("history %s points %d" % (rng.choice(HISTORY_NAMES), rng.choice([20, 500])))
            p = subprocess.run([console, "-C", d.conn_path, "-n", "soak", "-e", "; ".join(script)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
            consoles += 1
            if p.returncode != 0:
                problems.append("console %r exited %d: %s" % (script, p.returncode,
                                                            p.stderr.decode(errors="replace")[-300:]))
                if len(problems) > 5:
                    break
            # a client reads the run's past
            reply = query_history(probe, rng)
            queries += 1
            if full_at is None and history_full(reply):
                full_at = now - t0
            # a subscriber comes or goes
            if sub is None and rng.random() < 0.5:
                sub = H.Subscriber(d.conn["diagnostics"], [rng.choice(["", "scalars", "event.", "array.phi"])],
                                   sync=False)
                subs += 1
            elif sub is not None and rng.random() < 0.3:
                read_some(sub)
                sub.close()  # often with messages still queued
                sub = None
            elif sub is not None:
                read_some(sub)
            time.sleep(rng.uniform(0.0, 0.3))
        if sub is not None:
            sub.close()
        final_step = probe.status()["step"]
        elapsed = time.monotonic() - t0
        probe.close()
        if not d.alive():
            problems.append("steerd died:\n" + d.tail())
        else:
            d.proc.send_signal(signal.SIGTERM)
            rc = d.wait_exit(120 if asan else 30)
            rep = H.sanitizer_report(d.stderr())
            if rep:
                problems.append("sanitizer report:\n" + rep)
            if rc != 0:
                problems.append("steerd exited with %d on SIGTERM\n%s" % (rc, d.tail()))
        kept = sorted(os.path.basename(p) for p in glob.glob(os.path.join(d.tmp, "ckpt", "ckpt_*.h5")))
        summary = {"steps": final_step, "seconds": elapsed, "consoles": consoles, "subscribers": subs,
                   "checkpoints_kept": kept, "rss": rss, "history_queries": queries,
                   "history_full_at": full_at}
        return problems, summary
    finally:
        d.cleanup()


def flat(rss, tolerance):
    """(ok, q2 mean, q4 mean, journal allowance) over the RSS samples'
    quarters by time, in KiB. The journal's own growth (it keeps every change,
    up to 100000 entries, about 1.5 KiB of RSS each on average) is allowed for at
    JOURNAL_KIB per entry."""
    if len(rss) < 8:
        return False, 0.0, 0.0, 0.0
    n = len(rss)
    q2, q4 = rss[n // 4: n // 2], rss[3 * n // 4:]
    m2 = statistics.mean(k for _, k, _ in q2)
    m4 = statistics.mean(k for _, k, _ in q4)
    allow = max(0.0, statistics.mean(j for _, _, j in q4) - statistics.mean(j for _, _, j in q2)) * JOURNAL_KIB
    return m4 - allow <= m2 * (1 + tolerance), m2, m4, allow


JOURNAL_KIB = 1.5  # measured: a set entry ~0.9 KiB, a ramp entry (with its detail) ~2 KiB


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--steps", type=int, default=1000000, help="at least this many steps")
    ap.add_argument("--seconds", type=float, default=600, help="and at least this long")
    ap.add_argument("--sample", type=float, default=2.0, help="RSS sampling period, s")
    ap.add_argument("--flat", type=float, default=0.10, help="allowed RSS growth, q4 vs q2 mean")
    ap.add_argument("--asan-build", default="build/asan")
    ap.add_argument("--asan-steps", type=int, default=100000)
    ap.add_argument("--asan-seconds", type=float, default=90)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--history-bytes", type=int, default=2 << 20, help="history.max_bytes")
    ap.add_argument("--history-bucket", type=int, default=4, help="history.bucket_samples")
    args = ap.parse_args(argv)
    os.environ.setdefault("STEERD_BUILD", args.build)
    import steerd_harness as H

    failures = []
    say("soak: %s, at least %d steps and %.0f s" % (args.build, args.steps, args.seconds))
    history = {"max_bytes": args.history_bytes, "bucket_samples": args.history_bucket}
    problems, s = stretch(H, args.build, args.steps, args.seconds, args.sample, args.seed, asan=False,
                          history=history)
    failures += problems
    ok_flat, m2, m4, allow = flat(s["rss"], args.flat)
    rate = s["steps"] / s["seconds"] if s["seconds"] else 0
    say("soak: %d steps in %.0f s (%.0f steps/s), %d console sessions, %d subscribers, checkpoints kept %s"
        % (s["steps"], s["seconds"], rate, s["consoles"], s["subscribers"], s["checkpoints_kept"]))
    say("soak: RSS %d samples: first %.1f MB, max %.1f MB, last %.1f MB; mean second quarter %.1f MB, "
        "last quarter %.1f MB (%+.1f%%; %+.1f%% without the journal's growth to %d entries, "
        "allowed %+.0f%%): %s"
        % (len(s["rss"]), s["rss"][0][1] / 1024 if s["rss"] else 0, max(k for _, k, _ in s["rss"]) / 1024,
           s["rss"][-1][1] / 1024, m2 / 1024, m4 / 1024, 100 * (m4 / m2 - 1) if m2 else 0,
           100 * ((m4 - allow) / m2 - 1) if m2 else 0, s["rss"][-1][2] if s["rss"] else 0,
           100 * args.flat, "flat" if ok_flat else "NOT FLAT"))
    full_at = s["history_full_at"]
    say("soak: %d history queries; history (max_bytes %d, buckets of %d) full and rotating %s"
        % (s["history_queries"], args.history_bytes, args.history_bucket,
           "after %.0f s" % full_at if full_at is not None else "NEVER"))
    if full_at is None or full_at > s["seconds"] / 4:
        failures.append("the history store was not full before the second quarter: RSS flatness "
                        "says nothing about it (a smaller --history-bytes or --history-bucket)")
    if s["steps"] < args.steps:
        failures.append("only %d steps" % s["steps"])
    if not ok_flat:
        failures.append("RSS not flat")
    if len(s["checkpoints_kept"]) > 3:
        failures.append("more checkpoints kept than keep: 3: %s" % s["checkpoints_kept"])

    asan_bin = os.path.join(args.asan_build if os.path.isabs(args.asan_build) else
                            os.path.join(REPO, args.asan_build), "bin", "steerd")
    if args.asan_build and os.path.exists(asan_bin):
        say("soak: ASan/LeakSanitizer stretch on %s, at least %d steps and %.0f s"
            % (args.asan_build, args.asan_steps, args.asan_seconds))
        problems, s = stretch(H, args.asan_build, args.asan_steps, args.asan_seconds, args.sample,
                              args.seed + 1, asan=True, history=history)
        failures += problems
        say("soak: ASan: %d steps in %.0f s, %d console sessions, %d subscribers, %d history queries; exit %s"
            % (s["steps"], s["seconds"], s["consoles"], s["subscribers"], s["history_queries"],
               "clean, no leak report" if not problems else "NOT clean"))
    else:
        say("soak: no ASan build at %s (make BUILD=%s SAN=1 build): the leak check is skipped"
            % (args.asan_build, args.asan_build))
    for f in failures:
        say("soak: FAILED: " + f)
    say("soak: %s" % ("ok" if not failures else "%d problem(s)" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
