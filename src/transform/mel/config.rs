//! The log-mel front end's settings and the ranges it is planned for.

use super::Mel;
use crate::transform::front_end::{ConfigError, FrontEndConfig, FrontEndPlan};
use crate::transform::scattering::NormaliserConfig;
use serde::{Deserialize, Serialize};

/// Log-mel spectrogram (the paper's comparison front end; see
/// [`super`]). Checked by [`MelConfig::validate`] when deserialised, so
/// a model file or command line cannot supply one that cannot be planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "MelFields")]
pub struct MelConfig {
    pub sample_rate: u32,
    /// FFT (and Hann window) length, samples.
    pub n_fft: usize,
    /// Samples between frames.
    pub hop: usize,
    pub n_mels: usize,
    /// Lower edge of the lowest triangle, Hz.
    pub f_min: f32,
    /// Upper edge of the highest triangle, Hz (at most Nyquist).
    pub f_max: f32,
}

impl Default for MelConfig {
    fn default() -> Self {
        MelConfig {
            sample_rate: 16_000,
            n_fft: 512,
            hop: 256,
            n_mels: 96,
            f_min: 0.0,
            f_max: 8_000.0,
        }
    }
}

impl MelConfig {
    /// Whether a plan can be built; says which field is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(format!("mel: {m}")));
        if self.sample_rate == 0 {
            return err("sample_rate must be positive".into());
        }
        if self.n_fft < 2 || self.n_fft > 1 << 16 {
            return err(format!("n_fft {} not in 2..=65536", self.n_fft));
        }
        if self.hop == 0 || self.hop > 1 << 16 {
            return err(format!("hop {} not in 1..=65536", self.hop));
        }
        if self.n_mels == 0 || self.n_mels > 1024 {
            return err(format!("n_mels {} not in 1..=1024", self.n_mels));
        }
        let (f_min, f_max) = (self.f_min as f64, self.f_max as f64);
        if !(f_min.is_finite() && f_max.is_finite() && 0.0 <= f_min && f_min < f_max) {
            return err(format!("need 0 <= f_min < f_max, got {f_min}, {f_max}"));
        }
        let nyquist = self.sample_rate as f64 / 2.0;
        if f_max > nyquist * (1.0 + 1e-6) {
            return err(format!("f_max {f_max} Hz above Nyquist {nyquist} Hz"));
        }
        Ok(())
    }
}

impl FrontEndConfig for MelConfig {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn hop(&self) -> usize {
        self.hop
    }

    fn validate(&self) -> Result<(), ConfigError> {
        MelConfig::validate(self)
    }

    fn raw_is_power(&self) -> bool {
        true
    }

    fn plan(
        &self,
        input_len: usize,
        _normaliser: &NormaliserConfig,
    ) -> Result<Box<dyn FrontEndPlan>, ConfigError> {
        Ok(Box::new(Mel::new(self, input_len)?))
    }
}

// What serde reads before `validate` accepts it (same fields, same names).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MelFields {
    sample_rate: u32,
    n_fft: usize,
    hop: usize,
    n_mels: usize,
    f_min: f32,
    f_max: f32,
}

impl TryFrom<MelFields> for MelConfig {
    type Error = ConfigError;
    fn try_from(f: MelFields) -> Result<Self, ConfigError> {
        let c = MelConfig {
            sample_rate: f.sample_rate,
            n_fft: f.n_fft,
            hop: f.hop,
            n_mels: f.n_mels,
            f_min: f.f_min,
            f_max: f.f_max,
        };
        c.validate().map(|()| c)
    }
}
