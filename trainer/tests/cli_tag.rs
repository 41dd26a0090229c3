//! `scatterbrain model init` + `scatterbrain tag` through the real binary:
//! JSON layout, per-window scores, a bad file among good ones (reported, the
//! others still tagged, exit code non-zero), files tagged in parallel and
//! reported in order, and bad model files.

mod common;

use common::wav::{Sample, wav_bytes};
use common::{bin, fixture, init_model, run, tmp};
use serde_json::Value;
use std::path::Path;

#[test]
fn tag_files_with_a_model_file() {
    let dir = tmp("cli-tag", "files");
    let model = dir.join("tiny.bpk");
    init_model(&model, "scat-1l-8h-gru", 5);

    let bad = dir.join("not-audio.mp3");
    std::fs::write(&bad, "this is text, not audio").unwrap();
    let good = [
        fixture("tone1k_44k_stereo.mp3"),
        fixture("tone500_48k_mono.flac"),
    ];
    let out = run(bin()
        .args(["tag", "--json", "--top", "3", "--model"])
        .arg(&model)
        .arg(&good[0])
        .arg(&bad)
        .arg(&good[1]));
    assert!(
        !out.status.success(),
        "a failed file makes the exit code non-zero"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not-audio.mp3"),
        "the bad file is named: {stderr}"
    );
    assert!(stderr.contains("untrained") || stderr.contains("no training"));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(doc["tags"].as_array().unwrap().len(), 50);
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert!(files[1]["error"].is_string());
    for f in [&files[0], &files[2]] {
        let scores = f["scores"].as_array().unwrap();
        assert_eq!(scores.len(), 50);
        assert!(
            scores
                .iter()
                .all(|s| (0.0..=1.0).contains(&s.as_f64().unwrap()))
        );
        assert_eq!(f["top"].as_array().unwrap().len(), 3);
        let windows = f["windows"].as_array().unwrap();
        assert!(!windows.is_empty());
        // The clip's scores are the mean of its windows'.
        for t in 0..50 {
            let mean = windows
                .iter()
                .map(|w| w["scores"][t].as_f64().unwrap())
                .sum::<f64>()
                / windows.len() as f64;
            assert!((mean - scores[t].as_f64().unwrap()).abs() < 1e-6);
        }
    }

    // Text mode: one line per good file.
    let out = run(bin().args(["tag", "--model"]).arg(&model).arg(&good[1]));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");

    // Same file, same model: deterministic scores; fp16 close to fp32.
    let half = dir.join("tiny16.bpk");
    let out = run(bin()
        .args(["model", "convert", "--precision", "f16", "--out"])
        .arg(&half)
        .arg(&model));
    assert!(out.status.success());
    let scores = |m: &Path| -> Vec<f64> {
        let out = run(bin()
            .args(["tag", "--json", "--model"])
            .arg(m)
            .arg(&good[1]));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["files"][0]["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (a, b, c) = (scores(&model), scores(&model), scores(&half));
    assert_eq!(a, b);
    let worst = a
        .iter()
        .zip(&c)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst < 2e-3, "fp16 vs fp32: {worst}");
}

/// `--jobs`: workers finish files in any order (a long file first, short
/// ones after), the output keeps the order given, and the scores are the
/// same as one at a time; a bad file is reported in its place. One file with
/// several workers is shared out by windows.
#[test]
fn parallel_workers_report_in_the_order_given() {
    let dir = tmp("cli-tag", "jobs");
    let model = dir.join("tiny.bpk");
    init_model(&model, "scat-1l-8h-gru", 7);
    let bad = dir.join("empty.wav");
    std::fs::write(&bad, b"").unwrap();
    // 3 min of a chirp first: with 3 workers the short files after it finish
    // before it (in order, they would be reported after it anyway).
    let long = dir.join("long.wav");
    let chirp: Vec<f32> = (0..16_000 * 180)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            0.3 * (std::f32::consts::TAU * (200.0 + 10.0 * t) * t).sin()
        })
        .collect();
    std::fs::write(&long, wav_bytes(16_000, 1, Sample::I16, &chirp)).unwrap();
    let files = [
        long,
        fixture("tone300_8k_6ch.wav"),
        fixture("tone1k_44k_stereo.mp3"),
        bad.clone(),
        fixture("tone500_48k_mono.flac"),
        fixture("tone2k_22k.ogg"),
        fixture("tone1k_44k_stereo.mp3"),
    ];
    let tag = |jobs: &str, json: bool| {
        let mut cmd = bin();
        cmd.args(["tag", "--jobs", jobs, "--model"]).arg(&model);
        if json {
            cmd.arg("--json");
        }
        let out = run(cmd.args(&files));
        assert!(!out.status.success(), "the empty file fails");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(stderr.matches("empty.wav").count(), 1, "{stderr}");
        String::from_utf8(out.stdout).unwrap()
    };
    let one: Value = serde_json::from_str(&tag("1", true)).unwrap();
    let three: Value = serde_json::from_str(&tag("3", true)).unwrap();
    let given: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    for doc in [&one, &three] {
        let listed: Vec<&str> = doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["file"].as_str().unwrap())
            .collect();
        assert_eq!(listed, given);
    }
    assert!(
        one["files"] == three["files"],
        "same scores with 1 and 3 workers"
    );
    assert!(three["files"][3]["error"].is_string());
    // One file, three workers: its windows shared out among them and
    // gathered, the same windows and (up to float rounding: batches of
    // other sizes) the same scores as one worker's.
    let alone = |jobs: &str| -> Value {
        let out = run(bin()
            .args(["tag", "--json", "--jobs", jobs, "--model"])
            .arg(&model)
            .arg(&files[0]));
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["files"][0].clone()
    };
    let (whole, shared) = (alone("1"), alone("3"));
    let windows = |f: &Value| -> Vec<(f64, f64)> {
        f["windows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["start_s"].as_f64().unwrap(), w["end_s"].as_f64().unwrap()))
            .collect()
    };
    assert!(windows(&whole).len() >= 6, "{:?}", windows(&whole));
    assert_eq!(windows(&whole), windows(&shared));
    assert_eq!(
        whole["taggram"].as_array().unwrap().len(),
        shared["taggram"].as_array().unwrap().len()
    );
    let worst = whole["scores"]
        .as_array()
        .unwrap()
        .iter()
        .zip(shared["scores"].as_array().unwrap())
        .map(|(a, b)| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-5, "scores of one file shared out: {worst}");

    // Text: a line per good file, in the order given.
    let text = tag("4", false);
    let lines: Vec<&str> = text.lines().collect();
    let good: Vec<&String> = given.iter().filter(|f| !f.ends_with("empty.wav")).collect();
    assert_eq!(lines.len(), good.len(), "{text}");
    for (line, file) in lines.iter().zip(good) {
        assert!(line.starts_with(&format!("{file}: ")), "{line} vs {file}");
    }
}

#[test]
fn bad_model_files_are_clear_errors() {
    let dir = tmp("cli-tag", "bad-models");
    let audio = fixture("tone500_48k_mono.flac");
    let truncated = dir.join("truncated.bpk");
    let model = dir.join("whole.bpk");
    assert!(
        run(bin()
            .args(["model", "init", "scat-1l-4h-gru", "--out"])
            .arg(&model))
        .status
        .success()
    );
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let garbage = dir.join("garbage.bpk");
    std::fs::write(&garbage, b"not a model").unwrap();
    for (file, says) in [(&truncated, "truncated"), (&garbage, "model file")] {
        let out = run(bin().args(["tag", "--model"]).arg(file).arg(&audio));
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{file:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = run(bin()
        .args(["tag", "--model"])
        .arg(dir.join("missing.bpk"))
        .arg(&audio));
    assert!(!out.status.success());
}

/// Silent audio gets no tags, in words: digital silence (the shipped model
/// said "guitar 0.55" of it, in both the CLI and the page) and a tone at
/// -90 dBFS (below the -80 dBFS the normaliser can hear) are "silent, no
/// tags" with a warning that says how loud they are, and their JSON has no
/// top tags and `silent: true`; a tone at -60 dBFS is quiet, not silent, and
/// is tagged.
#[test]
fn silent_audio_gets_no_tags() {
    let dir = tmp("cli-tag", "silent");
    let model = dir.join("tiny.bpk");
    init_model(&model, "scat-1l-8h-gru", 5);
    let tone = |db: f64| -> Vec<f32> {
        let a = 10f64.powf(db / 20.0);
        (0..3 * 22_050)
            .map(|i| (a * (i as f64 * 0.1).sin()) as f32)
            .collect()
    };
    let files = [
        (
            "zeros.wav",
            vec![0.0f32; 3 * 22_050],
            Some("every sample is zero"),
        ),
        ("minus90.wav", tone(-90.0), Some("dBFS, below the -80 dBFS")),
        ("minus60.wav", tone(-60.0), None),
    ];
    for (name, samples, _) in &files {
        let bytes = wav_bytes(22_050, 1, Sample::F32, samples);
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let mut cmd = bin();
    cmd.args(["tag", "--model"]).arg(&model);
    for (name, ..) in &files {
        cmd.arg(dir.join(name));
    }
    let out = run(&mut cmd);
    assert!(out.status.success(), "silence is not an error");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for ((name, _, why), line) in files.iter().zip(&lines) {
        assert!(line.contains(name), "{line}");
        match why {
            Some(why) => {
                assert!(line.ends_with(": silent, no tags"), "{line}");
                let warning = stderr
                    .lines()
                    .find(|l| l.contains(name))
                    .unwrap_or_else(|| panic!("no warning for {name}: {stderr}"));
                assert!(
                    warning.starts_with("warning: ") && warning.contains(why),
                    "{warning}"
                );
            }
            None => {
                assert!(!line.ends_with("no tags"), "{line}");
                assert!(!stderr.contains(name), "{stderr}");
            }
        }
    }
    let out = run(bin()
        .args(["tag", "--json", "--model"])
        .arg(&model)
        .arg(dir.join("zeros.wav"))
        .arg(dir.join("minus60.wav")));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let f = &doc["files"];
    assert_eq!(f[0]["silent"], true);
    assert_eq!(f[0]["peak"], 0.0);
    assert!(f[0]["top"].as_array().unwrap().is_empty());
    assert_eq!(f[0]["scores"].as_array().unwrap().len(), 50);
    assert!(f[0]["warnings"][0].as_str().unwrap().contains("silent"));
    assert_eq!(f[1]["silent"], false);
    let peak = f[1]["peak"].as_f64().unwrap();
    assert!((20.0 * peak.log10() + 60.0).abs() < 0.5, "{peak}");
    assert_eq!(f[1]["top"].as_array().unwrap().len(), 5);
}

/// Tags the model met in too few training clips (the counts its file
/// records) are marked `?` in the text, with the legend once on stderr, and
/// `uncertain` in the JSON, in the words the page uses (the core's
/// `TagSupport`); a model that saw every tag often enough marks none.
#[test]
fn uncertain_tags_are_marked() {
    use scatterbrain::model::{self, Device, Precision};
    let dir = tmp("cli-tag", "uncertain");
    let plain = dir.join("tiny.bpk");
    init_model(&plain, "scat-1l-8h-gru", 5);
    // Tag i seen in 29 training clips when i is even (too few), 30 when odd.
    let with_counts = |out: &Path, count: &dyn Fn(usize) -> u64| {
        let (tagger, mut meta) =
            model::load(&std::fs::read(&plain).unwrap(), &Device::flex()).unwrap();
        let counts: Vec<u64> = (0..meta.tags.len()).map(count).collect();
        meta.metrics.extra = serde_json::json!({"train_positives": counts});
        std::fs::write(out, model::save(&tagger, &meta, Precision::F32).unwrap()).unwrap();
    };
    let (half, all) = (dir.join("half.bpk"), dir.join("all.bpk"));
    with_counts(&half, &|i| if i % 2 == 0 { 29 } else { 30 });
    with_counts(&all, &|_| 30);
    let audio = fixture("tone500_48k_mono.flac");
    let tag = |m: &Path, json: bool| {
        let mut cmd = bin();
        cmd.args(["tag", "--top", "10", "--model"])
            .arg(m)
            .arg(&audio);
        if json {
            cmd.arg("--json");
        }
        let out = run(&mut cmd);
        assert!(out.status.success());
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (text(&out.stdout), text(&out.stderr))
    };
    let doc: Value = serde_json::from_str(&tag(&half, true).0).unwrap();
    let names: Vec<&str> = (doc["tags"].as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap())
        .collect();
    let index = |t: &str| names.iter().position(|n| *n == t).unwrap();
    let top = doc["files"][0]["top"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    for t in top {
        let i = index(t["tag"].as_str().unwrap());
        assert_eq!(t["uncertain"], i % 2 == 0, "{t}");
    }
    let support = &doc["support"];
    assert_eq!(
        (&support["min"], &support["split"]),
        (&30.into(), &"train".into())
    );
    assert_eq!(
        support["tags"][0]["why"],
        "Uncertain: the model saw this tag in only 29 training clips."
    );
    // Text: "tag? 0.12" for the uncertain ones, the legend once.
    let (stdout, stderr) = tag(&half, false);
    let shown: Vec<&str> = stdout
        .trim()
        .split_once(": ")
        .unwrap()
        .1
        .split(", ")
        .collect();
    assert_eq!(shown.len(), 10);
    assert!(shown.iter().any(|t| t.contains('?')) && shown.iter().any(|t| !t.contains('?')));
    // "tag? 0.12", or a row with its spelling variant: "vocals 0.12 (also vocal? 0.11)".
    let mut variants = 0;
    for row in &shown {
        let (main, also) = match row.split_once(" (also ") {
            Some((main, also)) => (main, also.strip_suffix(')')),
            None => (*row, None),
        };
        variants += also.is_some() as usize;
        for t in std::iter::once(main).chain(also) {
            let (name, _score) = t.rsplit_once(' ').unwrap();
            let (name, marked) = name.strip_suffix('?').map_or((name, false), |n| (n, true));
            // As the JSON's reading (by parity, except an absence: by what it negates).
            let want = &support["tags"][index(name)]["uncertain"];
            assert_eq!(&Value::from(marked), want, "{t} in {row}");
        }
    }
    // The same rows as the JSON's, variants where it has `also`.
    let json_also = top.iter().filter(|t| t.get("also").is_some()).count();
    assert_eq!(variants, json_also, "{stdout}");
    let legend = support["legend"].as_str().unwrap();
    assert_eq!(stderr.matches(legend).count(), 1, "{stderr}");
    // Every tag seen often enough: no marks, no legend.
    let (stdout, stderr) = tag(&all, false);
    assert!(
        !stdout.contains('?') && !stderr.contains(legend),
        "{stdout}{stderr}"
    );
}

/// Round 2 of a new user's trial: `tag` without `--model` found the shipped
/// model only from the repository (an installed binary failed elsewhere). It
/// is built in: from an empty folder, with no `$SCATTERBRAIN_MODEL`, the
/// scores are the repository file's.
#[test]
fn the_shipped_model_is_built_in() {
    let dir = tmp("cli-tag", "built-in");
    let audio = fixture("tone500_48k_mono.flac");
    let scores = |cmd: &mut std::process::Command| -> (Value, Vec<f64>) {
        let out = run(cmd.args(["tag", "--json"]).arg(&audio));
        assert!(out.status.success());
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let s = (doc["files"][0]["scores"].as_array().unwrap().iter())
            .map(|v| v.as_f64().unwrap())
            .collect();
        (doc["model"]["file"].clone(), s)
    };
    let (file, built_in) = scores(
        bin()
            .current_dir(&dir)
            .env_remove("SCATTERBRAIN_MODEL")
            .env_remove("CARGO_MANIFEST_DIR"),
    );
    assert_eq!(file, "models/scat-4l-256h-gru.bpk (built in)");
    let shipped = common::fixture("../../../models/scat-4l-256h-gru.bpk");
    let (file, from_file) = scores(bin().env("SCATTERBRAIN_MODEL", &shipped));
    assert_eq!(file, shipped.display().to_string());
    assert_eq!(built_in, from_file);
}
