//! The sharded session behind the page's workers: each helper runs the
//! windows `part, part + parts, …` of one job (`job_*`); the coordinator
//! gathers their inputs (`input_parts` → `set_input`) and scores
//! (`prediction_cpu`) in stream order.

use super::cpu::{CpuSide, cpu_scores, no_job};
use super::{TagModel, page_tags};
use crate::pipeline::{Shard, WindowFeatures, in_stream_order};
use crate::session::{Progress, Session, SessionOptions};
use crate::tagging::{Tagging, WindowScores};
use crate::transform::Coefficients;
use crate::web::{call_progress, concat, expected_windows, js, set, to_js};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Where windows sit in the stream, as JS gets it beside their coefficients
/// (and gives it back to [`TagModel::set_input`]).
#[derive(Serialize)]
struct Placement {
    /// Index of each window in the whole stream.
    indices: Vec<u32>,
    /// Offset of each in the front end's stream, samples.
    starts: Vec<f64>,
    /// Samples of real audio in each.
    valids: Vec<u32>,
}

impl Placement {
    fn of(windows: &[WindowFeatures]) -> Self {
        Placement {
            indices: windows.iter().map(|w| w.index as u32).collect(),
            starts: windows.iter().map(|w| w.start as f64).collect(),
            valids: windows.iter().map(|w| w.valid as u32).collect(),
        }
    }
}

/// What [`TagModel::job_finish`] gives JS, plus Float32Arrays `raw` and
/// `input` (the windows' coefficients, concatenated).
#[derive(Serialize)]
struct JobResult {
    #[serde(flatten)]
    placement: Placement,
    raw_rows: usize,
    input_rows: usize,
    frames: usize,
    /// The loudest sample of all the mono pushed (every share sees it all).
    peak: f32,
}

#[wasm_bindgen]
impl TagModel {
    /// Start this worker's share of a job over `samples` samples of mono (at
    /// the front end's rate): windows `part`, `part + parts`, …, each
    /// scattered once for the pictures and the model input. Push the mono
    /// with [`TagModel::job_push`] (all of it, in order, in slices of any
    /// size), then [`TagModel::job_finish`], then (on the CPU backend)
    /// [`TagModel::job_scores`]. `file_rate`: the audio's rate in its file
    /// (the mono was resampled from it), as for [`super::super::Analyzer::scatter`].
    pub fn job_start(
        &mut self,
        samples: f64,
        part: u32,
        parts: u32,
        file_rate: Option<u32>,
    ) -> Result<(), JsError> {
        let shard = Shard::new(part as usize, parts as usize).map_err(js)?;
        self.cpu.done = None;
        let tagging = self.tagging()?;
        let features = tagging.features();
        let rate = features.sample_rate();
        let windows = expected_windows(samples, features.window_len());
        let options = SessionOptions {
            score: false,
            keep_input: true,
            keep_raw: true,
            shard,
            source_rate: file_rate,
            ..SessionOptions::default()
        };
        self.cpu.job = Some(Session::new(tagging, rate, 1, options).map_err(js)?);
        self.cpu.expected = ((windows - f64::from(part)) / f64::from(parts))
            .ceil()
            .max(0.0);
        Ok(())
    }

    /// Feed the next slice of the job's mono; this part's windows among those
    /// it completes are computed. `progress(done, total, "features")` after each.
    pub fn job_push(
        &mut self,
        mono: &[f32],
        progress: Option<js_sys::Function>,
    ) -> Result<(), JsError> {
        let expected = self.cpu.expected;
        let (job, tagging) = self.job_parts()?;
        job.push(tagging, mono, &mut report(&progress, expected))
            .map_err(js)
    }

    /// End of the job's mono: computes this part's last windows and returns
    /// them all (`{indices, starts, valids, raw_rows, input_rows, frames,
    /// raw, input}`, the last two Float32Arrays). The model input stays for
    /// [`TagModel::job_scores`].
    pub fn job_finish(&mut self, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let expected = self.cpu.expected;
        let job = self.cpu.job.take().ok_or_else(no_job)?;
        let tagging = self.cpu.tagging.as_mut().ok_or_else(no_job)?;
        let mut done = job
            .finish(tagging, &mut report(&progress, expected))
            .map_err(js)?;
        let windows = &done.windows;
        let first = windows.first();
        let result = JobResult {
            placement: Placement::of(windows),
            raw_rows: first.and_then(|w| w.raw.as_ref()).map_or(0, |c| c.rows),
            input_rows: first.map_or(0, |w| w.coefficients.rows),
            frames: first.map_or(0, |w| w.coefficients.frames),
            peak: done.peak,
        };
        let out = to_js(&result)?;
        set(
            &out,
            "raw",
            &concat(windows.iter().filter_map(|w| w.raw.as_ref())).into(),
        )?;
        set(
            &out,
            "input",
            &concat(windows.iter().map(|w| &w.coefficients)).into(),
        )?;
        // The raw coefficients have been handed over; the model input stays.
        for w in &mut done.windows {
            w.raw = None;
        }
        self.cpu.done = Some(done);
        Ok(out)
    }

    /// CPU scores of this part's windows (after [`TagModel::job_finish`], and
    /// again after a backend switch): `{indices, logit_frames, scores,
    /// logits}`, Float32Arrays `scores` (`windows × tags`) and `logits` (each
    /// window's `tags × logit_frames`; empty for a model without them).
    pub fn job_scores(&mut self, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let done = self.cpu.done.as_ref().ok_or_else(no_job)?;
        // A job has run, so the weights are loaded.
        let model = self.cpu.tagging.as_ref().ok_or_else(no_job)?.model();
        let scores = cpu_scores(model, &done.windows, &progress)?;
        #[derive(Serialize)]
        struct Rescored {
            indices: Vec<u32>,
            logit_frames: usize,
        }
        let out = to_js(&Rescored {
            indices: done.windows.iter().map(|w| w.index as u32).collect(),
            logit_frames: logit_frames(&scores),
        })?;
        set_scores(&out, &scores)?;
        Ok(out)
    }

    /// The last analysed model input in [`TagModel::set_input`]'s terms
    /// (`{indices, starts, valids, rows, frames, total, non_finite, peak}` and the
    /// Float32Array `data`), for another instance: the page runs WebGPU in
    /// a second WASM build beside the CPU one.
    pub fn input_parts(&self) -> Result<JsValue, JsError> {
        let input = self.input()?;
        let first = input.windows.first();
        #[derive(Serialize)]
        struct Parts {
            #[serde(flatten)]
            placement: Placement,
            rows: usize,
            frames: usize,
            total: f64,
            non_finite: f64,
            peak: f32,
        }
        let w = &input.windows;
        let out = to_js(&Parts {
            placement: Placement::of(w),
            rows: first.map_or(0, |w| w.coefficients.rows),
            frames: first.map_or(0, |w| w.coefficients.frames),
            total: input.total as f64,
            non_finite: input.non_finite as f64,
            peak: input.peak,
        })?;
        set(
            &out,
            "data",
            &concat(w.iter().map(|w| &w.coefficients)).into(),
        )?;
        Ok(out)
    }

    /// [`TagModel::predict_cpu`]'s result from CPU scores computed by the
    /// workers (their `job_finish` / `job_scores`, concatenated in any order):
    /// window `indices[i]` has scores `scores[i·tags..]` and per-frame logits
    /// `logits[i·tags·logit_frames..]` (`tags × logit_frames`; none when
    /// `logit_frames` is 0).
    pub fn prediction_cpu(
        &self,
        indices: Vec<u32>,
        scores: &[f32],
        logits: &[f32],
        logit_frames: usize,
    ) -> Result<JsValue, JsError> {
        let input = self.input()?;
        let tags = self.meta.tags.len();
        let n = indices.len();
        if n != input.windows.len()
            || scores.len() != n * tags
            || logits.len() != n * tags * logit_frames
        {
            return Err(JsError::new(&format!(
                "{} scores and {} logits for {n} of {} windows",
                scores.len(),
                logits.len(),
                input.windows.len()
            )));
        }
        let size = tags * logit_frames;
        let items = indices.iter().enumerate().map(|(i, &index)| {
            let w = &input.windows[(index as usize).min(n - 1)];
            let ws = WindowScores {
                start: w.start,
                valid: w.valid,
                scores: scores[i * tags..(i + 1) * tags].to_vec(),
                frame_logits: (logit_frames > 0).then(|| Coefficients {
                    rows: tags,
                    frames: logit_frames,
                    data: logits[i * size..(i + 1) * size].to_vec(),
                }),
            };
            (index as usize, ws)
        });
        let ordered = in_stream_order(items).map_err(js)?;
        to_js(&page_tags(
            "cpu",
            &self.meta.tags,
            &self.support,
            input.tags_of(ordered),
        ))
    }
}

impl TagModel {
    fn job_parts(&mut self) -> Result<(&mut Session, &mut Tagging), JsError> {
        let CpuSide { job, tagging, .. } = &mut self.cpu;
        Ok((
            job.as_mut().ok_or_else(no_job)?,
            tagging.as_mut().ok_or_else(no_job)?,
        ))
    }
}

/// A session progress callback that reports to JS.
fn report(progress: &Option<js_sys::Function>, expected: f64) -> impl FnMut(Progress) + '_ {
    move |p| match p {
        Progress::Features(n) => call_progress(progress, n, expected, "features"),
        Progress::Scored(n) => call_progress(progress, n, expected, "model"),
    }
}

fn logit_frames(scores: &[WindowScores]) -> usize {
    scores
        .first()
        .and_then(|s| s.frame_logits.as_ref())
        .map_or(0, |c| c.frames)
}

/// `scores` (`windows × tags`) and `logits` (each window's `tags × frames`) on `out`.
fn set_scores(out: &JsValue, scores: &[WindowScores]) -> Result<(), JsError> {
    let flat: Vec<f32> = scores
        .iter()
        .flat_map(|s| s.scores.iter().copied())
        .collect();
    set(out, "scores", &js_sys::Float32Array::from(&flat[..]).into())?;
    set(
        out,
        "logits",
        &concat(scores.iter().filter_map(|s| s.frame_logits.as_ref())).into(),
    )
}
