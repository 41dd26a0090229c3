//! `scatterbrain eval`: per-tag ROC-AUC and PR-AUC of a model file on a split
//! of MagnaTagATune or a manifest.

use crate::cache::{FeatureCache, cache_dir};
use crate::data::{Source, Split};
use crate::device::{Backend, device};
use crate::metrics::{macro_mean, per_tag};
use crate::train::{SplitData, evaluate, family_of};
use anyhow::{Context, Result, anyhow};
use scatterbrain::model::Model;
use scatterbrain::tagging::{feature_config, standardisation};
use scatterbrain::tags::{TAG_COUNT, TAGS};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model file.
    pub model: PathBuf,
    #[command(flatten)]
    pub data: Source,
    /// Which split to score: train, valid, test, or (the corpus's)
    /// track-validation / track-test: tracks held out of packages that also
    /// train, look-alike music whose figures are optimistic (valid and test
    /// are whole held-out packages).
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 16, value_parser = crate::train::at_least_one)]
    pub batch: usize,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub device: Backend,
    /// Feature cache folder (default: ~/.cache/scatterbrain/features).
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<()> {
    let split: Split = a.split.parse()?;
    let clips = a.data.load()?;
    let bytes =
        std::fs::read(&a.model).with_context(|| format!("reading {}", a.model.display()))?;
    let dev = device(a.device)?;
    let model =
        Model::from_bytes(&bytes, &dev).with_context(|| format!("{}", a.model.display()))?;
    let fe = feature_config(&model.metadata)?;
    let mut cache = FeatureCache::new(&cache_dir(a.cache.as_deref()), &fe)?;
    let stats = standardisation(&model.metadata);
    let mut data = SplitData::default();
    for clip in clips.iter().filter(|c| c.split == split) {
        match cache.get(clip) {
            Ok(mut c) => {
                if let Some(stats) = &stats {
                    let f = cache.features();
                    let len = f.window_len();
                    f.standardise(&mut c, stats, len);
                }
                data.x.push(c);
                data.y.extend_from_slice(&clip.targets);
                data.families.push(family_of(&clip.path));
            }
            Err(e) => eprintln!("skipped: {e:#}"),
        }
    }
    if data.is_empty() {
        return Err(anyhow!("no clips in the {} split", split.as_str()));
    }
    let (scores, loss) = evaluate(model.tagger(), &data, a.batch, &model.device)?;
    let figures = per_tag(&scores, &data.y, TAG_COUNT);
    let roc = macro_mean(figures.iter().map(|f| f.roc_auc));
    let pr = macro_mean(figures.iter().map(|f| f.pr_auc));
    if a.json {
        let doc = serde_json::json!({
            "model": model.metadata.model.name(),
            "split": split.as_str(),
            "clips": data.len(),
            "loss": loss,
            "roc_auc": roc,
            "pr_auc": pr,
            "per_tag": figures.iter().zip(TAGS).map(|(f, t)| serde_json::json!({
                "tag": t, "roc_auc": f.roc_auc, "pr_auc": f.pr_auc, "positives": f.positives,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let fmt = |v: Option<f64>| v.map_or("   –  ".into(), |v| format!("{v:.4}"));
        println!(
            "{:<14} {:>9} {:>7} {:>7}",
            "tag", "positives", "ROC-AUC", "PR-AUC"
        );
        for (f, t) in figures.iter().zip(TAGS) {
            println!(
                "{t:<14} {:>9} {:>7} {:>7}",
                f.positives,
                fmt(f.roc_auc),
                fmt(f.pr_auc)
            );
        }
        println!(
            "{} clips ({}), macro ROC-AUC {}, PR-AUC {}, loss {loss:.4}",
            data.len(),
            split.as_str(),
            fmt(roc),
            fmt(pr)
        );
    }
    Ok(())
}
