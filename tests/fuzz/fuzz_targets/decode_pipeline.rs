//! Any bytes → AudioReader (symphonia) → Pipeline (resample, windows,
//! scattering). Errors are fine; a panic, a hang, unbounded memory or a
//! non-finite coefficient is a bug.
#![no_main]

mod common;

use common::{Windows, check_refusal, with_features};
use libfuzzer_sys::fuzz_target;
use scatterbrain::decode::AudioReader;
use scatterbrain::pipeline::{Form, Pipeline};
use std::io::Cursor;

/// Packets read at most per input (with MAX_SECONDS, bounds one input's work).
const MAX_PACKETS: usize = 4096;

/// A format hint from the first byte, as the CLI passes a file's extension:
/// the fixtures' first bytes (I of an ID3 tag, R of RIFF, f of fLaC, O of
/// OggS) get their own format's, other values another or none. symphonia
/// 0.6 probes by content and ignores hints; should a later version use them,
/// right, wrong and missing hints are all exercised.
fn hint(first: u8) -> Option<&'static str> {
    match first % 8 {
        1 => Some("mp3"),
        2 => Some("wav"),
        6 => Some("flac"),
        7 => Some("ogg"),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(&first) = data.first() else { return };
    let Ok(mut reader) = AudioReader::from_reader(Cursor::new(data.to_vec()), hint(first)) else {
        return;
    };
    let info = reader.info();
    with_features(|features| {
        let mut pipeline = match Pipeline::new(features, Form::Raw, info.sample_rate, info.channels)
        {
            Ok(p) => p,
            Err(e) => return check_refusal(&e, info.sample_rate, info.channels),
        };
        let mut windows = Windows::new(features, info.sample_rate);
        let channels = info.channels as usize;
        for _ in 0..MAX_PACKETS {
            let pcm = match reader.next_packet() {
                Ok(Some(pcm)) => pcm,
                // A format change midway is a clean error; stop there.
                Ok(None) | Err(_) => break,
            };
            assert_eq!(
                pcm.len() % channels,
                0,
                "a packet of {} samples for {channels} channels",
                pcm.len()
            );
            windows.frames_in += (pcm.len() / channels) as u64;
            pipeline
                .push(features, None, pcm, |w| windows.window(w))
                .expect("decoded PCM refused by the pipeline");
            if windows.frames_in >= windows.max_frames() {
                break;
            }
        }
        let result = pipeline.finish(features, None, |w| windows.window(w));
        windows.end(result);
    });
});
