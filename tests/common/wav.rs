//! WAV files made in memory for tests (the root crate's and the trainer's:
//! `trainer/tests/common` includes this file by path).
// Each test crate uses part of it.
#![allow(dead_code)]

/// How the samples are stored.
#[derive(Clone, Copy)]
pub enum Sample {
    /// 16-bit integers (format tag 1); samples are clamped to [-1, 1].
    I16,
    /// 32-bit IEEE floats (format tag 3), written as given (inf, NaN, 3e38…).
    F32,
}

/// A RIFF/WAVE file of `samples`, `channels` interleaved.
pub fn wav_bytes(rate: u32, channels: u16, sample: Sample, samples: &[f32]) -> Vec<u8> {
    let (tag, width) = match sample {
        Sample::I16 => (1u16, 2u16),
        Sample::F32 => (3u16, 4u16),
    };
    let data_len = samples.len() as u32 * u32::from(width);
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(width * channels)).to_le_bytes());
    b.extend_from_slice(&(width * channels).to_le_bytes());
    b.extend_from_slice(&(8 * width).to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for &s in samples {
        match sample {
            Sample::I16 => {
                b.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
            }
            Sample::F32 => b.extend_from_slice(&s.to_le_bytes()),
        }
    }
    b
}

/// A 32-bit float WAV (the overflow and random-bytes tests).
pub fn float_wav(rate: u32, channels: u16, samples: &[f32]) -> Vec<u8> {
    wav_bytes(rate, channels, Sample::F32, samples)
}
