//! Mix down to mono and resample to the front end's rate, in chunks, so a
//! long file never has to sit in memory at its original rate. The same code
//! runs natively and in the browser (after symphonia, `decode.rs`, or for a
//! format it does not read, after the browser's `decodeAudioData`).

use crate::error::AudioError;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};

use crate::transform::signal::is_5_smooth;

/// Output frames per FFT block, at least. rubato's anti-aliasing filter is
/// as sharp as its block is long in *output* frames (its cutoff is
/// `1 / (1 + 13.7 / n + …)` of the new Nyquist): with blocks of 256 input
/// frames (`Fft::new`'s choice) a 16 kHz output kept only up to 6.7 kHz of a
/// 48 kHz file and 3.3 kHz of a 192 kHz one, a loss of treble the model never
/// heard in training (ffmpeg's resampler, up to ~7.8 kHz). 1000 frames put
/// the cutoff at 98.6 % of the new Nyquist (7.9 kHz) for every input rate.
const BLOCK_OUT: usize = 1000;

/// Input frames per resampler call: one FFT block of at least [`BLOCK_OUT`]
/// output frames. Blocks are multiples of the rates' smallest common block
/// (`rate / gcd` frames on each side); the multiple is 5-smooth so that the
/// FFTs stay fast (2000 frames from 44.1 kHz gave 5733 = 3²·7²·13 input
/// points, 1.5× the time of 4096-frame chunks; from 48 kHz, 4096 frames
/// gave 4098 = 2·3·683).
fn block_in(in_rate: u32, out_rate: u32) -> usize {
    let (mut a, mut b) = (in_rate as usize, out_rate as usize);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let (unit_in, unit_out) = (in_rate as usize / a, out_rate as usize / a);
    let mut k = BLOCK_OUT.div_ceil(unit_out).max(1);
    while !is_5_smooth(k) {
        k += 1;
    }
    k * unit_in
}

/// Largest sample magnitude taken as audio. Full scale is 1; float files
/// holding integer PCM reach 2^31 ≈ 2.1e9. Beyond this (random bytes read as
/// floats, up to 3.4e38) the front end's f32 FFTs and squared magnitudes
/// would overflow to ±Inf and NaN (a mel power reaches ~1e6·x²), so such a
/// sample is garbage: it becomes silence, counted like NaN and ±Inf.
pub const MAX_SAMPLE: f32 = 1e12;

/// Streaming converter: interleaved PCM at any rate and channel count in,
/// mono at `out_rate` out. The resampler runs in f64: it costs little next to
/// the transform, and its output then rounds to the same f32 natively and in
/// WASM, whose FFT kernels differ.
pub struct ToMono {
    channels: usize,
    in_rate: u32,
    ratio: f64,
    resampler: Option<Fft<f64>>,
    /// Input frames per resampler call.
    chunk: usize,
    /// Mono input waiting for a full chunk.
    pending: Vec<f64>,
    out_buf: Vec<f64>,
    /// Output frames still to drop for the resampler's delay.
    delay_left: usize,
    frames_in: u64,
    frames_out: u64,
    /// Samples replaced by silence: see [`ToMono::non_finite`].
    pub(crate) non_finite: u64,
}

impl ToMono {
    pub fn new(in_rate: u32, channels: u32, out_rate: u32) -> Result<Self, AudioError> {
        if !(1_000..=768_000).contains(&in_rate) {
            return Err(AudioError::SampleRate(in_rate));
        }
        if !(1..=32).contains(&channels) {
            return Err(AudioError::Channels(channels));
        }
        // One FFT block per call (`sub_chunks = 1`).
        let chunk = block_in(in_rate, out_rate);
        let resampler = if in_rate == out_rate {
            None
        } else {
            Some(
                Fft::<f64>::new_custom(
                    in_rate as usize,
                    out_rate as usize,
                    chunk,
                    1,
                    1,
                    WindowFunction::BlackmanHarris2,
                    FixedSync::Input,
                )
                .map_err(|e| AudioError::Resample(e.to_string()))?,
            )
        };
        let delay_left = resampler.as_ref().map_or(0, |r| r.output_delay());
        let out_max = resampler.as_ref().map_or(0, |r| r.output_frames_max());
        Ok(ToMono {
            channels: channels as usize,
            in_rate,
            ratio: out_rate as f64 / in_rate as f64,
            resampler,
            chunk,
            pending: Vec::with_capacity(chunk),
            out_buf: vec![0.0; out_max],
            delay_left,
            frames_in: 0,
            frames_out: 0,
            non_finite: 0,
        })
    }

    /// Samples replaced by silence so far: NaN, ±Inf or beyond
    /// ±[`MAX_SAMPLE`] in the input (each channel's sample counts), and
    /// output samples that would not be finite in f32. Callers warn when it
    /// is not 0.
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Input frames pushed so far.
    pub fn frames_in(&self) -> u64 {
        self.frames_in
    }

    /// The input's sample rate, Hz.
    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }

    /// Feed interleaved samples; converted mono samples are appended to `out`.
    pub fn push(&mut self, interleaved: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        if !interleaved.len().is_multiple_of(self.channels) {
            return Err(AudioError::Interleave {
                samples: interleaved.len(),
                channels: self.channels as u32,
            });
        }
        let scale = 1.0 / self.channels as f64;
        for frame in interleaved.chunks_exact(self.channels) {
            // In f64: the sum of even two f32 channels can overflow f32.
            let mut acc = 0.0f64;
            for &s in frame {
                if s.abs() <= MAX_SAMPLE {
                    acc += f64::from(s);
                } else {
                    self.non_finite += 1;
                }
            }
            self.frames_in += 1;
            if self.resampler.is_none() {
                out.push((acc * scale) as f32);
                self.frames_out += 1;
                continue;
            }
            self.pending.push(acc * scale);
            if self.pending.len() == self.chunk {
                self.run(None, out)?;
            }
        }
        Ok(())
    }

    /// The mono samples `frames` input frames give in all:
    /// `round(frames × ratio)` (what [`ToMono::finish`] trims to).
    pub fn output_len(&self, frames: u64) -> u64 {
        if self.resampler.is_none() {
            frames
        } else {
            (frames as f64 * self.ratio).round() as u64
        }
    }

    /// Flush the tail: after this, `out` holds [`ToMono::output_len`] samples.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        if self.resampler.is_none() {
            return Ok(());
        }
        let expected = self.output_len(self.frames_in);
        if !self.pending.is_empty() {
            let n = self.pending.len();
            self.run(Some(n), out)?;
        }
        // The resampler still holds `delay` frames: pump silence through.
        while self.frames_out < expected {
            self.run(Some(0), out)?;
        }
        out.truncate(out.len() - (self.frames_out - expected) as usize);
        self.frames_out = expected;
        Ok(())
    }

    fn run(&mut self, partial: Option<usize>, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let err = |e: &dyn std::fmt::Display| AudioError::Resample(e.to_string());
        let Some(r) = self.resampler.as_mut() else {
            return Err(err(&"no resampler at the same rate"));
        };
        self.pending.resize(self.chunk, 0.0);
        let input = InterleavedSlice::new(&self.pending[..], 1, self.chunk).map_err(|e| err(&e))?;
        let frames = self.out_buf.len();
        let mut output =
            InterleavedSlice::new_mut(&mut self.out_buf[..], 1, frames).map_err(|e| err(&e))?;
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            active_channels_mask: None,
            partial_len: partial,
        };
        let (_, produced) = r
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(|e| err(&e))?;
        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        // The input is bounded, so this guard should never fire; it keeps a
        // non-finite value from reaching the transform all the same.
        for &v in &self.out_buf[skip..produced] {
            let v = v as f32;
            if v.is_finite() {
                out.push(v);
            } else {
                out.push(0.0);
                self.non_finite += 1;
            }
        }
        self.frames_out += (produced - skip) as u64;
        self.pending.clear();
        Ok(())
    }
}

/// Convert a whole buffer at once.
pub fn to_mono(
    interleaved: &[f32],
    in_rate: u32,
    channels: u32,
    out_rate: u32,
) -> Result<Vec<f32>, AudioError> {
    let mut conv = ToMono::new(in_rate, channels, out_rate)?;
    let mut out = Vec::with_capacity(
        (interleaved.len() as f64 / channels.max(1) as f64 * out_rate as f64 / in_rate as f64)
            as usize
            + 16,
    );
    conv.push(interleaved, &mut out)?;
    conv.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, channels: u32, secs: f32, f: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .flat_map(|i| {
                // The phase in f64: in f32 its rounding at large `i` is
                // broadband noise ~50 dB down, which the filters let through.
                let t = i as f64 / f64::from(rate);
                let v = ((2.0 * std::f64::consts::PI * f64::from(f) * t).sin() * 0.5) as f32;
                std::iter::repeat_n(v, channels as usize)
            })
            .collect()
    }

    #[test]
    fn lengths_and_tone_survive_every_common_rate_and_layout() {
        for rate in [8_000, 11_025, 22_050, 44_100, 48_000, 96_000] {
            for ch in 1..=6 {
                let x = tone(rate, ch, 1.0, 1000.0);
                let y = to_mono(&x, rate, ch, 16_000).unwrap();
                assert!(
                    (y.len() as i64 - 16_000).abs() <= 1,
                    "{rate} Hz: {} samples",
                    y.len()
                );
                // Amplitude of a 1 kHz tone is kept (away from the edges).
                let peak = y[2000..14000].iter().fold(0.0f32, |m, v| m.max(v.abs()));
                assert!((peak - 0.5).abs() < 0.01, "{rate} Hz × {ch}: peak {peak}");
            }
        }
    }

    /// The treble up to ~7.5 kHz is kept whatever the input rate (it was cut
    /// at 6.7 kHz from 48 kHz, 5.5 kHz from 96 kHz, 3.3 kHz from 192 kHz), and
    /// what lies above the new Nyquist is removed.
    #[test]
    fn treble_survives_every_input_rate() {
        let rms = |y: &[f32]| {
            let y = &y[y.len() / 8..y.len() * 7 / 8];
            (y.iter().map(|v| v * v).sum::<f32>() / y.len() as f32).sqrt()
        };
        for rate in [
            22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 192_000, 384_000, 768_000,
        ] {
            for f in [3_000.0, 6_000.0, 7_000.0, 7_500.0] {
                let y = to_mono(&tone(rate, 1, 0.5, f), rate, 1, 16_000).unwrap();
                let kept = rms(&y) / (0.5 / std::f32::consts::SQRT_2);
                assert!(
                    (kept - 1.0).abs() < 0.02,
                    "{f} Hz from {rate} Hz: {kept} of its level kept"
                );
            }
            if rate >= 20_000 {
                let y = to_mono(&tone(rate, 1, 0.5, 9_000.0), rate, 1, 16_000).unwrap();
                assert!(
                    rms(&y) < 1e-3,
                    "9 kHz from {rate} Hz aliased at {}",
                    rms(&y)
                );
            }
        }
    }

    #[test]
    fn content_above_the_new_nyquist_is_removed() {
        let x = tone(48_000, 1, 1.0, 12_000.0);
        let y = to_mono(&x, 48_000, 1, 16_000).unwrap();
        // Away from the tone's abrupt start and end, which the filter's
        // ~125 ms of impulse response spreads.
        let peak = y[3000..13000].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak < 1e-4, "aliased tone left at {peak}");
    }

    #[test]
    fn streaming_equals_one_shot() {
        let x = tone(44_100, 2, 2.0, 440.0);
        let whole = to_mono(&x, 44_100, 2, 16_000).unwrap();
        let mut conv = ToMono::new(44_100, 2, 16_000).unwrap();
        let mut out = Vec::new();
        for chunk in x.chunks(2 * 777) {
            conv.push(chunk, &mut out).unwrap();
        }
        conv.finish(&mut out).unwrap();
        assert_eq!(whole, out);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert_eq!(
            to_mono(&[0.0; 3], 16_000, 2, 16_000).unwrap_err(),
            AudioError::Interleave {
                samples: 3,
                channels: 2
            }
        );
        assert!(matches!(
            ToMono::new(0, 1, 16_000),
            Err(AudioError::SampleRate(0))
        ));
        assert!(matches!(
            ToMono::new(16_000, 0, 16_000),
            Err(AudioError::Channels(0))
        ));
        let mut c = ToMono::new(16_000, 1, 16_000).unwrap();
        let mut out = Vec::new();
        c.push(&[f32::NAN, 1.0, f32::INFINITY, 2e12], &mut out)
            .unwrap();
        assert_eq!(out, vec![0.0, 1.0, 0.0, 0.0]);
        assert_eq!(c.non_finite(), 3);
        assert!(to_mono(&[], 44_100, 1, 16_000).unwrap().is_empty());
        assert_eq!(to_mono(&[0.5], 44_100, 1, 16_000).unwrap().len(), 0);
    }

    #[test]
    fn channel_sums_that_overflow_f32_stay_finite() {
        // Issue 14, item 1: 3e38 + 3e38 was +Inf in f32, and rubato panicked on it.
        for rate in [16_000, 44_100] {
            let mut c = ToMono::new(rate, 2, 16_000).unwrap();
            let mut out = Vec::new();
            c.push(&vec![3e38; 2 * rate as usize], &mut out).unwrap();
            c.finish(&mut out).unwrap();
            assert_eq!(out.len(), 16_000);
            assert!(out.iter().all(|v| *v == 0.0), "{rate} Hz");
            assert_eq!(c.non_finite(), 2 * rate as u64);
        }
        // In range, even at the limit, the sum stays finite.
        let y = to_mono(&[MAX_SAMPLE; 64], 44_100, 32, 16_000).unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
    }
}
