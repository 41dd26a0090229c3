"""Teacher-labelled variants of the training recordings (issue 11: more and more varied audio).

Distillation teaches the student the teacher's function, and it learns that function better on
more audio that sounds like real music. The whitelist has no more packages to add, so from each
training clip of a real recording (never a clip of a held-out package or of a held-out track) we
make `k` variants, each labelled by the teacher on its own audio (a remix is not given the mean of
its parts' labels: the teacher hears the mix):

- **remix** (even k): the clip with a training clip of another package under it, 2–10 dB lower
  (both scaled so that the sum cannot clip);
- **shift** (odd k): pitch ±1–4 semitones, tempo ×0.88–1.12, one EQ bell of ±3–8 dB between
  100 Hz and 6 kHz; half of them then go through MP3 at 64–160 kb/s.

Every variant is in the split "train", in the families `variants-remix` / `variants-shift`
(`--cap variants-remix=0` leaves them out of a training run). The recipe is drawn from a generator
seeded by the source clip's PCM hash and k, and sox runs without dither, so a rebuild makes the
same audio and finds its labels (keyed by the PCM hash as for every clip).
"""

import hashlib
import random

VERSION = "1"  # recipe version: part of each variant's label key


def _rng(*parts):
    return random.Random(int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:16], 16))


def eligible(b, clips):
    """Training clips of real recordings, in a stable order (by PCM hash)."""
    out = [c for c in clips if c["split"] == "train" and c["package"] in b.PACKAGES and not c.get("hard")]
    return sorted(out, key=lambda c: c["pcm_sha256"])


def variant_sources(b, cdir, clips, k_max):
    """Make (or find) variants 0..k_max-1 of every eligible clip; return them as build sources."""
    base = eligible(b, clips)
    by_pkg = {}
    for c in base:
        by_pkg.setdefault(c["package"], []).append(c)
    pkgs = sorted(by_pkg)
    out, fails = [], 0
    for k in range(k_max):
        kind = "remix" if k % 2 == 0 else "shift"
        pkg = f"variants-{kind}"
        folder = cdir / "variants" / pkg
        folder.mkdir(parents=True, exist_ok=True)
        durations = b.Durations(cdir, pkg)  # by file name: a variant's recipe fixes its audio
        for c in base:
            rng = _rng(VERSION, c["pcm_sha256"], str(k))
            name = f"{c['pcm_sha256'][:16]}-{k}"
            src = cdir / c["path"]
            if kind == "remix":
                others = [p for p in pkgs if p != c["package"]]
                partner = rng.choice(by_pkg[rng.choice(others)])
                db = rng.uniform(-10, -2)
                note = f"remix: {c['path']} + {partner['path']} at {db:.1f} dB"
                licence = f"{c['licence']} + {partner['licence']}"
                audio = folder / (name + ".wav")
                # the two volumes sum to 1: the mix cannot clip (sox's -G does not guard -m)
                g = 10 ** (db / 20)
                cmd = ["sox", "-D", "-m", "-v", f"{1 / (1 + g):.4f}", str(src), "-v", f"{g / (1 + g):.4f}",
                       str(cdir / partner["path"]), "AUDIO"]
            else:
                cents = rng.choice([-1, 1]) * rng.uniform(100, 400)
                tempo = rng.uniform(0.88, 1.12)
                freq = 100 * 60 ** rng.random()
                gain = rng.choice([-1, 1]) * rng.uniform(3, 8)
                kbps = rng.choice([64, 96, 128, 160]) if rng.random() < 0.5 else None
                note = (f"shift: {c['path']} pitch {cents:+.0f} cents, tempo x{tempo:.3f}, "
                        f"EQ {freq:.0f} Hz {gain:+.1f} dB" + (f", MP3 {kbps} kb/s" if kbps else ""))
                licence = c["licence"]
                audio = folder / (name + (".mp3" if kbps else ".wav"))
                cmd = ["sox", "-D", "-G", str(src), "AUDIO", "pitch", f"{cents:.0f}", "tempo", "-m",
                       f"{tempo:.4f}", "equalizer", f"{freq:.0f}", "1q", f"{gain:.1f}"]
            if not audio.exists() and not _make(b, cmd, audio, kbps if kind == "shift" else None):
                fails += 1
                continue
            out.append({"package": pkg, "version": VERSION, "file": name, "audio": str(audio),
                        "group": f"{pkg}:{name}", "licence": licence,
                        "duration": round(durations.get(audio.name, audio), 2), "note": note})
        durations.save()
    h = sum(s["duration"] for s in out) / 3600
    b.log(f"[variants] {len(out)} variants of {len(base)} training clips, {h:.2f} h, {fails} failed")
    return out


def _make(b, cmd, audio, kbps):
    """Run the recipe into a temp file beside `audio`, then rename; False (logged) on failure."""
    wav = audio.with_suffix(".tmp.wav")
    r = b.run([str(wav) if a == "AUDIO" else a for a in cmd], timeout=b.RENDER_TIMEOUT, check=False,
              capture_output=True)
    if r.returncode != 0 or not wav.exists():
        b.log(f"[variants] sox failed for {audio.name}: {r.stderr.decode(errors='replace')[-200:]}")
        wav.unlink(missing_ok=True)
        return False
    if kbps:
        tmp = audio.with_suffix(".tmp.mp3")
        r = b.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-codec:a", "libmp3lame",
                   "-b:a", f"{kbps}k", str(tmp)], timeout=b.RENDER_TIMEOUT, check=False, capture_output=True)
        wav.unlink()
        if r.returncode != 0 or not tmp.exists():
            b.log(f"[variants] MP3 encoding failed for {audio.name}")
            tmp.unlink(missing_ok=True)
            return False
        tmp.rename(audio)
    else:
        wav.rename(audio)
    return True

