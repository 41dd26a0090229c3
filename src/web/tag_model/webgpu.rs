//! The WebGPU side of [`TagModel`] (the page's WebGPU build): the weights
//! on burn's wgpu backend, scoring the model input the CPU build computed
//! (handed over with `input_parts` → `set_input`).

use std::cell::RefCell;
use std::rc::Rc;

use super::{TagModel, page_tags};
use crate::model::{Device, Model};
use crate::tagging::score_windows_async;
use crate::web::{call_progress, js, to_js};
use wasm_bindgen::prelude::*;

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

#[wasm_bindgen]
impl TagModel {
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
            let model = Model::from_bytes(&bytes, &device).map_err(js)?;
            *gpu.borrow_mut() = Some(Rc::new(model));
            Ok(JsValue::UNDEFINED)
        })
    }

    /// As [`TagModel::predict_cpu`], on WebGPU (after [`TagModel::init_webgpu`]),
    /// one window per pass so that progress comes window by window (and a
    /// cancel, which ends the worker, waits for one window at most).
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
}
