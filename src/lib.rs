//! Scatterbrain core: audio → scattering coefficients → tags.
//!
//! The modules follow the pipeline: [`resample`] (mono, 16 kHz) →
//! [`transform`] (scattering, mel, CQT) → [`normalise`] → model → tags.

pub mod transform;
