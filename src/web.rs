//! The browser's entry points: a thin wasm-bindgen layer over the same
//! pipeline and tagging code the native CLI runs. Every entry point returns a
//! `Result` (or a Promise that rejects with an `Error`), and a panic hook
//! reports panics, so nothing crosses the boundary as an abort without a
//! message; the page stays usable after any error.
//!
//! * [`Analyzer`]: the scattering front end, raw coefficients for the pictures.
//! * [`TagModel`]: a model file loaded from bytes, with the front end it was
//!   trained with ([`crate::tagging::Tagging`]); computes the model input of
//!   every 29 s window once, then predicts on the CPU (burn's flex backend,
//!   synchronous) or on WebGPU (burn's wgpu backend, asynchronous readback).

use std::cell::RefCell;
use std::rc::Rc;

use crate::features::{FeatureConfig, Features};
use crate::model::{Device, Model, ModelFileError, ModelMetadata, PredictError};
use crate::normalise::Standardisation;
use crate::pipeline::{Form, Pipeline, WindowFeatures, stitch};
use crate::resample::{ToMono, to_mono};
use crate::tagging::{self, Tagging, clip_scores, score_windows, score_windows_async};
use crate::transform::{Coefficients, FrontEnd};
use crate::windows::{Window, Windower};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Result of [`Analyzer::scatter`], handed to JS as a plain object.
#[derive(Serialize)]
struct ScatterResult {
    rows: usize,
    frames: usize,
    /// Row-major `rows × frames`.
    #[serde(with = "serde_bytes_f32")]
    data: Vec<f32>,
    /// Seconds at each frame.
    times: Vec<f64>,
    /// What each row is (order, centre frequencies in Hz).
    paths: Vec<crate::features::RowInfo>,
    /// Analysis windows used (start, s).
    windows: Vec<f64>,
}

/// Serialise `Vec<f32>` as a `Float32Array` rather than a JS array of numbers.
mod serde_bytes_f32 {
    use serde::Serializer;
    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        // serde-wasm-bindgen turns byte buffers into Uint8Array; the JS side
        // views the same bytes as Float32Array (little-endian like wasm).
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    }
}

/// Scattering front end for the page: filter banks and FFT plans are built
/// once and reused for every file.
#[wasm_bindgen]
pub struct Analyzer {
    features: Features,
}

#[wasm_bindgen]
impl Analyzer {
    /// The paper's front end, or a `FeatureConfig` given as a JSON string.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: Option<String>) -> Result<Analyzer, JsError> {
        let config = match config_json {
            Some(s) => serde_json::from_str(&s)
                .map_err(|e| JsError::new(&format!("bad front-end config: {e}")))?,
            None => FeatureConfig::default(),
        };
        Ok(Analyzer {
            features: Features::new(config),
        })
    }

    /// Scattering coefficients of interleaved PCM (`channels` channels at
    /// `sample_rate` Hz), stitched over the analysis windows. `normalised`
    /// gives the model's input instead of raw S0/S1/S2. `progress(done, total)`
    /// is called after every window.
    pub fn scatter(
        &mut self,
        pcm: &[f32],
        sample_rate: u32,
        channels: u32,
        normalised: bool,
        progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let form = if normalised { Form::Model } else { Form::Raw };
        let sr = self.features.sample_rate();
        let hop = self.features.hop();
        let window_s = self.features.config().window.seconds;
        let total = expected_windows(pcm, sample_rate, channels, window_s);
        let pipeline =
            Pipeline::new(&mut self.features, None, form, sample_rate, channels).map_err(err)?;
        let windows = run_pipeline(pipeline, pcm, sample_rate, channels, total, &progress)?;
        let (c, times) = stitch(&windows, hop, sr);
        let window_len = self.features.window_len();
        let result = ScatterResult {
            rows: c.rows,
            frames: c.frames,
            data: c.data,
            times,
            paths: self.features.rows(window_len),
            windows: windows.iter().map(|w| w.start as f64 / sr as f64).collect(),
        };
        serde_wasm_bindgen::to_value(&result).map_err(|e| JsError::new(&e.to_string()))
    }

    /// As [`Analyzer::scatter`]'s result, from raw coefficients computed
    /// elsewhere (the page's workers, [`TagModel::job_push`]): windows in
    /// order, each `rows × frames` (row-major, concatenated in `data`),
    /// starting at sample `starts[i]` of the front end's rate with `valids[i]`
    /// samples of real audio.
    pub fn stitch(
        &mut self,
        starts: Vec<f64>,
        valids: Vec<u32>,
        rows: usize,
        frames: usize,
        data: &[f32],
    ) -> Result<JsValue, JsError> {
        let windows = windows_from(&starts, &valids, rows, frames, data)?;
        let sr = self.features.sample_rate();
        let (c, times) = stitch(&windows, self.features.hop(), sr);
        let window_len = self.features.window_len();
        let result = ScatterResult {
            rows: c.rows,
            frames: c.frames,
            data: c.data,
            times,
            paths: self.features.rows(window_len),
            windows: starts.iter().map(|s| s / sr as f64).collect(),
        };
        to_js(&result)
    }
}

/// Windows of coefficients sent from JS: `data` holds `starts.len()` matrices
/// of `rows × frames`.
fn windows_from(
    starts: &[f64],
    valids: &[u32],
    rows: usize,
    frames: usize,
    data: &[f32],
) -> Result<Vec<WindowFeatures>, JsError> {
    let size = rows * frames;
    if starts.len() != valids.len() || data.len() != starts.len() * size || size == 0 {
        return Err(JsError::new(&format!(
            "{} values for {} windows ({} lengths) of {rows} × {frames}",
            data.len(),
            starts.len(),
            valids.len()
        )));
    }
    Ok(starts
        .iter()
        .zip(valids)
        .zip(data.chunks_exact(size))
        .map(|((&start, &valid), d)| WindowFeatures {
            start: start as u64,
            valid: valid as usize,
            coefficients: Coefficients {
                rows,
                frames,
                data: d.to_vec(),
            },
        })
        .collect())
}

/// Feed interleaved PCM through `pipeline` in slices of ~5 s, so that
/// `progress(done, total)` is called as windows complete.
fn run_pipeline(
    mut pipeline: Pipeline<'_>,
    pcm: &[f32],
    sample_rate: u32,
    channels: u32,
    total: f64,
    progress: &Option<js_sys::Function>,
) -> Result<Vec<WindowFeatures>, JsError> {
    let mut windows: Vec<WindowFeatures> = Vec::new();
    let report = |n: usize| call_progress(progress, n, total);
    let step = (sample_rate as usize * channels as usize * 5).max(channels as usize);
    for chunk in pcm.chunks((step - step % channels.max(1) as usize).max(1)) {
        pipeline
            .push(chunk, |w| {
                windows.push(w);
                report(windows.len());
            })
            .map_err(err)?;
    }
    pipeline
        .finish(|w| {
            windows.push(w);
            report(windows.len());
        })
        .map_err(err)?;
    Ok(windows)
}

/// Windows the pipeline will produce for `pcm` (for progress only).
fn expected_windows(pcm: &[f32], sample_rate: u32, channels: u32, window_s: f64) -> f64 {
    ((pcm.len() as f64 / channels.max(1) as f64 / sample_rate.max(1) as f64) / window_s)
        .ceil()
        .max(1.0)
}

fn call_progress(progress: &Option<js_sys::Function>, done: usize, total: f64) {
    if let Some(f) = progress {
        // A throwing callback must not abort the analysis.
        let _ = f.call2(
            &JsValue::NULL,
            &JsValue::from(done as f64),
            &JsValue::from(total),
        );
    }
}

fn err(e: crate::error::AudioError) -> JsError {
    JsError::new(&e.to_string())
}

fn model_err(e: ModelFileError) -> JsError {
    JsError::new(&e.to_string())
}

fn predict_err(e: PredictError) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    serde_wasm_bindgen::to_value(value).map_err(|e| JsError::new(&e.to_string()))
}

thread_local! {
    /// burn's wgpu runtime can be initialised only once per instance, so the
    /// WebGPU device is made on first use and shared by every model.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

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

/// The model input of every analysis window of one piece of audio.
struct ModelInput {
    windows: Vec<WindowFeatures>,
    /// The front end's sample rate (window positions are in its samples).
    sample_rate: u32,
}

/// What [`TagModel::predict_cpu`] and [`TagModel::predict_webgpu`] give JS.
#[derive(Serialize)]
struct Prediction {
    /// `"cpu"` or `"webgpu"`: where the model ran.
    backend: &'static str,
    /// Tag names, in the order of every score list.
    tags: &'static [&'static str],
    /// Clip scores: the mean of the windows' scores.
    clip: Vec<f32>,
    /// The taggram: scores of each analysis window.
    windows: Vec<WindowScores>,
}

#[derive(Serialize)]
struct WindowScores {
    start_s: f64,
    /// End of the real audio in the window.
    end_s: f64,
    scores: Vec<f32>,
}

fn prediction(backend: &'static str, input: &ModelInput, scores: Vec<Vec<f32>>) -> Prediction {
    let sr = input.sample_rate as f64;
    let clip = clip_scores(&scores);
    let windows = input
        .windows
        .iter()
        .zip(scores)
        .map(|(w, scores)| {
            let start_s = w.start as f64 / sr;
            WindowScores {
                start_s,
                end_s: start_s + w.valid as f64 / sr,
                scores,
            }
        })
        .collect();
    Prediction {
        backend,
        tags: &crate::tags::TAGS,
        clip,
        windows,
    }
}

/// A tagging model for the page: the model file's weights on the CPU (and,
/// once [`TagModel::init_webgpu`] has run, on WebGPU), its front end and
/// input statistics, and the model input of the last analysed audio (so a
/// switch of backend re-runs only the model).
#[wasm_bindgen]
pub struct TagModel {
    meta: ModelMetadata,
    /// The weights on the CPU and the model's front end; `None` until first
    /// needed when made with `lazy` (see [`TagModel::new`]).
    tagging: Option<Tagging>,
    /// The file, kept to load the weights onto WebGPU (and, lazily, the
    /// CPU) on demand.
    bytes: Rc<Vec<u8>>,
    gpu: Rc<RefCell<Option<Rc<Model>>>>,
    input: Option<Rc<ModelInput>>,
    front_end: FeatureConfig,
    /// This instance's share of a job split across workers.
    job: Option<Job>,
}

/// One worker's share of the windows of a piece of audio: windows
/// `part, part + parts, …` (in stream order) of 16 kHz mono pushed in slices.
/// Each window's scattering is computed once and gives both the raw
/// coefficients (the pictures) and the model input.
struct Job {
    windower: Option<Windower>,
    part: usize,
    parts: usize,
    /// Windows the windower has emitted so far (all parts).
    seen: usize,
    /// This part's windows: index in the stream, raw coefficients (handed
    /// to JS by [`TagModel::job_finish`]) and model input (kept for
    /// [`TagModel::job_scores`]).
    indices: Vec<usize>,
    raw: Vec<WindowFeatures>,
    inputs: Vec<WindowFeatures>,
    /// Windows this part will compute (for progress).
    expected: f64,
}

impl Job {
    fn take(
        &mut self,
        w: Window,
        features: &mut Features,
        stats: Option<&Standardisation>,
    ) -> bool {
        let index = self.seen;
        self.seen += 1;
        if index % self.parts != self.part {
            return false;
        }
        let (raw, input) = features.raw_and_model_input(&w.samples, stats);
        let at = |coefficients| WindowFeatures {
            start: w.start,
            valid: w.valid,
            coefficients,
        };
        self.indices.push(index);
        self.raw.push(at(raw));
        self.inputs.push(at(input));
        true
    }
}

/// Scores of `windows` on the CPU, batch by batch, with
/// `progress(done, total)` after each batch.
fn cpu_scores(
    model: &Model,
    windows: &[WindowFeatures],
    progress: &Option<js_sys::Function>,
) -> Result<Vec<Vec<f32>>, JsError> {
    let total = windows.len() as f64;
    let mut scores = Vec::with_capacity(windows.len());
    for batch in windows.chunks(tagging::BATCH) {
        let scored = score_windows(model, batch).map_err(predict_err)?;
        scores.extend(scored.into_iter().map(|w| w.scores));
        call_progress(progress, scores.len(), total);
    }
    Ok(scores)
}

/// What [`TagModel::job_finish`] gives JS (plus `raw` and `input`, the
/// windows' coefficients concatenated, as Float32Arrays).
#[derive(Serialize)]
struct JobResult {
    /// Index of each window in the whole stream.
    indices: Vec<u32>,
    starts: Vec<f64>,
    valids: Vec<u32>,
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
    /// whose helpers score on the CPU, rarely needs them, and loading a copy
    /// costs start-up time.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8], lazy: Option<bool>) -> Result<TagModel, JsError> {
        let meta = crate::model::read_metadata(bytes).map_err(model_err)?;
        let front_end = tagging::feature_config(&meta).map_err(model_err)?;
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
            gpu: Rc::new(RefCell::new(None)),
            input: None,
            front_end,
            job: None,
        })
    }

    /// The model's metadata as a JSON string: name, precision, tags, input
    /// size, front end, provenance, metrics (checksums left out).
    pub fn info(&self) -> Result<String, JsError> {
        let meta = &self.meta;
        let mut v = serde_json::to_value(meta).map_err(|e| JsError::new(&e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.remove("checksums");
            o.insert("name".into(), meta.model.name().into());
            o.insert("input_size".into(), meta.model.input_size.into());
            o.insert("bytes".into(), self.bytes.len().into());
        }
        Ok(v.to_string())
    }

    /// Whether the model reads the same front end as `analyzer` computes for
    /// the pictures (when not, the model's own front end still feeds it).
    pub fn same_front_end(&self, analyzer: &Analyzer) -> bool {
        self.front_end == *analyzer.features.config()
    }

    /// Compute and keep the model input of every 29 s window of interleaved
    /// PCM (`channels` channels at `sample_rate` Hz); returns the number of
    /// windows. `progress(done, total)` is called after every window.
    pub fn features(
        &mut self,
        pcm: &[f32],
        sample_rate: u32,
        channels: u32,
        progress: Option<js_sys::Function>,
    ) -> Result<usize, JsError> {
        self.input = None;
        let (features, stats, _) = self.tagging()?.parts();
        let sr = features.sample_rate();
        let total = expected_windows(pcm, sample_rate, channels, features.config().window.seconds);
        let pipeline =
            Pipeline::new(features, stats, Form::Model, sample_rate, channels).map_err(err)?;
        let windows = run_pipeline(pipeline, pcm, sample_rate, channels, total, &progress)?;
        let n = windows.len();
        self.input = Some(Rc::new(ModelInput {
            windows,
            sample_rate: sr,
        }));
        Ok(n)
    }

    /// Scores of the last [`TagModel::features`] on the CPU backend:
    /// `{backend, tags, clip, windows: [{start_s, end_s, scores}]}`.
    /// `progress(done, total)` is called after every batch of windows.
    pub fn predict_cpu(&mut self, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let input = self.input()?;
        let scores = cpu_scores(self.tagging()?.model(), &input.windows, &progress)?;
        to_js(&prediction("cpu", &input, scores))
    }

    /// Start WebGPU (once per instance) and load the weights onto it. The
    /// promise rejects with a plain message when there is no usable adapter.
    pub fn init_webgpu(&self) -> js_sys::Promise {
        let bytes = self.bytes.clone();
        let gpu = self.gpu.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            if gpu.borrow().is_some() {
                return Ok(JsValue::UNDEFINED);
            }
            let device = webgpu_device().await?;
            let model = Model::from_bytes(&bytes, &device).map_err(model_err)?;
            *gpu.borrow_mut() = Some(Rc::new(model));
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Whether [`TagModel::init_webgpu`] has succeeded.
    pub fn webgpu_ready(&self) -> bool {
        self.gpu.borrow().is_some()
    }

    /// As [`TagModel::predict_cpu`], on WebGPU (after [`TagModel::init_webgpu`]).
    pub fn predict_webgpu(&self, progress: Option<js_sys::Function>) -> js_sys::Promise {
        let gpu = self.gpu.borrow().clone();
        let input = self.input();
        wasm_bindgen_futures::future_to_promise(async move {
            let model = gpu.ok_or_else(|| JsError::new("WebGPU has not been started"))?;
            let input = input?;
            let total = input.windows.len() as f64;
            let mut scores = Vec::with_capacity(input.windows.len());
            for batch in input.windows.chunks(tagging::BATCH) {
                let scored = score_windows_async(&model, batch)
                    .await
                    .map_err(predict_err)?;
                scores.extend(scored.into_iter().map(|w| w.scores));
                call_progress(&progress, scores.len(), total);
            }
            to_js(&prediction("webgpu", &input, scores)).map_err(JsValue::from)
        })
    }

    /// Forget the last model input (frees its memory).
    pub fn clear(&mut self) {
        self.input = None;
        self.job = None;
    }

    /// Interleaved PCM (`channels` at `sample_rate` Hz) as mono at the model's
    /// front-end rate: the first step of [`Pipeline`], done once for a job
    /// that several workers share.
    pub fn mono(&self, pcm: &[f32], sample_rate: u32, channels: u32) -> Result<Vec<f32>, JsError> {
        let rate = self.front_end.front_end.sample_rate();
        to_mono(pcm, sample_rate, channels, rate).map_err(err)
    }

    /// Start this worker's share of a job over `samples` samples of mono (at
    /// the front end's rate, from [`TagModel::mono`]): windows `part`,
    /// `part + parts`, … Push the mono with [`TagModel::job_push`] (all of it,
    /// in order, in slices of any size), then [`TagModel::job_finish`].
    pub fn job_start(&mut self, samples: f64, part: u32, parts: u32) -> Result<(), JsError> {
        if parts == 0 || part >= parts {
            return Err(JsError::new(&format!("part {part} of {parts}")));
        }
        let (features, _, _) = self.tagging()?.parts();
        let window = features.window_len() as f64;
        let total = (samples / window).ceil().max(1.0);
        let expected = ((total - part as f64) / parts as f64).ceil().max(0.0);
        self.job = Some(Job {
            windower: Some(Windower::new(
                &features.config().window,
                features.sample_rate(),
            )),
            part: part as usize,
            parts: parts as usize,
            seen: 0,
            indices: Vec::new(),
            raw: Vec::new(),
            inputs: Vec::new(),
            expected,
        });
        Ok(())
    }

    /// Feed the next slice of the job's mono; this part's windows among those
    /// it completes are computed. `progress(done, total)` after each.
    pub fn job_push(
        &mut self,
        mono: &[f32],
        progress: Option<js_sys::Function>,
    ) -> Result<(), JsError> {
        let TagModel { tagging, job, .. } = self;
        let job = job.as_mut().ok_or_else(no_job)?;
        let (features, stats, _) = tagging.as_mut().ok_or_else(no_job)?.parts();
        let mut windower = job.windower.take().ok_or_else(no_job)?;
        windower.push(mono, |w| {
            if job.take(w, features, stats) {
                call_progress(&progress, job.inputs.len(), job.expected);
            }
        });
        job.windower = Some(windower);
        Ok(())
    }

    /// End of the job's mono: computes this part's last window if it has
    /// one, keeps the model input for [`TagModel::job_scores`], and returns
    /// `{indices, starts, valids, raw_rows, input_rows, frames, raw, input}`
    /// (`raw`, `input`: Float32Arrays, the windows' coefficients concatenated).
    pub fn job_finish(&mut self, progress: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let TagModel { tagging, job, .. } = self;
        let job = job.as_mut().ok_or_else(no_job)?;
        let (features, stats, _) = tagging.as_mut().ok_or_else(no_job)?.parts();
        let windower = job.windower.take().ok_or_else(no_job)?;
        windower
            .finish(|w| {
                if job.take(w, features, stats) {
                    call_progress(&progress, job.inputs.len(), job.expected);
                }
            })
            .map_err(err)?;
        let rows = |w: &[WindowFeatures]| w.first().map_or(0, |w| w.coefficients.rows);
        let result = JobResult {
            indices: job.indices.iter().map(|&i| i as u32).collect(),
            starts: job.inputs.iter().map(|w| w.start as f64).collect(),
            valids: job.inputs.iter().map(|w| w.valid as u32).collect(),
            raw_rows: rows(&job.raw),
            input_rows: rows(&job.inputs),
            frames: job.raw.first().map_or(0, |w| w.coefficients.frames),
        };
        let concat = |windows: &[WindowFeatures]| {
            let v: Vec<f32> = windows
                .iter()
                .flat_map(|w| w.coefficients.data.iter().copied())
                .collect();
            js_sys::Float32Array::from(&v[..])
        };
        let out = to_js(&result)?;
        let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), v);
        set("raw", &concat(&job.raw)).map_err(js_err)?;
        set("input", &concat(&job.inputs)).map_err(js_err)?;
        // The raw coefficients have been handed over; the model input stays.
        job.raw = Vec::new();
        Ok(out)
    }

    /// CPU scores of this part's windows (after [`TagModel::job_finish`]):
    /// `windows × tags` values, row-major, in the order of its `indices`.
    /// `progress(done, total)` after every batch.
    pub fn job_scores(&self, progress: Option<js_sys::Function>) -> Result<Vec<f32>, JsError> {
        let job = self.job.as_ref().ok_or_else(no_job)?;
        // A job has started, so the weights are loaded.
        let tagging = self.tagging.as_ref().ok_or_else(no_job)?;
        let scores = cpu_scores(tagging.model(), &job.inputs, &progress)?;
        Ok(scores.concat())
    }

    /// Make the model input of every window of a piece of audio the last
    /// analysed (as [`TagModel::features`] does), from the workers' shares:
    /// windows in stream order, `rows × frames` each, concatenated in `data`.
    pub fn set_input(
        &mut self,
        starts: Vec<f64>,
        valids: Vec<u32>,
        rows: usize,
        frames: usize,
        data: &[f32],
    ) -> Result<usize, JsError> {
        let windows = windows_from(&starts, &valids, rows, frames, data)?;
        let n = windows.len();
        self.input = Some(Rc::new(ModelInput {
            windows,
            sample_rate: self.front_end.front_end.sample_rate(),
        }));
        Ok(n)
    }

    /// [`TagModel::predict_cpu`]'s result from CPU scores computed elsewhere
    /// (the workers' [`TagModel::job_scores`], in stream order) for the input
    /// of [`TagModel::set_input`].
    pub fn prediction_cpu(&self, scores: &[f32]) -> Result<JsValue, JsError> {
        let input = self.input()?;
        let tags = crate::tags::TAGS.len();
        if scores.len() != input.windows.len() * tags {
            return Err(JsError::new(&format!(
                "{} scores for {} windows",
                scores.len(),
                input.windows.len()
            )));
        }
        let scores = scores.chunks_exact(tags).map(<[f32]>::to_vec).collect();
        to_js(&prediction("cpu", &input, scores))
    }
}

/// Interleaved PCM to mono at a front end's rate, slice by slice: what
/// [`TagModel::mono`] gives in one call, for the page's coordinating worker
/// to hand the helpers each slice while it converts the next.
#[wasm_bindgen]
pub struct MonoStream {
    inner: ToMono,
}

#[wasm_bindgen]
impl MonoStream {
    /// From `channels` interleaved channels at `sample_rate` Hz to mono at
    /// `rate` Hz.
    #[wasm_bindgen(constructor)]
    pub fn new(sample_rate: u32, channels: u32, rate: u32) -> Result<MonoStream, JsError> {
        Ok(MonoStream {
            inner: ToMono::new(sample_rate, channels, rate).map_err(err)?,
        })
    }

    /// The mono samples `frames` input frames give in all (what
    /// [`MonoStream::push`] and [`MonoStream::finish`] return together).
    pub fn output_len(&self, frames: f64) -> f64 {
        self.inner.output_len(frames as u64) as f64
    }

    /// The next slice of interleaved PCM (whole frames); returns the mono
    /// samples it completes.
    pub fn push(&mut self, pcm: &[f32]) -> Result<Vec<f32>, JsError> {
        let mut out = Vec::new();
        self.inner.push(pcm, &mut out).map_err(err)?;
        Ok(out)
    }

    /// The last mono samples, once every slice has been pushed.
    pub fn finish(&mut self) -> Result<Vec<f32>, JsError> {
        let mut out = Vec::new();
        self.inner.finish(&mut out).map_err(err)?;
        Ok(out)
    }
}

fn no_job() -> JsError {
    JsError::new("no job has been started")
}

fn js_err(e: JsValue) -> JsError {
    JsError::new(&format!("{e:?}"))
}

/// The model file's weights on the CPU, with its front end.
fn load_tagging(bytes: &[u8]) -> Result<Tagging, JsError> {
    let model = Model::from_bytes(bytes, &Device::flex()).map_err(model_err)?;
    Tagging::new(model).map_err(model_err)
}

impl TagModel {
    /// The CPU weights and front end, loaded now if they were not yet.
    fn tagging(&mut self) -> Result<&mut Tagging, JsError> {
        if self.tagging.is_none() {
            self.tagging = Some(load_tagging(&self.bytes)?);
        }
        Ok(self.tagging.as_mut().expect("just loaded"))
    }

    fn input(&self) -> Result<Rc<ModelInput>, JsError> {
        self.input
            .clone()
            .ok_or_else(|| JsError::new("no audio has been analysed for the model yet"))
    }
}
