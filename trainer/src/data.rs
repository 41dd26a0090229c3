//! Training data: MagnaTagATune in its own layout, or a manifest (CSV/JSONL)
//! for any other collection. Both give clips with a split and 50 targets in
//! [`TAGS`] order.

use anyhow::{Context, Result, anyhow, bail};
use scatterbrain::tags::{TAG_COUNT, TAGS};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Valid,
    Test,
    /// Tracks held out of packages that also train: look-alike music, reported apart.
    TrackValid,
    TrackTest,
}

impl std::str::FromStr for Split {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" => Ok(Split::Train),
            "valid" | "validation" | "val" => Ok(Split::Valid),
            "test" => Ok(Split::Test),
            "track-validation" | "track-valid" => Ok(Split::TrackValid),
            "track-test" => Ok(Split::TrackTest),
            other => bail!(
                "unknown split {other:?} (expected train, valid, test, track-validation or track-test)"
            ),
        }
    }
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
            Split::TrackValid => "track-validation",
            Split::TrackTest => "track-test",
        }
    }
}

/// Where the clips come from: `--mtat DIR` or `--manifest FILE` (shared by
/// `train` and `eval`).
#[derive(clap::Args, Clone, Debug)]
pub struct Source {
    /// MagnaTagATune root (annotations_final.csv and folders 0–f).
    #[arg(
        long,
        conflicts_with = "manifest",
        required_unless_present = "manifest"
    )]
    pub mtat: Option<PathBuf>,
    /// A manifest (CSV: path,split,<50 tags>; or JSONL: path, split, targets).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
}

impl Source {
    pub fn load(&self) -> Result<Vec<Clip>> {
        match (&self.mtat, &self.manifest) {
            (Some(root), _) => read_mtat(root),
            (None, Some(m)) => read_manifest(m),
            (None, None) => bail!("give --mtat DIR or --manifest FILE"),
        }
    }
}

/// One training example.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub path: PathBuf,
    pub split: Split,
    /// 50 values in [0, 1], [`TAGS`] order (soft targets allowed).
    pub targets: Vec<f32>,
}

/// MagnaTagATune as distributed: `annotations_final.csv` (tab-separated,
/// quoted: `clip_id`, 188 tag columns, `mp3_path`) beside the folders `0`–`f`.
///
/// The paper's protocol: the 50 most frequent tags (which are [`TAGS`] for the
/// real dataset; a dataset whose top 50 differ is an error naming the
/// difference), folders `0`–`b` train, `c` validation, `d`–`f` test, clips
/// with none of the 50 tags dropped. Clips are trimmed to 29 s when their
/// features are computed (the first analysis window).
pub fn read_mtat(root: &Path) -> Result<Vec<Clip>> {
    let csv_path = root.join("annotations_final.csv");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .from_path(&csv_path)
        .with_context(|| format!("reading {}", csv_path.display()))?;
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("{}: no header", csv_path.display()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let path_col =
        col("mp3_path").ok_or_else(|| anyhow!("{}: no mp3_path column", csv_path.display()))?;
    let tag_cols: Vec<(usize, &String)> = header
        .iter()
        .enumerate()
        .filter(|(i, h)| *i != path_col && h.as_str() != "clip_id")
        .collect();

    let mut rows: Vec<(String, Vec<bool>)> = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} row {}", csv_path.display(), n + 2))?;
        let path = record
            .get(path_col)
            .ok_or_else(|| anyhow!("{} row {}: short row", csv_path.display(), n + 2))?
            .trim()
            .to_string();
        let values = tag_cols
            .iter()
            .map(|(i, _)| record.get(*i).is_some_and(|v| v.trim() == "1"))
            .collect();
        rows.push((path, values));
    }

    // The 50 most frequent tags must be ours (ties broken by column order).
    let mut counts: Vec<(usize, usize)> = (0..tag_cols.len())
        .map(|t| (t, rows.iter().filter(|r| r.1[t]).count()))
        .collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top: Vec<&str> = counts
        .iter()
        .take(TAG_COUNT)
        .map(|(t, _)| tag_cols[*t].1.as_str())
        .collect();
    let missing: Vec<&&str> = TAGS.iter().filter(|t| !top.contains(t)).collect();
    if !missing.is_empty() {
        bail!(
            "{}: the 50 most frequent tags are not MagnaTagATune's usual 50 (missing: {missing:?})",
            csv_path.display()
        );
    }
    let index: HashMap<&str, usize> = tag_cols
        .iter()
        .enumerate()
        .map(|(k, (_, name))| (name.as_str(), k))
        .collect();
    let ours: Vec<usize> = TAGS.iter().map(|t| index[t]).collect();

    let mut clips = Vec::new();
    for (path, values) in rows {
        let targets: Vec<f32> = ours
            .iter()
            .map(|&k| f32::from(u8::from(values[k])))
            .collect();
        if targets.iter().all(|&v| v == 0.0) {
            continue;
        }
        let folder = path.chars().next().unwrap_or(' ');
        let split = match folder {
            '0'..='9' | 'a' | 'b' => Split::Train,
            'c' => Split::Valid,
            'd'..='f' => Split::Test,
            _ => bail!("{}: {path:?} is not in a folder 0–f", csv_path.display()),
        };
        clips.push(Clip {
            path: root.join(&path),
            split,
            targets,
        });
    }
    Ok(clips)
}

#[derive(Deserialize)]
struct JsonClip {
    #[serde(alias = "audio")]
    path: PathBuf,
    split: String,
    targets: Vec<f32>,
}

/// A manifest: CSV with a header `path,split,<the 50 tag names in any order>`
/// (`audio` is accepted for `path`),
/// or JSON lines `{"path": …, "split": "train", "targets": [50 values in TAGS
/// order]}`. Relative paths are relative to the manifest's folder.
pub fn read_manifest(path: &Path) -> Result<Vec<Clip>> {
    let base = path.parent().unwrap_or(Path::new("."));
    let is_jsonl = path
        .extension()
        .is_some_and(|e| e == "jsonl" || e == "json");
    let mut clips = Vec::new();
    if is_jsonl {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let c: JsonClip = serde_json::from_str(line)
                .with_context(|| format!("{} line {}", path.display(), n + 1))?;
            clips.push(Clip {
                path: base.join(c.path),
                split: c
                    .split
                    .parse()
                    .with_context(|| format!("{} line {}", path.display(), n + 1))?,
                targets: c.targets,
            });
        }
    } else {
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
        let header: Vec<String> = reader
            .headers()?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| anyhow!("{}: no column {name:?}", path.display()))
        };
        let path_col = col("path").or_else(|_| col("audio"))?;
        let split_col = col("split")?;
        let tag_cols = TAGS.iter().map(|t| col(t)).collect::<Result<Vec<_>>>()?;
        for (n, record) in reader.records().enumerate() {
            let at = || format!("{} row {}", path.display(), n + 2);
            let record = record.with_context(at)?;
            let field = |i: usize| record.get(i).ok_or_else(|| anyhow!("{}: short row", at()));
            let targets = tag_cols
                .iter()
                .map(|&i| {
                    field(i)?
                        .trim()
                        .parse::<f32>()
                        .with_context(|| format!("{}: column {}", at(), header[i]))
                })
                .collect::<Result<Vec<f32>>>()?;
            clips.push(Clip {
                path: base.join(field(path_col)?.trim()),
                split: field(split_col)?.parse().with_context(at)?,
                targets,
            });
        }
    }
    for c in &clips {
        if c.targets.len() != TAG_COUNT {
            bail!(
                "{}: {} has {} targets, expected {TAG_COUNT}",
                path.display(),
                c.path.display(),
                c.targets.len()
            );
        }
        if c.targets.iter().any(|v| !(0.0..=1.0).contains(v)) {
            bail!(
                "{}: {} has a target outside [0, 1]",
                path.display(),
                c.path.display()
            );
        }
    }
    Ok(clips)
}
