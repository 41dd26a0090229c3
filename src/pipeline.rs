//! PCM in (any rate, any channel count, in chunks), features per analysis
//! window out: resample → window → front end. Native decoding and the browser
//! both feed this, so they share every step after decoding.

use crate::error::AudioError;
use crate::features::Features;
use crate::normalise::Standardisation;
use crate::resample::ToMono;
use crate::transform::Coefficients;
use crate::windows::{Window, Windower};

/// Which form of the features to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Un-normalised front-end output (S0, S1, S2 as in the paper's eqs. 1–3).
    Raw,
    /// Normalised (and standardised, when statistics are given): the model's input.
    Model,
}

/// Features of one analysis window.
#[derive(Debug, Clone)]
pub struct WindowFeatures {
    /// Offset of the window in the 16 kHz stream, samples.
    pub start: u64,
    /// Samples of real audio in the window.
    pub valid: usize,
    pub coefficients: Coefficients,
}

pub struct Pipeline<'a> {
    to_mono: ToMono,
    windower: Windower,
    features: &'a mut Features,
    stats: Option<&'a Standardisation>,
    form: Form,
    mono: Vec<f32>,
}

impl<'a> Pipeline<'a> {
    pub fn new(
        features: &'a mut Features,
        stats: Option<&'a Standardisation>,
        form: Form,
        in_rate: u32,
        channels: u32,
    ) -> Result<Self, AudioError> {
        let rate = features.sample_rate();
        Ok(Pipeline {
            to_mono: ToMono::new(in_rate, channels, rate)?,
            windower: Windower::new(&features.config().window, rate),
            features,
            stats,
            form,
            mono: Vec::new(),
        })
    }

    /// 16 kHz samples received so far.
    pub fn samples_seen(&self) -> u64 {
        self.windower.total() + self.mono.len() as u64
    }

    /// Input samples that were NaN or infinite (read as silence).
    pub fn non_finite(&self) -> u64 {
        self.to_mono.non_finite
    }

    fn run(
        features: &mut Features,
        stats: Option<&Standardisation>,
        form: Form,
        w: Window,
    ) -> WindowFeatures {
        let coefficients = match form {
            Form::Raw => features.raw(&w.samples),
            Form::Model => features.model_input(&w.samples, stats),
        };
        WindowFeatures {
            start: w.start,
            valid: w.valid,
            coefficients,
        }
    }

    /// Feed interleaved PCM; each completed window's features go to `out`.
    pub fn push(
        &mut self,
        interleaved: &[f32],
        mut out: impl FnMut(WindowFeatures),
    ) -> Result<(), AudioError> {
        self.mono.clear();
        self.to_mono.push(interleaved, &mut self.mono)?;
        let (features, stats, form) = (&mut *self.features, self.stats, self.form);
        self.windower
            .push(&self.mono, |w| out(Self::run(features, stats, form, w)));
        self.mono.clear();
        Ok(())
    }

    /// End of input. Returns the length of the audio at the front end's rate.
    pub fn finish(mut self, mut out: impl FnMut(WindowFeatures)) -> Result<u64, AudioError> {
        self.mono.clear();
        self.to_mono.finish(&mut self.mono)?;
        let (features, stats, form) = (&mut *self.features, self.stats, self.form);
        self.windower
            .push(&self.mono, |w| out(Self::run(features, stats, form, w)));
        let total = self.windower.total();
        self.windower
            .finish(|w| out(Self::run(features, stats, form, w)))?;
        Ok(total)
    }
}

/// Join per-window features into one time line. Windows follow each other;
/// where an end-aligned last window overlaps its neighbour, each side keeps the
/// half of the overlap nearer its own centre (frames near a window's edge see
/// padding). Returns the matrix and the time (s) of each frame.
pub fn stitch(
    windows: &[WindowFeatures],
    hop: usize,
    sample_rate: u32,
) -> (Coefficients, Vec<f64>) {
    let rows = windows.first().map_or(0, |w| w.coefficients.rows);
    let mut cols: Vec<(usize, usize, u64)> = Vec::new(); // (window, frame, time)
    let mut prev_end = 0u64;
    for (wi, w) in windows.iter().enumerate() {
        let frames = w.coefficients.frames;
        // A looped short input: keep only frames over real audio.
        let usable = frames.min(w.valid.div_ceil(hop).max(1));
        let from = if wi > 0 && w.start < prev_end {
            let mid = (w.start + prev_end) / 2;
            cols.retain(|c| c.2 < mid);
            mid
        } else {
            w.start
        };
        for f in 0..usable {
            let t = w.start + (f * hop) as u64;
            if t >= from {
                cols.push((wi, f, t));
            }
        }
        prev_end = w.start + w.valid as u64;
    }
    let n = cols.len();
    let mut data = vec![0.0f32; rows * n];
    for (c, &(wi, f, _)) in cols.iter().enumerate() {
        let src = &windows[wi].coefficients;
        for r in 0..rows {
            data[r * n + c] = src.data[r * src.frames + f];
        }
    }
    let times = cols
        .iter()
        .map(|c| c.2 as f64 / sample_rate as f64)
        .collect();
    (
        Coefficients {
            rows,
            frames: n,
            data,
        },
        times,
    )
}
