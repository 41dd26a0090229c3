//! The same PCM through the native build and the WASM build (run in Node)
//! gives the same coefficients. The WASM is the page's own, as shipped
//! (`www/package/pkg`, after wasm-opt; `www/build.sh` makes it, the test
//! command first); set SCATTERBRAIN_WASM_NODE_PKG to point elsewhere.

#[path = "common/manifest.rs"]
mod manifest;
use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::pipeline::{Form, Pipeline, stitch};
use std::path::PathBuf;
use std::process::Command;

fn pkg_dir() -> PathBuf {
    std::env::var_os("SCATTERBRAIN_WASM_NODE_PKG")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest::dir().join("www/package/pkg"))
}

/// Seconds of the live view's window in [`live_view_front_end_matches`].
const LIVE: f64 = 4.096;

fn native(
    pcm: &[f32],
    rate: u32,
    channels: u32,
    form: Form,
    config: FeatureConfig,
) -> (usize, usize, Vec<f32>) {
    let mut features = Features::new(config);
    let (sr, hop) = (features.sample_rate(), features.hop());
    let mut windows = Vec::new();
    let mut p = Pipeline::new(&features, form, rate, channels).unwrap();
    p.push(&mut features, None, pcm, |w| windows.push(w))
        .unwrap();
    p.finish(&mut features, None, |w| windows.push(w)).unwrap();
    let (c, _) = stitch(&windows, hop, sr);
    (c.rows, c.frames, c.data)
}

fn wasm(
    pcm: &[f32],
    rate: u32,
    channels: u32,
    normalised: bool,
    live: Option<f64>,
) -> (usize, usize, Vec<f32>) {
    let pkg = pkg_dir();
    assert!(
        pkg.join("scatterbrain.js").exists(),
        "the page's WASM package is missing at {}: run www/build.sh (the test command does)",
        pkg.display()
    );
    let dir = std::env::temp_dir().join(format!(
        "sb-native-wasm-{}-{rate}-{channels}-{}",
        std::process::id(),
        live.is_some()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (inp, out) = (dir.join("in.f32"), dir.join("out.f32"));
    std::fs::write(
        &inp,
        pcm.iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let script = manifest::dir().join("tests/wasm/scatter.mjs");
    let status = Command::new("node")
        .arg(script)
        .arg(&pkg)
        .arg(&inp)
        .arg(rate.to_string())
        .arg(channels.to_string())
        .arg(if normalised { "1" } else { "0" })
        .arg(&out)
        .args(live.map(|s| s.to_string()))
        .status()
        .expect("node must be installed");
    assert!(status.success(), "node failed");
    let bytes = std::fs::read(&out).unwrap();
    let rows = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    let frames = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let data = bytes[8..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    (rows, frames, data)
}

/// Largest difference relative to the largest magnitude in the same row.
fn worst_row_relative(rows: usize, frames: usize, a: &[f32], b: &[f32]) -> f64 {
    let mut worst = 0.0f64;
    for r in 0..rows {
        let (ra, rb) = (
            &a[r * frames..(r + 1) * frames],
            &b[r * frames..(r + 1) * frames],
        );
        let scale = ra.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
        if scale == 0.0 {
            assert!(rb.iter().all(|v| *v == 0.0));
            continue;
        }
        for (x, y) in ra.iter().zip(rb) {
            let e = (*x as f64 - *y as f64).abs() / scale;
            // NaN would slip through f64::max.
            let e = if e.is_finite() { e } else { f64::INFINITY };
            worst = worst.max(e);
        }
    }
    worst
}

fn signal(rate: u32, channels: u32, seconds: f64) -> Vec<f32> {
    let n = (rate as f64 * seconds) as usize;
    let mut seed = 11u64;
    (0..n)
        .flat_map(|i| {
            let t = i as f32 / rate as f32;
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((seed >> 40) as f32 / 16_777_216.0 - 0.5) * 0.05;
            let v = 0.4
                * (2.0 * std::f32::consts::PI * (300.0 + 40.0 * t) * t).sin()
                * (1.0 + (6.0 * t).sin())
                * 0.5
                + noise;
            (0..channels).map(move |c| v * (1.0 - 0.2 * c as f32))
        })
        .collect()
}

fn check(rate: u32, channels: u32, seconds: f64, normalised: bool) {
    check_with(rate, channels, seconds, normalised, None, 1e-3);
}

/// `live`: the page's live view's front end over windows of that many
/// seconds; `tolerance`: of the normalised features (log domain).
fn check_with(
    rate: u32,
    channels: u32,
    seconds: f64,
    normalised: bool,
    live: Option<f64>,
    tolerance: f64,
) {
    let pcm = signal(rate, channels, seconds);
    let form = if normalised { Form::Model } else { Form::Raw };
    let config = match live {
        Some(s) => FeatureConfig::live(s).unwrap(),
        None => FeatureConfig::default(),
    };
    let (r1, f1, a) = native(&pcm, rate, channels, form, config);
    let (r2, f2, b) = wasm(&pcm, rate, channels, normalised, live);
    assert_eq!((r1, f1), (r2, f2));
    if normalised {
        // Log domain: an absolute difference d is a relative difference d in
        // (ratio + ε). Ratios of coefficients near the f32 rounding floor of
        // the FFTs amplify rounding, hence a looser bound than for the raw
        // coefficients.
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (*x as f64 - *y as f64).abs())
            .fold(0.0f64, |m, d| {
                if d.is_finite() {
                    m.max(d)
                } else {
                    f64::INFINITY
                }
            });
        eprintln!(
            "{rate} Hz × {channels}, {seconds} s, normalised: worst absolute (log domain) {worst:e}"
        );
        assert!(
            worst < tolerance,
            "native and WASM normalised features differ by {worst:e}"
        );
    } else {
        let worst = worst_row_relative(r1, f1, &a, &b);
        eprintln!(
            "{rate} Hz × {channels}, {seconds} s, raw: worst {worst:e} relative to the row's peak"
        );
        // The f32 FFTs differ (AVX natively, SIMD128 in WASM), so rows far
        // below their peak pick up rounding: 1.05e-5 of the row's peak was
        // measured on the 44.1 kHz stereo case once ToMono summed channels
        // in f64 (slightly different input rounding), against < 1e-5 before.
        assert!(
            worst < 2e-5,
            "native and WASM differ by {worst:e} (relative to row peak)"
        );
    }
}

#[test]
fn raw_coefficients_match_at_16k_mono() {
    check(16_000, 1, 29.0, false);
}

#[test]
fn raw_coefficients_match_after_resampling_stereo_44k() {
    check(44_100, 2, 35.0, false);
}

/// Files below 16 kHz leave bands empty, where a float32 FFT holds only its
/// own rounding (different natively and in WASM) and the normaliser's ratios
/// magnify it: 0.49 apart (log domain) at 8 kHz before such audio was
/// transformed in f64 (`FrontEndPlan::limit_band`); ~1e-6 after.
#[test]
fn normalised_features_match_below_16k() {
    check_with(8_000, 1, 29.0, true, None, 1e-5);
    check_with(11_025, 2, 29.0, true, None, 1e-5);
}

#[test]
fn normalised_features_match() {
    check(22_050, 1, 10.0, true);
}

/// The live microphone view's front end, which the page takes from the WASM
/// (Analyzer.live) rather than copying: first order only, short windows.
#[test]
fn live_view_front_end_matches() {
    check_with(48_000, 1, 10.0, false, Some(LIVE), 1e-3);
}
