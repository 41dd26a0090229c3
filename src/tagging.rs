//! From a model file to tag scores for audio: the step after the front end,
//! shared by the native CLI and the browser binding so both tag the same way.
//!
//! A model file records the front end it was trained with (a
//! [`FeatureConfig`]) and its input standardisation; [`Tagging`] builds that
//! front end, checks it produces the model's input size, and turns analysis
//! windows into per-window scores (the taggram). A clip's scores are the mean
//! of its windows' scores ([`clip_scores`]): each window is a 29 s clip like
//! the ones the model was trained on, and averaging probabilities keeps a tag
//! that is strong in one part of a long song visible without letting one
//! window dominate.

use crate::features::{FeatureConfig, Features};
use crate::model::{Model, ModelFileError, ModelMetadata, PredictError};
use crate::normalise::Standardisation;
use crate::pipeline::WindowFeatures;

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
        let rows = features.rows(features.window_len()).len();
        model.check_input_size(rows)?;
        let stats = standardisation(&model.metadata);
        Ok(Tagging {
            model,
            features,
            stats,
        })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The front end, its statistics and the model, borrowed together: a
    /// [`crate::pipeline::Pipeline`] in [`crate::pipeline::Form::Model`] holds
    /// the first two while [`window_scores`] runs the model on its windows.
    pub fn parts(&mut self) -> (&mut Features, Option<&Standardisation>, &Model) {
        (&mut self.features, self.stats.as_ref(), &self.model)
    }
}

/// Scores (in [`crate::tags::TAGS`] order) of each window, which must be model
/// input (`Form::Model`) from the front end of [`Tagging::parts`].
pub fn window_scores(
    model: &Model,
    windows: &[WindowFeatures],
) -> Result<Vec<Vec<f32>>, PredictError> {
    let mut out = Vec::with_capacity(windows.len());
    for batch in windows.chunks(BATCH) {
        let (data, frames) = batch_input(batch)?;
        let scores = model.predict(&data, batch.len(), frames)?;
        out.extend(split(&scores, batch.len()));
    }
    Ok(out)
}

/// As [`window_scores`], reading back asynchronously (WebGPU).
pub async fn window_scores_async(
    model: &Model,
    windows: &[WindowFeatures],
) -> Result<Vec<Vec<f32>>, PredictError> {
    let mut out = Vec::with_capacity(windows.len());
    for batch in windows.chunks(BATCH) {
        let (data, frames) = batch_input(batch)?;
        let scores = model.predict_async(&data, batch.len(), frames).await?;
        out.extend(split(&scores, batch.len()));
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

fn split(scores: &[f32], batch: usize) -> Vec<Vec<f32>> {
    let tags = scores.len() / batch.max(1);
    scores.chunks(tags.max(1)).map(<[f32]>::to_vec).collect()
}

/// A clip's scores: the mean of its windows' scores (empty for no windows).
pub fn clip_scores(window_scores: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = window_scores.first() else {
        return Vec::new();
    };
    let mut sum = vec![0.0f64; first.len()];
    for w in window_scores {
        for (s, v) in sum.iter_mut().zip(w) {
            *s += f64::from(*v);
        }
    }
    let n = window_scores.len() as f64;
    sum.into_iter().map(|s| (s / n) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_scores_average_windows() {
        let w = vec![vec![0.0, 1.0, 0.5], vec![1.0, 1.0, 0.0]];
        assert_eq!(clip_scores(&w), vec![0.5, 1.0, 0.25]);
        assert!(clip_scores(&[]).is_empty());
    }

    #[test]
    fn split_rows() {
        assert_eq!(
            split(&[1.0, 2.0, 3.0, 4.0], 2),
            vec![vec![1.0, 2.0], vec![3.0, 4.0]]
        );
    }
}
