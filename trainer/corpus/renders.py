"""Renders whose labels are known by construction, for build.py.

* music21 corpus scores (Bach chorales, Palestrina, Monteverdi, Beethoven, Mozart, Haydn, trecento,
  folk tunes): every part is played by one chosen General MIDI program, at a chosen tempo, and the
  render is scaled to a chosen level. Known: the instrument (and the absence of every other instrument
  tag, drums and voices), loud/quiet, `classical` for the classical composers, and fast/slow from the
  render's note-onset rate.
* MMA (Debian `mma`) style grooves under a chord progression: known genre (rock, metal, country,
  techno, dance, pop; or a "not those" negative such as swing or bossa), drums present, no voices.

Everything goes through fluidsynth + FluidR3_GM (fluid-soundfont-gm), under `timeout`, after the MIDI
gets note-offs plus CC 123/120 on every channel (fluidsynth otherwise renders held notes forever).
Each render keeps a JSON sidecar (recipe, measured level, hard labels) so a rebuild does not re-parse.
Hard labels are the only targets a recipe states; every other tag comes from the teacher.
"""

import hashlib
import json
import math
import re
import subprocess
from pathlib import Path

LOUD_DB, MID_DB, QUIET_DB = -14.0, -24.0, -34.0  # target RMS (dBFS) of the three level classes
LOUD_MIN_DB, QUIET_MAX_DB = -20.0, -30.0  # the measured level must still be on that side
SLOW_BPM, MID_BPM, FAST_BPM = 52, 100, 184  # quarter notes per minute
# fast/slow follow the note-onset rate of the render, not its tempo: a chorale in half notes at
# 184 bpm is not fast to a listener (the teacher agreed with bpm-based labels at ROC-AUC 0.63-0.65)
SLOW_ONSETS, FAST_ONSETS = 1.5, 4.5  # distinct onsets per second; in between: left to the teacher
MAX_SCORE_S = 150  # scores are cut here: variety over length
MIN_RENDER_S = 40  # shorter renders are looped (a repeat, as written in most of these pieces)

VOCAL_TAGS = ['vocal', 'female', 'opera', 'male', 'singing', 'vocals', 'woman', 'male vocal', 'man',
              'voice', 'male voice', 'female vocal', 'female voice', 'choir', 'choral']
NO_VOCAL_TAGS = ['no vocals', 'no vocal', 'no voice']
INSTRUMENT_TAGS = ['guitar', 'strings', 'drums', 'piano', 'violin', 'synth', 'harpsichord', 'flute',
                   'sitar', 'harp', 'cello']

# name -> (GM program, tags that are 1, instrument tags left to the teacher)
INSTRUMENTS = {
    "piano": (0, ["piano"], []),
    "harpsichord": (6, ["harpsichord"], []),
    "guitar": (24, ["guitar"], ["strings"]),
    "violin": (40, ["violin", "strings"], []),
    "cello": (42, ["cello", "strings"], []),
    "harp": (46, ["harp"], ["strings"]),
    "strings": (48, ["strings"], ["violin", "cello"]),
    "choir": (52, ["choir", "choral"], []),
    "flute": (73, ["flute"], []),
    "sitar": (104, ["sitar"], ["strings"]),
    "synth": (81, ["synth"], []),
}
# composer -> (how many scores, classical?)
SCORES = {
    "bach": (40, True), "palestrina": (16, True), "monteverdi": (12, True), "beethoven": (8, True),
    "mozart": (8, True), "haydn": (6, True), "trecento": (8, True), "ryansMammoth": (40, False),
}  # (essenFolksong and oneills1850 are whole collections per file: slow to parse, left out)
GENRE_TAGS = ['classical', 'techno', 'electronic', 'rock', 'pop', 'dance', 'country', 'metal']

# MMA style file (under /usr/share/mma/lib) -> (category, grooves of that file). Grooves are named
# with their file (`Use` first) because names repeat across libraries (Trance1, 60sRock, PopBallad);
# all grooves of one file are one split group: they are variations of one pattern.
GROOVES = {
    "stdlib/50srock": ("rock", ["50sRock", "50sRock1"]),
    "stdlib/60srock": ("rock", ["60sRock", "60sRock1"]),
    "stdlib/rock-128": ("rock", ["Rock128", "Rock128Plain"]),
    "stdlib/softrock": ("rock", ["SoftRock", "SoftRock1"]),
    "stdlib/folkrock": ("rock", ["FolkRock"]),
    "stdlib/rockballad": ("rock", ["RockBallad", "RockBallad1"]),
    "stdlib/basicrock": ("rock", ["BasicRock", "BasicRock4"]),
    "stdlib/bubblerock": ("rock", ["BubbleRock"]),
    "casio/rock1": ("rock", ["Rock1"]),
    "casio/rock2": ("rock", ["Rock2"]),
    "casio/digitalrock": ("rock", ["DigitalRock"]),
    "casio/shufflerock": ("rock", ["ShuffleRock"]),
    "casio/60srock": ("rock", ["60sRock"]),
    "casio/poprock1": ("rock", ["PopRock1"]),
    "pflib/rock1": ("rock", ["rock1A", "rock1B"]),
    "yamaha/w-rock": ("rock", ["W-RockMainA", "W-RockMainB"]),
    "pflib/metal1": ("metal", ["metal1A", "metal1B"]),
    "pflib/metal2": ("metal", ["metal2A", "metal2B"]),
    "casio/heavymetal": ("metal", ["HeavyMetal"]),
    "stdlib/countryswing": ("country", ["CountrySwing", "CountrySwing1", "CountrySwing2"]),
    "stdlib/slowcountry": ("country", ["SlowCountry", "SlowCountryWalk"]),
    "stdlib/westernswing": ("country", ["WesternSwing", "WesternSwingPlus"]),
    "stdlib/hillcountry": ("country", ["HillCountry", "HillCountryPlus"]),
    "stdlib/countryblues": ("country", ["CountryBlues", "CountryBlues1"]),
    "stdlib/countrywaltz": ("country", ["CountryWaltz", "CountryWaltz1"]),
    "yamaha/western": ("country", ["WesternMainA", "WesternMainB"]),
    "yamaha/jazzcountry": ("country", ["JazzCountryMainA", "JazzCountryMainB"]),
    "casio/techno": ("techno", ["Techno"]),
    "alexis/teamtechno": ("techno", ["TeamTechno", "TeamTechnoSus"]),
    "casio/rave": ("techno", ["Rave"]),
    "casio/house": ("dance", ["House"]),
    "casio/latinhouse": ("dance", ["LatinHouse"]),
    "stdlib/trance": ("dance", ["Trance", "Trance1", "Trance2"]),
    "casio/trance1": ("dance", ["Trance1"]),
    "casio/trance2": ("dance", ["Trance2"]),
    "casio/dance1": ("dance", ["Dance1"]),
    "casio/dance2": ("dance", ["Dance2"]),
    "casio/dancepop1": ("dance", ["DancePop1"]),
    "casio/8beatdance": ("dance", ["8BeatDance"]),
    "casio/discosoul": ("dance", ["DiscoSoul"]),
    "casio/pop": ("pop", ["Pop"]),
    "casio/80spop": ("pop", ["80sPop"]),
    "casio/60spop": ("pop", ["60sPop"]),
    "casio/electricpop": ("pop", ["ElectricPop"]),
    "casio/8beatpop1": ("pop", ["8BeatPop1"]),
    "casio/8beatpop2": ("pop", ["8BeatPop2"]),
    "casio/soulpop": ("pop", ["SoulPop"]),
    "casio/dancepop2": ("pop", ["DancePop2"]),
    "casio/popballad": ("pop", ["PopBallad"]),
    "stdlib/popballad": ("pop", ["PopBallad", "PopBallad1"]),
}
for _style in ("swing", "bossanova", "waltz", "tango", "polka", "march", "samba", "salsa", "ragtime",
               "ska", "bolero", "mambo", "chacha", "calypso", "zydeco", "dixie", "foxtrot", "jive",
               "merengue", "rhumba"):
    GROOVES[f"stdlib/{_style}"] = ("other", [None])  # None: the file's main groove, named like it
# category -> (hard tags, chord progressions (one per variant, cycled), tempo)
CATEGORIES = {
    "rock": ({"rock": 1, "classical": 0, "techno": 0, "country": 0}, ["C G Am F", "E D A E"], 126),
    "metal": ({"metal": 1, "rock": 1, "classical": 0, "techno": 0, "country": 0, "pop": 0},
              ["Em C D Em", "Am F G Am"], 160),
    "country": ({"country": 1, "classical": 0, "techno": 0, "metal": 0}, ["G C D G", "D G A D"], 112),
    "techno": ({"techno": 1, "electronic": 1, "classical": 0, "country": 0, "metal": 0, "rock": 0},
               ["Am Am F G", "Dm Dm Bb C"], 136),
    "dance": ({"dance": 1, "electronic": 1, "classical": 0, "country": 0, "metal": 0},
              ["Am F C G", "Fm Db Ab Eb"], 128),
    "pop": ({"pop": 1, "classical": 0, "metal": 0, "techno": 0}, ["C G Am F", "F C Dm Bb"], 116),
    "other": ({"classical": 0, "metal": 0, "techno": 0, "rock": 0, "country": 0},
              ["C Am Dm G7", "F Dm Gm C7"], 120),
}
GROOVE_S = 80


def _h(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)


def _pick(seq, key):
    return seq[_h(key) % len(seq)]


def _deb_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def _level_labels(rms_db, level):
    if level == "loud" and rms_db >= LOUD_MIN_DB:
        return {"loud": 1, "quiet": 0}
    if level == "quiet" and rms_db <= QUIET_MAX_DB:
        return {"quiet": 1, "loud": 0}
    return {}


def to_level(x, key):
    """Scale float audio to the level class picked by the hash of "level:" + key (a render's score
    or name), its peak at most 0.989 of full scale. Returns (audio, level, measured RMS in dBFS)."""
    import numpy as np
    level = _pick(["loud", "mid", "quiet"], "level:" + key)
    target = {"loud": LOUD_DB, "quiet": QUIET_DB}.get(level, MID_DB)
    rms = math.sqrt(float(np.mean(x ** 2)))
    x = x * min(10 ** (target / 20) / max(rms, 1e-9), 0.989 / max(float(np.abs(x).max()), 1e-9))
    rms_db = round(20 * math.log10(max(math.sqrt(float(np.mean(x ** 2))), 1e-9)), 2)
    return x, level, rms_db


def _finish(raw_wav, out_wav, level):
    """Scale a fluidsynth render to its level class (peak-limited to -0.1 dBFS, never clipped), loop
    it to MIN_RENDER_S if short, trim trailing silence; 16-bit WAV. Returns (duration, rms_db)."""
    import numpy as np
    import soundfile as sf
    x, sr = sf.read(str(raw_wav), dtype="float32", always_2d=True)
    env = np.abs(x).max(axis=1)
    loud_idx = np.nonzero(env > 1e-3)[0]
    if len(loud_idx) == 0:
        raise ValueError("silent render")
    x = x[loud_idx[0]:loud_idx[-1] + 1]
    if len(x) < MIN_RENDER_S * sr:
        gap = np.zeros((sr // 2, x.shape[1]), dtype=x.dtype)
        reps = math.ceil(MIN_RENDER_S * sr / (len(x) + len(gap)))
        x = np.concatenate([np.concatenate([x, gap])] * reps)[:max(len(x), MIN_RENDER_S * sr)]
    target = {"loud": LOUD_DB, "quiet": QUIET_DB}.get(level, MID_DB)
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    g = 10 ** (target / 20) / max(rms, 1e-9)
    g = min(g, 0.989 / float(np.abs(x).max()))
    x = x * g
    rms_db = 20 * math.log10(max(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 1e-9))
    tmp = out_wav.with_suffix(".tmp.wav")
    sf.write(str(tmp), x, sr, subtype="PCM_16")
    tmp.rename(out_wav)
    return len(x) / sr, round(rms_db, 2)


def _fluidsynth(b, mid, wav):
    r = b.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", "44100", "-F", str(wav), b.SOUNDFONT,
               str(mid)], timeout=b.RENDER_TIMEOUT, check=False, capture_output=True,
              preexec_fn=b.limit_output_size)
    return r.returncode == 0 and wav.exists()


def _prepare_score_midi(b, src_mid, dst_mid, program, bpm):
    """One tempo, one GM program on every channel, no percussion channel, cut at MAX_SCORE_S,
    all-off tail."""
    import mido
    mid = mido.MidiFile(str(src_mid))
    tpb = mid.ticks_per_beat
    limit = int(MAX_SCORE_S * bpm / 60 * tpb)
    for ti, tr in enumerate(mid.tracks):
        t = 0
        kept = []
        carry = 0
        for m in tr:
            t += m.time
            if m.is_meta and m.type == "set_tempo" or (not m.is_meta and m.type == "program_change"):
                carry += m.time
                continue
            if t > limit:
                # everything after the cut goes, meta events too: the all-off tail then lands right
                # at the cut, instead of after minutes of notes held by their dropped note-offs
                break
            m = m.copy(time=m.time + carry)
            carry = 0
            if not m.is_meta and hasattr(m, "channel") and m.channel == 9:
                m = m.copy(channel=15)  # channel 10 would play drum sounds
            kept.append(m)
        tr[:] = [m for m in kept if not (m.is_meta and m.type == "end_of_track")]
        tr.append(mido.MetaMessage("end_of_track", time=0))
    head = [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)]
    head += [mido.Message("program_change", channel=ch, program=program, time=0)
             for ch in range(16) if ch != 9]
    mid.tracks[0][0:0] = head
    b.append_all_off(mid).save(str(dst_mid))


def _onset_rate(mid_path):
    """Distinct note onsets per second over the prepared (single-tempo, cut) MIDI."""
    import mido
    onsets = set()
    t = 0.0
    for m in mido.MidiFile(str(mid_path)):
        t += m.time
        if m.type == "note_on" and m.velocity > 0:
            onsets.add(round(t, 2))
    return len(onsets) / max(t, 1e-3)


def _with_pace(src, mid_path, stratum):
    """The source with its fast/slow hard labels set from the onset rate (derived, not cached)."""
    hard = {k: v for k, v in src["hard"].items() if k not in ("fast", "slow")}
    rate = _onset_rate(mid_path)
    if rate <= SLOW_ONSETS:
        hard.update({"slow": 1, "fast": 0})
    elif rate >= FAST_ONSETS:
        hard.update({"fast": 1, "slow": 0})
    return dict(src, hard=hard, stratum=stratum, note=f"{src['note']}, {rate:.1f} onsets/s")


def score_choice():
    """composer -> the music21 corpus paths (relative to the corpus) these renders play (also
    excluded from the sung renders, so one score never sits on two sides of the split)."""
    import music21
    from music21 import corpus
    root = Path(music21.__file__).parent / "corpus"
    out = {}
    for composer, (n, _) in SCORES.items():
        paths = sorted(str(p) for p in corpus.getComposer(composer))
        rels = [str(Path(p).relative_to(root)) if Path(p).is_relative_to(root) else p for p in paths]
        out[composer] = sorted(sorted(rels, key=lambda r: (_h("pick:" + r), r))[:n])
    return out


def _score_sources(b, cdir):
    import music21
    from music21 import corpus, stream
    out_dir = cdir / "rendered" / "music21"
    out_dir.mkdir(parents=True, exist_ok=True)
    version = music21.__version__
    sources = []
    fails = 0
    choice = score_choice()
    for composer, (n, classical) in SCORES.items():
        for rel in choice[composer]:
            name = b.safe_name(rel)
            meta = out_dir / (name + ".json")
            wav = out_dir / (name + ".wav")
            inst = _pick(sorted(INSTRUMENTS), "inst:" + rel)
            stratum = f"music21-corpus:{inst}"
            if meta.exists() and wav.exists():
                sources.append(_with_pace(json.loads(meta.read_text()), out_dir / (name + ".mid"),
                                          stratum))
                continue
            failed = out_dir / (name + ".failed")
            if failed.exists():  # known unusable (delete the marker to retry)
                fails += 1
                continue
            tempo = _pick(["slow", "mid", "fast"], "tempo:" + rel)
            level = _pick(["loud", "mid", "quiet"], "level:" + rel)
            program, ones, unknown = INSTRUMENTS[inst]
            bpm = {"slow": SLOW_BPM, "mid": MID_BPM, "fast": FAST_BPM}[tempo]
            try:
                s = corpus.parse(rel)
                if isinstance(s, stream.Opus):
                    s = s.scores[0]
                raw_mid = out_dir / (name + ".raw.mid")
                s.write("midi", fp=str(raw_mid))
                mid = out_dir / (name + ".mid")
                _prepare_score_midi(b, raw_mid, mid, program, bpm)
                raw = out_dir / (name + ".raw.wav")
                if not _fluidsynth(b, mid, raw):
                    raise RuntimeError("fluidsynth failed or timed out")
                dur, rms_db = _finish(raw, wav, level)
                raw.unlink()
            except Exception as e:  # noqa: BLE001 - one unusable score is skipped and counted
                b.log(f"[renders] {rel}: skipped ({type(e).__name__}: {e})")
                failed.write_text(f"{type(e).__name__}: {e}\n")
                fails += 1
                continue
            hard = {t: 0 for t in INSTRUMENT_TAGS if t not in unknown}
            hard.update({t: 1 for t in ones})
            if inst == "choir":
                hard.update({t: 0 for t in NO_VOCAL_TAGS})
            else:
                hard.update({t: 0 for t in VOCAL_TAGS})
                hard.update({t: 1 for t in NO_VOCAL_TAGS})
            hard.update({"beat": 0, "beats": 0, "techno": 0, "rock": 0, "metal": 0, "dance": 0})
            if classical and inst not in ("synth", "sitar"):
                hard.update({"classical": 1, "country": 0, "pop": 0, "electronic": 0})
            hard.update(_level_labels(rms_db, level))
            src = {"package": "music21-corpus", "version": version, "file": rel, "audio": str(wav),
                   "group": f"music21-corpus:{rel}",
                   "licence": "public-domain work; music21 corpus encoding (BSD-3-Clause); "
                              "FluidR3_GM soundfont (MIT)",
                   "duration": round(dur, 2),
                   "note": f"music21 {version} score, GM {program} ({inst}), {bpm} bpm, {level} "
                           f"({rms_db} dBFS RMS), fluidsynth + FluidR3_GM",
                   "hard": hard}
            meta.write_text(json.dumps(src, indent=0))
            sources.append(_with_pace(src, mid, stratum))
    return sources, fails


def _groove_sources(b, cdir):
    out_dir = cdir / "rendered" / "mma"
    out_dir.mkdir(parents=True, exist_ok=True)
    version = _deb_version("mma")
    sources = []
    fails = 0
    for style, (cat, grooves) in GROOVES.items():
        tags, progressions, bpm = CATEGORIES[cat]
        stratum = f"mma-grooves:{cat}"
        for v, groove in enumerate(grooves):
            groove = groove or re.sub(r"^(.)", lambda m: m.group(1).upper(), Path(style).name)
            key = f"{style}:{groove}"
            name = b.safe_name(key.replace("/", "_"))
            meta = out_dir / (name + ".json")
            wav = out_dir / (name + ".wav")
            if meta.exists() and wav.exists():
                sources.append(dict(json.loads(meta.read_text()), stratum=stratum))
                continue
            chords = progressions[v % len(progressions)]
            level = _pick(["loud", "mid", "quiet"], "level:" + key)
            bars = math.ceil(GROOVE_S * bpm / 240)
            prog = chords.split()
            # RndSeed: MMA randomises timing/velocity from the clock otherwise (non-reproducible)
            text = (f"RndSeed {_h('seed:' + key) % 100000}\nUse {style}\nTempo {bpm}\n"
                    f"Groove {groove}\n" + "".join(f"{prog[i % len(prog)]}\n" for i in range(bars)))
            try:
                src_mma = out_dir / (name + ".mma")
                src_mma.write_text(text)
                raw_mid = out_dir / (name + ".raw.mid")
                r = b.run(["mma", "-f", str(raw_mid), str(src_mma)], timeout=120, check=False,
                          capture_output=True, text=True)
                if r.returncode != 0 or not raw_mid.exists() or "Error" in r.stdout + r.stderr:
                    raise RuntimeError(f"mma failed: {(r.stdout + r.stderr).strip()[-300:]}")
                import mido
                mid = mido.MidiFile(str(raw_mid))
                has_drums = any(not m.is_meta and m.type == "note_on" and m.channel == 9
                                and m.velocity for tr in mid.tracks for m in tr)
                fixed = out_dir / (name + ".mid")
                b.append_all_off(mid).save(str(fixed))
                raw = out_dir / (name + ".raw.wav")
                if not _fluidsynth(b, fixed, raw):
                    raise RuntimeError("fluidsynth failed or timed out")
                dur, rms_db = _finish(raw, wav, level)
                raw.unlink()
            except Exception as e:  # noqa: BLE001 - one unusable groove is skipped and counted
                b.log(f"[renders] groove {key}: skipped ({type(e).__name__}: {e})")
                fails += 1
                continue
            hard = dict(tags)
            hard.update({t: 0 for t in VOCAL_TAGS})
            hard.update({t: 1 for t in NO_VOCAL_TAGS})
            hard.update({"harpsichord": 0, "sitar": 0, "indian": 0, "opera": 0})
            if has_drums:
                hard["drums"] = 1
            hard.update(_level_labels(rms_db, level))
            src = {"package": "mma-grooves", "version": version, "file": key, "audio": str(wav),
                   "group": f"mma-grooves:{style}",
                   "licence": "MMA groove library (GPL-2+); FluidR3_GM soundfont (MIT)",
                   "duration": round(dur, 2),
                   "note": f"MMA {version} {style} groove {groove} ({cat}), {bpm} bpm, chords {chords}, "
                           f"{level} ({rms_db} dBFS RMS), fluidsynth + FluidR3_GM",
                   "hard": hard}
            meta.write_text(json.dumps(src, indent=0))
            sources.append(dict(src, stratum=stratum))
    return sources, fails


FAMILIES = ("scores", "grooves", "sung", "arrangements", "procedural")


def render_all(cdir, b, families=FAMILIES):
    """b: the build module (run, log, safe_name, append_all_off, decode_16k, forget_clips, SOUNDFONT,
    RENDER_TIMEOUT). families: which of FAMILIES to render (or reuse)."""
    import arrange  # beside this file
    import procedural
    import sung
    out = []
    for family, kind, fn in (("scores", "music21 scores", _score_sources),
                             ("grooves", "MMA grooves", _groove_sources),
                             ("sung", "sung (Festival, Sinsy)", sung.sung_sources),
                             ("arrangements", "arrangements", arrange.arrangement_sources),
                             ("procedural", "procedural music", procedural.procedural_sources)):
        if family not in families:
            continue
        srcs, fails = fn(b, cdir)
        h = sum(s["duration"] for s in srcs) / 3600
        b.log(f"[renders] {kind}: {len(srcs)} renders, {h:.2f} h, {fails} skipped")
        out += srcs
    return out
