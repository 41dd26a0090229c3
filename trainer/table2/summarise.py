"""Write the Table 2 comparison (Markdown) from the trained model files.

    python3 summarise.py CLI RUNS BUDGET MODEL...

Reads each RUNS/MODEL/MODEL.bpk through `CLI model info --json` (the metadata the
trainer wrote: test metrics, epochs trained, CPU time, parameter count).
"""
import datetime
import json
import os
import platform
import subprocess
import sys

# Song et al. 2018, Table 2: test ROC-AUC on MagnaTagATune and parameters.
PAPER = {
    "scat-4l-256h-lstm": (0.857, "2295K"),
    "scat-4l-256h-gru": (0.896, "1724K"),
    "scat-4l-512h-lstm": (0.892, "8260K"),
    "scat-4l-512h-gru": (0.903, "6202K"),
    "scat-5l-512h-gru": (0.909, "7776K"),
    "scat-6l-512h-gru": (0.902, "9350K"),
    "scat-5l-512h-lstm": (None, None),
    "mel-5l-512h-gru": (0.794, "9209K"),
    "mel-5l-512h-lstm": (0.773, "12270K"),
    "cqt-5l-512h-gru": (0.775, "2482K"),
    "cqt-5l-512h-lstm": (0.765, "3306K"),
    "scat-4l-cnn": (0.904, "17365K"),
}


def info(cli, path):
    out = subprocess.run([cli, "model", "info", "--json", path], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    cli, runs, budget, models = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    rows = []
    for m in models:
        d = info(cli, f"{runs}/{m}/{m}.bpk")
        x = d["metrics"].get("extra", {})
        rows.append((m, d, x))
    commit = rows[0][1]["provenance"].get("commit") or "?"
    train = rows[0][2].get("clips", {}).get("train", 0)
    p = print
    p("# The paper's Table 2, re-measured\n")
    p(f"Made by `bash trainer/table2/run.sh {budget}` on {datetime.date.today()} "
      f"({platform.machine()}, 2 shared cores, burn flex CPU backend); the model files record "
      f"commit `{commit[:7]}` (the tree the trainer was built from).\n")
    p(f"**Budget: {budget} CPU-minutes of training steps per model** (process CPU time over all "
      "threads, validation excluded), then the test split. Same corpus (trainer/corpus: "
      f"{train} training clips, first 29 s window of each), seed 0, Adam, learning rate 1e-3 × "
      "0.95 per epoch, batch 16, each model's default front end and dropout. The budget is "
      "checked before each batch, so a run overshoots by up to one batch (see the CPU-minutes "
      "column). CPU time rather than epochs because the models differ by up to ~50× in cost per "
      "clip (mel and CQT give 1813 frames per clip, scattering 114; see the last column): a few "
      "epochs of each mel or CQT model would take several hours of this machine, and equal "
      "compute is the comparison that matters on a CPU.\n")
    p("Test figures are macro means over the tags with a test positive (positive = target ≥ 0.5), "
      "against the teacher's labels for recordings and hard labels for renders. The paper's "
      "figures are MagnaTagATune test ROC-AUC after 300 epochs on a GPU: a different dataset, "
      "labels and budget, so compare the orderings, not the values.\n")
    p("| model | paper ROC-AUC | paper params | our ROC-AUC | our PR-AUC | our params | "
      "epochs in budget | CPU-minutes used | CPU-s per training clip |")
    p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for m, d, x in rows:
        paper_auc, paper_params = PAPER.get(m, (None, None))
        met = d["metrics"]
        ep = x.get("epochs_trained")
        cpu = x.get("train_cpu_minutes")
        per_clip = cpu * 60 / (ep * train) if ep and cpu and train else None
        f = lambda v, fmt: (fmt.format(v) if v is not None else "—")
        params = x.get("parameters")
        p(f"| {m} | {f(paper_auc, '{:.3f}')} | {paper_params or '—'} | "
          f"{f(met.get('roc_auc'), '{:.3f}')} | {f(met.get('pr_auc'), '{:.3f}')} | "
          f"{f(params / 1000 if params else None, '{:.0f}K')} | {f(ep, '{:.3f}')} | {f(cpu, '{:.1f}')} | "
          f"{f(per_clip, '{:.2f}')} |")
    p()
    p("Per-epoch logs: `metrics.csv` in each run folder; per-tag test figures: "
      "`scatterbrain model info --json RUN/MODEL.bpk`.")
    # The reading of the numbers is written by hand beside this script.
    reading = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reading.md")
    if os.path.exists(reading):
        p()
        p(open(reading).read().rstrip())


main()
