//! The browser's entry points: a thin wasm-bindgen layer that converts types
//! between JS and the core's analysis session ([`crate::session`]); the road
//! from PCM to tags is the core's, as for the native CLI. Every entry point
//! returns a `Result` (or a Promise that rejects with an `Error`), and a
//! panic hook reports panics, so nothing crosses the boundary as an abort
//! without a message; the page stays usable after any error.
//!
//! * [`Analyzer`] (analyzer.rs): the scattering front end, raw coefficients
//!   for the pictures, and stitching of windows computed by several workers.
//! * [`TagModel`] (tag_model/): a model file loaded from bytes; a worker's
//!   share of a piece of audio (a sharded session), and the whole file's tags
//!   on the CPU or WebGPU.
//! * [`MonoStream`] (mono.rs): PCM to mono at the front end's rate, in slices.
//! * [`decode_audio`] (decoder.rs): a file's bytes to PCM with the core's
//!   decoder (the CLI's).
//!
//! The page's WebGPU build (feature `webgpu`, not `web`) has only
//! [`TagModel`]'s WebGPU side: the CPU build does all the rest.

#[cfg(feature = "web")]
mod analyzer;
#[cfg(feature = "web")]
mod decoder;
#[cfg(feature = "web")]
mod mono;
mod tag_model;

#[cfg(feature = "web")]
pub use analyzer::Analyzer;
#[cfg(feature = "web")]
pub use decoder::decode_audio;
#[cfg(feature = "web")]
pub use mono::MonoStream;
pub use tag_model::TagModel;

use crate::pipeline::{WindowFeatures, in_stream_order};
use crate::transform::Coefficients;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Any error as the `Error` a JS caller sees.
fn js<E: std::fmt::Display>(e: E) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    // Plain objects for maps too: `#[serde(flatten)]` serialises as a map.
    // `None` is `null`, as the types declare (not a missing field).
    let plain = serde_wasm_bindgen::Serializer::new()
        .serialize_maps_as_objects(true)
        .serialize_missing_as_null(true);
    value.serialize(&plain).map_err(js)
}

/// Set `key` on a JS object (large arrays go as typed arrays, not through serde).
#[cfg(feature = "web")]
fn set(obj: &JsValue, key: &str, value: &JsValue) -> Result<(), JsError> {
    js_sys::Reflect::set(obj, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|e| JsError::new(&format!("{e:?}")))
}

/// `progress(done, total, stage)`; a throwing callback must not abort the work.
fn call_progress(progress: &Option<js_sys::Function>, done: usize, total: f64, stage: &str) {
    if let Some(f) = progress {
        let _ = f.call3(
            &JsValue::NULL,
            &JsValue::from(done as f64),
            &JsValue::from(total),
            &JsValue::from_str(stage),
        );
    }
}

/// Windows of `samples` samples the window length cuts (for progress only).
#[cfg(feature = "web")]
fn expected_windows(samples: f64, window_len: usize) -> f64 {
    (samples / window_len.max(1) as f64).ceil().max(1.0)
}

/// Windows `features` will cut from interleaved `pcm` (for progress only).
#[cfg(feature = "web")]
fn expected_windows_of(
    pcm: &[f32],
    sample_rate: u32,
    channels: u32,
    features: &crate::features::Features,
) -> f64 {
    let frames_in = pcm.len() as f64 / f64::from(channels.max(1));
    let at_rate = frames_in * f64::from(features.sample_rate()) / f64::from(sample_rate.max(1));
    expected_windows(at_rate, features.window_len())
}

/// Interleaved `pcm` in slices of ~5 s (whole frames), so that progress
/// comes as windows complete.
#[cfg(feature = "web")]
fn slices(pcm: &[f32], sample_rate: u32, channels: u32) -> std::slice::Chunks<'_, f32> {
    pcm.chunks((sample_rate as usize * 5).max(1) * channels.max(1) as usize)
}

/// Windows of coefficients handed over from JS by several workers, in stream
/// order: `data` holds `indices.len()` matrices of `rows × frames`, window
/// `indices[i]` starting at sample `starts[i]` with `valids[i]` samples of
/// real audio.
fn windows_from(
    indices: &[u32],
    starts: &[f64],
    valids: &[u32],
    rows: usize,
    frames: usize,
    data: &[f32],
) -> Result<Vec<WindowFeatures>, JsError> {
    let size = rows * frames;
    let n = indices.len();
    if starts.len() != n || valids.len() != n || data.len() != n * size || size == 0 {
        return Err(JsError::new(&format!(
            "{} values for {n} windows ({} starts, {} lengths) of {rows} × {frames}",
            data.len(),
            starts.len(),
            valids.len()
        )));
    }
    let items = (0..n).map(|i| {
        let w = WindowFeatures {
            index: indices[i] as usize,
            start: starts[i] as u64,
            valid: valids[i] as usize,
            coefficients: Coefficients {
                rows,
                frames,
                data: data[i * size..(i + 1) * size].to_vec(),
            },
            raw: None,
        };
        (w.index, w)
    });
    in_stream_order(items).map_err(js)
}

/// Windows' coefficients concatenated, as one `Float32Array`.
#[cfg(feature = "web")]
fn concat<'a>(parts: impl Iterator<Item = &'a Coefficients>) -> js_sys::Float32Array {
    let v: Vec<f32> = parts.flat_map(|c| c.data.iter().copied()).collect();
    js_sys::Float32Array::from(&v[..])
}
