//! `scatterbrain model init` + `scatterbrain tag` through the real binary:
//! JSON layout, per-window scores, a bad file among good ones (reported, the
//! others still tagged, exit code non-zero), and bad model files.

mod common;

use common::{bin, fixture, run, tmp};
use serde_json::Value;
use std::path::Path;

#[test]
fn tag_files_with_a_model_file() {
    let dir = tmp("cli-tag", "files");
    let model = dir.join("tiny.bpk");
    let out = run(bin()
        .args(["model", "init", "scat-1l-8h-gru", "--seed", "5", "--out"])
        .arg(&model));
    assert!(out.status.success());

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
