//! Shared by the fuzz targets: the feature configuration they run, the bound
//! on work per input, and the invariants every pipeline run must hold.
// Each target uses part of this.
#![allow(dead_code)]

use scatterbrain::error::AudioError;
use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::pipeline::WindowFeatures;
use scatterbrain::windows::WindowConfig;
use std::cell::RefCell;

/// 2 s windows instead of 29 s: the same paths (full windows, an end-aligned
/// last window, a looped short input) at a fourteenth of the transform's cost.
pub const WINDOW: WindowConfig = WindowConfig {
    seconds: 2.0,
    min_seconds: 0.5,
};

/// Audio one input may feed, in seconds at its own rate: at most two
/// windows, so one input never runs for long.
pub const MAX_SECONDS: f64 = 3.0;

thread_local! {
    // Planning the transform takes ~1 s: once per process, not per input
    // (every window has the same length, so the plan is reused).
    static FEATURES: RefCell<Features> = RefCell::new(Features::new(FeatureConfig {
        window: WINDOW,
        ..FeatureConfig::default()
    }));
}

pub fn with_features<R>(f: impl FnOnce(&mut Features) -> R) -> R {
    FEATURES.with(|cell| f(&mut cell.borrow_mut()))
}

/// Whether `Pipeline::new` may refuse this stream: only a rate or channel
/// count out of the documented ranges is a reason.
pub fn check_refusal(e: &AudioError, rate: u32, channels: u32) {
    match e {
        AudioError::SampleRate(r) => {
            assert_eq!(*r, rate);
            assert!(!(1_000..=768_000).contains(&rate), "rate {rate} Hz refused");
        }
        AudioError::Channels(c) => {
            assert_eq!(*c, channels);
            assert!(!(1..=32).contains(&channels), "{channels} channels refused");
        }
        e => panic!("pipeline for {rate} Hz × {channels} refused: {e}"),
    }
}

/// What a pipeline emits, checked as it comes and at the end.
pub struct Windows {
    rate: u32,
    len: u64,
    min_len: u64,
    frames: usize,
    rows: Option<usize>,
    /// (start, valid) of each window, in stream order.
    cut: Vec<(u64, usize)>,
    /// Input frames fed so far.
    pub frames_in: u64,
}

impl Windows {
    pub fn new(features: &Features, rate: u32) -> Self {
        let len = features.window_len();
        let out_rate = f64::from(features.sample_rate());
        Windows {
            rate,
            len: len as u64,
            min_len: (WINDOW.min_seconds * out_rate).round() as u64,
            frames: len.div_ceil(features.hop()),
            rows: None,
            cut: Vec::new(),
            frames_in: 0,
        }
    }

    /// Input frames allowed for this stream (see [`MAX_SECONDS`]).
    pub fn max_frames(&self) -> u64 {
        (MAX_SECONDS * f64::from(self.rate)) as u64
    }

    /// One window: in order, the configured shape, every value finite.
    pub fn window(&mut self, w: WindowFeatures) {
        assert_eq!(w.index, self.cut.len(), "windows out of stream order");
        assert!(
            w.valid >= 1 && w.valid as u64 <= self.len,
            "valid {}",
            w.valid
        );
        for c in std::iter::once(&w.coefficients).chain(w.raw.as_ref()) {
            assert_eq!(c.frames, self.frames, "frames per window");
            assert_eq!(c.data.len(), c.rows * c.frames, "matrix size");
            assert_eq!(
                c.rows,
                *self.rows.get_or_insert(c.rows),
                "rows change between windows"
            );
            if let Some(i) = c.data.iter().position(|v| !v.is_finite()) {
                panic!(
                    "window {} row {} frame {} is {} (input {} Hz, {} frames)",
                    w.index,
                    i / c.frames,
                    i % c.frames,
                    c.data[i],
                    self.rate,
                    self.frames_in
                );
            }
        }
        self.cut.push((w.start, w.valid));
    }

    /// The end: the stream's length at the front end's rate is
    /// round(frames × 16000 / rate), and the windows are exactly those that
    /// length implies (windows.rs): back to back, an end-aligned last one, or
    /// one looped window; too little audio is `Empty` or `TooShort`.
    pub fn end(&self, result: Result<u64, AudioError>) {
        let total = if self.rate == 16_000 {
            self.frames_in
        } else {
            // As ToMono::output_len computes it, to the last bit.
            (self.frames_in as f64 * (16_000.0 / f64::from(self.rate))).round() as u64
        };
        let full = (total / self.len) as usize;
        match result {
            Ok(t) => {
                assert_eq!(
                    t, total,
                    "stream length for {} frames at {} Hz",
                    self.frames_in, self.rate
                );
                if total < self.len {
                    assert!(total >= self.min_len);
                    assert_eq!(self.cut, [(0, total as usize)], "one looped window");
                    return;
                }
                assert_eq!(
                    self.cut.len(),
                    total.div_ceil(self.len) as usize,
                    "windows for {total} samples"
                );
                for (i, &(start, valid)) in self.cut.iter().enumerate() {
                    let start_want = if i < full {
                        i as u64 * self.len
                    } else {
                        total - self.len
                    };
                    assert_eq!((start, valid as u64), (start_want, self.len), "window {i}");
                }
            }
            // Empty: no input at all; input that resamples to no sample
            // (a few frames at a higher rate) is too short.
            Err(AudioError::Empty) => assert_eq!((total, self.frames_in), (0, 0)),
            Err(AudioError::TooShort { .. }) => {
                assert!(
                    total < self.min_len && (total > 0 || self.frames_in > 0),
                    "{total} samples ({} frames in) called too short",
                    self.frames_in
                )
            }
            Err(e) => panic!(
                "finish after {} frames at {} Hz: {e}",
                self.frames_in, self.rate
            ),
        }
        if total < self.len {
            assert!(self.cut.is_empty(), "windows cut from too little audio");
        }
    }
}
