# SPDX-License-Identifier: MIT
"""steer_client.py — steerd from the shell, on the Python package `steerd`
(console/python/steerd; pyzmq and numpy: python3-zmq, python3-numpy).

The library is the package (`import steerd`; SteerClient is steerd.Client):

    import steerd
    with steerd.Client("build/diode.json", name="me") as s:
        print(s.get("injected_current", "virtual_cathode"))
        s.set(injected_current=1500)
        for topic, header, values in s.stream(scalars=True, count=3):
            print(header["step"], values["j_transmitted"])
        r = s.search("injected_current", 100, 300, until="virtual_cathode", hold=8431, tol=0.01)
        print(r["result"])

A daemon that dies, hangs or restarts is survived. A request not answered
within `timeout` s is sent again on a fresh socket (re-reading the connection
file, in case a restarted daemon has new ports), up to `attempts` times with a
growing pause in between. Writes (every command but the reads hello, status,
params, get, ramps and snapshot) carry a `retry_key`, the same on every
attempt, so steerd applies a write once however many copies of it arrive
(PROTOCOL.md, "Retrying writes").

    s = SteerClient("build/diode.json", watch=True)   # heartbeats, in the background
    s.alive      # False once no heartbeat came for heartbeat_misses (3) periods

`alive` without `watch` sends a `status` with a short timeout instead.

From the shell (python3 steer_client.py -h):

    python3 steer_client.py -C conn.json get injected_current virtual_cathode
    python3 steer_client.py -C conn.json set injected_current=150 anode_voltage=0
    python3 steer_client.py -C conn.json search injected_current 100 300 \\
        --until virtual_cathode --hold 8431 --tol 0.01
    python3 steer_client.py -C conn.json call snapshot-state '{"name": "before"}'
    python3 steer_client.py -C conn.json watch      # "daemon not responding" / "daemon back"

Exit status: 0 on success, 1 when steerd refused a request (the error code
and message go to stderr) or did not answer, 2 for a usage error, 130 on
Ctrl-C (0 for `watch`, which runs until Ctrl-C or --seconds).
"""
import argparse
import json
import os
import sys
import time

# Run from a source tree, the script uses the tree's package; elsewhere the
# installed one (`make install`, or the python3-steerd Debian package).
_TREE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "console", "python")
if os.path.isdir(os.path.join(_TREE, "steerd")):
    sys.path.insert(0, os.path.abspath(_TREE))
import steerd  # noqa: E402

__all__ = ["SteerClient", "SteerError"]

# The client is the package's; these names are kept for scripts written
# against earlier versions of this file.
SteerClient = steerd.Client
SteerError = steerd.SteerdError


# -------------------------------------------------------------------- CLI


def _print_probe(h):
    bracket = "[%s, %s]" % (_num(h.get("good")), _num(h.get("bad_value")))
    print("probe %s: %s = %s %s after %s steps; bracket %s; %s steps in all" % (
        h.get("probes"), h.get("knob"), _num(h.get("value")), "bad " if h.get("bad") else "good",
        h.get("steps"), bracket, h.get("total_steps")), file=sys.stderr, flush=True)


def _num(v):
    return "?" if v is None else "%.6g" % v


def _value(text):
    """A knob value as typed: a JSON literal (150, 1.5e3, true), else text: a
    value with units ("1.5 kA/m^2", PROTOCOL.md "Values as text") or a choice name."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _watch(cl, seconds):
    """Print a line when the daemon stops responding and when it is back,
    until Ctrl-C or `seconds` have passed."""
    end = None if seconds is None else time.monotonic() + seconds
    was, silent_since = None, None
    try:
        while end is None or time.monotonic() < end:
            alive = cl.alive
            if alive != was:
                hb = cl.last_heartbeat or {}
                if alive:
                    line = "daemon %s: pid %s, step %s, %s" % (
                        "alive" if was is None else "back", cl.endpoints.get("pid", "?"),
                        hb.get("step", "?"), hb.get("state", "?"))
                    if silent_since is not None:
                        line += " (silent for %.1f s)" % (time.monotonic() - silent_since)
                else:
                    age = cl.heartbeat_age
                    silent_since = time.monotonic() - age
                    line = "daemon not responding: no heartbeat for %.1f s" % age
                print("%s %s" % (time.strftime("%H:%M:%S"), line), flush=True)
                was = alive
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="steer_client.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("-C", "--connection-file", required=True, help="the run's connection file")
    ap.add_argument("--name", default="steer_client.py", help="client name shown in events")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="reply timeout of each attempt, s (default 10)")
    ap.add_argument("--attempts", type=int, default=3,
                    help="send a request this many times at most, on fresh sockets (default 3)")
    ap.add_argument("--key", help="this client's secret key file, when the run has security on")
    sp = ap.add_subparsers(dest="command", required=True)
    g = sp.add_parser("get", help="knobs and scalar diagnostics")
    g.add_argument("names", nargs="+")
    s = sp.add_parser("set", help="set knobs atomically: NAME=VALUE ... or NAME VALUE ...")
    s.add_argument("values", nargs="+")
    c = sp.add_parser("call", help="any command with a JSON body")
    c.add_argument("cmd")
    c.add_argument("body", nargs="?", default="{}")
    r = sp.add_parser("search", help="the largest KNOB in [FROM, TO] with CONDITION false")
    r.add_argument("knob")
    r.add_argument("lo", type=float, metavar="FROM")
    r.add_argument("hi", type=float, metavar="TO")
    r.add_argument("--until", required=True, help='NAME, or "NAME OP NUMBER"')
    r.add_argument("--hold", type=int, help="steps a probe must stay good (default 2000)")
    r.add_argument("--hold-time", type=float, help="or that many simulated seconds")
    r.add_argument("--tol", type=float, help="relative width of the final bracket (0.01)")
    r.add_argument("--max-steps", type=int, help="give up after this many simulated steps")
    r.add_argument("--json", action="store_true", help="print the reply body as one JSON line")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    w = sp.add_parser("watch", help='print "daemon not responding" / "daemon back" lines '
                                    "from the heartbeats, until Ctrl-C")
    w.add_argument("--misses", type=int, default=3,
                   help="heartbeat periods without one before 'not responding' (default 3)")
    w.add_argument("--heartbeat-ms", type=float,
                   help="the daemon's heartbeat_ms (default: measured)")
    w.add_argument("--seconds", type=float, help="stop after this long")
    a = ap.parse_args(argv)
    if a.attempts < 1 or getattr(a, "misses", 1) < 1:
        ap.error("--attempts and --misses must be at least 1")

    try:
        with SteerClient(a.connection_file, name=a.name, timeout=a.timeout, key=a.key,
                         attempts=a.attempts, watch=a.command == "watch",
                         heartbeat_misses=getattr(a, "misses", 3),
                         heartbeat_ms=getattr(a, "heartbeat_ms", None)) as cl:
            if a.command == "get":
                for k, v in cl.get(*a.names).items():
                    print("%s = %s" % (k, json.dumps(v)))
            elif a.command == "set":
                vals, words = {}, list(a.values)
                while words:
                    w = words.pop(0)
                    if "=" in w:
                        k, v = w.split("=", 1)
                    elif words:
                        k, v = w, words.pop(0)
                    else:
                        ap.error("set: %s has no value" % w)
                    vals[k] = _value(v)
                rep = cl.set(vals)
                print("applied at step %d: %s" % (rep["step"], json.dumps(rep["applied"])))
            elif a.command == "call":
                print(json.dumps(cl.call(a.cmd, json.loads(a.body)), indent=2))
            elif a.command == "watch":
                return _watch(cl, a.seconds)
            else:
                rep = cl.search(a.knob, a.lo, a.hi, a.until, hold=a.hold, hold_time=a.hold_time,
                                tol=a.tol, max_steps=a.max_steps,
                                progress=None if a.quiet else _print_probe)
                if a.json:
                    print(json.dumps(rep))
                else:
                    print("result:  %s = %.6g (%s)" % (rep["knob"], rep["result"],
                                                      "converged" if rep["converged"]
                                                      else "NOT converged"))
                    print("bracket: [%s, %s]" % tuple(_num(v) for v in rep["bracket"]))
                    print("steps:   %d simulated in %d probes; the run is at step %d"
                          % (rep["steps"], len(rep["probes"]), rep["step"]))
    except SteerError as e:
        print("steer_client.py: %s" % e, file=sys.stderr)
        return 1
    except (TimeoutError, OSError, ValueError) as e:
        print("steer_client.py: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("steer_client.py: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
