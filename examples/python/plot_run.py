# SPDX-License-Identifier: MIT
"""plot_run.py — pictures of a steerd run, as PNG files (matplotlib, Agg).

    # a checkpoint (the `checkpoint` command, or checkpoint.every_steps):
    # the fields phi, efield, rho and the electrons' phase space x-v
    python3 plot_run.py checkpoint ckpt/ckpt_00000000000000000042_step120000.h5 -o ckpt.png

    # record the scalars and events of a live run for a while, then plot them
    python3 plot_run.py record -C build/diode.json --seconds 5 -o run.jsonl
    python3 plot_run.py plot run.jsonl -o run.png [--names j_transmitted j_reflected]

Checkpoints are read as openPMD 1.1.0 (h5py; Debian: python3-h5py): meshes
under /data/STEP/meshes, the species under /data/STEP/particles, every record
scaled by its unitSI. The recording is JSON lines, written by `record` with the
Python package steerd (through steer_client.py, next to this file):

    {"type": "header", "names": [...], "units": {...}, "knobs": {...}, ...}
    {"type": "scalars", "step": S, "time": T, "values": {"j_transmitted": ...}}
    {"type": "event", "event": "knob_changed", "step": S, "time": T, ...}
"""
import argparse
import json
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------ checkpoint


def _attr_str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def read_checkpoint(path, iteration=None):
    """{"step", "time", "meshes": {name: (x, values)}, "species": {name: (x, v)},
    "knobs": {...}} from an openPMD file (the last iteration unless given)."""
    import h5py
    import numpy as np
    out = {"meshes": {}, "species": {}, "knobs": {}}
    with h5py.File(path, "r") as f:
        if not _attr_str(f.attrs.get("openPMD", b"")).startswith("1."):
            raise ValueError("%s is not an openPMD file" % path)
        base = _attr_str(f.attrs["basePath"]).split("%T")[0].strip("/")  # "data"
        its = sorted(f[base], key=int)
        if not its:
            raise ValueError("%s has no iterations" % path)
        it = str(iteration) if iteration is not None else its[-1]
        g = f[base][it]
        out["step"] = int(it)
        out["time"] = float(g.attrs.get("time", 0.0)) * float(g.attrs.get("timeUnitSI", 1.0))
        mp = _attr_str(f.attrs.get("meshesPath", b"meshes/")).strip("/")
        for name, ds in (g[mp].items() if mp in g else []):
            if not hasattr(ds, "shape"):  # vector meshes are groups: components
                continue
            vals = ds[()] * float(ds.attrs.get("unitSI", 1.0))
            dx = float(ds.attrs["gridSpacing"][0]) * float(ds.attrs.get("gridUnitSI", 1.0))
            x0 = float(ds.attrs["gridGlobalOffset"][0]) * float(ds.attrs.get("gridUnitSI", 1.0))
            pos = ds.attrs.get("position", [0.0])[0]
            x = x0 + (np.arange(len(vals)) + pos) * dx
            out["meshes"][name] = (x, vals, _unit_of(ds.attrs.get("unitDimension")))
        pp = _attr_str(f.attrs.get("particlesPath", b"particles/")).strip("/")
        for name, sp in (g[pp].items() if pp in g else []):
            def record(rec, comp="x"):
                r = sp[rec]
                if hasattr(r, "shape"):
                    return r[()] * float(r.attrs.get("unitSI", 1.0))
                c = r[comp] if comp in r else r
                if hasattr(c, "shape"):
                    return c[()] * float(c.attrs.get("unitSI", 1.0))
                # a constant record: "value" and "shape" attributes
                return np.full(int(c.attrs["shape"][0]),
                               float(c.attrs["value"]) * float(c.attrs.get("unitSI", 1.0)))
            x = record("position")
            if "positionOffset" in sp:
                x = x + record("positionOffset")
            p = record("momentum")   # per real particle, kg m/s
            m = record("mass")       # kg
            out["species"][name] = (x, p / m)
        # Not openPMD: steerd's own restart group, for the title only.
        if "steerd" in f and "knobs" in f["steerd"]:
            for row in f["steerd"]["knobs"][()]:
                n = _attr_str(row["name"])
                t = _attr_str(row["type"])
                out["knobs"][n] = float(row["applied"]) if t == "double" else int(row["applied_int"])
    return out


def _unit_of(dim):
    """A unit label from an openPMD unitDimension (L, M, T, I, theta, N, J)."""
    if dim is None:
        return ""
    known = {(2, 1, -3, -1): "V", (1, 1, -3, -1): "V/m", (-3, 0, 1, 1): "C/m^3"}
    return known.get(tuple(int(round(d)) for d in list(dim)[:4]), "")


def plot_checkpoint(path, out, iteration=None, max_points=20000):
    import numpy as np
    ck = read_checkpoint(path, iteration)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    labels = {"phi": "potential", "efield": "electric field", "rho": "charge density"}
    names = [n for n in ("phi", "efield", "rho") if n in ck["meshes"]]
    names += [n for n in sorted(ck["meshes"]) if n not in names]
    for ax, name in zip(axes.flat[:3], names[:3]):
        x, v, unit = ck["meshes"][name]
        ax.plot(x * 1e3, v, lw=1.3)
        ax.set_xlabel("x [mm]")
        ax.set_ylabel("%s%s" % (name, " [%s]" % unit if unit else ""))
        ax.set_title(labels.get(name, name))
        ax.grid(alpha=0.3)
    ax = axes.flat[3]
    for name, (x, v) in ck["species"].items():
        n = len(x)
        idx = np.arange(n) if n <= max_points else np.linspace(0, n - 1, max_points).astype(int)
        ax.plot(x[idx] * 1e3, v[idx] / 1e6, ".", ms=1.5, alpha=0.5,
                label="%s (%d of %d)" % (name, len(idx), n))
        ax.legend(loc="best", markerscale=8, fontsize="small")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("x [mm]")
    ax.set_ylabel("v [10^6 m/s]")
    ax.set_title("phase space")
    ax.grid(alpha=0.3)
    k = ck["knobs"]
    extra = ", ".join("%s %g" % (n, k[n]) for n in ("injected_current", "anode_voltage",
                                                   "injection_energy") if n in k)
    fig.suptitle("%s — step %d, t = %.4g ns%s" % (os.path.basename(path), ck["step"],
                                                  ck["time"] * 1e9, "\n" + extra if extra else ""))
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


# ------------------------------------------------------------ recording


def record(conn, seconds, out, rate=200.0, names=None):
    """Write the scalars (at most `rate` messages per second of wall time)
    and every event of the run for `seconds` to `out`, as JSON lines.

    Events come on a connection of their own: steerd queues messages per
    subscriber and drops what a slow one cannot take (diagnostics.send_hwm),
    so scalars published every step must not crowd the events out."""
    import zmq
    from steer_client import steerd
    n_scalars = n_events = 0
    with steerd.Client(conn, name="plot_run.py") as cl, \
            steerd.Client(conn, name="plot_run.py", rcvhwm=1000) as sc, open(out, "w") as f:
        sc.subscribe(scalars=names or True)  # each waits for a heartbeat: live when it returns
        cl.subscribe(events=True)
        hello = cl.hello()
        snap = cl.snapshot()
        units = {d["name"]: d.get("unit", "") for d in hello["diagnostics"]}
        units.update({k["name"]: k.get("unit", "") for k in hello["knobs"]})
        f.write(json.dumps({"type": "header", "adapter": hello["adapter"]["name"],
                            "units": units, "knobs": snap["knobs"], "step": snap["step"],
                            "time": snap["time"], "seq": snap["seq"]}) + "\n")
        poller = zmq.Poller()
        poller.register(sc.sub, zmq.POLLIN)
        poller.register(cl.sub, zmq.POLLIN)
        end = time.monotonic() + seconds
        last = 0.0
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            poller.poll(int(min(left, 0.5) * 1000))
            for m in iter(lambda: cl.recv(0), None):
                if m.seq > snap["seq"]:
                    ev = {k: v for k, v in m.header.items()
                          if k not in ("seq", "topic_seq", "prev_seq")}
                    ev["type"] = "event"
                    f.write(json.dumps(ev) + "\n")
                    n_events += 1
            # Take what is queued, for 50 ms at most: a run faster than this
            # loop decodes must not keep the events waiting.
            until = min(end, time.monotonic() + 0.05)
            for m in iter(lambda: sc.recv(0), None):
                now = time.monotonic()
                if now >= until:
                    break
                if now - last < 1.0 / rate or m.seq <= snap["seq"]:
                    continue
                last = now
                f.write(json.dumps({"type": "scalars", "step": m.step, "time": m.time,
                                    "values": m.values}) + "\n")
                n_scalars += 1
    return n_scalars, n_events


def load_recording(path):
    header, rows, events = {}, [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            t = r.get("type")
            if t == "header":
                header = r
            elif t == "scalars":
                rows.append(r)
            elif t == "event":
                events.append(r)
    return header, rows, events


DEFAULT_SKIP = {"step", "time", "particles_dropped"}


def plot_recording(path, out, names=None):
    header, rows, events = load_recording(path)
    if not rows:
        raise ValueError("%s has no scalars to plot (was the run paused?)" % path)
    units = header.get("units", {})
    avail = [n for n in rows[-1]["values"]]
    if names:
        missing = [n for n in names if n not in avail]
        if missing:
            raise ValueError("not in the recording: %s (there: %s)" % (", ".join(missing),
                                                                       ", ".join(avail)))
    else:
        names = [n for n in avail if n not in DEFAULT_SKIP]
    # One panel per unit; knobs that changed get a panel of their own.
    groups = {}
    for n in names:
        unit = units.get(n, "")
        if not unit:  # counts apart from fractions and 0/1 indicators
            big = any(abs(r["values"].get(n) or 0) > 1.5 for r in rows)
            unit = "" if big else "fraction / indicator"
        groups.setdefault(unit, []).append(n)
    knob_series = _knob_series(header, events, rows[-1]["time"])
    panels = list(groups.items())
    if knob_series:
        panels.append(("knobs", None))
    t = [r["time"] * 1e9 for r in rows]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.4 * len(panels) + 1), sharex=True,
                             constrained_layout=True, squeeze=False)
    for ax, (unit, members) in zip(axes[:, 0], panels):
        if members is None:
            for knob, (kt, kv) in knob_series.items():
                ax.plot([x * 1e9 for x in kt], kv, lw=1.3,
                        label="%s [%s]" % (knob, units.get(knob, "")))
            ax.set_ylabel("knobs")
        else:
            for n in members:
                ax.plot(t, [r["values"].get(n) for r in rows], lw=1.1, label=n)
            ax.set_ylabel(unit or "(no unit)")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        for ev in events:
            if ev.get("event") == "indicator":
                ax.axvline(ev["time"] * 1e9, color="red" if ev.get("on") else "green",
                           lw=0.8, ls="--")
            elif ev.get("event") in ("knob_changed", "ramp_started", "rewound"):
                ax.axvline(ev["time"] * 1e9, color="gray", lw=0.6, ls=":")
    axes[-1, 0].set_xlabel("simulated time [ns]")
    fig.suptitle("%s: %d samples, steps %d..%d%s" % (
        os.path.basename(path), len(rows), rows[0]["step"], rows[-1]["step"],
        "  (dashed: indicator on red / off green; dotted: steering)" if events else ""))
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def _knob_series(header, events, t_end=None):
    """{knob: (times, values)} for the numeric knobs steered while recording:
    a jump at each change, a straight line along each ramp."""
    start = header.get("time", 0.0)
    series = {}
    for ev in events:
        k, e, t = ev.get("knob"), ev.get("event"), ev.get("time")
        if not k or e not in ("knob_changed", "ramp_started", "ramp_finished", "ramp_cancelled",
                              "ramp_failed", "search_finished"):
            continue
        if k not in series:
            v0 = header.get("knobs", {}).get(k)
            if not isinstance(v0, (int, float)) or isinstance(v0, bool):
                continue
            series[k] = ([start], [v0])
        ts, vs = series[k]
        if e == "knob_changed":
            points = [(t, ev.get("old")), (t, ev.get("new"))]
        elif e == "ramp_started":
            points = [(t, vs[-1]), (t, ev.get("from"))]  # then linear until it ends
        elif e == "search_finished":
            points = [(t, vs[-1]), (t, ev.get("result"))]
        else:
            points = [(t, ev.get("value"))]
        for pt, pv in points:
            if isinstance(pv, (int, float)) and not isinstance(pv, bool):
                ts.append(pt)
                vs.append(pv)
    for ts, vs in series.values():
        if t_end is not None and t_end > ts[-1]:
            ts.append(t_end)
            vs.append(vs[-1])
    return series


# ------------------------------------------------------------ CLI


def main(argv=None):
    ap = argparse.ArgumentParser(prog="plot_run.py", description=__doc__.split("\n\n")[0])
    sp = ap.add_subparsers(dest="command", required=True)
    c = sp.add_parser("checkpoint", help="plot fields and phase space of a checkpoint")
    c.add_argument("file")
    c.add_argument("-o", "--output", help="PNG file (default: FILE with .png)")
    c.add_argument("--iteration", type=int, help="which iteration (default: the last)")
    r = sp.add_parser("record", help="record scalars and events of a live run as JSON lines")
    r.add_argument("-C", "--connection-file", required=True)
    r.add_argument("--seconds", type=float, default=5.0)
    r.add_argument("--rate", type=float, default=200.0,
                   help="scalars messages kept per second of wall time (default 200)")
    r.add_argument("--names", nargs="+", help="only these scalars")
    r.add_argument("-o", "--output", required=True)
    p = sp.add_parser("plot", help="plot a recording made by `record`")
    p.add_argument("file")
    p.add_argument("-o", "--output", help="PNG file (default: FILE with .png)")
    p.add_argument("--names", nargs="+", help="scalars to plot (default: all)")
    a = ap.parse_args(argv)
    try:
        if a.command == "checkpoint":
            out = plot_checkpoint(a.file, a.output or os.path.splitext(a.file)[0] + ".png",
                                  a.iteration)
            print("wrote %s" % out)
        elif a.command == "record":
            ns, ne = record(a.connection_file, a.seconds, a.output, a.rate, a.names)
            print("wrote %s: %d scalars messages, %d events" % (a.output, ns, ne))
        else:
            out = plot_recording(a.file, a.output or os.path.splitext(a.file)[0] + ".png",
                                 a.names)
            print("wrote %s" % out)
    except (OSError, ValueError, KeyError) as e:
        print("plot_run.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
