//! The comparison front ends against references (fixtures from
//! tests/fixtures/frontends/make_reference.py): log-mel powers against
//! librosa 0.11, CQT magnitudes against a float64 numpy version of the
//! definition in src/transform/cqt.rs, and the CQT's peak bin on sines
//! against librosa.cqt.

#[path = "common/manifest.rs"]
mod manifest;
#[path = "common/reference.rs"]
#[allow(dead_code)] // the Kymatio comparisons' helpers beside read_npy
mod reference;
use scatterbrain::transform::cqt::Cqt;
use scatterbrain::transform::mel::Mel;
use scatterbrain::transform::{Coefficients, CqtConfig, MelConfig};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    manifest::dir().join("tests/fixtures/frontends")
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

fn read_npy<T: npyz::Deserialize + Copy>(name: &str) -> (Vec<u64>, Vec<T>) {
    reference::read_npy(&fixtures(), name)
}

fn meta() -> Value {
    serde_json::from_slice(&std::fs::read(fixture("meta.json")).unwrap()).unwrap()
}

fn input(name: &str) -> Vec<f32> {
    let (_, pcm) = read_npy::<i16>(&format!("{name}.input.npy"));
    pcm.iter().map(|&v| v as f32 / 32768.0).collect()
}

/// Worst relative error over the values carrying energy (at least `floor`
/// times the largest reference value of this signal), and how many there were.
fn worst_relative(name: &str, ours: &Coefficients, reference: &str, floor: f64) -> (f64, usize) {
    let (shape, r) = read_npy::<f32>(reference);
    assert_eq!([ours.rows as u64, ours.frames as u64], [shape[0], shape[1]]);
    let peak = r.iter().fold(0.0f64, |m, &v| m.max(v as f64));
    assert!(peak > 0.0, "{reference}: empty reference");
    let (mut worst, mut counted) = (0.0f64, 0);
    for (i, (&a, &b)) in ours.data.iter().zip(&r).enumerate() {
        let b = b as f64;
        if b >= floor * peak {
            let err = (a as f64 - b).abs() / b;
            // NaN would slip through f64::max.
            let err = if err.is_finite() { err } else { f64::INFINITY };
            if err > worst && std::env::var("FRONTENDS_DEBUG").is_ok() {
                let (row, f) = (i / ours.frames, i % ours.frames);
                eprintln!("{name} row {row} frame {f}: ours {a} ref {b} err {err}");
            }
            worst = worst.max(err);
            counted += 1;
        }
    }
    (worst, counted)
}

fn signals() -> Vec<String> {
    let names: Vec<String> = meta()["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 3);
    names
}

/// Mel powers within 5e-4 relative of librosa wherever the power is within
/// 60 dB of the signal's peak (float32 FFT rounding is the limit below that).
#[test]
fn mel_power_matches_librosa() {
    let m = meta();
    let cfg = MelConfig::default();
    assert_eq!(m["mel"]["n_fft"], cfg.n_fft);
    assert_eq!(m["mel"]["hop_length"], cfg.hop);
    assert_eq!(m["mel"]["n_mels"], cfg.n_mels);
    for name in signals() {
        let x = input(&name);
        let mut mel = Mel::new(&cfg, x.len()).unwrap();
        let ours = mel.power(&x);
        let (worst, counted) = worst_relative(&name, &ours, &format!("{name}.mel.npy"), 1e-6);
        eprintln!("mel {name}: worst relative error {worst:.2e} over {counted} values");
        assert!(counted >= 2 * ours.frames, "{name}: only {counted} values");
        assert!(worst < 5e-4, "mel {name}: relative error {worst:.2e}");
    }
}

/// CQT magnitudes within 5e-4 relative of the float64 definition wherever
/// the magnitude is within 60 dB of the signal's peak.
#[test]
fn cqt_matches_its_definition() {
    let m = meta();
    let cfg = CqtConfig::default();
    assert_eq!(m["cqt"]["hop"], cfg.hop);
    assert_eq!(m["cqt"]["n_bins"], cfg.n_bins);
    assert!((m["cqt"]["fmin"].as_f64().unwrap() - cfg.f_min as f64).abs() < 1e-4);
    for name in signals() {
        let x = input(&name);
        let mut cqt = Cqt::new(&cfg, x.len()).unwrap();
        let ours = cqt.magnitude(&x);
        let (worst, counted) = worst_relative(&name, &ours, &format!("{name}.cqt.npy"), 1e-3);
        eprintln!("cqt {name}: worst relative error {worst:.2e} over {counted} values");
        assert!(counted >= 2 * ours.frames, "{name}: only {counted} values");
        assert!(worst < 5e-4, "cqt {name}: relative error {worst:.2e}");
    }
}

/// On sines at and between bin centres, our CQT peaks in librosa's bin.
#[test]
fn cqt_peaks_where_librosa_does() {
    let m = meta();
    let len = 2 * 16000 + 123;
    let mut cqt = Cqt::new(&CqtConfig::default(), len).unwrap();
    let sines = m["sines"].as_array().unwrap();
    assert!(sines.len() >= 20);
    for s in sines {
        let freq = s["freq_hz"].as_f64().unwrap();
        let amp = s["amplitude"].as_f64().unwrap();
        let expected = s["librosa_peak_bin"].as_u64().unwrap() as usize;
        let x: Vec<f32> = (0..len)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / 16000.0).sin()) as f32)
            .collect();
        let c = cqt.magnitude(&x);
        for t in c.frames / 2 - 20..c.frames / 2 + 20 {
            let peak = (0..c.rows)
                .max_by(|&a, &b| c.row(a)[t].total_cmp(&c.row(b)[t]))
                .unwrap();
            assert_eq!(peak, expected, "{freq} Hz, frame {t}");
        }
    }
}
