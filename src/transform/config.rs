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

/// Log-mel spectrogram (the paper's comparison front end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MelConfig {
    pub sample_rate: u32,
    pub n_fft: usize,
    pub hop: usize,
    pub n_mels: usize,
    pub f_min: f32,
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

/// Constant-Q transform (the paper's other comparison front end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CqtConfig {
    pub sample_rate: u32,
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
