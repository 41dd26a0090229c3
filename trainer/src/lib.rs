//! Native side of Scatterbrain: the `scatterbrain` command's subcommands,
//! training and evaluation.

pub mod augment;
pub mod average;
pub mod cache;
pub mod data;
pub mod device;
pub mod eval;
pub mod metrics;
pub mod model_cmd;
pub mod output;
pub mod picture;
pub mod scatter;
pub mod step;
pub mod tag;
pub mod train;
