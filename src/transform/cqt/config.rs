//! The CQT front end's settings and the ranges it is planned for.

use super::Cqt;
use crate::transform::front_end::{ConfigError, FrontEndConfig, FrontEndPlan};
use crate::transform::scattering::NormaliserConfig;
use serde::{Deserialize, Serialize};

/// Constant-Q transform (the paper's other comparison front end; see
/// [`super`]). Checked by [`CqtConfig::validate`] when deserialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "CqtFields")]
pub struct CqtConfig {
    pub sample_rate: u32,
    /// Samples between frames.
    pub hop: usize,
    pub n_bins: usize,
    pub bins_per_octave: usize,
    /// Centre frequency of the lowest bin, Hz (C1 by default).
    pub f_min: f32,
}

impl Default for CqtConfig {
    fn default() -> Self {
        CqtConfig {
            sample_rate: 16_000,
            hop: 256,
            n_bins: 84,
            bins_per_octave: 12,
            f_min: 32.703_197,
        }
    }
}

/// The CQT's reflection before the signal, in units of `1 / w_0` (the lowest
/// bin's half-width in Hz): its kernel's envelope is below 1e-3 there.
pub(super) const CQT_PAD_PERIODS: f64 = 4.0;

/// Longest CQT reflection accepted, samples (about 70 min at 16 kHz): a
/// lower `f_min` or more bins per octave would need longer.
const CQT_MAX_PAD: f64 = (1u64 << 26) as f64;

impl CqtConfig {
    /// Ratio between neighbouring centre frequencies.
    pub(super) fn ratio(&self) -> f64 {
        2f64.powf(1.0 / self.bins_per_octave as f64)
    }

    /// Half-width of the Hann bump of the bin centred on `f` Hz.
    pub(super) fn half_width(&self, f: f64) -> f64 {
        2.0 * f * (self.ratio() - 1.0)
    }

    /// Whether a plan can be built; says which field is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(format!("cqt: {m}")));
        if self.sample_rate == 0 {
            return err("sample_rate must be positive".into());
        }
        if self.hop == 0 || self.hop > 1 << 16 {
            return err(format!("hop {} not in 1..=65536", self.hop));
        }
        if self.n_bins == 0 || self.n_bins > 1024 {
            return err(format!("n_bins {} not in 1..=1024", self.n_bins));
        }
        if self.bins_per_octave == 0 || self.bins_per_octave > 1024 {
            return err(format!(
                "bins_per_octave {} not in 1..=1024",
                self.bins_per_octave
            ));
        }
        let sr = self.sample_rate as f64;
        let f_min = self.f_min as f64;
        let top = f_min * self.ratio().powi(self.n_bins as i32 - 1);
        if !(f_min.is_finite() && f_min > 0.0 && top < sr / 2.0) {
            return err(format!(
                "bins must lie in (0, Nyquist): f_min {f_min} Hz, top bin {top} Hz, \
                 sample rate {sr} Hz"
            ));
        }
        if CQT_PAD_PERIODS * sr / self.half_width(f_min) > CQT_MAX_PAD {
            return err(format!(
                "f_min {f_min} Hz with {} bins per octave needs too long a filter",
                self.bins_per_octave
            ));
        }
        Ok(())
    }
}

impl FrontEndConfig for CqtConfig {
    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn hop(&self) -> usize {
        self.hop
    }

    fn validate(&self) -> Result<(), ConfigError> {
        CqtConfig::validate(self)
    }

    fn raw_is_power(&self) -> bool {
        false
    }

    fn plan(
        &self,
        input_len: usize,
        _normaliser: &NormaliserConfig,
    ) -> Result<Box<dyn FrontEndPlan>, ConfigError> {
        Ok(Box::new(Cqt::new(self, input_len)?))
    }
}

// What serde reads before `validate` accepts it (same fields, same names).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CqtFields {
    sample_rate: u32,
    hop: usize,
    n_bins: usize,
    bins_per_octave: usize,
    f_min: f32,
}

impl TryFrom<CqtFields> for CqtConfig {
    type Error = ConfigError;
    fn try_from(f: CqtFields) -> Result<Self, ConfigError> {
        let c = CqtConfig {
            sample_rate: f.sample_rate,
            hop: f.hop,
            n_bins: f.n_bins,
            bins_per_octave: f.bins_per_octave,
            f_min: f.f_min,
        };
        c.validate().map(|()| c)
    }
}
