//! Cut a (possibly hour-long) 16 kHz stream into analysis windows as it
//! arrives, so memory stays bounded by about two windows whatever the length.
//!
//! Windows of `W` samples start every `W` (no overlap: every sample is seen,
//! at the least cost); when the length is not a multiple of `W`, one last
//! window ends exactly at the end of the audio, overlapping its neighbour.
//! Input shorter than one window but at least `min_seconds` long is looped to
//! fill the window (the model always sees music, not padding silence).

use crate::error::AudioError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Window length, seconds (the paper's clips are 29 s).
    pub seconds: f64,
    /// Shortest input accepted, seconds.
    pub min_seconds: f64,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            seconds: 29.0,
            min_seconds: 1.0,
        }
    }
}

/// One analysis window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Offset of the first sample in the stream.
    pub start: u64,
    /// Exactly the window length.
    pub samples: Vec<f32>,
    /// How many samples are real audio (less than the length only when a
    /// short input was looped).
    pub valid: usize,
}

pub struct Windower {
    len: usize,
    min_len: usize,
    rate: f64,
    buf: Vec<f32>,
    /// Stream offset of `buf[0]`.
    buf_start: u64,
    next_start: u64,
    total: u64,
    emitted_end: u64,
}

impl Windower {
    pub fn new(config: &WindowConfig, sample_rate: u32) -> Self {
        let len = (config.seconds * sample_rate as f64).round().max(1.0) as usize;
        Windower {
            len,
            min_len: (config.min_seconds * sample_rate as f64).round() as usize,
            rate: sample_rate as f64,
            buf: Vec::with_capacity(2 * len),
            buf_start: 0,
            next_start: 0,
            total: 0,
            emitted_end: 0,
        }
    }

    pub fn window_len(&self) -> usize {
        self.len
    }

    /// Samples received so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Add samples; calls `emit` for every window completed.
    pub fn push(&mut self, samples: &[f32], mut emit: impl FnMut(Window)) {
        self.buf.extend_from_slice(samples);
        self.total += samples.len() as u64;
        while self.total >= self.next_start + self.len as u64 {
            let off = (self.next_start - self.buf_start) as usize;
            emit(Window {
                start: self.next_start,
                samples: self.buf[off..off + self.len].to_vec(),
                valid: self.len,
            });
            self.emitted_end = self.next_start + self.len as u64;
            self.next_start += self.len as u64;
        }
        // Keep what the next window or a final end-aligned window may need.
        let keep_from = self
            .next_start
            .min(self.total.saturating_sub(self.len as u64));
        let drop = (keep_from - self.buf_start) as usize;
        if drop > self.len {
            self.buf.drain(..drop);
            self.buf_start = keep_from;
        }
    }

    /// End of stream: emits the last (end-aligned or looped) window if needed.
    pub fn finish(mut self, mut emit: impl FnMut(Window)) -> Result<(), AudioError> {
        if self.total == 0 {
            return Err(AudioError::Empty);
        }
        if self.total < self.len as u64 {
            if (self.total as usize) < self.min_len {
                return Err(AudioError::TooShort {
                    seconds: self.total as f64 / self.rate,
                    min_seconds: self.min_len as f64 / self.rate,
                });
            }
            let valid = self.total as usize;
            let samples: Vec<f32> = self.buf.iter().copied().cycle().take(self.len).collect();
            emit(Window {
                start: 0,
                samples,
                valid,
            });
            return Ok(());
        }
        if self.emitted_end < self.total {
            let start = self.total - self.len as u64;
            let off = (start - self.buf_start) as usize;
            let samples = self.buf.split_off(off);
            emit(Window {
                start,
                samples,
                valid: self.len,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(total: usize, chunk: usize) -> Result<Vec<Window>, AudioError> {
        let cfg = WindowConfig {
            seconds: 1.0,
            min_seconds: 0.25,
        };
        let mut w = Windower::new(&cfg, 100);
        let x: Vec<f32> = (0..total).map(|i| i as f32).collect();
        let mut out = Vec::new();
        for c in x.chunks(chunk.max(1)) {
            w.push(c, |win| out.push(win));
        }
        w.finish(|win| out.push(win))?;
        Ok(out)
    }

    #[test]
    fn windows_cover_the_stream_and_the_last_is_end_aligned() {
        for chunk in [1, 7, 100, 1000] {
            let w = run(350, chunk).unwrap();
            let starts: Vec<u64> = w.iter().map(|w| w.start).collect();
            assert_eq!(starts, vec![0, 100, 200, 250]);
            for win in &w {
                assert_eq!(win.samples.len(), 100);
                assert_eq!(win.samples[0], win.start as f32);
                assert_eq!(win.samples[99], (win.start + 99) as f32);
            }
        }
        assert_eq!(run(300, 64).unwrap().len(), 3);
    }

    #[test]
    fn short_input_is_looped_long_enough_and_too_short_is_an_error() {
        let w = run(40, 9).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].valid, 40);
        assert_eq!(w[0].samples[40], 0.0);
        assert_eq!(w[0].samples[41], 1.0);
        assert_eq!(run(0, 1).unwrap_err(), AudioError::Empty);
        assert!(matches!(run(10, 3), Err(AudioError::TooShort { .. })));
    }

    #[test]
    fn memory_stays_bounded_on_long_streams() {
        let cfg = WindowConfig::default();
        let mut w = Windower::new(&cfg, 16_000);
        let chunk = vec![0.1f32; 16_000];
        let mut n = 0;
        for _ in 0..600 {
            w.push(&chunk, |_| n += 1);
            assert!(w.buf.len() <= 2 * w.len + chunk.len());
        }
        assert_eq!(n, 600 / 29);
    }
}
