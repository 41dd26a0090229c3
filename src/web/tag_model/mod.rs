//! [`TagModel`]: a model file for the page. The page's workers each run a
//! sharded analysis session over the same mono audio (every n-th window);
//! the coordinator gathers their windows and scores in stream order and the
//! core sums them up into the file's tags, as the CLI's session does.
//! The CPU build (feature `web`) has the CPU side (`cpu.rs`, `job.rs`); the
//! WebGPU build (`webgpu`) only scores, on WebGPU (`webgpu.rs`), the model
//! input the CPU build computed.

#[cfg(feature = "wgpu")]
use std::cell::RefCell;
use std::rc::Rc;

use super::{js, windows_from};
use crate::features::FeatureConfig;
#[cfg(feature = "wgpu")]
use crate::model::Model;
use crate::model::{ModelMetadata, TagSupport};
use crate::session::{Analysis, FileTags, SessionOptions, Span};
use crate::tagging;
use crate::tags::top_tags;
use crate::transform::FrontEnd;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[cfg(feature = "web")]
mod cpu;
#[cfg(feature = "web")]
mod job;
#[cfg(feature = "wgpu")]
mod webgpu;

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
    /// The file, kept to load the weights onto WebGPU (or, lazily, the
    /// CPU) on demand.
    bytes: Rc<Vec<u8>>,
    /// The weights on WebGPU, once started (the page's `webgpu` build only).
    #[cfg(feature = "wgpu")]
    gpu: Rc<RefCell<Option<Rc<Model>>>>,
    /// The whole audio's model input, in stream order (coordinator).
    input: Option<Rc<Analysis>>,
    front_end: FeatureConfig,
    /// The weights on the CPU and this worker's share of a job (the CPU build).
    #[cfg(feature = "web")]
    cpu: cpu::CpuSide,
}

#[wasm_bindgen]
impl TagModel {
    /// Load a model file (its bytes), checking the file and that its
    /// recorded front end gives the model's input size; in the CPU build,
    /// onto the CPU backend. With `lazy`, only the metadata is read now and
    /// the weights (and the front end's filter banks) on first use: the
    /// page's coordinating worker, whose helpers score on the CPU, rarely
    /// needs them. (The WebGPU build loads its weights in `init_webgpu`.)
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
        // The WebGPU build holds no CPU weights.
        #[cfg(not(feature = "web"))]
        let _ = lazy;
        Ok(TagModel {
            support: Rc::new(TagSupport::of(&meta)),
            #[cfg(feature = "web")]
            cpu: cpu::CpuSide::new(bytes, lazy.unwrap_or(false))?,
            meta,
            bytes: Rc::new(bytes.to_vec()),
            #[cfg(feature = "wgpu")]
            gpu: Rc::new(RefCell::new(None)),
            input: None,
            front_end,
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

    /// Forget the last audio (frees its memory).
    pub fn clear(&mut self) {
        self.input = None;
        #[cfg(feature = "web")]
        {
            self.cpu.job = None;
            self.cpu.done = None;
        }
    }

    /// Make the whole audio's model input (`total` samples at the front
    /// end's rate) the last analysed, from the workers' windows (any order,
    /// as for the CPU build's `Analyzer::stitch`); returns the number of
    /// windows.
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
        peak: f32,
    ) -> Result<usize, JsError> {
        let windows = windows_from(&indices, &starts, &valids, rows, frames, data)?;
        let n = windows.len();
        let fe = &self.front_end;
        self.input = Some(Rc::new(Analysis {
            windows,
            scores: Vec::new(),
            total: total as u64,
            non_finite: non_finite as u64,
            peak,
            hop: fe.front_end.hop(),
            rate: fe.front_end.sample_rate(),
            taggram_frames: SessionOptions::default().taggram_frames,
        }));
        Ok(n)
    }
}

impl TagModel {
    fn input(&self) -> Result<Rc<Analysis>, JsError> {
        self.input
            .clone()
            .ok_or_else(|| JsError::new("no audio has been analysed for the model yet"))
    }
}
