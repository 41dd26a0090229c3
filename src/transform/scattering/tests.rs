//! Properties of the scattering plan (its agreement with Kymatio is in
//! `tests/kymatio.rs`).

use super::*;
use crate::transform::fft::Real;

/// Small plans: J = 9, T = 512 (also the normaliser's tests').
pub(crate) fn config() -> ScatteringConfig {
    ScatteringConfig {
        j: 9,
        t: 512,
        ..ScatteringConfig::default()
    }
}

/// Deterministic noise in [-0.5, 0.5) (also the kernels', the normaliser's
/// and the pipeline's tests' input).
pub(crate) fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

#[test]
fn path_count_matches_kymatio_for_paper_parameters() {
    let cfg = ScatteringConfig::default();
    let s = Scattering::new(&cfg, 16000 * 29);
    let orders: Vec<usize> = (0..3)
        .map(|o| s.paths().iter().filter(|p| p.order == o).count())
        .collect();
    assert_eq!(orders, vec![1, 94, 549]);
    assert_eq!(s.n_frames(), 114);
}

/// Small plans of other shapes: orders 0–2, order 1 only, other Q.
fn small_configs() -> [ScatteringConfig; 3] {
    [
        config(),
        ScatteringConfig {
            max_order: 1,
            ..config()
        },
        ScatteringConfig {
            q1: 4,
            q2: 2,
            ..config()
        },
    ]
}

#[test]
fn row_count_from_the_configuration_equals_the_plans() {
    use crate::transform::front_end::FrontEndConfig;
    for cfg in std::iter::once(ScatteringConfig::default()).chain(small_configs()) {
        let plan = Scattering::new(&cfg, 1 << 14);
        assert_eq!(cfg.row_count(), Some(plan.paths().len()), "{cfg:?}");
    }
}

#[test]
fn shifted_signal_gives_nearly_equal_averaged_coefficients() {
    let cfg = config();
    let n = 1 << 14;
    let x = noise(n + 64, 3);
    let mut s = Scattering::new(&cfg, n);
    let a = s.transform(&x[..n]);
    let b = s.transform(&x[32..n + 32]);
    // A shift of 32 samples, well below T = 512: order 1 barely moves.
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for r in 1..95 {
        for f in 2..a.frames - 2 {
            let (u, v) = (a.row(r)[f] as f64, b.row(r)[f] as f64);
            num += (u - v).powi(2);
            den += u * u;
        }
    }
    assert!(
        (num / den).sqrt() < 0.05,
        "relative change {}",
        (num / den).sqrt()
    );
}

#[test]
fn energy_scales_linearly_and_silence_is_zero() {
    let cfg = config();
    let n = 1 << 13;
    let x = noise(n, 7);
    let mut s = Scattering::new(&cfg, n);
    let a = s.transform(&x);
    let x2: Vec<f32> = x.iter().map(|v| v * 3.0).collect();
    let b = s.transform(&x2);
    for (u, v) in a.data.iter().zip(&b.data) {
        assert!((v - 3.0 * u).abs() <= 1e-4 * (1.0 + v.abs()), "{u} {v}");
    }
    let z = s.transform(&vec![0.0; n]);
    assert!(z.data.iter().all(|v| *v == 0.0));
    // Order-1 energy of white noise is spread over the bands.
    assert!(a.row(1).iter().all(|v| *v > 0.0));
}

/// The tool the rates in `kernels::Rates` are tuned with (issue 14): for each
/// candidate, the worst relative error per order against the float64
/// full-rate references (tests/fixtures/kymatio, `make_reference.py
/// --full-rate`) over coefficients of at least 1e-3 of their order's peak, and
/// the plan's FFT volume (sum of n log2 n over its FFTs, per clip). Run with
/// `cargo test --profile ci --lib rates_sweep -- --ignored --nocapture`.
#[path = "../../../tests/common/reference.rs"]
mod reference;

#[test]
#[ignore]
fn rates_sweep() {
    let candidates = [
        Rates::DEFAULT,
        Rates {
            u1: 3.0,
            ..Rates::DEFAULT
        },
        Rates {
            u2: 2.0,
            ..Rates::DEFAULT
        },
        Rates {
            u1: 8.0,
            u2: 4.0,
            ..Rates::DEFAULT
        },
        Rates {
            u1: 8.0,
            u2: 8.0,
            floor1: 4000.0,
            floor2: 1000.0,
        },
    ];
    // SWEEP_DEBUG=1: where the current rates err most, nothing else.
    let debug = std::env::var("SWEEP_DEBUG").is_ok();
    sweep::<f32>(&candidates, |r| !debug || *r == Rates::DEFAULT, debug);
}

/// The same for [`Precision::Reference`]'s rates, in f64:
/// `cargo test --profile ci --lib rates_sweep_reference -- --ignored --nocapture`.
#[test]
#[ignore]
fn rates_sweep_reference() {
    let candidates = [
        Rates::REFERENCE,
        Rates {
            u1: 8.0,
            u2: 4.0,
            floor1: 4000.0,
            floor2: 500.0,
        },
        Rates {
            u1: 6.0,
            u2: 4.0,
            floor1: 3000.0,
            floor2: 500.0,
        },
        Rates {
            u1: 8.0,
            u2: 3.0,
            floor1: 4000.0,
            floor2: 300.0,
        },
        Rates {
            u1: 4.0,
            u2: 4.0,
            floor1: 2000.0,
            floor2: 500.0,
        },
        Rates {
            u1: 8.0,
            u2: 8.0,
            floor1: 4000.0,
            floor2: 1000.0,
        },
    ];
    sweep::<f64>(&candidates, |_| true, false);
}

fn sweep<T: Real>(candidates: &[Rates], run: impl Fn(&Rates) -> bool, debug: bool) {
    let dir = crate::test_support::manifest_dir().join("tests/fixtures/kymatio");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("fullrate.json")).unwrap()).unwrap();
    for &rates in candidates.iter().filter(|r| run(r)) {
        let mut line = format!("{rates:?}:");
        let mut volume = 0.0;
        for (name, m) in meta["signals"].as_object().unwrap() {
            let x = reference::signal(&dir, name);
            let (_, full) = reference::read_npy::<f32>(&dir, &format!("{name}.fullrate.npy"));
            let (padded_len, pad_left, first_frame, n_frames) = reference::padding(m);
            let pad = PaddingSpec {
                padded_len,
                pad_left,
                first_frame,
                n_frames,
            };
            let mut s =
                Scattering::<T>::with_rates(&ScatteringConfig::default(), x.len(), pad, rates);
            if name == "music" {
                let nlog = |n: usize| n as f64 * (n as f64).log2();
                volume = s
                    .first
                    .iter()
                    .map(|f| nlog(f.len) + f.second.iter().map(|s| nlog(s.len)).sum::<f64>())
                    .sum::<f64>();
            }
            let ours = s.transform(&x);
            let orders: Vec<u8> = s.paths().iter().map(|p| p.order).collect();
            let worst = reference::worst_per_order(
                name,
                &orders,
                ours.frames,
                |r, f| ours.row(r)[f],
                |r, f| full[r * ours.frames + f] as f64,
                1e-3,
                debug,
            );
            line += &format!(" {name} {:.1e}/{:.1e};", worst[1], worst[2]);
        }
        eprintln!("{line} volume {:.0} M", volume / 1e6);
    }
}

/// Files written before `precision` existed read as [`Precision::Fast`], and
/// the fast precision is left out of the JSON (model files keep their bytes).
#[test]
fn precision_is_fast_unless_said_and_written_only_when_reference() {
    let fast = ScatteringConfig::default();
    let json = serde_json::to_value(&fast).unwrap();
    assert!(json.get("precision").is_none(), "{json}");
    let back: ScatteringConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back.precision, Precision::Fast);
    let reference = ScatteringConfig {
        precision: Precision::Reference,
        ..fast
    };
    let json = serde_json::to_value(&reference).unwrap();
    assert_eq!(json["precision"], "reference");
    assert_eq!(
        serde_json::from_value::<ScatteringConfig>(json).unwrap(),
        reference
    );
}

/// The reference precision on other settings and odd lengths (the front end
/// any configuration can ask for): the same rows and frames as the default,
/// finite, and within 1e-3 of the largest value of the default's (measured:
/// 1e-7–5e-5), silence included.
#[test]
fn reference_precision_plans_any_setting_and_agrees_with_the_default() {
    use crate::transform::front_end::FrontEndPlan;
    for base in small_configs() {
        for n in [1000, 4097, 12_345] {
            let mut plans = [Precision::Fast, Precision::Reference].map(|precision| {
                let cfg = ScatteringConfig {
                    precision,
                    ..base.clone()
                };
                ScatteringFrontEnd::new(&cfg, n, NormaliserConfig::default())
            });
            for x in [noise(n, 9), vec![0.0; n]] {
                let [fast, reference] = plans.each_mut().map(|p| p.raw(&x));
                assert_eq!((fast.rows, fast.frames), (reference.rows, reference.frames));
                let peak = reference.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for (a, b) in fast.data.iter().zip(&reference.data) {
                    assert!(b.is_finite(), "{base:?} {n}");
                    // The default's own bound against the definition.
                    assert!((a - b).abs() <= 1e-3 * peak, "{base:?} {n}: {a} vs {b}");
                }
            }
        }
    }
}
