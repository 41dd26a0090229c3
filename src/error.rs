//! Errors a user can cause. Each says plainly what was wrong with the input.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum AudioError {
    #[error("the audio is empty")]
    Empty,
    // Rounded down, so that 0.9999 s does not read as "1.00 s, at least 1.0 s".
    #[error("the audio is too short: {:.2} s, at least {min_seconds:.2} s is needed", floor_cents(.seconds))]
    TooShort { seconds: f64, min_seconds: f64 },
    #[error("unsupported sample rate {0} Hz (supported: 1 000 to 768 000 Hz)")]
    SampleRate(u32),
    #[error("unsupported channel count {0} (supported: 1 to 32)")]
    Channels(u32),
    #[error("the sample count {samples} is not a multiple of the channel count {channels}")]
    Interleave { samples: usize, channels: u32 },
    #[error("could not read the file as audio: {0}")]
    Decode(String),
    #[error("resampler: {0}")]
    Resample(String),
    #[error("{0}")]
    Io(String),
}

/// Seconds rounded down to hundredths (for "too short" messages).
fn floor_cents(seconds: &f64) -> f64 {
    (seconds * 100.0).floor() / 100.0
}
