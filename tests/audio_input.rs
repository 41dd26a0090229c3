//! Real files in every supported format, odd rates and channel counts, and
//! bad input: each gives valid features or a typed error, never a panic.

use scatterbrain::decode::decode_file;
use scatterbrain::error::AudioError;
use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::pipeline::{Form, Pipeline, WindowFeatures};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audio")
        .join(name)
}

/// Decode and run the front end; returns the windows and the 16 kHz length.
fn analyse(path: &Path) -> Result<(Vec<WindowFeatures>, u64), AudioError> {
    let mut features = Features::new(FeatureConfig::default());
    let mut windows = Vec::new();
    let mut pipeline: Option<Pipeline> = None;
    let mut fref = Some(&mut features);
    decode_file(path, |info, pcm| {
        if pipeline.is_none() {
            pipeline = Some(Pipeline::new(
                fref.take().unwrap(),
                None,
                Form::Raw,
                info.sample_rate,
                info.channels,
            )?);
        }
        let p = pipeline.as_mut().unwrap();
        p.push(pcm, |w| windows.push(w))
    })?;
    let seen = pipeline.unwrap().finish(|w| windows.push(w))?;
    Ok((windows, seen))
}

/// Centre frequency (Hz) of the strongest first-order band, averaged over frames.
fn peak_band_hz(w: &WindowFeatures) -> f64 {
    let mut features = Features::new(FeatureConfig::default());
    let rows = features.rows(features.window_len());
    let c = &w.coefficients;
    let (r, _) = (0..c.rows)
        .filter(|&r| rows[r].order == 1)
        .map(|r| (r, c.row(r).iter().map(|&v| v as f64).sum::<f64>()))
        .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    rows[r].freq1_hz.unwrap()
}

#[test]
fn every_format_decodes_to_the_right_length_and_pitch() {
    for (name, secs, hz) in [
        ("tone1k_44k_stereo.mp3", 3.0, 1000.0),
        ("tone500_48k_mono.flac", 2.0, 500.0),
        ("tone2k_22k.ogg", 2.0, 2000.0),
        ("tone300_8k_6ch.wav", 2.0, 300.0),
    ] {
        let (windows, seen) = analyse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        // MP3 adds encoder delay and padding: allow 0.06 s.
        assert!(
            (seen as f64 / 16_000.0 - secs).abs() < 0.06,
            "{name}: {} s",
            seen as f64 / 16_000.0
        );
        assert_eq!(windows.len(), 1, "{name}: short input is one looped window");
        let peak = peak_band_hz(&windows[0]);
        assert!(
            (peak / hz).log2().abs() < 0.1,
            "{name}: strongest band {peak:.0} Hz, tone {hz} Hz"
        );
        assert!(windows[0].coefficients.data.iter().all(|v| v.is_finite()));
    }
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("sb-audio-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn truncated_file_keeps_what_was_decoded() {
    let bytes = std::fs::read(fixture("tone1k_44k_stereo.mp3")).unwrap();
    let p = temp("cut.mp3", &bytes[..bytes.len() * 2 / 3]);
    let (windows, seen) = analyse(&p).unwrap();
    assert!(
        (seen as f64 / 16_000.0 - 2.0).abs() < 0.2,
        "{} s",
        seen as f64 / 16_000.0
    );
    assert_eq!(windows.len(), 1);
    let flac = std::fs::read(fixture("tone500_48k_mono.flac")).unwrap();
    // A quarter of this FLAC is header and padding: 90 % of the bytes is ~1.7 s of audio.
    let p = temp("cut.flac", &flac[..flac.len() * 9 / 10]);
    let (_, seen) = analyse(&p).unwrap();
    assert!(seen as f64 / 16_000.0 > 1.4, "{} s", seen as f64 / 16_000.0);
}

#[test]
fn bad_files_are_typed_errors() {
    let empty = temp("empty.mp3", b"");
    assert_eq!(analyse(&empty).unwrap_err(), AudioError::Empty);
    let text = temp(
        "notes.mp3",
        b"this is not audio at all, just some text\n"
            .repeat(100)
            .as_slice(),
    );
    assert!(
        matches!(analyse(&text).unwrap_err(), AudioError::Decode(_)),
        "text"
    );
    let missing = analyse(Path::new("/nonexistent/song.mp3")).unwrap_err();
    assert!(matches!(missing, AudioError::Io(_)));
    // A WAV header with no samples.
    let wav = std::fs::read(fixture("tone300_8k_6ch.wav")).unwrap();
    let header_only = temp("header.wav", &wav[..44]);
    assert!(analyse(&header_only).is_err());
}

#[test]
fn pcm_edge_cases_never_panic() {
    let run = |pcm: &[f32], rate: u32, ch: u32| -> Result<usize, AudioError> {
        let mut features = Features::new(FeatureConfig::default());
        let mut n = 0;
        let mut p = Pipeline::new(&mut features, None, Form::Model, rate, ch)?;
        p.push(pcm, |w| {
            assert!(w.coefficients.data.iter().all(|v| v.is_finite()));
            n += 1
        })?;
        p.finish(|w| {
            assert!(w.coefficients.data.iter().all(|v| v.is_finite()));
            n += 1
        })?;
        Ok(n)
    };
    assert_eq!(run(&[], 44_100, 2), Err(AudioError::Empty));
    assert!(matches!(
        run(&[0.5], 44_100, 1),
        Err(AudioError::Empty | AudioError::TooShort { .. })
    ));
    assert!(matches!(
        run(&[0.1; 4800], 16_000, 1),
        Err(AudioError::TooShort { .. })
    ));
    // Silence, NaN and Inf give finite features (normalised, with ε).
    assert_eq!(run(&vec![0.0; 32_000], 16_000, 1), Ok(1));
    let mut weird = vec![0.25f32; 2 * 48_000];
    weird[100] = f32::NAN;
    weird[2000] = f32::INFINITY;
    weird[3001] = f32::NEG_INFINITY;
    assert_eq!(run(&weird, 48_000, 2), Ok(1));
    assert!(matches!(
        run(&[0.0; 10], 0, 1),
        Err(AudioError::SampleRate(0))
    ));
    assert!(matches!(
        run(&[0.0; 10], 16_000, 0),
        Err(AudioError::Channels(0))
    ));
    assert!(matches!(
        run(&[0.0; 7], 16_000, 2),
        Err(AudioError::Interleave { .. })
    ));
}
