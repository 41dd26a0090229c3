//! `scatterbrain tag FILE... [--top N] [--json] [--model PATH] [--device cpu|wgpu]`
//!
//! Each file is decoded and analysed window by window (streaming: an hour-long
//! file holds at most [`tagging::BATCH`] windows of features at a time), the
//! model scores every window (the taggram) and the clip's scores are their
//! mean. A file that cannot be tagged gets one line on stderr and the others
//! are still tagged; the exit code is non-zero only if some file failed.

use crate::device::{Backend, device};
use anyhow::{Context, Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use scatterbrain::decode::decode_file;
use scatterbrain::model::Model;
use scatterbrain::pipeline::{Form, Pipeline, WindowFeatures};
use scatterbrain::tagging::{self, Tagging, clip_scores, window_scores};
use scatterbrain::tags::{TAGS, top_tags};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The shipped model, looked up in `./models/` and then beside the sources.
pub const SHIPPED_MODEL: &str = "scat-5l-512h-gru.bpk";

#[derive(clap::Args)]
pub struct Args {
    /// Audio files (MP3, WAV, FLAC, Ogg/Vorbis).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Tags to show per file.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Print JSON (all scores, and the scores of every window) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Model file (default: $SCATTERBRAIN_MODEL, else the shipped models/scat-5l-512h-gru.bpk).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Where the model runs.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub device: Backend,
}

/// `--model`, `$SCATTERBRAIN_MODEL`, `./models/…`, or the repository's `models/…`.
pub fn model_path(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("SCATTERBRAIN_MODEL") {
        return Ok(PathBuf::from(p));
    }
    let candidates = [
        Path::new("models").join(SHIPPED_MODEL),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../models")
            .join(SHIPPED_MODEL),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            anyhow!("no model: models/{SHIPPED_MODEL} was not found; give one with --model FILE")
        })
}

/// Scores of one file.
pub struct FileTags {
    pub duration_s: f64,
    /// (start s, end s, scores) per analysis window.
    pub windows: Vec<(f64, f64, Vec<f32>)>,
    pub scores: Vec<f32>,
}

pub fn run(a: Args) -> Result<bool> {
    let path = model_path(a.model.as_deref())?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let dev = device(a.device)?;
    let model = Model::from_bytes(&bytes, &dev).with_context(|| format!("{}", path.display()))?;
    let name = model.metadata.model.name();
    let untrained = model.metadata.provenance.epochs.is_none();
    let mut tagging = Tagging::new(model).with_context(|| format!("{}", path.display()))?;

    let bar = ProgressBar::new(a.files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg} [{elapsed}<{eta}]")
            .expect("static template"),
    );
    let mut results = Vec::new();
    let mut failed = false;
    for file in &a.files {
        bar.set_message(file.display().to_string());
        match tag_file(&mut tagging, file, &bar) {
            Ok(t) => {
                if !a.json {
                    bar.suspend(|| println!("{}", text_line(file, &t, a.top)));
                }
                results.push(json_file(file, &t, a.top));
            }
            Err(e) => {
                failed = true;
                bar.suspend(|| eprintln!("error: {}: {e:#}", file.display()));
                results
                    .push(json!({"file": file.display().to_string(), "error": format!("{e:#}")}));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if untrained {
        eprintln!(
            "note: {name} ({}) records no training: its tags are not meaningful",
            path.display()
        );
    }
    if a.json {
        let meta = &tagging.model().metadata;
        let doc = json!({
            "model": {
                "name": name,
                "file": path.display().to_string(),
                "provenance": meta.provenance,
            },
            "tags": &TAGS[..],
            "files": results,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(!failed)
}

/// Decode, analyse and score one file.
pub fn tag_file(tagging: &mut Tagging, file: &Path, bar: &ProgressBar) -> Result<FileTags> {
    let (features, stats, model) = tagging.parts();
    let sr = features.sample_rate() as f64;
    let mut pending: Vec<WindowFeatures> = Vec::new();
    let mut windows: Vec<(f64, f64, Vec<f32>)> = Vec::new();
    // Scores the pending windows; the closure cannot return the error, so it
    // is kept and reported after decoding.
    let mut error: Option<anyhow::Error> = None;
    let mut flush = |pending: &mut Vec<WindowFeatures>, windows: &mut Vec<(f64, f64, Vec<f32>)>| {
        if pending.is_empty() || error.is_some() {
            pending.clear();
            return;
        }
        match window_scores(model, pending) {
            Ok(scores) => {
                for (w, s) in pending.iter().zip(scores) {
                    let start = w.start as f64 / sr;
                    windows.push((start, start + w.valid as f64 / sr, s));
                }
            }
            Err(e) => error = Some(e.into()),
        }
        pending.clear();
    };
    let mut pipeline: Option<Pipeline> = None;
    let mut fref = Some(features);
    let mut on_window = |w: WindowFeatures,
                         pending: &mut Vec<WindowFeatures>,
                         windows: &mut Vec<(f64, f64, Vec<f32>)>| {
        pending.push(w);
        if pending.len() == tagging::BATCH {
            flush(pending, windows);
        }
    };
    decode_file(file, |info, pcm| {
        if pipeline.is_none() {
            pipeline = Some(Pipeline::new(
                fref.take().expect("once"),
                stats,
                Form::Model,
                info.sample_rate,
                info.channels,
            )?);
        }
        let p = pipeline.as_mut().expect("just made");
        p.push(pcm, |w| on_window(w, &mut pending, &mut windows))?;
        bar.set_message(format!(
            "{}: {:.0} s",
            file.display(),
            p.samples_seen() as f64 / sr
        ));
        Ok(())
    })?;
    let total = pipeline
        .take()
        .ok_or_else(|| anyhow!("no audio"))?
        .finish(|w| on_window(w, &mut pending, &mut windows))?;
    flush(&mut pending, &mut windows);
    if let Some(e) = error {
        return Err(e);
    }
    let per_window: Vec<Vec<f32>> = windows.iter().map(|w| w.2.clone()).collect();
    Ok(FileTags {
        duration_s: total as f64 / sr,
        scores: clip_scores(&per_window),
        windows,
    })
}

fn text_line(file: &Path, t: &FileTags, top: usize) -> String {
    let tags: Vec<String> = top_tags(&t.scores, top)
        .iter()
        .map(|(tag, s)| format!("{tag} {s:.2}"))
        .collect();
    format!("{}: {}", file.display(), tags.join(", "))
}

fn json_file(file: &Path, t: &FileTags, top: usize) -> Value {
    json!({
        "file": file.display().to_string(),
        "duration_s": t.duration_s,
        "top": top_tags(&t.scores, top)
            .iter()
            .map(|(tag, s)| json!({"tag": tag, "score": s}))
            .collect::<Vec<_>>(),
        "scores": t.scores,
        "windows": t.windows
            .iter()
            .map(|(start, end, s)| json!({"start_s": start, "end_s": end, "scores": s}))
            .collect::<Vec<_>>(),
    })
}
