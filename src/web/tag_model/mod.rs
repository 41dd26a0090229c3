//! [`TagModel`]: a model file for the page. The page's workers each run a
//! sharded analysis session over the same mono audio (every n-th window);
//! the coordinator gathers their windows and scores in stream order and the
//! core sums them up into the file's tags, as the CLI's session does.

#[cfg(feature = "wgpu")]
use std::cell::RefCell;
use std::rc::Rc;

use super::{
    call_progress, concat, expected_windows, expected_windows_of, js, set, slices, to_js,
    windows_from,
};
use crate::features::FeatureConfig;
use crate::model::{Device, Model, ModelMetadata, TagSupport};
use crate::pipeline::{Shard, WindowFeatures, in_stream_order};
use crate::resample::to_mono;
use crate::session::{Analysis, FileTags, Progress, Session, SessionOptions, Span};
#[cfg(feature = "wgpu")]
use crate::tagging::score_windows_async;
use crate::tagging::{self, BATCH, Tagging, WindowScores, score_windows};
use crate::tags::top_tags;
use crate::transform::{Coefficients, FrontEnd};
use serde::Serialize;
use wasm_bindgen::prelude::*;

mod job;

#[cfg(feature = "wgpu")]
thread_local! {
    /// burn's wgpu runtime can be initialised only once per instance, so the
    /// WebGPU device is made on first use and shared by every model.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

#[cfg(feature = "wgpu")]
async fn webgpu_device() -> Result<Device, JsError> {
    if let Some(device) = WEBGPU.with(|d| d.borrow().clone()) {
        return Ok(device);
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| JsError::new(&format!("WebGPU could not be started: {e}")))?;
    WEBGPU.with(|d| *d.borrow_mut() = Some(device.clone()));
    Ok(device)
}

/// A file's tags as the page shows them.
#[derive(Serialize)]
struct PageTags<'a> {
    /// `"cpu"` or `"webgpu"`: where the model ran.
    backend: &'static str,
    /// Tag names, in the order of every score list (the model file's).
    tags: &'a [String],
    /// Clip scores: the mean of the windows' scores, weighted by the audio
    /// each adds (the core's `clip_scores`).
    clip: Vec<f32>,
    /// Every tag ranked by clip score, spelling variants folded into one
    /// row (the core's `top_tags`, as the CLI lists them): `{index, also}`.
    top: Vec<TopRow>,
    /// Scores of each 29 s analysis window.
    windows: Vec<Span>,
    /// The frame-level taggram (~2 s columns).
    taggram: Vec<Span>,
    duration_s: f64,
    non_finite: u64,
    /// The loudest mono sample, and whether it is below the core's
    /// `SILENCE` (the scores then mean nothing: the page says so).
    peak: f32,
    silent: bool,
    /// The core's words for it (`FileTags::silence_note`), or null.
    silence_note: Option<String>,
    /// How well the model knows each tag (`TagSupport`: which scores are
    /// guesses, in the CLI's words).
    support: &'a TagSupport,
}

/// A row of [`PageTags::top`]: a tag's index and its variants' indices.
#[derive(Serialize)]
struct TopRow {
    index: usize,
    also: Vec<usize>,
}

fn page_tags<'a>(
    backend: &'static str,
    tags: &'a [String],
    support: &'a TagSupport,
    t: FileTags,
) -> PageTags<'a> {
    let silence_note = t.silence_note();
    let top = top_tags(tags, &t.scores, tags.len())
        .into_iter()
        .map(|r| TopRow {
            index: r.index,
            also: r.also.iter().map(|a| a.0).collect(),
        })
        .collect();
    PageTags {
        top,
        backend,
        tags,
        support,
        clip: t.scores,
        windows: t.windows,
        taggram: t.taggram,
        duration_s: t.duration_s,
        non_finite: t.non_finite,
        peak: t.peak,
        silent: t.silent,
        silence_note,
    }
}

/// A tagging model for the page: the model file's weights on the CPU (and,
/// in the `webgpu` build once `init_webgpu` has run, on WebGPU), its front end and
/// input statistics, this worker's share of the audio being analysed, and
/// the model input of the last audio (so a switch of backend re-runs only
/// the model).
#[wasm_bindgen]
pub struct TagModel {
    meta: ModelMetadata,
    /// What the file's per-tag counts say (made once; every result carries it).
    support: Rc<TagSupport>,
    /// The weights on the CPU and the model's front end; `None` until first
    /// needed when made with `lazy` (see [`TagModel::new`]).
    tagging: Option<Tagging>,
    /// The file, kept to load the weights onto WebGPU (and, lazily, the
    /// CPU) on demand.
    bytes: Rc<Vec<u8>>,
    /// The weights on WebGPU, once started (the page's `webgpu` build only).
    #[cfg(feature = "wgpu")]
    gpu: Rc<RefCell<Option<Rc<Model>>>>,
    /// The whole audio's model input, in stream order (coordinator).
    input: Option<Rc<Analysis>>,
    front_end: FeatureConfig,
    /// This worker's share of the audio: the running session, then its result.
    job: Option<Session>,
    done: Option<Analysis>,
    /// Windows this worker's share will compute (for progress).
    expected: f64,
}

#[wasm_bindgen]
impl TagModel {
    /// Load a model file (its bytes) onto the CPU backend, checking the file
    /// and that its recorded front end gives the model's input size. With
    /// `lazy`, only the metadata is read now and the weights (and the front
    /// end's filter banks) on first use: the page's coordinating worker,
    /// whose helpers score on the CPU, rarely needs them.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8], lazy: Option<bool>) -> Result<TagModel, JsError> {
        let meta = crate::model::read_metadata(bytes).map_err(js)?;
        let front_end = tagging::feature_config(&meta).map_err(js)?;
        // Only the scattering front end is built into this page; anything else
        // would stop inside the front end instead of giving an error here.
        if !matches!(front_end.front_end, FrontEnd::Scattering(_)) {
            return Err(JsError::new(&format!(
                "the model {} reads a front end this page does not compute (only the scattering transform is built in)",
                meta.model.name()
            )));
        }
        let tagging = if lazy.unwrap_or(false) {
            None
        } else {
            Some(load_tagging(bytes)?)
        };
        Ok(TagModel {
            support: Rc::new(TagSupport::of(&meta)),
            meta,
            tagging,
            bytes: Rc::new(bytes.to_vec()),
            #[cfg(feature = "wgpu")]
            gpu: Rc::new(RefCell::new(None)),
            input: None,
            front_end,
            job: None,
            done: None,
            expected: 0.0,
        })
    }

    /// The model's front-end sample rate in Hz (its input is mono at this rate).
    #[wasm_bindgen(getter)]
    pub fn sample_rate(&self) -> u32 {
        self.front_end.front_end.sample_rate()
    }

    /// The model's metadata as a JSON string: name, precision, tags, input
    /// size, front end, provenance, metrics (checksums left out).
    pub fn info(&self) -> Result<String, JsError> {
        let meta = &self.meta;
        let mut v = serde_json::to_value(meta).map_err(js)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("checksums");
            o.insert("name".into(), meta.model.name().into());
            o.insert("input_size".into(), meta.model.input_size.into());
            o.insert("bytes".into(), self.bytes.len().into());
        }
        Ok(v.to_string())
    }

    /// Build the front end's plan now (the weights too, if lazy), so that
    /// the first file does not wait for it; the page calls it once the
    /// model is reported ready.
    pub fn warm(&mut self) -> Result<(), JsError> {
        self.tagging()?.warm();
        Ok(())
    }

    /// Whether the model reads the same front end as `analyzer` computes for
    /// the pictures (when not, the model's own front end still feeds it).
    pub fn same_front_end(&self, analyzer: &super::Analyzer) -> bool {
        self.front_end == *analyzer.features.config()
    }

    /// Analyse interleaved PCM (`channels` channels at `sample_rate` Hz) in
    /// one go and keep its model input for [`TagModel::predict_cpu`] /
    /// [`TagModel::predict_webgpu`]; returns the number of windows.
    /// `progress(done, total, "features")` after every window; `file_rate`
    /// as for [`super::Analyzer::scatter`].
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

    /// Start WebGPU (once per instance) and load the weights onto it. The
    /// promise rejects with a plain message when there is no usable adapter.
    #[cfg(feature = "wgpu")]
    pub fn init_webgpu(&self) -> js_sys::Promise {
        let bytes = self.bytes.clone();
        let gpu = self.gpu.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            if gpu.borrow().is_some() {
                return Ok(JsValue::UNDEFINED);
            }
            let device = webgpu_device().await?;
            let model = Model::from_bytes(&bytes, &device).map_err(js)?;
            *gpu.borrow_mut() = Some(Rc::new(model));
            Ok(JsValue::UNDEFINED)
        })
    }

    /// As [`TagModel::predict_cpu`], on WebGPU (after [`TagModel::init_webgpu`]),
    /// one window per pass so that progress comes window by window (and a
    /// cancel, which ends the worker, waits for one window at most).
    #[cfg(feature = "wgpu")]
    pub fn predict_webgpu(&self, progress: Option<js_sys::Function>) -> js_sys::Promise {
        let gpu = self.gpu.borrow().clone();
        let input = self.input();
        let tags = self.meta.tags.clone();
        let support = self.support.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let model = gpu.ok_or_else(|| JsError::new("WebGPU has not been started"))?;
            let input = input?;
            let total = input.windows.len() as f64;
            let mut scores = Vec::with_capacity(input.windows.len());
            for window in input.windows.chunks(1) {
                scores.extend(score_windows_async(&model, window).await.map_err(js)?);
                call_progress(&progress, scores.len(), total, "model");
            }
            Ok(to_js(&page_tags(
                "webgpu",
                &tags,
                &support,
                input.tags_of(scores),
            ))?)
        })
    }

    /// Forget the last audio (frees its memory).
    pub fn clear(&mut self) {
        self.input = None;
        self.job = None;
        self.done = None;
    }

    /// Interleaved PCM (`channels` at `sample_rate` Hz) as mono at the model's
    /// front-end rate, in one call (see also [`super::MonoStream`]).
    pub fn mono(&self, pcm: &[f32], sample_rate: u32, channels: u32) -> Result<Vec<f32>, JsError> {
        let rate = self.front_end.front_end.sample_rate();
        to_mono(pcm, sample_rate, channels, rate).map_err(js)
    }
}

fn no_job() -> JsError {
    JsError::new("no job has been started")
}

/// The model file's weights on the CPU, with its front end.
fn load_tagging(bytes: &[u8]) -> Result<Tagging, JsError> {
    let model = Model::from_bytes(bytes, &Device::flex()).map_err(js)?;
    Tagging::new(model).map_err(js)
}

impl TagModel {
    /// The CPU weights and front end, loaded now if they were not yet.
    fn tagging(&mut self) -> Result<&mut Tagging, JsError> {
        if self.tagging.is_none() {
            self.tagging = Some(load_tagging(&self.bytes)?);
        }
        self.tagging.as_mut().ok_or_else(no_job)
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
        let model = self.tagging()?.model();
        let total = input.windows.len() as f64;
        let mut scores = Vec::with_capacity(input.windows.len());
        for batch in input.windows.chunks(BATCH) {
            scores.extend(score_windows(model, batch).map_err(js)?);
            call_progress(progress, scores.len(), total, "model");
        }
        to_js(&page_tags(
            "cpu",
            &self.meta.tags,
            &self.support,
            input.tags_of(scores),
        ))
    }

    fn input(&self) -> Result<Rc<Analysis>, JsError> {
        self.input
            .clone()
            .ok_or_else(|| JsError::new("no audio has been analysed for the model yet"))
    }
}
