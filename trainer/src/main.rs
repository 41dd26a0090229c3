//! `scatterbrain`: the one native command (scatter, tag, train, eval, model files).

use clap::{Parser, Subcommand};
use scatterbrain_trainer::device::Backend;
use scatterbrain_trainer::{eval, model_cmd, scatter, step, tag, train};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "scatterbrain",
    version,
    about = "Music auto-tagging with a scattering transform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scattering transform of an audio file: a picture of S1 and/or the coefficients.
    Scatter(scatter::Args),
    /// Tag audio files with a model (default: the shipped one).
    Tag(tag::Args),
    /// Train a model on MagnaTagATune or a manifest; evaluate it on the test split.
    Train(Box<train::Args>),
    /// Per-tag ROC-AUC and PR-AUC of a model file on a split.
    Eval(eval::Args),
    /// Make, inspect or convert model files.
    #[command(subcommand)]
    Model(model_cmd::Command),
    /// Time the trainer's training step on random inputs (clips/s, JSON on stdout).
    BenchTrain(step::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    environment_defaults(&cli.command);
    if let Err(e) = scatterbrain_trainer::output::remove_on_interrupt() {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Scatter(a) => scatter::run(a).map(|()| true),
        Command::Tag(a) => tag::run(a),
        Command::Train(a) => train::run(*a).map(|()| true),
        Command::Eval(a) => eval::run(a).map(|()| true),
        Command::Model(c) => model_cmd::run(c).map(|()| true),
        Command::BenchTrain(a) => step::bench(a).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        // Some files failed; each was reported on its own line.
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Two environment settings, made before any thread exists (the only time
/// `set_var` is sound), and only when the user has not made them:
/// - Mesa's Vulkan device-select layer looks for a Wayland display when a
///   Vulkan instance is made, and libwayland prints "error: XDG_RUNTIME_DIR is
///   invalid" on a headless machine (four times per run with lavapipe); with no
///   display there is nothing for it to choose by, so it is turned off.
/// - burn loads an optimiser's saved state (`train --resume`) onto its default
///   device, which is wgpu when that backend is built in: on the CPU backend
///   that would open a Vulkan device for nothing, so the default is the CPU one.
fn environment_defaults(command: &Command) {
    let unset = |k: &str| std::env::var_os(k).is_none();
    let headless = unset("WAYLAND_DISPLAY") && unset("DISPLAY");
    let cpu_training = matches!(command, Command::Train(a) if a.device == Backend::Cpu);
    // SAFETY: called first thing in `main`, before any thread is spawned.
    unsafe {
        if headless && unset("NODEVICE_SELECT") {
            std::env::set_var("NODEVICE_SELECT", "1");
        }
        if cpu_training && unset("BURN_DEVICE") {
            std::env::set_var("BURN_DEVICE", "flex");
        }
    }
}
