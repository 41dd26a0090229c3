#!/usr/bin/env python3
"""Build Scatterbrain's training corpus from the Debian and PyPI registries.

    python3 trainer/corpus/build.py            # everything: fetch, extract, render, clip, label, manifest
    python3 trainer/corpus/build.py --no-label # everything but the (slow) teacher labelling
    python3 trainer/corpus/build.py label      # only the teacher labelling of clips that lack labels
    python3 trainer/corpus/build.py manifest   # only rewrite the manifest from what exists

Idempotent: every stage skips what is already done and verified. The audio lives in
$SCATTERBRAIN_CORPUS (default ~/.cache/scatterbrain/corpus), never in the repository.
See README.md beside this file.

One file of ~1000 lines on purpose: the command's stages in the order they run (fetch, extract,
sources, clips, labels, manifest, reports), each a few functions that read top to bottom; the
render families (renders.py, sung.py, arrange.py) live beside it.
"""

import argparse
import array
import csv
import fnmatch
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scatterbrain"
VENV = CACHE / "corpus-venv"
DEFAULT_DIR = Path(os.environ.get("SCATTERBRAIN_CORPUS", CACHE / "corpus"))

PACKAGES_LOCK = HERE / "packages.lock"
REQUIREMENTS = HERE / "requirements.lock"
LABELS_CSV = HERE / "labels" / "teacher.csv"
SOURCES_TSV = HERE / "sources.tsv"
LICENCES_TSV = HERE / "licences.tsv"

SR = 16000
CLIP_S = 29
MIN_TRACK_S = 20.0  # shorter files are sound effects, jingles or speech: skipped
RENDER_TIMEOUT = 300
SILENT_RMS = 10 ** (-60 / 20)  # clips quieter than -60 dBFS RMS are dropped

# package -> how its music is found. "audio": recorded files; "module": tracker modules;
# "midi": MIDI files; "lmms": LMMS projects; "stems": each song folder holds stems mixed into one track.
PACKAGES = {
    "warzone2100-music": "audio",
    "ufoai-music": "audio",
    "wesnoth-1.16-music": "audio",
    "naev-data": "audio",
    "supertux-data": "audio",
    "widelands-data": "audio",
    "nexuiz-music": "audio",
    "singularity-music": "audio",
    "colobot-common-sounds": "audio",
    "supertuxkart-data": "audio",
    "fretsonfire-songs-muldjord": "stems",
    "fretsonfire-songs-sectoid": "stems",
    "asterisk-moh-opsound-wav": "audio",
    "heroes-sound-tracks": "module",
    "pingus-data": "module",
    "openttd-openmsx": "midi",
    "lmms-common": "lmms",
    # added for issue 11 (whitelist; licences read per file from debian/copyright)
    "planetblupi-music-ogg": "audio",
    "freedroidrpg-data": "audio",
    "megaglest-data": "audio",
    "flare-game": "audio",
    "redeclipse-data": "audio",
    "pushover-data": "audio",
    "openclonk-data": "audio",
    "hyperrogue-music": "audio",
    "asc-music": "audio",
    "freedink-data": "midi",
    "xmoto-data": "audio",
    "freeorion-data": "audio",
    "lincity-ng-data": "audio",
    "extremetuxracer-data": "audio",
    "drascula-music": "audio",
    "csmash-demosong": "audio",
    "immich-memories-music": "audio",
}

# Packages that come from PyPI rather than Debian, at these versions: fetched as wheels with
# `pip download --no-deps`, pinned by sha256 in packages.lock like the .debs, unzipped.
PYPI = {
    "immich-memories-music": "0.1.0",
}

# Whole packages held out of training, so that validation (model selection) and test measure music
# from sources the model has never heard. Chosen before any of their labels were seen: different
# composers and genres, small and large. The Frets on Fire songs (the only real singing) stay in
# test. Every other package is split by track as before, and its held-out tracks become
# "track-validation" / "track-test": figures on them are look-alike music, reported as such.
HELDOUT = {
    "planetblupi-music-ogg": "test",
    "hyperrogue-music": "test",
    "freeorion-data": "test",
    "drascula-music": "test",
    "xmoto-data": "test",
    "fretsonfire-songs-muldjord": "test",
    "fretsonfire-songs-sectoid": "test",
    "lincity-ng-data": "validation",
    "extremetuxracer-data": "validation",
    "asc-music": "validation",
    "pushover-data": "validation",
}
# Whole render families held out the same way (source-group prefixes): a style library and two
# composers' scores that training never hears, whatever instrument or groove category they use;
# and two Festival singers (a sung render's group is its voice and score; each score is sung once).
HELDOUT_FAMILIES = {
    "mma-grooves:yamaha/": "test",
    "music21-corpus:monteverdi/": "test",
    "music21-corpus:haydn/": "validation",
    # sung renders (sung.py): two singers training never hears, one of each sex
    "sung-renders:ked_diphone/": "test",
    "sung-renders:czech_dita/": "validation",
}


def heldout_split(package, group):
    """"test"/"validation" for a clip of a held-out package or render family, else None."""
    for prefix, split in HELDOUT_FAMILIES.items():
        if group.startswith(prefix):
            return split
    return HELDOUT.get(package)
# path fragments that hold sound effects, voices or ambience rather than music
EXCLUDE_DIRS = ("/sounds/", "/sound/", "/sfx/", "/speech/", "/samples/", "/voice/")
# ...unless the path names a music folder: Nexuiz keeps its soundtrack in music.pk3:sound/cdtracks/.
MUSIC_DIRS = ("/music/", "/musics/", "/cdtracks/")
# ...or a music file kept among sound effects (FreeOrion's one soundtrack piece)
MUSIC_FILES = ("*/freeorion/default/data/sound/artificial_intelligence_v3.ogg",)

AUDIO_EXT = (".ogg", ".mp3", ".wav", ".flac", ".opus")
MODULE_EXT = (".mod", ".xm", ".s3m", ".it", ".mptm", ".669", ".stm", ".med", ".umx")
MIDI_EXT = (".mid", ".midi")
ARCHIVE_EXT = (".zip", ".pk3")

BUILD_TOOLS = ["ffmpeg", "sox", "fluidsynth", "fluid-soundfont-gm", "openmpt123", "mma", "unzip", "lmms",
               # Festival's singing mode and its voices, for the sung renders (sung.py)
               "festival", "festvox-kallpc16k", "festvox-kdlpc16k", "festvox-italp16k",
               "festvox-itapc16k", "festvox-czech-dita", "festival-czech"]
SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

# The 50 MagnaTagATune tags, in musicnn's (and Scatterbrain's) order.
TAGS = ['guitar', 'classical', 'slow', 'techno', 'strings', 'drums', 'electronic', 'rock', 'fast',
        'piano', 'ambient', 'beat', 'violin', 'vocal', 'synth', 'female', 'indian', 'opera', 'male',
        'singing', 'vocals', 'no vocals', 'harpsichord', 'loud', 'quiet', 'flute', 'woman',
        'male vocal', 'no vocal', 'pop', 'soft', 'sitar', 'solo', 'man', 'classic', 'choir', 'voice',
        'new age', 'dance', 'male voice', 'female vocal', 'beats', 'harp', 'cello', 'no voice',
        'weird', 'country', 'metal', 'female voice', 'choral']


def log(*a):
    print(*a, flush=True)


def run(cmd, timeout=None, check=True, **kw):
    if timeout is not None:
        cmd = ["timeout", "-k", "10", str(timeout)] + list(cmd)
    return subprocess.run(cmd, check=check, **kw)


MAX_RENDER_BYTES = 300 << 20  # ~30 min of 44.1 kHz stereo: a renderer writing more is stuck


def limit_output_size():
    """preexec_fn for renderers: a file-size limit, so a synthesiser that never stops (held notes,
    a MIDI that never ends) dies of SIGXFSZ instead of filling the disk before `timeout` fires."""
    import resource
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_RENDER_BYTES, MAX_RENDER_BYTES))


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def stable_hash(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)


def assign_splits(groups_by_package):
    """Deterministic train/validation/test split of source groups (a track, a song folder, a score,
    a groove), never of clips, so no track is on two sides.

    Within each package (for renders: each instrument or groove category) the groups are ordered by a hash of their name and the first ~10 % go to test,
    the next ~10 % to validation, the rest to train; a package with 3 or more groups gets at least one
    of each, so small packages (4 metal songs with vocals) still reach validation and test.
    """
    split = {}
    for pkg, groups in sorted(groups_by_package.items()):
        order = sorted(set(groups), key=lambda g: (stable_hash(g), g))
        n = len(order)
        k = max(1, round(0.1 * n)) if n >= 3 else 0
        for i, g in enumerate(order):
            split[g] = "test" if i < k else ("validation" if i < 2 * k else "train")
    return split


def safe_name(s):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("_")[:180]


# ---------------------------------------------------------------- environment

def ensure_venv(script=None):
    """Create the Python venv (pinned) and re-exec `script` (default: this one) inside it."""
    py = VENV / "bin" / "python"
    stamp = VENV / ".scatterbrain-req-sha256"
    want = sha256_file(REQUIREMENTS)
    if not (py.exists() and stamp.exists() and stamp.read_text().strip() == want):
        log(f"[venv] creating {VENV}")
        if subprocess.run([sys.executable, "-c", "import ensurepip"], capture_output=True).returncode:
            # Debian's python3 ships venv without ensurepip unless python3-venv is installed
            apt_update_once()
            run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "python3-venv"],
                env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        run([sys.executable, "-m", "venv", str(VENV)])
        reqs = [l.strip() for l in REQUIREMENTS.read_text().splitlines()
                if l.strip() and not l.startswith("#")]
        others = [r for r in reqs if not r.startswith(("musicnn==", "pysinsy=="))]
        musicnn = [r for r in reqs if r.startswith("musicnn==")]
        sinsy = [r for r in reqs if r.startswith("pysinsy==")]
        run([str(py), "-m", "pip", "install", "-q"] + others)
        # musicnn 0.1.0 pins an old tensorflow; its code runs on tensorflow-cpu 2.15.1.
        run([str(py), "-m", "pip", "install", "-q", "--no-deps"] + musicnn)
        # pysinsy (the sung renders' female singer, sung.py) is built from its sdist (C++, ~5 CPU-min)
        # against the venv's numpy; the sdist carries the generated sinsy.cpp, so it needs no Cython
        # (which --no-deps keeps out) and no build isolation (numpy at build time).
        run([str(py), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps"] + sinsy)
        stamp.write_text(want)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(py), [str(py), str(Path(script or __file__).resolve())] + sys.argv[1:])


def apt_lists_present():
    lists = Path("/var/lib/apt/lists")
    return any(lists.glob("*_Packages")) or any(lists.glob("*_Packages.*"))


_apt_updated = False


def apt_update_once(force=False):
    global _apt_updated
    if _apt_updated or (apt_lists_present() and not force):
        return
    log("[apt] apt-get update")
    # wait for another apt client (e.g. tests/run's setup) rather than fail on its lock
    run(["apt-get", "-o", "DPkg::Lock::Timeout=900", "update", "-q"])
    _apt_updated = True


def ensure_tools():
    missing = []
    for pkg in BUILD_TOOLS:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(pkg)
    if missing:
        apt_update_once()
        log(f"[apt] installing build tools: {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "-o", "DPkg::Lock::Timeout=900", "install", "-y", "-q", "--no-install-recommends"]
            + missing, env=env)


# ---------------------------------------------------------------- fetch + extract

def read_lock():
    lock = {}
    if PACKAGES_LOCK.exists():
        for row in csv.DictReader(PACKAGES_LOCK.open(), delimiter="\t"):
            lock[row["package"]] = row
    return lock


def write_lock(lock):
    with PACKAGES_LOCK.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["package", "version", "filename", "size", "sha256"])
        for p in PACKAGES:
            if p in lock:
                r = lock[p]
                w.writerow([p, r["version"], r["filename"], r["size"], r["sha256"]])


def candidate_version(pkg):
    r = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True)
    m = re.search(r"Candidate:\s*(\S+)", r.stdout)
    if not m or m.group(1) == "(none)":
        return None
    return m.group(1)


def fetch(cdir, update_pins=False):
    debs = cdir / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    lock = read_lock()
    absent = []
    for pkg in PACKAGES:
        pin = lock.get(pkg)
        if pin and not update_pins:
            f = debs / pin["filename"]
            if f.exists() and sha256_file(f) == pin["sha256"]:
                continue
            if f.exists():
                f.unlink()
            version = pin["version"]
        elif pkg in PYPI:
            version = PYPI[pkg]
        else:
            apt_update_once()
            version = candidate_version(pkg)
            if version is None:
                apt_update_once(force=True)
                version = candidate_version(pkg)
            if version is None:
                log(f"[fetch] {pkg}: not in this Debian release, skipped")
                absent.append(pkg)
                continue
        log(f"[fetch] {pkg}={version}")
        f = fetch_wheel(debs, pkg, version) if pkg in PYPI else fetch_deb(debs, pkg, version)
        digest = sha256_file(f)
        if pin and not update_pins:
            if digest != pin["sha256"]:
                sys.exit(f"FATAL: {f.name}: sha256 {digest} != pinned {pin['sha256']}")
        else:
            lock[pkg] = {"version": version, "filename": f.name, "size": str(f.stat().st_size),
                         "sha256": digest}
            write_lock(lock)
    return lock, absent


def fetch_deb(debs, pkg, version):
    """`apt-get download` one .deb (never installed), retrying once after a fresh `apt-get update`."""
    r = run(["apt-get", "download", "-q", f"{pkg}={version}"], cwd=debs, check=False,
            capture_output=True, text=True)
    if r.returncode != 0:
        apt_update_once(force=True)
        r = run(["apt-get", "download", "-q", f"{pkg}={version}"], cwd=debs, check=False,
                capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FATAL: apt-get download {pkg}={version} failed "
                 f"(pinned version gone from the archive? see README):\n{r.stderr}")
    ver_file = version.replace(":", "%3a")
    cands = sorted(debs.glob(f"{pkg}_{ver_file}_*.deb"))
    if not cands:
        sys.exit(f"FATAL: downloaded {pkg} but cannot find its .deb")
    return cands[0]


def fetch_wheel(debs, pkg, version):
    """`pip download` one wheel, without dependencies (a data package: its files are the point)."""
    r = run([str(VENV / "bin" / "python"), "-m", "pip", "download", "-q", "--no-deps",
             "--only-binary", ":all:", f"{pkg}=={version}", "-d", str(debs)],
            check=False, capture_output=True, text=True)
    wheels = sorted(debs.glob(f"{pkg.replace('-', '_')}-{version}-*.whl"))
    if r.returncode != 0 or not wheels:
        sys.exit(f"FATAL: pip download {pkg}=={version} failed:\n{r.stderr}")
    return wheels[0]


def extract(cdir, lock):
    """dpkg -x each pinned .deb (never installed; a wheel is unzipped), then unpack zip/pk3 archives inside it."""
    for pkg, pin in lock.items():
        root = cdir / "pkgs" / pkg
        stamp = root / ".extracted"
        if stamp.exists() and stamp.read_text().strip() == pin["sha256"]:
            continue
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        log(f"[extract] {pkg}")
        if pin["filename"].endswith(".whl"):
            run(["unzip", "-q", "-o", str(cdir / "debs" / pin["filename"]), "-d", str(root)])
        else:
            run(["dpkg", "-x", str(cdir / "debs" / pin["filename"]), str(root)])
        for arc in sorted(root.rglob("*")):
            if arc.is_file() and arc.suffix.lower() in ARCHIVE_EXT:
                out = arc.with_name(arc.name + ".d")
                out.mkdir(exist_ok=True)
                log(f"[extract]   unzip {arc.relative_to(root)}")
                run(["unzip", "-q", "-o", str(arc), "-d", str(out)], check=False)
        stamp.write_text(pin["sha256"])


# ---------------------------------------------------------------- licences (debian/copyright)

def parse_copyright(text):
    """DEP-5 paragraphs -> [(patterns, licence)], plus a fallback licence for non-DEP-5 files."""
    paras = re.split(r"\n\s*\n", text)
    rules = []
    header_lic = None
    for p in paras:
        fields = {}
        key = None
        for line in p.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, v = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = v.strip()
            elif key and line.strip():
                fields[key] += " " + line.strip() if key == "files" else ""
        if "files" in fields and "license" in fields:
            rules.append((fields["files"].split(), fields["license"]))
        elif "license" in fields and header_lic is None and "files" not in fields and "format" in fields:
            header_lic = fields["license"]
    if not rules:
        m = re.findall(r"(GPL[-\w.+ ]*|LGPL[-\w.+]*|CC[- ]BY[-\w. ]*|CC0[-\w.]*|public domain|"
                       r"Artistic[-\w.]*|BSD[-\w]*|MIT|Free Art License[\w. ]*)", text, re.I)
        header_lic = "; ".join(dict.fromkeys(x.strip() for x in m)) or "see debian/copyright"
    return rules, header_lic


def licence_for(path_in_pkg, rules, fallback):
    parts = path_in_pkg.replace(".pk3.d/", ".pk3/").replace(".zip.d/", ".zip/").split("/")
    suffixes = ["/".join(parts[i:]) for i in range(len(parts))]
    found = None
    for pats, lic in rules:
        for pat in pats:
            if pat == "*" or any(fnmatch.fnmatchcase(s, pat) for s in suffixes):
                found = lic
    return found or fallback or "see debian/copyright"


# Packages whose debian/copyright is not machine-readable (DEP-5): licence of their music, read by hand
# from that file (pinned versions above). A pattern match on free text is not trusted for these.
FREE_TEXT_LICENCES = {
    "fretsonfire-songs-muldjord": "CC-BY-SA-3.0",
    "fretsonfire-songs-sectoid": "Expat (MIT)",
    "nexuiz-music": "GPL-2+",
    "singularity-music": "CC-BY-SA-3.0",
    "wesnoth-1.16-music": "GPL-2+",
    "pingus-data": "GPL-2+",
    "asterisk-moh-opsound-wav": "CC-BY-SA-3.0",
    # the MIDIs used are FreeDink's free replacements: GPL-3+, public domain or
    # GPL-3+ | Art Libre | CC-BY-SA per file (doc/README-REPLACEMENTS.txt)
    "freedink-data": "GPL-3+ / public domain / CC-BY-SA (README-REPLACEMENTS.txt)",
    # Music.ocg/authors.txt: K-Pone's pieces, CC-BY-3.0 unless stated otherwise
    "openclonk-data": "CC-BY-3.0",
    # PyPI wheel; dist-info/licenses/LICENSE-MUSIC: generated locally with ACE-Step 1.5, nothing
    # sampled from or derived from third-party recordings, released under the project's MIT licence
    "immich-memories-music": "MIT",
}


def copyright_of(root, pkg):
    if pkg in FREE_TEXT_LICENCES:
        return [], FREE_TEXT_LICENCES[pkg]
    f = root / "usr" / "share" / "doc" / pkg / "copyright"
    if f.is_symlink() or not f.exists():
        # some data packages point their doc dir at the engine package's: record that
        return [], f"see debian/copyright of the package {pkg} points to ({f})"
    return parse_copyright(f.read_text(errors="replace"))


# ---------------------------------------------------------------- sources

def probe_duration(p):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                        "default=nw=1:nk=1", str(p)], capture_output=True, text=True)
    try:
        return float(r.stdout.strip())
    except ValueError:
        return 0.0


class Durations:
    """ffprobe durations of one family's files, cached in CORPUS/durations/NAME.json under the
    caller's keys, so a rebuild probes only new files (one ffprobe per file was most of it)."""

    def __init__(self, cdir, name):
        self.path = cdir / "durations" / f"{name}.json"
        self.cached = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, key, p):
        if key not in self.cached:
            self.cached[key] = probe_duration(p)
        return self.cached[key]

    def save(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.cached, indent=0, sort_keys=True))


def is_excluded(rel):
    low = "/" + rel.lower()
    if any(d in low for d in MUSIC_DIRS) or any(fnmatch.fnmatch(low, p) for p in MUSIC_FILES):
        return False
    return any(d in low for d in EXCLUDE_DIRS)


def append_all_off(mid, tail_s=1.0):
    """Append note-offs, CC 123 (all notes off) and CC 120 (all sound off) on every channel."""
    import mido
    tpb = mid.ticks_per_beat
    end = max((sum(m.time for m in t) for t in mid.tracks), default=0)
    tr = mido.MidiTrack()
    first = True
    for ch in range(16):
        for cc in (64, 123, 120):
            tr.append(mido.Message("control_change", channel=ch, control=cc, value=0,
                                   time=end + int(tail_s * 2 * tpb) if first else 0))
            first = False
    tr.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(tr)
    return mid


def render_sources(cdir, lock):
    """Find every music file in the packages; render modules/MIDI/LMMS to WAV. Returns source list."""
    import mido
    sources = []
    rend = cdir / "rendered"
    for pkg, kind in PACKAGES.items():
        if pkg not in lock:
            continue
        version = lock[pkg]["version"]
        root = cdir / "pkgs" / pkg
        rules, fallback = copyright_of(root, pkg)
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        durations = Durations(cdir, pkg)

        def dur(p):
            # A package file by its path (the package's version fixes it); a
            # render by its name, size and time, so a re-render is probed again.
            if p.is_relative_to(root):
                k = str(p.relative_to(root))
            else:
                st = p.stat()
                k = f"rendered/{p.name}:{st.st_size}:{st.st_mtime_ns}"
            return durations.get(k, p)

        def add(rel, audio, group, licence, note=""):
            d = dur(audio)
            if d < MIN_TRACK_S:
                return
            sources.append({"package": pkg, "version": version, "file": rel, "audio": str(audio),
                            "group": f"{pkg}:{group}", "licence": licence, "duration": round(d, 2),
                            "note": note})

        if kind == "audio":
            for p in files:
                rel = str(p.relative_to(root))
                if p.suffix.lower() in AUDIO_EXT and not is_excluded(rel):
                    add(rel, p, rel, licence_for(rel, rules, fallback))
        elif kind == "stems":
            songdirs = sorted({p.parent for p in files if p.suffix.lower() == ".ogg"})
            for sd in songdirs:
                stems = sorted(sd.glob("*.ogg"))
                rel = str(sd.relative_to(root))
                out = rend / pkg / (safe_name(rel) + ".wav")
                if not out.exists():
                    out.parent.mkdir(parents=True, exist_ok=True)
                    tmp = out.with_suffix(".tmp.wav")
                    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
                    for s in stems:
                        cmd += ["-i", str(s)]
                    cmd += ["-filter_complex", f"amix=inputs={len(stems)}:duration=longest:normalize=0",
                            "-ac", "1", "-ar", str(SR), str(tmp)]
                    run(cmd, timeout=RENDER_TIMEOUT)
                    tmp.rename(out)
                sources.append({"package": pkg, "version": version, "file": rel + "/",
                                "audio": str(out), "group": f"{pkg}:{rel}",
                                "licence": licence_for(rel + "/song.ogg", rules, fallback),
                                "duration": round(dur(out), 2),
                                "note": "stems mixed: " + "+".join(s.name for s in stems)})
        elif kind == "module":
            for p in files:
                rel = str(p.relative_to(root))
                if p.suffix.lower() not in MODULE_EXT or is_excluded(rel):
                    continue
                out = rend / pkg / (safe_name(rel) + ".wav")
                if not out.exists():
                    out.parent.mkdir(parents=True, exist_ok=True)
                    tmp = out.with_suffix(".tmp.wav")
                    # --dither 0: openmpt123's default dither is random, so renders (and the
                    # clip checksums that key the teacher labels) would differ on every build
                    r = run(["openmpt123", "--quiet", "--force", "--render", "--no-float",
                             "--dither", "0", "--samplerate", "44100", "--end-time", "600",
                             "--output-type", "wav", str(p)],
                            timeout=RENDER_TIMEOUT, check=False, capture_output=True,
                            preexec_fn=limit_output_size)
                    produced = Path(str(p) + ".wav")
                    if r.returncode != 0 or not produced.exists():
                        log(f"[render] openmpt123 failed on {rel}")
                        continue
                    produced.rename(tmp)
                    tmp.rename(out)
                add(rel, out, rel, licence_for(rel, rules, fallback), "rendered with openmpt123")
        elif kind == "midi":
            for p in files:
                rel = str(p.relative_to(root))
                if p.suffix.lower() not in MIDI_EXT:
                    continue
                out = rend / pkg / (safe_name(rel) + ".wav")
                if not out.exists():
                    out.parent.mkdir(parents=True, exist_ok=True)
                    fixed = out.with_suffix(".mid")
                    try:
                        append_all_off(mido.MidiFile(str(p))).save(str(fixed))
                    except Exception as e:  # noqa: BLE001 - a broken MIDI file is skipped, noted
                        log(f"[render] unreadable MIDI {rel}: {e}")
                        continue
                    tmp = out.with_suffix(".tmp.wav")
                    r = run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", "44100", "-F", str(tmp),
                             SOUNDFONT, str(fixed)], timeout=RENDER_TIMEOUT, check=False,
                            capture_output=True, preexec_fn=limit_output_size)
                    if r.returncode != 0 or not tmp.exists():
                        log(f"[render] fluidsynth failed on {rel}")
                        continue
                    tmp.rename(out)
                add(rel, out, rel, licence_for(rel, rules, fallback),
                    "rendered with fluidsynth + FluidR3_GM")
        elif kind == "lmms":
            for p in files:
                rel = str(p.relative_to(root))
                if p.suffix.lower() not in (".mmp", ".mmpz") or "/projects/" not in rel:
                    continue
                out = rend / pkg / (safe_name(rel) + ".wav")
                failed = out.with_suffix(".failed")
                if failed.exists():
                    continue
                if not out.exists():
                    out.parent.mkdir(parents=True, exist_ok=True)
                    tmp = out.with_suffix(".tmp.wav")
                    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
                    r = run(["nice", "-n", "10", "lmms", "--allowroot", "render", str(p), "-f", "wav",
                             "-o", str(tmp)], timeout=RENDER_TIMEOUT, check=False,
                            capture_output=True, env=env, preexec_fn=limit_output_size)
                    if r.returncode != 0 or not tmp.exists() or probe_duration(tmp) < 1:
                        log(f"[render] lmms failed on {rel} (rc {r.returncode}), skipped")
                        failed.write_text(f"rc {r.returncode}\n")
                        continue
                    tmp.rename(out)
                add(rel, out, rel, licence_for(rel, rules, fallback), "rendered with lmms 1.2")
        durations.save()
        n = sum(1 for s in sources if s["package"] == pkg)
        h = sum(s["duration"] for s in sources if s["package"] == pkg) / 3600
        log(f"[sources] {pkg}: {n} tracks, {h:.2f} h")
    return sources


# ---------------------------------------------------------------- clips

def decode_16k(path):
    """Any audio file -> 16 kHz mono int16 PCM bytes (ffmpeg, its default resampler)."""
    r = run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1",
             "-ar", str(SR), "-f", "s16le", "-acodec", "pcm_s16le", "-"],
            timeout=RENDER_TIMEOUT, capture_output=True)
    return r.stdout


def write_wav(path, pcm):
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm)
    tmp.rename(path)


def clip_offsets(n_samples):
    """29 s clips end to end; a track of 20-29 s gives one clip, zero-padded to 29 s."""
    clip = CLIP_S * SR
    if n_samples < clip:
        return [0] if n_samples >= MIN_TRACK_S * SR else []
    return list(range(0, n_samples - clip + 1, clip))


def clip_index(cdir, package, version, file):
    """Where make_clips caches the cut of one source (its clips' offsets and PCM hashes)."""
    sid = f"{package}_{version}:{file}"
    return cdir / "clip-index" / (hashlib.sha256(sid.encode()).hexdigest()[:24] + ".json")


def forget_clips(cdir, package, version, file):
    """A render family made a source anew: drop make_clips' stale cut of that name."""
    clip_index(cdir, package, version, file).unlink(missing_ok=True)


def make_clips(cdir, sources, split=None):
    """Cut every source into 29 s clips at 16 kHz mono. Returns the clip list, split by track, or
    all in `split` (the variants of training clips, variants.py)."""
    clips = []
    (cdir / "clip-index").mkdir(parents=True, exist_ok=True)
    for s in sources:
        idx = clip_index(cdir, s["package"], s["version"], s["file"])
        if idx.exists():
            entries = json.loads(idx.read_text())
        else:
            pcm = decode_16k(s["audio"])
            n = len(pcm) // 2
            entries = []
            outdir = cdir / "clips" / s["package"] / safe_name(s["file"])
            outdir.mkdir(parents=True, exist_ok=True)
            for off in clip_offsets(n):
                seg = pcm[off * 2:(off + CLIP_S * SR) * 2]
                seg = seg + b"\0" * (CLIP_S * SR * 2 - len(seg))
                x = array.array("h", seg)
                rms = math.sqrt(sum(v * v for v in x[::16]) / (len(x) // 16)) / 32768.0
                if rms < SILENT_RMS:
                    continue  # a silent stretch (end padding of a render) teaches nothing
                out = outdir / f"{off // SR:05d}.wav"
                write_wav(out, seg)
                entries.append({"path": str(out.relative_to(cdir)), "offset": off / SR,
                                "pcm_sha256": hashlib.sha256(seg).hexdigest(),
                                "rms": round(rms, 5)})
            idx.write_text(json.dumps(entries))
        for e in entries:
            clips.append(dict(s, **e))
    if split:
        return [dict(c, split=split) for c in clips]
    return dedupe_and_split(clips)


def dedupe_and_split(clips):
    """Drop bit-identical clips (the same recording shipped twice), joining their source groups so
    copies can never sit on two sides of the split; then split the groups."""
    parent = {}

    def find(g):
        while parent.get(g, g) != g:
            g = parent[g]
        return g

    first = {}
    kept = []
    for c in clips:
        h = c["pcm_sha256"]
        if h in first:
            a, b = find(first[h]["group"]), find(c["group"])
            if a != b:
                parent[max(a, b)] = min(a, b)
            continue
        first[h] = c
        kept.append(c)
    dropped = len(clips) - len(kept)
    if dropped:
        log(f"[clips] {dropped} duplicate clips dropped")
    by_pkg = {}
    # a recording shipped both in a held-out package and in another one is held out everywhere
    held = {}
    for c in clips:
        whole = heldout_split(c["package"], c["group"])
        if whole:
            held[find(c["group"])] = whole
    for c in kept:
        if find(c["group"]) in held:
            continue
        # renders are split within their recipe's instrument / genre, so every one reaches test
        by_pkg.setdefault(c.get("stratum") or c["package"], []).append(find(c["group"]))
    split = assign_splits(by_pkg)
    for c in kept:
        whole = held.get(find(c["group"]))
        c["split"] = whole or {"train": "train", "validation": "track-validation",
                               "test": "track-test"}[split[find(c["group"])]]
    return kept


# ---------------------------------------------------------------- labels

LABEL_FIELDS = ["package", "version", "file", "offset", "pcm_sha256"] + TAGS


def label_key(c):
    return (c["package"], c["version"], c["file"], f"{float(c['offset']):.3f}", c["pcm_sha256"])


def read_labels():
    labels = {}
    if LABELS_CSV.exists():
        with LABELS_CSV.open(newline="") as f:
            for row in csv.DictReader(f):
                try:
                    labels[label_key(row)] = [float(row[t]) for t in TAGS]
                except (TypeError, ValueError):
                    continue  # a row cut short by a kill: that clip is simply labelled again
    return labels


def interleave(clips):
    """Round-robin over packages, then over tracks, so a partial labelling covers everything."""
    by_pkg = {}
    for c in clips:
        by_pkg.setdefault(c["package"], []).append(c)
    for pkg, cs in by_pkg.items():
        by_src = {}
        for c in cs:
            by_src.setdefault(c["file"], []).append(c)
        order = []
        lists = list(by_src.values())
        i = 0
        while any(lists):
            for l in lists:
                if len(l) > i:
                    order.append(l[i])
            i += 1
            if all(len(l) <= i for l in lists):
                break
        by_pkg[pkg] = order
    out = []
    i = 0
    lists = list(by_pkg.values())
    while any(len(l) > i for l in lists):
        for l in lists:
            if len(l) > i:
                out.append(l[i])
        i += 1
    return out


def label(cdir, clips, commit_every_s=0, commit_until=None):
    """Teacher-label every clip that lacks a label (musicnn MTT_musicnn); appends to labels CSV."""
    import time
    import teacher  # noqa: E402  (lives beside this file, needs the venv)
    have = read_labels()
    # held-out packages first: the evaluation of a model on unseen music needs only them
    todo = [c for c in interleave(clips) if label_key(c) not in have]
    todo.sort(key=lambda c: heldout_split(c["package"], c["group"]) is None)
    log(f"[label] {len(have)} labels present, {len(todo)} clips to label")
    if not todo:
        return
    t = teacher.Teacher()
    LABELS_CSV.parent.mkdir(parents=True, exist_ok=True)
    new = not LABELS_CSV.exists()
    if not new:
        drop_partial_row(LABELS_CSV)
    f = LABELS_CSV.open("a", newline="")
    w = csv.writer(f, lineterminator="\n")
    if new:
        w.writerow(LABEL_FIELDS)
    t0 = time.time()
    c0 = time.process_time()
    last_commit = time.time()
    for i, c in enumerate(todo):
        scores = t.tag_wav(cdir / c["path"])
        w.writerow(list(label_key(c)) + [f"{s:.4f}" for s in scores])
        f.flush()
        if (i + 1) % 25 == 0 or i + 1 == len(todo):
            el = time.time() - t0
            cpu = time.process_time() - c0
            log(f"[label] {i + 1}/{len(todo)}  {el / (i + 1):.2f} wall-s/clip  "
                f"{cpu / (i + 1):.2f} cpu-s/clip (process, all threads)")
        if commit_until is not None and time.time() > commit_until:
            if commit_every_s:
                log("[label] past --commit-until: labelling on, no more commits")
            commit_every_s = 0
        if commit_every_s and time.time() - last_commit > commit_every_s:
            commit_labels()
            last_commit = time.time()
    f.close()
    if commit_every_s:
        commit_labels()


def prune_labels(clips):
    """Drop label rows that key no clip of this build (a source re-rendered differently, a removed
    recipe). Only called for a full build, so nothing is dropped for being merely left out."""
    keep = {label_key(c) for c in clips}
    # a build without --variants says nothing about the variants' labels: those stay
    variants_built = any(c["package"].startswith("variants-") for c in clips)
    with LABELS_CSV.open(newline="") as f:
        rows = list(csv.DictReader(f))
    kept = [r for r in rows if label_key(r) in keep
            or (not variants_built and r["package"].startswith("variants-"))]
    tmp = LABELS_CSV.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LABEL_FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(kept)
    tmp.rename(LABELS_CSV)
    log(f"[label] pruned {len(rows) - len(kept)} label rows that match no clip, {len(kept)} kept")


def drop_partial_row(path):
    """Drop a partial last row left by a killed labeller, so appends start on a fresh line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[:data.rfind(b"\n") + 1])


def commit_labels(path=LABELS_CSV, message="corpus: teacher labels (incremental)"):
    repo = HERE.parent.parent
    rel = str(path.relative_to(repo))
    for _ in range(10):
        if not (repo / ".git" / "index.lock").exists():
            break
        import time
        time.sleep(3)
    subprocess.run(["git", "add", rel], cwd=repo)
    r = subprocess.run(["git", "commit", "-q", "-m", message, "--", rel],
                       cwd=repo, capture_output=True, text=True)
    log(f"[label] commit: {'ok' if r.returncode == 0 else r.stdout.strip() + r.stderr.strip()}")


# ---------------------------------------------------------------- manifest + records

def write_records(sources, clips, lock):
    with SOURCES_TSV.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["package", "version", "file", "split", "duration_s", "clips", "licence", "note"])
        nclips = {}
        splits = {}
        for c in clips:
            k = (c["package"], c["file"])
            nclips[k] = nclips.get(k, 0) + 1
            splits[k] = c["split"]
        for s in sources:
            w.writerow([s["package"], s["version"], s["file"],
                        splits.get((s["package"], s["file"]), "-"),
                        f"{s['duration']:.1f}", nclips.get((s["package"], s["file"]), 0),
                        s["licence"], s.get("note", "")])
    lic = {}
    for s in sources:
        k = (s["package"], s["licence"])
        a = lic.setdefault(k, [0, 0.0])
        a[0] += 1
        a[1] += s["duration"]
    with LICENCES_TSV.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["package", "version", "licence", "files", "hours"])
        for (p, l), (n, d) in sorted(lic.items()):
            w.writerow([p, sources and next(s["version"] for s in sources if s["package"] == p), l, n,
                        f"{d / 3600:.2f}"])


def write_manifest(cdir, clips):
    """manifest.jsonl (one clip per line, with provenance) and manifest.csv (audio, split, the 50
    targets in TAGS order, header = tag names). `audio` is relative to the manifest's folder."""
    labels = read_labels()
    out = cdir / "manifest.jsonl"
    out_csv = cdir / "manifest.csv"
    tmp = out.with_suffix(".tmp")
    tmp_csv = out_csv.with_suffix(".csvtmp")
    n = missing = 0
    with tmp.open("w") as f, tmp_csv.open("w", newline="") as fc:
        wc = csv.writer(fc, lineterminator="\n")
        wc.writerow(["audio", "split"] + TAGS)
        for c in clips:
            t = labels.get(label_key(c))
            if t is None:
                missing += 1
                continue
            hard = c.get("hard") or {}
            targets = [round(float(hard[tag]) if tag in hard else t[i], 4) for i, tag in enumerate(TAGS)]
            f.write(json.dumps({
                "audio": c["path"], "offset": c["offset"], "duration": CLIP_S, "split": c["split"],
                "source": f"{c['package']}_{c['version']}:{c['file']}", "group": c["group"],
                "licence": c["licence"], "targets": targets,
                "hard": sorted(hard), "pcm_sha256": c["pcm_sha256"],
            }) + "\n")
            wc.writerow([c["path"], c["split"]] + targets)
            n += 1
    tmp.rename(out)
    tmp_csv.rename(out_csv)
    (cdir / "tags.json").write_text(json.dumps(TAGS))
    log(f"[manifest] {out} (+ .csv): {n} clips ({missing} still without teacher labels, left out)")


# ---------------------------------------------------------------- tag coverage

COVERAGE_TSV = HERE / "coverage.tsv"
MIN_TEST_POSITIVES = 10  # fewer positives than this in test: the tag cannot be taught or measured here


def write_coverage(cdir):
    """Positives per tag per split from the manifest: hard 1s (renders), teacher scores >= 0.5 and
    >= 0.25 (musicnn's sigmoid outputs are low for most tags), and the sum of the soft targets
    (expected positives). Tags too rare in test are listed as ones this corpus cannot teach/measure."""
    splits = ["train", "validation", "test", "track-validation", "track-test"]
    kinds = ("hard", "teacher>=0.5", "teacher>=0.25", "soft_sum")
    n = {sp: 0 for sp in splits}
    cnt = {(sp, k): [0.0] * len(TAGS) for sp in splits for k in kinds}
    with (cdir / "manifest.jsonl").open() as f:
        for line in f:
            r = json.loads(line)
            sp = r["split"]
            n[sp] += 1
            hard = set(r["hard"])
            for i, (tag, v) in enumerate(zip(TAGS, r["targets"])):
                cnt[sp, "soft_sum"][i] += v
                if tag in hard:
                    cnt[sp, "hard"][i] += v >= 0.5
                else:
                    cnt[sp, "teacher>=0.5"][i] += v >= 0.5
                    cnt[sp, "teacher>=0.25"][i] += v >= 0.25
    with COVERAGE_TSV.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["tag"] + [f"{sp}_{k}" for sp in splits for k in kinds])
        w.writerow(["(clips)"] + [n[sp] for sp in splits for _ in kinds])
        for i, tag in enumerate(TAGS):
            w.writerow([tag] + [f"{cnt[sp, k][i]:.1f}" if k == "soft_sum" else int(cnt[sp, k][i])
                                for sp in splits for k in kinds])
    weak = [t for i, t in enumerate(TAGS)
            if cnt["test", "hard"][i] + cnt["test", "teacher>=0.5"][i] < MIN_TEST_POSITIVES]
    log(f"[coverage] {COVERAGE_TSV.name}: clips {n}; {len(weak)} tags with < {MIN_TEST_POSITIVES} "
        f"test positives (hard or teacher >= 0.5): {', '.join(weak) or 'none'}")
    return weak


AGREEMENT_TSV = HERE / "teacher_vs_hard.tsv"


def write_agreement(cdir):
    """ROC-AUC of the teacher's scores against the renders' hard labels, per tag: how far the soft
    targets of the recordings can be trusted, and how sound each recipe label is."""
    import numpy as np
    from scipy.stats import rankdata
    by_sha = {k[4]: v for k, v in read_labels().items()}
    ys = {t: [] for t in TAGS}
    ss = {t: [] for t in TAGS}
    sung_ys = {t: [] for t in TAGS}  # the same, on the sung renders alone (e.g. male vs female)
    sung_ss = {t: [] for t in TAGS}
    sung_rows = []
    with (cdir / "manifest.jsonl").open() as f:
        for line in f:
            r = json.loads(line)
            if not r["hard"]:
                continue
            teacher = by_sha[r["pcm_sha256"]]
            sung = r["group"].startswith("sung-renders:")
            for t in r["hard"]:
                i = TAGS.index(t)
                ys[t].append(r["targets"][i])
                ss[t].append(teacher[i])
                if sung:
                    sung_ys[t].append(r["targets"][i])
                    sung_ss[t].append(teacher[i])
            if sung:
                voice, setting = r["source"].rsplit(":", 1)[1].split("/")[:2]  # file: voice/setting/score
                sung_rows.append((voice, setting, r["split"], teacher))

    def auc_rows(w, ys, ss, suffix):
        for t in TAGS:
            y = np.array(ys[t])
            npos = int((y >= 0.5).sum())
            if npos == 0 or npos == len(y):
                continue
            r = rankdata(ss[t])
            auc = (r[y >= 0.5].sum() - npos * (npos + 1) / 2) / (npos * (len(y) - npos))
            w.writerow([t + suffix, npos, len(y), f"{auc:.3f}"])

    with AGREEMENT_TSV.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["tag", "hard_positives", "hard_labelled", "teacher_roc_auc"])
        auc_rows(w, ys, ss, "")
        auc_rows(w, sung_ys, sung_ss, " (sung clips)")
    log(f"[agreement] {AGREEMENT_TSV.name} written")
    write_sung_teacher(sung_rows)


SUNG_TEACHER_TSV = HERE / "sung_teacher.tsv"
SUNG_TEACHER_TAGS = ["vocal", "vocals", "singing", "voice", "male", "man", "male vocal", "female",
                     "woman", "female vocal", "opera", "choir", "no vocals"]


def write_sung_teacher(rows):
    """Mean teacher scores of the sung renders' clips, per voice and per setting (sung.py)."""
    if not rows:
        return
    groups = {}
    for voice, setting, split, teacher in rows:
        for key in (("voice", voice), ("setting", setting), ("split", split), ("all", "all")):
            groups.setdefault(key, []).append(teacher)
    idx = [TAGS.index(t) for t in SUNG_TEACHER_TAGS]
    with SUNG_TEACHER_TSV.open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["by", "value", "clips"] + [f"mean_{t}" for t in SUNG_TEACHER_TAGS])
        for (by, value), ts in sorted(groups.items()):
            w.writerow([by, value, len(ts)] + [f"{sum(t[i] for t in ts) / len(ts):.3f}" for i in idx])
    log(f"[agreement] {SUNG_TEACHER_TSV.name} written ({len(rows)} sung clips)")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", nargs="?", default="all",
                    choices=["all", "fetch", "sources", "renders", "clips", "label", "manifest",
                             "coverage", "prune-labels"])
    ap.add_argument("--dir", default=str(DEFAULT_DIR), help="corpus folder (env SCATTERBRAIN_CORPUS)")
    ap.add_argument("--no-label", action="store_true", help="skip the teacher labelling")
    ap.add_argument("--no-renders", action="store_true",
                    help="leave out the music21/MMA renders (package recordings only)")
    ap.add_argument("--renders", nargs="+", metavar="FAMILY", default=None,
                    help="only these render families, with the package recordings (of: scores, "
                         "grooves, sung, arrangements, procedural; e.g. `--renders sung` for the held-out singers)")
    ap.add_argument("--variants", type=int, default=0, metavar="K",
                    help="K teacher-labelled variants (remix, pitch/tempo/EQ/MP3) of every training clip "
                         "of a real recording (variants.py)")
    ap.add_argument("--update-pins", action="store_true",
                    help="re-pin packages.lock to the current candidate versions")
    ap.add_argument("--commit-every", type=float, default=0,
                    help="while labelling, git-commit the labels CSV every N minutes")
    ap.add_argument("--commit-until", default=None, metavar="HH:MM",
                    help="UTC time (today) after which the labeller stops committing but keeps labelling")
    args = ap.parse_args()
    import renders  # beside this file
    if args.renders is not None:
        unknown = sorted(set(args.renders) - set(renders.FAMILIES))
        if unknown or args.no_renders:
            ap.error(f"--renders takes {', '.join(renders.FAMILIES)} (not {', '.join(unknown)})"
                     if unknown else "--renders and --no-renders exclude each other")
    families = renders.FAMILIES if args.renders is None else tuple(args.renders)
    # A build with some families only is partial like --no-renders: the records stay as they are.
    partial = args.no_renders or families != renders.FAMILIES

    ensure_venv()
    sys.path.insert(0, str(HERE))
    cdir = Path(args.dir).expanduser().resolve()
    cdir.mkdir(parents=True, exist_ok=True)
    if args.stage == "coverage":
        write_coverage(cdir)
        write_agreement(cdir)
        return
    ensure_tools()
    lock, absent = fetch(cdir, args.update_pins)
    if absent:
        log(f"[fetch] absent in this release: {', '.join(absent)}")
    if args.stage == "fetch":
        return
    extract(cdir, lock)
    sources = render_sources(cdir, lock)
    if not args.no_renders:
        sources += renders.render_all(cdir, sys.modules[__name__], families)
    if args.stage in ("sources", "renders"):
        return
    clips = make_clips(cdir, sources)
    if args.variants:
        import variants
        vsources = variants.variant_sources(sys.modules[__name__], cdir, clips, args.variants)
        sources += vsources
        clips += make_clips(cdir, vsources, split="train")
    hard = {(r["package"], r["file"]): r["hard"] for r in sources if r.get("hard")}
    for c in clips:
        c["hard"] = hard.get((c["package"], c["file"]))
    # The repository's records describe the full build: a partial one (no renders) leaves them alone.
    if partial:
        log("[records] partial build: sources.tsv / licences.tsv / coverage left as they are")
    else:
        write_records(sources, clips, lock)
    log(f"[clips] {len(clips)} clips of {CLIP_S} s")
    if args.stage == "prune-labels":
        if partial:
            sys.exit("prune-labels needs the full build (without --no-renders or --renders)")
        prune_labels(clips)
        return
    if args.stage in ("all", "label") and not args.no_label:
        until = None
        if args.commit_until:
            import datetime as dt
            hh, mm = map(int, args.commit_until.split(":"))
            now = dt.datetime.now(dt.timezone.utc)
            until = now.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
        label(cdir, clips, commit_every_s=args.commit_every * 60, commit_until=until)
    write_manifest(cdir, clips)
    if not partial:
        write_coverage(cdir)
        write_agreement(cdir)


if __name__ == "__main__":
    main()
