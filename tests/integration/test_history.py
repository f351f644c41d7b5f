# SPDX-License-Identifier: MIT
"""Issue 17: the run's history in the daemon, through the `history` command.

Every knob and scalar at every step, the journal's entries as markers on the
same axis, stretches that tell apart what a rewind or a restart made happen
twice at one step, coarser buckets (min/mean/max) for older samples within
history.max_bytes, the binary frames as PROTOCOL.md describes them, and a
restart from a checkpoint that keeps the past.

Run: STEERD_BUILD=build /usr/bin/python3 tests/integration/test_history.py
"""
import array
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steerd_harness import FAST_KNOBS, DaemonTestCase, make_config, run_tests  # noqa: E402

CKPT = {"checkpoint": {"directory": "ckpt"}}


def history(client, **body):
    """The reply body and its arrays: {"step": [...], "seq": ..., "count": ..., NAME: [[stats]...]}."""
    reply = client("history", body)
    frames = client.last_frames
    assert len(frames) == len(reply["frames"]), "one frame per entry of `frames`"
    arrays = {}
    for desc, data in zip(reply["frames"], frames):
        kind = {"<u8": "Q", "<f8": "d"}[desc["dtype"]]
        values = array.array(kind, data)
        assert values.itemsize == 8 and sys.byteorder == "little"
        rows = desc["shape"][0]
        assert rows == reply["points"]
        if len(desc["shape"]) == 1:
            assert len(values) == rows
            arrays[desc["name"]] = list(values)
        else:
            cols = desc["shape"][1]
            assert len(values) == rows * cols
            arrays[desc["name"]] = [list(values[i * cols:(i + 1) * cols]) for i in range(rows)]
    return reply, arrays


class FullResolution(DaemonTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_every_step_with_knobs_scalars_and_markers(self):
        self.c.step_and_wait(100)
        at = self.c("set", {"values": {"injected_current": 1500}})["step"]
        self.c.step_and_wait(50)
        reply, a = history(self.c, names=["injected_current", "j_injected"], max_points=1000)
        self.assertIn("history", self.c("hello")["capabilities"])
        self.assertEqual(reply["points"], 150)
        self.assertEqual(a["step"], list(range(1, 151)))
        self.assertEqual(a["seq"], list(range(1, 151)))
        self.assertEqual(set(a["count"]), {1})
        self.assertEqual(reply["next_seq"], 151)
        self.assertEqual(reply["stats"], ["mean"])
        # a knob's sample at step S is the value step S was computed with
        knob = {s: row[0] for s, row in zip(a["step"], a["injected_current"])}
        self.assertEqual(knob[at], 1000.0)
        self.assertEqual(knob[at + 1], 1500.0)
        self.assertEqual(knob[150], 1500.0)
        # the scalar is the one `get` reads at the end
        self.assertEqual(a["j_injected"][-1][0], self.c.get1("j_injected"))
        sets = [m for m in reply["markers"] if m["entry"].get("knob") == "injected_current"]
        self.assertEqual(len(sets), 1)
        self.assertEqual((sets[0]["step"], sets[0]["seq"], sets[0]["entry"]["new"]), (at, at, 1500.0))
        self.assertEqual([s["began"] for s in reply["stretches"]], ["start"])
        self.assertFalse(reply["stretches"][0]["abandoned"])

    def test_steerd_boundary_fraction_is_kept_and_published(self):
        self.c.step_and_wait(20)
        reply, a = history(self.c, names=["steerd_boundary_fraction"], stats=["min", "max"])
        self.assertEqual(reply["points"], 20)
        for lo, hi in a["steerd_boundary_fraction"]:
            self.assertTrue(0.0 <= lo <= hi <= 1.0)
        self.assertIn("steerd_boundary_fraction", self.c("snapshot")["scalars"])
        self.assertIn("steerd_boundary_fraction", [d["name"] for d in self.c("hello")["diagnostics"]])

    def test_merged_points_are_min_mean_max_of_their_samples(self):
        self.c.step_and_wait(97)
        _, full = history(self.c, names=["j_transmitted"], max_points=1000)
        reply, a = history(self.c, names=["j_transmitted"], max_points=10,
                           stats=["max", "min", "mean"])
        self.assertLessEqual(reply["points"], 10)
        self.assertEqual(sum(a["count"]), 97)
        values = [row[0] for row in full["j_transmitted"]]
        first = 0
        for count, step, (mx, mn, mean) in zip(a["count"], a["step"], a["j_transmitted"]):
            group = values[first:first + count]
            first += count
            self.assertEqual(step, first)  # the step of its last sample
            self.assertEqual((mn, mx), (min(group), max(group)))
            self.assertAlmostEqual(mean, sum(group) / len(group), delta=1e-9 * (1 + abs(mean)))

    def test_from_seq_gives_only_what_is_new(self):
        self.c.step_and_wait(10)
        first, _ = history(self.c, names=["injected_current"])
        self.c.step_and_wait(5)
        reply, a = history(self.c, names=["injected_current"], from_seq=first["next_seq"])
        self.assertEqual(a["seq"], [11, 12, 13, 14, 15])
        reply, a = history(self.c, names=["injected_current"], from_step=3, to_step=4)
        self.assertEqual(a["step"], [3, 4])

    def test_bad_requests(self):
        self.c.step_and_wait(2)
        self.assertEqual(self.c.error("history", {"names": ["injected_curent"]}), "unknown_name")
        self.assertEqual(self.c.error("history", {"names": ["phi"]}), "bad_argument")
        self.assertEqual(self.c.error("history", {"names": []}), "bad_argument")
        self.assertEqual(self.c.error("history", {"names": ["dt"], "stats": ["mean", "mean"]}),
                         "bad_argument")
        self.assertEqual(self.c.error("history", {"names": ["dt"], "stats": ["median"]}), "bad_argument")
        self.assertEqual(self.c.error("history", {"names": ["dt"], "max_points": 0}), "bad_argument")
        self.assertEqual(self.c.error("history", {"names": ["dt"], "from_step": 5, "to_step": 4}),
                         "bad_argument")
        self.assertEqual(self.c.error("history", {"names": ["dt"] * 20, "stats": ["min", "mean", "max"],
                                                  "max_points": 1000000}), "bad_argument")
        self.assertEqual(self.c.error("history", {"names": ["dt"], "colour": 1}), "bad_argument")
        # an empty selection is not an error: every frame is there, empty
        reply, a = history(self.c, names=["dt"], from_step=1000)
        self.assertEqual((reply["points"], a["step"], a["dt"]), (0, [], []))


class RewindKeepsThePast(DaemonTestCase):
    config = {"start": "paused", "knobs": FAST_KNOBS}

    def test_abandoned_stretch_stays_marked(self):
        self.c.step_and_wait(40)
        self.c("snapshot-state", {"name": "base"})
        self.c("set", {"values": {"injected_current": 2000}})
        self.c.step_and_wait(30)
        self.c("rewind", {"name": "base"})
        self.c.step_and_wait(10)
        reply, a = history(self.c, names=["injected_current"], max_points=1000)
        self.assertEqual(reply["points"], 80)
        self.assertEqual(a["seq"], list(range(1, 81)))
        self.assertEqual(a["step"], list(range(1, 71)) + list(range(41, 51)))
        one, two = reply["stretches"]
        self.assertEqual((one["began"], one["abandoned"], one["last_step"], one["last_seq"]),
                         ("start", True, 70, 70))
        self.assertEqual((two["began"], two["abandoned"], two["first_step"], two["first_seq"]),
                         ("rewind", False, 41, 71))
        # the abandoned stretch still holds the change; the current one does not
        self.assertEqual(a["injected_current"][69][0], 2000.0)
        self.assertEqual(a["injected_current"][70][0], 1000.0)
        rewinds = [m for m in reply["markers"] if "rewind" in m["entry"]]
        self.assertEqual((rewinds[0]["seq"], rewinds[0]["entry"]["to_step"]), (70, 40))
        # a step range selects that step in each stretch
        reply, a = history(self.c, names=["injected_current"], from_step=45, to_step=45)
        self.assertEqual((a["step"], a["seq"]), ([45, 45], [45, 75]))
        # merged points never span two stretches
        reply, a = history(self.c, names=["injected_current"], max_points=4)
        self.assertLessEqual(reply["points"], 4)
        ends = set(a["seq"])
        self.assertIn(70, ends)


class Levels(DaemonTestCase):
    """A small store: older samples only in buckets, the oldest dropped, and no
    sample counted twice or left out between the levels."""
    config = {"start": "paused", "knobs": FAST_KNOBS,
              "extra": {"history": {"max_bytes": 1 << 20, "levels": 3, "bucket_samples": 8}}}

    def test_buckets_cover_the_past_without_gaps(self):
        self.c.step_and_wait(20000, timeout=120)
        reply, a = history(self.c, names=["j_transmitted", "injected_current"], max_points=1000000,
                           stats=["min", "mean", "max"])
        levels = reply["levels"]
        self.assertEqual([lv["samples_per_bucket"] for lv in levels], [1, 8, 64])
        counts = a["count"]
        self.assertGreater(counts[0], 1, "the oldest points come from buckets")
        self.assertEqual(counts[-1], 1, "the newest at full resolution")
        self.assertEqual(a["seq"][-1], 20000)
        for i in range(1, reply["points"]):
            self.assertEqual(a["seq"][i] - counts[i], a["seq"][i - 1], "gap or overlap at %d" % i)
        for mn, mean, mx in a["j_transmitted"]:
            self.assertTrue(mn <= mean * (1 + 1e-12) + 1e-300 and mean <= mx * (1 + 1e-12) + 1e-300)
        self.assertEqual({row[1] for row in a["injected_current"]}, {1000.0})
        self.assertGreater(levels[0]["first_seq"], 1, "level 0 is full: its oldest went")


class RestartKeepsThePast(DaemonTestCase):
    autostart = False

    def test_history_survives_a_restart_from_a_checkpoint(self):
        d = self.start_daemon(config=make_config(start="paused", knobs=FAST_KNOBS, extra=CKPT))
        c = d.client()
        c.step_and_wait(30)
        c("set", {"values": {"injected_current": 1700}})
        c.step_and_wait(20)
        path = c("checkpoint", {"name": "mid.h5"})["path"]
        before, a0 = history(c, names=["injected_current", "j_injected"], max_points=1000)
        d.stop()
        again = self.start_daemon(config=make_config(start="paused", knobs=FAST_KNOBS, extra=CKPT),
                                  args=["--restart", path])
        c = again.client()
        reply, a = history(c, names=["injected_current", "j_injected"], max_points=1000)
        self.assertEqual(a, a0, "the past is what it was")
        self.assertEqual(reply["markers"], before["markers"])
        c.step_and_wait(5)
        reply, a = history(c, names=["injected_current"], max_points=1000)
        self.assertEqual(a["seq"], list(range(1, 56)))
        self.assertEqual(a["step"], list(range(1, 56)))
        self.assertEqual([s["began"] for s in reply["stretches"]], ["start", "restart"])
        self.assertEqual(reply["stretches"][1]["first_seq"], 51)
        # what was kept in memory for rewind carries no history: a rewind still works
        c("snapshot-state", {"name": "s"})
        c.step_and_wait(3)
        c("rewind", {"name": "s"})
        c.step_and_wait(1)
        reply, a = history(c, names=["injected_current"], from_seq=56)
        self.assertEqual(a["step"], [56, 57, 58, 56])

    def test_without_history_keeps_none(self):
        d = self.start_daemon(config=make_config(start="paused", knobs=FAST_KNOBS,
                                                 extra={"history": {"max_bytes": 0}}))
        c = d.client()
        c.step_and_wait(10)
        reply, a = history(c, names=["injected_current"])
        self.assertEqual(reply["points"], 0)


if __name__ == "__main__":
    run_tests(FullResolution, RewindKeepsThePast, Levels, RestartKeepsThePast)
