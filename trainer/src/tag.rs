//! `scatterbrain tag FILE... [--top N] [--json] [--model PATH] [--device cpu|wgpu]`
//!
//! Each file is decoded and analysed window by window through the core's
//! analysis session (streaming: an hour-long file holds at most a batch of
//! windows of features at a time); the model scores every window and every
//! ~2 s of frames (the taggram), and the clip's scores are the windows' mean. A file that cannot be tagged gets one line on stderr and the others
//! are still tagged; the exit code is non-zero only if some file failed.

use crate::device::{Backend, device};
use anyhow::{Context, Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use scatterbrain::decode::AudioReader;
use scatterbrain::model::Model;
use scatterbrain::session::{FileTags, Session, SessionOptions};
use scatterbrain::tagging::Tagging;
use scatterbrain::tags::top_tags;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The shipped model, looked up in `./models/` and then beside the sources
/// (the page's is www/constants.js `MODEL_URL`: keep them equal).
pub const SHIPPED_MODEL: &str = "scat-4l-256h-gru.bpk";

#[derive(clap::Args)]
pub struct Args {
    /// Audio files (MP3, WAV, FLAC, Ogg/Vorbis).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Tags to show per file (at least 1).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub top: u16,
    /// Print JSON (all scores, and the scores of every window) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Model file (default: $SCATTERBRAIN_MODEL, else the shipped models/scat-4l-256h-gru.bpk).
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
        Some(Path::new("models").join(SHIPPED_MODEL)),
        crate_dir().map(|d| d.join("../models").join(SHIPPED_MODEL)),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!("no model: models/{SHIPPED_MODEL} was not found; give one with --model FILE")
        })
}

/// The trainer's source folder: `cargo run`'s and `cargo test`'s, else the one
/// it was built from. Cargo's variable comes first because the target folder
/// may be shared by clones at other paths (tests/run), whose binaries carry
/// the path of the clone that built them.
pub fn crate_dir() -> Option<PathBuf> {
    let at_run = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let at_build = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    at_run.into_iter().chain([at_build]).find(|d| d.is_dir())
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
                if let Some(w) = non_finite_warning(file, &t) {
                    bar.suspend(|| eprintln!("{w}"));
                }
                let names = &tagging.model().metadata.tags;
                if !a.json {
                    let line = text_line(file, names, &t, a.top.into());
                    if let Err(e) = bar.suspend(|| print_line(&line)) {
                        bar.finish_and_clear();
                        return if closed(&e) {
                            Ok(!failed)
                        } else {
                            Err(e.into())
                        };
                    }
                } else {
                    results.push(json_file(file, names, &t, a.top.into())?);
                }
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
            "tags": &meta.tags,
            "files": results,
        });
        match print_line(&serde_json::to_string_pretty(&doc)?) {
            Err(e) if !closed(&e) => return Err(e.into()),
            _ => {}
        }
    }
    Ok(!failed)
}

/// Decode, analyse and score one file (`-`: standard input).
pub fn tag_file(tagging: &mut Tagging, file: &Path, bar: &ProgressBar) -> Result<FileTags> {
    let mut reader = AudioReader::open(file)?;
    let info = reader.info();
    let mut session = Session::new(
        tagging,
        info.sample_rate,
        info.channels,
        SessionOptions::default(),
    )?;
    while let Some(pcm) = reader.next_packet()? {
        session.push(tagging, pcm, &mut |_| {})?;
        bar.set_message(format!(
            "{}: {:.0} s",
            file.display(),
            session.seconds_seen()
        ));
    }
    Ok(session.finish(tagging, &mut |_| {})?.tags())
}

fn text_line(file: &Path, names: &[String], t: &FileTags, top: usize) -> String {
    let tags: Vec<String> = top_tags(names, &t.scores, top)
        .iter()
        .map(|(tag, s)| format!("{tag} {s:.2}"))
        .collect();
    format!("{}: {}", file.display(), tags.join(", "))
}

fn json_file(file: &Path, names: &[String], t: &FileTags, top: usize) -> Result<Value> {
    let mut v = serde_json::to_value(t)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("file".into(), file.display().to_string().into());
        o.insert(
            "top".into(),
            top_tags(names, &t.scores, top)
                .iter()
                .map(|(tag, s)| json!({"tag": tag, "score": s}))
                .collect(),
        );
    }
    Ok(v)
}

/// `non_finite` samples were read as silence: say so once per file.
fn non_finite_warning(file: &Path, t: &FileTags) -> Option<String> {
    (t.non_finite > 0).then(|| {
        format!(
            "warning: {}: {} samples were NaN or infinite and were read as silence",
            file.display(),
            t.non_finite
        )
    })
}

/// Print a line; a closed standard output (`| head`) ends the output
/// quietly instead of panicking.
fn print_line(line: &str) -> Result<(), std::io::Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

fn closed(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}
