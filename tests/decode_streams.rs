//! The decoder states the stream's format before the first packet, follows
//! chained Ogg streams, and refuses a stream whose format changes midway
//! instead of cutting it silently there.

#[path = "common/manifest.rs"]
mod manifest;
use scatterbrain::decode::{AudioReader, StreamInfo};
use scatterbrain::error::AudioError;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    manifest::dir().join("tests/fixtures/audio").join(name)
}

/// Frames decoded, or the error that stopped the decoding.
fn decode_all(name: &str) -> (StreamInfo, Result<u64, AudioError>) {
    let mut r = AudioReader::open(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let info = r.info();
    let result = loop {
        match r.next_packet() {
            Ok(Some(_)) => {}
            Ok(None) => break Ok(r.frames()),
            Err(e) => break Err(e),
        }
    };
    (info, result)
}

#[test]
fn the_format_is_known_before_the_first_packet() {
    for (name, rate, channels) in [
        ("tone1k_44k_stereo.mp3", 44_100, 2),
        ("tone500_48k_mono.flac", 48_000, 1),
        ("tone2k_22k.ogg", 22_050, 1),
        ("tone300_8k_6ch.wav", 8_000, 6),
    ] {
        let r = AudioReader::open(&fixture(name)).unwrap();
        assert_eq!(
            r.info(),
            StreamInfo {
                sample_rate: rate,
                channels
            },
            "{name}"
        );
        assert_eq!(r.frames(), 0, "{name}: nothing delivered yet");
    }
}

#[test]
fn a_chained_ogg_of_one_format_is_read_to_the_end() {
    let (info, frames) = decode_all("chained_same.ogg");
    assert_eq!(
        info,
        StreamInfo {
            sample_rate: 22_050,
            channels: 1
        }
    );
    let seconds = frames.unwrap() as f64 / 22_050.0;
    assert!((seconds - 3.0).abs() < 0.05, "{seconds} s of 2 × 1.5 s");
}

#[test]
fn a_format_change_midway_is_an_error_that_says_where() {
    for (name, at) in [("rate_change.mp3", 1.5), ("chained_rate_change.ogg", 1.5)] {
        let (_, result) = decode_all(name);
        let e = result.expect_err(name).to_string();
        assert!(e.contains("changes format midway"), "{name}: {e}");
        // "at 1.52 s": the change is placed within the first part's length.
        let s: f64 = e
            .split(", at ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((s - at).abs() < 0.1, "{name}: {e}");
    }
}

#[test]
fn directories_are_named() {
    let e = AudioReader::open(&fixture("")).err().unwrap().to_string();
    assert!(e.contains("is a directory"), "{e}");
}
