//! The data side of training: every clip's features (computed once, on all
//! cores, through the feature cache), the splits standardised in memory,
//! batches (augmented for training) and evaluation over a split.

use super::mix::family_of;
use super::patches::{PatchTargets, crop_target};
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
use std::path::{Path, PathBuf};

/// Features and targets of one split, standardised, in memory.
#[derive(Default)]
pub struct SplitData {
    pub x: Vec<Coefficients>,
    pub y: Vec<f32>,
    /// Each clip's family (see [`super::mix::family_of`]).
    pub families: Vec<String>,
    /// Each clip's teacher patches (`--patch-targets`, training only).
    pub patches: Vec<Option<Vec<f32>>>,
    /// Samples between frames (where a crop lies in the clip).
    pub hop: usize,
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
    pub path: PathBuf,
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
                path: clip.path.clone(),
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

/// The clips of `split`, standardised, leaving out the families in `without`,
/// with their teacher patches when `patches` has them.
pub(super) fn split_data(
    all: &[Featurised],
    split: Split,
    without: &[String],
    stats: &Standardisation,
    features: &mut Features,
    patches: Option<&PatchTargets>,
) -> SplitData {
    let len = features.window_len();
    let mut data = SplitData {
        hop: features.hop(),
        ..SplitData::default()
    };
    let (mut missing, mut set) = (0, 0);
    for f in all {
        if f.split == split && !without.contains(&f.family) {
            let mut c = f.x.clone();
            features.standardise(&mut c, stats, len);
            data.x.push(c);
            data.y.extend_from_slice(&f.y);
            data.families.push(f.family.clone());
            let p = patches.and_then(|p| p.for_clip(&f.path, &f.y));
            missing += usize::from(patches.is_some() && p.is_none());
            set += p.as_ref().map_or(0, |p| p.1);
            data.patches.push(p.map(|p| p.0));
        }
    }
    if patches.is_some() {
        eprintln!(
            "patch targets: {} of {} {} clips ({missing} keep their clip target on crops); \
             {set} clip tags set to a clip target that is not the patches' mean (hard labels)",
            data.len() - missing,
            data.len(),
            split.as_str()
        );
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
        let starts;
        (frames, starts) = augment.crop(rng, &mut xs, rows, frames);
        // A crop's target: the teacher's patches it covers, where known.
        for (k, (&i, &start)) in idx.iter().zip(&starts).enumerate() {
            if let Some(t) = data.patches[i]
                .as_ref()
                .and_then(|p| crop_target(p, data.hop, start, frames))
            {
                ys[k * TAG_COUNT..(k + 1) * TAG_COUNT].copy_from_slice(&t);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use scatterbrain::model::ModelConfig;

    #[test]
    fn a_cropped_clip_takes_its_patches_target_and_a_whole_one_its_own() {
        let (rows, frames) = (3, 114);
        let clip = Coefficients {
            rows,
            frames,
            data: vec![0.0; rows * frames],
        };
        // Clip 0 has patches (patch k scores k / 10), clip 1 has none.
        let patches: Vec<f32> = (0..9 * TAG_COUNT)
            .map(|i| (i / TAG_COUNT) as f32 / 10.0)
            .collect();
        let data = SplitData {
            x: vec![clip.clone(), clip],
            y: vec![0.4; 2 * TAG_COUNT],
            families: vec!["a".into(), "b".into()],
            patches: vec![Some(patches.clone()), None],
            hop: 4096,
        };
        let device = Device::flex();
        let config = ModelConfig::from_name("scat-1l-8h-gru", rows).unwrap();
        let tagger = Tagger::new(&config, &device).unwrap();
        let augment = Augment {
            crop_frames: 20,
            ..Augment::default()
        };
        let (mut cropped, mut whole) = (0, 0);
        for n in 0..40 {
            // The same draws as `batch` makes, to know the crop.
            let (mut rng, mut probe) = (Augment::rng(1, n), Augment::rng(1, n));
            let mut xs = vec![0.0; 2 * rows * frames];
            let (len, starts) = augment.crop(&mut probe, &mut xs, rows, frames);
            let eq = EqRows::default();
            let (x, y) = batch(
                &tagger,
                &data,
                &[0, 1],
                &device,
                Some((&augment, &mut rng, &eq)),
            )
            .unwrap();
            assert_eq!(x.dims()[1], len);
            let y = y.into_data().try_into_vec::<f32>().unwrap();
            let want = if len < frames {
                cropped += 1;
                crop_target(&patches, 4096, starts[0], len).unwrap_or(vec![0.4; TAG_COUNT])
            } else {
                whole += 1;
                vec![0.4; TAG_COUNT]
            };
            assert_eq!(&y[..TAG_COUNT], &want[..]);
            assert!(
                y[TAG_COUNT..].iter().all(|&v| v == 0.4),
                "no patches: clip target"
            );
        }
        // Lengths are drawn from 20..=114: nearly every batch is cropped.
        assert!(
            cropped > 30,
            "{cropped} of 40 batches cropped, {whole} whole"
        );
    }
}
