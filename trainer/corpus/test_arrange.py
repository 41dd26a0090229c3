"""Unit tests of the arrangements recipe (arrange.py) that need neither audio nor the corpus venv:

    python3 trainer/corpus/test_arrange.py     # < 1 s, standard library only and MMA's style library (.ci/setup.sh installs mma)
"""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import arrange  # noqa: E402


class Choices(unittest.TestCase):
    def test_metre_of_style_files(self):
        self.assertEqual(arrange._beats("// a comment\nTime 4\nTime 3\n"), 4)
        self.assertEqual(arrange._beats("Time 3  // waltz"), 3)
        self.assertEqual(arrange._beats("Time 3/4"), 3)
        self.assertEqual(arrange._beats("TimeSig 4 4\n"), 4)
        self.assertIsNone(arrange._beats("Time 6/8"))
        self.assertIsNone(arrange._beats("Timesig 6 8"))
        self.assertEqual(arrange._beats("Groove Foo\n"), 4)  # MMA's default

    def test_transposition_lands_in_range(self):
        line = [60, 62, 64, 65, 67, 72]
        for lo, hi in [(38, 69), (48, 84), (74, 100), (57, 91)]:
            for shift in range(-5, 7):
                k = arrange.transpose_into(line, lo, hi, shift)
                self.assertEqual((k - shift) % 12, 0)  # the key change, plus whole octaves
                self.assertLessEqual(max(line) + k, hi)

    def test_tempo_keeps_note_rate(self):
        for median in (0.125, 0.25, 0.5, 1.0, 2.0):
            rates = {arrange.tempo(median, f"t{i}") / 60 / median for i in range(40)}
            ok = [t for t in arrange.TEMPI if 1.5 <= t / 60 / median <= 6.0]
            if ok:
                self.assertTrue(all(1.5 <= r <= 6.0 for r in rates))
                self.assertGreater(len(rates), 1)  # the tempo varies
        self.assertEqual(arrange.tempo(0.0625, "x"), min(arrange.TEMPI))  # too dense: slowest

    def test_half_note_beat(self):
        a = {"ratio": "4/2", "line": [(0.0, 2.0, 60), (2.0, 4.0, 62)], "length": 6.0, "pickup": 0.0,
             "median_ql": 2.0, "bar_ql": 8.0}
        b = arrange.half_note_beats(a)
        self.assertEqual((b["ratio"], b["bar_ql"], b["median_ql"]), ("4/4", 4.0, 1.0))
        self.assertEqual(b["line"], [(0.0, 1.0, 60), (1.0, 2.0, 62)])
        self.assertIs(arrange.half_note_beats(dict(a, ratio="3/4"))["ratio"], "3/4")

    def test_leads_are_instruments_not_voices(self):
        self.assertFalse({p for p, *_ in arrange.LEADS.values()} & arrange.VOICE_PROGRAMS)
        for name, (program, family, (lo, hi), ones) in arrange.LEADS.items():
            self.assertTrue(0 <= program < 128 and lo < hi, name)
            self.assertTrue(set(ones) <= set(arrange.renders.INSTRUMENT_TAGS), name)

    def test_groove_library_leaves_held_out_styles(self):
        lib = arrange.groove_library()
        self.assertGreater(len(lib[4]), 500)
        self.assertGreater(len(lib[3]), 20)
        styles = {s for v in lib.values() for s, _ in v}
        self.assertFalse([s for s in styles if s.startswith("yamaha/")])
        self.assertFalse([g for v in lib.values() for _, g in v if "intro" in g.lower()])


if __name__ == "__main__":
    unittest.main()
