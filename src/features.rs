//! From a window of 16 kHz mono audio to the matrix the model reads: the
//! configured front end, the normaliser and (given training statistics)
//! standardisation. Plans are built once per input length and reused.
//!
//! The front end is a [`FrontEndPlan`] chosen and planned by the
//! configuration's [`FrontEnd`]; this module has no per-front-end code. What
//! "normalised" means is each front end's own:
//! - scattering: the paper's eq. 4 ratios and optional log compression
//!   ([`NormaliserConfig`], see [`crate::transform::scattering::normalise`]),
//!   then standardisation of the rows whose order is in `standardise_orders`;
//! - log-mel and CQT: the log is the normalisation, `ln(1e-6 + mel power)`
//!   and `ln(1e-5 + |CQT|)` ([`mel::LOG_OFFSET`], [`cqt::LOG_OFFSET`]: fixed
//!   floors, so a quiet clip stays quiet), then standardisation of every row.
//!   The normaliser's `eps1`, `eps2`, `log_eps` and `standardise_orders` do
//!   not apply to them.

use crate::normalise::{NormaliserConfig, Standardisation, standardise};
use crate::transform::{Coefficients, ConfigError, FrontEnd, FrontEndPlan, cqt, mel};
use crate::windows::WindowConfig;
use serde::{Deserialize, Serialize};

/// What one output row is (it lives with the front ends, which make rows).
pub use crate::transform::RowInfo;

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
    /// A configuration a person wrote, perhaps in part (`scatter --config`):
    /// every field it leaves out takes its default, those of the front end
    /// it names (`{"front_end": {"kind": "mel"}}` is the default log-mel).
    /// Unknown fields are still errors. Model files are read whole instead:
    /// what they record is never filled in.
    pub fn from_partial(given: serde_json::Value) -> serde_json::Result<FeatureConfig> {
        use crate::transform::FrontEndKind;
        let kind = given.pointer("/front_end/kind").cloned();
        let front_end = FrontEndKind::ALL
            .into_iter()
            .map(FrontEndKind::default_config)
            .find(|f| {
                kind.is_none()
                    || serde_json::to_value(f)
                        .ok()
                        .and_then(|v| v.get("kind").cloned())
                        == kind
            })
            .unwrap_or_default();
        let mut full = serde_json::to_value(FeatureConfig {
            front_end,
            ..FeatureConfig::default()
        })?;
        merge(&mut full, given);
        serde_json::from_value(full)
    }

    /// Whether features can be computed with this configuration; says which
    /// field is wrong. (Mel and CQT settings are also checked on their own
    /// when deserialised.)
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.front_end.validate()?;
        let w = &self.window;
        if !(w.seconds.is_finite() && w.seconds > 0.0 && w.seconds <= 3600.0) {
            return Err(ConfigError(format!(
                "window: seconds {} not in (0, 3600]",
                w.seconds
            )));
        }
        if !(w.min_seconds.is_finite() && w.min_seconds >= 0.0 && w.min_seconds <= w.seconds) {
            return Err(ConfigError(format!(
                "window: min_seconds {} must be finite, >= 0 and at most seconds ({})",
                w.min_seconds, w.seconds
            )));
        }
        // At least one frame per window: a window of a few samples cost a
        // whole front-end pass each (1 s of audio in windows of 0.1 ms ran
        // for minutes).
        let rate = f64::from(self.front_end.sample_rate());
        let hop = self.front_end.hop() as f64 / rate;
        if w.seconds < hop {
            return Err(ConfigError(format!(
                "window: seconds {} is shorter than one frame of the front end ({hop} s)",
                w.seconds
            )));
        }
        Ok(())
    }

    /// The page's live microphone view: the default scattering with the first
    /// order only (S1 is what it draws; the second would cost as much again
    /// for nothing shown), standardising orders 0–1, over windows of
    /// `seconds`. The page asks the WASM for it instead of copying it.
    pub fn live(seconds: f64) -> Result<Self, ConfigError> {
        let mut config = FeatureConfig::default();
        if let FrontEnd::Scattering(s) = &mut config.front_end {
            s.max_order = 1;
        }
        config.normaliser.standardise_orders = vec![0, 1];
        config.window.seconds = seconds;
        config.validate().map(|()| config)
    }
}

/// A feature configuration, planned for one input length at a time.
pub struct Features {
    config: FeatureConfig,
    plan: Option<Box<dyn FrontEndPlan>>,
    /// What [`Features::limit_band`] set, applied to every plan.
    band_top_hz: Option<f64>,
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
        Ok(Features {
            config,
            plan: None,
            band_top_hz: None,
        })
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Samples between output frames.
    pub fn hop(&self) -> usize {
        self.config.front_end.hop()
    }

    /// Samples in one analysis window (every window has this length).
    pub fn window_len(&self) -> usize {
        (self.config.window.seconds * self.sample_rate() as f64).round() as usize
    }

    /// Sample rate the audio must be at.
    pub fn sample_rate(&self) -> u32 {
        self.config.front_end.sample_rate()
    }

    /// The audio holds nothing above `top_hz` (`None`: the whole band), as
    /// audio resampled up from a lower rate; returns the previous setting.
    /// [`crate::pipeline::Pipeline`] sets it for each file: an 8 kHz file is
    /// then scattered in float64, so that its near-empty upper bands come
    /// out alike natively and in WASM (see [`FrontEndPlan::limit_band`]).
    pub fn limit_band(&mut self, top_hz: Option<f64>) -> Option<f64> {
        let before = std::mem::replace(&mut self.band_top_hz, top_hz);
        if let Some(plan) = self.plan.as_deref_mut() {
            plan.limit_band(top_hz);
        }
        before
    }

    fn plan(&mut self, len: usize) -> &mut dyn FrontEndPlan {
        if self.plan.as_ref().is_none_or(|p| p.input_len() != len) {
            // The configuration was validated in `try_new`, and the checks do
            // not depend on the length, so planning cannot fail here.
            let mut plan = self
                .config
                .front_end
                .plan(len, &self.config.normaliser)
                .expect("front-end configuration validated in Features::try_new");
            plan.limit_band(self.band_top_hz);
            self.plan = Some(plan);
        }
        self.plan.as_deref_mut().expect("just built")
    }

    /// How many rows the output has for inputs of `len` samples: from the
    /// configuration where it says (no plan built), else from a plan.
    pub fn row_count(&mut self, len: usize) -> usize {
        match self.config.front_end.config().row_count() {
            Some(n) => n,
            None => self.rows(len).len(),
        }
    }

    /// Rows of the output for inputs of `len` samples (and what they are):
    /// scattering paths, or mel bands / CQT bins by increasing frequency
    /// (order 1, `freq1_hz` the band's centre).
    pub fn rows(&mut self, len: usize) -> Vec<RowInfo> {
        self.plan(len).rows()
    }

    /// Un-normalised front-end output: S0/S1/S2, mel powers or CQT
    /// magnitudes.
    pub fn raw(&mut self, x: &[f32]) -> Coefficients {
        self.plan(x.len()).raw(x)
    }

    /// Normalised features, before standardisation (see the module docs).
    pub fn normalised(&mut self, x: &[f32]) -> Coefficients {
        self.plan(x.len()).normalised(x)
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
    /// front end run once (the page shows the raw coefficients and tags the
    /// model input of the same audio). Equal to the two calls.
    pub fn raw_and_model_input(
        &mut self,
        x: &[f32],
        stats: Option<&Standardisation>,
    ) -> (Coefficients, Coefficients) {
        let (raw, mut input) = self.plan(x.len()).raw_and_normalised(x);
        if let Some(stats) = stats {
            self.standardise(&mut input, stats, x.len());
        }
        (raw, input)
    }

    /// Which rows [`Features::standardise`] standardises, for inputs of
    /// `len` samples.
    pub fn standardised_rows(&mut self, len: usize) -> Vec<bool> {
        let plan = self.plan(len);
        (0..plan.rows().len())
            .map(|r| plan.standardises(r))
            .collect()
    }

    /// Standardise normalised features of an input of `len` samples in place,
    /// the rows the front end says (scattering: those of
    /// `standardise_orders`; mel, CQT: every row). The trainer calls this on
    /// cached features, so training and tagging standardise the same rows.
    pub fn standardise(&mut self, c: &mut Coefficients, stats: &Standardisation, len: usize) {
        let plan = self.plan(len);
        standardise(c, stats, |r| plan.standardises(r));
    }
}

// Keep the documented offsets and the module docs in step.
const _: () = assert!(mel::LOG_OFFSET == 1e-6 && cqt::LOG_OFFSET == 1e-5);

/// `given` over `base`: objects field by field, anything else replaced.
fn merge(base: &mut serde_json::Value, given: serde_json::Value) {
    match (base, given) {
        (serde_json::Value::Object(b), serde_json::Value::Object(g)) => {
            for (k, v) in g {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, g) => *b = g,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{CqtConfig, MelConfig};

    /// A `--config` may give only what it changes: the rest is the default
    /// of the front end it names; a field that does not exist stays an error.
    #[test]
    fn a_partial_configuration_takes_the_defaults_of_its_front_end() {
        use crate::transform::FrontEndKind;
        let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(
            FeatureConfig::from_partial(json("{}")).unwrap(),
            FeatureConfig::default()
        );
        let mel = FeatureConfig::from_partial(json(r#"{"front_end": {"kind": "mel"}}"#)).unwrap();
        assert_eq!(mel.front_end, FrontEndKind::Mel.default_config());
        assert_eq!(mel.window, FeatureConfig::default().window);
        let fewer =
            FeatureConfig::from_partial(json(r#"{"front_end": {"kind": "mel", "n_mels": 64}}"#))
                .unwrap();
        let crate::transform::FrontEnd::Mel(m) = fewer.front_end else {
            panic!("not mel: {fewer:?}")
        };
        assert_eq!(m.n_mels, 64);
        assert_eq!(m.hop, MelConfig::default().hop);
        let typo =
            FeatureConfig::from_partial(json(r#"{"front_end": {"kind": "mel", "n_mel": 64}}"#));
        assert!(typo.unwrap_err().to_string().contains("n_mel"));
        let kind = FeatureConfig::from_partial(json(r#"{"front_end": {"kind": "mfcc"}}"#));
        assert!(kind.unwrap_err().to_string().contains("mfcc"));
        // Invalid values are still refused, naming the field.
        let bad = FeatureConfig::from_partial(json(r#"{"front_end": {"kind": "mel", "hop": 0}}"#));
        assert!(bad.unwrap_err().to_string().contains("hop"));
    }

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

    /// The live view's configuration is what the page used when it copied
    /// it by hand (www/constants.js before the WASM exported it).
    #[test]
    fn live_configuration_is_the_pages() {
        let live = serde_json::to_value(FeatureConfig::live(4.096).unwrap()).unwrap();
        let page = serde_json::json!({
            "front_end": { "kind": "scattering", "sample_rate": 16000, "q1": 8, "q2": 1, "j": 13,
                           "t": 8192, "oversampling": 1, "max_order": 1 },
            "normaliser": { "eps1": 1e-4, "eps2": 1e-6, "log_eps": 1e-4, "standardise_orders": [0, 1] },
            "window": { "seconds": 4.096, "min_seconds": 1.0 },
        });
        // Through f32 where the core stores f32.
        let page: FeatureConfig = serde_json::from_value(page).unwrap();
        assert_eq!(live, serde_json::to_value(page).unwrap());
        assert!(FeatureConfig::live(0.0).is_err());
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
            // Shorter than one frame (hop 256 at 16 kHz: 16 ms).
            ("\"seconds\":29.0", "\"seconds\":0.01"),
            ("\"min_seconds\":1.0", "\"min_seconds\":30.0"),
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
