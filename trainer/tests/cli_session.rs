//! `scatterbrain tag` through the analysis session: the frame-level taggram
//! in `--json`, standard input, inputs that are not files, a closed standard
//! output and a bad `--top`.

mod common;

use common::{bin, fixture, init_model, run, tmp, tone_wav as wav};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Output, Stdio};

/// A fresh folder and a small random model in it.
fn setup(name: &str) -> (common::Tmp, PathBuf) {
    let dir = tmp("session", name);
    let model = dir.join("tiny.bpk");
    init_model(&model, "scat-2l-8h-gru", 3);
    (dir, model)
}

#[test]
fn json_has_a_taggram_tiling_the_audio_with_the_warm_up_marked() {
    let (dir, model) = setup("taggram");
    let song = dir.join("song.wav");
    wav(&song, 20.0);
    let out = run(bin()
        .args(["tag", "--json", "--model"])
        .arg(&model)
        .arg(&song));
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &doc["files"][0];
    let taggram = f["taggram"].as_array().expect("taggram");
    // 20 s of audio, ~2 s per column.
    assert!(
        (9..=11).contains(&taggram.len()),
        "{} columns for 20 s",
        taggram.len()
    );
    let mut prev_end = 0.0;
    for c in taggram {
        let (start, end) = (c["start_s"].as_f64().unwrap(), c["end_s"].as_f64().unwrap());
        assert!(
            (start - prev_end).abs() < 1e-9 && end > start,
            "{start}..{end}"
        );
        assert_eq!(c["scores"].as_array().unwrap().len(), 50);
        prev_end = end;
    }
    assert!((prev_end - 20.0).abs() < 0.3, "taggram ends at {prev_end}");
    // One window of real audio (a 29 s input; a shorter one is looped and
    // its last frames left out): every frame is in one column, and only the
    // first column is read from the window's first frames alone (the
    // recurrent network still starting: `warm_up`). How a column reads its
    // frames is tested on known logits (src/session.rs).
    let hop = 4096.0 / 16000.0;
    let frames =
        |c: &Value| ((c["end_s"].as_f64().unwrap() - c["start_s"].as_f64().unwrap()) / hop).round();
    let long = dir.join("long.wav");
    wav(&long, 29.0);
    let out = run(bin()
        .args(["tag", "--json", "--model"])
        .arg(&model)
        .arg(&long));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &doc["files"][0];
    let (clip29, cols) = (
        f["scores"].as_array().unwrap(),
        f["taggram"].as_array().unwrap(),
    );
    let n: f64 = cols.iter().map(frames).sum();
    assert_eq!(n, 114.0, "every frame of the window is in one column");
    let warm: Vec<bool> = cols.iter().map(|c| c["warm_up"] == true).collect();
    assert!(
        warm[0] && !warm[1..].iter().any(|w| *w),
        "warm-up columns: {warm:?}"
    );
    assert_eq!(clip29.len(), 50);
}

#[test]
fn standard_input_is_tagged_like_the_file() {
    let (_dir, model) = setup("stdin");
    let song = fixture("tone500_48k_mono.flac");
    let by_path = run(bin()
        .args(["tag", "--json", "--model"])
        .arg(&model)
        .arg(&song));
    // Three workers: standard input is read once, never shared out.
    let mut child = bin()
        .args(["tag", "--json", "--jobs", "3", "--model"])
        .arg(&model)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&song).unwrap())
        .unwrap();
    let by_stdin = child.wait_with_output().unwrap();
    assert!(
        by_stdin.status.success(),
        "{}",
        String::from_utf8_lossy(&by_stdin.stderr)
    );
    let scores = |o: &Output| {
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        doc["files"][0]["scores"].clone()
    };
    assert_eq!(scores(&by_path), scores(&by_stdin));
}

#[test]
fn directories_and_pipes_are_refused_by_name() {
    let (dir, model) = setup("notfile");
    let fifo = dir.join("pipe.wav");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let good = fixture("tone500_48k_mono.flac");
    // Nobody writes to the pipe: reading it would hang the run.
    let missing = dir.join("missing.wav");
    let out = run(bin()
        .args(["tag", "--model"])
        .arg(&model)
        .arg(&*dir)
        .arg(&fifo)
        .arg(&missing)
        .arg(&good));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a directory"), "{stderr}");
    // Each error names its file once ("FILE: FILE: …" before).
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 3, "{stderr}");
    for (line, file) in errors
        .iter()
        .zip([&*dir, fifo.as_path(), missing.as_path()])
    {
        assert_eq!(
            line.matches(&*file.display().to_string()).count(),
            1,
            "{line}"
        );
    }
    assert!(errors[2].contains("No such file"), "{stderr}");
    assert!(
        stderr.contains("pipe.wav is not a regular file"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("tone500_48k_mono.flac:"),
        "the good file is tagged: {stdout}"
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let (_dir, model) = setup("pipe");
    let good = fixture("tone500_48k_mono.flac");
    let mut child = bin()
        .args(["tag", "--model"])
        .arg(&model)
        .arg(&good)
        .arg(&good)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Like `| head -0`: the reader goes away before anything is printed.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

#[test]
fn top_zero_is_refused() {
    let out = run(bin()
        .args(["tag", "--top", "0"])
        .arg(fixture("tone500_48k_mono.flac")));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--top"));
}

/// Tags as data: a model made with its own 7 tags tags with those names, in
/// the text line, the JSON's tag list, its scores and its taggram.
#[test]
fn a_model_with_its_own_tag_set_tags_with_its_names() {
    let dir = std::env::temp_dir().join(format!("sb-session-tagset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("seven.bpk");
    let names = [
        "lullaby",
        "march",
        "waltz",
        "drone",
        "choir",
        "brass",
        "hand clap",
    ];
    let out = run(bin()
        .args(["model", "init", "scat-2l-8h-gru", "--seed", "5", "--tags"])
        .arg(names.join(","))
        .arg("--out")
        .arg(&model));
    assert!(out.status.success());
    let info = run(bin().args(["model", "info"]).arg(&model));
    assert!(String::from_utf8_lossy(&info.stdout).contains("hand clap"));
    let song = dir.join("song.wav");
    wav(&song, 6.0);
    let out = run(bin()
        .args(["tag", "--json", "--model"])
        .arg(&model)
        .arg(&song));
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, names);
    let f = &doc["files"][0];
    assert_eq!(f["scores"].as_array().unwrap().len(), 7);
    assert!(
        f["taggram"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["scores"].as_array().unwrap().len() == 7)
    );
    let top = f["top"][0]["tag"].as_str().unwrap();
    assert!(names.contains(&top), "top tag {top}");
    let text = run(bin()
        .args(["tag", "--top", "7", "--model"])
        .arg(&model)
        .arg(&song));
    let line = String::from_utf8_lossy(&text.stdout);
    assert!(names.iter().all(|n| line.contains(n)), "{line}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `model info` shows the held-out-package figures written beside the model
/// (`NAME.heldout.json`, from trainer/corpus/heldout.py), macro figures only;
/// a damaged sidecar is an error that names it, not a silent omission.
#[test]
fn model_info_shows_the_heldout_evaluation_beside_the_model() {
    let (dir, model) = setup("heldout");
    let info = run(bin().args(["model", "info", "--json"]).arg(&model));
    let doc: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert!(doc.get("heldout_evaluation").is_none());
    let sidecar = dir.join("tiny.heldout.json");
    std::fs::write(
        &sidecar,
        r#"{"splits": {"test": {"clips": 424, "packages": ["a", "b"], "protocols": {"top-3":
           {"tiny": {"tags": 17, "roc_auc": 0.83, "pr_auc": 0.4, "per_tag": {"piano": {}}},
            "musicnn MTT_vgg": {"tags": 17, "roc_auc": 0.94, "pr_auc": 0.6, "per_tag": {}}}}}}}"#,
    )
    .unwrap();
    // The summary: a screenful, the held-out row beside MTT_vgg's.
    let text = run(bin().args(["model", "info"]).arg(&model));
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.lines().count() < 20, "{text}");
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("test "))
        .unwrap_or("");
    let words: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "test", "424", "17", "0.830", "/", "0.400", "0.940", "/", "0.600"
        ],
        "{text}"
    );
    assert!(text.contains("never (random weights"), "{text}");
    let info = run(bin().args(["model", "info", "--json"]).arg(&model));
    assert!(info.status.success());
    let doc: Value = serde_json::from_slice(&info.stdout).unwrap();
    let test = &doc["heldout_evaluation"]["splits"]["test"];
    assert_eq!(test["clips"], 424);
    assert_eq!(
        test["protocols"]["top-3"]["musicnn MTT_vgg"]["roc_auc"],
        0.94
    );
    assert!(test["protocols"]["top-3"]["tiny"].get("per_tag").is_none());
    std::fs::write(&sidecar, "{ not json").unwrap();
    let info = run(bin().args(["model", "info"]).arg(&model));
    assert!(!info.status.success());
    assert!(String::from_utf8_lossy(&info.stderr).contains("tiny.heldout.json"));
}
