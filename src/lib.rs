//! Scatterbrain core: audio → scattering coefficients → tags.
//!
//! The modules follow the pipeline: [`resample`] (mono, 16 kHz) → [`windows`]
//! (29 s analysis windows) → [`transform`] (scattering, mel, CQT) →
//! [`normalise`] → `model` → `tagging` (tags per window and per clip);
//! `session` runs the whole road for a piece of audio.

#[cfg(feature = "decode")]
pub mod decode;
pub mod error;
pub mod features;
#[cfg(feature = "model-core")]
pub(crate) mod isa;
#[cfg(feature = "model-core")]
pub mod model;
pub mod normalise;
pub mod pipeline;
pub mod resample;
#[cfg(feature = "model-core")]
pub mod session;
#[cfg(feature = "model-core")]
pub mod tagging;
pub mod tags;
#[cfg(test)]
pub(crate) mod test_support;
pub mod transform;
#[cfg(feature = "bindings")]
pub mod web;
pub mod windows;
