//! Model speed: forward pass of scat-5l-512h-gru over 114 steps (one 29 s
//! window), batch 1 and batch 16, on the flex CPU backend (single-threaded).
//!
//! `benches/compare_onnxruntime.sh` runs this beside onnxruntime executing
//! the same weights in an ONNX GRU graph, in the same run. It passes the
//! weights it generated through `SCATTERBRAIN_BENCH_WEIGHTS=DIR` (raw
//! little-endian f32 files in PyTorch layout, see
//! `benches/compare_onnxruntime.py`); this bench then also writes its scores
//! for the shared input to `DIR/ours_b{1,16}.f32` so the script can check both
//! runtimes compute the same function. Without the variable the weights are
//! random (fp32: the time loop's fp32 panels, not the int8 ones a model file's
//! weights get, see `src/model/panels.rs`).
//!
//! The `model-parts` group splits the forward pass into what it is made of,
//! each part timed over the whole model's worth of calls (5 layers × 114
//! steps; the flex backend computes eagerly, so no readback is needed), so
//! the parts add up to (almost) the forward pass: the input
//! projections (`model::host_gru::project`: one `[114·B, I] × [I, 3H]`
//! product per layer) and the time loop (`model::host_gru::recur`:
//! `[B, H] × [H, 3H]` + bias and the gate arithmetic, once per step and
//! layer). What the parts leave of `model` is layout copies and the dense
//! head.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use burn::module::Param;
use burn::nn::{DropoutConfig, Linear};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use scatterbrain::model::host_gru;
use scatterbrain::model::prepared::PreparedLayers;
use scatterbrain::model::{Cell, ModelConfig, Net, PytorchWeights, RecurrentLayer, RnnNet, Tagger};

const NAME: &str = "scat-5l-512h-gru";
const INPUT: usize = 644;
const STEPS: usize = 114;
const HIDDEN: usize = 512;
const LAYERS: usize = 5;

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn write_f32(path: &Path, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn tagger_from_dir(dir: &Path, config: &ModelConfig, device: &Device) -> Tagger {
    let mut layers = Vec::new();
    for k in 0..LAYERS {
        let get = |n: &str| read_f32(&dir.join(format!("l{k}_{n}.f32")));
        let (w_ih, w_hh, b_ih, b_hh) = (
            get("weight_ih"),
            get("weight_hh"),
            get("bias_ih"),
            get("bias_hh"),
        );
        let input = if k == 0 { INPUT } else { HIDDEN };
        layers.push(
            RecurrentLayer::from_pytorch(
                Cell::Gru,
                input,
                HIDDEN,
                PytorchWeights {
                    weight_ih: &w_ih,
                    weight_hh: &w_hh,
                    bias_ih: &b_ih,
                    bias_hh: &b_hh,
                },
                device,
            )
            .unwrap(),
        );
    }
    let w = Tensor::<2>::from_data(
        TensorData::new(
            read_f32(&dir.join("head_weight.f32")),
            [config.tags, HIDDEN],
        ),
        device,
    );
    let b = Tensor::<1>::from_data(
        TensorData::new(read_f32(&dir.join("head_bias.f32")), [config.tags]),
        device,
    );
    Tagger {
        net: Net::Rnn(RnnNet {
            layers,
            dropout: DropoutConfig::new(config.dropout).init(),
            head: Linear {
                weight: Param::from_tensor(w.transpose()),
                bias: Some(Param::from_tensor(b)),
            },
        }),
        config: config.clone(),
    }
}

/// The weights the script shared, else random ones (seeded).
fn tagger(config: &ModelConfig, device: &Device, seed: u64) -> Tagger {
    device.seed(seed);
    match shared_dir() {
        Some(dir) => tagger_from_dir(&dir, config, device),
        None => Tagger::new(config, device).unwrap(),
    }
}

fn shared_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("SCATTERBRAIN_BENCH_WEIGHTS").map(std::path::PathBuf::from)
}

fn model(c: &mut Criterion) {
    let device = Device::flex();
    let config = ModelConfig::from_name(NAME, INPUT).unwrap();
    let shared = shared_dir();
    let tagger = tagger(&config, &device, 1);

    let mut g = c.benchmark_group("model");
    g.sample_size(10);
    for batch in [1usize, 16] {
        let x = match &shared {
            Some(dir) => {
                let all = read_f32(&dir.join("x.f32")); // [16, 114, 644]
                Tensor::<3>::from_data(
                    TensorData::new(all[..batch * STEPS * INPUT].to_vec(), [batch, STEPS, INPUT]),
                    &device,
                )
            }
            None => Tensor::random(
                [batch, STEPS, INPUT],
                Distribution::Normal(0.0, 1.0),
                &device,
            ),
        };
        if let Some(dir) = &shared {
            let probs: Vec<f32> = tagger
                .forward_probs(x.clone())
                .into_data()
                .try_into_vec()
                .unwrap();
            write_f32(&dir.join(format!("ours_b{batch}.f32")), &probs);
        }
        // As a loaded `Model` runs it: with the GRU layers' hidden weights
        // laid out once (model::prepared), not per call.
        let prepared = Arc::new(PreparedLayers::new(&tagger));
        let forward = |x: Tensor<3>| -> Vec<f32> {
            prepared.scope(|| tagger.forward_probs(x).into_data().try_into_vec().unwrap())
        };
        g.bench_with_input(BenchmarkId::new(NAME, format!("b{batch}")), &x, |b, x| {
            b.iter(|| black_box(forward(black_box(x.clone()))))
        });
    }
    g.finish();
}

/// The forward pass's parts, each over the whole model's worth of calls.
fn parts(c: &mut Criterion) {
    let device = Device::flex();
    let config = ModelConfig::from_name(NAME, INPUT).unwrap();
    // The shared weights too: the time loop keeps int8-valued ones in int8.
    let tagger = tagger(&config, &device, 2);
    let Net::Rnn(net) = &tagger.net else {
        unreachable!("{NAME} is recurrent")
    };
    let normal = Distribution::Normal(0.0, 1.0);
    let mut g = c.benchmark_group("model-parts");
    g.sample_size(10);
    for batch in [1usize, 16] {
        let random = |n: usize| -> Vec<f32> {
            Tensor::<1>::random([n], normal, &device)
                .into_data()
                .try_into_vec()
                .unwrap()
        };
        // Laid out once, as a loaded model keeps them (model::prepared).
        let laid_out: Vec<host_gru::LayerWeights> =
            net.layers.iter().map(|l| l.host_weights()).collect();
        let inputs: Vec<Vec<f32>> = (0..LAYERS)
            .map(|k| random(STEPS * batch * if k == 0 { INPUT } else { HIDDEN }))
            .collect();
        g.bench_function(
            BenchmarkId::new("input-projection", format!("b{batch}")),
            |b| {
                b.iter(|| {
                    for (weights, x) in laid_out.iter().zip(&inputs) {
                        black_box(host_gru::project(x, weights));
                    }
                })
            },
        );
        // The time loop as inference runs it on this backend (host slices:
        // the hidden projection and the gates), per layer.
        let projected = random(STEPS * batch * 3 * HIDDEN);
        g.bench_function(
            BenchmarkId::new("recurrent-loop", format!("b{batch}")),
            |b| {
                b.iter(|| {
                    for weights in &laid_out {
                        let mut state = vec![0.0f32; batch * HIDDEN];
                        black_box(host_gru::recur(&projected, &mut state, weights, batch));
                    }
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, model, parts);
criterion_main!(benches);
