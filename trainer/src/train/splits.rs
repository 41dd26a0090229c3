//! The data side of training: every clip's features (computed once, on all
//! cores, through the feature cache), the splits standardised in memory,
//! batches (augmented for training) and evaluation over a split.

use super::mix::family_of;
use crate::augment::{Augment, EqRows};
use crate::cache::FeatureCache;
use crate::data::{Clip, Split};
use crate::step::scalar;
use anyhow::{Result, anyhow, bail};
use burn::tensor::{Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::model::prepared::PreparedLayers;
use scatterbrain::model::{Device, Tagger, bce_with_logits};
use scatterbrain::normalise::Standardisation;
use scatterbrain::tags::TAG_COUNT;
use scatterbrain::transform::{Coefficients, FrontEnd};
use std::path::Path;

/// Features and targets of one split, standardised, in memory.
#[derive(Default)]
pub struct SplitData {
    pub x: Vec<Coefficients>,
    pub y: Vec<f32>,
    /// Each clip's family (see [`super::mix::family_of`]).
    pub families: Vec<String>,
}

impl SplitData {
    pub fn len(&self) -> usize {
        self.x.len()
    }
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// One clip's features and what training needs to know of it.
pub(super) struct Featurised {
    pub split: Split,
    pub x: Coefficients,
    pub y: Vec<f32>,
    pub family: String,
}

/// Compute (or read from the cache) every clip's features, on all cores (each
/// thread has its own transform plan); clips that fail to decode are reported
/// and skipped.
pub(super) fn featurise(
    clips: &[Clip],
    cache_dir: &Path,
    fe: &FeatureConfig,
) -> Result<Vec<Featurised>> {
    let bar = ProgressBar::new(clips.len() as u64).with_style(
        ProgressStyle::with_template("features {bar:30} {pos}/{len} [{elapsed}<{eta}] {msg}")
            .expect("static template"),
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = clips.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<Option<Coefficients>>>> = std::thread::scope(|s| {
        let handles: Vec<_> = clips
            .chunks(chunk)
            .map(|part| {
                let bar = bar.clone();
                s.spawn(move || -> Result<Vec<Option<Coefficients>>> {
                    let mut cache = FeatureCache::new(cache_dir, fe)?;
                    Ok(part
                        .iter()
                        .map(|clip| {
                            let r = cache.get(clip);
                            bar.inc(1);
                            r.map_err(|e| bar.suspend(|| eprintln!("skipped: {e:#}")))
                                .ok()
                        })
                        .collect())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a feature thread panicked")))
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut out = Vec::with_capacity(clips.len());
    let mut failed = 0;
    let features = results.into_iter().collect::<Result<Vec<_>>>()?;
    for (clip, c) in clips.iter().zip(features.into_iter().flatten()) {
        match c {
            Some(x) => out.push(Featurised {
                split: clip.split,
                x,
                y: clip.targets.clone(),
                family: family_of(&clip.path),
            }),
            None => failed += 1,
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} clips skipped", clips.len());
    }
    Ok(out)
}

/// The clips of `split`, standardised, leaving out the families in `without`.
pub(super) fn split_data(
    all: &[Featurised],
    split: Split,
    without: &[String],
    stats: &Standardisation,
    features: &mut Features,
) -> SplitData {
    let len = features.window_len();
    let mut data = SplitData::default();
    for f in all {
        if f.split == split && !without.contains(&f.family) {
            let mut c = f.x.clone();
            features.standardise(&mut c, stats, len);
            data.x.push(c);
            data.y.extend_from_slice(&f.y);
            data.families.push(f.family.clone());
        }
    }
    data
}

/// The rows as `--eq-db` sees them (empty when it is off); refused for a
/// front end whose rows are not the normalised, log-compressed scattering.
pub(super) fn eq_rows(
    augment: &Augment,
    fe: &FeatureConfig,
    features: &mut Features,
    stats: &Standardisation,
) -> Result<EqRows> {
    if augment.eq_db == 0.0 {
        return Ok(EqRows::default());
    }
    if !matches!(fe.front_end, FrontEnd::Scattering(_)) || fe.normaliser.log_eps.is_none() {
        bail!(
            "--eq-db needs the scattering front end with log compression (its rows are ln ratios)"
        );
    }
    let len = features.window_len();
    let standardised = features.standardised_rows(len);
    let info = features.rows(len);
    Ok(EqRows::new(&info, |r| {
        if standardised[r] {
            1.0 / stats.std[r].max(1e-12)
        } else {
            1.0
        }
    }))
}

/// A batch `[B, T, I]` and its targets `[B, 50]` on `device`, augmented
/// when `augment` is given (training batches only).
pub(super) fn batch(
    tagger: &Tagger,
    data: &SplitData,
    idx: &[usize],
    device: &Device,
    augment: Option<(&Augment, &mut StdRng, &EqRows)>,
) -> Result<(Tensor<3>, Tensor<2>)> {
    let (rows, mut frames) = (data.x[idx[0]].rows, data.x[idx[0]].frames);
    let mut xs = Vec::with_capacity(idx.len() * data.x[idx[0]].data.len());
    let mut ys = Vec::with_capacity(idx.len() * TAG_COUNT);
    for &i in idx {
        xs.extend_from_slice(&data.x[i].data);
        ys.extend_from_slice(&data.y[i * TAG_COUNT..(i + 1) * TAG_COUNT]);
    }
    if let Some((augment, rng, eq)) = augment {
        augment.apply(rng, &mut xs, &mut ys, rows, TAG_COUNT, eq);
        frames = augment.crop(rng, &mut xs, rows, frames);
    }
    let x = tagger
        .input_from_coefficients(&xs, idx.len(), frames, device)
        .map_err(|e| anyhow!("{e}"))?;
    let y = Tensor::<2>::from_data(TensorData::new(ys, [idx.len(), TAG_COUNT]), device);
    Ok((x, y))
}

/// Scores (clips × 50) and mean loss of `tagger` (a validation snapshot on a
/// plain device) over a split.
pub fn evaluate(
    tagger: &Tagger,
    data: &SplitData,
    batch_size: usize,
    device: &Device,
) -> Result<(Vec<f32>, f64)> {
    // The GRU's hidden weights laid out once for every batch, not per batch.
    PreparedLayers::scope_for(tagger, device, || {
        let mut scores = Vec::with_capacity(data.len() * TAG_COUNT);
        let mut loss = 0.0f64;
        let idx: Vec<usize> = (0..data.len()).collect();
        for chunk in idx.chunks(batch_size) {
            let (x, y) = batch(tagger, data, chunk, device, None)?;
            let logits = tagger.forward(x);
            loss += f64::from(scalar(bce_with_logits(logits.clone(), y))?) * chunk.len() as f64;
            let p = burn::tensor::activation::sigmoid(logits)
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| anyhow!("{e:?}"))?;
            scores.extend(p);
        }
        Ok((scores, loss / data.len().max(1) as f64))
    })
}
