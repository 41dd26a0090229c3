"""Per-tag test figures of a model, overall and by label source.

    python3 trainer/eval_by_source.py CLI MODEL MANIFEST > REPORT.md

The test split mixes real recordings (teacher labels from musicnn) with the
music21 and MMA renders (hard labels for the tags their recipe knows, teacher
labels for the rest). Issue 4 asks for both views, so this writes two filtered
manifests beside MANIFEST (paths in it are relative to its folder), runs
`CLI eval --json` on each and on the whole test split, and prints one table.
"""
import json
import os
import subprocess
import sys

RENDERS = ("clips/mma-grooves/", "clips/music21-corpus/")


def evaluate(cli, model, manifest):
    out = subprocess.run([cli, "eval", model, "--manifest", manifest, "--json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    cli, model, manifest = sys.argv[1:4]
    lines = open(manifest).read().splitlines()
    head, rows = lines[0], [l for l in lines[1:] if l.split(",")[1] == "test"]
    parts = {
        "recordings": [l for l in rows if not l.startswith(RENDERS)],
        "renders": [l for l in rows if l.startswith(RENDERS)],
    }
    base = os.path.splitext(manifest)[0]
    results = {"all": evaluate(cli, model, manifest)}
    for name, part in parts.items():
        path = f"{base}-test-{name}.csv"
        with open(path, "w") as f:
            f.write("\n".join([head] + part) + "\n")
        results[name] = evaluate(cli, model, path)

    def cell(t):
        if t["roc_auc"] is None:
            return "— | — | 0"
        return f"{t['roc_auc']:.3f} | {t['pr_auc']:.3f} | {t['positives']}"

    r = results
    print(f"# {r['all']['model']}: test split by label source\n")
    print(f"Made by `python3 trainer/eval_by_source.py CLI {os.path.basename(model)} MANIFEST`: "
          "`scatterbrain eval` on the whole test split, on its real recordings (targets = the "
          "teacher's labels) and on its music21/MMA renders (targets = hard labels for the tags "
          "each recipe knows, the teacher's for the rest). Positive = target ≥ 0.5. A tag with "
          "no positive in a part has no figure there; with a handful of positives a figure is "
          "noise.\n")
    print("| part | clips | macro ROC-AUC | macro PR-AUC |")
    print("| --- | --- | --- | --- |")
    for k in ("all", "recordings", "renders"):
        v = r[k]
        print(f"| {k} | {v['clips']} | {v['roc_auc']:.3f} | {v['pr_auc']:.3f} |")
    print()
    print("| tag | all: ROC | PR | pos | recordings: ROC | PR | pos | renders: ROC | PR | pos |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for a, b, c in zip(r["all"]["per_tag"], r["recordings"]["per_tag"], r["renders"]["per_tag"]):
        print(f"| {a['tag']} | {cell(a)} | {cell(b)} | {cell(c)} |")


main()
