//! The npm package (`www/package`, the WASM build behind a JS API) in Node
//! tags the same audio as the native CLI with the same scores, cancels with
//! an AbortError, and gives the pictures' coefficients. Needs the package
//! folder made self-contained by `www/build.sh` (tests/run builds it first)
//! and `node`; `tests/wasm/package.mjs` does the JS side.

#[path = "../../tests/common/manifest.rs"]
mod manifest;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Scores of the package and of the native CLI agree this closely.
const TOL: f64 = 1e-4;

fn repo() -> PathBuf {
    manifest::dir().join("..")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run a command");
    eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed");
    out
}

fn scores(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// Make a model with `init` (arguments after `model init`), tag the
/// package's signal in Node and natively; returns Node's report.
fn compare(name: &str, init: &[&str]) -> Value {
    let pkg = repo().join("www/package");
    assert!(
        pkg.join("pkg/scatterbrain_bg.wasm").exists(),
        "{} is not self-contained: run www/build.sh (tests/run does)",
        pkg.display()
    );
    let dir = std::env::temp_dir().join(format!("sb-package-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (model, song) = (dir.join("model.bpk"), dir.join("song.wav"));
    run(Command::new(env!("CARGO_BIN_EXE_scatterbrain"))
        .args(["model", "init"])
        .args(init)
        .arg("--out")
        .arg(&model));
    let out = run(Command::new("node")
        .arg(repo().join("tests/wasm/package.mjs"))
        .arg(&model)
        .arg(&song)
        .arg(&pkg));
    let js: Value = serde_json::from_slice(&out.stdout).expect("JSON from node");
    let out = run(Command::new(env!("CARGO_BIN_EXE_scatterbrain"))
        .args(["tag", "--json", "--top", "50", "--model"])
        .arg(&model)
        .arg(&song));
    let native: Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = &native["files"][0];

    assert_eq!(js["tags"], native["tags"], "tag lists differ");
    assert_eq!(
        js["tagger_tags"], native["tags"],
        "tagger.tags is not the file's list"
    );
    // Audio that is not silent: `silence_note` is null, as index.d.ts says.
    assert_eq!(js["silence_note_is_null"], true);
    // The core's reading of the model's per-tag counts, the same object.
    assert_eq!(js["support"], native["support"], "tag support differs");
    let top = js["top"].as_array().unwrap();
    assert!(
        top.iter().all(|t| t["uncertain"].is_boolean()),
        "topTags without `uncertain`: {top:?}"
    );
    // One ranking (the core's): the same rows, spelling variants folded alike.
    let rows = |v: &Value| -> Vec<String> {
        let one = |t: &Value| t["tag"].as_str().unwrap_or("?").to_string();
        let also = |t: &Value| t["also"].as_array().map(|a| a.iter().map(one).collect());
        (v.as_array().unwrap().iter())
            .map(|t| format!("{} {:?}", one(t), also(t).unwrap_or_else(Vec::new)))
            .collect()
    };
    let all = rows(&js["top_all"]);
    assert_eq!(all, rows(&file["top"]), "topTags and the CLI rank apart");
    // Every tag in one row: MagnaTagATune's three spelling pairs folded (a
    // tag list of its own has none).
    let folded = all.iter().filter(|r| !r.ends_with("[]")).count();
    let n = js["tags"].as_array().unwrap().len();
    let want = if n == 50 { (47, 3) } else { (n, 0) };
    assert_eq!((all.len(), folded), want, "{all:?}");
    let d = max_diff(&scores(&js["clip"]), &scores(&file["scores"]));
    eprintln!("{name}: package vs native clip scores: max |Δ| {d:e}");
    assert!(d <= TOL, "clip scores differ by {d:e}");
    let (jw, nw) = (
        js["windows"].as_array().unwrap(),
        file["windows"].as_array().unwrap(),
    );
    assert_eq!(jw.len(), 2, "35 s make two windows");
    assert_eq!(jw.len(), nw.len());
    for (a, b) in jw.iter().zip(nw) {
        assert!((a["start_s"].as_f64().unwrap() - b["start_s"].as_f64().unwrap()).abs() < 1e-6);
        let d = max_diff(&scores(&a["scores"]), &scores(&b["scores"]));
        assert!(d <= TOL, "window scores differ by {d:e}");
    }
    assert!(
        (js["duration_s"].as_f64().unwrap() - 35.0).abs() < 0.01,
        "duration {}",
        js["duration_s"]
    );
    assert_eq!(
        js["again_max_diff"].as_f64(),
        Some(0.0),
        "a second run after an abort differs"
    );
    let _ = std::fs::remove_dir_all(&dir);
    js
}

/// The bands above 5.6 kHz of an 8 kHz file, from the package (decoded to
/// mono at 16 kHz, the file's rate passed on) and from `scatterbrain scatter`
/// (which reads it at 8 kHz): the same, within 1e-4 of each band's peak. In
/// float32 both held their FFTs' rounding there, ~1e-3 apart.
fn low_rate_bands_are_the_clis(low: &Value) {
    let fixture = repo().join("tests/fixtures/audio/tone300_8k_6ch.wav");
    let npy = std::env::temp_dir().join(format!("sb-package-low-{}.npy", std::process::id()));
    run(Command::new(env!("CARGO_BIN_EXE_scatterbrain"))
        .arg("scatter")
        .arg(&fixture)
        .arg("--out")
        .arg(&npy));
    let file = npyz::NpyFile::new(std::fs::File::open(&npy).unwrap()).unwrap();
    let shape = file.shape().to_vec();
    let data: Vec<f32> = file.into_vec().unwrap();
    let _ = std::fs::remove_file(&npy);
    let _ = std::fs::remove_file(npy.with_extension("json"));
    let (rows, frames) = (shape[0] as usize, shape[1] as usize);
    assert_eq!(low["frames"].as_u64(), Some(frames as u64), "{shape:?}");
    let bands = low["rows"].as_array().unwrap();
    assert_eq!(bands.len(), 3, "bands above 5.6 kHz");
    for band in bands {
        let r = band["row"].as_u64().unwrap() as usize;
        // Stored frame by frame (Fortran order).
        let cli: Vec<f32> = (0..frames).map(|f| data[f * rows + r]).collect();
        let peak = cli.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = band["values"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&cli)
            .map(|(a, b)| (a.as_f64().unwrap() as f32 - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            peak > 0.0 && worst <= 1e-4 * peak,
            "row {r}: {worst:e} of {peak:e}"
        );
    }
}

#[test]
fn package_tags_like_the_native_cli_and_cancels() {
    let js = compare("mtat", &["scat-2l-32h-gru", "--seed", "1"]);
    for what in ["aborted", "midway"] {
        assert_eq!(js[what]["name"], "AbortError", "{what}: {}", js[what]);
    }
    assert_eq!(
        js["midway_steps"], 2,
        "the abort did not stop at the next slice"
    );
    // Progress: 35 s in 5 s slices plus the end, increasing; both windows scored.
    let p = &js["progress"];
    assert_eq!(p["analyse_steps"], 9, "{p}");
    assert_eq!(p["analyse_last"]["done"], p["analyse_last"]["total"]);
    assert_eq!(p["increasing"], true);
    assert_eq!(p["model_last"]["done"], 2);
    assert!(
        js["too_short"]["message"]
            .as_str()
            .unwrap()
            .contains("short"),
        "{}",
        js["too_short"]
    );
    assert!(js["freed"]["message"].as_str().unwrap().contains("freed"));
    // The WAV's bytes, decoded by the core in the package (the CLI's
    // decoder), give the scores of its samples exactly; a text file is
    // refused with the core's reason.
    let f = &js["file_bytes"];
    assert_eq!(f["buffer_max_diff"].as_f64(), Some(0.0), "{f}");
    assert_eq!(f["blob_max_diff"].as_f64(), Some(0.0), "{f}");
    assert_eq!(f["blob_decode_stages"], 2, "{f}");
    let refused = f["not_audio"]["message"].as_str().unwrap_or_default();
    assert!(
        refused.starts_with("could not read the file as audio: not a supported audio file"),
        "{f}"
    );
    assert_eq!(
        refused.matches("as audio").count(),
        1,
        "said twice: {refused}"
    );
    // PCM has no decoder's warning; a file cut at 60 % has the CLI's.
    assert_eq!(f["whole_early_end"], Value::Null, "{f}");
    let cut = f["cut_early_end"].as_str().unwrap_or_default();
    assert!(cut.contains("cut short") && cut.contains("35.00 s"), "{f}");
    let d = f["cut_duration_s"].as_f64().unwrap();
    assert!((d - 21.0).abs() < 0.1, "{f}");
    let m4a = f["m4a"]["message"].as_str().unwrap_or_default();
    assert!(
        m4a.contains("an MP4/M4A, which this build does not read"),
        "{f}"
    );
    assert_eq!(js["top"].as_array().unwrap().len(), 5);
    low_rate_bands_are_the_clis(&js["low_rate"]);
    // The pictures of 10 s: S0, S1 and S2 rows over ~10 s of frames.
    let pic = &js["picture"];
    let (rows, frames) = (
        pic["rows"].as_u64().unwrap(),
        pic["frames"].as_u64().unwrap(),
    );
    assert_eq!(pic["data"].as_u64(), Some(rows * frames));
    assert_eq!(pic["paths"].as_u64(), Some(rows));
    assert_eq!(pic["times"].as_u64(), Some(frames));
    assert_eq!(pic["finite"], true);
    let orders: Vec<u64> = pic["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        orders[0] == 1 && orders[1] > 50 && orders[2] > 100,
        "rows by order {orders:?}"
    );
    let last = pic["last_time"].as_f64().unwrap();
    assert!((9.0..=10.5).contains(&last), "last frame at {last} s");
}

#[test]
fn package_reads_a_model_with_its_own_tag_set() {
    let js = compare(
        "seven",
        &[
            "scat-2l-8h-gru",
            "--seed",
            "5",
            "--tags",
            "lullaby,march,waltz,drone,choir,brass,hand clap",
        ],
    );
    assert_eq!(js["clip"].as_array().unwrap().len(), 7);
    assert_eq!(js["tags"][6], "hand clap");
}

/// What `npm pack` publishes holds every file the package's JS names by a
/// relative path: the engine's workers, the glue, both WASM builds.
#[test]
fn package_folder_is_self_contained() {
    let out = run(Command::new("node")
        .arg(repo().join("tests/wasm/package_files.mjs"))
        .arg(repo().join("www/package")));
    let js: Value = serde_json::from_slice(&out.stdout).expect("JSON from node");
    let files: Vec<&str> = js["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in [
        "index.js",
        "engine.js",
        "worker/coordinator.js",
        "worker/helper.js",
        "pkg/scatterbrain_bg.wasm",
        "pkg-webgpu/scatterbrain_bg.wasm",
        "LICENSE",
    ] {
        assert!(files.contains(&f), "{f} is not in the package: {files:?}");
    }
    assert_eq!(js["missing"], serde_json::json!([]), "named but not packed");
}
