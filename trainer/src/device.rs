//! Which burn device runs the model natively.

use anyhow::{Context, Result};
use scatterbrain::model::Device;

/// `--device` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// burn's portable CPU backend (flex).
    Cpu,
    /// burn's wgpu backend: a GPU through Vulkan/Metal/DX12 (on a machine
    /// without one, Mesa's lavapipe runs it on the CPU, slowly).
    Wgpu,
}

pub fn device(backend: Backend) -> Result<Device> {
    match backend {
        Backend::Cpu => Ok(Device::flex()),
        Backend::Wgpu => Device::wgpu_options()
            .init()
            .map_err(|e| anyhow::anyhow!("{e:?}"))
            .context("no wgpu adapter (a GPU driver, or Mesa's lavapipe: apt-get install mesa-vulkan-drivers)"),
    }
}
