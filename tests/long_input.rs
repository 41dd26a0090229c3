//! An hour of 44.1 kHz stereo streamed through the pipeline (as the decoder
//! feeds it) stays within a bounded memory: peak resident memory of this test
//! process must stay under 300 MB. Alone in its own test binary so no other
//! test's allocations count.

use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::pipeline::{Form, Pipeline};

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb / 1024.0
}

#[test]
fn one_hour_of_audio_in_bounded_memory() {
    let (rate, channels) = (44_100u32, 2u32);
    let mut features = Features::new(FeatureConfig::default());
    let mut pipeline = Pipeline::new(&features, Form::Model, rate, channels).unwrap();
    // 1152-sample packets, like MP3 frames.
    let packet: Vec<f32> = (0..1152 * channels as usize)
        .map(|i| ((i * 37 % 101) as f32 / 101.0 - 0.5) * 0.3)
        .collect();
    let packets = (3600 * rate as usize).div_ceil(1152);
    let mut windows = 0usize;
    let mut frames = 0usize;
    for _ in 0..packets {
        pipeline
            .push(&mut features, None, &packet, |w| {
                windows += 1;
                frames += w.coefficients.frames;
            })
            .unwrap();
    }
    let samples = pipeline
        .finish(&mut features, None, |w| {
            windows += 1;
            frames += w.coefficients.frames;
        })
        .unwrap();
    assert!((samples as f64 / 16_000.0 - 3600.0).abs() < 0.1);
    assert_eq!(
        windows, 125,
        "3600 s = 124 windows of 29 s + one end-aligned"
    );
    assert_eq!(frames, 125 * 114);
    let peak = peak_rss_mb();
    eprintln!("peak resident memory: {peak:.0} MB");
    assert!(peak < 300.0, "peak memory {peak:.0} MB");
}
