//! Our scattering transform against Kymatio 0.3, an independent implementation,
//! on the paper's parameters, and against the definition computed in float64
//! at the full rate with Kymatio's filters (fixtures from
//! tests/fixtures/kymatio/make_reference.py, `--full-rate` for the latter).

#[path = "common/manifest.rs"]
mod manifest;
#[path = "common/reference.rs"]
mod reference;
use scatterbrain::transform::scattering::plan_for;
use scatterbrain::transform::{
    Coefficients, PaddingSpec, Precision, ScatteringConfig, ScatteringPlan,
};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    manifest::dir().join("tests/fixtures/kymatio")
}

fn read_meta(file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir().join(file)).unwrap()).unwrap()
}

/// Our transform of signal `name` on the padding its fixture entry `m` states
/// (so frames line up with the reference's), and the reference
/// `<name>.<reference>.npy`, checked to have our shape. The plan computes in
/// the type `precision` does (through a trait object: this test does not
/// compile the transform again for itself).
fn ours_and_reference(
    m: &Value,
    name: &str,
    reference: &str,
    precision: Precision,
) -> (Box<dyn ScatteringPlan>, Coefficients, Vec<f32>) {
    let x = reference::signal(&dir(), name);
    let (shape, values) = reference::read_npy::<f32>(&dir(), &format!("{name}.{reference}.npy"));
    let (padded_len, pad_left, first_frame, n_frames) = reference::padding(m);
    let pad = PaddingSpec {
        padded_len,
        pad_left,
        first_frame,
        n_frames,
    };
    let config = ScatteringConfig {
        precision,
        ..ScatteringConfig::default()
    };
    let mut s = plan_for(&config, x.len(), Some(pad));
    let ours = s.transform(&x);
    assert_eq!([ours.rows as u64, ours.frames as u64], [shape[0], shape[1]]);
    (s, ours, values)
}

/// Worst relative error per order of `ours` against `reference(row, frame)`,
/// over the reference values of at least `floor` times their order's peak.
/// KYM_DEBUG=1 prints each new worst.
fn worst_per_order(
    name: &str,
    s: &dyn ScatteringPlan,
    ours: &Coefficients,
    reference: impl Fn(usize, usize) -> f64,
    floor: f64,
) -> [f64; 3] {
    let orders: Vec<u8> = s.paths().iter().map(|p| p.order).collect();
    reference::worst_per_order(
        name,
        &orders,
        ours.frames,
        |r, f| ours.row(r)[f],
        reference,
        floor,
        std::env::var("KYM_DEBUG").is_ok(),
    )
}

/// Worst relative error per order over the coefficients that carry energy
/// (at least 1e-4 of the largest coefficient of their order in this signal).
fn compare(name: &str) -> [f64; 3] {
    let meta = read_meta("meta.json");
    let m = &meta["signals"][name];
    let (s, ours, reference) = ours_and_reference(m, name, "kymatio", Precision::Fast);
    let paths = m["paths"].as_array().unwrap();
    assert_eq!(paths.len(), s.paths().len());

    // Same paths, in the same order, with the same centre frequencies.
    for (p, ref_p) in s.paths().iter().zip(paths) {
        assert_eq!(p.order as u64, ref_p["order"].as_u64().unwrap());
        let xis: Vec<f64> = ref_p["xi"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let ours: Vec<f64> = p
            .psi1
            .iter()
            .chain(p.psi2.iter())
            .map(|(_, w)| w.xi)
            .collect();
        for (a, b) in ours.iter().zip(&xis) {
            assert!((a - b).abs() < 1e-12, "xi {a} vs {b}");
        }
    }

    let frames = ours.frames;
    let scaled = |r: usize, f: usize| {
        let e = paths[r]["expo"].as_u64().unwrap() as i32;
        reference[r * frames + f] as f64 * 2f64.powi(e)
    };
    let worst = worst_per_order(name, s.as_ref(), &ours, scaled, 1e-4);
    eprintln!("{name}: worst relative error per order {worst:?}");
    worst
}

fn check(name: &str) {
    let worst = compare(name);
    for (o, w) in worst.iter().enumerate() {
        assert!(
            *w < 1e-3,
            "{name}: order {o} relative error {w} exceeds 1e-3"
        );
    }
}

#[test]
fn music_matches_kymatio() {
    check("music");
}

#[test]
fn chirp_matches_kymatio() {
    check("chirp");
}

#[test]
fn impulse_train_matches_kymatio() {
    check("impulses");
}

#[test]
fn noise_matches_kymatio() {
    check("noise");
}

/// Worst relative error per order against the float64 full-rate reference,
/// over the coefficients of at least 1e-3 of their order's peak (issue 14's
/// measure), and Kymatio's own error on the same signal where it exists.
fn full_rate_errors(name: &str, precision: Precision) -> ([f64; 3], Option<Vec<f64>>) {
    let meta = read_meta("fullrate.json");
    let m = &meta["signals"][name];
    let (s, ours, reference) = ours_and_reference(m, name, "fullrate", precision);
    let frames = ours.frames;
    let worst = worst_per_order(
        name,
        s.as_ref(),
        &ours,
        |r, f| reference[r * frames + f] as f64,
        1e-3,
    );
    let kymatio = m["kymatio_worst"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_f64().unwrap()).collect());
    eprintln!(
        "{name}: worst relative error per order against the full-rate reference: ours ({precision:?}) {worst:?}, Kymatio {kymatio:?}"
    );
    (worst, kymatio)
}

/// Every full-rate fixture at `precision`: orders 1 and 2
/// within `bound` relative. Order 0 is x * phi, the local mean: ~0 for
/// zero-mean audio (a pure tone's is 1e-4 of its amplitude), where rounding,
/// relative to the input's size, is all there is; it is reported, not checked.
fn assert_full_rate(precision: Precision, bound: f64) {
    let meta = read_meta("fullrate.json");
    let names: Vec<String> = meta["signals"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(names.len() >= 9, "fixtures: {names:?}");
    for name in names {
        let (worst, _) = full_rate_errors(&name, precision);
        for (o, w) in worst.iter().enumerate().skip(1) {
            assert!(
                *w < bound,
                "{name}: order {o} relative error {w} exceeds {bound:e}"
            );
        }
    }
}

/// Issue 14's measure at the default precision: every signal, every order
/// within 1e-3 relative of the float64 full-rate definition (the agreement
/// README states). Issue 14's 1e-4 is held by the reference precision (the
/// next test); README "Against the definition itself" has the per-signal
/// table, and why the default's float32 at reduced rates cannot reach it.
#[test]
fn every_signal_matches_the_full_rate_definition() {
    assert_full_rate(Precision::Fast, 1e-3);
}

/// Issue 14's goal, at [`Precision::Reference`] (float64 at higher internal
/// rates): every signal, orders 1 and 2, within 1e-4 of the full-rate
/// definition.
#[test]
fn reference_precision_is_within_1e_4_of_the_definition() {
    assert_full_rate(Precision::Reference, 1e-4);
}
