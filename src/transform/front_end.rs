//! The seam between a front end and everything after it (RustFFT's habit:
//! every algorithm behind one trait, a planner chooses).
//!
//! - [`FrontEndConfig`]: what a front end's configuration offers (sample
//!   rate, hop, validation) and its planner;
//! - [`FrontEndPlan`]: a front end planned for one input length: its rows,
//!   raw output, its own normaliser and which rows are standardised;
//! - [`FrontEnd`]: the serialised choice among the front ends (the
//!   `front_end` of a feature configuration), delegating to its variant;
//!   [`FrontEndKind`] is its label in model names and model configurations.

use super::coefficients::{Coefficients, RowInfo};
use super::cqt::CqtConfig;
use super::mel::MelConfig;
use super::scattering::{NormaliserConfig, ScatteringConfig};
use serde::{Deserialize, Serialize};

/// A front end planned for inputs of one length: filters and FFT plans built
/// once, scratch buffers reused from window to window.
///
/// Every method taking a signal panics if its length differs from
/// [`FrontEndPlan::input_len`] (a programming error: callers plan per length).
pub trait FrontEndPlan: Send {
    /// The input length, in samples, this plan was built for.
    fn input_len(&self) -> usize;

    /// What each output row is, in order.
    fn rows(&self) -> Vec<RowInfo>;

    /// Un-normalised output: S0/S1/S2, mel powers, CQT magnitudes…
    fn raw(&mut self, x: &[f32]) -> Coefficients;

    /// This front end's normaliser applied to `raw`, the raw output of `x`
    /// (before standardisation).
    fn normalise(&mut self, x: &[f32], raw: Coefficients) -> Coefficients;

    /// Whether standardisation applies to row `row` of the output.
    fn standardises(&self, row: usize) -> bool;

    /// The audio holds nothing above `top_hz` (it was resampled up from a
    /// lower rate; `None`: the whole band). The scattering then runs its plan
    /// in `f64` (`ScatteringFrontEnd`), so that the near-empty bands hold the
    /// audio's own content rather than float32 rounding, which differs
    /// between platforms; log-mel and CQT need not (their log floors sit far
    /// above the FFTs' rounding).
    fn limit_band(&mut self, _top_hz: Option<f64>) {}

    /// Normalised output of `x`.
    fn normalised(&mut self, x: &[f32]) -> Coefficients {
        let raw = self.raw(x);
        self.normalise(x, raw)
    }

    /// Raw and normalised output of `x` from one front-end pass; equal to
    /// [`FrontEndPlan::raw`] and [`FrontEndPlan::normalised`].
    fn raw_and_normalised(&mut self, x: &[f32]) -> (Coefficients, Coefficients) {
        let raw = self.raw(x);
        (raw.clone(), self.normalise(x, raw))
    }
}

/// What every front end's configuration offers.
pub trait FrontEndConfig {
    /// Sample rate the audio must be at, Hz.
    fn sample_rate(&self) -> u32;

    /// Samples between output frames.
    fn hop(&self) -> usize;

    /// Whether a plan can be built; says which field is wrong.
    fn validate(&self) -> Result<(), ConfigError>;

    /// Whether the raw output is a power (mel: `|STFT|²`) rather than an
    /// amplitude (scattering, CQT), e.g. for decibels in pictures.
    fn raw_is_power(&self) -> bool;

    /// How many rows a plan gives, when the configuration alone says it
    /// (`None`: ask a plan). The scattering says it: its plan (mostly FFT
    /// planning) costs ~0.2 s native and ~0.5 s in WASM, too much to pay
    /// only to check a model file's input size.
    fn row_count(&self) -> Option<usize> {
        None
    }

    /// The planner: this front end for inputs of `input_len` samples, or
    /// why this configuration cannot be planned (it validates).
    /// `normaliser` is the feature configuration's normaliser section (only
    /// the scattering reads it; it predates this trait and model files keep
    /// it where it is).
    fn plan(
        &self,
        input_len: usize,
        normaliser: &NormaliserConfig,
    ) -> Result<Box<dyn FrontEndPlan>, ConfigError>;
}

/// A front-end configuration that cannot be planned (from a model file or a
/// command line); says which field is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid front-end configuration: {0}")]
pub struct ConfigError(pub String);

/// Which time–frequency representation feeds the model, with its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FrontEnd {
    Scattering(ScatteringConfig),
    Mel(MelConfig),
    Cqt(CqtConfig),
}

impl Default for FrontEnd {
    fn default() -> Self {
        FrontEnd::Scattering(ScatteringConfig::default())
    }
}

impl FrontEnd {
    /// The chosen front end's configuration.
    pub fn config(&self) -> &dyn FrontEndConfig {
        match self {
            FrontEnd::Scattering(c) => c,
            FrontEnd::Mel(c) => c,
            FrontEnd::Cqt(c) => c,
        }
    }

    /// Its label (the prefix of model names).
    pub fn kind(&self) -> FrontEndKind {
        match self {
            FrontEnd::Scattering(_) => FrontEndKind::Scat,
            FrontEnd::Mel(_) => FrontEndKind::Mel,
            FrontEnd::Cqt(_) => FrontEndKind::Cqt,
        }
    }

    /// Short name used in model names (`scat`, `mel`, `cqt`).
    pub fn short_name(&self) -> &'static str {
        self.kind().as_str()
    }

    pub fn sample_rate(&self) -> u32 {
        self.config().sample_rate()
    }

    /// Samples between output frames.
    pub fn hop(&self) -> usize {
        self.config().hop()
    }

    /// Whether a plan can be built; says which field is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.config().validate()
    }

    /// Whether the raw output is a power rather than an amplitude.
    pub fn raw_is_power(&self) -> bool {
        self.config().raw_is_power()
    }

    /// The planner: the chosen front end for inputs of `input_len` samples,
    /// or why this configuration cannot be planned.
    pub fn plan(
        &self,
        input_len: usize,
        normaliser: &NormaliserConfig,
    ) -> Result<Box<dyn FrontEndPlan>, ConfigError> {
        self.config().plan(input_len, normaliser)
    }
}

/// A front end's label: the prefix of model names and the `front_end` of a
/// model configuration (`scat`, `mel`, `cqt`; the feature configuration's
/// `kind` spells the scattering out, a format kept as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrontEndKind {
    /// Scattering transform (paper §3).
    Scat,
    /// Log-mel spectrogram.
    Mel,
    /// Constant-Q transform.
    Cqt,
}

impl FrontEndKind {
    pub const ALL: [FrontEndKind; 3] = [FrontEndKind::Scat, FrontEndKind::Mel, FrontEndKind::Cqt];

    /// The name's prefix: `scat`, `mel` or `cqt`.
    pub fn as_str(self) -> &'static str {
        match self {
            FrontEndKind::Scat => "scat",
            FrontEndKind::Mel => "mel",
            FrontEndKind::Cqt => "cqt",
        }
    }

    /// The kind whose [`FrontEndKind::as_str`] is `prefix`.
    pub fn from_prefix(prefix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == prefix)
    }

    /// This front end with the paper's settings.
    pub fn default_config(self) -> FrontEnd {
        match self {
            FrontEndKind::Scat => FrontEnd::Scattering(ScatteringConfig::default()),
            FrontEndKind::Mel => FrontEnd::Mel(MelConfig::default()),
            FrontEndKind::Cqt => FrontEnd::Cqt(CqtConfig::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_their_front_ends() {
        for kind in FrontEndKind::ALL {
            let fe = kind.default_config();
            assert_eq!(fe.kind(), kind);
            assert_eq!(FrontEndKind::from_prefix(kind.as_str()), Some(kind));
            assert_eq!(fe.short_name(), kind.as_str());
            // The model configuration's spelling.
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(FrontEndKind::from_prefix("wav"), None);
        assert_eq!(FrontEnd::default().hop(), 4096);
        let power: Vec<bool> = FrontEndKind::ALL
            .iter()
            .map(|k| k.default_config().raw_is_power())
            .collect();
        assert_eq!(power, [false, true, false]);
    }

    #[test]
    fn the_planner_validates_and_plans_each_front_end() {
        let normaliser = NormaliserConfig::default();
        for kind in FrontEndKind::ALL {
            let plan = kind.default_config().plan(16000, &normaliser).unwrap();
            assert_eq!(plan.input_len(), 16000);
        }
        let bad = [
            (
                FrontEnd::Scattering(ScatteringConfig {
                    t: 3,
                    ..ScatteringConfig::default()
                }),
                "scattering: t",
            ),
            (
                FrontEnd::Mel(MelConfig {
                    hop: 0,
                    ..MelConfig::default()
                }),
                "mel: hop",
            ),
            (
                FrontEnd::Cqt(CqtConfig {
                    n_bins: 0,
                    ..CqtConfig::default()
                }),
                "cqt: n_bins",
            ),
        ];
        for (fe, field) in bad {
            let Err(e) = fe.plan(16000, &normaliser) else {
                panic!("{fe:?} was planned");
            };
            assert!(e.0.starts_with(field), "{e}");
            assert_eq!(fe.validate(), Err(e));
        }
    }
}
