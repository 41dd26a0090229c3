//! Native side of Scatterbrain: the `scatterbrain` command's subcommands,
//! and (to come) training and evaluation.

pub mod picture;
pub mod scatter;
