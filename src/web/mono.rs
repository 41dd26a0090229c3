//! [`MonoStream`]: interleaved PCM to mono at a front end's rate, slice by
//! slice, for the page's coordinating worker to hand its helpers each slice
//! while it converts the next.

use super::js;
use crate::resample::ToMono;
use wasm_bindgen::prelude::*;

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
            inner: ToMono::new(sample_rate, channels, rate).map_err(js)?,
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
        self.inner.push(pcm, &mut out).map_err(js)?;
        Ok(out)
    }

    /// The last mono samples, once every slice has been pushed.
    pub fn finish(&mut self) -> Result<Vec<f32>, JsError> {
        let mut out = Vec::new();
        self.inner.finish(&mut out).map_err(js)?;
        Ok(out)
    }

    /// Input samples that were NaN or infinite (read as silence).
    pub fn non_finite(&self) -> f64 {
        self.inner.non_finite() as f64
    }
}
