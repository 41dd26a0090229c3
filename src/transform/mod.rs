//! Time–frequency front ends: the scattering transform (the paper's), and the
//! log-mel and CQT front ends it is compared against.
//!
//! Each front end is a room of its own (Kymatio's split: filter bank, core,
//! front end): `scattering/`, `mel/`, `cqt/`, each with its configuration
//! and validation (`config.rs`), its plan and its normaliser. What they share
//! is here: the [`FrontEndPlan`] and [`FrontEndConfig`] traits and the
//! [`FrontEnd`] choice among them (`front_end.rs`), the output type
//! ([`Coefficients`], [`RowInfo`]), padding and FFT-size helpers (`signal.rs`),
//! the Morlet filters (`filters.rs`) and the FFT planner (`fft.rs`).
//!
//! Adding a front end: a new room implementing [`FrontEndConfig`] for its
//! configuration and [`FrontEndPlan`] for its plan, and its variant in
//! `front_end.rs` ([`FrontEnd`] and [`FrontEndKind`]).

pub mod coefficients;
pub mod cqt;
mod fft;
pub mod filters;
pub mod front_end;
mod gauss;
pub mod mel;
pub mod scattering;
pub(crate) mod signal;

pub use coefficients::{Coefficients, RowInfo};
pub use cqt::CqtConfig;
pub use fft::Real;
pub use front_end::{ConfigError, FrontEnd, FrontEndConfig, FrontEndKind, FrontEndPlan};
pub use mel::MelConfig;
pub use scattering::{
    NormaliserConfig, PaddingSpec, Path, Precision, Scattering, ScatteringConfig,
    ScatteringFrontEnd, ScatteringPlan,
};
