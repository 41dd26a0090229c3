//! Properties of the scattering plan (its agreement with Kymatio is in
//! `tests/kymatio.rs`).

use super::*;

fn config() -> ScatteringConfig {
    ScatteringConfig {
        j: 9,
        t: 512,
        ..ScatteringConfig::default()
    }
}

fn noise(n: usize, seed: u64) -> Vec<f32> {
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

#[test]
fn row_count_from_the_configuration_equals_the_plans() {
    use crate::transform::front_end::FrontEndConfig;
    for cfg in [
        ScatteringConfig::default(),
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
    ] {
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
