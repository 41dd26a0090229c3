//! Scatterbrain core: audio → scattering coefficients → tags.
//!
//! The modules follow the pipeline: [`resample`] (mono, 16 kHz) → [`windows`]
//! (29 s analysis windows) → [`transform`] (scattering, mel, CQT) →
//! [`normalise`] → model → tags.

#[cfg(feature = "decode")]
pub mod decode;
pub mod error;
pub mod features;
pub mod normalise;
pub mod pipeline;
pub mod resample;
pub mod transform;
#[cfg(feature = "web")]
pub mod web;
pub mod windows;
