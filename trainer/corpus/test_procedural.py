"""Unit tests of the procedural-music recipe (procedural.py).

    python3 trainer/corpus/test_procedural.py     # names, batches, styles; with numpy/scipy
                                                  # and soundfile (Debian's for
                                                  # /usr/bin/python3, or the corpus venv) the audio (~5 s)
"""

import importlib.util
import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import procedural  # noqa: E402

HAVE_NUMPY = all(importlib.util.find_spec(m) is not None for m in ("numpy", "scipy", "soundfile"))
# Under the test command (tests/run sets it) the audio checks must run, not skip.
if os.environ.get("SCATTERBRAIN_TESTS") and not HAVE_NUMPY:
    sys.exit("test_procedural.py: numpy, scipy and soundfile are needed (bash .ci/setup.sh installs Debian's for /usr/bin/python3)")


class Names(unittest.TestCase):
    def test_styles_take_turns_and_names_are_unique(self):
        names = procedural.render_names()
        self.assertEqual(len(names), sum(procedural.BATCHES))
        self.assertEqual(len(set(names)), len(names))
        styles = [n.rsplit("-", 1)[0] for n in names]
        self.assertEqual(set(styles), set(procedural.STYLES))
        counts = {s: styles.count(s) for s in procedural.STYLES}
        self.assertLessEqual(max(counts.values()) - min(counts.values()), 1)

    def test_a_larger_batch_keeps_every_earlier_render(self):
        before = procedural.render_names()
        old = procedural.BATCHES
        try:
            procedural.BATCHES = old + [123]
            after = procedural.render_names()
        finally:
            procedural.BATCHES = old
        self.assertEqual(after[:len(before)], before)

    def test_every_style_has_a_known_kit(self):
        for (lo, hi), kit, parts in procedural.STYLES.values():
            self.assertLess(lo, hi)
            self.assertTrue(kit is None or kit in procedural.KITS)
            self.assertTrue(parts)


@unittest.skipUnless(HAVE_NUMPY, "numpy/scipy/soundfile absent: run with /usr/bin/python3 or the corpus venv's python")
class Audio(unittest.TestCase):
    def test_each_style_renders_finite_audible_audio_deterministically(self):
        import numpy as np
        for style in sorted(procedural.STYLES):
            x, desc, drums = procedural.render(f"{style}-0000")
            self.assertEqual(len(x), int(procedural.RENDER_S * procedural.SR))
            self.assertTrue(np.all(np.isfinite(x)), style)
            for w in range(0, len(x) - 29 * procedural.SR + 1, 29 * procedural.SR):  # both clips heard
                self.assertGreater(float(np.sqrt(np.mean(x[w:w + 29 * procedural.SR] ** 2))), 1e-3, style)
            self.assertEqual(drums, procedural.STYLES[style][1] is not None)
            self.assertTrue(desc.startswith(style))
        y = procedural.render("techno-0000")[0]
        self.assertTrue(np.array_equal(y, procedural.render("techno-0000")[0]))

    def test_hard_labels_state_only_the_recipe_facts(self):
        import tempfile
        import renders
        with tempfile.TemporaryDirectory() as d:
            wav, hard, desc = procedural._render_one(Path(d), "house-0001")
            self.assertTrue(wav.exists())
        self.assertTrue(all(hard[t] == 0 for t in renders.VOCAL_TAGS))
        self.assertTrue(all(hard[t] == 1 for t in renders.NO_VOCAL_TAGS))
        self.assertEqual(hard["drums"], 1)
        for t in ("electronic", "synth", "techno", "guitar", "indian", "dance"):
            self.assertNotIn(t, hard)  # the teacher's to say


if __name__ == "__main__":
    unittest.main(verbosity=1)
