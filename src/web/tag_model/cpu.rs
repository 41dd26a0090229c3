//! The CPU side of [`TagModel`] (the page's CPU build): the weights on
//! burn's flex backend with the model's front end, the model input of PCM by
//! the core's session, and tags on the CPU.

use std::rc::Rc;

use super::{TagModel, page_tags};
use crate::model::{Device, Model};
use crate::pipeline::WindowFeatures;
use crate::resample::to_mono;
use crate::session::{Analysis, Progress, Session, SessionOptions};
use crate::tagging::{BATCH, Tagging, WindowScores, score_windows};
use crate::web::{call_progress, expected_windows_of, js, slices, to_js};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl TagModel {
    /// Build the front end's plan now (the weights too, if lazy), so that
    /// the first file does not wait for it; the page calls it once the
    /// model is reported ready.
    pub fn warm(&mut self) -> Result<(), JsError> {
        self.tagging()?.warm();
        Ok(())
    }

    /// Whether the model reads the same front end as `analyzer` computes for
    /// the pictures (when not, the model's own front end still feeds it).
    pub fn same_front_end(&self, analyzer: &crate::web::Analyzer) -> bool {
        self.front_end == *analyzer.features.config()
    }

    /// Analyse interleaved PCM (`channels` channels at `sample_rate` Hz) in
    /// one go and keep its model input for [`TagModel::predict_cpu`] /
    /// [`TagModel::predict_webgpu`]; returns the number of windows.
    /// `progress(done, total, "features")` after every window; `file_rate`
    /// as for [`crate::web::Analyzer::scatter`].
    pub fn analyse(
        &mut self,
        pcm: &[f32],
        sample_rate: u32,
        channels: u32,
        progress: Option<js_sys::Function>,
        file_rate: Option<u32>,
    ) -> Result<usize, JsError> {
        self.input = None;
        let analysis = self.analysis_of(pcm, sample_rate, channels, &progress, file_rate)?;
        let n = analysis.windows.len();
        self.input = Some(Rc::new(analysis));
        Ok(n)
    }

    /// Tags of the last analysed audio on the CPU backend:
    /// `{backend, tags, clip, windows, taggram, duration_s, non_finite, peak, silent, silence_note, support}`
    /// (spans: `{start_s, end_s, scores}`). `progress(done, total, "model")`
    /// after every batch of windows.
    pub fn predict_cpu(&mut self, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let input = self.input()?;
        self.cpu_tags(&input, &progress)
    }

    /// [`TagModel::analyse`] then [`TagModel::predict_cpu`] of interleaved
    /// PCM, leaving the kept model input as it was: the live view tags the
    /// microphone every few seconds while a file's input waits for a change
    /// of backend.
    pub fn tag_cpu(
        &mut self,
        pcm: &[f32],
        sample_rate: u32,
        channels: u32,
    ) -> Result<JsValue, JsError> {
        let analysis = self.analysis_of(pcm, sample_rate, channels, &None, None)?;
        self.cpu_tags(&analysis, &None)
    }

    /// Interleaved PCM (`channels` at `sample_rate` Hz) as mono at the model's
    /// front-end rate, in one call (see also [`crate::web::MonoStream`]).
    pub fn mono(&self, pcm: &[f32], sample_rate: u32, channels: u32) -> Result<Vec<f32>, JsError> {
        let rate = self.front_end.front_end.sample_rate();
        to_mono(pcm, sample_rate, channels, rate).map_err(js)
    }
}

/// What only the CPU build's [`TagModel`] holds.
#[derive(Default)]
pub(super) struct CpuSide {
    /// The weights on the CPU and the model's front end; `None` until first
    /// needed when made with `lazy` (see [`TagModel::new`]).
    pub(super) tagging: Option<Tagging>,
    /// This worker's share of the audio: the running session, then its result.
    pub(super) job: Option<Session>,
    pub(super) done: Option<Analysis>,
    /// Windows this worker's share will compute (for progress).
    pub(super) expected: f64,
}

impl CpuSide {
    /// The weights loaded now, or (`lazy`) on first use.
    pub(super) fn new(bytes: &[u8], lazy: bool) -> Result<Self, JsError> {
        let tagging = if lazy {
            None
        } else {
            Some(load_tagging(bytes)?)
        };
        Ok(CpuSide {
            tagging,
            ..CpuSide::default()
        })
    }
}

/// `windows`' scores on the CPU, in batches; `progress(done, total, "model")`
/// after each.
pub(super) fn cpu_scores(
    model: &Model,
    windows: &[WindowFeatures],
    progress: &Option<js_sys::Function>,
) -> Result<Vec<WindowScores>, JsError> {
    let total = windows.len() as f64;
    let mut scores = Vec::with_capacity(windows.len());
    for batch in windows.chunks(BATCH) {
        scores.extend(score_windows(model, batch).map_err(js)?);
        call_progress(progress, scores.len(), total, "model");
    }
    Ok(scores)
}

pub(super) fn no_job() -> JsError {
    JsError::new("no job has been started")
}

/// The model file's weights on the CPU, with its front end.
fn load_tagging(bytes: &[u8]) -> Result<Tagging, JsError> {
    let model = Model::from_bytes(bytes, &Device::flex()).map_err(js)?;
    Tagging::new(model).map_err(js)
}

impl TagModel {
    /// The CPU weights and front end, loaded now if they were not yet.
    pub(super) fn tagging(&mut self) -> Result<&mut Tagging, JsError> {
        if self.cpu.tagging.is_none() {
            self.cpu.tagging = Some(load_tagging(&self.bytes)?);
        }
        self.cpu.tagging.as_mut().ok_or_else(no_job)
    }

    /// The model input of interleaved PCM, by the core's session.
    fn analysis_of(
        &mut self,
        pcm: &[f32],
        sample_rate: u32,
        channels: u32,
        progress: &Option<js_sys::Function>,
        file_rate: Option<u32>,
    ) -> Result<Analysis, JsError> {
        let tagging = self.tagging()?;
        let total = expected_windows_of(pcm, sample_rate, channels, tagging.features());
        let options = SessionOptions {
            score: false,
            keep_input: true,
            source_rate: file_rate,
            ..SessionOptions::default()
        };
        let mut session = Session::new(tagging, sample_rate, channels, options).map_err(js)?;
        let mut report = |p: Progress| {
            if let Progress::Features(n) = p {
                call_progress(progress, n, total, "features");
            }
        };
        for chunk in slices(pcm, sample_rate, channels) {
            session.push(tagging, chunk, &mut report).map_err(js)?;
        }
        session.finish(tagging, &mut report).map_err(js)
    }

    /// `input`'s tags on the CPU backend, as [`TagModel::predict_cpu`] gives them.
    fn cpu_tags(
        &mut self,
        input: &Analysis,
        progress: &Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let scores = cpu_scores(self.tagging()?.model(), &input.windows, progress)?;
        to_js(&page_tags(
            "cpu",
            &self.meta.tags,
            &self.support,
            input.tags_of(scores),
        ))
    }
}
