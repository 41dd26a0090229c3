"""Sung renders (issue 11 item 2): music21 melodies sung by Festival's singing mode (and by Sinsy,
PyPI pysinsy, for a second batch of women), for build.py.

Each chosen score is sung once, by one Festival diphone voice (or Sinsy's HTS voice), on one syllable
per note from a fixed syllable set (one kana per note for Sinsy; real lyrics make Festival abort or
drift; see /work/shared/data/singing-synthesis.md), with ffmpeg vibrato and an echo or a sox reverb,
in one of three settings:

* `acappella`: one line alone (a Bach chorale part or a folk tune from ryansMammoth);
* `score`: a Bach chorale part sung, the other three parts played by one GM instrument (fluidsynth);
* `mma`: the melody over an MMA groove, one chord per groove bar harmonised from the melody
  (diatonic triads of the melody's key), groove chosen among the non-held-out MMA styles that fit
  the melody's metre.

Everything is chosen by a stable hash of the score (and part) name: the setting, the singer's sex
(equal quotas per setting), the part, the tempo, the syllables, the effects, the accompaniment and
the level; the voice by the render's place among its setting and sex (a fixed cycle, so the
held-out singers sing in every setting). Each render is cut at RENDER_S (two 29 s clips). A render is only kept
when Festival exits cleanly, its output is as long as the score (Festival's timing is exact when it
works) and the voice is active in most of both clip windows; otherwise it is marked `.failed` with
the reason and the next candidate is taken. Scores that do not fit a setting (metre, range, parts)
are marked `.skip` the same way, so a rebuild does not parse them again.

Hard labels (facts of the recipe): vocal, vocals, singing, voice = 1; the singer's sex (male, man,
male vocal, male voice, or female, woman, female vocal, female voice) = 1 and the other sex's = 0;
no vocals / no vocal / no voice = 0; choir, choral = 0 (one voice); plus what the accompaniment states
as in the instrumental renders (the GM instrument of a `score` render, no instrument or drums a
cappella, the MMA category's genre and drums for `mma`), classical for Bach chorales off MMA, and
loud/quiet from the measured level. Everything else is the teacher's.

Longer than most files (~650 lines): one render family, its choices, the voices' pitfalls and the
render itself belong together; the tests are in test_sung.py.
"""

import json
import math
import shutil
import sys
from pathlib import Path

import renders
from renders import _h, _pick

PACKAGE = "sung-renders"
RENDER_S = 58.5  # two clips of 29 s each (build.clip_offsets cuts end to end from 0)
SR = 16000
# Quotas of renders per setting and sex (the first batch: ~116 renders, ~232 clips, ~1.9 h).
QUOTAS = {"score": 18, "acappella": 11, "mma": 29}  # per sex
FX_PAD_S = 0.5  # silence before the voice effects, trimmed after them (see _render_one)
SYLLABLES = "la,na,do,mi,ka,te,so,lu,ri,be,ma,no,ti,de,ro,sa,ve,li".split(",")
MAX_HZ = {"male": 392.0, "female": 466.2}  # Festival crashes above ~500 Hz; female sings high in range
MALE_MEDIAN_HZ = 165.0
MIN_FEMALE_LOW_HZ = 170.0  # a female line whose lowest note falls below this is heard as male: skip
# voice -> (sex, Debian package, licence of the voice database)
VOICES = {
    "kal_diphone": ("male", "festvox-kallpc16k", "CMU/Black & Lenzo permissive (festvox-kallpc16k)"),
    "pc_diphone": ("male", "festvox-itapc16k", "GPL-2+ (festvox-itapc16k, IFM)"),
    "ked_diphone": ("male", "festvox-kdlpc16k", "CSTR Edinburgh permissive (festvox-kdlpc16k)"),
    "lp_diphone": ("female", "festvox-italp16k", "GPL-2+ (festvox-italp16k, IFM)"),
    "czech_dita": ("female", "festvox-czech-dita", "GPL-3+ (festvox-czech-dita, Brailcom)"),
}
# The n-th render of a setting and sex is sung by VOICE_CYCLE[sex][n % len]: every voice, the two
# held-out ones included (ked: test, dita: validation; build.HELDOUT_FAMILIES), sings in every
# setting, in fixed proportions (male kal 3/8, pc 3/8, ked 2/8; female lp 2/3, dita 1/3).
VOICE_CYCLE = {"male": ["kal_diphone", "pc_diphone", "ked_diphone", "kal_diphone", "pc_diphone",
                        "kal_diphone", "pc_diphone", "ked_diphone"],
               "female": ["lp_diphone", "czech_dita", "lp_diphone"]}
# Sinsy (PyPI pysinsy, built from its sdist by build.ensure_venv): a better female singer (the HTS
# voice nitech_jp_song070_f001 it bundles), Japanese front end, so one kana per note. Male Sinsy
# (pitch-shifted) is ambiguous to the teacher: men stay Festival's.
SINSY = "sinsy_f001"
VOICES[SINSY] = ("female", "pysinsy 0.0.5 (PyPI sdist)",
                 "CC-BY-3.0, HTS Working Group / Nagoya Institute of Technology "
                 "(nitech_jp_song070_f001 HTS voice); Sinsy and hts_engine Modified BSD; pysinsy MIT")
SINSY_VERSION = "pysinsy 0.0.5"  # build.ensure_venv installs this version (requirements.lock)
KANA = "らなとみかてそるりべまのちでろさせあおうにもよれ"
SINSY_TOP, SINSY_LOW = 76, 57  # MIDI: E5 top, A3 lowest (higher or lower comes out unvoiced)
# Batches, filled in order from the same hash-ordered candidates: a candidate goes to the first batch
# whose quota for its setting and sex is open, so adding a batch never changes an earlier one.
BATCHES = [(QUOTAS, VOICE_CYCLE),
           ({"score": 3, "acappella": 2, "mma": 5}, {"male": VOICE_CYCLE["male"], "female": [SINSY]})]
# Debian packages the family needs (build.ensure_tools installs them with the other build tools)
APT_PACKAGES = ["festival", "festvox-kallpc16k", "festvox-kdlpc16k", "festvox-italp16k",
                "festvox-itapc16k", "festvox-czech-dita", "festival-czech"]
ACCOMP_INSTRUMENTS = ["piano", "harpsichord", "guitar", "harp", "strings"]  # renders.INSTRUMENTS keys
WALTZ_GROOVES = {"stdlib/waltz": ("other", ["Waltz", "Waltz1"]),
                 "stdlib/countrywaltz": ("country", ["CountryWaltz", "CountryWaltz1"]),
                 "stdlib/rockwaltz": ("rock", ["RockWaltz", "RockWaltz1"]),
                 "casio/popwaltz": ("pop", ["PopWaltz"])}
VOICE_TAGS = ["vocal", "vocals", "singing", "voice"]
SEX_TAGS = {"male": ["male", "man", "male vocal", "male voice"],
            "female": ["female", "woman", "female vocal", "female voice"]}
NOTE_NAMES = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


# ------------------------------------------------------------------ pure helpers (unit-tested)

def hz(midi):
    return 440.0 * 2 ** ((midi - 69) / 12)


def monophonic(notes):
    """[(start, dur, midi)] in quarter lengths -> one line: the highest note at each onset, each note
    cut at the next onset; zero-length notes (graces) dropped."""
    best = {}
    for s, d, m in notes:
        if d <= 0:
            continue
        if s not in best or m > best[s][1]:
            best[s] = (d, m)
    starts = sorted(best)
    out = []
    for i, s in enumerate(starts):
        d, m = best[s]
        if i + 1 < len(starts):
            d = min(d, starts[i + 1] - s)
        out.append((s, d, m))
    return out


def transposition(midis, sex):
    """Semitones to add so the line sits where the voice sings well and never crashes Festival:
    female as high as MAX_HZ allows; male with its median near MALE_MEDIAN_HZ, top <= MAX_HZ."""
    top = max(midis)
    cap = math.floor(69 + 12 * math.log2(MAX_HZ[sex] / 440.0))  # highest allowed MIDI note
    if sex == "female":
        return cap - top
    med = sorted(midis)[len(midis) // 2]
    want = round(69 + 12 * math.log2(MALE_MEDIAN_HZ / 440.0))
    return min(want - med, cap - top)


def festival_xml(events, total_s):
    """events: [(start_s, dur_s, hz, syllable)] of one monophonic line -> Festival SINGING XML.
    Gaps become one REST each (Festival collapses consecutive RESTs, so they are never emitted
    twice in a row); times are rounded as absolute times so the rounding never drifts; pitches as
    FREQ (NOTE= is an octave off). Notes are cut at total_s. Returns (xml, sung end in s)."""
    out = ['<?xml version="1.0"?>',
           '<!DOCTYPE SINGING PUBLIC "-//SINGING//DTD SINGING mark up//EN" "Singing.v0_1.dtd" []>',
           '<SINGING BPM="60">']
    cursor = 0.0
    for start, dur, f, syl in sorted(events):
        start = round(start, 3)
        end = round(min(start + dur, total_s), 3)
        if start >= total_s or end - start < 0.03 or start < cursor - 1e-9:
            continue
        if start - cursor > 1e-9:
            if out[-1].startswith("<REST"):
                raise AssertionError("two RESTs in a row")
            out.append(f'<REST SECONDS="{start - cursor:.3f}"></REST>')
        out.append(f'<DURATION SECONDS="{end - start:.3f}"><PITCH FREQ="{f:.1f}">{syl}</PITCH>'
                   f'</DURATION>')
        cursor = end
    out.append("</SINGING>")
    return "\n".join(out) + "\n", cursor


def key_chords(tonic_pc, mode):
    """Diatonic triads of a key: [(name, pitch classes, prior)], tonic first."""
    if mode == "minor":
        degs = [(0, "m", 0.3), (7, "", 0.2), (5, "m", 0.1), (8, "", 0.0), (3, "", 0.0), (10, "", 0.0)]
    else:
        degs = [(0, "", 0.3), (7, "", 0.2), (5, "", 0.1), (9, "m", 0.0), (2, "m", 0.0)]
    out = []
    for step, q, prior in degs:
        r = (tonic_pc + step) % 12
        third = 3 if q == "m" else 4
        out.append((NOTE_NAMES[r] + q, {r, (r + third) % 12, (r + 7) % 12}, prior))
    return out


def harmonise(notes, bar_ql, n_bars, chords):
    """One chord per bar: the triad covering most of the bar's melody (by duration, the note on the
    downbeat counting double), ties to the tonic/dominant/subdominant prior; an empty bar keeps the
    previous chord. notes: [(start, dur, midi)] in quarter lengths from the first groove bar."""
    out = []
    prev = chords[0][0]
    for b in range(n_bars):
        lo, hi = b * bar_ql, (b + 1) * bar_ql
        w = {}
        for s, d, m in notes:
            ov = min(s + d, hi) - max(s, lo)
            if ov > 0:
                w[m % 12] = w.get(m % 12, 0.0) + ov + (ov if abs(s - lo) < 1e-6 else 0.0)
        if not w:
            out.append(prev)
            continue
        name = max(chords, key=lambda c: (sum(v for pc, v in w.items() if pc in c[1]) + c[2]))[0]
        out.append(name)
        prev = name
    return out


def active_fraction(x, start, end, frame=800):
    """Fraction of 50 ms frames in [start, end) samples whose RMS is within 25 dB of the line's
    loud frames (95th percentile): how much of a clip window the singer is heard in."""
    import numpy as np
    n = len(x) // frame
    fr = np.sqrt(np.mean(x[:n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    ref = np.percentile(fr, 95)
    if ref <= 0:
        return 0.0
    a, b = start // frame, min(end // frame, n)
    if b <= a:
        return 0.0
    return float(np.mean(fr[a:b] > ref * 10 ** (-25 / 20)))


def _last_active_s(x, frame=800):
    """End (s) of the last 50 ms frame within 30 dB of the line's loud frames (95th percentile)."""
    import numpy as np
    n = len(x) // frame
    fr = np.sqrt(np.mean(x[:n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    act = np.nonzero(fr > np.percentile(fr, 95) * 10 ** (-30 / 20))[0]
    return float((act[-1] + 1) * frame / SR) if len(act) else 0.0


# ------------------------------------------------------------------ choices

def _candidates():
    """(rel, kind) of every usable music21 score not already used by the instrumental renders:
    Bach four-part chorales ('chorale') and ryansMammoth folk tunes ('tune'), in hash order."""
    import music21
    from music21 import corpus
    root = Path(music21.__file__).parent / "corpus"
    used = set()
    for rels in renders.score_choice().values():
        used.update(rels)
    out = []
    for composer, kind in (("bach", "chorale"), ("ryansMammoth", "tune")):
        for p in corpus.getComposer(composer):
            rel = str(Path(p).relative_to(root)) if Path(p).is_relative_to(root) else str(p)
            if rel not in used:
                out.append((rel, kind))
    return sorted(out, key=lambda rk: (_h("sung:" + rk[0]), rk[0]))


def _plan(rel, kind):
    """The hash-chosen setting and singer's sex of a score (before it is parsed)."""
    r = _h("setting:" + rel) % 20
    if kind == "chorale":
        setting = "score" if r < 9 else ("acappella" if r < 12 else "mma")
    else:
        setting = "acappella" if r < 6 else "mma"
    sex = "female" if _h("sex:" + rel) % 2 else "male"
    return setting, sex


def _grooves(beats):
    """(style, groove, category) of the MMA grooves whose bar has `beats` quarter notes, without the
    held-out yamaha/ library (its styles are a test family of the MMA renders)."""
    out = []
    if beats == 3:
        for style, (cat, gs) in WALTZ_GROOVES.items():
            out += [(style, g, cat) for g in gs]
        return out
    for style, (cat, gs) in renders.GROOVES.items():
        if style.startswith("yamaha/") or style in WALTZ_GROOVES:
            continue
        f = Path("/usr/share/mma/lib") / (style + ".mma")
        text = f.read_text(errors="replace") if f.exists() else ""
        if any(line.split()[:2] == ["Time", "3"] for line in text.splitlines()):
            continue
        for g in gs:
            g = g or Path(style).name[:1].upper() + Path(style).name[1:]
            out.append((style, g, cat))
    return out


# ------------------------------------------------------------------ score -> events

class Skip(Exception):
    """The score does not fit the chosen setting (a property of the score: cached as .skip)."""


def _part_events(part):
    from music21 import harmony
    p = part.stripTies()
    notes = []
    for n in p.flatten().notes:
        if isinstance(n, harmony.ChordSymbol) or n.duration.isGrace:
            continue
        ql = float(n.quarterLength)
        for pt in n.pitches:
            notes.append((float(n.offset), ql, int(round(pt.ps))))
    return notes


def _analyse(rel, kind, setting, sex):
    """Parse the score -> dict(line, acc, key, bar_ql, pickup_ql, length_ql, part)."""
    from music21 import corpus, meter, stream
    s = corpus.parse(rel)
    if isinstance(s, stream.Opus):
        s = s.scores[0]
    parts = list(s.parts)
    if kind == "chorale":
        names = [(p.partName or "").lower() for p in parts]
        if len(parts) != 4 or not all(any(v in n for n in names) for v in ("soprano", "bass")):
            raise Skip(f"not a four-part chorale ({len(parts)} parts: {names})")
        if setting == "mma":
            idx = 0  # the tune (soprano) over a groove
        else:
            opts = (0, 1) if sex == "female" else (2, 3)
            idx = opts[_h("part:" + rel) % 2]
    else:
        if len(parts) < 1:
            raise Skip("no part")
        idx = 0
    line = monophonic(_part_events(parts[idx]))
    if len(line) < 12:
        raise Skip(f"only {len(line)} notes")
    acc = []
    if setting == "score":
        for i, p in enumerate(parts):
            if i != idx:
                acc += [(st, d, m) for st, d, m in _part_events(p) if d > 0]
    ts = s.recurse().getElementsByClass(meter.TimeSignature).first()
    bar_ql = float(ts.barDuration.quarterLength) if ts else 4.0
    ratio = ts.ratioString if ts else "4/4"
    if setting == "mma" and ratio not in ("4/4", "2/4", "2/2", "3/4"):
        raise Skip(f"metre {ratio} fits no groove")
    measures = list(parts[idx].getElementsByClass("Measure"))
    pickup = 0.0
    if measures:
        m0 = float(measures[0].duration.quarterLength)
        if 0 < m0 < bar_ql - 1e-6:
            pickup = m0
    key = parts[idx].analyze("key")
    length = max(st + d for st, d, _ in line + acc)
    durs = sorted(d for _, d, _ in line)
    return {"line": line, "acc": acc, "tonic": key.tonic.pitchClass, "mode": key.mode,
            "bar_ql": bar_ql, "ratio": ratio, "pickup": pickup, "length": length, "part": idx,
            "part_name": parts[idx].partName or f"part {idx}", "median_ql": durs[len(durs) // 2]}


# ------------------------------------------------------------------ rendering

def _run(b, cmd, what, **kw):
    r = b.run(cmd, timeout=120, check=False, capture_output=True, text=True,
              preexec_fn=b.limit_output_size, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed (rc {r.returncode}): {(r.stdout + r.stderr).strip()[-300:]}")
    return r


def _read16k(b, path):
    """Any audio -> float32 mono 16 kHz (ffmpeg, as build.decode_16k)."""
    import numpy as np
    pcm = b.decode_16k(path)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def _fit(x, n):
    import numpy as np
    return x[:n] if len(x) >= n else np.concatenate([x, np.zeros(n - len(x), dtype=x.dtype)])


def _midi_file(b, parts_events, qsec, program, path):
    """[(start_ql, dur_ql, midi)] -> a MIDI file at one tempo, one GM program, all-off tail."""
    import mido
    tpb = 480
    mid = mido.MidiFile(ticks_per_beat=tpb)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=int(round(qsec * 1e6)), time=0))
    tr.append(mido.Message("program_change", channel=0, program=program, time=0))
    ev = []
    for s, d, m in parts_events:
        m = int(round(m))
        if not 0 <= m <= 127:
            continue
        a, e = int(round(s * tpb)), int(round((s + d) * tpb))
        if e <= a:
            continue
        ev.append((e, 0, m))  # note-offs first at equal times, so repeated notes re-strike
        ev.append((a, 1, m))
    t = 0
    for tick, on, m in sorted(ev):
        tr.append(mido.Message("note_on", channel=0, note=m, velocity=72 if on else 0, time=tick - t))
        t = tick
    tr.append(mido.MetaMessage("end_of_track", time=0))
    b.append_all_off(mid).save(str(path))


SINSY_SCRIPT = r"""
import sys
import numpy as np
import pysinsy
import soundfile as sf
sy = pysinsy.sinsy.Sinsy()
assert sy.setLanguages("j", pysinsy.get_default_dic_dir()), "sinsy: languages"
assert sy.loadVoices(pysinsy.get_default_htsvoice()), "sinsy: voice"
assert sy.loadScoreFromMusicXML(sys.argv[1]), "sinsy: score"
out = sy.synthesize()
wav, sr = out if isinstance(out, tuple) else (out, 48000)
wav = np.asarray(wav, dtype=np.float64)
peak = float(np.abs(wav).max())
assert peak > 0, "sinsy: silent"
sf.write(sys.argv[2], wav * (0.9 / peak), int(sr), subtype="PCM_24")  # no PEAK chunk: same bytes every run
"""


def _sinsy_musicxml(line, bpm, total_ql, rel, part, path):
    """The timeline's line as MusicXML for Sinsy: one kana per note (same hash as the syllables),
    the tempo as a MetronomeMark, 4/4 measures (notes across barlines tied). Notes that do not end
    before total_ql are left out. Returns the sung end in seconds."""
    from music21 import meter, note, stream, tempo
    p = stream.Part()
    p.append(tempo.MetronomeMark(number=bpm))
    p.append(meter.TimeSignature("4/4"))
    cursor = 0.0
    for s, d, m, i in sorted(line):
        if s + d > total_ql:
            break
        if s < cursor - 1e-6:
            continue
        if s > cursor + 1e-6:
            p.append(note.Rest(quarterLength=s - cursor))
        n = note.Note(int(m), quarterLength=d)
        n.lyric = KANA[_h(f"syl:{rel}:{part}:{i}") % len(KANA)]
        p.append(n)
        cursor = s + d
    p.makeMeasures(inPlace=True)
    p.makeTies(inPlace=True)
    p.write("musicxml", fp=str(path))
    return cursor * 60 / bpm


def _render_one(b, out_dir, name, rel, kind, setting, sex, voice):
    import numpy as np
    import soundfile as sf
    a = _analyse(rel, kind, setting, sex)
    midis = [m for _, _, m in a["line"]]
    if voice == SINSY:
        k = SINSY_TOP - max(midis)
        if min(midis) + k < SINSY_LOW:
            raise Skip(f"range too wide for Sinsy ({max(midis) - min(midis)} semitones)")
    else:
        k = transposition(midis, sex)
        low = min(midis) + k
        if sex == "female" and hz(low) < MIN_FEMALE_LOW_HZ:
            raise Skip(f"range too wide for a female line ({hz(low):.0f} Hz lowest at the top allowed)")
    # tempo: the line's median note lasts 0.30-0.55 s (syllables shorter than that are garbled)
    note_s = _pick([0.30, 0.38, 0.46, 0.55], "note_s:" + rel) if kind == "tune" else \
        _pick([0.45, 0.55, 0.65], "note_s:" + rel)
    qsec = min(max(note_s / a["median_ql"], 60 / 160), 60 / 56)
    bpm = round(60 / qsec)
    qsec = 60 / bpm
    total_ql = RENDER_S / qsec
    if setting == "mma":
        beats = 3 if a["ratio"] == "3/4" else 4
        shift = (-a["pickup"]) % beats
        lead = beats  # one groove bar alone before the voice
        period = math.ceil((shift + a["length"]) / beats) * beats
    else:
        beats, shift, lead = 4, 0.0, 1.0
        period = math.ceil(a["length"] + 1.0)  # a breath before the repeat
    reps = math.ceil((total_ql - lead) / period)
    line, acc = [], []
    for r in range(reps):
        base = lead + r * period + shift
        line += [(base + s, d, m + k, i) for i, (s, d, m) in enumerate(a["line"])]
        acc += [(base + s, d, m + k) for s, d, m in a["acc"]]
    events = [(s * qsec, d * qsec, hz(m), SYLLABLES[_h(f"syl:{rel}:{a['part']}:{i}") % len(SYLLABLES)])
              for s, d, m, i in line]
    xml, sung_end = festival_xml(events, RENDER_S)
    tmp = out_dir / (name + ".work")
    tmp.mkdir(exist_ok=True)
    if voice == SINSY:
        sung_end = _sinsy_musicxml(line, bpm, total_ql, rel, a["part"], tmp / "voice.musicxml")
        _run(b, [sys.executable, "-c", SINSY_SCRIPT, str(tmp / "voice.musicxml"),
                 str(tmp / "voice.wav")], "sinsy")
        v = _read16k(b, tmp / "voice.wav")
        # Sinsy pads its output (to the bar, plus silence): the singing itself must end on time
        last = _last_active_s(v)
        if len(v) / SR < sung_end - 0.3 or abs(last - sung_end) > 0.5:
            raise RuntimeError(f"sinsy sings until {last:.2f} s for a {sung_end:.2f} s score")
    else:
        (tmp / "voice.xml").write_text(xml)
        _run(b, ["text2wave", "-mode", "singing", str(tmp / "voice.xml"), "-o", str(tmp / "voice.wav"),
                 "-eval", f"(voice_{voice})"], "festival")
        v = _read16k(b, tmp / "voice.wav")
        if abs(len(v) / SR - sung_end) > 0.3:
            raise RuntimeError(f"festival output {len(v) / SR:.2f} s for a {sung_end:.2f} s score")
    # expression: vibrato (most renders) and an echo or a reverb, chosen by hash
    vib = _h("vib:" + rel) % 20
    fx = []
    if vib < 17:
        fx.append(f"vibrato=f={5.0 + (vib % 7) * 0.25:.2f}:d={0.12 + (vib % 5) * 0.045:.3f}")
    space = _pick(["echo", "reverb", "reverb", "echo", "dry"], "space:" + rel)
    if space == "echo":
        fx.append(_pick(["aecho=0.8:0.6:60|90:0.3|0.2", "aecho=0.8:0.7:40:0.3",
                         "aecho=0.8:0.5:120|200:0.25|0.15"], "echo:" + rel))
    wet = tmp / "voice_fx.wav"
    # ffmpeg's vibrato reads its delay line before writing it (uninitialised memory: full-scale
    # garbage in the first 5 ms, different from run to run, which then set the render's peak-limited
    # gain). So the voice is padded with FX_PAD samples of silence before the effects and exactly
    # those samples are trimmed after them: the output is aligned and the same on every run.
    pad = int(FX_PAD_S * SR)
    chain = [f"aresample={SR}", f"adelay=delays={pad}S:all=1"] + fx + \
        [f"atrim=start_sample={pad}", "asetpts=PTS-STARTPTS"]
    _run(b, ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(tmp / "voice.wav"), "-af",
             ",".join(chain), "-ac", "1", "-ar", str(SR), "-c:a", "pcm_s16le", str(wet)],
         "ffmpeg vibrato/echo")
    if space == "reverb":  # -D: sox dithers 16-bit output with random noise by default
        rev = _pick(["30 50 60", "45 50 80", "60 40 100"], "reverb:" + rel).split()
        _run(b, ["sox", "-D", str(wet), str(tmp / "voice_rev.wav"), "pad", f"{pad}s", "0s", "reverb"] + rev
             + ["trim", f"{pad}s"], "sox reverb")
        wet = tmp / "voice_rev.wav"
    n = int(RENDER_S * SR)
    v = _fit(_read16k(b, wet), n).astype(np.float64)
    for w0 in range(0, n - 29 * SR + 1, 29 * SR):
        frac = active_fraction(v, w0, w0 + 29 * SR)
        if frac < 0.5:
            raise RuntimeError(f"voice active in only {frac:.0%} of the clip at {w0 // SR} s")
    hard = {t: 1 for t in VOICE_TAGS}
    hard.update({t: 1 for t in SEX_TAGS[sex]})
    hard.update({t: 0 for t in SEX_TAGS["female" if sex == "male" else "male"]})
    hard.update({t: 0 for t in renders.NO_VOCAL_TAGS + ["choir", "choral"]})
    desc = (f"music21 score, {a['part_name']} sung by {'Sinsy' if voice == SINSY else 'Festival'} "
            f"{voice} ({sex}) on {'kana' if voice == SINSY else 'syllables'}, "
            f"transposed {k:+d}, {bpm} bpm, {','.join(fx) or 'no vibrato'}"
            f"{', sox reverb ' + ' '.join(rev) if space == 'reverb' else ''}")
    acc_x = None
    if setting == "score":
        inst = _pick(ACCOMP_INSTRUMENTS, "acc:" + rel)
        program, ones, unknown = renders.INSTRUMENTS[inst]
        _midi_file(b, acc, qsec, program, tmp / "acc.mid")
        if not renders._fluidsynth(b, tmp / "acc.mid", tmp / "acc.wav"):
            raise RuntimeError("fluidsynth failed or timed out")
        acc_x = _read16k(b, tmp / "acc.wav")
        hard.update({t: 0 for t in renders.INSTRUMENT_TAGS if t not in unknown})
        hard.update({t: 1 for t in ones})
        desc += f"; other parts on GM {program} ({inst})"
    elif setting == "mma":
        style, groove, cat = _pick(_grooves(beats), "groove:" + rel)
        n_bars = math.ceil(total_ql / beats) + 1
        bar_notes = [(s, d, m) for s, d, m, _ in line]
        chords = harmonise(bar_notes, beats, n_bars, key_chords((a["tonic"] + k) % 12, a["mode"]))
        text = (f"RndSeed {_h('seed:' + rel) % 100000}\nUse {style}\nTempo {bpm}\nGroove {groove}\n"
                + "".join(f"{c}\n" for c in chords))
        (tmp / "acc.mma").write_text(text)
        r = _run(b, ["mma", "-f", str(tmp / "acc.raw.mid"), str(tmp / "acc.mma")], "mma")
        if "Error" in r.stdout + r.stderr or not (tmp / "acc.raw.mid").exists():
            raise RuntimeError(f"mma: {(r.stdout + r.stderr).strip()[-300:]}")
        import mido
        mid = mido.MidiFile(str(tmp / "acc.raw.mid"))
        drums = any(not m.is_meta and m.type == "note_on" and m.channel == 9 and m.velocity
                    for t in mid.tracks for m in t)
        b.append_all_off(mid).save(str(tmp / "acc.mid"))
        if not renders._fluidsynth(b, tmp / "acc.mid", tmp / "acc.wav"):
            raise RuntimeError("fluidsynth failed or timed out")
        acc_x = _read16k(b, tmp / "acc.wav")
        tags, _, _ = renders.CATEGORIES[cat]
        hard.update(tags)
        hard.update({"harpsichord": 0, "sitar": 0, "indian": 0})
        if drums:
            hard["drums"] = 1
        desc += f"; MMA {style} groove {groove} ({cat}), chords {' '.join(chords[:9])} ..."
    else:
        hard.update({t: 0 for t in renders.INSTRUMENT_TAGS})
        hard.update({"beat": 0, "beats": 0})
        desc += "; a cappella"
    if kind == "chorale" and setting != "mma":
        hard.update({"classical": 1, "country": 0, "pop": 0, "electronic": 0, "techno": 0,
                     "rock": 0, "metal": 0, "dance": 0, "beat": 0, "beats": 0})
    x = v
    if acc_x is not None:
        acc_x = _fit(acc_x, n).astype(np.float64)
        ratio_db = _pick([3.0, 6.0, 9.0], "mix:" + rel)  # voice over accompaniment, RMS
        rv = math.sqrt(float(np.mean(v ** 2)))
        ra = math.sqrt(float(np.mean(acc_x ** 2)))
        if ra < 1e-6:
            raise RuntimeError("silent accompaniment")
        x = v + acc_x * (rv / ra) * 10 ** (-ratio_db / 20)
        desc += f", voice {ratio_db:+.0f} dB over it"
    x, level, rms_db = renders.to_level(x, rel)
    hard.update(renders._level_labels(rms_db, level))
    wav = out_dir / (name + ".wav")
    sf.write(str(wav.with_suffix(".tmp.wav")), x.astype(np.float32), SR, subtype="PCM_16")
    wav.with_suffix(".tmp.wav").rename(wav)
    return wav, hard, desc + f"; {level} ({rms_db} dBFS RMS)"


def sung_sources(b, cdir):
    """Render (or reuse) the sung family. b: the build module. Returns (sources, failures)."""
    import music21
    out_dir = cdir / "rendered" / "sung"
    out_dir.mkdir(parents=True, exist_ok=True)
    fest = renders._deb_version("festival")
    version = f"festival {fest}"
    m21 = music21.__version__
    import importlib.util
    batches = BATCHES
    if importlib.util.find_spec("pysinsy") is None:  # never expected: build.ensure_venv installs it
        b.log("[sung] pysinsy is not installed: the Sinsy batch is left out")
        batches = [bt for bt in BATCHES if SINSY not in bt[1]["female"]]
    taken = [{(st, sx): 0 for st in q for sx in ("male", "female")} for q, _ in batches]
    sources = []
    fails = 0
    for rel, kind in _candidates():
        setting, sex = _plan(rel, kind)
        open_ = [j for j, (q, _) in enumerate(batches) if taken[j][setting, sex] < q[setting]]
        if not open_:
            continue
        j = open_[0]
        cycle = batches[j][1][sex]
        voice = cycle[taken[j][setting, sex] % len(cycle)]
        name = b.safe_name(f"{rel}")
        meta, wav = out_dir / (name + ".json"), out_dir / (name + ".wav")
        skip, failed = out_dir / (name + ".skip"), out_dir / (name + ".failed")
        if failed.exists() and failed.read_text().split()[:1] != [voice]:
            failed.unlink()  # failed with another voice (an earlier slot order): try this one
        if skip.exists() or failed.exists():  # known unusable (delete the marker to retry)
            fails += failed.exists()
            continue
        fresh = meta.exists() and wav.exists() and \
            json.loads(meta.read_text())["file"] == f"{voice}/{setting}/{rel}"
        if not fresh:
            try:
                wav, hard, desc = _render_one(b, out_dir, name, rel, kind, setting, sex, voice)
            except Skip as e:
                skip.write_text(f"{e}\n")
                continue
            except Exception as e:  # noqa: BLE001 - a failed render is skipped, logged, never labelled
                b.log(f"[sung] {rel} ({voice}, {setting}): skipped ({type(e).__name__}: {e})")
                failed.write_text(f"{voice} {setting}: {type(e).__name__}: {e}\n")
                fails += 1
                continue
            finally:
                shutil.rmtree(out_dir / (name + ".work"), ignore_errors=True)
            _, deb, voice_lic = VOICES[voice]
            lic = (f"public-domain work; music21 corpus encoding (BSD-3-Clause); "
                   f"{'Sinsy' if voice == SINSY else 'Festival'} {voice} voice: {voice_lic}")
            if setting == "score":
                lic += "; FluidR3_GM soundfont (MIT)"
            elif setting == "mma":
                lic += "; MMA groove library (GPL-2+); FluidR3_GM soundfont (MIT)"
            src = {"package": PACKAGE, "version": SINSY_VERSION if voice == SINSY else version, "file": f"{voice}/{setting}/{rel}",
                   "audio": str(wav), "group": f"{PACKAGE}:{voice}/{rel}", "licence": lic,
                   "duration": RENDER_S,
                   "note": f"{setting}: {desc}; music21 {m21}, {deb}", "hard": hard}
            meta.write_text(json.dumps(src, indent=0))
            b.forget_clips(cdir, src["package"], src["version"], src["file"])
        src = json.loads(meta.read_text())
        taken[j][setting, sex] += 1
        sources.append(dict(src, stratum=f"{PACKAGE}:{voice}:{'mma' if setting == 'mma' else 'score'}"))
        if all(n >= batches[j][0][k[0]] for j, t in enumerate(taken) for k, n in t.items()):
            break
    short = {f"batch {j + 1} {st}/{sx}": batches[j][0][st] - n for j, t in enumerate(taken)
             for (st, sx), n in t.items() if n < batches[j][0][st]}
    if short:
        b.log(f"[sung] quotas not filled (candidates exhausted): {short}")
    return sources, fails
