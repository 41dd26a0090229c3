"""Unit tests of the sung-render recipe (sung.py) that need neither audio nor the corpus venv:

    python3 trainer/corpus/test_sung.py        # < 1 s, standard library only
"""

import math
import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build  # noqa: E402
import sung  # noqa: E402


class FestivalXml(unittest.TestCase):
    def test_rests_merged_freq_and_no_drift(self):
        # gaps of 0.25 s and 0.5 s in a row of notes; a note crossing the end is cut
        ev = [(0.5, 0.3334, 220.0, "la"), (1.0833, 0.3334, 246.9, "na"), (1.9167, 10.0, 261.6, "do")]
        xml, end = sung.festival_xml(ev, 5.0)
        self.assertEqual(end, 5.0)
        tags = re.findall(r"<(REST|DURATION) SECONDS=\"([0-9.]+)\"", xml)
        self.assertEqual([t for t, _ in tags], ["REST", "DURATION", "REST", "DURATION", "REST",
                                                "DURATION"])
        # durations are differences of rounded absolute times: their sum is the end exactly
        self.assertAlmostEqual(sum(float(s) for _, s in tags), 5.0, places=6)
        self.assertIn('FREQ="220.0"', xml)
        self.assertNotIn("NOTE=", xml)  # NOTE= is an octave off in Festival

    def test_adjacent_gaps_never_two_rests(self):
        ev = [(1.0, 0.5, 200.0, "la"), (1.0, 0.5, 300.0, "na"), (3.0, 0.5, 200.0, "mi")]
        xml, _ = sung.festival_xml(ev, 10.0)
        self.assertNotRegex(xml, r"</REST>\s*<REST")


class Line(unittest.TestCase):
    def test_monophonic_keeps_top_and_cuts_overlaps(self):
        line = sung.monophonic([(0, 2, 60), (0, 1, 64), (1, 0, 70), (1.5, 1, 62)])
        self.assertEqual(line, [(0, 1, 64), (1.5, 1, 62)])  # the top note keeps its own length

    def test_transposition_keeps_festival_below_500_hz(self):
        soprano = [67, 72, 74, 76, 79, 81]  # G4..A5: A5 = 880 Hz would crash Festival
        kf = sung.transposition(soprano, "female")
        self.assertLessEqual(sung.hz(max(soprano) + kf), sung.MAX_HZ["female"] + 0.1)
        self.assertGreater(sung.hz(max(soprano) + kf + 1), sung.MAX_HZ["female"])  # as high as allowed
        km = sung.transposition(soprano, "male")
        self.assertLessEqual(sung.hz(max(soprano) + km), sung.MAX_HZ["male"] + 0.1)
        med = sorted(soprano)[len(soprano) // 2] + km
        self.assertLess(abs(12 * math.log2(sung.hz(med) / sung.MALE_MEDIAN_HZ)), 1.01)
        self.assertTrue(all(f < 480 for f in sung.MAX_HZ.values()))


class Harmony(unittest.TestCase):
    def test_one_triad_per_bar(self):
        chords = sung.key_chords(0, "major")
        notes = [(0, 1, 60), (1, 1, 64), (2, 2, 67),   # C E G
                 (4, 1, 65), (5, 1, 69), (6, 2, 72),   # F A C
                 (8, 1, 67), (9, 1, 71), (10, 2, 74)]  # G B D
        self.assertEqual(sung.harmonise(notes, 4, 4, chords), ["C", "F", "G", "G"])
        self.assertEqual([c[0] for c in sung.key_chords(9, "minor")][:2], ["Am", "E"])


class Recipe(unittest.TestCase):
    def test_hard_labels_are_mtat_tags_and_never_no_vocals(self):
        for t in sung.VOICE_TAGS + sung.SEX_TAGS["male"] + sung.SEX_TAGS["female"]:
            self.assertIn(t, build.TAGS)
        self.assertFalse(set(sung.VOICE_TAGS) & set(sung.renders.NO_VOCAL_TAGS))

    def test_plan_is_stable_and_heldout_voices_exist(self):
        a = [sung._plan(f"bach/bwv{i}.mxl", "chorale") for i in range(200)]
        self.assertEqual(a, [sung._plan(f"bach/bwv{i}.mxl", "chorale") for i in range(200)])
        for _, cycles in sung.BATCHES:
            for sex, cycle in cycles.items():
                self.assertEqual({sung.VOICES[v][0] for v in cycle}, {sex})
        sexes = [s for _, s in a]
        self.assertLess(abs(sexes.count("male") - sexes.count("female")), 40)
        held = {p.split(":")[1].rstrip("/"): s for p, s in build.HELDOUT_FAMILIES.items()
                if p.startswith(sung.PACKAGE + ":")}
        self.assertEqual(sorted(held.values()), ["test", "validation"])
        self.assertEqual({sung.VOICES[v][0] for v in held}, {"male", "female"})
        # every voice the plan can pick is held out or trains, and a training voice of each sex remains
        self.assertEqual(set(sung.VOICES), {v for _, cy in sung.BATCHES for c in cy.values() for v in c})
        self.assertEqual(sung.BATCHES[0], (sung.QUOTAS, sung.VOICE_CYCLE))  # the first batch stays
        train = [v for v in sung.VOICES if v not in held]
        self.assertEqual({sung.VOICES[v][0] for v in train}, {"male", "female"})
        for pkg in sung.APT_PACKAGES:
            self.assertIn(pkg, build.BUILD_TOOLS)


if __name__ == "__main__":
    unittest.main()
