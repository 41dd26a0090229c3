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

/// Frames decoded from `bytes` (written to a temporary file), or the error.
fn decode_bytes(tag: &str, bytes: &[u8]) -> Result<u64, AudioError> {
    let path = std::env::temp_dir().join(format!("sb-decode-{}-{tag}.mp3", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let result = (|| {
        let mut r = AudioReader::open(&path)?;
        while r.next_packet()?.is_some() {}
        Ok(r.frames())
    })();
    std::fs::remove_file(&path).ok();
    result
}

/// Two MP3s of one format joined end to end (`cat a.mp3 b.mp3`): symphonia
/// trimmed every packet past the frame count of the first one's Xing/Info
/// header, so the second half was dropped without a word.
#[test]
fn joined_mp3s_are_read_to_the_end() {
    let one = std::fs::read(fixture("tone1k_44k_stereo.mp3")).unwrap();
    let single = decode_bytes("single", &one).unwrap();
    let joined = decode_bytes("joined", &[one.clone(), one].concat()).unwrap();
    let ratio = joined as f64 / single as f64;
    assert!(
        (ratio - 2.0).abs() < 0.02,
        "{joined} frames joined against {single} alone"
    );
}

/// Start of each MPEG-1 Layer III frame (by its header's length).
fn mp3_frames(b: &[u8]) -> Vec<usize> {
    const KBPS: [usize; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const RATES: [usize; 3] = [44_100, 48_000, 32_000];
    // After an ID3v2 tag, if any.
    let mut at = if b.starts_with(b"ID3") {
        10 + b[6..10]
            .iter()
            .fold(0, |n, &x| (n << 7) | usize::from(x & 0x7f))
    } else {
        0
    };
    let mut starts = Vec::new();
    while at + 4 <= b.len() && b[at] == 0xff && b[at + 1] & 0xfe == 0xfa {
        let (kbps, rate) = (
            KBPS[usize::from(b[at + 2] >> 4)],
            RATES[usize::from((b[at + 2] >> 2) & 3)],
        );
        starts.push(at);
        at += 144_000 * kbps / rate + usize::from((b[at + 2] >> 1) & 1);
    }
    starts
}

/// One damaged frame header (its sample-rate bits) made the whole file an
/// error, "the stream changes format midway": a frame of another format is
/// damage unless the change lasts.
#[test]
fn one_damaged_frame_header_is_skipped() {
    let mut b = std::fs::read(fixture("tone1k_44k_stereo.mp3")).unwrap();
    let single = decode_bytes("intact", &b).unwrap();
    let frames = mp3_frames(&b);
    assert!(frames.len() > 20, "{} frames parsed", frames.len());
    let at = frames[frames.len() / 2];
    b[at + 2] ^= 0b0000_0100; // 44.1 kHz → 48 kHz
    let damaged = decode_bytes("damaged", &b).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        damaged < single && damaged as f64 > 0.95 * single as f64,
        "{damaged} frames of {single}"
    );
}
