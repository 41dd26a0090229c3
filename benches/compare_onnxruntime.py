#!/usr/bin/env python3
"""Times our scat-5l-512h-gru forward pass (criterion bench `model`, flex CPU
backend) against onnxruntime running the same weights in an ONNX GRU graph,
in the same run, and writes benches/RESULTS-model.md.

Run through benches/compare_onnxruntime.sh (it makes the venv). Steps:
1. Random weights in PyTorch layout (U(±1/√H), seeded) and a [16, 114, 644]
   standard-normal input, written as raw little-endian f32 files. Twice:
   fp32 weights as drawn, and the same rounded as an int8 model file stores
   them (int8 values times one fp32 scale per output; what a shipped model
   loads as): both runtimes get the very same float32 values, and ours keeps
   the second kind's hidden weights in int8 (src/model/panels.rs).
2. An ONNX graph with the same function as our Tagger: Transpose to
   time-major, 5 × GRU (linear_before_reset=1, i.e. PyTorch's equations; ONNX
   gate order z|r|h, permuted from PyTorch's r|z|n), mean over time, MatMul +
   Add, Sigmoid.
3. onnxruntime's output checked against a float64 numpy GRU (batch 1).
4. Rounds alternating onnxruntime (1 thread, and default threads) and
   `cargo bench --bench model` (SCATTERBRAIN_BENCH_WEIGHTS pointing at the
   same files), ending with onnxruntime; each side's best round counts, so a
   burst of load from other jobs on the machine hurts neither side more.
   The first round of ours also times the forward pass's parts
   (`model-parts`: input projections, recurrent matmuls, gate arithmetic).
5. Our scores for the shared input (written by the bench) compared with
   onnxruntime's.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/scatterbrain/target"))
OUT = os.path.join(TARGET, "onnx-compare")
INPUT, STEPS, HIDDEN, LAYERS, TAGS, BATCH = 644, 114, 512, 5, 50, 16


def write(out, name, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(os.path.join(out, name))


def int8_valued(w):
    """As src/model/quant.rs stores and loads a weight: int8 values times one
    scale per output (a row of PyTorch's [outputs, inputs])."""
    scale = (np.abs(w).max(axis=1, keepdims=True) / np.float32(127)).astype(np.float32)
    q = np.round(w / scale).astype(np.int8)
    return (q.astype(np.float32) * scale).astype(np.float32)


def make_weights(out, kind):
    rng = np.random.default_rng(2018)
    k = 1.0 / np.sqrt(HIDDEN)
    layers = []
    for i in range(LAYERS):
        inp = INPUT if i == 0 else HIDDEN
        p = {
            "weight_ih": rng.uniform(-k, k, (3 * HIDDEN, inp)).astype(np.float32),
            "weight_hh": rng.uniform(-k, k, (3 * HIDDEN, HIDDEN)).astype(np.float32),
            "bias_ih": rng.uniform(-k, k, 3 * HIDDEN).astype(np.float32),
            "bias_hh": rng.uniform(-k, k, 3 * HIDDEN).astype(np.float32),
        }
        if kind == "int8":
            for name in ("weight_ih", "weight_hh"):
                p[name] = int8_valued(p[name])
        for name, v in p.items():
            write(out, f"l{i}_{name}.f32", v)
        layers.append(p)
    head_w = rng.uniform(-k, k, (TAGS, HIDDEN)).astype(np.float32)
    if kind == "int8":
        head_w = int8_valued(head_w)
    head_b = rng.uniform(-k, k, TAGS).astype(np.float32)
    x = rng.standard_normal((BATCH, STEPS, INPUT)).astype(np.float32)
    write(out, "head_weight.f32", head_w)
    write(out, "head_bias.f32", head_b)
    write(out, "x.f32", x)
    return layers, head_w, head_b, x


def to_onnx_gates(w):
    """PyTorch r|z|n blocks → ONNX z|r|h blocks (along axis 0)."""
    r, z, n = np.split(w, 3, axis=0)
    return np.concatenate([z, r, n], axis=0)


def build_onnx(out, layers, head_w, head_b):
    nodes, inits = [], []
    nodes.append(helper.make_node("Transpose", ["x"], ["x_tm"], perm=[1, 0, 2]))
    prev = "x_tm"
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
    for i, p in enumerate(layers):
        w = to_onnx_gates(p["weight_ih"])[None]
        r = to_onnx_gates(p["weight_hh"])[None]
        b = np.concatenate([to_onnx_gates(p["bias_ih"]), to_onnx_gates(p["bias_hh"])])[None]
        inits += [
            numpy_helper.from_array(w, f"W{i}"),
            numpy_helper.from_array(r, f"R{i}"),
            numpy_helper.from_array(b, f"B{i}"),
        ]
        nodes.append(
            helper.make_node(
                "GRU", [prev, f"W{i}", f"R{i}", f"B{i}"], [f"Y{i}"],
                hidden_size=HIDDEN, linear_before_reset=1,
            )
        )
        nodes.append(helper.make_node("Squeeze", [f"Y{i}", "axis1"], [f"H{i}"]))
        prev = f"H{i}"
    nodes.append(helper.make_node("ReduceMean", [prev], ["pooled"], axes=[0], keepdims=0))
    inits += [
        numpy_helper.from_array(np.ascontiguousarray(head_w.T), "head_wt"),
        numpy_helper.from_array(head_b, "head_b"),
    ]
    nodes.append(helper.make_node("MatMul", ["pooled", "head_wt"], ["mm"]))
    nodes.append(helper.make_node("Add", ["mm", "head_b"], ["logits"]))
    nodes.append(helper.make_node("Sigmoid", ["logits"], ["probs"]))
    graph = helper.make_graph(
        nodes, "scat_5l_512h_gru",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", STEPS, INPUT])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", TAGS])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    path = os.path.join(out, "scat-5l-512h-gru.onnx")
    onnx.save(model, path)
    return path


def numpy_reference(layers, head_w, head_b, x):
    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    h_seq = x.astype(np.float64)
    for p in layers:
        b, t_len, _ = h_seq.shape
        h = np.zeros((b, HIDDEN))
        out = np.zeros((b, t_len, HIDDEN))
        for t in range(t_len):
            gi = h_seq[:, t] @ p["weight_ih"].T.astype(np.float64) + p["bias_ih"]
            gh = h @ p["weight_hh"].T.astype(np.float64) + p["bias_hh"]
            ir, iz, i_n = np.split(gi, 3, axis=1)
            hr, hz, hn = np.split(gh, 3, axis=1)
            r, z = sig(ir + hr), sig(iz + hz)
            n = np.tanh(i_n + r * hn)
            h = (1 - z) * n + z * h
            out[:, t] = h
        h_seq = out
    return sig(h_seq.mean(axis=1) @ head_w.T.astype(np.float64) + head_b)


def time_ort(path, x, threads, runs):
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    out = None
    for _ in range(3):
        out = sess.run(None, {"x": x})[0]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {"x": x})
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000.0, out


ROUNDS = 2
PARTS = [
    ("input-projection", "input projections (model::host_gru::project): one [114·B, I] × [I, 3H] product per layer"),
    ("recurrent-loop", "time loop (model::host_gru): [B, 512] × [512, 1536] + bias and the gates, 570 steps"),
]


def criterion_ms(group, bench, batch):
    path = os.path.join(TARGET, "criterion", group, bench, f"b{batch}", "new", "estimates.json")
    with open(path) as fh:
        est = json.load(fh)
    return est["median"]["point_estimate"] / 1e6


# Where the hand-written part of RESULTS-model.md starts (kept across runs).
HAND_WRITTEN = "## History (hand-written"


KINDS = ("fp32", "int8")


def measure(kind):
    """One kind of weights: rounds alternating the two runtimes, then the
    agreement of their scores. Criterion's figures are read after each run,
    before the next kind's overwrite them."""
    out = os.path.join(OUT, kind)
    os.makedirs(out, exist_ok=True)
    layers, head_w, head_b, x = make_weights(out, kind)
    path = build_onnx(out, layers, head_w, head_b)

    ref = numpy_reference(layers, head_w, head_b, x[:1])
    _, ort_b1 = time_ort(path, x[:1], 1, 1)
    ort_vs_numpy = float(np.abs(ort_b1 - ref).max())
    print(f"[{kind}] onnxruntime vs numpy GRU reference (batch 1): max |Δ| = {ort_vs_numpy:.2e}")

    runs = {1: 30, 16: 8}
    env = dict(os.environ, SCATTERBRAIN_BENCH_WEIGHTS=out, RAYON_NUM_THREADS="1")
    ort_ms, ours_ms, parts_ms = {}, {}, {}

    def ort_round():
        for b in (1, 16):
            for th in (1, 0):
                ms = time_ort(path, x[:b], th, runs[b])[0]
                ort_ms[(b, th)] = min(ort_ms.get((b, th), ms), ms)

    for r in range(ROUNDS):
        ort_round()
        # --workspace --profile ci: the test command's feature set and profile
        # (release, only the GPU stack at opt-level 1, which this CPU bench does
        # not run), so the bench reuses its build of burn instead of compiling
        # another. The parts only in the first round: they explain, the totals
        # compare.
        cmd = ["cargo", "bench", "--workspace", "--profile", "ci", "--bench", "model", "--",
               "--warm-up-time", "3", "--measurement-time", "20"]
        if r > 0:
            cmd.append("^model/")
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        for b in (1, 16):
            ms = criterion_ms("model", "scat-5l-512h-gru", b)
            ours_ms[b] = min(ours_ms.get(b, ms), ms)
            if r == 0:
                for part, _ in PARTS:
                    parts_ms[(part, b)] = criterion_ms("model-parts", part, b)
    ort_round()

    rows, agree = [], {}
    for b in (1, 16):
        ours = np.fromfile(os.path.join(out, f"ours_b{b}.f32"), dtype="<f4").reshape(b, TAGS)
        _, ort_out = time_ort(path, x[:b], 1, 1)
        agree[b] = float(np.abs(ours - ort_out).max())
        ms = ours_ms[b]
        rows.append((b, ms, ort_ms[(b, 1)], ort_ms[(b, 0)]))
        print(f"[{kind}] batch {b}: ours {ms:.1f} ms, onnxruntime 1 thread {ort_ms[(b, 1)]:.1f} ms, "
              f"default threads {ort_ms[(b, 0)]:.1f} ms; max |Δ score| {agree[b]:.1e}")
    return {"rows": rows, "agree": agree, "parts": parts_ms, "ours": ours_ms,
            "ort_vs_numpy": ort_vs_numpy}


def main():
    results = {kind: measure(kind) for kind in KINDS}

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        "# Model benchmark results",
        "",
        f"Measured {time.strftime('%Y-%m-%d', time.gmtime())} on: {cpu} ({os.cpu_count()} cores, shared machine)",
        "by `bash benches/compare_onnxruntime.sh`. Forward pass of scat-5l-512h-gru (644 inputs,",
        "5 × 512 GRU, mean over time, dense, sigmoid) over 114 steps; same weights and input in",
        f"both runtimes (onnxruntime {ort.__version__}, ONNX GRU with linear_before_reset=1).",
        "Weights: *fp32* as drawn; *int8* the same rounded as a model file stores them (int8",
        "values times a per-output fp32 scale; every shipped model is int8), given to both",
        "runtimes as the same float32 values. Ours: burn flex CPU backend, single-threaded,",
        "criterion median. onnxruntime: median of repeated runs. Per kind of weights",
        f"{ROUNDS} rounds alternating the two (then onnxruntime once more); each side's best",
        "round counts.",
        "",
        "| weights | batch | ours (ms) | onnxruntime 1 thread (ms) | ratio ours / ort-1t | onnxruntime default threads (ms) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind, res in results.items():
        for b, ms, o1, od in res["rows"]:
            lines.append(f"| {kind} | {b} | {ms:.1f} | {o1:.1f} | {ms / o1:.2f} | {od:.1f} |")
    lines.append("")
    for kind, res in results.items():
        agree = res["agree"]
        lines.append(
            f"Agreement ({kind}): max |ours − onnxruntime| score = {agree[1]:.1e} (batch 1), "
            f"{agree[16]:.1e} (batch 16); onnxruntime vs the float64 numpy GRU reference: "
            f"{res['ort_vs_numpy']:.1e}.")
    lines += [
        "",
        "## Where our time goes",
        "",
        "`model-parts` (first round): each part run on its own over the whole model's worth of",
        "calls, as a share of the forward pass; the remainder is per-step slicing, stacking the",
        "outputs, layout copies and the dense head.",
        "",
        "| weights | part | batch 1 (ms) | share | batch 16 (ms) | share |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind, res in results.items():
        parts_ms, ours_ms = res["parts"], res["ours"]
        for part, desc in PARTS:
            p1, p16 = parts_ms[(part, 1)], parts_ms[(part, 16)]
            lines.append(f"| {kind} | {desc} | {p1:.1f} | {p1 / ours_ms[1]:.0%} | {p16:.1f} | {p16 / ours_ms[16]:.0%} |")
        rest = {b: ours_ms[b] - sum(parts_ms[(p, b)] for p, _ in PARTS) for b in (1, 16)}
        lines.append(
            f"| {kind} | the rest | {rest[1]:.1f} | {rest[1] / ours_ms[1]:.0%} | {rest[16]:.1f} | {rest[16] / ours_ms[16]:.0%} |")
    lines.append("")
    # Only the generated part is replaced: the hand-written history below it stays.
    path = os.path.join(ROOT, "benches", "RESULTS-model.md")
    kept = ""
    if os.path.exists(path):
        with open(path) as fh:
            old = fh.read()
        at = old.find(HAND_WRITTEN)
        kept = old[at:] if at >= 0 else ""
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + ("\n" + kept if kept else ""))
    print("\n".join(lines))
    if max(max(r["agree"].values()) for r in results.values()) > 1e-4:
        sys.exit("ours and onnxruntime disagree")


if __name__ == "__main__":
    main()
