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
use crate::model::{Device, Model, ModelMetadata};
use crate::pipeline::{Shard, WindowFeatures, in_stream_order};
use crate::resample::to_mono;
use crate::session::{Analysis, FileTags, Progress, Session, SessionOptions, Span};
#[cfg(feature = "wgpu")]
use crate::tagging::score_windows_async;
use crate::tagging::{self, BATCH, Tagging, WindowScores, score_windows};
use crate::transform::{Coefficients, FrontEnd};
use serde::Serialize;
use wasm_bindgen::prelude::*;

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
    /// Clip scores: the mean of the windows' scores.
    clip: Vec<f32>,
    /// Scores of each 29 s analysis window.
    windows: Vec<Span>,
    /// The frame-level taggram (~2 s columns).
    taggram: Vec<Span>,
    duration_s: f64,
    non_finite: u64,
}

fn page_tags<'a>(backend: &'static str, tags: &'a [String], t: FileTags) -> PageTags<'a> {
    PageTags {
        backend,
        tags,
        clip: t.scores,
        windows: t.windows,
        taggram: t.taggram,
        duration_s: t.duration_s,
        non_finite: t.non_finite,
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
    /// `progress(done, total, "features")` after every window.
    pub fn analyse(
        &mut self,
        pcm: &[f32],
        sample_rate: u32,
        channels: u32,
        progress: Option<js_sys::Function>,
    ) -> Result<usize, JsError> {
        self.input = None;
        let tagging = self.tagging()?;
        let total = expected_windows_of(pcm, sample_rate, channels, tagging.features());
        let options = SessionOptions {
            score: false,
            keep_input: true,
            ..SessionOptions::default()
        };
        let mut session = Session::new(tagging, sample_rate, channels, options).map_err(js)?;
        let mut report = |p: Progress| {
            if let Progress::Features(n) = p {
                call_progress(&progress, n, total, "features");
            }
        };
        for chunk in slices(pcm, sample_rate, channels) {
            session.push(tagging, chunk, &mut report).map_err(js)?;
        }
        let analysis = session.finish(tagging, &mut report).map_err(js)?;
        let n = analysis.windows.len();
        self.input = Some(Rc::new(analysis));
        Ok(n)
    }

    /// Tags of the last analysed audio on the CPU backend:
    /// `{backend, tags, clip, windows, taggram, duration_s, non_finite}`
    /// (spans: `{start_s, end_s, scores}`). `progress(done, total, "model")`
    /// after every batch of windows.
    pub fn predict_cpu(&mut self, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let input = self.input()?;
        let model = self.tagging()?.model();
        let total = input.windows.len() as f64;
        let mut scores = Vec::with_capacity(input.windows.len());
        for batch in input.windows.chunks(BATCH) {
            scores.extend(score_windows(model, batch).map_err(js)?);
            call_progress(&progress, scores.len(), total, "model");
        }
        to_js(&page_tags("cpu", &self.meta.tags, input.tags_of(scores)))
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
        wasm_bindgen_futures::future_to_promise(async move {
            let model = gpu.ok_or_else(|| JsError::new("WebGPU has not been started"))?;
            let input = input?;
            let total = input.windows.len() as f64;
            let mut scores = Vec::with_capacity(input.windows.len());
            for window in input.windows.chunks(1) {
                scores.extend(score_windows_async(&model, window).await.map_err(js)?);
                call_progress(&progress, scores.len(), total, "model");
            }
            Ok(to_js(&page_tags("webgpu", &tags, input.tags_of(scores)))?)
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

    /// Start this worker's share of a job over `samples` samples of mono (at
    /// the front end's rate): windows `part`, `part + parts`, …, each
    /// scattered once for the pictures and the model input. Push the mono
    /// with [`TagModel::job_push`] (all of it, in order, in slices of any
    /// size), then [`TagModel::job_finish`], then (on the CPU backend)
    /// [`TagModel::job_scores`].
    pub fn job_start(&mut self, samples: f64, part: u32, parts: u32) -> Result<(), JsError> {
        let shard = Shard::new(part as usize, parts as usize).map_err(js)?;
        self.done = None;
        let tagging = self.tagging()?;
        let features = tagging.features();
        let rate = features.sample_rate();
        let windows = expected_windows(samples, features.window_len());
        let options = SessionOptions {
            score: false,
            keep_input: true,
            keep_raw: true,
            shard,
            ..SessionOptions::default()
        };
        self.job = Some(Session::new(tagging, rate, 1, options).map_err(js)?);
        self.expected = ((windows - f64::from(part)) / f64::from(parts))
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
        let expected = self.expected;
        let (job, tagging) = self.job_parts()?;
        job.push(tagging, mono, &mut report(&progress, expected))
            .map_err(js)
    }

    /// End of the job's mono: computes this part's last windows and returns
    /// them all (`{indices, starts, valids, raw_rows, input_rows, frames,
    /// raw, input}`, the last two Float32Arrays). The model input stays for
    /// [`TagModel::job_scores`].
    pub fn job_finish(&mut self, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let expected = self.expected;
        let job = self.job.take().ok_or_else(no_job)?;
        let tagging = self.tagging.as_mut().ok_or_else(no_job)?;
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
        self.done = Some(done);
        Ok(out)
    }

    /// CPU scores of this part's windows (after [`TagModel::job_finish`], and
    /// again after a backend switch): `{indices, logit_frames, scores,
    /// logits}`, Float32Arrays `scores` (`windows × tags`) and `logits` (each
    /// window's `tags × logit_frames`; empty for a model without them).
    pub fn job_scores(&mut self, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let done = self.done.as_ref().ok_or_else(no_job)?;
        // A job has run, so the weights are loaded.
        let model = self.tagging.as_ref().ok_or_else(no_job)?.model();
        let total = done.windows.len() as f64;
        let mut scores = Vec::with_capacity(done.windows.len());
        for batch in done.windows.chunks(BATCH) {
            scores.extend(score_windows(model, batch).map_err(js)?);
            call_progress(&progress, scores.len(), total, "model");
        }
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

    /// Make the whole audio's model input (`total` samples at the front
    /// end's rate) the last analysed, from the workers' windows (any order:
    /// see [`super::Analyzer::stitch`]); returns the number of windows.
    #[allow(clippy::too_many_arguments)]
    pub fn set_input(
        &mut self,
        indices: Vec<u32>,
        starts: Vec<f64>,
        valids: Vec<u32>,
        rows: usize,
        frames: usize,
        data: &[f32],
        total: f64,
        non_finite: f64,
    ) -> Result<usize, JsError> {
        let windows = windows_from(&indices, &starts, &valids, rows, frames, data)?;
        let n = windows.len();
        let fe = &self.front_end;
        self.input = Some(Rc::new(Analysis {
            windows,
            scores: Vec::new(),
            total: total as u64,
            non_finite: non_finite as u64,
            hop: fe.front_end.hop(),
            rate: fe.front_end.sample_rate(),
            taggram_frames: SessionOptions::default().taggram_frames,
        }));
        Ok(n)
    }

    /// The last analysed model input in [`TagModel::set_input`]'s terms
    /// (`{indices, starts, valids, rows, frames, total, non_finite}` and the
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
        }
        let w = &input.windows;
        let out = to_js(&Parts {
            placement: Placement::of(w),
            rows: first.map_or(0, |w| w.coefficients.rows),
            frames: first.map_or(0, |w| w.coefficients.frames),
            total: input.total as f64,
            non_finite: input.non_finite as f64,
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
        to_js(&page_tags("cpu", &self.meta.tags, input.tags_of(ordered)))
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

    fn job_parts(&mut self) -> Result<(&mut Session, &mut Tagging), JsError> {
        let TagModel { job, tagging, .. } = self;
        Ok((
            job.as_mut().ok_or_else(no_job)?,
            tagging.as_mut().ok_or_else(no_job)?,
        ))
    }

    fn input(&self) -> Result<Rc<Analysis>, JsError> {
        self.input
            .clone()
            .ok_or_else(|| JsError::new("no audio has been analysed for the model yet"))
    }
}
