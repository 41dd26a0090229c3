"""Procedural music (issue 11 item 2): synthesisers, drum machines, plucked strings and drones
computed in numpy, for build.py.

Why: every model trained on this corpus is weakest on electronic, synth, techno, guitar and indian
(models/HELDOUT.md), and the GM soundfont of the other renders has no real synthesiser, drum
machine, distorted guitar or drone. Here each render is one STYLES entry played by oscillators
(band-limited saws and pulses, detuned "supersaws", FM bells), resonant filters with swept cutoffs,
synthesised drums (kick, snare, clap, hats, tabla-like strokes), Karplus-Strong plucked strings
(clean and distorted guitars, a sitar-like buzzing string, a tanpura drone), then sidechain, delay
and reverb. Every choice (key, mode, tempo, chords, rhythms, timbres, part levels, effects, level
class) comes from a numpy generator seeded by a stable hash of the render's name, so a rebuild
renders the same music (bit-identical on the same numpy; machines whose numpy takes other SIMD
paths for exp/sin may differ in a last bit, and such clips are simply labelled again).

Hard labels (facts of the recipe only): no voice is ever synthesised, so every voice tag is 0 and
no vocals / no vocal / no voice are 1; drums = 1 when a drum part plays; loud/quiet from the
measured level. Everything else (electronic, synth, techno, guitar, indian, ...) is the teacher's:
the student must learn the teacher's function on this audio, not our opinion of it.

Split: by render within each style (the stratum), 80/10/10 train / track-validation / track-test.
Batches: renders are named procedural-<style>-<index>; raising BATCHES adds renders and never
changes an earlier one.
"""

import json
import math

import renders
from renders import _h

PACKAGE = "procedural"
SR = 16000
RENDER_S = 58.5  # two 29 s clips
BATCHES = [600]  # renders in all, spread over STYLES in turn
# style -> (tempo range in bpm, drum kit or None, tonal parts)
STYLES = {
    "techno": ((122, 138), "four", ["acid", "stab"]),
    "house": ((116, 126), "house", ["stabs", "bass8"]),
    "trance": ((130, 140), "four", ["supersaw", "arp", "bass8"]),
    "synthpop": ((92, 122), "backbeat", ["lead", "pad", "bass8"]),
    "drumandbass": ((164, 176), "break", ["reese", "pad"]),
    "ambient": ((60, 90), None, ["pad", "bells"]),
    "chiptune": ((120, 160), "chip", ["chiplead", "chipbass", "chiparp"]),
    "rockguitar": ((100, 150), "backbeat", ["powerchords", "bass8"]),
    "acousticguitar": ((70, 110), None, ["strum", "pluckmelody"]),
    "indian": ((70, 110), "tabla", ["tanpura", "sitar"]),
}
MODES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10],
         "dorian": [0, 2, 3, 5, 7, 9, 10], "phrygian": [0, 1, 3, 5, 7, 8, 10]}
RAGAS = {"yaman": [0, 2, 4, 6, 7, 9, 11], "bhairav": [0, 1, 4, 5, 7, 8, 11],
         "kafi": [0, 2, 3, 5, 7, 9, 10], "todi": [0, 1, 3, 6, 7, 8, 11]}
PROGRESSIONS = [[0, 5, 3, 4], [0, 3, 4, 4], [0, 5, 6, 4], [0, 0, 5, 3], [0, 6, 5, 6], [0, 3, 0, 4]]


def render_names():
    """The renders of BATCHES, styles in turn: procedural-<style>-<index>."""
    styles = sorted(STYLES)
    return [f"{styles[i % len(styles)]}-{i // len(styles):04d}" for i in range(sum(BATCHES))]


# ------------------------------------------------------------------ sound sources

def _phase(f):
    import numpy as np
    return np.cumsum(f / SR) % 1.0


def _blep(t, dt):
    """PolyBLEP residual: removes most of the aliasing of a naive discontinuity."""
    import numpy as np
    r = np.zeros_like(t)
    a = t < dt
    x = t[a] / dt[a]
    r[a] = x + x - x * x - 1
    b = t > 1 - dt
    x = (t[b] - 1) / dt[b]
    r[b] = x * x + x + x + 1
    return r


def osc(kind, f, ph0=0.0):
    """kind: saw, pulse (50 %), pulse25, tri, sine; f: frequency per sample (Hz)."""
    import numpy as np
    dt = np.minimum(f / SR, 0.45)
    t = (_phase(f) + ph0) % 1.0
    if kind == "sine":
        return np.sin(2 * np.pi * t)
    if kind == "tri":
        return 1 - 4 * np.abs(t - 0.5)
    if kind == "saw":
        return 2 * t - 1 - _blep(t, dt)
    w = 0.25 if kind == "pulse25" else 0.5
    return (np.where(t < w, 1.0, -1.0) + _blep(t, dt) - _blep((t - w) % 1.0, dt))


def supersaw(f, rng, voices=5, cents=18):
    import numpy as np
    det = np.linspace(-cents, cents, voices)
    return sum(osc("saw", f * 2 ** (d / 1200), rng.random()) for d in det) / math.sqrt(voices)


def lowpass(x, cutoff, q=0.8, block=64):
    """Resonant biquad low-pass whose cutoff (Hz, scalar or per sample) is updated every block."""
    import numpy as np
    from scipy.signal import lfilter
    cut = np.broadcast_to(np.asarray(cutoff, dtype=np.float64), x.shape)
    y = np.empty_like(x)
    zi = np.zeros(2)
    for s in range(0, len(x), block):
        w = 2 * np.pi * min(max(float(cut[s]), 30.0), 0.45 * SR) / SR
        al = math.sin(w) / (2 * q)
        c = math.cos(w)
        bb = np.array([(1 - c) / 2, 1 - c, (1 - c) / 2]) / (1 + al)
        aa = np.array([1, -2 * c / (1 + al), (1 - al) / (1 + al)])
        y[s:s + block], zi = lfilter(bb, aa, x[s:s + block], zi=zi)
    return y


def highpass(x, f):
    from scipy.signal import butter, lfilter
    b, a = butter(2, f / (SR / 2), "high")
    return lfilter(b, a, x)


def pluck(f0, dur, rng, decay=0.996, bright=1.0, buzz=0.0):
    """Karplus-Strong string: a noise burst in a damped delay loop (buzz: a sitar-like bridge)."""
    import numpy as np
    from scipy.signal import lfilter
    n = int(dur * SR)
    p = max(2, int(round(SR / f0)))
    exc = np.zeros(n)
    burst = rng.uniform(-1, 1, min(p, n))
    if bright < 1:
        burst = lfilter([bright], [1, bright - 1], burst)
    exc[:len(burst)] = burst
    a = np.zeros(p + 2)
    a[0], a[p], a[p + 1] = 1, -decay / 2, -decay / 2
    y = lfilter([1.0], a, exc)
    if buzz:
        y = y + buzz * np.tanh(6 * np.maximum(y, 0) - 0.2)
    return y


def env(n, attack, release, sustain_s=None):
    """Attack-sustain-release envelope of n samples (times in s)."""
    import numpy as np
    t = np.arange(n) / SR
    e = np.minimum(1.0, t / max(attack, 1e-3))
    end = n / SR if sustain_s is None else sustain_s
    return e * np.clip(1 - (t - end + release) / max(release, 1e-3), 0, 1)


def perc(n, tau):
    import numpy as np
    return np.exp(-np.arange(n) / (tau * SR))


def mtof(m):
    return 440.0 * 2 ** ((m - 69) / 12)


# ------------------------------------------------------------------ drums

def drum(kind, rng):
    import numpy as np
    if kind == "kick":
        n = int(0.35 * SR)
        f = 45 + 110 * perc(n, 0.03)
        return np.sin(2 * np.pi * np.cumsum(f) / SR) * perc(n, 0.12)
    if kind == "snare":
        n = int(0.25 * SR)
        return (0.6 * highpass(rng.uniform(-1, 1, n), 1500) * perc(n, 0.06)
                + 0.5 * np.sin(2 * np.pi * 185 * np.arange(n) / SR) * perc(n, 0.04))
    if kind == "clap":
        n = int(0.2 * SR)
        e = sum(np.roll(perc(n, 0.008), int(k * 0.011 * SR)) for k in range(3)) + perc(n, 0.05)
        return highpass(rng.uniform(-1, 1, n), 900) * e * 0.5
    if kind in ("hat", "openhat"):
        n = int((0.05 if kind == "hat" else 0.3) * SR)
        return highpass(rng.uniform(-1, 1, n), 7000) * perc(n, 0.015 if kind == "hat" else 0.1) * 0.4
    if kind in ("tabla", "tablahigh"):  # bayan: a low stroke bending up; dayan: a ringing high one
        n = int(0.45 * SR)
        if kind == "tabla":
            f = 70 + 40 * (1 - perc(n, 0.08))
        else:
            f = np.full(n, 380.0) * (1 + 0.02 * perc(n, 0.02))
        x = np.sin(2 * np.pi * np.cumsum(f) / SR) + 0.3 * np.sin(4 * np.pi * np.cumsum(f) / SR)
        return x * perc(n, 0.15 if kind == "tabla" else 0.09)
    n = int(0.08 * SR)  # chip noise
    return np.sign(rng.uniform(-1, 1, n)) * perc(n, 0.02) * 0.3


# 16 steps per bar: which instrument hits on which step
KITS = {
    "four": {"kick": [0, 4, 8, 12], "hat": [2, 6, 10, 14], "clap": [4, 12]},
    "house": {"kick": [0, 4, 8, 12], "openhat": [2, 6, 10, 14], "clap": [4, 12], "hat": [1, 3, 9, 11]},
    "backbeat": {"kick": [0, 7, 8], "snare": [4, 12], "hat": [0, 2, 4, 6, 8, 10, 12, 14]},
    "break": {"kick": [0, 10], "snare": [4, 12], "hat": [0, 2, 4, 6, 8, 10, 12, 14, 15]},
    "chip": {"kick": [0, 8], "chip": [4, 12, 14], "hat": [2, 6, 10, 14]},
    "tabla": {"tabla": [0, 6, 10], "tablahigh": [2, 3, 4, 8, 12, 13, 14]},
}


# ------------------------------------------------------------------ the render

def _add(buf, x, at):
    at = max(int(at), 0)
    if at >= len(buf):
        return
    m = min(len(x), len(buf) - at)
    buf[at:at + m] += x[:m]


def _norm(x):
    import numpy as np
    r = math.sqrt(float(np.mean(x ** 2)))
    return x / r if r > 1e-9 else x


def render(name):
    """One render -> (float64 mono audio at SR, description, has drums)."""
    import numpy as np
    from scipy.signal import fftconvolve
    style = name.rsplit("-", 1)[0]
    (lo, hi), kit, parts = STYLES[style]
    rng = np.random.default_rng(_h("procedural:" + name))
    bpm = int(rng.integers(lo, hi + 1))
    step = 60 / bpm / 4  # a sixteenth, in s
    n = int(RENDER_S * SR)
    bars = math.ceil(RENDER_S / (16 * step))
    root = 36 + int(rng.integers(0, 12))
    if style == "indian":
        mode = sorted(RAGAS)[int(rng.integers(len(RAGAS)))]
        scale = RAGAS[mode]
    else:
        mode = sorted(MODES)[int(rng.integers(len(MODES)))]
        scale = MODES[mode]
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    bars_per_chord = int(rng.choice([1, 2]))

    def deg(d, octave=0):  # scale degree -> MIDI note above the root
        return root + 12 * (octave + d // 7) + scale[d % 7]

    def chord_at(bar):
        d = prog[(bar // bars_per_chord) % len(prog)]
        return [d, d + 2, d + 4]

    mix = np.zeros(n)
    desc = []
    for part in parts:
        buf = np.zeros(n)
        if part in ("acid", "bass8", "chipbass", "reese"):
            hits = {"acid": [s for s in range(16) if rng.random() < 0.7] or [0],
                    "bass8": [2, 6, 10, 14] if rng.random() < 0.5 else list(range(0, 16, 2)),
                    "chipbass": list(range(0, 16, 2)), "reese": [0, 6, 10]}[part]
            wave = {"acid": str(rng.choice(["saw", "pulse"])), "bass8": str(rng.choice(["saw", "pulse25"])),
                    "chipbass": "tri", "reese": "saw"}[part]
            cut = np.zeros(n)
            for bar in range(bars):
                c = chord_at(bar)
                for s in hits:
                    root_or_other = c[0] if rng.random() < 0.75 else int(rng.choice(c))
                    m = deg(root_or_other, octave=0 if part != "acid" else int(rng.choice([0, 1])))
                    L = int(step * SR * (4 if part == "reese" else 1.6))
                    f = np.full(L, mtof(m))
                    x = supersaw(f, rng, 2, 12) if part == "reese" else osc(wave, f)
                    at = (bar * 16 + s) * step * SR
                    _add(buf, x * env(L, 0.003, 0.03), at)
                    _add(cut, perc(L, 0.08 if part == "acid" else 0.2), at)
            lfo = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(n) / SR / float(rng.uniform(4, 16)))
            if part != "chipbass":  # a chip bass is a bare triangle
                base = {"acid": 250, "bass8": 300, "reese": 400}[part]
                buf = lowpass(buf, base + (base * 6 * lfo + 1800) * np.minimum(cut, 1),
                              q=float(rng.uniform(2, 7)) if part == "acid" else 0.9)
            desc.append(f"{part} ({wave})")
        elif part in ("stab", "stabs", "supersaw", "pad", "powerchords", "strum"):
            rhythm = {"stab": [s for s in range(16) if rng.random() < 0.25] or [3],
                      "stabs": [3, 6, 10, 14] if rng.random() < 0.5 else [2, 7, 10],
                      "supersaw": [0], "pad": [0], "powerchords": list(range(0, 16, 2)),
                      "strum": [0, 6, 8, 12] if rng.random() < 0.5 else [0, 4, 8, 12]}[part]
            for bar in range(bars):
                c = chord_at(bar)
                if part in ("pad", "supersaw") and bar % bars_per_chord:
                    continue
                for s in rhythm:
                    at = (bar * 16 + s) * step * SR
                    if part in ("pad", "supersaw"):
                        L = int(16 * bars_per_chord * step * SR)
                        x = sum(supersaw(np.full(L, mtof(deg(d, 1))), rng, 3 if part == "pad" else 7)
                                for d in c)
                        pad = part == "pad"
                        x = lowpass(x, 900 if pad else 3500) * env(L, 0.6 if pad else 0.02, 0.4)
                    elif part == "powerchords":
                        L = int(2 * step * SR)
                        x = sum(pluck(mtof(deg(c[0], 1) + k), L / SR, rng, 0.999) for k in (0, 7, 12))
                        x = lowpass(np.tanh(float(rng.uniform(4, 12)) * x), 3800)
                    elif part == "strum":
                        L = int(min(6, 16 - s) * step * SR)
                        notes = [deg(c[0], 1) - 12, deg(c[0], 1), deg(c[1], 1), deg(c[2], 1), deg(c[0], 2)]
                        x = sum(np.roll(pluck(mtof(m), L / SR, rng, 0.997, 0.7), int(k * 0.012 * SR))  # a strum
                                for k, m in enumerate(notes))
                    else:
                        L = int(2 * step * SR)
                        wave = "saw" if part == "stab" else str(rng.choice(["saw", "pulse"]))
                        x = sum(osc(wave, np.full(L, mtof(deg(d, 1)))) for d in c)
                        x = lowpass(x * env(L, 0.003, 0.08), 1200 + 2500 * perc(L, 0.05))
                    _add(buf, x, at)
            desc.append(part)
        elif part in ("arp", "chiparp"):
            order = [0, 1, 2, 1] if rng.random() < 0.5 else [0, 1, 2, 3]
            wave = "pulse25" if part == "chiparp" else str(rng.choice(["saw", "pulse", "sine"]))
            for bar in range(bars):
                c = chord_at(bar) + [chord_at(bar)[0] + 7]
                for s in range(16):
                    m = deg(c[order[s % 4]], 2)
                    L = int(step * SR)
                    _add(buf, osc(wave, np.full(L, mtof(m))) * env(L, 0.002, 0.03), (bar * 16 + s) * step * SR)
            if part == "arp":
                buf = lowpass(buf, float(rng.uniform(1500, 5000)))
            desc.append(f"{part} ({wave})")
        else:  # melodies: lead, chiplead, bells, pluckmelody, sitar, tanpura
            if part == "tanpura":
                pat = [7, 12, 12, 0] if rng.random() < 0.7 else [5, 12, 12, 0]
                t, k = 0.0, 0
                while t < RENDER_S:
                    m = root + 12 + pat[k % 4] - (12 if pat[k % 4] == 0 else 0)
                    _add(buf, pluck(mtof(m), 2.5, rng, 0.9995, 0.8, 0.3), t * SR)
                    t += float(rng.uniform(0.55, 0.75))
                    k += 1
                desc.append("tanpura")
                mix += _norm(buf) * 10 ** (float(rng.uniform(-9, -3)) / 20)
                continue
            d, s_at = 7, 0
            total = bars * 16
            wave = {"lead": str(rng.choice(["saw", "pulse", "pulse25"])), "chiplead": "pulse",
                    "bells": "fm", "pluckmelody": "pluck", "sitar": "sitar"}[part]
            while s_at < total:
                dur = int(rng.choice([1, 2, 2, 4, 4, 6, 8] if part != "bells" else [4, 8, 12]))
                if rng.random() < 0.2:
                    s_at += dur
                    continue
                d = int(np.clip(d + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]), 3, 15))
                m = deg(d, 1 if part != "bells" else 2)
                L = int(dur * step * SR)
                at = s_at * step * SR
                if wave == "fm":
                    t = np.arange(int(2.5 * SR)) / SR
                    mod = 3 * perc(len(t), 0.5) * np.sin(2 * np.pi * 3.5 * mtof(m) * t)
                    x = np.sin(2 * np.pi * mtof(m) * t + mod)
                    x *= perc(len(t), 0.8)
                elif wave in ("pluck", "sitar"):
                    x = pluck(mtof(m), max(L / SR, 1.2), rng, 0.998, 0.8, 0.6 if wave == "sitar" else 0.0)
                    if wave == "sitar" and rng.random() < 0.3:  # a semitone below instead: an ornament
                        x = pluck(mtof(m - 1), max(L / SR, 1.2), rng, 0.998, 0.8, 0.6)
                else:
                    ramp = np.minimum(1, np.arange(L) / (0.3 * SR))  # vibrato fades in
                    vib = 1 + 0.006 * np.sin(2 * np.pi * 5.5 * np.arange(L) / SR) * ramp
                    x = osc(wave, mtof(m) * vib) * env(L, 0.01, 0.05)
                    if part == "lead":
                        x = lowpass(x, float(rng.uniform(1800, 5000)))
                _add(buf, x, at)
                s_at += dur
            desc.append(f"{part} ({wave})")
        mix += _norm(buf) * 10 ** (float(rng.uniform(-6, 0)) / 20)
    drums = kit is not None
    if drums:
        buf = np.zeros(n)
        sounds = {k: drum(k, rng) for k in KITS[kit]}
        kicks = np.zeros(n)
        for bar in range(bars):
            for k, steps in KITS[kit].items():
                for s in steps:
                    at = (bar * 16 + s) * step * SR + float(rng.normal(0, 0.002)) * SR
                    g = float(rng.uniform(0.7, 1.0))
                    _add(buf, sounds[k] * g, at)
                    if k == "kick":
                        _add(kicks, perc(int(0.25 * SR), 0.08), at)
        if style in ("techno", "house", "trance") and rng.random() < 0.7:  # sidechain pumping
            mix *= 1 - 0.6 * np.minimum(kicks, 1)
        mix += _norm(buf) * 10 ** (float(rng.uniform(-4, 2)) / 20)
        desc.append(f"drums ({kit})")
    fx = str(rng.choice(["dry", "room", "hall", "delay"]))
    if fx != "dry":
        if fx == "delay":
            d = int(3 * step * SR)
            wet = np.zeros(n)
            for k in range(1, 5):
                wet[d * k:] += mix[:n - d * k] * 0.45 ** k
        else:
            L = int((0.4 if fx == "room" else 2.2) * SR)
            ir = rng.normal(0, 1, L) * perc(L, 0.08 if fx == "room" else 0.5)
            wet = fftconvolve(mix, ir)[:n] / math.sqrt(float(np.sum(ir ** 2)))
        mix = mix + float(rng.uniform(0.15, 0.4)) * wet
    desc = (f"{style}, {bpm} bpm, {mode} on MIDI {root}, chords {prog} x{bars_per_chord} bar(s): "
            + ", ".join(desc) + f", effect {fx}")
    return mix, desc, drums


def _render_one(out_dir, name):
    import numpy as np
    import soundfile as sf
    x, desc, drums = render(name)
    if not np.all(np.isfinite(x)) or float(np.abs(x).max()) < 1e-6:
        raise RuntimeError("silent or non-finite render")
    x, level, rms_db = renders.to_level(x, name)
    hard = {t: 0 for t in renders.VOCAL_TAGS}
    hard.update({t: 1 for t in renders.NO_VOCAL_TAGS})
    if drums:
        hard["drums"] = 1
    hard.update(renders._level_labels(rms_db, level))
    wav = out_dir / (name + ".wav")
    tmp = wav.with_suffix(".tmp.wav")
    sf.write(str(tmp), x.astype(np.float32), SR, subtype="PCM_16")
    tmp.rename(wav)
    return wav, hard, f"{desc}, {level} ({rms_db} dBFS RMS)"


def procedural_sources(b, cdir):
    """Render (or reuse) the procedural music. b: the build module. Returns (sources, failures)."""
    import numpy as np
    import scipy
    out_dir = cdir / "rendered" / PACKAGE
    out_dir.mkdir(parents=True, exist_ok=True)
    version = f"numpy {np.__version__}, scipy {scipy.__version__}"
    sources, fails = [], 0
    names = render_names()
    for i, name in enumerate(names):
        meta, wav, failed = (out_dir / (name + s) for s in (".json", ".wav", ".failed"))
        if failed.exists():
            fails += 1
            continue
        if not (meta.exists() and wav.exists()):
            try:
                wav, hard, desc = _render_one(out_dir, name)
            except Exception as e:  # noqa: BLE001 - a failed render is skipped, logged, never labelled
                b.log(f"[procedural] {name}: skipped ({type(e).__name__}: {e})")
                failed.write_text(f"{type(e).__name__}: {e}\n")
                fails += 1
                continue
            src = {"package": PACKAGE, "version": version, "file": name, "audio": str(wav),
                   "group": f"{PACKAGE}:{name}", "family": name.rsplit("-", 1)[0],
                   "licence": "generated by trainer/corpus/procedural.py (this repository's licence)",
                   "duration": RENDER_S, "note": desc, "hard": hard}
            meta.write_text(json.dumps(src, indent=0))
            b.forget_clips(cdir, PACKAGE, version, name)
            if i % 50 == 0:
                b.log(f"[procedural] {i + 1}/{len(names)} renders")
        src = json.loads(meta.read_text())
        sources.append(dict(src, stratum=f"{PACKAGE}:{src['family']}"))
    return sources, fails


if __name__ == "__main__":  # python3 procedural.py NAME OUT.wav: listen to one render
    import sys
    import soundfile as sf
    x, d, _ = render(sys.argv[1])
    sf.write(sys.argv[2], (x / max(abs(x).max(), 1e-9) * 0.9).astype("float32"), SR, subtype="PCM_16")
    print(d)
