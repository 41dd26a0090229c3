//! Front-end configurations. They are serialised into every model file so a
//! trained model records exactly which features it expects.

use serde::{Deserialize, Serialize};

/// Scattering transform parameters (paper §5.2 defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScatteringConfig {
    /// Sample rate the transform runs at, Hz.
    pub sample_rate: u32,
    /// First-order wavelets per octave.
    pub q1: u32,
    /// Second-order wavelets per octave.
    pub q2: u32,
    /// Log2 of the largest wavelet scale (Kymatio's `J`).
    pub j: u32,
    /// Averaging window, samples (Kymatio's `T`).
    pub t: usize,
    /// Output frames per window `T`, as a power of two (Kymatio's
    /// `oversampling`): 1 gives a hop of `T / 2`.
    pub oversampling: u32,
    /// Highest scattering order, 1 or 2.
    pub max_order: u32,
}

impl Default for ScatteringConfig {
    fn default() -> Self {
        ScatteringConfig {
            sample_rate: 16_000,
            q1: 8,
            q2: 1,
            j: 13,
            t: 8192,
            oversampling: 1,
            max_order: 2,
        }
    }
}

impl ScatteringConfig {
    /// Samples between output frames.
    pub fn hop(&self) -> usize {
        let log2_t = usize::BITS - 1 - self.t.leading_zeros();
        1 << log2_t.saturating_sub(self.oversampling)
    }
}

/// Log-mel spectrogram (the paper's comparison front end; see
/// [`super::mel`]). Checked by [`MelConfig::validate`] when deserialised, so
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

/// Constant-Q transform (the paper's other comparison front end; see
/// [`super::cqt`]). Checked by [`CqtConfig::validate`] when deserialised.
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

/// A front-end configuration that cannot be planned (from a model file or a
/// command line); says which field is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid front-end configuration: {0}")]
pub struct ConfigError(pub String);

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

/// Which time–frequency representation feeds the model.
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
    pub fn sample_rate(&self) -> u32 {
        match self {
            FrontEnd::Scattering(c) => c.sample_rate,
            FrontEnd::Mel(c) => c.sample_rate,
            FrontEnd::Cqt(c) => c.sample_rate,
        }
    }

    /// Short name used in model names (`scat`, `mel`, `cqt`).
    pub fn short_name(&self) -> &'static str {
        match self {
            FrontEnd::Scattering(_) => "scat",
            FrontEnd::Mel(_) => "mel",
            FrontEnd::Cqt(_) => "cqt",
        }
    }
}
