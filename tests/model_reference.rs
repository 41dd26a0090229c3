//! The recurrent layers against a plain-numpy reference of the standard
//! GRU/LSTM equations (PyTorch convention), on fixed weights:
//! tests/fixtures/model/rnn_reference.json, made by make_rnn_reference.py.
#![cfg(feature = "model")]

#[path = "common/compare.rs"]
mod compare;
use compare::max_abs_diff;
#[path = "common/manifest.rs"]
mod manifest;
use burn::module::Param;
use burn::nn::{DropoutConfig, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use scatterbrain::model::{
    Architecture, Cell, FrontEndKind, ModelConfig, Net, PytorchWeights, RecurrentLayer, RnnNet,
    Tagger,
};
use serde_json::Value;

/// The tolerance the issue asks for.
const TOL: f32 = 1e-5;

fn fixture() -> Value {
    let path = manifest::dir().join("tests/fixtures/model/rnn_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn flat(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        other => panic!("not a number: {other}"),
    }
}

fn dim(v: &Value, key: &str) -> usize {
    v[key].as_u64().unwrap() as usize
}

fn layer(
    cell: Cell,
    params: &Value,
    input: usize,
    hidden: usize,
    device: &Device,
) -> RecurrentLayer {
    let (w_ih, w_hh, b_ih, b_hh) = (
        flat(&params["weight_ih"]),
        flat(&params["weight_hh"]),
        flat(&params["bias_ih"]),
        flat(&params["bias_hh"]),
    );
    RecurrentLayer::from_pytorch(
        cell,
        input,
        hidden,
        PytorchWeights {
            weight_ih: &w_ih,
            weight_hh: &w_hh,
            bias_ih: &b_ih,
            bias_hh: &b_hh,
        },
        device,
    )
    .unwrap()
}

fn input(f: &Value, device: &Device) -> Tensor<3> {
    let shape = [dim(f, "batch"), dim(f, "steps"), dim(f, "input")];
    Tensor::from_data(TensorData::new(flat(&f["x"]), shape), device)
}

fn check_layer(cell: Cell, key: &str) {
    let device = Device::flex();
    let f = fixture();
    let l = layer(
        cell,
        &f[key]["params"],
        dim(&f, "input"),
        dim(&f, "hidden"),
        &device,
    );
    let out: Vec<f32> = l
        .forward(input(&f, &device))
        .into_data()
        .try_into_vec()
        .unwrap();
    let expected = flat(&f[key]["output"]);
    let err = max_abs_diff(&out, &expected);
    println!("{key}: max |ours − numpy| = {err:e}");
    assert!(err <= TOL, "{key}: max abs error {err} > {TOL}");
}

#[test]
fn gru_layer_matches_numpy_reference() {
    check_layer(Cell::Gru, "gru");
}

#[test]
fn lstm_layer_matches_numpy_reference() {
    check_layer(Cell::Lstm, "lstm");
}

#[test]
fn from_pytorch_rejects_wrong_sizes() {
    let device = Device::flex();
    let w = vec![0.0f32; 10];
    let err = RecurrentLayer::from_pytorch(
        Cell::Gru,
        3,
        2,
        PytorchWeights {
            weight_ih: &w,
            weight_hh: &w,
            bias_ih: &w,
            bias_hh: &w,
        },
        &device,
    )
    .unwrap_err();
    assert!(err.contains("weight_ih"), "{err}");
}

/// The whole recurrent tagger (2 GRU layers, mean over time, dense, sigmoid),
/// in inference: dropout configured but inactive.
#[test]
fn gru_tagger_matches_numpy_reference() {
    let device = Device::flex();
    let f = fixture();
    let (inp, hidden, tags) = (dim(&f, "input"), dim(&f, "hidden"), dim(&f, "tags"));
    let t = &f["tagger"];
    let layers = vec![
        layer(Cell::Gru, &t["layers"][0], inp, hidden, &device),
        layer(Cell::Gru, &t["layers"][1], hidden, hidden, &device),
    ];
    let head_w = Tensor::<2>::from_data(
        TensorData::new(flat(&t["head_weight"]), [tags, hidden]),
        &device,
    );
    let head_b = Tensor::<1>::from_data(TensorData::new(flat(&t["head_bias"]), [tags]), &device);
    let config = ModelConfig {
        front_end: FrontEndKind::Scat,
        architecture: Architecture::Rnn {
            cell: Cell::Gru,
            layers: 2,
            hidden,
        },
        input_size: inp,
        tags,
        dropout: 0.25,
    };
    let tagger = Tagger {
        net: Net::Rnn(RnnNet {
            layers,
            dropout: DropoutConfig::new(0.25).init(),
            head: Linear {
                weight: Param::from_tensor(head_w.transpose()),
                bias: Some(Param::from_tensor(head_b)),
            },
        }),
        config,
    };
    let x = input(&f, &device);
    let logits: Vec<f32> = tagger
        .forward(x.clone())
        .into_data()
        .try_into_vec()
        .unwrap();
    let probs: Vec<f32> = tagger
        .forward_probs(x.clone())
        .into_data()
        .try_into_vec()
        .unwrap();
    let steps: Vec<f32> = tagger
        .step_logits(x)
        .unwrap()
        .into_data()
        .try_into_vec()
        .unwrap();
    for (name, ours, reference) in [
        ("logits", &logits, flat(&t["logits"])),
        ("probs", &probs, flat(&t["probs"])),
        ("step_logits", &steps, flat(&t["step_logits"])),
    ] {
        let err = max_abs_diff(ours, &reference);
        println!("tagger {name}: max |ours − numpy| = {err:e}");
        assert!(err <= TOL, "{name}: max abs error {err} > {TOL}");
    }
}

/// Inference on the CPU backend runs the GRU's time loop on host slices
/// (`model::host_gru`); training, on an autodiff device, runs the tensor loop.
/// The two must give the same outputs: on the reference fixture, and on an
/// odd shape (hidden weight columns not a multiple of the loop's column
/// blocks, more steps than one input-projection chunk, batch 3 and 1).
#[test]
fn gru_host_loop_matches_the_tensor_loop() {
    let flex = Device::flex();
    let autodiff = Device::flex().autodiff();
    let f = fixture();
    let (inp, hidden) = (dim(&f, "input"), dim(&f, "hidden"));
    let run = |device: &Device| -> Vec<f32> {
        layer(Cell::Gru, &f["gru"]["params"], inp, hidden, device)
            .forward(input(&f, device))
            .into_data()
            .try_into_vec()
            .unwrap()
    };
    let expected = flat(&f["gru"]["output"]);
    let (host, tensor) = (run(&flex), run(&autodiff));
    let err = max_abs_diff(&tensor, &expected);
    assert!(err <= TOL, "tensor loop: max abs error {err} > {TOL}");
    let err = max_abs_diff(&host, &tensor);
    println!("fixture: max |host − tensor| = {err:e}");
    assert!(
        err <= 1e-6,
        "fixture: host and tensor loops differ by {err}"
    );

    // (batch, steps, inputs, hidden, int8): column panels of H = 13 (odd, and
    // 3H inside one partly empty panel) and H = 300 (3H not a multiple of a
    // panel); batches 1, 3 (a block of three), 5, 6 and 7 (a block of four
    // and the rest); hidden weights that are int8 values times a per-output
    // scale, as int8 model files load, read in int8 by steps of one sequence
    // (and in fp32 above). The input projection's rows (steps × batch) run
    // through every block size too.
    for (batch, steps, input_size, h, int8) in [
        (3, 37, 7, 13, false),
        (1, 37, 7, 13, false),
        (1, 37, 7, 13, true),
        (6, 9, 7, 13, true),
        (7, 3, 70, 13, false),
        (1, 5, 4, 300, false),
        (1, 5, 4, 300, true),
        (5, 5, 4, 300, true),
    ] {
        let mut seed = 0x2545_f491_u32;
        let mut noise = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    (seed as f32 / u32::MAX as f32 - 0.5) * 2.0 * scale
                })
                .collect()
        };
        // PyTorch's initial scale, ±1/√H: sums of H terms stay O(1), as in a
        // trained model, and the two loops' summation orders differ by float32
        // rounding only.
        let k = 1.0 / (h as f32).sqrt();
        let (w_ih, mut w_hh) = (noise(3 * h * input_size, k), noise(3 * h * h, k));
        if int8 {
            // PyTorch's [3H, H]: a row per output.
            for row in w_hh.chunks_exact_mut(h) {
                let scale = row.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
                for v in row {
                    *v = ((*v / scale).round() as i8) as f32 * scale;
                }
            }
        }
        let (b_ih, b_hh) = (noise(3 * h, 0.3), noise(3 * h, 0.3));
        let x = noise(batch * steps * input_size, 2.0);
        let run = |device: &Device| -> Vec<f32> {
            let weights = PytorchWeights {
                weight_ih: &w_ih,
                weight_hh: &w_hh,
                bias_ih: &b_ih,
                bias_hh: &b_hh,
            };
            let l =
                RecurrentLayer::from_pytorch(Cell::Gru, input_size, h, weights, device).unwrap();
            let x = Tensor::from_data(
                TensorData::new(x.clone(), [batch, steps, input_size]),
                device,
            );
            l.forward(x).into_data().try_into_vec().unwrap()
        };
        let (host, tensor) = (run(&flex), run(&autodiff));
        assert_eq!(host.len(), batch * steps * h);
        let err = max_abs_diff(&host, &tensor);
        println!("{batch}×{steps}×{h}: max |host − tensor| = {err:e}");
        assert!(
            err <= 1e-6,
            "{batch}×{steps}×{h}: host and tensor loops differ by {err}"
        );
    }
}
