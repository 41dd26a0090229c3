//! From a model file to tag scores for audio: the step after the front end,
//! shared by the native CLI and the browser binding so both tag the same way.
//!
//! A model file records the front end it was trained with (a
//! [`FeatureConfig`]) and its input standardisation; [`Tagging`] builds that
//! front end, checks it produces the model's input size, and turns analysis
//! windows into per-window scores (the taggram). A clip's scores are the mean
//! of its windows' scores, each weighted by the audio it adds to the windows
//! before it ([`clip_scores`]): each window is a 29 s clip like the ones the
//! model was trained on, and averaging probabilities keeps a tag that is
//! strong in one part of a long song visible without letting one window
//! dominate. The weights matter for the last window, which ends with the
//! audio and so overlaps the one before it: unweighted, one sample past 58 s
//! counted the second half twice.

use crate::features::{FeatureConfig, Features};
use crate::model::{Model, ModelFileError, ModelMetadata, PredictError, Prediction};
use crate::normalise::Standardisation;
use crate::pipeline::WindowFeatures;
use crate::transform::Coefficients;

/// Windows per forward pass: batching amortises the per-step overhead of the
/// recurrence; 8 windows of 29 s keep the input under 3 MB.
pub const BATCH: usize = 8;

/// The front-end configuration a model was trained with.
pub fn feature_config(meta: &ModelMetadata) -> Result<FeatureConfig, ModelFileError> {
    if meta.front_end.is_null() {
        return Err(ModelFileError::BadMetadata(
            "the model file does not record its front end".into(),
        ));
    }
    serde_json::from_value(meta.front_end.clone())
        .map_err(|e| ModelFileError::BadMetadata(format!("front end: {e}")))
}

/// The input statistics a model file records, in the front end's form.
pub fn standardisation(meta: &ModelMetadata) -> Option<Standardisation> {
    meta.normalisation.as_ref().map(|s| Standardisation {
        mean: s.mean.clone(),
        std: s.std.clone(),
    })
}

/// A model ready to tag audio: the model, the front end it expects and its
/// input statistics.
pub struct Tagging {
    model: Model,
    features: Features,
    stats: Option<Standardisation>,
}

impl Tagging {
    /// Build the model's front end and check that it gives the model's input
    /// size (a model file whose front end and weights disagree is rejected
    /// here, not at the first forward pass).
    pub fn new(model: Model) -> Result<Self, ModelFileError> {
        let config = feature_config(&model.metadata)?;
        let mut features = Features::new(config);
        // Without building the front end's plan where the configuration
        // gives the count: the plan is built on first use (or by `warm`).
        let rows = features.row_count(features.window_len());
        model.check_input_size(rows)?;
        let stats = standardisation(&model.metadata);
        Ok(Tagging {
            model,
            features,
            stats,
        })
    }

    /// The model's front end.
    pub fn features(&self) -> &Features {
        &self.features
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Build the front end's plan for the model's window now rather than at
    /// the first window (the page does it right after reporting the model
    /// ready, while nobody waits).
    pub fn warm(&mut self) {
        let len = self.features.window_len();
        self.features.rows(len);
    }

    /// The front end, its statistics and the model, borrowed together: a
    /// [`crate::pipeline::Pipeline`] in [`crate::pipeline::Form::Model`] holds
    /// the first two while [`score_windows`] runs the model on its windows.
    pub fn parts(&mut self) -> (&mut Features, Option<&Standardisation>, &Model) {
        (&mut self.features, self.stats.as_ref(), &self.model)
    }
}

/// One window's scores: its place in the stream, its clip scores (in the
/// model's tag order) and, for recurrent models, its per-frame logits.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowScores {
    /// Offset of the window in the front end's stream, samples.
    pub start: u64,
    /// Samples of real audio in the window.
    pub valid: usize,
    pub scores: Vec<f32>,
    /// Logits, tags × frames (frame k centred on `start + hop·k`).
    pub frame_logits: Option<Coefficients>,
}

/// Score windows of model input (`Form::Model`, from the front end of
/// [`Tagging::parts`]) in batches of [`BATCH`].
pub fn score_windows(
    model: &Model,
    windows: &[WindowFeatures],
) -> Result<Vec<WindowScores>, PredictError> {
    let mut out = Vec::with_capacity(windows.len());
    for batch in windows.chunks(BATCH) {
        let (data, frames) = batch_input(batch)?;
        let p = model.predict_frames(&data, batch.len(), frames)?;
        out.extend(split(batch, p, frames));
    }
    Ok(out)
}

/// As [`score_windows`], reading back asynchronously (WebGPU).
pub async fn score_windows_async(
    model: &Model,
    windows: &[WindowFeatures],
) -> Result<Vec<WindowScores>, PredictError> {
    let mut out = Vec::with_capacity(windows.len());
    for batch in windows.chunks(BATCH) {
        let (data, frames) = batch_input(batch)?;
        let p = model
            .tagger()
            .predict_frames_async(&data, batch.len(), frames, &model.device)
            .await?;
        out.extend(split(batch, p, frames));
    }
    Ok(out)
}

/// Concatenate windows (each rows × frames) into one coefficient-major batch.
fn batch_input(batch: &[WindowFeatures]) -> Result<(Vec<f32>, usize), PredictError> {
    let first = &batch
        .first()
        .ok_or_else(|| PredictError::Shape("no windows".into()))?
        .coefficients;
    let mut data = Vec::with_capacity(batch.len() * first.data.len());
    for w in batch {
        let c = &w.coefficients;
        if c.rows != first.rows || c.frames != first.frames {
            return Err(PredictError::Shape(format!(
                "windows of different shapes ({}×{} and {}×{})",
                first.rows, first.frames, c.rows, c.frames
            )));
        }
        data.extend_from_slice(&c.data);
    }
    Ok((data, first.frames))
}

/// One batch's prediction, window by window (frame logits transposed to
/// tags × frames, the layout of front-end coefficients).
fn split(batch: &[WindowFeatures], p: Prediction, frames: usize) -> Vec<WindowScores> {
    let tags = p.scores.len() / batch.len().max(1);
    batch
        .iter()
        .enumerate()
        .map(|(i, w)| WindowScores {
            start: w.start,
            valid: w.valid,
            scores: p.scores[i * tags..(i + 1) * tags].to_vec(),
            frame_logits: p.step_logits.as_ref().map(|l| {
                let steps = &l[i * frames * tags..(i + 1) * frames * tags];
                let mut data = vec![0.0; tags * frames];
                for (f, step) in steps.chunks_exact(tags).enumerate() {
                    for (t, v) in step.iter().enumerate() {
                        data[t * frames + f] = *v;
                    }
                }
                Coefficients {
                    rows: tags,
                    frames,
                    data,
                }
            }),
        })
        .collect()
}

/// A clip's scores: the mean of its windows' scores (empty for no windows),
/// each window (in stream order) weighted by the samples it covers that no
/// window before it did.
pub fn clip_scores(windows: &[WindowScores]) -> Vec<f32> {
    let Some(first) = windows.first() else {
        return Vec::new();
    };
    let mut sum = vec![0.0f64; first.scores.len()];
    let (mut covered, mut total) = (0u64, 0.0f64);
    for w in windows {
        let end = w.start + w.valid as u64;
        // A window that adds nothing still counts a little, so that scores
        // exist even for windows wholly inside earlier ones.
        let weight = end.saturating_sub(w.start.max(covered)).max(1) as f64;
        covered = covered.max(end);
        total += weight;
        for (s, v) in sum.iter_mut().zip(&w.scores) {
            *s += weight * f64::from(*v);
        }
    }
    sum.into_iter().map(|s| (s / total) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(start: u64, valid: usize, scores: Vec<f32>) -> WindowScores {
        WindowScores {
            start,
            valid,
            scores,
            frame_logits: None,
        }
    }

    #[test]
    fn clip_scores_average_windows_by_the_audio_each_adds() {
        let w = [
            scored(0, 100, vec![0.0, 1.0, 0.5]),
            scored(100, 100, vec![1.0, 1.0, 0.0]),
        ];
        assert_eq!(clip_scores(&w), vec![0.5, 1.0, 0.25]);
        assert!(clip_scores(&[]).is_empty());
        // 201 samples: the end-aligned third window adds one sample, and
        // weighs one sample (it counted as much as each half before).
        let w = [
            scored(0, 100, vec![0.0]),
            scored(100, 100, vec![1.0]),
            scored(101, 100, vec![1.0]),
        ];
        let c = clip_scores(&w)[0];
        assert!((c - 101.0 / 201.0).abs() < 1e-6, "{c}");
    }

    #[test]
    fn split_transposes_frame_logits() {
        let w = |start| WindowFeatures {
            index: 0,
            raw: None,
            start,
            valid: 10,
            coefficients: Coefficients {
                rows: 1,
                frames: 3,
                data: vec![0.0; 3],
            },
        };
        // 2 windows × 3 frames × 2 tags.
        let p = Prediction {
            scores: vec![0.1, 0.2, 0.3, 0.4],
            step_logits: Some((0..12).map(|v| v as f32).collect()),
        };
        let out = split(&[w(0), w(10)], p, 3);
        assert_eq!(out[1].start, 10);
        assert_eq!(out[1].scores, vec![0.3, 0.4]);
        let l = out[1].frame_logits.as_ref().unwrap();
        assert_eq!((l.rows, l.frames), (2, 3));
        assert_eq!(l.data, vec![6.0, 8.0, 10.0, 7.0, 9.0, 11.0]);
    }
}
