//! Native decoding (MP3, WAV, FLAC, Ogg/Vorbis) with symphonia, streamed
//! packet by packet so an hour-long file never sits in memory decoded. In the
//! browser, `decodeAudioData` does this job.

use crate::error::AudioError;
use std::path::Path;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// What the stream turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamInfo {
    pub sample_rate: u32,
    pub channels: u32,
}

/// Decode `path`, calling `sink(info, interleaved)` for every decoded packet.
///
/// A stream that ends early (a truncated file) ends the decoding normally:
/// everything before the damage is delivered. Corrupt packets are skipped.
pub fn decode_file(
    path: &Path,
    mut sink: impl FnMut(StreamInfo, &[f32]) -> Result<(), AudioError>,
) -> Result<StreamInfo, AudioError> {
    let file = std::fs::File::open(path)
        .map_err(|e| AudioError::Io(format!("{}: {e}", path.display())))?;
    if file.metadata().map(|m| m.len() == 0).unwrap_or(false) {
        return Err(AudioError::Empty);
    }
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let not_audio = |e: Error| AudioError::Decode(format!("not a supported audio file ({e})"));
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(not_audio)?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| AudioError::Decode("the file has no audio track".into()))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| AudioError::Decode("the audio track has no codec parameters".into()))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::Decode(format!("unsupported codec ({e})")))?;

    let mut info = None;
    let mut buf: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            // Truncated: keep what was decoded.
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(Error::DecodeError(_)) => continue,
            Err(e) => {
                if info.is_some() {
                    break;
                }
                return Err(AudioError::Decode(e.to_string()));
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(audio) => {
                let spec = audio.spec();
                let si = StreamInfo {
                    sample_rate: spec.rate(),
                    channels: spec.channels().count() as u32,
                };
                if info.is_some_and(|i| i != si) {
                    return Err(AudioError::Decode(
                        "the stream changes format midway".into(),
                    ));
                }
                info = Some(si);
                buf.resize(audio.samples_interleaved(), 0.0);
                audio.copy_to_slice_interleaved(&mut buf);
                sink(si, &buf)?;
            }
            Err(Error::DecodeError(_)) => continue,
            Err(Error::IoError(_)) => break,
            Err(e) => return Err(AudioError::Decode(e.to_string())),
        }
    }
    info.ok_or(AudioError::Empty)
}
