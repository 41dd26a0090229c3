//! PCM in (any rate, any channel count, in chunks), features per analysis
//! window out: resample → window → front end. Native decoding and the browser
//! both feed this, so they share every step after decoding.

use crate::error::AudioError;
use crate::features::Features;
use crate::normalise::Standardisation;
use crate::resample::ToMono;
use crate::transform::Coefficients;
use crate::windows::{Window, Windower};

mod stitch;
pub use stitch::{Stitcher, stitch};

/// Which form of the features to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Un-normalised front-end output (S0, S1, S2 as in the paper's eqs. 1–3).
    Raw,
    /// Normalised (and standardised, when statistics are given): the model's input.
    Model,
    /// The model's input, with the raw coefficients beside it (one front-end
    /// pass gives both: the page's pictures and its tags).
    Both,
}

/// Features of one analysis window.
#[derive(Debug, Clone)]
pub struct WindowFeatures {
    /// The window's number in the stream (0, 1, …), also when sharded.
    pub index: usize,
    /// Offset of the window in the 16 kHz stream, samples.
    pub start: u64,
    /// Samples of real audio in the window.
    pub valid: usize,
    /// The features in the pipeline's form (the model input for [`Form::Both`]).
    pub coefficients: Coefficients,
    /// The raw coefficients, for [`Form::Both`] only.
    pub raw: Option<Coefficients>,
}

/// One worker's share of a stream's windows: windows `part`, `part + parts`, …
/// (the page scatters a song on every core this way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub part: usize,
    pub parts: usize,
}

impl Shard {
    /// The whole stream.
    pub const ALL: Shard = Shard { part: 0, parts: 1 };

    pub fn new(part: usize, parts: usize) -> Result<Self, AudioError> {
        if parts == 0 || part >= parts {
            return Err(AudioError::Io(format!("no part {part} of {parts}")));
        }
        Ok(Shard { part, parts })
    }

    pub fn holds(&self, index: usize) -> bool {
        index % self.parts == self.part
    }
}

/// PCM → mono at the front end's rate → windows → features. It holds no
/// borrow of the front end (each call is handed the same one), so a session
/// that owns its state can live across calls from JS.
pub struct Pipeline {
    to_mono: ToMono,
    windower: Windower,
    form: Form,
    shard: Shard,
    /// Windows cut so far (all shards).
    cut: usize,
    mono: Vec<f32>,
    /// The loudest mono sample so far.
    peak: f32,
    /// The input's Nyquist frequency when it is below the front end's: the
    /// audio holds nothing above it ([`Features::limit_band`]).
    band_top_hz: Option<f64>,
}

impl Pipeline {
    /// A pipeline for `features`' front end; pass the same `features` to
    /// every [`Pipeline::push`] and [`Pipeline::finish`].
    pub fn new(
        features: &Features,
        form: Form,
        in_rate: u32,
        channels: u32,
    ) -> Result<Self, AudioError> {
        let rate = features.sample_rate();
        Ok(Pipeline {
            to_mono: ToMono::new(in_rate, channels, rate)?,
            windower: Windower::new(&features.config().window, rate),
            form,
            shard: Shard::ALL,
            cut: 0,
            mono: Vec::new(),
            peak: 0.0,
            band_top_hz: (in_rate < rate).then(|| f64::from(in_rate) / 2.0),
        })
    }

    /// The audio was at `rate` Hz before it reached this pipeline (mixed and
    /// resampled already, as the page does for long files): like audio fed
    /// at that rate, it holds nothing above `rate / 2`. `None` changes
    /// nothing.
    pub fn with_source_rate(mut self, rate: Option<u32>, features: &Features) -> Self {
        if let Some(rate) = rate {
            let top = f64::from(rate) / 2.0;
            let nyquist = f64::from(features.sample_rate()) / 2.0;
            if top < self.band_top_hz.unwrap_or(nyquist) {
                self.band_top_hz = Some(top);
            }
        }
        self
    }

    /// Compute only `shard`'s windows (the others are cut and skipped).
    pub fn with_shard(mut self, shard: Shard) -> Self {
        self.shard = shard;
        self
    }

    /// Samples at the front end's rate received so far.
    pub fn samples_seen(&self) -> u64 {
        self.windower.total() + self.mono.len() as u64
    }

    /// Input samples that were NaN or infinite (read as silence).
    pub fn non_finite(&self) -> u64 {
        self.to_mono.non_finite
    }

    /// Feed interleaved PCM; each completed window's features go to `out`.
    pub fn push(
        &mut self,
        features: &mut Features,
        stats: Option<&Standardisation>,
        interleaved: &[f32],
        out: impl FnMut(WindowFeatures),
    ) -> Result<(), AudioError> {
        self.mono.clear();
        self.to_mono.push(interleaved, &mut self.mono)?;
        self.peak = self.peak.max(loudest(&self.mono));
        let before = features.limit_band(self.band_top_hz);
        let mut run = Run {
            features,
            stats,
            form: self.form,
            shard: self.shard,
            cut: &mut self.cut,
            out,
        };
        self.windower.push(&self.mono, |w| run.window(w));
        run.features.limit_band(before);
        self.mono.clear();
        Ok(())
    }

    /// End of input. Returns the length of the audio at the front end's rate.
    pub fn finish(
        self,
        features: &mut Features,
        stats: Option<&Standardisation>,
        out: impl FnMut(WindowFeatures),
    ) -> Result<u64, AudioError> {
        Ok(self.finish_with_peak(features, stats, out)?.0)
    }

    /// [`Pipeline::finish`], and the loudest mono sample of the whole audio
    /// at the front end's rate (see [`crate::session::SILENCE`]).
    pub fn finish_with_peak(
        mut self,
        features: &mut Features,
        stats: Option<&Standardisation>,
        out: impl FnMut(WindowFeatures),
    ) -> Result<(u64, f32), AudioError> {
        self.mono.clear();
        self.to_mono.finish(&mut self.mono)?;
        self.peak = self.peak.max(loudest(&self.mono));
        let before = features.limit_band(self.band_top_hz);
        let mut run = Run {
            features,
            stats,
            form: self.form,
            shard: self.shard,
            cut: &mut self.cut,
            out,
        };
        self.windower.push(&self.mono, |w| run.window(w));
        let total = self.windower.total();
        let (frames_in, rate_in) = (self.to_mono.frames_in(), self.to_mono.in_rate());
        let finished = self.windower.finish(|w| run.window(w));
        run.features.limit_band(before);
        finished.map_err(|e| match e {
            // A few input samples that resample to none are too short, not
            // empty (one sample of a 44.1 kHz file said "empty").
            AudioError::Empty if frames_in > 0 => AudioError::TooShort {
                seconds: frames_in as f64 / f64::from(rate_in),
                min_seconds: run.features.config().window.min_seconds,
            },
            e => e,
        })?;
        Ok((total, self.peak))
    }
}

/// The largest magnitude among `samples` (0 for none).
fn loudest(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// The front end applied to each window a [`Pipeline`] cuts.
struct Run<'a, F> {
    features: &'a mut Features,
    stats: Option<&'a Standardisation>,
    form: Form,
    shard: Shard,
    cut: &'a mut usize,
    out: F,
}

impl<F: FnMut(WindowFeatures)> Run<'_, F> {
    fn window(&mut self, w: Window) {
        let index = *self.cut;
        *self.cut += 1;
        if !self.shard.holds(index) {
            return;
        }
        // Only the raw coefficients are of the unlooped audio (the model's
        // input is never: no copy made for it).
        let unlooped = (self.form != Form::Model).then(|| unlooped(&w)).flatten();
        let audio = unlooped.as_deref().unwrap_or(&w.samples);
        let (coefficients, raw) = match self.form {
            Form::Raw => (self.features.raw(audio), None),
            Form::Model => (self.features.model_input(&w.samples, self.stats), None),
            // One front-end pass gives both when they are of the same audio.
            Form::Both if unlooped.is_none() => {
                let (raw, input) = self.features.raw_and_model_input(&w.samples, self.stats);
                (input, Some(raw))
            }
            Form::Both => (
                self.features.model_input(&w.samples, self.stats),
                Some(self.features.raw(audio)),
            ),
        };
        (self.out)(WindowFeatures {
            index,
            start: w.start,
            valid: w.valid,
            coefficients,
            raw,
        });
    }
}

/// For the raw coefficients of a short input (looped to fill its window for
/// the model, which was trained so): the audio reflected at its end instead,
/// as the transform pads any signal. Looped, the last half second of a 10 s
/// file that falls silent after 2 s showed the loop's first notes (−19 dB
/// where the audio is silent); the frames kept are those over the audio.
fn unlooped(w: &Window) -> Option<Vec<f32>> {
    (w.valid < w.samples.len()).then(|| {
        let mut x = vec![0.0f32; w.samples.len()];
        crate::transform::signal::reflect_pad(&w.samples[..w.valid], 0, &mut x);
        x
    })
}

/// Items computed in shards (each tagged with its window's index in the
/// stream), back in stream order; an index missing or given twice is an error.
pub fn in_stream_order<T>(
    items: impl IntoIterator<Item = (usize, T)>,
) -> Result<Vec<T>, AudioError> {
    let mut slots: Vec<Option<T>> = Vec::new();
    for (index, item) in items {
        if index >= slots.len() {
            slots.resize_with(index + 1, || None);
        }
        if slots[index].replace(item).is_some() {
            return Err(AudioError::Io(format!("window {index} was computed twice")));
        }
    }
    let n = slots.len();
    slots
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.ok_or_else(|| AudioError::Io(format!("window {i} of {n} is missing"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_hold_every_nth_window() {
        let s = Shard::new(1, 3).unwrap();
        assert_eq!(
            (0..7).filter(|&i| s.holds(i)).collect::<Vec<_>>(),
            vec![1, 4]
        );
        assert!(Shard::new(3, 3).is_err());
        assert!(Shard::new(0, 0).is_err());
    }

    /// A window of `rows = 2` and 5 frames every 4 samples; value
    /// `100 * window + 10 * row + frame` tells where a frame came from.
    fn window(index: usize, start: u64, valid: usize) -> WindowFeatures {
        let (rows, frames) = (2, 5);
        let data = (0..rows * frames)
            .map(|i| (100 * index + 10 * (i / frames) + i % frames) as f32)
            .collect();
        WindowFeatures {
            index,
            start,
            valid,
            coefficients: Coefficients { rows, frames, data },
            raw: None,
        }
    }

    #[test]
    fn windows_are_joined_and_an_end_aligned_overlap_split_in_the_middle() {
        // 50 samples: two windows of 20, then one end-aligned at 30 that
        // overlaps the second by 10 samples; each keeps its half (cut at 35).
        let ws = [window(0, 0, 20), window(1, 20, 20), window(2, 30, 20)];
        let (c, times) = stitch(&ws, 4, 4);
        let t: Vec<f64> = [0, 4, 8, 12, 16, 20, 24, 28, 32, 38, 42, 46]
            .iter()
            .map(|&s| s as f64 / 4.0)
            .collect();
        assert_eq!(times, t);
        assert_eq!((c.rows, c.frames), (2, 12));
        let from = [0, 1, 2, 3, 4, 100, 101, 102, 103, 202, 203, 204];
        assert_eq!(c.row(0), from.map(|v| v as f32));
        assert_eq!(c.row(1), from.map(|v| v as f32 + 10.0));
        // Streamed: a window's frames are handed on when the next one comes.
        let mut got = Vec::new();
        let mut stitcher = Stitcher::new(4);
        let mut settled = Vec::new();
        for w in &ws {
            let add = |c: &[f32], t| {
                got.push((t, c[0]));
                Ok::<_, ()>(())
            };
            stitcher.push(w, add).unwrap();
            settled.push(got.len());
        }
        assert_eq!(settled, [0, 5, 9]);
        let add = |c: &[f32], t| {
            got.push((t, c[0]));
            Ok::<_, ()>(())
        };
        stitcher.finish(add).unwrap();
        let streamed: Vec<(u64, f32)> = (t.iter().map(|&s| (s * 4.0) as u64))
            .zip(from.map(|v| v as f32))
            .collect();
        assert_eq!(got, streamed);
        // A short input looped to fill its window: only frames over real audio.
        let (c, times) = stitch(&[window(0, 0, 6)], 4, 4);
        assert_eq!((c.frames, times), (2, vec![0.0, 1.0]));
        assert_eq!(c.row(1), [10.0, 11.0]);
    }

    /// Features of interleaved `pcm` through `pipeline`, all windows' rows.
    fn run(pipeline: Pipeline, features: &mut Features, pcm: &[f32]) -> Vec<Vec<f32>> {
        let mut got = Vec::new();
        let mut pipeline = pipeline;
        pipeline
            .push(features, None, pcm, |w| got.push(w.coefficients.data))
            .unwrap();
        pipeline
            .finish(features, None, |w| got.push(w.coefficients.data))
            .unwrap();
        got
    }

    /// An 8 kHz file holds nothing above 4 kHz, and is scattered in float64
    /// (its near-empty bands would otherwise hold float32 rounding, which
    /// differs between native and WASM); the same audio resampled before it
    /// reaches the pipeline (the page's long files) gives the same features
    /// when its file's rate is said, and elsewhere than those bands, what
    /// float32 gives.
    #[test]
    fn audio_from_a_lower_rate_keeps_its_band_however_it_arrives() {
        use crate::features::FeatureConfig;
        let mut features = Features::new(FeatureConfig::default());
        let pcm = crate::transform::scattering::tests::noise(8000 * 3, 5);
        let at_8k = Pipeline::new(&features, Form::Raw, 8000, 1).unwrap();
        let direct = run(at_8k, &mut features, &pcm);

        let mut mono = Vec::new();
        let mut to_mono = ToMono::new(8000, 1, 16_000).unwrap();
        to_mono.push(&pcm, &mut mono).unwrap();
        to_mono.finish(&mut mono).unwrap();
        let at_16k = || Pipeline::new(&features, Form::Raw, 16_000, 1).unwrap();
        let said = at_16k().with_source_rate(Some(8000), &features);
        let unsaid = at_16k();
        assert_eq!(run(said, &mut features, &mono), direct);
        let rounding = run(unsaid, &mut features, &mono);
        assert_ne!(rounding, direct);

        let rows = features.rows(features.window_len());
        let frames = direct[0].len() / rows.len();
        let row = |c: &[f32], r: usize| c[r * frames..(r + 1) * frames].to_vec();
        // The row nearest 1 kHz (audio there) hardly moves.
        let r = (0..rows.len())
            .filter(|&r| rows[r].order == 1)
            .min_by_key(|&r| (rows[r].freq1_hz.unwrap() - 1000.0).abs() as u64)
            .unwrap();
        let (a, b) = (row(&direct[0], r), row(&rounding[0], r));
        let peak = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak > 0.0);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-5 * peak, "{x} {y} (peak {peak})");
        }
    }

    #[test]
    fn stream_order_is_restored_and_checked() {
        let parts = vec![(2, 'c'), (0, 'a'), (3, 'd'), (1, 'b')];
        assert_eq!(in_stream_order(parts).unwrap(), vec!['a', 'b', 'c', 'd']);
        assert!(
            in_stream_order(vec![(0, 'a'), (2, 'c')])
                .unwrap_err()
                .to_string()
                .contains("window 1 of 3 is missing")
        );
        assert!(
            in_stream_order(vec![(0, 'a'), (0, 'b')])
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(
            in_stream_order(Vec::<(usize, u8)>::new())
                .unwrap()
                .is_empty()
        );
    }
}
