//! `scatterbrain tag FILE... [--top N] [--json] [--model PATH] [--device cpu|wgpu] [--jobs N]`
//!
//! Each file is decoded and analysed window by window through the core's
//! analysis session (streaming: an hour-long file holds at most a batch of
//! windows of features at a time); the model scores every window and every
//! ~2 s of frames (the taggram), and the clip's scores are the windows' mean
//! (weighted by the audio each adds). Files are tagged `--jobs` at a time
//! (one per core by default, each worker with its own copy of the model and
//! its transform plan) and reported in the order given; with fewer files than workers, each file's windows are shared
//! out among `jobs / files` workers (each decodes the whole file and analyses
//! every `n`-th window), and their scores gathered. A file that cannot be tagged gets one line on stderr and the
//! others are still tagged; the exit code is non-zero only if some file failed.

use crate::device::{Backend, device};
use anyhow::{Context, Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use scatterbrain::decode::{AudioReader, EarlyEnd};
use scatterbrain::model::{Model, TagSupport};
use scatterbrain::pipeline::Shard;
use scatterbrain::session::{Analysis, FileTags, Session, SessionOptions};
use scatterbrain::tagging::Tagging;
use scatterbrain::tags::top_tags;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// The shipped model's file name, once for both uses below.
macro_rules! shipped_model {
    () => {
        "scat-4l-256h-gru.bpk"
    };
}
/// The shipped model (the page's is www/constants.js `MODEL_URL`: keep them
/// equal).
pub const SHIPPED_MODEL: &str = shipped_model!();
/// Its bytes, built into the binary, so that `tag` works from any folder
/// after `cargo install`.
static BUILT_IN: &[u8] = include_bytes!(concat!("../../models/", shipped_model!()));

#[derive(clap::Args)]
pub struct Args {
    /// Audio files; `-` reads one from standard input.
    #[arg(required = true, help = format!("Audio files ({}); `-` reads one from standard input", scatterbrain::decode::FORMATS))]
    pub files: Vec<PathBuf>,
    /// Tags to show per file (at least 1).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub top: u16,
    /// Print JSON (all scores, and the scores of every window) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Model file (default: $SCATTERBRAIN_MODEL, else the shipped
    /// models/scat-4l-256h-gru.bpk, built into this program).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Where the model runs.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub device: Backend,
    /// Workers tagging at once, each with its own copy of the model (default:
    /// one per core on the CPU, at most 16; one with wgpu); with fewer files
    /// than workers, each file's windows are shared out among them.
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// The model to tag with, as (how to name it, its bytes): `--model`,
/// `$SCATTERBRAIN_MODEL`, else the built-in shipped model.
pub fn model_bytes(given: Option<&Path>) -> Result<(String, Cow<'static, [u8]>)> {
    let path = given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SCATTERBRAIN_MODEL").map(PathBuf::from));
    Ok(match path {
        Some(p) => {
            let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            (p.display().to_string(), Cow::Owned(bytes))
        }
        None => (
            format!("models/{SHIPPED_MODEL} (built in)"),
            Cow::Borrowed(BUILT_IN),
        ),
    })
}

pub fn run(a: Args) -> Result<bool> {
    let (path, bytes) = model_bytes(a.model.as_deref())?;
    let dev = device(a.device)?;
    let load = || -> Result<Tagging> {
        let model = Model::from_bytes(&bytes, &dev).with_context(|| path.clone())?;
        Tagging::new(model).with_context(|| path.clone())
    };
    let first = load()?;
    let meta = first.model().metadata.clone();
    let name = meta.model.name();
    let untrained = meta.provenance.epochs.is_none();
    // Which scores are guesses (the model met the tag in too few clips).
    let support = TagSupport::of(&meta);
    let mut marked = false;
    // By default one worker per core, at most 16 (~1.5 GB of workers with
    // the shipped model); `--jobs` asks for more.
    let jobs = usize::from(a.jobs.unwrap_or(match a.device {
        Backend::Cpu => std::thread::available_parallelism().map_or(1, |n| n.get().min(16) as u16),
        _ => 1,
    }))
    .max(1);
    // Work items, (file, shard): with fewer files than workers each file's
    // windows are shared out, except standard input's (it can be read once).
    let shards = (jobs / a.files.len().max(1)).max(1);
    let plan: Vec<(usize, Shard)> = (a.files.iter().enumerate())
        .flat_map(|(i, file)| {
            let parts = if file == Path::new("-") { 1 } else { shards };
            (0..parts).map(move |part| (i, Shard { part, parts }))
        })
        .collect();
    let jobs = jobs.min(plan.len());
    let mut workers = vec![first];
    for _ in 1..jobs {
        workers.push(load()?);
    }

    let bar = ProgressBar::new(a.files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg} [{elapsed}<{eta}]")
            .expect("static template"),
    );
    let mut results = Vec::new();
    let mut failed = false;
    // Workers take the next item until none is left (or output has closed);
    // results come back in any order, are gathered per file and reported in
    // the order given.
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::channel();
        for mut tagging in workers {
            let (tx, next, stop, plan, files, bar) =
                (tx.clone(), &next, &stop, &plan, &a.files, &bar);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(&(i, shard)) = plan.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let file = &files[i];
                    bar.set_message(file.display().to_string());
                    // A panic (a bug in a decoder or the model stack) is
                    // this file's error: the worker and the batch go on,
                    // and the files after it are still reported.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        analyse(&mut tagging, file, shard, bar)
                    }))
                    .unwrap_or_else(|p| Err(anyhow!("internal error: {}", panic_text(&*p))));
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut parts: Vec<Vec<ShardResult>> = a.files.iter().map(|_| Vec::new()).collect();
        let mut needed = vec![0usize; a.files.len()];
        for &(i, _) in &plan {
            needed[i] += 1;
        }
        let mut pending: Vec<Option<FileResult>> = a.files.iter().map(|_| None).collect();
        let mut reported = 0;
        for (i, result) in rx {
            parts[i].push(result);
            if parts[i].len() == needed[i] {
                pending[i] = Some(gather(std::mem::take(&mut parts[i])));
            }
            while let Some(result) = pending.get_mut(reported).and_then(Option::take) {
                let file = &a.files[reported];
                reported += 1;
                match result {
                    Ok((t, early)) => {
                        let notes = warnings(&t, early.as_ref());
                        for w in &notes {
                            bar.suspend(|| eprintln!("warning: {}: {w}", file.display()));
                        }
                        if a.json {
                            results.push(json_file(
                                file,
                                &meta.tags,
                                &support,
                                &t,
                                a.top.into(),
                                &notes,
                            )?);
                        } else {
                            let (line, uncertain) =
                                text_line(file, &meta.tags, &support, &t, a.top.into());
                            marked |= uncertain;
                            if let Err(e) = bar.suspend(|| print_line(&line)) {
                                // Let the workers stop after their current file.
                                stop.store(true, Ordering::Relaxed);
                                return Err(e.into());
                            }
                        }
                    }
                    Err(e) => {
                        failed = true;
                        bar.suspend(|| eprintln!("error: {}", crate::about(file, &e)));
                        results.push(
                            json!({"file": file.display().to_string(), "error": format!("{e:#}")}),
                        );
                    }
                }
                bar.inc(1);
            }
        }
        Ok(())
    });
    bar.finish_and_clear();
    if let Err(e) = outcome {
        return match e.downcast_ref::<std::io::Error>() {
            Some(io) if closed(io) => Ok(!failed),
            _ => Err(e),
        };
    }
    if marked {
        eprintln!("note: {}", support.legend);
    }
    if untrained {
        eprintln!("note: {name} ({path}) records no training: its tags are not meaningful");
    }
    if a.json {
        let doc = json!({
            "model": {
                "name": name,
                "file": path,
                "provenance": meta.provenance,
            },
            "tags": &meta.tags,
            "support": &support,
            "files": results,
        });
        match print_line(&serde_json::to_string_pretty(&doc)?) {
            Err(e) if !closed(&e) => return Err(e.into()),
            _ => {}
        }
    }
    Ok(!failed)
}

/// One shard's analysis of a file, with why the file ended early (if it did).
pub type ShardResult = Result<(Analysis, Option<EarlyEnd>)>;
/// A file's tags, with why it ended early (if it did).
type FileResult = Result<(FileTags, Option<EarlyEnd>)>;

/// Decode one file (`-`: standard input) and analyse and score the windows
/// of `shard`; with why the file ended early, if it did.
pub fn analyse(tagging: &mut Tagging, file: &Path, shard: Shard, bar: &ProgressBar) -> ShardResult {
    let mut reader = AudioReader::open(file)?;
    let info = reader.info();
    let options = SessionOptions {
        shard,
        ..SessionOptions::default()
    };
    let mut session = Session::new(tagging, info.sample_rate, info.channels, options)?;
    while let Some(pcm) = reader.next_packet()? {
        session.push(tagging, pcm, &mut |_| {})?;
        bar.set_message(format!(
            "{}: {:.0} s",
            file.display(),
            session.seconds_seen()
        ));
    }
    let early = reader.ended_early().cloned();
    Ok((session.finish(tagging, &mut |_| {})?, early))
}

/// A panic's message, if it has one.
fn panic_text(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

/// A file's tags from the analyses of all its shards (the first error if
/// any failed): their windows' scores in stream order.
fn gather(parts: Vec<ShardResult>) -> FileResult {
    let mut parts = parts.into_iter().collect::<Result<Vec<_>>>()?.into_iter();
    // Every shard decodes the whole file: the first one's end stands for all.
    let (mut first, early) = parts.next().context("no analysis")?;
    let mut scores = std::mem::take(&mut first.scores);
    scores.extend(parts.flat_map(|(p, _)| p.scores));
    scores.sort_by_key(|w| w.start);
    Ok((first.tags_of(scores), early))
}

/// `FILE: tag 0.42, tag? 0.30, …` (`?`: an uncertain tag), and whether any
/// tag shown is uncertain.
fn text_line(
    file: &Path,
    names: &[String],
    support: &TagSupport,
    t: &FileTags,
    top: usize,
) -> (String, bool) {
    if t.silent {
        // The model's scores for nothing are not tags (the warning says why).
        return (format!("{}: silent, no tags", file.display()), false);
    }
    let mut marked = false;
    let mut one = |i: usize, tag: &str, s: f32| {
        let mark = if support.uncertain(i) { "?" } else { "" };
        marked |= !mark.is_empty();
        format!("{tag}{mark} {s:.2}")
    };
    let tags: Vec<String> = top_tags(names, &t.scores, top)
        .into_iter()
        .map(|r| {
            let row = one(r.index, r.tag, r.score);
            let also: Vec<String> = r.also.iter().map(|&(i, tag, s)| one(i, tag, s)).collect();
            if also.is_empty() {
                row
            } else {
                // A spelling variant ("no vocal" beside "no vocals"): one row.
                format!("{row} (also {})", also.join(", "))
            }
        })
        .collect();
    (format!("{}: {}", file.display(), tags.join(", ")), marked)
}

fn json_file(
    file: &Path,
    names: &[String],
    support: &TagSupport,
    t: &FileTags,
    top: usize,
    warnings: &[String],
) -> Result<Value> {
    let mut v = serde_json::to_value(t)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("file".into(), file.display().to_string().into());
        o.insert("warnings".into(), warnings.into());
        // Silent audio: `scores` holds what the model says of nothing, no top tags.
        let top = if t.silent { 0 } else { top };
        o.insert(
            "top".into(),
            top_tags(names, &t.scores, top).into_iter()
                .map(|r| {
                    let one = |i, tag, s| json!({"tag": tag, "score": s, "uncertain": support.uncertain(i)});
                    let mut row = one(r.index, r.tag, r.score);
                    if !r.also.is_empty() {
                        row["also"] = r.also.iter().map(|&(i, tag, s)| one(i, tag, s)).collect();
                    }
                    row
                })
                .collect(),
        );
    }
    Ok(v)
}

/// What the user should know of a file's reading: samples read as silence,
/// a file that ended early, audio that is silent. Once per file.
fn warnings(t: &FileTags, early: Option<&EarlyEnd>) -> Vec<String> {
    let non_finite = (t.non_finite > 0).then(|| {
        format!(
            "{} samples were NaN or infinite and were read as silence",
            t.non_finite
        )
    });
    let silent = t.silence_note().map(|note| format!("{note}: no tags"));
    non_finite
        .into_iter()
        .chain(early.map(ToString::to_string))
        .chain(silent)
        .collect()
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
