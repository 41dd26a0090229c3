//! The decoder states the stream's format before the first packet, follows
//! chained Ogg streams, and refuses a stream whose format changes midway
//! instead of cutting it silently there.

#[path = "common/manifest.rs"]
mod manifest;
use scatterbrain::decode::{AudioReader, EarlyEnd, StreamInfo};
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

/// MP4/M4A (AAC, ALAC) and AIFF, read since 2026-12-07 (an M4A was refused
/// as "cut short: it ends before its first audio packet"): their format,
/// length and tone.
#[test]
fn mp4_and_aiff_are_read() {
    for (name, rate, channels, seconds, freq) in [
        ("tone700_44k_stereo.m4a", 44_100, 2, 2.0, 700.0),
        ("tone1500_32k_alac.m4a", 32_000, 1, 2.0, 1500.0),
        ("tone250_22k.aiff", 22_050, 1, 1.5, 250.0),
    ] {
        let mut r = AudioReader::open(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let info = StreamInfo {
            sample_rate: rate,
            channels,
        };
        assert_eq!(r.info(), info, "{name}");
        let mut left: Vec<f32> = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            left.extend(p.iter().step_by(channels as usize));
        }
        assert_eq!(r.ended_early(), None, "{name}");
        let got = left.len() as f64 / f64::from(rate);
        assert!((got - seconds).abs() < 0.06, "{name}: {got} s");
        // The tone, from the zero crossings of the middle half.
        let mid = &left[left.len() / 4..3 * left.len() / 4];
        let crossings = mid
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        let f = crossings as f64 / 2.0 / (mid.len() as f64 / f64::from(rate));
        assert!((f / freq - 1.0).abs() < 0.02, "{name}: {f} Hz");
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

/// How decoding `bytes` ended: frames, and why it ended early if it did.
fn decode_ending(bytes: Vec<u8>, ext: &str) -> Result<(u64, Option<EarlyEnd>), AudioError> {
    let mut r = AudioReader::from_reader(std::io::Cursor::new(bytes), Some(ext))?;
    while r.next_packet()?.is_some() {}
    Ok((r.frames(), r.ended_early().cloned()))
}

const WHOLE: [&str; 7] = [
    "tone1k_44k_stereo.mp3",
    "tone440_8k.mp3",
    "tone500_48k_mono.flac",
    "tone2k_22k.ogg",
    "tone300_8k_6ch.wav",
    "chained_same.ogg",
    "rate_change.mp3",
];

/// A whole file never reads as cut short (a false warning would make users
/// doubt good files): read as a stream and by path (seekable: symphonia then
/// reads an Ogg's last page for its length).
#[test]
fn whole_files_do_not_end_early() {
    for name in WHOLE.into_iter().filter(|n| *n != "rate_change.mp3") {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let ext = name.rsplit('.').next().unwrap();
        let (frames, early) = decode_ending(bytes, ext).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(frames > 0, "{name}");
        assert_eq!(early, None, "{name}");
        let mut r = AudioReader::open(&fixture(name)).unwrap();
        while r.next_packet().unwrap().is_some() {}
        assert_eq!(r.frames(), frames, "{name} by path");
        assert_eq!(r.ended_early(), None, "{name} by path");
    }
}

/// Streaming writers leave a WAV's length open (ffmpeg 0xFFFFFFFF, sox
/// 0x7FFFF000): such a whole stream is not "cut short", by path or piped.
#[test]
fn a_wav_of_open_length_is_whole() {
    let bytes = std::fs::read(fixture("tone300_8k_6ch.wav")).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").unwrap();
    for size in [0xFFFF_FFFFu32, 0x7FFF_F000] {
        let mut b = bytes.clone();
        b[data + 4..data + 8].copy_from_slice(&size.to_le_bytes());
        // The RIFF size too, as these writers put it.
        let riff = size.saturating_add(data as u32);
        b[4..8].copy_from_slice(&riff.to_le_bytes());
        let (frames, early) = decode_ending(b.clone(), "wav").unwrap();
        assert_eq!(frames, 16_000, "{size:#x}");
        assert_eq!(early, None, "{size:#x} piped");
        let path =
            std::env::temp_dir().join(format!("sb-open-{}-{size:x}.wav", std::process::id()));
        std::fs::write(&path, &b).unwrap();
        let mut r = AudioReader::open(&path).unwrap();
        while r.next_packet().unwrap().is_some() {}
        std::fs::remove_file(&path).ok();
        assert_eq!(r.ended_early(), None, "{size:#x} by path");
    }
}

/// A file cut short (an interrupted download) is read up to the cut and
/// says so; before, it ended as if whole.
#[test]
fn a_file_cut_short_says_so() {
    for name in WHOLE.into_iter().take(5) {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let ext = name.rsplit('.').next().unwrap();
        let (whole, _) = decode_ending(bytes.clone(), ext).unwrap();
        // Cut inside a packet, 90 % in (past the Ogg's long headers: its
        // first audio page, half its audio, ends at 81 % of this small file).
        let cut = bytes.len() * 9 / 10 + 7;
        let (frames, early) =
            decode_ending(bytes[..cut].to_vec(), ext).unwrap_or_else(|e| panic!("{name} cut: {e}"));
        assert!(
            frames > whole / 3 && frames < whole * 19 / 20,
            "{name}: {frames} frames of {whole}"
        );
        let early = early.unwrap_or_else(|| panic!("{name}: cut at {cut} bytes, no warning"));
        let text = early.to_string();
        assert!(text.contains("only what was read"), "{name}: {text}");
    }
}

/// Where each Ogg page of `b` ends, and whether it begins a stream.
fn ogg_pages(b: &[u8]) -> Vec<(usize, bool)> {
    let mut pages = Vec::new();
    let mut at = 0;
    while at + 27 <= b.len() {
        assert_eq!(&b[at..at + 4], b"OggS", "a page at {at}");
        let segments = b[at + 26] as usize;
        let body: usize = b[at + 27..at + 27 + segments]
            .iter()
            .map(|&l| l as usize)
            .sum();
        let first = b[at + 5] & 2 != 0;
        at += 27 + segments + body;
        pages.push((at, first));
    }
    pages
}

/// An Ogg file cut between two pages, before the page that closes its
/// stream, says so too; so does a chained one cut right after the header
/// pages of its second stream (symphonia counts that stream as read; before,
/// it passed as whole, its second half missing).
#[test]
fn an_ogg_cut_between_pages_says_so() {
    let one = std::fs::read(fixture("tone2k_22k.ogg")).unwrap();
    let pages = ogg_pages(&one);
    // Headers (2 pages), then audio: cut after the first audio page.
    let (frames, early) = decode_ending(one[..pages[2].0].to_vec(), "ogg").unwrap();
    assert!(frames > 0 && frames < 44_100, "{frames}");
    let text = early.expect("no warning").to_string();
    assert!(text.contains("before the end of its stream"), "{text}");

    let chained = std::fs::read(fixture("chained_same.ogg")).unwrap();
    let pages = ogg_pages(&chained);
    let second = pages[1..].iter().position(|&(_, first)| first).unwrap() + 1;
    let headers_end = pages[second + 1].0;
    let (frames, early) = decode_ending(chained[..headers_end].to_vec(), "ogg").unwrap();
    assert_eq!(frames, 33_075, "the first stream, whole");
    let text = early.expect("no warning").to_string();
    assert!(text.contains("at 1.50 s, before the end"), "{text}");
}

/// A cut file whose header states its length exactly (an MP3's Xing/Info
/// frame, FLAC's stream info) says both where it stops and how long it is:
/// the page shows the same words (it decodes with this reader).
#[test]
fn a_cut_names_the_declared_length() {
    for (name, declared) in [
        ("tone1k_44k_stereo.mp3", "3.0"),
        ("tone440_8k.mp3", "2.0"),
        ("tone500_48k_mono.flac", ""),
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let ext = name.rsplit('.').next().unwrap();
        let (_, early) = decode_ending(bytes[..bytes.len() * 6 / 10].to_vec(), ext).unwrap();
        let text = early.unwrap().to_string();
        assert!(
            text.contains(&format!("its header declares {declared}")),
            "{name}: {text}"
        );
    }
}

/// A source that fails (a failing disk) after `after` bytes.
struct Failing {
    bytes: std::io::Cursor<Vec<u8>>,
    after: u64,
}

impl std::io::Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.after.saturating_sub(self.bytes.position());
        if left == 0 {
            return Err(std::io::Error::other("Input/output error (simulated)"));
        }
        let n = buf.len().min(left as usize);
        self.bytes.read(&mut buf[..n])
    }
}

/// A read error of the medium midway is an error that says so and where,
/// not a quiet end that passes part of the file off as all of it.
#[test]
fn a_read_error_midway_is_an_error() {
    for name in WHOLE.into_iter().take(5) {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let after = bytes.len() as u64 / 2;
        let ext = name.rsplit('.').next().unwrap();
        let result = (|| {
            let source = Failing {
                bytes: std::io::Cursor::new(bytes),
                after,
            };
            let mut r = AudioReader::from_reader(source, Some(ext))?;
            while r.next_packet()?.is_some() {}
            Ok::<_, AudioError>(r.frames())
        })();
        let e = result.expect_err(name);
        let text = e.to_string();
        assert!(
            matches!(e, AudioError::Io(_))
                && text.contains("read error")
                && text.contains("simulated"),
            "{name}: {text}"
        );
    }
}

/// A WAV of `channels` channels, 16-bit PCM, or 32-bit float in a
/// WAVE_FORMAT_EXTENSIBLE header with channel mask `mask`; channel c holds
/// `sample(frame, c)`.
fn wide_wav(
    channels: u16,
    frames: u32,
    float: Option<u32>,
    sample: impl Fn(u32, u16) -> f32,
) -> Vec<u8> {
    let (float, mask) = (float.is_some(), float.unwrap_or(0));
    let (bytes, fmt_len) = if float { (4u16, 40u32) } else { (2, 16) };
    let block = u32::from(channels) * u32::from(bytes);
    let data_len = frames * block;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(4 + 8 + fmt_len + 8 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&fmt_len.to_le_bytes());
    b.extend_from_slice(&(if float { 0xFFFEu16 } else { 1 }).to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&16_000u32.to_le_bytes());
    b.extend_from_slice(&(16_000 * block).to_le_bytes());
    b.extend_from_slice(&(block as u16).to_le_bytes());
    b.extend_from_slice(&(bytes * 8).to_le_bytes());
    if float {
        b.extend_from_slice(&22u16.to_le_bytes()); // cbSize
        b.extend_from_slice(&32u16.to_le_bytes()); // valid bits
        b.extend_from_slice(&mask.to_le_bytes());
        // KSDATAFORMAT_SUBTYPE_IEEE_FLOAT
        b.extend_from_slice(&[
            3, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
        ]);
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for f in 0..frames {
        for c in 0..channels {
            let v = sample(f, c);
            if float {
                b.extend_from_slice(&v.to_le_bytes());
            } else {
                b.extend_from_slice(&((v * 32768.0).round() as i16).to_le_bytes());
            }
        }
    }
    b
}

/// Every sample `r` gives, interleaved.
fn samples(r: &mut AudioReader) -> Vec<f32> {
    let mut all = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        all.extend_from_slice(p);
    }
    all
}

/// symphonia's WAV reader refuses more than 26 channels (18 with a channel
/// mask): "not a supported audio file (riff: invalid channel count)", where
/// the page (the browser's decoder) took the file. Such files are read
/// whole, sample for sample, from a file and from a stream (standard
/// input), and a cut one says so. So is a WAV whose speaker mask names fewer
/// speakers than channels, the highest being bit 31: symphonia's repair of
/// the mask shifts by 32 (a panic where overflow is checked, as in
/// fuzzing builds; a refusal in release ones).
#[test]
fn wav_with_many_channels_is_read() {
    let sample = |f: u32, c: u16| ((f * 7 + u32::from(c) * 131) % 2000) as f32 / 2000.0 - 0.5;
    // Float: in an extensible header, with its channel mask (18 speakers, or
    // none, as writers fill it).
    for (channels, float) in [
        (32u16, None),
        (27, None),
        (24, Some(0x3FFFF)),
        (32, Some(0x3FFFF)),
        (32, Some(0)),
        (2, Some(0x8000_0000)),
    ] {
        let frames = 20_000;
        let bytes = wide_wav(channels, frames, float, sample);
        let path = std::env::temp_dir().join(format!(
            "sb-wide-{}-{channels}-{float:?}.wav",
            std::process::id()
        ));
        std::fs::write(&path, &bytes).unwrap();
        let what = format!("{channels} channels, float with mask {float:?}");
        let float = float.is_some();
        let mut r = AudioReader::open(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            r.info(),
            StreamInfo {
                sample_rate: 16_000,
                channels: u32::from(channels)
            },
            "{what}"
        );
        let all = samples(&mut r);
        assert_eq!(all.len(), frames as usize * usize::from(channels), "{what}");
        assert_eq!(r.ended_early(), None, "{what}");
        // The same from a stream, which cannot seek back to its start.
        let mut streamed =
            AudioReader::from_reader(std::io::Cursor::new(bytes.clone()), Some("wav"))
                .unwrap_or_else(|e| panic!("{what}, from a stream: {e}"));
        let again = samples(&mut streamed);
        assert!(
            again == all,
            "{what}: read from a stream, {} samples differ",
            again.len()
        );
        let tolerance = if float { 0.0 } else { 1.0 / 32768.0 };
        for (i, &v) in all.iter().enumerate().step_by(997) {
            let (f, c) = (i / usize::from(channels), i % usize::from(channels));
            let want = sample(f as u32, c as u16);
            assert!(
                (v - want).abs() <= tolerance,
                "{what}: sample {i}: {v} for {want}"
            );
        }

        // Cut at 60 %: read up to the cut, and said.
        std::fs::write(&path, &bytes[..bytes.len() * 3 / 5]).unwrap();
        let mut r = AudioReader::open(&path).unwrap_or_else(|e| panic!("{what}, cut: {e}"));
        while r.next_packet().unwrap().is_some() {}
        let ratio = r.frames() as f64 / f64::from(frames);
        assert!((ratio - 0.6).abs() < 0.01, "{what}, cut: {ratio}");
        assert!(
            matches!(r.ended_early(), Some(EarlyEnd::Short { .. })),
            "{what}, cut: {:?}",
            r.ended_early()
        );
        std::fs::remove_file(&path).ok();
    }
}

/// A file cut before its first audio packet (a WAV's header and a few
/// bytes) is "cut short", not "empty".
#[test]
fn a_file_cut_before_its_audio_says_so() {
    let bytes = std::fs::read(fixture("tone300_8k_6ch.wav")).unwrap();
    let e = decode_ending(bytes[..50].to_vec(), "wav").unwrap_err();
    assert!(e.to_string().contains("cut short"), "{e}");
}

/// A wide WAV of 24-bit samples in 32-bit slots: hound would read them from
/// the slots' low bytes (where WAVE_FORMAT_EXTENSIBLE puts them high), so
/// it is refused by name rather than misread.
#[test]
fn a_wide_wav_of_24_bits_in_32_is_refused() {
    let mut b = wide_wav(24, 1000, Some(0), |_, _| 0.25);
    b[38..40].copy_from_slice(&24u16.to_le_bytes()); // valid bits
    b[44] = 1; // KSDATAFORMAT_SUBTYPE_PCM
    let path = std::env::temp_dir().join(format!("sb-wide24-{}.wav", std::process::id()));
    std::fs::write(&path, &b).unwrap();
    let e = AudioReader::open(&path).err().map(|e| e.to_string());
    std::fs::remove_file(&path).ok();
    let e = e.expect("a 24-in-32 wide WAV was read");
    assert!(
        e.contains("24 channels") && e.contains("24 bits in 32-bit slots"),
        "{e}"
    );
}

/// A wide WAV whose header gives a sample rate of 0 is refused for its rate,
/// as any other file is (it was refused for its sample slots).
#[test]
fn a_wide_wav_of_rate_0_is_refused_for_its_rate() {
    let mut b = wide_wav(27, 1000, None, |_, _| 0.25);
    b[24..32].fill(0); // rate and byte rate
    let path = std::env::temp_dir().join(format!("sb-wide-rate0-{}.wav", std::process::id()));
    std::fs::write(&path, &b).unwrap();
    let e = AudioReader::open(&path).err().map(|e| e.to_string());
    std::fs::remove_file(&path).ok();
    let e = e.expect("a wide WAV of rate 0 was read");
    assert!(e.contains("sample rate 0 Hz"), "{e}");
}

/// Formats that state their exact length decode to exactly that many frames
/// (an Ogg stream: its last granule position; whatever wrote it). The page's
/// decoder (the browser's) trims the same way, so a short file loops to the
/// same 29 s window in both. An Ogg file from ffmpeg whose last packet is
/// trimmed by more than half read 316 frames long, and its tags changed.
#[test]
fn files_that_state_their_length_decode_to_it_exactly() {
    for (name, frames) in [
        ("tone2k_22k.ogg", 44_100),   // ffmpeg's libvorbis, last granule 44100
        ("chained_same.ogg", 66_150), // oggenc, two chains of 1.5 s
        ("tone500_48k_mono.flac", 96_000),
        ("tone300_8k_6ch.wav", 16_000),
    ] {
        let (_, result) = decode_all(name);
        assert_eq!(result.unwrap(), frames, "{name}");
        // Read as a stream (no seeking to the last page first), the same.
        let bytes = std::fs::read(fixture(name)).unwrap();
        let ext = name.rsplit('.').next().unwrap();
        let (streamed, _) = decode_ending(bytes, ext).unwrap();
        assert_eq!(streamed, frames, "{name} as a stream");
    }
}
