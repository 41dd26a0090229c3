//! Time–frequency front ends: the scattering transform (the paper's), and the
//! log-mel and CQT front ends it is compared against.

pub mod config;
pub mod cqt;
mod fft;
pub mod filters;
pub mod mel;
pub mod scattering;

pub use config::{ConfigError, CqtConfig, FrontEnd, MelConfig, ScatteringConfig};
pub use scattering::{Coefficients, PaddingSpec, Path, Scattering};
