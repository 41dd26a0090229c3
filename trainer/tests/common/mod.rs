//! Helpers shared by the trainer's integration tests, which run the real
//! `scatterbrain` binary. Each test file uses only some of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../../tests/common/wav.rs"]
pub mod wav;

#[path = "../../../tests/common/manifest.rs"]
mod manifest;

#[path = "../../../tests/common/reference.rs"]
pub mod reference;

/// The `scatterbrain` binary built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scatterbrain"))
}

/// A file of the shared audio fixtures (tests/fixtures/audio).
pub fn fixture(name: &str) -> PathBuf {
    manifest::dir().join("../tests/fixtures/audio").join(name)
}

/// Runs a command, showing its exit status and standard error in the test's output.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run scatterbrain");
    eprintln!(
        "status {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fresh, empty folder per test (`group`: the test file, `name`: the
/// test), removed with everything in it when the value is dropped, so a run
/// leaves nothing in the temporary folder (the 1-hour scatter alone wrote
/// 141 MB per run), passed or failed.
pub fn tmp(group: &str, name: &str) -> Tmp {
    Tmp(tempfile::Builder::new()
        .prefix(&format!("sb-{group}-{name}-"))
        .tempdir()
        .expect("a folder in the temporary folder"))
}

/// A test's folder: a [`Path`] (deref), removed on drop.
pub struct Tmp(tempfile::TempDir);

impl std::ops::Deref for Tmp {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Tmp {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// A small random model (`model init ARCH --seed SEED`) written to `path`.
pub fn init_model(path: &Path, arch: &str, seed: u64) {
    let out = run(bin()
        .args(["model", "init", arch, "--seed", &seed.to_string(), "--out"])
        .arg(path));
    assert!(out.status.success(), "model init {arch}");
}

/// 16-bit mono WAV at 16 kHz of a 440 Hz tone with a slow tremolo, `seconds` long.
pub fn tone_wav(path: &Path, seconds: f64) {
    let rate = 16_000u32;
    let samples: Vec<f32> = (0..(seconds * f64::from(rate)) as usize)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (0.3 * (1.0 + (0.2 * t).sin()) * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as f32
        })
        .collect();
    std::fs::write(path, wav::wav_bytes(rate, 1, wav::Sample::I16, &samples)).unwrap();
}
