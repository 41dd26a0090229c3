//! The analysis session (src/session.rs), the road from PCM to tags that the
//! CLI and the page share: shards gathered back in stream order give exactly
//! the unsharded session's tags (the page's workers rely on it), scores of
//! kept input equal scores made on the fly, and PCM pushed in any slicing
//! gives the same result.
#![cfg(feature = "model")]

use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::model::{self, Device, Model, ModelConfig, ModelMetadata, Precision, Tagger};
use scatterbrain::pipeline::{Shard, in_stream_order};
use scatterbrain::session::{FileTags, Progress, Session, SessionOptions};
use scatterbrain::tagging::{Tagging, score_windows};

/// A small random model over the default front end.
fn tagging() -> Tagging {
    let fc = FeatureConfig::default();
    let mut features = Features::new(fc.clone());
    let input = features.rows(features.window_len()).len();
    let device = Device::flex();
    device.seed(11);
    let config = ModelConfig::from_name("scat-2l-8h-gru", input).unwrap();
    let tagger = Tagger::new(&config, &device).unwrap();
    let mut meta = ModelMetadata::new(&config);
    meta.front_end = serde_json::to_value(&fc).unwrap();
    let bytes = model::save(&tagger, &meta, Precision::F32).unwrap();
    Tagging::new(Model::from_bytes(&bytes, &device).unwrap()).unwrap()
}

/// 70 s of stereo at 22.05 kHz: three windows, the last one end-aligned.
fn song() -> (Vec<f32>, u32, u32) {
    let (rate, channels) = (22_050u32, 2u32);
    let n = 70 * rate as usize;
    let mut pcm = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f64 / rate as f64;
        let f = 220.0 * (1.0 + (t / 20.0).floor());
        let v = (0.3 * (2.0 * std::f64::consts::PI * f * t).sin() * (1.0 + (1.3 * t).sin())) as f32;
        pcm.extend_from_slice(&[v, 0.5 * v]);
    }
    (pcm, rate, channels)
}

fn run(
    t: &mut Tagging,
    pcm: &[f32],
    rate: u32,
    ch: u32,
    options: SessionOptions,
    slice: usize,
) -> scatterbrain::session::Analysis {
    let mut s = Session::new(t, rate, ch, options).unwrap();
    let mut events = Vec::new();
    for chunk in pcm.chunks(slice * ch as usize) {
        s.push(t, chunk, &mut |p| events.push(p)).unwrap();
    }
    let a = s.finish(t, &mut |p| events.push(p)).unwrap();
    // Progress counts windows up, one by one.
    let features: Vec<usize> = events
        .iter()
        .filter_map(|p| match p {
            Progress::Features(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(features, (1..=features.len()).collect::<Vec<_>>());
    a
}

#[test]
fn shards_gathered_in_stream_order_equal_one_session() {
    let mut t = tagging();
    let (pcm, rate, ch) = song();
    let whole = run(&mut t, &pcm, rate, ch, SessionOptions::default(), 4096);
    let tags: FileTags = whole.tags();
    assert_eq!(tags.windows.len(), 3);
    assert_eq!(tags.scores.len(), 50);
    assert!((tags.duration_s - 70.0).abs() < 1e-3);

    // Two workers, each its share of the windows, model input kept.
    let mut kept = Vec::new();
    let mut last = None;
    for part in 0..2 {
        let options = SessionOptions {
            score: false,
            keep_input: true,
            keep_raw: true,
            shard: Shard::new(part, 2).unwrap(),
            ..SessionOptions::default()
        };
        let a = run(&mut t, &pcm, rate, ch, options, 10_000);
        assert!(a.scores.is_empty());
        assert!(
            a.windows
                .iter()
                .all(|w| w.index % 2 == part && w.raw.is_some())
        );
        kept.extend(a.windows.iter().cloned().map(|w| (w.index, w)));
        last = Some(a);
    }
    assert_eq!(kept.len(), 3);
    // Out of order on purpose: the core restores the order.
    kept.reverse();
    let ordered = in_stream_order(kept).unwrap();
    let scores = score_windows(t.model(), &ordered).unwrap();
    let gathered = last.unwrap().tags_of(scores);
    assert_eq!(gathered, tags, "sharded tags differ from one session's");
}

#[test]
fn pcm_slicing_does_not_change_the_tags() {
    let mut t = tagging();
    let (pcm, rate, ch) = song();
    let a = run(&mut t, &pcm, rate, ch, SessionOptions::default(), 1152).tags();
    let b = run(&mut t, &pcm, rate, ch, SessionOptions::default(), 300_000).tags();
    assert_eq!(a, b);
    assert!(!a.taggram.is_empty());
}

/// The clip's scores weigh each window by the audio it adds: one sample past
/// two whole windows adds an end-aligned third window that overlaps the
/// second almost entirely, and the clip's scores barely move (unweighted, the
/// second half counted twice: on a trained model up to 0.13 apart).
#[test]
fn one_more_sample_does_not_count_a_window_twice() {
    let mut t = tagging();
    let rate = 16_000u32;
    let half = 29 * rate as usize;
    // Two different halves: a low tone, then noise.
    let mut pcm: Vec<f32> = (0..2 * half + 1)
        .map(|i| {
            if i < half {
                (0.3 * (2.0 * std::f64::consts::PI * 110.0 * i as f64 / 16e3).sin()) as f32
            } else {
                (((i as u64).wrapping_mul(2_654_435_761) % 10_007) as f32 / 10_007.0 - 0.5) * 0.6
            }
        })
        .collect();
    let plus_one = run(&mut t, &pcm, rate, 1, SessionOptions::default(), 1 << 16).tags();
    pcm.pop();
    let exact = run(&mut t, &pcm, rate, 1, SessionOptions::default(), 1 << 16).tags();
    assert_eq!((exact.windows.len(), plus_one.windows.len()), (2, 3));
    let apart = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    // The halves score differently, so counting one twice would show.
    let halves = apart(&exact.windows[0].scores, &exact.windows[1].scores);
    assert!(
        halves > 1e-2,
        "halves score alike ({halves}): the check could not fail"
    );
    let moved = apart(&exact.scores, &plus_one.scores);
    assert!(
        moved < 1e-4,
        "one more sample moved the clip's scores by {moved} (halves {halves} apart)"
    );
}

/// A short input is looped to fill its window (what the model was trained
/// on), but its raw coefficients (the pictures, `scatter --out`) are of the
/// audio alone: 10 s, a 110 Hz tone for 2 s then silence, showed the loop's
/// tone again in its last half second (−19 dB); now its last frames are
/// silent. The model's input is still the looped window's, and the pictures
/// of the page's one pass (`Form::Both`) are the same as `Form::Raw`'s.
#[test]
fn a_short_input_s_pictures_do_not_show_its_loop() {
    use scatterbrain::features::{FeatureConfig, Features};
    use scatterbrain::pipeline::{Form, Pipeline, WindowFeatures, stitch};
    let rate = 16_000u32;
    let pcm: Vec<f32> = (0..10 * rate as usize)
        .map(|i| {
            if i < 2 * rate as usize {
                0.5 * (2.0 * std::f32::consts::PI * 110.0 * i as f32 / rate as f32).sin()
            } else {
                0.0
            }
        })
        .collect();
    let mut features = Features::new(FeatureConfig::default());
    let run = |features: &mut Features, form| {
        let mut windows: Vec<WindowFeatures> = Vec::new();
        let mut p = Pipeline::new(features, form, rate, 1).unwrap();
        p.push(features, None, &pcm, |w| windows.push(w)).unwrap();
        p.finish(features, None, |w| windows.push(w)).unwrap();
        windows
    };
    let raw = run(&mut features, Form::Raw);
    let both = run(&mut features, Form::Both);
    let model = run(&mut features, Form::Model);
    let (c, times) = stitch(&raw, features.hop(), rate);
    let rows = features.rows(464_000);
    let band = (0..rows.len())
        .filter(|&r| rows[r].order == 1)
        .min_by(|&a, &b| {
            let d = |r: usize| (rows[r].freq1_hz.unwrap() / 110.0).ln().abs();
            d(a).total_cmp(&d(b))
        })
        .unwrap();
    let row = c.row(band);
    let peak = row.iter().fold(0.0f32, |m, v| m.max(*v));
    let tail = times
        .iter()
        .zip(row)
        .filter(|(t, _)| **t >= 9.5)
        .fold(0.0f32, |m, (_, v)| m.max(*v));
    assert!(
        tail < 1e-4 * peak,
        "the last half second of silence reads {} dB below the peak",
        20.0 * (tail / peak).log10()
    );
    assert_eq!(both[0].raw.as_ref().unwrap(), &raw[0].coefficients);
    assert_eq!(both[0].coefficients, model[0].coefficients);
}
