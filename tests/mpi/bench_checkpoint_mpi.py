# SPDX-License-Identifier: MIT
"""Parallel checkpoint write against a plain collective HDF5 write of the same
bytes (make bench): configs/diode-1M.yaml (about 10^6 particles in the gap)
on 2 ranks. After the gap is filled, each round writes a checkpoint with
checkpoint_mpi_write (steerd/storage/checkpoint_mpi.c: temporary file,
collective write of the state checksummed by part, rank 0's /steerd and
openPMD view, fsync, rename, directory fsync) and then the plain reference
in the same directory: the particle arrays as one dataset each, every rank
its part at its offset in one collective H5Dwrite, the rest of the bytes from
rank 0, close, fsync (tests/mpi/pic1d_mpi.c, plain_write). Both are timed on
the slowest rank; a first round is a warm-up, left out. The figure is the
median of the per-round ratios
plain / checkpoint; the target is >= 70 %. The machine is shared: the load
average is printed with it.

Run: /usr/bin/python3 tests/mpi/bench_checkpoint_mpi.py [--build build] [--rounds 7]
         [--dir DIR]   (default: $TMPDIR or /tmp)
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONFIG = os.path.join(REPO, "configs", "diode-1M.yaml")
TIMEOUT = 600


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--fill", type=int, default=800)
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    build = a.build if os.path.isabs(a.build) else os.path.join(REPO, a.build)
    driver = os.path.join(build, "mpi", "bin", "pic1d_mpi")
    d = tempfile.mkdtemp(prefix="bench-ckpt-mpi-", dir=a.dir)
    path = os.path.join(d, "ckpt.h5")
    cmd = ["mpirun", "-np", "2", "--oversubscribe", "--mca", "mpi_yield_when_idle", "1",
           "--mca", "btl", "self,vader"] + \
          (["--allow-run-as-root"] if os.geteuid() == 0 else []) + \
          [driver, "-c", CONFIG, "--bench", "--fill", str(a.fill), "--steps", "1",
           "--checkpoint-bench", str(a.rounds + 1), path]
    load0 = os.getloadavg()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        sys.exit("bench_checkpoint_mpi: timed out: %s" % " ".join(cmd))
    finally:
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)
    if p.returncode != 0:
        sys.exit("bench_checkpoint_mpi: exit %d\n%s" % (p.returncode, err[-2000:]))
    r = json.loads(out.strip().splitlines()[-1])
    load1 = os.getloadavg()
    # the first round is a warm-up (new files, first MPI-IO of the job): left out
    ck, plain = r["checkpoint_s"][1:], r["plain_s"][1:]
    ratios = [pl / c for c, pl in zip(ck, plain)]
    mb = r["bytes"] / 1e6
    print("parallel checkpoint bench: 2 ranks, %d particles, %.1f MB a file, %d rounds, in %s"
          % (r["state"]["particles"], mb, len(ck), a.dir or tempfile.gettempdir()))
    print("parallel checkpoint ms: %s; plain collective write ms: %s"
          % (" ".join("%.1f" % (1e3 * x) for x in ck), " ".join("%.1f" % (1e3 * x) for x in plain)))
    print("parallel checkpoint vs plain collective HDF5 write of the same bytes: %.0f %% "
          "(median of rounds; %.0f MB/s vs %.0f MB/s; target >= 70 %%); load average before "
          "%.2f, after %.2f on %d CPUs"
          % (100 * statistics.median(ratios), mb / statistics.median(ck),
             mb / statistics.median(plain), load0[0], load1[0], os.cpu_count()))


if __name__ == "__main__":
    main()
