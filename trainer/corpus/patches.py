"""The teacher's taggram per clip: one score vector per 3 s patch instead of their mean.

`labels/teacher.csv` holds one vector per 29 s clip, the mean of musicnn's nine 3 s patches. A
training crop of a few seconds gets that whole-clip vector as its target, although the teacher
heard something else in those seconds. This file keeps the nine patch vectors, so that
`scatterbrain train --patch-targets` can give each crop the mean of the patches it covers.

    python3 trainer/corpus/patches.py label MANIFEST.csv [--splits train] [--commit-every 1800]
        # taggrams of the manifest's clips of those splits that lack them, appended to
        # labels/teacher-patches.csv (resumable: a killed run loses at most one clip)
    python3 trainer/corpus/patches.py sidecar MANIFEST.csv
        # MANIFEST.patches.csv: audio,patch,<50 tags> for every clip of the manifest that has them

Keyed by the sha256 of the clip's 16 kHz PCM (as teacher.csv), so a rebuilt corpus reuses them.
Patch p covers samples [47 872·p, 47 872·(p+1)) of the clip (187 mel frames of hop 256); the last
≈ 2 s of a 29 s clip are in no patch, as in the teacher's clip score.
"""

import argparse
import csv
import hashlib
import sys
import time
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402  (venv, label commits, partial rows)

PATCHES_CSV = HERE / "labels" / "teacher-patches.csv"


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def read_manifest(path, splits=None):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        rows = [row for row in r if splits is None or row[1] in splits]
    return header[2:], rows


def pcm_of(wav_path):
    with wave.open(str(wav_path), "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{wav_path}: expected 16 kHz mono 16-bit WAV")
        return w.readframes(w.getnframes())


def read_patches():
    """sha256 -> list of (patch, scores as strings) from labels/teacher-patches.csv."""
    out = {}
    if not PATCHES_CSV.exists():
        return out
    with PATCHES_CSV.open(newline="") as f:
        r = csv.reader(f)
        next(r, None)
        for row in r:
            if len(row) != 52:
                continue  # a partial last row of a killed run: relabelled
            out.setdefault(row[0], []).append((int(row[1]), row[2:]))
    # a clip counts only when all its patches were written (rows go out together, but be sure)
    return {k: sorted(v) for k, v in out.items() if [p for p, _ in sorted(v)] == list(range(len(v)))}


def commit():
    build.commit_labels(PATCHES_CSV, "corpus: teacher patch labels (incremental)")


def label(manifest, splits, commit_every):
    import numpy as np
    import teacher  # noqa: E402  (needs the venv)
    tags, rows = read_manifest(manifest, splits)
    base = Path(manifest).resolve().parent
    have = read_patches()
    todo = []
    for row in rows:
        pcm = pcm_of(base / row[0])
        sha = hashlib.sha256(pcm).hexdigest()
        if sha not in have:
            todo.append((row[0], sha))
    log(f"[patches] {len(rows)} clips in {splits}, {len(rows) - len(todo)} labelled, {len(todo)} to do")
    if not todo:
        return
    t = teacher.Teacher()
    if tags != t.labels:
        sys.exit("the manifest's tag columns are not the teacher's tags")
    new = not PATCHES_CSV.exists()
    if not new:
        build.drop_partial_row(PATCHES_CSV)
    last_commit = t0 = time.time()
    with PATCHES_CSV.open("a", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        if new:
            w.writerow(["pcm_sha256", "patch"] + t.labels)
        for i, (audio, sha) in enumerate(todo):
            pcm = np.frombuffer(pcm_of(base / audio), dtype="<i2").astype(np.float32) / 32768.0
            batch = t.mel_patches(pcm)
            taggram = t.sess.run(t.y, feed_dict={t.x: batch, t.is_training: False})
            # one write for the clip's rows, so a kill leaves at most one partial line
            lines = [[sha, p] + [f"{s:.4f}" for s in scores] for p, scores in enumerate(taggram)]
            w.writerows(lines)
            f.flush()
            if (i + 1) % 50 == 0 or i + 1 == len(todo):
                log(f"[patches] {i + 1}/{len(todo)}  {(time.time() - t0) / (i + 1):.2f} wall-s/clip")
            if commit_every and time.time() - last_commit > commit_every:
                commit()
                last_commit = time.time()
    if commit_every:
        commit()


def sidecar(manifest):
    tags, rows = read_manifest(manifest)
    base = Path(manifest).resolve().parent
    have = read_patches()
    out = Path(manifest).with_suffix(".patches.csv")
    tmp = out.with_suffix(".tmp")
    n = 0
    with tmp.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["audio", "patch"] + tags)
        for row in rows:
            sha = hashlib.sha256(pcm_of(base / row[0])).hexdigest()
            if sha in have:
                n += 1
                w.writerows([row[0], p] + s for p, s in have[sha])
    tmp.rename(out)
    log(f"[patches] {out}: taggrams of {n} of {len(rows)} clips")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stage", choices=["label", "sidecar"])
    ap.add_argument("manifest")
    ap.add_argument("--splits", nargs="+", default=["train"])
    ap.add_argument("--commit-every", type=float, default=0, help="git-commit the labels every S s")
    a = ap.parse_args()
    if a.stage == "label":
        build.ensure_venv(__file__)  # the teacher needs the corpus venv
        label(a.manifest, set(a.splits), a.commit_every)
    else:
        sidecar(a.manifest)


if __name__ == "__main__":
    main()
