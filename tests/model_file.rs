//! The model file: save → load → forward round trips (fp32 exact, fp16 within
//! a stated tolerance) and clear typed errors for bad files. One test file per
//! subject, so it is long (~600 lines): each bad-file case is a short test.
#![cfg(feature = "model")]

#[path = "common/compare.rs"]
mod compare;
use burn::store::burn_pack::{Reader, Writer};
use burn::tensor::{Bytes, Device, Distribution, Tensor};
use compare::max_abs_diff;
use scatterbrain::model::{
    self, Metrics, Model, ModelConfig, ModelFileError, ModelMetadata, NormalisationStats,
    Precision, PredictError, Provenance, Tagger,
};
use serde_json::{Value, json};

/// fp16 weights: largest allowed |Δ| of a tag probability. Half precision keeps
/// 11 significant bits (relative rounding ≤ 2^-11 ≈ 4.9e-4 per weight); through
/// a few layers of the small models here the probabilities move by ~1e-4.
const F16_PROB_TOL: f32 = 2e-3;
/// int8 weights: each weight is rounded to 1/254 of its channel's largest
/// (≤ 0.4 % of the peak, ~30× fp16's step); the probabilities of these small
/// random models move by a few 1e-3. What matters for real models, the loss
/// of held-out ROC-AUC, is measured by trainer/corpus/heldout.py.
const INT8_PROB_TOL: f32 = 2e-2;

fn tiny(name: &str, input: usize) -> (Tagger, ModelMetadata, Device) {
    let device = Device::flex();
    device.seed(7);
    let config = ModelConfig::from_name(name, input).unwrap();
    let tagger = Tagger::new(&config, &device).unwrap();
    let mut meta = ModelMetadata::new(&config);
    meta.front_end = json!({"kind": "scattering", "j": 13, "q": [8, 1], "t": 8192});
    meta.normalisation = Some(NormalisationStats {
        mean: (0..input).map(|i| i as f32 * 0.1).collect(),
        std: vec![1.5; input],
    });
    meta.provenance = Provenance {
        corpus: Some("test fixture".into()),
        seed: Some(7),
        notes: Some("random weights".into()),
        ..Provenance::default()
    };
    meta.metrics = Metrics {
        roc_auc: Some(0.5),
        extra: json!({"note": "untrained"}),
        ..Metrics::default()
    };
    (tagger, meta, device)
}

fn random_input(batch: usize, frames: usize, input: usize, device: &Device) -> Tensor<3> {
    Tensor::random(
        [batch, frames, input],
        Distribution::Normal(0.0, 1.0),
        device,
    )
}

fn probs(tagger: &Tagger, x: &Tensor<3>) -> Vec<f32> {
    tagger
        .forward_probs(x.clone())
        .into_data()
        .try_into_vec()
        .unwrap()
}

#[test]
fn f32_round_trip_is_exact() {
    for name in ["scat-2l-16h-gru", "mel-3l-8h-lstm"] {
        let (tagger, meta, device) = tiny(name, 12);
        let x = random_input(3, 9, 12, &device);
        let before = probs(&tagger, &x);
        let bytes = model::save(&tagger, &meta, Precision::F32).unwrap();
        let (loaded, meta2) = model::load(&bytes, &device).unwrap();
        let after = probs(&loaded, &x);
        assert_eq!(before, after, "{name}: fp32 round trip must be bit-exact");
        assert_eq!(meta2.model.name(), name);
        assert_eq!(meta2.front_end, meta.front_end);
        assert_eq!(meta2.normalisation, meta.normalisation);
        assert_eq!(meta2.provenance.corpus, meta.provenance.corpus);
        assert!(meta2.provenance.software.starts_with("scatterbrain "));
        assert_eq!(meta2.metrics, meta.metrics);
        assert_eq!(meta2.tags.len(), 50);
        assert_eq!(meta2.precision, Precision::F32);
        assert!(!meta2.checksums.is_empty());
        assert_eq!(model::read_metadata(&bytes).unwrap(), meta2);
        // Saving what was loaded gives the same bytes.
        assert_eq!(model::save(&loaded, &meta2, Precision::F32).unwrap(), bytes);
    }
}

#[test]
fn f16_round_trip_within_tolerance_and_half_size() {
    let (tagger, meta, device) = tiny("scat-3l-64h-gru", 40);
    let x = random_input(4, 20, 40, &device);
    let before = probs(&tagger, &x);
    let full = model::save(&tagger, &meta, Precision::F32).unwrap();
    let half = model::save(&tagger, &meta, Precision::F16).unwrap();
    let (loaded, meta2) = model::load(&half, &device).unwrap();
    assert_eq!(meta2.precision, Precision::F16);
    let after = probs(&loaded, &x);
    let err = max_abs_diff(&before, &after);
    println!(
        "fp16: {} bytes vs fp32 {} bytes; max |Δ prob| = {err:e}",
        half.len(),
        full.len()
    );
    assert!(err <= F16_PROB_TOL, "fp16 max prob error {err}");
    assert!(err > 0.0, "fp16 weights should not be bit-identical");
    assert!(
        (half.len() as f64) < 0.6 * full.len() as f64,
        "fp16 file {} not about half of {}",
        half.len(),
        full.len()
    );
}

/// Int8 weights (per-output-channel scales): a quarter of fp32, predictions
/// close to fp32, and the file is all-or-nothing about its precision.
#[test]
fn int8_round_trip_within_tolerance_and_quarter_size() {
    for (name, input) in [("scat-3l-64h-gru", 40), ("scat-4l-cnn", 10)] {
        let (tagger, meta, device) = tiny(name, input);
        let x = random_input(4, 20, input, &device);
        let before = probs(&tagger, &x);
        let full = model::save(&tagger, &meta, Precision::F32).unwrap();
        let q = model::save(&tagger, &meta, Precision::Int8).unwrap();
        let (loaded, meta2) = model::load(&q, &device).unwrap();
        assert_eq!(meta2.precision, Precision::Int8);
        let err = max_abs_diff(&before, &probs(&loaded, &x));
        println!(
            "{name} int8: {} bytes vs fp32 {} bytes; max |Δ prob| = {err:e}",
            q.len(),
            full.len()
        );
        assert!(err <= INT8_PROB_TOL, "{name}: int8 max prob error {err}");
        assert!(
            err > 0.0,
            "{name}: int8 weights should not be bit-identical"
        );
        // Re-quantising what was loaded changes nothing that matters: the
        // dequantised weights sit on the int8 grid (scales may move by an ulp).
        let again = model::save(&loaded, &meta2, Precision::Int8).unwrap();
        let (reloaded, _) = model::load(&again, &device).unwrap();
        let drift = max_abs_diff(&probs(&loaded, &x), &probs(&reloaded, &x));
        assert!(
            drift <= 1e-5,
            "{name}: re-quantising moved probabilities by {drift}"
        );
    }
    let (tagger, meta, _) = tiny("scat-5l-128h-gru", 200);
    let full = model::save(&tagger, &meta, Precision::F32).unwrap();
    let q = model::save(&tagger, &meta, Precision::Int8).unwrap();
    assert!(
        (q.len() as f64) < 0.3 * full.len() as f64,
        "int8 file {} not about a quarter of {}",
        q.len(),
        full.len()
    );
}

#[test]
fn cnn_round_trip_is_exact() {
    let (tagger, meta, device) = tiny("scat-4l-cnn", 10);
    let x = random_input(2, 14, 10, &device);
    let before = probs(&tagger, &x);
    assert_eq!(before.len(), 2 * 50);
    let bytes = model::save(&tagger, &meta, Precision::F32).unwrap();
    let (loaded, _) = model::load(&bytes, &device).unwrap();
    assert_eq!(before, probs(&loaded, &x));
    assert!(loaded.step_logits(x).is_none());
}

#[test]
fn model_predicts_from_coefficient_major_clips() {
    let (tagger, meta, device) = tiny("scat-2l-8h-gru", 5);
    let bytes = model::save(&tagger, &meta, Precision::F32).unwrap();
    let m = Model::from_bytes(&bytes, &device).unwrap();
    assert_eq!(m.input_size(), 5);
    // Two clips of 5 coefficients × 4 frames, coefficient-major.
    let data: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
    let scores = m.predict(&data, 2, 4).unwrap();
    assert_eq!(scores.len(), 100);
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    // Same as transposing by hand and calling forward.
    let mut time_major = vec![0.0f32; 40];
    for b in 0..2 {
        for i in 0..5 {
            for t in 0..4 {
                time_major[b * 20 + t * 5 + i] = data[b * 20 + i * 4 + t];
            }
        }
    }
    let x = Tensor::<3>::from_data(
        burn::tensor::TensorData::new(time_major, [2, 4, 5]),
        &device,
    );
    assert_eq!(scores, probs(m.tagger(), &x));
    // A single clip scores the same alone as in a batch.
    let first = m.predict(&data[..20], 1, 4).unwrap();
    assert!(max_abs_diff(&first, &scores[..50]) < 1e-6);
    // At batch 1 the model lends its GRU layers' hidden weights, laid out
    // once, to the forward pass (model::prepared): the same scores as the
    // network laying them out per call, on the first call and after.
    let direct = m.tagger().predict(&data[..20], 1, 4, &device).unwrap();
    assert_eq!(first, direct);
    assert_eq!(m.predict(&data[..20], 1, 4).unwrap(), direct);

    assert!(matches!(
        m.predict(&data, 2, 5),
        Err(PredictError::Shape(_))
    ));
    assert!(matches!(
        m.predict(&data[..0], 1, 0),
        Err(PredictError::Shape(_))
    ));
    let mut bad = data.clone();
    bad[7] = f32::NAN;
    assert_eq!(m.predict(&bad, 2, 4), Err(PredictError::NonFinite(7)));
    assert!(matches!(
        m.check_input_size(644),
        Err(ModelFileError::WrongInputSize {
            expected: 5,
            found: 644
        })
    ));
}

// ---------------------------------------------------------------- bad files

fn good_file() -> (Vec<u8>, Device) {
    let (tagger, meta, device) = tiny("scat-2l-8h-gru", 6);
    (model::save(&tagger, &meta, Precision::F32).unwrap(), device)
}

/// Rewrite the metadata JSON of a valid file, keeping its tensors, with a
/// valid metadata checksum (so what is tested is the content).
fn with_metadata(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let reader = Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).unwrap();
    let mut meta: Value = serde_json::from_str(&reader.metadata()["scatterbrain"]).unwrap();
    edit(&mut meta);
    model::seal(reader.into_tensors().unwrap(), &meta.to_string()).unwrap()
}

fn load_err(bytes: &[u8], device: &Device) -> ModelFileError {
    let err = model::load(bytes, device).expect_err("bad file must not load");
    println!("{err}");
    err
}

#[test]
fn empty_and_truncated_files_are_typed_errors() {
    let (bytes, device) = good_file();
    assert!(matches!(
        load_err(&[], &device),
        ModelFileError::Truncated(_)
    ));
    // Cut inside the header, inside the metadata, and at several points of the data.
    let cuts = [
        4,
        10,
        40,
        bytes.len() / 2,
        bytes.len() - 100,
        bytes.len() - 1,
    ];
    for cut in cuts {
        let err = load_err(&bytes[..cut], &device);
        assert!(
            matches!(err, ModelFileError::Truncated(_)),
            "cut at {cut}/{}: {err:?}",
            bytes.len()
        );
        // Said once ("model file is truncated: File truncated: …" before).
        let text = err.to_string().to_lowercase();
        assert_eq!(text.matches("truncated").count(), 1, "{text}");
    }
}

#[test]
fn non_model_files_are_rejected() {
    let (_, device) = good_file();
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761u32) >> 24) as u8)
        .collect();
    assert!(matches!(
        load_err(&junk, &device),
        ModelFileError::NotAModelFile(_)
    ));
    // A valid burnpack that is not ours.
    let other = Writer::new(vec![])
        .with_metadata("x", "y")
        .into_bytes()
        .unwrap();
    assert!(matches!(
        load_err(&other, &device),
        ModelFileError::NotAModelFile(_)
    ));
    let (bytes, _) = good_file();
    let foreign = with_metadata(&bytes, |m| m["format"] = json!("something-else"));
    assert!(matches!(
        load_err(&foreign, &device),
        ModelFileError::NotAModelFile(_)
    ));
}

#[test]
fn corrupt_data_is_detected_by_checksum() {
    let (bytes, device) = good_file();
    // Flip one bit near the end (inside the last tensor's data).
    let mut flipped = bytes.clone();
    let at = bytes.len() - 3;
    flipped[at] ^= 0x10;
    let err = load_err(&flipped, &device);
    assert!(
        matches!(&err, ModelFileError::Corrupt(m) if m.contains("checksum")),
        "{err:?}"
    );
    // Damaged metadata JSON.
    let broken = with_metadata(&bytes, |m| m["checksums"] = json!("nope"));
    assert!(matches!(
        load_err(&broken, &device),
        ModelFileError::BadMetadata(_)
    ));
}

#[test]
fn wrong_version_is_rejected() {
    let (bytes, device) = good_file();
    let next = model::FORMAT_VERSION + 1;
    let v3 = with_metadata(&bytes, |m| m["format_version"] = json!(next));
    assert_eq!(
        load_err(&v3, &device),
        ModelFileError::UnsupportedVersion {
            found: u64::from(next),
            supported: model::FORMAT_VERSION
        }
    );
    assert!(matches!(
        model::read_metadata(&v3),
        Err(ModelFileError::UnsupportedVersion { .. })
    ));
    let none = with_metadata(&bytes, |m| {
        m.as_object_mut().unwrap().remove("format_version");
    });
    assert!(matches!(
        load_err(&none, &device),
        ModelFileError::BadMetadata(_)
    ));
}

#[test]
fn wrong_tags_are_rejected() {
    let (bytes, device) = good_file();
    let fewer = with_metadata(&bytes, |m| {
        m["tags"].as_array_mut().unwrap().pop();
    });
    assert_eq!(
        load_err(&fewer, &device),
        ModelFileError::WrongTagCount {
            found: 49,
            expected: 50
        }
    );
    let twice = with_metadata(&bytes, |m| m["tags"][1] = json!("guitar"));
    assert_eq!(
        load_err(&twice, &device),
        ModelFileError::BadTag {
            index: 1,
            found: "guitar".into()
        }
    );
    let empty = with_metadata(&bytes, |m| m["tags"][3] = json!(" "));
    assert!(matches!(
        load_err(&empty, &device),
        ModelFileError::BadTag { index: 3, .. }
    ));
    let config_tags = with_metadata(&bytes, |m| m["model"]["tags"] = json!(40));
    assert_eq!(
        load_err(&config_tags, &device),
        ModelFileError::WrongTagCount {
            found: 50,
            expected: 40
        }
    );
}

/// The file's tag list is authoritative: a model of another tag set (7 tags,
/// in an order of its own) saves, loads and predicts one score per tag.
#[test]
fn a_model_of_another_tag_set_loads_and_predicts() {
    let device = Device::flex();
    device.seed(3);
    let mut config = ModelConfig::from_name("scat-2l-16h-gru", 12).unwrap();
    config.tags = 7;
    let tagger = Tagger::new(&config, &device).unwrap();
    let mut meta = ModelMetadata::new(&config);
    meta.tags = [
        "lullaby", "march", "waltz", "drone", "choir", "brass", "clap",
    ]
    .map(String::from)
    .to_vec();
    meta.front_end = json!({"kind": "scattering"});
    let bytes = model::save(&tagger, &meta, Precision::F32).unwrap();
    let (loaded, meta2) = model::load(&bytes, &device).unwrap();
    assert_eq!(meta2.tags, meta.tags);
    let x = random_input(2, 5, 12, &device);
    let p = probs(&loaded, &x);
    assert_eq!(p.len(), 2 * 7);
    assert_eq!(p, probs(&tagger, &x));
    // Saving with a list that does not name every output is refused.
    meta.tags.pop();
    assert!(matches!(
        model::save(&tagger, &meta, Precision::F32),
        Err(ModelFileError::WrongTagCount {
            found: 6,
            expected: 7
        })
    ));
}

#[test]
fn wrong_input_size_is_rejected() {
    let (bytes, device) = good_file();
    // The caller's front end gives another size.
    assert_eq!(
        model::load_for_input(&bytes, 644, &device).unwrap_err(),
        ModelFileError::WrongInputSize {
            expected: 6,
            found: 644
        }
    );
    assert!(model::load_for_input(&bytes, 6, &device).is_ok());
    // Metadata claims another input size than the weights have.
    let lying = with_metadata(&bytes, |m| {
        m["model"]["input_size"] = json!(7);
        m["normalisation"] = Value::Null;
    });
    let err = load_err(&lying, &device);
    assert!(
        matches!(&err, ModelFileError::TensorMismatch(m) if m.contains("input")),
        "{err:?}"
    );
    // Normalisation statistics of the wrong length.
    let stats = with_metadata(&bytes, |m| {
        m["normalisation"]["mean"].as_array_mut().unwrap().pop();
    });
    assert!(matches!(
        load_err(&stats, &device),
        ModelFileError::WrongNormalisationSize { expected: 6, .. }
    ));
    // A configuration that is itself invalid.
    let zero = with_metadata(&bytes, |m| m["model"]["input_size"] = json!(0));
    assert!(matches!(
        load_err(&zero, &device),
        ModelFileError::Config(_)
    ));
}

#[test]
fn missing_and_extra_tensors_are_rejected() {
    let (bytes, device) = good_file();
    // Claim a tensor that is not there.
    let extra_claim = with_metadata(&bytes, |m| {
        m["checksums"]["net.Rnn.ghost.weight"] = json!("00000000");
    });
    assert!(matches!(
        load_err(&extra_claim, &device),
        ModelFileError::MissingTensor(_)
    ));
    // A file for a deeper model than its metadata says.
    let shallow = with_metadata(&bytes, |m| m["model"]["architecture"]["layers"] = json!(1));
    let err = load_err(&shallow, &device);
    assert!(
        matches!(err, ModelFileError::UnexpectedTensor(_)),
        "{err:?}"
    );
}

/// Int8 storage is all or nothing: int8 weights in a file that says f32, f32
/// weights in a file that says int8, and an int8 weight whose scale is gone
/// are refused by name.
#[test]
fn int8_storage_must_match_the_recorded_precision() {
    let (tagger, meta, device) = tiny("scat-2l-8h-gru", 6);
    let q = model::save(&tagger, &meta, Precision::Int8).unwrap();
    let full = model::save(&tagger, &meta, Precision::F32).unwrap();
    let claims_f32 = with_metadata(&q, |m| m["precision"] = json!("f32"));
    let err = load_err(&claims_f32, &device);
    assert!(matches!(err, ModelFileError::TensorMismatch(_)), "{err:?}");
    let claims_int8 = with_metadata(&full, |m| m["precision"] = json!("int8"));
    let err = load_err(&claims_int8, &device);
    assert!(matches!(err, ModelFileError::TensorMismatch(_)), "{err:?}");
    // Drop one scale tensor (and its checksum, so only the pairing is wrong).
    let reader = Reader::from_bytes(Bytes::from_bytes_vec(q.clone())).unwrap();
    let mut m: Value = serde_json::from_str(&reader.metadata()["scatterbrain"]).unwrap();
    let tensors = reader.into_tensors().unwrap();
    let gone = tensors
        .iter()
        .find(|t| t.name.ends_with(".int8_scale"))
        .unwrap()
        .name
        .clone();
    m["checksums"].as_object_mut().unwrap().remove(&gone);
    let kept = tensors.into_iter().filter(|t| t.name != gone).collect();
    let err = load_err(&model::seal(kept, &m.to_string()).unwrap(), &device);
    assert!(
        matches!(&err, ModelFileError::MissingTensor(n) if *n == gone),
        "{err:?}"
    );
}

// ------------------------------------------ metadata checksum, trailing bytes

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not in the file", String::from_utf8_lossy(needle)))
}

/// Issue 14, item 4: one digit of the metadata JSON changed in place (the
/// normalisation statistics, the front end's settings) used to load
/// silently and change every score.
#[test]
fn a_changed_digit_in_the_metadata_is_a_metadata_checksum_error() {
    let (bytes, device) = good_file();
    // (text in the JSON, offset of the digit in it, new digit)
    for (text, at, digit) in [
        (&b"\"std\":[1.5,"[..], 7, b'2'),
        (b"\"mean\":[0.0,0.1,", 14, b'3'),
        (b"\"t\":8192", 4, b'9'),
    ] {
        let mut edited = bytes.clone();
        let i = find(&bytes, text) + at;
        assert!(edited[i].is_ascii_digit() && edited[i] != digit);
        edited[i] = digit;
        let err = load_err(&edited, &device);
        assert!(
            err.to_string().contains("metadata checksum"),
            "{}: {err}",
            String::from_utf8_lossy(text)
        );
        let err = model::read_metadata(&edited).expect_err("edited metadata must not be read");
        assert!(err.to_string().contains("metadata checksum"), "{err}");
    }
}

/// Issue 14, item 4: bytes appended to a model file (1 B to 1 MiB) used to be
/// ignored.
#[test]
fn appended_bytes_are_rejected() {
    let (bytes, device) = good_file();
    for extra in [1usize, 255, 256, 4096, 1 << 20] {
        for fill in [0u8, 0xA5] {
            let mut longer = bytes.clone();
            longer.extend(std::iter::repeat_n(fill, extra));
            let err = load_err(&longer, &device);
            assert!(
                err.to_string()
                    .contains(&format!("{extra} bytes after its end")),
                "{extra} × {fill:#x}: {err}"
            );
            assert!(model::read_metadata(&longer).is_err());
        }
    }
    assert!(model::load(&bytes, &device).is_ok());
}

/// Version 1 files (before the metadata checksum, like the shipped model
/// until it was rewritten) are refused with a message saying how to upgrade;
/// `load_any_version` (for `model convert` and `model info`) reads them, and
/// saving what it read gives a version 2 file with the same weights.
#[test]
fn version_1_files_are_refused_but_can_be_upgraded() {
    let (bytes, device) = good_file();
    let reader = Reader::from_bytes(Bytes::from_bytes_vec(bytes.clone())).unwrap();
    let mut meta: Value = serde_json::from_str(&reader.metadata()["scatterbrain"]).unwrap();
    meta["format_version"] = json!(1);
    let v1 = Writer::new(reader.into_tensors().unwrap())
        .with_metadata("scatterbrain", &meta.to_string())
        .into_bytes()
        .unwrap()
        .to_vec();
    let err = load_err(&v1, &device);
    assert_eq!(err, ModelFileError::LegacyVersion);
    assert!(err.to_string().contains("model convert"), "{err}");
    assert_eq!(
        model::read_metadata(&v1).unwrap_err(),
        ModelFileError::LegacyVersion
    );
    let (tagger, old) = model::load_any_version(&v1, &device).unwrap();
    assert_eq!(old.format_version, 1);
    assert_eq!(model::read_metadata_any_version(&v1).unwrap(), old);
    let upgraded = model::save(&tagger, &old, old.precision).unwrap();
    let (_, new) = model::load(&upgraded, &device).unwrap();
    assert_eq!(new.format_version, model::FORMAT_VERSION);
    assert_eq!(new.checksums, old.checksums, "weights unchanged");
    assert_eq!(upgraded, bytes);
    // A version 2 file stripped of its checksum is not taken for version 1.
    let mut meta: Value = serde_json::from_str(
        &Reader::from_bytes(Bytes::from_bytes_vec(bytes.clone()))
            .unwrap()
            .metadata()["scatterbrain"],
    )
    .unwrap();
    meta["format_version"] = json!(2);
    let stripped = Writer::new(
        Reader::from_bytes(Bytes::from_bytes_vec(bytes.clone()))
            .unwrap()
            .into_tensors()
            .unwrap(),
    )
    .with_metadata("scatterbrain", &meta.to_string())
    .into_bytes()
    .unwrap();
    let err = load_err(&stripped, &device);
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(model::load_any_version(&stripped, &device).is_err());
}
