"""Unit tests of patches.py's label file and sidecar (no teacher, no venv):

    python3 trainer/corpus/test_patches.py     # < 1 s, standard library only
"""

import csv
import shutil
import sys
import tempfile
import unittest
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import patches  # noqa: E402

TAGS = [f"tag{i}" for i in range(50)]


def write_wav(path, samples):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(int(s).to_bytes(2, "little", signed=True) for s in samples))


def label_row(sha, patch, value):
    return [sha, patch] + [f"{value:.4f}"] * 50


class Patches(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        patches.PATCHES_CSV = self.dir / "teacher-patches.csv"

    def write_labels(self, rows, tail=""):
        with patches.PATCHES_CSV.open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["pcm_sha256", "patch"] + TAGS)
            w.writerows(rows)
            f.write(tail)

    def test_partial_rows_and_incomplete_clips_are_not_labels(self):
        self.write_labels([label_row("a", 0, 0.1), label_row("a", 1, 0.2), label_row("b", 1, 0.3)],
                          tail="c,0,0.1,0.2")
        have = patches.read_patches()
        self.assertEqual(sorted(have), ["a"])  # b lacks patch 0, c is a killed run's half row
        self.assertEqual([p for p, _ in have["a"]], [0, 1])
        self.assertEqual(have["a"][1][1][0], "0.2000")

    def test_sidecar_lists_the_labelled_clips_of_the_manifest_by_audio_path(self):
        import hashlib
        write_wav(self.dir / "clips" / "x.wav", [1, 2, 3])
        write_wav(self.dir / "clips" / "y.wav", [4, 5, 6])
        with wave.open(str(self.dir / "clips" / "x.wav")) as w:
            sha = hashlib.sha256(w.readframes(w.getnframes())).hexdigest()
        self.write_labels([label_row(sha, 0, 0.5), label_row(sha, 1, 0.25)])
        manifest = self.dir / "manifest.csv"
        with manifest.open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["audio", "split"] + TAGS)
            w.writerow(["clips/x.wav", "train"] + ["0.375"] * 50)
            w.writerow(["clips/y.wav", "train"] + ["0.1"] * 50)
        patches.sidecar(manifest)
        with (self.dir / "manifest.patches.csv").open(newline="") as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["audio", "patch"] + TAGS)
        self.assertEqual([r[:3] for r in rows[1:]], [["clips/x.wav", "0", "0.5000"],
                                                    ["clips/x.wav", "1", "0.2500"]])


if __name__ == "__main__":
    unittest.main()
