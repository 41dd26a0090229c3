//! From a window of 16 kHz mono audio to the matrix the model reads: the
//! configured front end, the normaliser and (given training statistics)
//! standardisation. Plans are built once per input length and reused.

use crate::normalise::{NormaliserConfig, Standardisation, normalise_scattering, standardise};
use crate::transform::{Coefficients, FrontEnd, Scattering};
use crate::windows::WindowConfig;
use serde::{Deserialize, Serialize};

/// Everything that determines a model's input; stored in every model file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    pub front_end: FrontEnd,
    pub normaliser: NormaliserConfig,
    pub window: WindowConfig,
}

/// What one output row is, for people and files (the `.json` sidecar).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowInfo {
    /// Scattering order (0, 1, 2); 1 for mel and CQT bands.
    pub order: u8,
    /// Centre frequency of the first-order filter / band, Hz.
    pub freq1_hz: Option<f64>,
    /// Centre frequency of the second-order filter, Hz (modulation rate).
    pub freq2_hz: Option<f64>,
}

enum Plan {
    Scattering(Box<Scattering>),
}

pub struct Features {
    config: FeatureConfig,
    plan: Option<(usize, Plan)>,
}

impl Features {
    pub fn new(config: FeatureConfig) -> Self {
        Features { config, plan: None }
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Samples between output frames.
    pub fn hop(&self) -> usize {
        match &self.config.front_end {
            FrontEnd::Scattering(c) => c.hop(),
            FrontEnd::Mel(c) => c.hop,
            FrontEnd::Cqt(c) => c.hop,
        }
    }

    /// Samples in one analysis window (every window has this length).
    pub fn window_len(&self) -> usize {
        (self.config.window.seconds * self.sample_rate() as f64).round() as usize
    }

    /// Sample rate the audio must be at.
    pub fn sample_rate(&self) -> u32 {
        self.config.front_end.sample_rate()
    }

    fn plan(&mut self, len: usize) -> &mut Plan {
        if self.plan.as_ref().is_none_or(|(l, _)| *l != len) {
            let plan = match &self.config.front_end {
                FrontEnd::Scattering(c) => Plan::Scattering(Box::new(Scattering::new(c, len))),
                other => unimplemented!("front end {other:?}"),
            };
            self.plan = Some((len, plan));
        }
        &mut self.plan.as_mut().expect("just built").1
    }

    /// Rows of the output for inputs of `len` samples (and what they are).
    pub fn rows(&mut self, len: usize) -> Vec<RowInfo> {
        let sr = self.sample_rate() as f64;
        match self.plan(len) {
            Plan::Scattering(s) => s
                .paths()
                .iter()
                .map(|p| RowInfo {
                    order: p.order,
                    freq1_hz: p.psi1.map(|(_, w)| w.xi * sr),
                    freq2_hz: p.psi2.map(|(_, w)| w.xi * sr),
                })
                .collect(),
        }
    }

    /// Un-normalised front-end output.
    pub fn raw(&mut self, x: &[f32]) -> Coefficients {
        match self.plan(x.len()) {
            Plan::Scattering(s) => s.transform(x),
        }
    }

    /// Normalised features, before standardisation.
    pub fn normalised(&mut self, x: &[f32]) -> Coefficients {
        let ncfg = self.config.normaliser.clone();
        match self.plan(x.len()) {
            Plan::Scattering(s) => {
                let raw = s.transform(x);
                let env = s.envelope(x);
                normalise_scattering(&raw, &env, s.paths(), &ncfg)
            }
        }
    }

    /// The model's input: normalised, then standardised with `stats`.
    pub fn model_input(&mut self, x: &[f32], stats: Option<&Standardisation>) -> Coefficients {
        let mut c = self.normalised(x);
        if let Some(stats) = stats {
            let orders = self.config.normaliser.standardise_orders.clone();
            let rows = self.rows(x.len());
            standardise(&mut c, stats, |r| orders.contains(&rows[r].order));
        }
        c
    }
}
