#!/usr/bin/env python3
"""Training throughput (clips/s) of our trainer against PyTorch on the same
model and batch, in the same run; writes benches/RESULTS-train.md.

Run through benches/compare_pytorch.sh (it makes the venv and the release
build). What is timed, on both sides, is the pure training step on random
inputs of the real shape (no data loading): forward, binary cross-entropy on
logits (mean over batch × 50), reading the loss back, backward, Adam update.

Ours: `scatterbrain bench-train`, which calls the trainer's own step
(trainer/src/step.rs) on burn's autodiff over the flex CPU backend.

PyTorch: the same network, built from torch.nn:
- nn.GRU(644, 512, num_layers=5, batch_first=True, dropout=0.25): PyTorch's
  GRU equations and r|z|n gates with separate input and hidden biases, which
  are the equations src/model/rnn.rs implements (reset gate applied to
  W_hn h + b_hn); nn.GRU drops between layers,
- nn.Dropout(0.25) on the last layer's outputs (ours drops every layer's
  output sequence, the last one included),
- mean over time, nn.Linear(512, 50), BCEWithLogitsLoss,
- torch.optim.Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-5): burn's AdamConfig
  defaults (eps 1e-5, where PyTorch's default is 1e-8), no weight decay.
Both sides have 8 108 082 parameters (checked below).

Each side runs in its own process with the thread count fixed (RAYON_NUM_THREADS
for ours, torch.set_num_threads + OMP_NUM_THREADS for PyTorch), alternating
PyTorch / ours twice per thread count; the faster of each side's two runs
counts (the machine is shared, so slow outliers are other people's work).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/scatterbrain/target"))
OURS = os.path.join(TARGET, "release", "scatterbrain")
MODEL = "scat-5l-512h-gru"
INPUT, FRAMES, HIDDEN, LAYERS, TAGS, DROPOUT = 644, 114, 512, 5, 50, 0.25
OUR_PARAMETERS = 8_108_082


def torch_worker(batch, steps, warmup, threads, seed):
    """Time PyTorch training steps in this process; print one JSON line."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(seed)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(INPUT, HIDDEN, num_layers=LAYERS, batch_first=True, dropout=DROPOUT)
            self.dropout = nn.Dropout(DROPOUT)
            self.head = nn.Linear(HIDDEN, TAGS)

        def forward(self, x):
            h, _ = self.gru(x)
            return self.head(self.dropout(h).mean(dim=1))

    net = Net().train()
    parameters = sum(p.numel() for p in net.parameters())
    optim = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-5)
    loss_fn = nn.BCEWithLogitsLoss()
    x = torch.randn(batch, FRAMES, INPUT)
    y = torch.rand(batch, TAGS)

    times, losses = [], []
    for k in range(warmup + steps):
        start = time.perf_counter()
        optim.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        value = loss.item()  # ours reads the loss back too
        loss.backward()
        optim.step()
        seconds = time.perf_counter() - start
        print(f"torch step {k + 1}/{warmup + steps}: {seconds:.3f} s, loss {value:.4f}", file=sys.stderr)
        if k >= warmup:
            times.append(seconds)
            losses.append(value)
    median = statistics.median(times)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "parameters": parameters,
        "step_seconds": times,
        "median_step_seconds": median,
        "clips_per_s": batch / median,
        "mean_clips_per_s": batch * steps / sum(times),
        "losses": losses,
    }))


def run_json(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def thread_env(threads):
    env = dict(os.environ)
    for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)
    return env


def ours(batch, steps, warmup, threads, seed):
    return run_json(
        [OURS, "bench-train", "--model", MODEL, "--batch", str(batch), "--steps", str(steps),
         "--warmup", str(warmup), "--seed", str(seed)],
        thread_env(threads),
    )


def torch_run(batch, steps, warmup, threads, seed, wait_policy=None):
    env = thread_env(threads)
    env.pop("OMP_WAIT_POLICY", None)
    if wait_policy:
        env["OMP_WAIT_POLICY"] = wait_policy
    return run_json(
        [sys.executable, os.path.abspath(__file__), "--worker", "--batch", str(batch),
         "--steps", str(steps), "--warmup", str(warmup), "--threads", str(threads),
         "--seed", str(seed)],
        env,
    )


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions():
    rustc = subprocess.run(["rustc", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    with open(os.path.join(ROOT, "Cargo.lock")) as f:
        lock = f.read()
    burn = re.search(r'name = "burn"\nversion = "([^"]+)"', lock)
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True).stdout.rstrip("\n")

    commit = git("rev-parse", "--short", "HEAD")
    # The working tree is shared: say what the build had beyond the commit.
    dirty = git("status", "--porcelain", "--", "src", "trainer/src", "Cargo.toml", "Cargo.lock")
    if dirty:
        files = [line[3:] for line in dirty.splitlines()]
        commit += " with uncommitted changes to " + ", ".join(f"`{f}`" for f in files)
    return rustc, burn.group(1) if burn else "?", commit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "benches", "RESULTS-train.md"))
    a = ap.parse_args()
    if a.worker:
        torch_worker(a.batch, a.steps, a.warmup, a.threads, a.seed)
        return

    cores = os.cpu_count() or 1
    thread_counts = [1] if cores == 1 else [1, cores]
    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for threads in thread_counts:
        runs = {"ours": [], "torch": []}
        for r in range(a.rounds):
            print(f"== {threads} thread(s), round {r + 1}/{a.rounds}: PyTorch", file=sys.stderr)
            runs["torch"].append(torch_run(a.batch, a.steps, a.warmup, threads, a.seed))
            if threads > 1:
                # OpenMP threads spin at barriers by default, which costs a lot
                # when another process holds one of the cores; count PyTorch's
                # better setting.
                print(f"== {threads} threads, round {r + 1}/{a.rounds}: PyTorch, OMP_WAIT_POLICY=PASSIVE",
                      file=sys.stderr)
                runs["torch"].append(
                    torch_run(a.batch, a.steps, a.warmup, threads, a.seed, "PASSIVE"))
            print(f"== {threads} thread(s), round {r + 1}/{a.rounds}: ours", file=sys.stderr)
            runs["ours"].append(ours(a.batch, a.steps, a.warmup, threads, a.seed))
        best = {k: max(v, key=lambda j: j["clips_per_s"]) for k, v in runs.items()}
        if best["torch"]["parameters"] != best["ours"]["parameters"]:
            sys.exit(f"parameter counts differ: torch {best['torch']['parameters']}, "
                     f"ours {best['ours']['parameters']}: not the same model")
        rows.append((threads, runs, best))
        print(f"{threads} thread(s): ours {best['ours']['clips_per_s']:.2f} clips/s, "
              f"PyTorch {best['torch']['clips_per_s']:.2f} clips/s", file=sys.stderr)
        # Written after every thread count, so a run stopped early (the
        # machine is shared and slow runs happen) still records what it measured.
        report(a, rows, thread_counts, cores, started, load_before)


def report(a, rows, thread_counts, cores, started, load_before):
    load_after = os.getloadavg()
    rustc, burn, commit = versions()
    torch_version = rows[0][2]["torch"]["torch"]
    mkldnn = rows[0][2]["torch"]["mkldnn"]

    def fmt_runs(v):
        return ", ".join(
            f"{j['clips_per_s']:.2f}" + (" (passive)" if j.get("omp_wait_policy") == "PASSIVE" else "")
            for j in v)

    lines = [
        "# Training throughput results",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC on: {cpu_name()} ({cores} cores, shared machine)",
        f"by `bash benches/compare_pytorch.sh` at commit {commit}.",
        "",
        f"One training step of {MODEL} (644 inputs × 114 frames, 5 × 512 GRU, dropout 0.25,",
        "mean over time, dense 50; binary cross-entropy on logits; Adam, lr 1e-3, eps 1e-5)",
        f"on a batch of {a.batch} random standard-normal clips with random soft targets: forward,",
        "loss read back, backward, Adam update. No data loading (`scatterbrain train`'s per-epoch",
        "clips/s also includes batching and validation).",
        "",
        f"- Ours: `scatterbrain bench-train` (the trainer's own step, `trainer/src/step.rs`), burn {burn}",
        f"  autodiff over the flex CPU backend, {rustc}; threads = `RAYON_NUM_THREADS`.",
        f"- PyTorch {torch_version} (PyPI wheel, run on the CPU; oneDNN {'available' if mkldnn else 'not available'}):",
        "  `nn.GRU(644, 512, num_layers=5, dropout=0.25)` + `nn.Dropout(0.25)` on the last layer,",
        "  mean over time, `nn.Linear(512, 50)`, `BCEWithLogitsLoss`, `torch.optim.Adam` (defaults",
        "  otherwise); threads = `torch.set_num_threads` and `OMP_NUM_THREADS`. With more than one",
        "  thread PyTorch also runs with `OMP_WAIT_POLICY=PASSIVE` (marked passive): its OpenMP",
        "  threads otherwise spin at barriers, which is very slow while other processes hold the cores.",
        f"  Same parameter count on both sides: {rows[0][2]['ours']['parameters']:,}.",
        "",
        f"Each figure is batch / median step time over {a.steps} steps after {a.warmup} warm-up steps;",
        f"PyTorch and ours alternate, {a.rounds} rounds per thread count, and each side's fastest run counts",
        "(all runs are listed). Everything ran under `nice -n 19` on a 2-core machine shared with",
        "other builds and a training run, so absolute figures are pessimistic and noisy; the",
        f"ratio is the point. Load average (1 min) before: {load_before[0]:.2f}, after: {load_after[0]:.2f}.",
        "",
        "| threads | ours (clips/s) | PyTorch (clips/s) | ours / PyTorch | ours, step (s) | PyTorch, step (s) | all runs: ours; PyTorch (clips/s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for threads, runs, best in rows:
        o, t = best["ours"], best["torch"]
        lines.append(
            f"| {threads} | {o['clips_per_s']:.2f} | {t['clips_per_s']:.2f} | "
            f"{o['clips_per_s'] / t['clips_per_s']:.2f} | {o['median_step_seconds']:.3f} | "
            f"{t['median_step_seconds']:.3f} | {fmt_runs(runs['ours'])}; {fmt_runs(runs['torch'])} |"
        )
    lines += [
        "",
        *([f"Stopped early: measured at {', '.join(str(r[0]) for r in rows)} thread(s) of "
           f"{', '.join(map(str, thread_counts))}.", ""] if len(rows) < len(thread_counts) else []),
        "A ratio below 1 means ours trains slower than PyTorch. Losses fall on both sides over the",
        "timed steps (the same batch is reused), a sanity check that the updates are applied:",
        "",
    ]
    for threads, _, best in rows:
        for side in ("ours", "torch"):
            ls = best[side]["losses"]
            lines.append(f"- {threads} thread(s), {'ours' if side == 'ours' else 'PyTorch'}: "
                         f"loss {ls[0]:.4f} → {ls[-1]:.4f}")
    lines.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
