"""Unit tests of heldout.py's grouping of held-out clips into report sections (no audio, no venv):

    python3 trainer/corpus/test_heldout.py     # < 1 s, standard library only
"""

import sys
import unittest
from argparse import Namespace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import heldout  # noqa: E402


def row(package, split, n):
    return {"audio": f"clips/{package}/track/{n:05d}.wav", "split": split, "pcm_sha256": f"{package}{split}{n}"}


ROWS = [row("drascula-music", "test", 0), row("drascula-music", "test", 29),
        row("fretsonfire-songs-sectoid", "test", 0), row("sung-renders", "test", 0),
        row("sung-renders", "validation", 0), row("asc-music", "validation", 0),
        row("warzone2100-music", "train", 0)]
LABELS = {r["pcm_sha256"]: [0.0] for r in ROWS}


def args(**kw):
    a = dict(splits=["test", "validation"], exclude_packages=[], packages=[], together=False)
    a.update(kw)
    return Namespace(**a)


def keys(sections):
    return {k: sorted(heldout.package(r) for r in clips) for k, clips in sections}


class Sections(unittest.TestCase):
    def test_groups_apart_from_their_split(self):
        got = keys(heldout.sections(ROWS, LABELS, args()))
        self.assertEqual(got["test"], ["drascula-music", "drascula-music"])
        self.assertEqual(got["test / Frets on Fire"], ["fretsonfire-songs-sectoid"])
        self.assertEqual(got["test / sung renders"], ["sung-renders"])
        self.assertEqual(got["validation"], ["asc-music"])
        self.assertEqual(got["validation / Frets on Fire"], [])  # skipped by main(), not an error
        self.assertNotIn("train", got)

    def test_together_mixes_them_back(self):
        got = keys(heldout.sections(ROWS, LABELS, args(together=True)))
        self.assertEqual(set(got), {"test", "validation"})
        self.assertEqual(len(got["test"]), 4)

    def test_filters_and_unlabelled_clips(self):
        labels = dict(LABELS)
        del labels[ROWS[1]["pcm_sha256"]]
        got = keys(heldout.sections(ROWS, labels, args(exclude_packages=["sung-renders"])))
        self.assertEqual(got["test"], ["drascula-music"])
        self.assertEqual(got["test / sung renders"], [])
        got = keys(heldout.sections(ROWS, LABELS, args(packages=["asc-music"], splits=["validation"])))
        self.assertEqual(got["validation"], ["asc-music"])
        self.assertEqual(got["validation / sung renders"], [])


if __name__ == "__main__":
    unittest.main()
