//! The road from PCM to tags, once: an analysis session takes interleaved
//! PCM in chunks (from a decoder, the browser, a microphone), runs the
//! pipeline (mono → 16 kHz → windows → front end), scores every full batch
//! of windows as soon as it is there (memory stays bounded for hour-long
//! files), and at the end gives a [`FileTags`]: the clip's scores, each
//! window's scores and the frame-level taggram.
//!
//! The CLI's `tag`, the training cache and the page all go through here.

use crate::error::AudioError;
use crate::model::{Model, PredictError};
use crate::pipeline::{Form, Pipeline, Shard, WindowFeatures, stitch};
use crate::tagging::{BATCH, Tagging, WindowScores, clip_scores, score_windows};
use crate::transform::Coefficients;
use serde::Serialize;

/// Frames of the model's time line per taggram column: 8 frames of 4096
/// samples at 16 kHz are 2.05 s, fine enough to follow a song's sections
/// and still a few recurrent steps per column.
pub const TAGGRAM_FRAMES: usize = 8;

/// Why a session failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Predict(#[from] PredictError),
}

/// How a session analyses.
#[derive(Debug, Clone, Copy)]
pub struct SessionOptions {
    /// Windows per forward pass.
    pub batch: usize,
    /// Model frames per taggram column.
    pub taggram_frames: usize,
    /// Score windows on the session's model (the CPU) as batches fill; when
    /// false the caller scores the kept input itself (WebGPU, asynchronous).
    pub score: bool,
    /// Keep each window's model input ([`Analysis::windows`]): to score it
    /// again on another backend, or later.
    pub keep_input: bool,
    /// Keep each window's raw coefficients too (the pictures): one front-end
    /// pass gives both.
    pub keep_raw: bool,
    /// Only this share of the windows (the page's workers).
    pub shard: Shard,
    /// The audio's rate in its file, when it was resampled before it
    /// reached the session ([`Pipeline::with_source_rate`]).
    pub source_rate: Option<u32>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            batch: BATCH,
            taggram_frames: TAGGRAM_FRAMES,
            score: true,
            keep_input: false,
            keep_raw: false,
            shard: Shard::ALL,
            source_rate: None,
        }
    }
}

/// Frames at the start of each window that the taggram reads only where no
/// other frame covers their time: a recurrent model starts every window from
/// a zero state, so over its first frames its logits say more about its
/// biases than about the music (on a steady 10-min loop, the shipped model's
/// first column of every 29 s window read a mean score of 0.065–0.075, the
/// other columns 0.043–0.048).
pub const WARM_UP_FRAMES: usize = 8;

/// A span of the audio with a score per tag (in the model's tag order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    pub start_s: f64,
    pub end_s: f64,
    pub scores: Vec<f32>,
    /// A taggram column read from a window's first frames alone (the
    /// model still starting: [`WARM_UP_FRAMES`]), as at a file's start.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warm_up: bool,
}

/// Everything a session finds in one piece of audio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileTags {
    /// Length of the audio, seconds.
    pub duration_s: f64,
    /// Clip scores: the mean of the windows' scores, weighted by the audio
    /// each adds ([`clip_scores`]).
    pub scores: Vec<f32>,
    /// One span per 29 s analysis window.
    pub windows: Vec<Span>,
    /// The frame-level taggram: σ of the mean per-frame logit over
    /// [`SessionOptions::taggram_frames`] frames (recurrent models; empty for
    /// the CNN).
    pub taggram: Vec<Span>,
    /// Input samples that were NaN or infinite (read as silence).
    pub non_finite: u64,
    /// The loudest sample of the mono audio the front end hears (at its
    /// rate), as a fraction of full scale.
    pub peak: f32,
    /// Whether that is below [`SILENCE`]: the front end hears silence, and
    /// the scores are what the model says of nothing (callers say so rather
    /// than show them as tags).
    pub silent: bool,
}

/// The loudest sample below which audio counts as silence (−80 dBFS): the
/// scattering normaliser divides by the local loudness plus 1e-4, so quieter
/// audio reaches the model as ever smaller coefficients, the same as digital
/// silence (which the shipped model tags "guitar 0.55"). One threshold for
/// every front end: no one means to tag music that quiet.
pub const SILENCE: f32 = 1e-4;

impl FileTags {
    /// Why there are no tags, in words the CLI and the page both show, for
    /// silent audio; `None` otherwise. The level is of the mono audio at the
    /// front end's rate (what the analysis hears: channels that cancel out, or
    /// sound only above its band, are silence to it).
    pub fn silence_note(&self) -> Option<String> {
        if !self.silent {
            return None;
        }
        let db = |v: f32| 20.0 * v.log10();
        Some(if self.peak > 0.0 {
            format!(
                "the audio is silent: the loudest sample of the mono audio the analysis hears is at {:.1} dBFS, below the {:.0} dBFS it can hear",
                db(self.peak),
                db(SILENCE)
            )
        } else if self.non_finite > 0 {
            "the audio is silent: every sample is zero or not a number".into()
        } else {
            "the audio is silent: every sample is zero".into()
        })
    }
}

/// What progress a session has made, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Windows through the front end so far (this shard's).
    Features(usize),
    /// Windows scored so far.
    Scored(usize),
}

/// What a session gives at the end: its windows (as kept), their scores,
/// and what [`Analysis::tags`] needs to sum them up.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Kept windows (model input, and raw coefficients when asked for), in
    /// stream order; empty unless `keep_input` or `keep_raw`.
    pub windows: Vec<WindowFeatures>,
    /// Scores of the windows scored in the session, in stream order.
    pub scores: Vec<WindowScores>,
    /// Length of the audio at the front end's rate.
    pub total: u64,
    pub non_finite: u64,
    /// The loudest mono sample at the front end's rate ([`FileTags::peak`]).
    pub peak: f32,
    /// The front end's hop and rate, and the taggram's column width.
    pub hop: usize,
    pub rate: u32,
    pub taggram_frames: usize,
}

impl Analysis {
    /// The file's tags from the session's scores (all windows: no shard).
    pub fn tags(&self) -> FileTags {
        self.tags_of(self.scores.clone())
    }

    /// The file's tags from `scores` of all its windows in stream order
    /// (scored elsewhere: another backend, or gathered from shards).
    pub fn tags_of(&self, scores: Vec<WindowScores>) -> FileTags {
        summarise(
            scores,
            self.total,
            self.hop,
            self.rate,
            self.taggram_frames,
            self.non_finite,
            self.peak,
        )
    }
}

/// One piece of audio on its way to tags. The session owns its state and is
/// handed the [`Tagging`] (front end, statistics, model) on every call, so it
/// can live across calls from JS as well as in a loop.
pub struct Session {
    pipeline: Pipeline,
    options: SessionOptions,
    windows: Windows,
    hop: usize,
    rate: u32,
}

/// What a session has made of its windows so far.
#[derive(Default)]
struct Windows {
    /// Model input waiting for a full batch.
    pending: Vec<WindowFeatures>,
    kept: Vec<WindowFeatures>,
    scored: Vec<WindowScores>,
    computed: usize,
}

impl Windows {
    fn add(&mut self, w: WindowFeatures, progress: &mut dyn FnMut(Progress)) {
        self.pending.push(w);
        self.computed += 1;
        progress(Progress::Features(self.computed));
    }

    /// Score (when asked to) and keep (when asked to) the pending windows.
    fn flush(
        &mut self,
        options: &SessionOptions,
        model: &Model,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), SessionError> {
        if options.score && !self.pending.is_empty() {
            self.scored.extend(score_windows(model, &self.pending)?);
            progress(Progress::Scored(self.scored.len()));
        }
        if options.keep_input || options.keep_raw {
            self.kept.append(&mut self.pending);
        }
        self.pending.clear();
        Ok(())
    }
}

impl Session {
    /// A session for PCM of `channels` interleaved channels at `sample_rate`.
    pub fn new(
        tagging: &Tagging,
        sample_rate: u32,
        channels: u32,
        options: SessionOptions,
    ) -> Result<Self, SessionError> {
        let features = tagging.features();
        let form = if options.keep_raw {
            Form::Both
        } else {
            Form::Model
        };
        Ok(Session {
            pipeline: Pipeline::new(features, form, sample_rate, channels)?
                .with_shard(options.shard)
                .with_source_rate(options.source_rate, features),
            options: SessionOptions {
                batch: options.batch.max(1),
                taggram_frames: options.taggram_frames.max(1),
                ..options
            },
            windows: Windows::default(),
            hop: features.hop(),
            rate: features.sample_rate(),
        })
    }

    /// Feed interleaved PCM; full batches of windows are scored at once.
    pub fn push(
        &mut self,
        tagging: &mut Tagging,
        interleaved: &[f32],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), SessionError> {
        let (features, stats, model) = tagging.parts();
        let windows = &mut self.windows;
        self.pipeline
            .push(features, stats, interleaved, |w| windows.add(w, progress))?;
        if self.windows.pending.len() >= self.options.batch {
            self.windows.flush(&self.options, model, progress)?;
        }
        Ok(())
    }

    /// Seconds of audio received so far.
    pub fn seconds_seen(&self) -> f64 {
        self.pipeline.samples_seen() as f64 / f64::from(self.rate)
    }

    /// Windows scored so far.
    pub fn windows_scored(&self) -> usize {
        self.windows.scored.len()
    }

    /// End of the audio: scores the last windows.
    pub fn finish(
        self,
        tagging: &mut Tagging,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Analysis, SessionError> {
        let Session {
            pipeline,
            options,
            mut windows,
            hop,
            rate,
        } = self;
        let non_finite = pipeline.non_finite();
        let (features, stats, model) = tagging.parts();
        let (total, peak) =
            pipeline.finish_with_peak(features, stats, |w| windows.add(w, progress))?;
        windows.flush(&options, model, progress)?;
        Ok(Analysis {
            windows: windows.kept,
            scores: windows.scored,
            total,
            non_finite,
            peak,
            hop,
            rate,
            taggram_frames: options.taggram_frames,
        })
    }
}

/// Tags of a whole piece of audio given as one buffer (a convenience for
/// tests and short clips; streams use [`Session`]).
pub fn tag_pcm(
    tagging: &mut Tagging,
    pcm: &[f32],
    sample_rate: u32,
    channels: u32,
) -> Result<FileTags, SessionError> {
    let mut s = Session::new(tagging, sample_rate, channels, SessionOptions::default())?;
    s.push(tagging, pcm, &mut |_| {})?;
    Ok(s.finish(tagging, &mut |_| {})?.tags())
}

/// Turn scored windows (in stream order) into a [`FileTags`]: clip scores,
/// window spans, and the taggram (the windows' frame logits on one time line,
/// as [`stitch`] joins front-end frames, in columns of `bin` frames).
pub fn summarise(
    windows: Vec<WindowScores>,
    total: u64,
    hop: usize,
    rate: u32,
    bin: usize,
    non_finite: u64,
    peak: f32,
) -> FileTags {
    let sr = f64::from(rate);
    let duration_s = total as f64 / sr;
    let scores = clip_scores(&windows);
    let spans = windows
        .iter()
        .map(|w| Span {
            start_s: w.start as f64 / sr,
            end_s: (w.start + w.valid as u64) as f64 / sr,
            scores: w.scores.clone(),
            warm_up: false,
        })
        .collect();
    let logits: Option<Vec<WindowFeatures>> = windows
        .into_iter()
        .map(|w| {
            w.frame_logits.map(|l| WindowFeatures {
                index: 0,
                start: w.start,
                valid: w.valid,
                coefficients: with_warm_up_row(l),
                raw: None,
            })
        })
        .collect();
    let taggram = logits.map_or_else(Vec::new, |l| taggram(&l, hop, rate, bin, duration_s));
    FileTags {
        duration_s,
        scores,
        windows: spans,
        taggram,
        non_finite,
        peak,
        silent: peak < SILENCE,
    }
}

/// A window's frame logits with one more row: each frame's index in its
/// window, capped at [`WARM_UP_FRAMES`]. Stitched with the logits, it says
/// how far into its window each frame of the time line is, whichever window
/// it comes from (an end-aligned last window overlaps its predecessor).
fn with_warm_up_row(mut l: Coefficients) -> Coefficients {
    l.data
        .extend((0..l.frames).map(|f| f.min(WARM_UP_FRAMES) as f32));
    l.rows += 1;
    l
}

/// Columns of `bin` frames: σ of the mean logit, over the frames past a
/// window's warm-up where the column has any; else (a column of a window's
/// first frames only: the file's start, or where a window starts on a
/// column's edge) over the later half of the warm-up, or all, marked. A
/// column spans the time nearer its frames than any other (as the page draws
/// frames: across a window boundary frames are closer than a hop), from 0 to
/// the audio's `end`: the columns tile the audio (a 1 s file's only column
/// ended at 0.896 s, its last frame + hop/2). `logits` carry the warm-up row
/// last ([`with_warm_up_row`]).
fn taggram(logits: &[WindowFeatures], hop: usize, rate: u32, bin: usize, end: f64) -> Vec<Span> {
    if logits.is_empty() {
        return Vec::new();
    }
    let (c, times) = stitch(logits, hop, rate);
    let tags = c.rows - 1;
    let warm = &c.data[tags * c.frames..];
    // Where frame i - 1's time ends and frame i's begins: midway, in half
    // samples and divided once (233.92 s, not 233.92000000000002).
    let rate = f64::from(rate);
    let edge = |i: usize| {
        if i == 0 {
            0.0
        } else if i >= c.frames {
            end
        } else {
            ((times[i - 1] + times[i]) * rate).round() / (2.0 * rate)
        }
    };
    (0..c.frames)
        .step_by(bin)
        .map(|from| {
            let to = (from + bin).min(c.frames);
            let past = |k: usize| (from..to).filter(move |&f| warm[f] >= k as f32);
            let warm_up = past(WARM_UP_FRAMES).next().is_none();
            let frames: Vec<usize> = [WARM_UP_FRAMES, WARM_UP_FRAMES / 2, 0]
                .into_iter()
                .map(|k| past(k).collect::<Vec<_>>())
                .find(|f| !f.is_empty())
                .unwrap_or_default();
            let scores = (0..tags)
                .map(|r| {
                    let row = &c.data[r * c.frames..(r + 1) * c.frames];
                    let sum = frames.iter().map(|&f| f64::from(row[f])).sum::<f64>();
                    let mean = sum / frames.len() as f64;
                    (1.0 / (1.0 + (-mean).exp())) as f32
                })
                .collect();
            Span {
                start_s: edge(from),
                end_s: edge(to),
                scores,
                warm_up,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: u64, valid: usize, logits: Vec<f32>, frames: usize) -> WindowScores {
        WindowScores {
            start,
            valid,
            scores: vec![0.5; logits.len() / frames],
            frame_logits: Some(Coefficients {
                rows: logits.len() / frames,
                frames,
                data: logits,
            }),
        }
    }

    #[test]
    fn taggram_columns_average_logits_over_the_time_line() {
        // Hop 10 at rate 10: one frame per second; windows of 4 frames.
        let w0 = window(0, 40, vec![0.0, 2.0, 4.0, 6.0], 4);
        let w1 = window(40, 40, vec![1.0, 1.0, 1.0, 1.0], 4);
        let t = summarise(vec![w0, w1], 80, 10, 10, 3, 0, 0.5);
        assert_eq!(t.taggram.len(), 3);
        assert_eq!(t.taggram[0].scores, vec![sig(2.0)]);
        assert_eq!(t.taggram[1].scores, vec![sig((6.0 + 1.0 + 1.0) / 3.0)]);
        assert_eq!(t.taggram[2].scores, vec![sig(1.0)]);
        assert_eq!((t.taggram[0].start_s, t.taggram[0].end_s), (0.0, 2.5));
        // The columns tile the audio, to its end (the last frame is at 7 s).
        assert_eq!(t.taggram[1].start_s, 2.5);
        assert_eq!((t.taggram[1].end_s, t.taggram[2].start_s), (5.5, 5.5));
        assert_eq!(t.taggram[2].end_s, 8.0);
        assert_eq!(t.windows[1].start_s, 4.0);
        assert_eq!(t.duration_s, 8.0);
    }

    /// Column edges are whole half samples, written as such: a new user's
    /// `tag --json` had `233.92000000000002`.
    #[test]
    fn taggram_edges_print_without_float_noise() {
        let (rate, hop, frames) = (16_000, 4096, 114);
        let windows: Vec<WindowScores> = (0..9u64)
            .map(|w| window(w * 464_000, 464_000, vec![0.0; frames], frames))
            .collect();
        let t = summarise(windows, 9 * 464_000, hop, rate, 8, 0, 0.5);
        assert!(t.taggram.len() > 100);
        for c in &t.taggram {
            for x in [c.start_s, c.end_s] {
                let half_samples = (x * 2.0 * f64::from(rate)).round();
                assert_eq!(x, half_samples / (2.0 * f64::from(rate)), "{x}");
                assert!(format!("{x}").len() <= 12, "{x}");
            }
        }
    }

    /// Hop 10 at rate 10: one frame per second. A window of 12 frames from
    /// `start`, one tag: its first 4 frames at logit 5, the next 4
    /// (WARM_UP_FRAMES = 8) at 3, the rest at 1.
    fn warming(start: u64) -> WindowScores {
        let logits = (0..12).map(|f| [5.0, 3.0, 1.0][f / 4]).collect();
        window(start, 120, logits, 12)
    }

    fn sig(x: f64) -> f32 {
        (1.0 / (1.0 + (-x).exp())) as f32
    }

    /// A window's first frames are read only where nothing else covers the
    /// column; a column of them alone is marked.
    #[test]
    fn taggram_leaves_out_a_windows_warm_up_where_it_can() {
        let (w0, w1) = (warming(0), warming(120));
        // Columns of 4 frames: [0,4) [4,8) warm-up of w0 alone; [8,12) w0's
        // settled frames; [12,16) [16,20) w1's warm-up alone; [20,24) settled.
        let t = summarise(vec![w0.clone(), w1.clone()], 240, 10, 10, 4, 0, 0.5);
        let warm: Vec<bool> = t.taggram.iter().map(|c| c.warm_up).collect();
        assert_eq!(warm, [true, true, false, true, true, false]);
        assert_eq!(t.taggram[0].scores, vec![sig(5.0)]);
        assert_eq!(t.taggram[1].scores, vec![sig(3.0)]);
        assert_eq!(t.taggram[2].scores, vec![sig(1.0)]);
        // Columns of 8 from 0: [0,8) of w0 alone: its later half, marked.
        let t = summarise(vec![w0.clone(), w1.clone()], 240, 10, 10, 8, 0, 0.5);
        assert_eq!(t.taggram[0].scores, vec![sig(3.0)]);
        assert!(t.taggram[0].warm_up);
        // Columns of 5 frames: [10,15) holds w0's last two settled frames and
        // w1's first three: the settled ones only.
        let t = summarise(vec![w0, w1], 240, 10, 10, 5, 0, 0.5);
        assert_eq!(t.taggram[2].scores, vec![sig(1.0)]);
        assert!(!t.taggram[2].warm_up);
        // Warm-up is not in the JSON unless set.
        let json = serde_json::to_value(&t.taggram).unwrap();
        assert_eq!(json[0]["warm_up"], true);
        assert!(json[2].get("warm_up").is_none());
    }

    /// An end-aligned last window overlapping its predecessor by less than
    /// twice the warm-up: the stitch keeps each side's half of the overlap,
    /// so some of the last window's first frames reach the time line; they
    /// are read only where no settled frame shares their column.
    #[test]
    fn taggram_warm_up_in_an_overlapping_last_window() {
        // 22 s of audio: w1 starts at 10 s, overlapping w0's last 2 s: w0
        // keeps frames to 10 s (its 0..=10), w1 gives frames from 11 s (its
        // k = 1..11: k 1..7 warm-up).
        let (w0, w1) = (warming(0), warming(100));
        let t = summarise(vec![w0, w1], 220, 10, 10, 4, 0, 0.5);
        // Columns of 4: [0,4) w0 k0-3 (alone: marked), [4,8) w0 k4-7 (marked,
        // its later half), [8,12) w0 k8-10 + w1 k1: settled only (logit 1),
        // [12,16) w1 k2-5: later half of the warm-up, marked.
        let got: Vec<(f32, bool)> = t.taggram.iter().map(|c| (c.scores[0], c.warm_up)).collect();
        assert_eq!(got[0], (sig(5.0), true));
        assert_eq!(got[1], (sig(3.0), true));
        assert_eq!(got[2], (sig(1.0), false));
        assert_eq!(got[3], (sig(3.0), true));
        // No windows, no taggram (and no panic).
        assert!(
            summarise(Vec::new(), 0, 10, 10, 4, 0, 0.0)
                .taggram
                .is_empty()
        );
    }

    /// Silence is said in one set of words (the CLI's warning, the page's
    /// note), with the level the analysis hears.
    #[test]
    fn silent_audio_is_said_so_with_its_level() {
        let tags = |peak: f32, non_finite: u64| {
            summarise(
                vec![window(0, 40, vec![0.0; 4], 4)],
                40,
                10,
                10,
                3,
                non_finite,
                peak,
            )
        };
        assert_eq!(tags(0.5, 0).silence_note(), None);
        assert_eq!(tags(SILENCE, 0).silence_note(), None);
        let quiet = tags(SILENCE * 0.5, 0);
        assert!(quiet.silent);
        assert_eq!(
            quiet.silence_note().unwrap(),
            "the audio is silent: the loudest sample of the mono audio the analysis hears is at -86.0 dBFS, below the -80 dBFS it can hear"
        );
        assert!(
            tags(0.0, 0)
                .silence_note()
                .unwrap()
                .ends_with("every sample is zero")
        );
        assert!(
            tags(0.0, 3)
                .silence_note()
                .unwrap()
                .ends_with("zero or not a number")
        );
    }

    #[test]
    fn no_frame_logits_no_taggram() {
        let mut w = window(0, 40, vec![0.0; 4], 4);
        w.frame_logits = None;
        let t = summarise(vec![w], 40, 10, 10, 3, 0, 0.5);
        assert!(t.taggram.is_empty());
        assert_eq!(t.scores, vec![0.5]);
    }
}
