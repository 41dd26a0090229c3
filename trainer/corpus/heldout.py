#!/usr/bin/env python3
"""Teacher agreement on music the model has never heard: whole held-out packages.

    python3 trainer/corpus/heldout.py [--model M.bpk ...] [--splits test validation track-test]
                                      [--out models/heldout.md] [--json F]

For every clip of the chosen splits (from the corpus manifest; the Frets on Fire songs and the sung
renders in sections of their own, unless --together), scores it with each Scatterbrain
model (`scatterbrain tag --json`, the product's own road) and with musicnn's `MTT_vgg` (a network
trained on real MagnaTagATune, the peer), in the same run, and compares both with the teacher
(musicnn `MTT_musicnn`, the labels the corpus stores) under two protocols:

  * soft>=0.5 : a tag is positive on a clip when the teacher's score is >= 0.5;
  * top-3     : the teacher's three highest-scoring tags on each clip are its positives.

Macro ROC-AUC and PR-AUC over the tags with at least --min-positives positives in the set, and
per-tag ROC-AUC; for the top-3 protocol, 95 % intervals of each macro figure and of its difference
from the first model's (whole tracks resampled); for voices, the ROC-AUC of "someone sings" and the share of clips on which each
scorer says "no vocals" (or "no vocal", "no voice") >= 0.5. "test" and "validation" are whole packages kept out of training (build.py HELDOUT);
"track-test" is tracks held out of packages that also train (look-alike music, labelled as such).
Scores are cached per (model file sha256, clip sha256) in the corpus folder, so a re-run only
scores what is new.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402  (paths, venv, tag order, label reader)

TOP = 3
# "Is someone singing or speaking?": the teacher's voice tags (as in ../shared/data/singing-synthesis.md).
VOICE = ["vocal", "vocals", "singing", "voice", "female", "male", "woman", "man", "female vocal",
         "male vocal", "female voice", "male voice"]
# "Nobody sings": said with confidence (>= 0.5) on a clip with a voice, the error issue 11 names.
NO_VOICE = ["no vocals", "no vocal", "no voice"]


def find_cli(explicit):
    if explicit:
        return explicit
    target = Path(os.environ.get("CARGO_TARGET_DIR", build.CACHE / "target"))
    for profile in ("release", "ci"):
        p = target / profile / "scatterbrain"
        if p.exists():
            return str(p)
    sys.exit("no scatterbrain binary: build it (cargo build --release -p scatterbrain-trainer) "
             "or pass --cli")


class ScoreCache:
    """Scores keyed by scorer id and clip sha256, one JSON line per clip (appends survive a kill)."""

    def __init__(self, path):
        self.path = path
        self.data = {}
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill: scored again
                self.data[r["scorer"], r["clip"]] = r["scores"]
        self.f = None

    def get(self, scorer, clip):
        return self.data.get((scorer, clip))

    def put(self, scorer, clip, scores):
        if self.f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.f = self.path.open("a")
        self.data[scorer, clip] = scores
        self.f.write(json.dumps({"scorer": scorer, "clip": clip, "scores": scores}) + "\n")
        self.f.flush()


def score_model(cli, model, clips, cdir, cache, batch=64):
    scorer = "model:" + build.sha256_file(model)
    todo = [c for c in clips if cache.get(scorer, c["pcm_sha256"]) is None]
    build.log(f"[heldout] {Path(model).name}: {len(clips) - len(todo)} cached, {len(todo)} to score")
    for i in range(0, len(todo), batch):
        part = todo[i:i + batch]
        r = subprocess.run([cli, "tag", "--json", "--model", str(model)]
                           + [str(cdir / c["audio"]) for c in part],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"scatterbrain tag failed: {r.stderr.strip()}")
        out = json.loads(r.stdout)
        names = out["tags"]
        if names != build.TAGS:
            sys.exit(f"{model}: its tags are not the 50 MagnaTagATune tags in musicnn's order")
        for c, f in zip(part, out["files"]):
            cache.put(scorer, c["pcm_sha256"], [round(s, 5) for s in f["scores"]])
        build.log(f"[heldout]   {min(i + batch, len(todo))}/{len(todo)}")
    return [cache.get(scorer, c["pcm_sha256"]) for c in clips]


def score_vgg(clips, cdir, cache):
    scorer = "musicnn:MTT_vgg"
    todo = [c for c in clips if cache.get(scorer, c["pcm_sha256"]) is None]
    build.log(f"[heldout] MTT_vgg: {len(clips) - len(todo)} cached, {len(todo)} to score")
    if todo:
        import teacher
        t = teacher.Teacher("MTT_vgg")
        if list(t.labels) != build.TAGS:
            sys.exit("musicnn's MTT labels are not in the corpus tag order")
        for i, c in enumerate(todo):
            cache.put(scorer, c["pcm_sha256"], [round(float(s), 5) for s in t.tag_wav(cdir / c["audio"])])
            if (i + 1) % 50 == 0:
                build.log(f"[heldout]   {i + 1}/{len(todo)}")
    return [cache.get(scorer, c["pcm_sha256"]) for c in clips]


def positives(teacher, protocol):
    import numpy as np
    if protocol == "soft>=0.5":
        return teacher >= 0.5
    top = np.argsort(-teacher, axis=1)[:, :TOP]
    y = np.zeros_like(teacher, dtype=bool)
    np.put_along_axis(y, top, True, axis=1)
    return y


def figures(y, scores, min_pos):
    """Macro ROC-AUC / PR-AUC over tags with >= min_pos positives (and a negative); per-tag AUCs."""
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score
    per = {}
    for j, tag in enumerate(build.TAGS):
        npos = int(y[:, j].sum())
        if npos < min_pos or npos == len(y):
            continue
        per[tag] = {"positives": npos,
                    "roc_auc": float(roc_auc_score(y[:, j], scores[:, j])),
                    "pr_auc": float(average_precision_score(y[:, j], scores[:, j]))}
    if not per:
        return {"tags": 0, "roc_auc": None, "pr_auc": None, "per_tag": {}}
    return {"tags": len(per),
            "roc_auc": float(np.mean([v["roc_auc"] for v in per.values()])),
            "pr_auc": float(np.mean([v["pr_auc"] for v in per.values()])),
            "per_tag": per}


def voice_figures(teacher, scores):
    """ROC-AUC of "a voice is there": positive when one of VOICE is among the teacher's top 3
    (top-3) or scores >= 0.5 (soft>=0.5); a scorer's score is its highest over VOICE."""
    import numpy as np
    from sklearn.metrics import roc_auc_score
    cols = [build.TAGS.index(t) for t in VOICE]
    out = {}
    for protocol in ("top-3", "soft>=0.5"):
        y = positives(teacher, protocol)[:, cols].any(axis=1)
        npos = int(y.sum())
        out[protocol] = {"positives": npos, "clips": len(y), "roc_auc": {
            name: (float(roc_auc_score(y, s[:, cols].max(axis=1))) if 0 < npos < len(y) else None)
            for name, s in scores.items()}}
    return out


BOOT = 300  # bootstrap draws: enough for the 2.5th/97.5th percentiles to settle to ~0.002


def rank_auc(y, s):
    """ROC-AUC by ranks (Mann-Whitney, ties averaged): sklearn's figure, fast enough to bootstrap."""
    from scipy.stats import rankdata
    npos = int(y.sum())
    return (rankdata(s)[y].sum() - npos * (npos + 1) / 2) / (npos * (len(y) - npos))


def bootstrap(y, scorers, tags, groups, seed=0):
    """95 % intervals of each scorer's macro ROC-AUC over `tags`, and of its difference from the
    first scorer's, with whole tracks resampled (`groups`: a clip's track; clips of one track are
    alike, so resampling clips would understate the spread). The same draws for every scorer."""
    import numpy as np
    rng = np.random.default_rng(seed)
    cols = [build.TAGS.index(t) for t in tags]
    tracks = {}
    for i, g in enumerate(groups):
        tracks.setdefault(g, []).append(i)
    members = list(tracks.values())
    draws = {name: [] for name in scorers}
    for _ in range(BOOT):
        idx = np.concatenate([members[k] for k in rng.integers(0, len(members), len(members))])
        yy = y[idx][:, cols]
        live = [k for k in range(len(cols)) if 0 < yy[:, k].sum() < len(idx)]
        if not live:  # a draw without a positive (a section of few tracks): no figure
            continue
        for name, s in scorers.items():
            ss = s[idx][:, cols]
            draws[name].append(np.mean([rank_auc(yy[:, k], ss[:, k]) for k in live]))
    first = np.array(next(iter(draws.values())))
    if len(first) < BOOT // 2:
        return {}  # most draws lost every positive: too few tracks for an interval
    pct = (lambda d: [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))])
    return {name: {"roc_auc_95": pct(np.array(d)), "minus_first_95": pct(np.array(d) - first)}
            for name, d in draws.items()}


def no_voice_shares(scores):
    """Each scorer's share of clips on which it says "no vocals" (or the like) with confidence:
    on clips known to be sung (the sung renders) the share it wrongly calls instrumental."""
    cols = [build.TAGS.index(t) for t in NO_VOICE]
    return {name: float((s[:, cols].max(axis=1) >= 0.5).mean()) for name, s in scores.items()}


def package(row):
    return row["audio"].split("/")[1]  # clips/<package>/<file>/<offset>.wav


# Held-out packages reported apart from the rest of their split by default: the real songs with
# vocals (the paper's 5 × 512 model trained on them before the held-out split) and the synthetic
# singers (sung.py), whose figures answer other questions than "tags on unseen packages".
APART = {"Frets on Fire": ["fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid"],
         "sung renders": ["sung-renders"]}


def sections(rows, labels, args):
    """(key, clips) per split: the split's clips outside every APART group, then each group's
    (key "split / group"), skipping what has no labelled clip."""
    apart = {} if args.together else APART
    kept = [r for r in rows if r["pcm_sha256"] in labels and package(r) not in args.exclude_packages
            and (not args.packages or package(r) in args.packages)]
    grouped = {p: name for name, pkgs in apart.items() for p in pkgs}
    for split in args.splits:
        in_split = [r for r in kept if r["split"] == split]
        yield split, [r for r in in_split if package(r) not in grouped]
        for name in apart:
            yield f"{split} / {name}", [r for r in in_split if grouped.get(package(r)) == name]


def report_section(lines, sp, teacher, scorers, groups, min_positives):
    """The markdown tables of one section into `lines`, its figures into `sp`."""
    first = next(iter(scorers))
    lines.append("| scorer | protocol | tags | macro ROC-AUC | 95 % interval | minus "
                 f"{first}, 95 % interval | macro PR-AUC | worst tags (ROC-AUC) |")
    lines.append("|---|---|---|---|---|---|---|---|")
    fmt = (lambda v: "–" if v is None else f"{v:.3f}")
    span = (lambda iv: f"{iv[0]:.3f} – {iv[1]:.3f}" if iv[0] < 0 or iv[1] < 0 else f"{iv[0]:.3f}–{iv[1]:.3f}")
    for protocol in ("top-3", "soft>=0.5"):
        y = positives(teacher, protocol)
        sp["protocols"][protocol] = {}
        for name, s in scorers.items():
            sp["protocols"][protocol][name] = figures(y, s, min_positives)
        tags = list(sp["protocols"][protocol][first]["per_tag"])
        # Intervals for the protocol only (the other has 1-3 tags per split).
        boot = bootstrap(y, scorers, tags, groups) if protocol == "top-3" and tags else {}
        for name, f in sp["protocols"][protocol].items():
            f.update(boot.get(name, {}))
            iv = boot.get(name)
            worst = sorted(f["per_tag"].items(), key=lambda kv: kv[1]["roc_auc"])[:6]
            lines.append(f"| {name} | {protocol} | {f['tags']} | {fmt(f['roc_auc'])} | "
                         f"{span(iv['roc_auc_95']) if iv else '–'} | "
                         f"{span(iv['minus_first_95']) if iv and name != first else '–'} | "
                         f"{fmt(f['pr_auc'])} | "
                         + ", ".join(f"{t} {v['roc_auc']:.2f}" for t, v in worst) + " |")
    lines.append("")
    lines.append("Intervals: whole tracks resampled with replacement, "
                 f"{BOOT} draws, the same for every scorer.")
    lines.append("")
    sp["voice"] = voice = voice_figures(teacher, scorers)
    lines.append("Voice (any of " + ", ".join(VOICE) + "), ROC-AUC of the highest of those scores:")
    lines.append("")
    lines.append("| protocol | clips with a voice | " + " | ".join(scorers) + " |")
    lines.append("|---|---|" + "---|" * len(scorers))
    for protocol, v in voice.items():
        lines.append(f"| {protocol} | {v['positives']} of {v['clips']} | "
                     + " | ".join(fmt(a) for a in v["roc_auc"].values()) + " |")
    sp["no_voice_confident"] = nv = no_voice_shares(scorers)
    lines.append(f"| clips where it says {' / '.join(NO_VOICE)} ≥ 0.5 | – | "
                 + " | ".join(f"{v:.0%}" for v in nv.values()) + " |")
    lines.append("")
    # per-tag table, top-3 protocol
    per = sp["protocols"]["top-3"]
    tags = sorted(next(iter(per.values()))["per_tag"], key=build.TAGS.index)
    if tags:
        lines.append("Per tag, top-3 protocol (ROC-AUC):")
        lines.append("")
        lines.append("| tag | positives | " + " | ".join(per) + " |")
        lines.append("|---|---|" + "---|" * len(per))
        for t in tags:
            lines.append(f"| {t} | {per[next(iter(per))]['per_tag'][t]['positives']} | "
                         + " | ".join(f"{v['per_tag'][t]['roc_auc']:.3f}" for v in per.values())
                         + " |")
        lines.append("")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=str(build.DEFAULT_DIR), help="corpus folder")
    ap.add_argument("--model", action="append",
                    help="model file(s) (default: the shipped models/scat-4l-256h-gru.bpk)")
    ap.add_argument("--cli", help="scatterbrain binary (default: the newest release/ci build)")
    ap.add_argument("--splits", nargs="+", default=["test", "validation", "track-test"])
    ap.add_argument("--exclude-packages", nargs="*", default=[],
                    help="leave these packages out (e.g. ones an older model trained on)")
    ap.add_argument("--packages", nargs="*", default=[],
                    help="only these packages (e.g. the Frets on Fire songs, the real singing)")
    ap.add_argument("--together", action="store_true",
                    help="report the Frets on Fire songs and the sung renders with the rest of "
                         "their split, not in sections of their own")
    ap.add_argument("--min-positives", type=int, default=10)
    ap.add_argument("--out", help="write the markdown report here too")
    ap.add_argument("--json", help="write all figures (per tag, per protocol) as JSON here")
    args = ap.parse_args()
    build.ensure_venv(__file__)
    import numpy as np

    cdir = Path(args.dir).expanduser().resolve()
    manifest = cdir / "manifest.jsonl"
    if not manifest.exists():
        sys.exit(f"{manifest} missing: build the corpus first (trainer/corpus/README.md)")
    labels = {k[4]: v for k, v in build.read_labels().items()}
    rows = [json.loads(line) for line in manifest.open()]
    models = [Path(m) for m in (args.model or [REPO / "models" / "scat-4l-256h-gru.bpk"])]
    cli = find_cli(args.cli)
    cache = ScoreCache(cdir / "heldout-scores.jsonl")

    report = {"splits": {}, "min_positives": args.min_positives, "top": TOP,
              "models": [str(m) for m in models]}
    lines = []
    for key, clips in sections(rows, labels, args):
        if not clips:
            if " / " not in key:  # a group absent from a split is the rule, not news
                build.log(f"[heldout] {key}: no labelled clips, skipped")
            continue
        pkgs = sorted({package(r) for r in clips})
        teacher = np.array([labels[r["pcm_sha256"]] for r in clips], dtype=np.float64)
        scorers = {m.stem: np.array(score_model(cli, m, clips, cdir, cache)) for m in models}
        scorers["musicnn MTT_vgg"] = np.array(score_vgg(clips, cdir, cache))
        hours = len(clips) * build.CLIP_S / 3600
        sp = report["splits"][key] = {"clips": len(clips), "hours": round(hours, 2),
                                      "packages": pkgs, "protocols": {}}
        lines.append(f"### {key}: {len(clips)} clips ({hours:.1f} h) from {len(pkgs)} packages")
        lines.append("")
        lines.append(", ".join(pkgs))
        lines.append("")
        groups = [r["audio"].rsplit("/", 1)[0] for r in clips]  # clips/<package>/<track>
        report_section(lines, sp, teacher, scorers, groups, args.min_positives)
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")


if __name__ == "__main__":
    main()
