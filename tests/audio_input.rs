//! Real files in every supported format, odd rates and channel counts, and
//! bad input: each gives valid features or a typed error, never a panic.

#[path = "common/manifest.rs"]
mod manifest;
#[path = "common/wav.rs"]
mod wav;

use scatterbrain::decode::AudioReader;
use scatterbrain::error::AudioError;
use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::pipeline::{Form, Pipeline, WindowFeatures};
use std::path::{Path, PathBuf};
use wav::float_wav;

fn fixture(name: &str) -> PathBuf {
    manifest::dir().join("tests/fixtures/audio").join(name)
}

/// Decode and run the front end; returns the windows and the 16 kHz length.
fn analyse(path: &Path) -> Result<(Vec<WindowFeatures>, u64), AudioError> {
    let mut features = Features::new(FeatureConfig::default());
    let mut windows = Vec::new();
    let mut reader = AudioReader::open(path)?;
    let info = reader.info();
    let mut p = Pipeline::new(&features, Form::Raw, info.sample_rate, info.channels)?;
    while let Some(pcm) = reader.next_packet()? {
        p.push(&mut features, None, pcm, |w| windows.push(w))?;
    }
    let seen = p.finish(&mut features, None, |w| windows.push(w))?;
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

/// A file holding `bytes`, named after `name` (its extension kept), removed
/// when the value is dropped.
fn temp(name: &str, bytes: &[u8]) -> tempfile::TempPath {
    let mut f = tempfile::Builder::new()
        .prefix("sb-audio-")
        .suffix(&format!("-{name}"))
        .tempfile()
        .expect("a file in the temporary folder");
    std::io::Write::write_all(&mut f, bytes).unwrap();
    f.into_temp_path()
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
    let e = analyse(&header_only).unwrap_err();
    assert!(
        matches!(e, AudioError::Empty | AudioError::Decode(_)),
        "a header without samples: {e:?}"
    );
}

#[test]
fn pcm_edge_cases_never_panic() {
    let run = |pcm: &[f32], rate: u32, ch: u32| -> Result<usize, AudioError> {
        let mut features = Features::new(FeatureConfig::default());
        let mut n = 0;
        let mut p = Pipeline::new(&features, Form::Model, rate, ch)?;
        p.push(&mut features, None, pcm, |w| {
            assert!(w.coefficients.data.iter().all(|v| v.is_finite()));
            n += 1
        })?;
        p.finish(&mut features, None, |w| {
            assert!(w.coefficients.data.iter().all(|v| v.is_finite()));
            n += 1
        })?;
        Ok(n)
    };
    assert_eq!(run(&[], 44_100, 2), Err(AudioError::Empty));
    // One sample resamples to none: too short, not empty.
    assert!(matches!(
        run(&[0.5], 44_100, 1),
        Err(AudioError::TooShort { .. })
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

/// Deterministic pseudo-random 32-bit words (a 64-bit LCG's high half).
fn random_words(n: usize, seed: u64) -> impl Iterator<Item = u32> {
    let mut s = seed;
    (0..n).map(move |_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 32) as u32
    })
}

/// Issue 14, item 1: channel sums that overflow f32 (every sample 3e38), and
/// float data that is random bytes (NaN, ±Inf and 1e38 in any mix), used to
/// reach the resampler as ±Inf and panic inside it. Now each file gives
/// finite features.
#[test]
fn float_wav_with_overflowing_or_random_samples_gives_finite_features() {
    let rate = 44_100;
    let huge = vec![3e38f32; 2 * rate as usize * 2];
    let random: Vec<f32> = random_words(3 * rate as usize * 2, 14)
        .map(f32::from_bits)
        .collect();
    for (name, channels, pcm) in [("huge.wav", 2, huge), ("random.wav", 3, random)] {
        let p = temp(name, &float_wav(rate, channels, &pcm));
        let (windows, seen) = analyse(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            (seen as f64 / 16_000.0 - 2.0).abs() < 0.01,
            "{name}: {seen} samples"
        );
        assert_eq!(windows.len(), 1, "{name}");
        let c = &windows[0].coefficients;
        assert!(
            c.data.iter().all(|v| v.is_finite()),
            "{name}: non-finite coefficients"
        );
    }
}

/// Issue 14, item 3: an MP3 behind a large ID3v2 tag (a 2 MiB cover, as
/// bought music often has) used to exceed symphonia's probe depth ("no
/// suitable format reader found"). It decodes to the samples of the same
/// MP3 without the cover.
#[test]
fn mp3_behind_a_2_mib_id3v2_cover_decodes_like_without_it() {
    let mp3 = std::fs::read(fixture("tone1k_44k_stereo.mp3")).unwrap();
    let synchsafe = |n: usize| -> [u8; 4] {
        assert!(n < 1 << 28);
        [21, 14, 7, 0].map(|s| ((n >> s) & 0x7f) as u8)
    };
    // The fixture starts with a small ID3v2.4 tag of its own: keep it after
    // ours (two tags in a row are valid; readers skip each in turn).
    assert_eq!(&mp3[..4], b"ID3\x04");
    let mut apic = vec![0u8]; // text encoding: ISO-8859-1
    apic.extend_from_slice(b"image/png\0");
    apic.push(3); // picture type: front cover
    apic.push(0); // empty description
    apic.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    apic.extend(random_words((2 << 20) / 4, 3).flat_map(u32::to_le_bytes));
    let mut frame = b"APIC".to_vec();
    frame.extend_from_slice(&synchsafe(apic.len()));
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&apic);
    let mut tagged = b"ID3\x04\x00\x00".to_vec();
    tagged.extend_from_slice(&synchsafe(frame.len()));
    tagged.extend_from_slice(&frame);
    tagged.extend_from_slice(&mp3);
    assert!(tagged.len() > mp3.len() + (2 << 20));

    let decode = |p: &Path| {
        let mut reader = AudioReader::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let mut pcm = Vec::new();
        while let Some(x) = reader
            .next_packet()
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        {
            pcm.extend_from_slice(x);
        }
        (reader.info(), pcm)
    };
    let (info, plain) = decode(&fixture("tone1k_44k_stereo.mp3"));
    let (info_tagged, with_cover) = decode(&temp("cover.mp3", &tagged));
    assert_eq!(info, info_tagged);
    assert!(plain.len() > 100_000);
    assert!(plain == with_cover, "the samples differ");
}
