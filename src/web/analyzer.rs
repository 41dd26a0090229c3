//! [`Analyzer`]: the scattering front end for the page's pictures (filter
//! banks and FFT plans built once, reused for every file).

use super::{call_progress, expected_windows_of, js, slices, to_js, windows_from};
use crate::features::{FeatureConfig, Features, RowInfo};
use crate::pipeline::{Form, Pipeline, WindowFeatures, stitch};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The pictures' coefficients on one time line, handed to JS as a plain object.
#[derive(Serialize)]
struct ScatterResult {
    rows: usize,
    frames: usize,
    /// Row-major `rows × frames`.
    #[serde(with = "f32_bytes")]
    data: Vec<f32>,
    /// Seconds at each frame.
    times: Vec<f64>,
    /// What each row is (order, centre frequencies in Hz).
    paths: Vec<RowInfo>,
    /// Analysis windows used (start, s).
    windows: Vec<f64>,
}

/// Serialise `Vec<f32>` as bytes (a `Uint8Array`) rather than a JS array of
/// numbers; the JS side views the same bytes as a `Float32Array`
/// (little-endian like wasm).
mod f32_bytes {
    use serde::Serializer;
    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        s.serialize_bytes(&bytes)
    }
}

#[wasm_bindgen]
pub struct Analyzer {
    pub(super) features: Features,
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
            features: Features::try_new(config).map_err(js)?,
        })
    }

    /// The live microphone view's front end over windows of `seconds`
    /// ([`FeatureConfig::live`]).
    pub fn live(seconds: f64) -> Result<Analyzer, JsError> {
        Ok(Analyzer {
            features: Features::try_new(FeatureConfig::live(seconds).map_err(js)?).map_err(js)?,
        })
    }

    /// The front end's sample rate in Hz (audio is resampled to it).
    #[wasm_bindgen(getter)]
    pub fn sample_rate(&self) -> u32 {
        self.features.sample_rate()
    }

    /// The shortest input accepted, in seconds.
    #[wasm_bindgen(getter)]
    pub fn min_seconds(&self) -> f64 {
        self.features.config().window.min_seconds
    }

    /// Scattering coefficients of interleaved PCM (`channels` channels at
    /// `sample_rate` Hz), stitched over the analysis windows. `normalised`
    /// gives the model's input instead of raw S0/S1/S2.
    /// `progress(done, total, "transform")` is called after every window.
    /// `file_rate`: the audio's rate in its file, when it was resampled
    /// before (the core's decoder's `monoRate`); bands above its Nyquist are
    /// then empty, as when the file's own PCM is given.
    pub fn scatter(
        &mut self,
        pcm: &[f32],
        sample_rate: u32,
        channels: u32,
        normalised: bool,
        progress: Option<js_sys::Function>,
        file_rate: Option<u32>,
    ) -> Result<JsValue, JsError> {
        let form = if normalised { Form::Model } else { Form::Raw };
        let total = expected_windows_of(pcm, sample_rate, channels, &self.features);
        let mut pipeline = Pipeline::new(&self.features, form, sample_rate, channels)
            .map_err(js)?
            .with_source_rate(file_rate, &self.features);
        let mut windows: Vec<WindowFeatures> = Vec::new();
        let mut got = |w| {
            windows.push(w);
            call_progress(&progress, windows.len(), total, "transform");
        };
        for chunk in slices(pcm, sample_rate, channels) {
            pipeline
                .push(&mut self.features, None, chunk, &mut got)
                .map_err(js)?;
        }
        pipeline
            .finish(&mut self.features, None, &mut got)
            .map_err(js)?;
        to_js(&self.result(&windows))
    }

    /// As [`Analyzer::scatter`]'s result, from raw coefficients computed by
    /// the page's workers ([`super::TagModel::job_finish`]): window
    /// `indices[i]` of the stream (any order; the core puts them in order)
    /// starts at sample `starts[i]` of the front end's rate and has
    /// `valids[i]` samples of real audio; `data` holds the windows'
    /// `rows × frames` matrices, concatenated.
    pub fn stitch(
        &mut self,
        indices: Vec<u32>,
        starts: Vec<f64>,
        valids: Vec<u32>,
        rows: usize,
        frames: usize,
        data: &[f32],
    ) -> Result<JsValue, JsError> {
        let windows = windows_from(&indices, &starts, &valids, rows, frames, data)?;
        to_js(&self.result(&windows))
    }
}

impl Analyzer {
    fn result(&mut self, windows: &[WindowFeatures]) -> ScatterResult {
        let sr = self.features.sample_rate();
        let (c, times) = stitch(windows, self.features.hop(), sr);
        let window_len = self.features.window_len();
        ScatterResult {
            rows: c.rows,
            frames: c.frames,
            data: c.data,
            times,
            paths: self.features.rows(window_len),
            windows: windows
                .iter()
                .map(|w| w.start as f64 / f64::from(sr))
                .collect(),
        }
    }
}
