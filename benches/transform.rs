//! Front-end speed: one 29 s clip, and the windows of a 4-minute song; and
//! the log-mel and CQT comparison front ends on the same clip; the
//! scattering also at its reference precision.
//! `benches/compare_kymatio.sh` runs this beside Kymatio numpy and writes the
//! ratio to benches/RESULTS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use scatterbrain::transform::cqt::Cqt;
use scatterbrain::transform::mel::Mel;
use scatterbrain::transform::{CqtConfig, MelConfig, Precision, Scattering, ScatteringConfig};
use std::hint::black_box;

fn signal(n: usize) -> Vec<f32> {
    // A deterministic mix of tones and noise: FFT cost does not depend on content.
    let mut s = 1u64;
    (0..n)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            let t = i as f32 / 16000.0;
            0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                + 0.1 * ((s >> 40) as f32 / 16_777_216.0 - 0.5)
        })
        .collect()
}

fn scattering(c: &mut Criterion) {
    let cfg = ScatteringConfig::default();
    let n = 29 * 16000;
    let x = signal(n);
    let mut plan = Scattering::new(&cfg, n);
    let mut g = c.benchmark_group("scattering");
    g.sample_size(20);
    g.bench_function("clip_29s", |b| {
        b.iter(|| black_box(plan.transform(black_box(&x))))
    });
    // A 4-minute song is 9 windows of 29 s, the last one ending at the end of
    // the audio (src/windows.rs); one plan serves them all.
    let song = signal(240 * 16000);
    let starts: Vec<usize> = (0..9).map(|w| (w * n).min(song.len() - n)).collect();
    g.sample_size(10);
    g.bench_function("song_4min", |b| {
        b.iter(|| {
            for &s in &starts {
                black_box(plan.transform(black_box(&song[s..s + n])));
            }
        })
    });
    g.bench_function("plan_29s", |b| {
        b.iter(|| black_box(Scattering::new(&cfg, n)))
    });
    // Audio from a file below 16 kHz: the same plan in float64
    // (FrontEndPlan::limit_band).
    let mut wide = Scattering::<f64>::plan(&cfg, n);
    g.bench_function("clip_29s_f64", |b| {
        b.iter(|| black_box(wide.transform(black_box(&x))))
    });
    // The reference precision (float64, higher internal rates): what
    // agreement with the definition costs.
    let reference = ScatteringConfig {
        precision: Precision::Reference,
        ..cfg
    };
    let mut precise = Scattering::<f64>::plan(&reference, n);
    g.bench_function("clip_29s_reference", |b| {
        b.iter(|| black_box(precise.transform(black_box(&x))))
    });
    g.bench_function("plan_29s_reference", |b| {
        b.iter(|| black_box(Scattering::<f64>::plan(&reference, n)))
    });
    g.finish();
}

/// Log-mel and CQT (log included, as the model reads them) on one 29 s clip.
fn mel_cqt(c: &mut Criterion) {
    let n = 29 * 16000;
    let x = signal(n);
    let mut mel = Mel::new(&MelConfig::default(), n).expect("default config");
    let mut cqt = Cqt::new(&CqtConfig::default(), n).expect("default config");
    let mut g = c.benchmark_group("mel_cqt");
    g.sample_size(20);
    g.bench_function("mel_clip_29s", |b| {
        b.iter(|| black_box(mel.transform(black_box(&x))))
    });
    g.bench_function("cqt_clip_29s", |b| {
        b.iter(|| black_box(cqt.transform(black_box(&x))))
    });
    g.bench_function("cqt_plan_29s", |b| {
        b.iter(|| black_box(Cqt::new(&CqtConfig::default(), n).expect("default config")))
    });
    g.finish();
}

criterion_group!(benches, scattering, mel_cqt);
criterion_main!(benches);
