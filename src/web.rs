//! The browser's entry points: a thin wasm-bindgen layer over the same
//! pipeline the native CLI runs. Every entry point returns a `Result`, and a
//! panic hook reports panics, so nothing crosses the boundary as an abort
//! without a message; the page stays usable after any error.

use crate::features::{FeatureConfig, Features};
use crate::pipeline::{Form, Pipeline, WindowFeatures, stitch};
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
        let total = ((pcm.len() as f64 / channels.max(1) as f64 / sample_rate.max(1) as f64)
            / window_s)
            .ceil()
            .max(1.0);
        let mut windows: Vec<WindowFeatures> = Vec::new();
        let report = |n: usize| {
            if let Some(f) = &progress {
                let _ = f.call2(
                    &JsValue::NULL,
                    &JsValue::from(n as f64),
                    &JsValue::from(total),
                );
            }
        };
        let mut pipeline =
            Pipeline::new(&mut self.features, None, form, sample_rate, channels).map_err(err)?;
        // Feed in slices so progress is reported as windows complete.
        let step = (sample_rate as usize * channels as usize * 5).max(channels as usize);
        for chunk in pcm.chunks(step - step % channels.max(1) as usize) {
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
}

fn err(e: crate::error::AudioError) -> JsError {
    JsError::new(&e.to_string())
}
