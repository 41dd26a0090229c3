//! From a window of 16 kHz mono audio to the matrix the model reads: the
//! configured front end, the normaliser and (given training statistics)
//! standardisation. Plans are built once per input length and reused.
//!
//! What "normalised" means depends on the front end:
//! - scattering: the paper's eq. 4 ratios and optional log compression
//!   ([`NormaliserConfig`], see [`crate::normalise`]), then standardisation
//!   of the rows whose order is in `standardise_orders`;
//! - log-mel and CQT: the log is the normalisation, `ln(1e-6 + mel power)`
//!   and `ln(1e-5 + |CQT|)` ([`mel::LOG_OFFSET`], [`cqt::LOG_OFFSET`]: fixed
//!   floors, so a quiet clip stays quiet), then standardisation of every row.
//!   The normaliser's `eps1`, `eps2`, `log_eps` and `standardise_orders` do
//!   not apply to them.

use crate::normalise::{NormaliserConfig, Standardisation, normalise_scattering, standardise};
use crate::transform::cqt::{self, Cqt};
use crate::transform::mel::{self, Mel};
use crate::transform::{Coefficients, ConfigError, FrontEnd, Scattering, ScatteringConfig};
use crate::windows::WindowConfig;
use serde::{Deserialize, Serialize};

/// Everything that determines a model's input; stored in every model file.
/// Checked by [`FeatureConfig::validate`] when deserialised, so a model file,
/// the command line or the page cannot supply one that cannot be planned.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "FeatureFields")]
pub struct FeatureConfig {
    pub front_end: FrontEnd,
    pub normaliser: NormaliserConfig,
    pub window: WindowConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeatureFields {
    front_end: FrontEnd,
    normaliser: NormaliserConfig,
    window: WindowConfig,
}

impl TryFrom<FeatureFields> for FeatureConfig {
    type Error = ConfigError;
    fn try_from(f: FeatureFields) -> Result<Self, ConfigError> {
        let c = FeatureConfig {
            front_end: f.front_end,
            normaliser: f.normaliser,
            window: f.window,
        };
        c.validate().map(|()| c)
    }
}

impl FeatureConfig {
    /// Whether features can be computed with this configuration; says which
    /// field is wrong. (Mel and CQT settings are also checked on their own
    /// when deserialised.)
    pub fn validate(&self) -> Result<(), ConfigError> {
        match &self.front_end {
            FrontEnd::Scattering(c) => validate_scattering(c)?,
            FrontEnd::Mel(c) => c.validate()?,
            FrontEnd::Cqt(c) => c.validate()?,
        }
        let w = &self.window;
        if !(w.seconds.is_finite() && w.seconds > 0.0 && w.seconds <= 3600.0) {
            return Err(ConfigError(format!(
                "window: seconds {} not in (0, 3600]",
                w.seconds
            )));
        }
        if !(w.min_seconds.is_finite() && w.min_seconds >= 0.0) {
            return Err(ConfigError(format!(
                "window: min_seconds {} must be finite and >= 0",
                w.min_seconds
            )));
        }
        Ok(())
    }
}

/// The ranges the scattering plan is built for (the paper's settings are
/// well inside); outside them a plan could be meaningless or unbounded.
fn validate_scattering(c: &ScatteringConfig) -> Result<(), ConfigError> {
    let err = |m: String| Err(ConfigError(format!("scattering: {m}")));
    if c.sample_rate == 0 {
        return err("sample_rate must be positive".into());
    }
    if !(c.t.is_power_of_two() && (2..=1 << 16).contains(&c.t)) {
        return err(format!("t {} is not a power of two in 2..=65536", c.t));
    }
    if c.oversampling > c.t.trailing_zeros() {
        return err(format!(
            "oversampling {} above log2(t) = {}",
            c.oversampling,
            c.t.trailing_zeros()
        ));
    }
    if !(1..=32).contains(&c.q1) || !(1..=32).contains(&c.q2) {
        return err(format!("q1 {} and q2 {} must be in 1..=32", c.q1, c.q2));
    }
    if !(1..=20).contains(&c.j) {
        return err(format!("j {} not in 1..=20", c.j));
    }
    if !(1..=2).contains(&c.max_order) {
        return err(format!("max_order {} must be 1 or 2", c.max_order));
    }
    Ok(())
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
    Mel(Box<Mel>),
    Cqt(Box<Cqt>),
}

pub struct Features {
    config: FeatureConfig,
    plan: Option<(usize, Plan)>,
}

impl Features {
    /// Features for a configuration that passes [`FeatureConfig::validate`]
    /// (every deserialised one does).
    ///
    /// # Panics
    /// On a configuration built in code that `validate` rejects; use
    /// [`Features::try_new`] where that can happen.
    pub fn new(config: FeatureConfig) -> Self {
        match Self::try_new(config) {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    }

    /// Features for `config`, or why it cannot be used.
    pub fn try_new(config: FeatureConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Features { config, plan: None })
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
            // The configuration was validated in `try_new`, and the checks do
            // not depend on the length, so planning cannot fail here.
            const VALID: &str = "front-end configuration validated in Features::try_new";
            let plan = match &self.config.front_end {
                FrontEnd::Scattering(c) => Plan::Scattering(Box::new(Scattering::new(c, len))),
                FrontEnd::Mel(c) => Plan::Mel(Box::new(Mel::new(c, len).expect(VALID))),
                FrontEnd::Cqt(c) => Plan::Cqt(Box::new(Cqt::new(c, len).expect(VALID))),
            };
            self.plan = Some((len, plan));
        }
        &mut self.plan.as_mut().expect("just built").1
    }

    /// Rows of the output for inputs of `len` samples (and what they are):
    /// scattering paths, or mel bands / CQT bins by increasing frequency
    /// (order 1, `freq1_hz` the band's centre).
    pub fn rows(&mut self, len: usize) -> Vec<RowInfo> {
        let sr = self.sample_rate() as f64;
        let bands = |centres: &[f64]| {
            centres
                .iter()
                .map(|&f| RowInfo {
                    order: 1,
                    freq1_hz: Some(f),
                    freq2_hz: None,
                })
                .collect()
        };
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
            Plan::Mel(m) => bands(m.centre_frequencies()),
            Plan::Cqt(c) => bands(c.centre_frequencies()),
        }
    }

    /// Un-normalised front-end output: S0/S1/S2, mel powers or CQT
    /// magnitudes.
    pub fn raw(&mut self, x: &[f32]) -> Coefficients {
        match self.plan(x.len()) {
            Plan::Scattering(s) => s.transform(x),
            Plan::Mel(m) => m.power(x),
            Plan::Cqt(c) => c.magnitude(x),
        }
    }

    /// Normalised features, before standardisation (see the module docs).
    pub fn normalised(&mut self, x: &[f32]) -> Coefficients {
        let ncfg = self.config.normaliser.clone();
        match self.plan(x.len()) {
            Plan::Scattering(s) => {
                let raw = s.transform(x);
                let env = s.envelope(x);
                normalise_scattering(&raw, &env, s.paths(), &ncfg)
            }
            Plan::Mel(m) => m.transform(x),
            Plan::Cqt(c) => c.transform(x),
        }
    }

    /// The model's input: normalised, then standardised with `stats`.
    pub fn model_input(&mut self, x: &[f32], stats: Option<&Standardisation>) -> Coefficients {
        let mut c = self.normalised(x);
        if let Some(stats) = stats {
            self.standardise(&mut c, stats, x.len());
        }
        c
    }

    /// Both [`Features::raw`] and [`Features::model_input`] of one input, the
    /// scattering computed once (the page shows the raw coefficients and tags
    /// the model input of the same audio). Equal to the two calls.
    pub fn raw_and_model_input(
        &mut self,
        x: &[f32],
        stats: Option<&Standardisation>,
    ) -> (Coefficients, Coefficients) {
        let ncfg = self.config.normaliser.clone();
        let (raw, mut input) = match self.plan(x.len()) {
            Plan::Scattering(s) => {
                let raw = s.transform(x);
                let env = s.envelope(x);
                let input = normalise_scattering(&raw, &env, s.paths(), &ncfg);
                (raw, input)
            }
            Plan::Mel(m) => (m.power(x), m.transform(x)),
            Plan::Cqt(c) => (c.magnitude(x), c.transform(x)),
        };
        if let Some(stats) = stats {
            self.standardise(&mut input, stats, x.len());
        }
        (raw, input)
    }

    /// Standardise normalised features of an input of `len` samples in place
    /// (scattering: the rows of `standardise_orders`; mel, CQT: every row).
    /// The trainer calls this on cached features, so training and tagging
    /// standardise the same rows.
    pub fn standardise(&mut self, c: &mut Coefficients, stats: &Standardisation, len: usize) {
        match &self.config.front_end {
            FrontEnd::Scattering(_) => {
                let orders = self.config.normaliser.standardise_orders.clone();
                let rows = self.rows(len);
                standardise(c, stats, |r| orders.contains(&rows[r].order));
            }
            FrontEnd::Mel(_) | FrontEnd::Cqt(_) => standardise(c, stats, |_| true),
        }
    }
}

// Keep the documented offsets and the module docs in step.
const _: () = assert!(mel::LOG_OFFSET == 1e-6 && cqt::LOG_OFFSET == 1e-5);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{CqtConfig, MelConfig};

    /// A 440 Hz tone over faint white noise (so every band varies).
    fn tone(len: usize) -> Vec<f32> {
        let mut seed = 7u64;
        (0..len)
            .map(|i| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                let phase = 2.0 * std::f64::consts::PI * 440.0 * i as f64 / 16000.0;
                0.5 * phase.sin() as f32 + 0.01 * noise
            })
            .collect()
    }

    fn with(front_end: FrontEnd) -> FeatureConfig {
        FeatureConfig {
            front_end,
            ..FeatureConfig::default()
        }
    }

    #[test]
    fn mel_and_cqt_rows_frames_and_forms() {
        let len = 29 * 16000;
        let x = tone(len);
        for (fe, n_rows) in [
            (FrontEnd::Mel(MelConfig::default()), 96),
            (FrontEnd::Cqt(CqtConfig::default()), 84),
        ] {
            let mut f = Features::try_new(with(fe.clone())).unwrap();
            assert_eq!(f.hop(), 256);
            let rows = f.rows(len);
            assert_eq!(rows.len(), n_rows);
            assert!(rows.iter().all(|r| r.order == 1 && r.freq2_hz.is_none()));
            let hz: Vec<f64> = rows.iter().map(|r| r.freq1_hz.unwrap()).collect();
            assert!(hz.windows(2).all(|w| w[0] < w[1]), "{fe:?}");

            // The paper's frame count: 1813 frames for 29 s.
            let raw = f.raw(&x);
            assert_eq!((raw.rows, raw.frames), (n_rows, 1813));
            let norm = f.normalised(&x);
            for (r, n) in raw.data.iter().zip(&norm.data) {
                let offset = if n_rows == 96 { 1e-6 } else { 1e-5 };
                assert!((n - (offset + r).ln()).abs() < 1e-5, "{fe:?}: {r} -> {n}");
            }
            // The 440 Hz tone dominates the band containing it.
            let peak = (0..raw.rows)
                .max_by(|&a, &b| raw.row(a)[900].total_cmp(&raw.row(b)[900]))
                .unwrap();
            let width = if n_rows == 96 { 60.0 } else { 15.0 };
            assert!((hz[peak] - 440.0).abs() < width, "{fe:?}: {}", hz[peak]);

            // Every row standardised, with statistics from the same clip.
            let stats = Standardisation::measure([&norm]).unwrap();
            let std = f.model_input(&x, Some(&stats));
            for r in 0..std.rows {
                let mean = std.row(r).iter().map(|&v| v as f64).sum::<f64>() / 1813.0;
                assert!(mean.abs() < 1e-3, "{fe:?} row {r}: mean {mean}");
            }
        }
    }

    #[test]
    fn raw_and_model_input_equal_the_two_calls() {
        // 4 s windows keep the scattering quick in debug builds.
        let len = 4 * 16000;
        let x = tone(len);
        for fe in [
            FeatureConfig::default().front_end,
            FrontEnd::Mel(MelConfig::default()),
        ] {
            let mut f = Features::try_new(with(fe.clone())).unwrap();
            let stats = Standardisation::measure([&f.normalised(&x)]).unwrap();
            let (raw, input) = f.raw_and_model_input(&x, Some(&stats));
            assert_eq!(raw.data, f.raw(&x).data, "{fe:?}");
            assert_eq!(input.data, f.model_input(&x, Some(&stats)).data, "{fe:?}");
            let (_, plain) = f.raw_and_model_input(&x, None);
            assert_eq!(plain.data, f.normalised(&x).data, "{fe:?}");
        }
    }

    #[test]
    fn bad_configs_are_typed_errors_from_json_and_code() {
        let mut bad_mel = with(FrontEnd::Mel(MelConfig::default()));
        let good = serde_json::to_string(&bad_mel).unwrap();
        assert_eq!(
            serde_json::from_str::<FeatureConfig>(&good).unwrap(),
            bad_mel
        );
        for (from, to) in [
            ("\"hop\":256", "\"hop\":0"),
            ("\"f_max\":8000.0", "\"f_max\":9000.0"),
            ("\"n_mels\":96", "\"n_mels\":0"),
            ("\"seconds\":29.0", "\"seconds\":-1.0"),
        ] {
            let json = good.replace(from, to);
            assert_ne!(json, good, "{from}");
            let e = serde_json::from_str::<FeatureConfig>(&json).unwrap_err();
            assert!(
                e.to_string().contains("invalid front-end configuration"),
                "{e}"
            );
        }
        let cqt = serde_json::to_string(&with(FrontEnd::Cqt(CqtConfig::default()))).unwrap();
        let json = cqt.replace("\"n_bins\":84", "\"n_bins\":200");
        assert!(serde_json::from_str::<FeatureConfig>(&json).is_err());
        let scat = serde_json::to_string(&FeatureConfig::default()).unwrap();
        let json = scat.replace("\"t\":8192", "\"t\":0");
        assert!(serde_json::from_str::<FeatureConfig>(&json).is_err());

        if let FrontEnd::Mel(m) = &mut bad_mel.front_end {
            m.hop = 0;
        }
        assert!(Features::try_new(bad_mel).is_err());
        assert!(Features::try_new(FeatureConfig::default()).is_ok());
    }
}
