//! CPU (flex) vs wgpu on the same weights and input: equal within 1e-4.
//!
//! Natively wgpu runs on Vulkan; on a machine without a GPU that is Mesa's
//! lavapipe (Debian `mesa-vulkan-drivers`), which the project's setup installs.
//! No adapter is a test failure, not a skip.
#![cfg(feature = "wgpu")]

#[path = "common/compare.rs"]
mod compare;
use burn::tensor::{Device, Distribution, Tensor};
use compare::max_abs_diff;
use scatterbrain::model::{self, ModelConfig, ModelMetadata, Precision, Tagger};

const TOL: f32 = 1e-4;

fn wgpu_device() -> Device {
    Device::wgpu_options().init().unwrap_or_else(|e| {
        panic!("no wgpu adapter ({e:?}); install a Vulkan driver, e.g. apt-get install mesa-vulkan-drivers")
    })
}

#[test]
fn flex_and_wgpu_agree_on_small_models() {
    let cpu = Device::flex();
    let gpu = wgpu_device();
    cpu.seed(11);
    for name in ["scat-2l-16h-gru", "scat-2l-16h-lstm"] {
        let config = ModelConfig::from_name(name, 12).unwrap();
        let tagger = Tagger::new(&config, &cpu).unwrap();
        let bytes = model::save(&tagger, &ModelMetadata::new(&config), Precision::F32).unwrap();
        let (on_gpu, _) = model::load(&bytes, &gpu).unwrap();

        let x = Tensor::<3>::random([2, 10, 12], Distribution::Normal(0.0, 1.0), &cpu);
        let data: Vec<f32> = x.to_data().try_into_vec().unwrap();
        let x_gpu = Tensor::<3>::from_data(burn::tensor::TensorData::new(data, [2, 10, 12]), &gpu);

        let a: Vec<f32> = tagger
            .forward_probs(x.clone())
            .into_data()
            .try_into_vec()
            .unwrap();
        let b: Vec<f32> = on_gpu
            .forward_probs(x_gpu.clone())
            .into_data()
            .try_into_vec()
            .unwrap();
        let err = max_abs_diff(&a, &b);
        println!("{name}: max |flex − wgpu| prob = {err:e}");
        assert!(err <= TOL, "{name}: {err} > {TOL}");

        let a: Vec<f32> = tagger
            .step_logits(x)
            .unwrap()
            .into_data()
            .try_into_vec()
            .unwrap();
        let b: Vec<f32> = on_gpu
            .step_logits(x_gpu)
            .unwrap()
            .into_data()
            .try_into_vec()
            .unwrap();
        let err = max_abs_diff(&a, &b);
        println!("{name}: max |flex − wgpu| step logit = {err:e}");
        assert!(err <= TOL, "{name} step logits: {err} > {TOL}");
    }
}
