"""Arrangements (issue 11 item 2, renders at scale): a music21 melody played by one GM lead
instrument over a groove from the whole MMA style library, for build.py.

Why: the student learns the teacher's function; it needs many hours of audio that sounds like
varied real music (a tune, an accompaniment, drums, a room), not a few instruments alone. Each
render is made of choices taken by a stable hash of the score's name:

* the melody: the top line of a ryansMammoth folk tune, a Bach chorale or a Palestrina part
  (scores the instrumental and sung renders already use are left out, and so are the held-out
  composers), repeated to fill RENDER_S;
* the lead: one of LEADS (~50 GM programs: pianos, organs, guitars, bowed and plucked strings,
  brass, reeds, flutes, synth leads and pads, mallets, sitar, shamisen, koto...), in its range, in
  a hash-chosen key;
* the groove: any groove of any MMA style file whose metre fits (the held-out yamaha/ library is
  never used), one chord per bar harmonised from the melody (sung.harmonise);
* the tempo (TEMPI, where the melody's median note comes 1.5-6 times a second), the lead's level
  over the groove (-3 to +9 dB), the master effect (dry, reverbs, chorus, tilts, band limits) and the level class.

Hard labels (facts of the recipe only): the lead's instrument tag (renders.INSTRUMENTS naming);
no vocals (and every voice tag 0) unless the groove plays a choir/voice program; drums when the
groove has percussion; the genre of the few style files renders.GROOVES classifies; loud/quiet
from the measured level. Everything else is the teacher's.

Batches: renders are taken from the hash-ordered candidates until BATCHES' total is reached, so
raising the total adds renders and never changes an earlier one.
"""

import json
import math
import shutil
from pathlib import Path

import renders
import sung
from renders import _h, _pick

PACKAGE = "arrangements"
RENDER_S = 58.5  # two 29 s clips
SR = 16000
BATCHES = [600]  # renders per batch (cumulative target = sum)
# sung.py takes its scores from the head of its own hash order: the first SUNG_RESERVE of them stay
# its own (it uses ~270 today), so a score is never both sung and arranged, whatever quotas grow to
SUNG_RESERVE = 700
MMA_LIB = Path("/usr/share/mma/lib")
HELD_OUT_LIBS = ("yamaha/",)  # build.HELDOUT_FAMILIES: a test family of the MMA renders
COMPOSERS = {"ryansMammoth": "tune", "bach": "chorale", "palestrina": "part"}
# GM programs that sing (choir aahs, voice oohs, synth voice, voice lead, choir pad): a groove that
# plays one of them may sound sung, so "no vocals" is then left to the teacher.
VOICE_PROGRAMS = {52, 53, 54, 85, 91}
# name -> (GM program, family (the split stratum), MIDI range, tags that are 1)
LEADS = {
    "piano": (0, "keys", (48, 84), ["piano"]), "bright piano": (1, "keys", (48, 84), ["piano"]),
    "electric piano": (4, "keys", (48, 79), []), "harpsichord": (6, "keys", (48, 84), ["harpsichord"]),
    "clavinet": (7, "keys", (48, 79), []), "celesta": (8, "mallets", (60, 96), []),
    "glockenspiel": (9, "mallets", (72, 103), []), "music box": (10, "mallets", (60, 96), []),
    "vibraphone": (11, "mallets", (53, 89), []), "marimba": (12, "mallets", (48, 84), []),
    "xylophone": (13, "mallets", (65, 96), []), "drawbar organ": (16, "organ", (48, 84), []),
    "rock organ": (18, "organ", (48, 84), []), "church organ": (19, "organ", (43, 84), []),
    "accordion": (21, "organ", (53, 84), []), "harmonica": (22, "reeds", (60, 84), []),
    "nylon guitar": (24, "guitar", (48, 76), ["guitar"]), "steel guitar": (25, "guitar", (48, 79), ["guitar"]),
    "jazz guitar": (26, "guitar", (48, 76), ["guitar"]), "clean guitar": (27, "guitar", (48, 79), ["guitar"]),
    "overdriven guitar": (29, "guitar", (45, 76), ["guitar"]),
    "distortion guitar": (30, "guitar", (45, 76), ["guitar"]),
    "violin": (40, "strings", (57, 91), ["violin", "strings"]), "viola": (41, "strings", (50, 81), ["strings"]),
    "cello": (42, "strings", (38, 69), ["cello", "strings"]),
    "pizzicato strings": (45, "strings", (48, 84), ["strings"]),
    "harp": (46, "strings", (48, 84), ["harp"]), "string ensemble": (48, "strings", (50, 84), ["strings"]),
    "trumpet": (56, "brass", (58, 82), []), "trombone": (57, "brass", (43, 70), []),
    "french horn": (60, "brass", (48, 74), []), "brass section": (61, "brass", (50, 79), []),
    "soprano sax": (64, "reeds", (58, 86), []), "alto sax": (65, "reeds", (53, 81), []),
    "tenor sax": (66, "reeds", (46, 74), []), "oboe": (68, "reeds", (60, 88), []),
    "bassoon": (70, "reeds", (38, 67), []), "clarinet": (71, "reeds", (52, 84), []),
    "piccolo": (72, "flutes", (74, 100), []), "flute": (73, "flutes", (60, 93), ["flute"]),
    "recorder": (74, "flutes", (60, 86), []), "pan flute": (75, "flutes", (60, 86), []),
    "ocarina": (79, "flutes", (60, 84), []),
    "square lead": (80, "synth", (48, 84), ["synth"]), "saw lead": (81, "synth", (48, 84), ["synth"]),
    "calliope lead": (82, "synth", (55, 86), ["synth"]), "charang lead": (84, "synth", (48, 79), ["synth"]),
    "fifths lead": (86, "synth", (48, 79), ["synth"]), "new age pad": (88, "synth", (48, 79), ["synth"]),
    "warm pad": (89, "synth", (48, 79), ["synth"]), "polysynth pad": (90, "synth", (48, 79), ["synth"]),
    "bowed pad": (92, "synth", (48, 79), ["synth"]), "sweep pad": (95, "synth", (48, 79), ["synth"]),
    "sitar": (104, "ethnic", (52, 84), ["sitar"]), "banjo": (105, "ethnic", (48, 79), []),
    "shamisen": (106, "ethnic", (52, 84), []), "koto": (107, "ethnic", (55, 88), []),
    "kalimba": (108, "ethnic", (60, 88), []), "bagpipe": (109, "ethnic", (62, 81), []),
    "fiddle": (110, "ethnic", (55, 88), []), "shanai": (111, "ethnic", (60, 86), []),
    "steel drums": (114, "mallets", (60, 88), []),
}
TEMPI = list(range(64, 177, 8))  # groove bpm, hash-chosen among those that suit the melody
NOTE_RATE = (1.5, 6.0)  # the melody's median notes per second must stay in this range
LEAD_OVER_DB = [-3.0, 0.0, 3.0, 6.0, 9.0]  # lead RMS over the groove's
# master effects (sox arguments; "" = dry), for the room and the colour a real mix has
EFFECTS = ["", "", "reverb 30 50 60", "reverb 50 50 90", "reverb 75 40 100 50 20",
           "chorus 0.7 0.9 55 0.4 0.25 2 -t", "bass +6 treble -3", "bass -6 treble +5",
           "highpass 180", "lowpass 4000", "equalizer 1000 1.2q +6", "compand 0.05,0.3 6:-50,-30,-10 -6"]


def _beats(text):
    """Quarter notes per bar of an MMA style file (3 or 4), or None when it is in another metre."""
    first = None
    for line in text.splitlines():
        w = line.split("//")[0].replace("/", " ").split()
        if len(w) >= 2 and w[0].lower() == "time":
            first = w[1]
            break
        if len(w) >= 3 and w[0].lower() == "timesig":
            first = w[1] if w[2] == "4" else "x"
            break
    return {"3": 3, "4": 4, None: 4}.get(first)


def groove_library():
    """{beats: [(style, groove)]} of every main groove of every MMA style file outside the held-out
    libraries (intros, endings, fills and breaks are short one-off patterns: left out)."""
    out = {3: [], 4: []}
    for f in sorted(MMA_LIB.glob("*/*.mma")):
        style = str(f.relative_to(MMA_LIB))[:-4]
        if style.startswith(HELD_OUT_LIBS):
            continue
        text = f.read_text(errors="replace")
        beats = _beats(text)
        if beats is None:
            continue
        for line in text.splitlines():
            w = line.split()
            if len(w) >= 2 and w[0].lower() == "defgroove":
                g = w[1]
                if not any(x in g.lower() for x in ("intro", "end", "fill", "break")):
                    out[beats].append((style, g))
    return out


def transpose_into(midis, lo, hi, shift):
    """Semitones to add: `shift` (the key change), then whole octaves so the line's median sits
    nearest the middle of [lo, hi], one octave down if its top then passes hi."""
    med = sorted(midis)[len(midis) // 2] + shift
    k = shift + 12 * round(((lo + hi) / 2 - med) / 12)
    if max(midis) + k > hi:
        k -= 12
    return k


def tempo(median_ql, key):
    """A groove tempo from TEMPI at which the melody's median note rate is within NOTE_RATE (the
    nearest one when none is)."""
    rate = lambda bpm: bpm / 60 / median_ql  # noqa: E731
    ok = [t for t in TEMPI if NOTE_RATE[0] <= rate(t) <= NOTE_RATE[1]]
    if not ok:
        mid = math.sqrt(NOTE_RATE[0] * NOTE_RATE[1])
        return min(TEMPI, key=lambda t: abs(math.log(rate(t) / mid)))
    return _pick(ok, key)


def candidates():
    """(rel, kind) of the scores of COMPOSERS that no other family plays, in hash order."""
    import music21
    from music21 import corpus
    root = Path(music21.__file__).parent / "corpus"
    used = {rel for rels in renders.score_choice().values() for rel in rels}
    used.update(rel for rel, _ in sung._candidates()[:SUNG_RESERVE])
    out = []
    for composer, kind in COMPOSERS.items():
        for p in corpus.getComposer(composer):
            rel = str(Path(p).relative_to(root)) if Path(p).is_relative_to(root) else str(p)
            if rel not in used:
                out.append((rel, kind))
    return sorted(out, key=lambda rk: (_h("arrange:" + rk[0]), rk[0]))


def half_note_beats(a):
    """A line in 4/2, 3/2 or 2/2 (Palestrina, some chorales) read with the half note as the beat:
    every duration halved, so it fits a 4- or 3-beat groove. Other metres pass unchanged."""
    num, _, den = a["ratio"].partition("/")
    if den != "2":
        return a
    h = 0.5
    return dict(a, line=[(s * h, d * h, m) for s, d, m in a["line"]], length=a["length"] * h,
                pickup=a["pickup"] * h, median_ql=a["median_ql"] * h, bar_ql=a["bar_ql"] * h,
                ratio={"4": "4/4", "3": "3/4", "2": "2/4"}.get(num, a["ratio"]))


def _line(rel, kind):
    """The melody (monophonic top line of the chosen part) and what sung._analyse knows of it."""
    if kind != "part":
        a = sung._analyse(rel, kind, "acappella" if kind == "tune" else "mma", "female")
    else:  # a Palestrina part: any voice, chosen by hash
        from music21 import corpus, stream
        a = sung._analyse(rel, "tune", "acappella", "female")
        s = corpus.parse(rel)
        if isinstance(s, stream.Opus):
            s = s.scores[0]
        parts = list(s.parts)
        i = _h("part:" + rel) % len(parts)
        line = sung.monophonic(sung._part_events(parts[i]))
        if len(line) < 12:
            raise sung.Skip(f"only {len(line)} notes")
        durs = sorted(d for _, d, _ in line)
        key = parts[i].analyze("key")
        a.update(line=line, length=max(st + d for st, d, _ in line), part=i, tonic=key.tonic.pitchClass,
                 mode=key.mode, median_ql=durs[len(durs) // 2], part_name=parts[i].partName or f"part {i}")
    a = half_note_beats(a)
    if a["ratio"] not in ("4/4", "2/4", "3/4"):
        raise sung.Skip(f"metre {a['ratio']} fits no groove")
    return a


def _render_one(b, out_dir, name, rel, kind, grooves):
    import mido
    import numpy as np
    import soundfile as sf
    a = _line(rel, kind)
    lead = _pick(sorted(LEADS), "lead:" + rel)
    program, family, (lo, hi), ones = LEADS[lead]
    midis = [m for _, _, m in a["line"]]
    k = transpose_into(midis, lo, hi, _h("key:" + rel) % 12 - 5)
    bpm = tempo(a["median_ql"], "tempo:" + rel)
    qsec = 60 / bpm
    total_ql = RENDER_S / qsec
    beats = 3 if a["ratio"] == "3/4" else 4
    if not grooves[beats]:
        raise sung.Skip(f"no groove in {beats} beats")
    shift = (-a["pickup"]) % beats
    period = math.ceil((shift + a["length"]) / beats) * beats
    start = beats  # one groove bar alone before the tune
    line = []
    for r in range(math.ceil((total_ql - start) / period)):
        base = start + r * period + shift
        line += [(base + s, d, m + k) for s, d, m in a["line"]]
    tmp = out_dir / (name + ".work")
    tmp.mkdir(exist_ok=True)
    sung._midi_file(b, line, qsec, program, tmp / "lead.mid")
    if not renders._fluidsynth(b, tmp / "lead.mid", tmp / "lead.wav"):
        raise RuntimeError("fluidsynth (lead) failed or timed out")
    n = int(RENDER_S * SR)
    v = sung._fit(sung._read16k(b, tmp / "lead.wav"), n).astype(np.float64)
    for w0 in range(0, n - 29 * SR + 1, 29 * SR):
        frac = sung.active_fraction(v, w0, w0 + 29 * SR)
        if frac < 0.5:
            raise RuntimeError(f"lead heard in only {frac:.0%} of the clip at {w0 // SR} s")
    style, groove = _pick(grooves[beats], "groove:" + rel)
    chords = sung.harmonise(line, beats, math.ceil(total_ql / beats) + 1,
                            sung.key_chords((a["tonic"] + k) % 12, a["mode"]))
    (tmp / "acc.mma").write_text(f"RndSeed {_h('seed:' + rel) % 100000}\nUse {style}\nTempo {bpm}\n"
                                 f"Groove {groove}\n" + "".join(f"{c}\n" for c in chords))
    r = sung._run(b, ["mma", "-f", str(tmp / "acc.raw.mid"), str(tmp / "acc.mma")], "mma")
    if "Error" in r.stdout + r.stderr or not (tmp / "acc.raw.mid").exists():
        raise RuntimeError(f"mma: {(r.stdout + r.stderr).strip()[-300:]}")
    mid = mido.MidiFile(str(tmp / "acc.raw.mid"))
    msgs = [m for t in mid.tracks for m in t if not m.is_meta]
    drums = any(m.type == "note_on" and m.channel == 9 and m.velocity for m in msgs)
    voices = any(m.type == "program_change" and m.channel != 9 and m.program in VOICE_PROGRAMS
                 for m in msgs)
    b.append_all_off(mid).save(str(tmp / "acc.mid"))
    if not renders._fluidsynth(b, tmp / "acc.mid", tmp / "acc.wav"):
        raise RuntimeError("fluidsynth (groove) failed or timed out")
    acc = sung._fit(sung._read16k(b, tmp / "acc.wav"), n).astype(np.float64)
    ra, rv = math.sqrt(float(np.mean(acc ** 2))), math.sqrt(float(np.mean(v ** 2)))
    if ra < 1e-5:
        raise RuntimeError("silent groove")
    over = _pick(LEAD_OVER_DB, "over:" + rel)
    x = v + acc * (rv / ra) * 10 ** (-over / 20)
    fx = _pick(EFFECTS, "fx:" + rel)
    if fx:  # -D: sox dithers 16-bit output with random noise by default (not reproducible)
        sf.write(str(tmp / "dry.wav"), (x / max(float(np.abs(x).max()), 1e-9) * 0.5).astype(np.float32),
                 SR, subtype="FLOAT")
        sung._run(b, ["sox", "-D", str(tmp / "dry.wav"), "-e", "floating-point", str(tmp / "wet.wav")]
                  + fx.split(), "sox effect")
        x = sung._fit(sf.read(str(tmp / "wet.wav"), dtype="float64")[0], n)
    x, level, rms_db = renders.to_level(x, rel)
    hard = {t: 1 for t in ones}
    if not voices:
        hard.update({t: 0 for t in renders.VOCAL_TAGS})
        hard.update({t: 1 for t in renders.NO_VOCAL_TAGS})
    if drums:
        hard["drums"] = 1
    cat = renders.GROOVES.get(style, (None,))[0]
    if cat:
        hard.update(renders.CATEGORIES[cat][0])
    hard.update(renders._level_labels(rms_db, level))
    wav = out_dir / (name + ".wav")
    sf.write(str(wav.with_suffix(".tmp.wav")), x.astype(np.float32), SR, subtype="PCM_16")
    wav.with_suffix(".tmp.wav").rename(wav)
    desc = (f"{a['part_name']} on GM {program} ({lead}), transposed {k:+d}, {bpm} bpm, over MMA "
            f"{style} groove {groove}{' (choir/voice program)' if voices else ''}, lead {over:+.0f} dB, "
            f"chords {' '.join(chords[:8])} ..., effect {fx or 'none'}, {level} ({rms_db} dBFS RMS)")
    return wav, hard, desc, family


def arrangement_sources(b, cdir):
    """Render (or reuse) the arrangements. b: the build module. Returns (sources, failures)."""
    import music21
    out_dir = cdir / "rendered" / "arrangements"
    out_dir.mkdir(parents=True, exist_ok=True)
    version = f"music21 {music21.__version__}, mma {renders._deb_version('mma')}"
    grooves = groove_library()
    want = sum(BATCHES)
    sources, fails = [], 0
    for rel, kind in candidates():
        if len(sources) >= want:
            break
        name = b.safe_name(rel)
        meta, wav = out_dir / (name + ".json"), out_dir / (name + ".wav")
        skip, failed = out_dir / (name + ".skip"), out_dir / (name + ".failed")
        if skip.exists() or failed.exists():  # known unusable (delete the marker to retry)
            fails += failed.exists()
            continue
        if not (meta.exists() and wav.exists()):
            try:
                wav, hard, desc, family = _render_one(b, out_dir, name, rel, kind, grooves)
            except sung.Skip as e:
                skip.write_text(f"{e}\n")
                continue
            except Exception as e:  # noqa: BLE001 - a failed render is skipped, logged, never labelled
                b.log(f"[arrange] {rel}: skipped ({type(e).__name__}: {e})")
                failed.write_text(f"{type(e).__name__}: {e}\n")
                fails += 1
                continue
            finally:
                shutil.rmtree(out_dir / (name + ".work"), ignore_errors=True)
            src = {"package": PACKAGE, "version": version, "file": rel, "audio": str(wav),
                   "group": f"{PACKAGE}:{rel}", "family": family,
                   "licence": "public-domain work; music21 corpus encoding (BSD-3-Clause); "
                              "MMA groove library (GPL-2+); FluidR3_GM soundfont (MIT)",
                   "duration": RENDER_S, "note": desc, "hard": hard}
            meta.write_text(json.dumps(src, indent=0))
            b.forget_clips(cdir, PACKAGE, version, rel)
            if len(sources) % 25 == 0:
                b.log(f"[arrange] {len(sources) + 1}/{want} renders")
        src = json.loads(meta.read_text())
        sources.append(dict(src, stratum=f"{PACKAGE}:{src['family']}"))
    if len(sources) < want:
        b.log(f"[arrange] only {len(sources)} of {want} renders (candidates exhausted)")
    return sources, fails
