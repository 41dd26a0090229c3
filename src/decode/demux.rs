//! symphonia's container reader and decoder on one track: packets in, PCM
//! out, with chained Ogg streams followed and damage told from the end.

use super::watched::Medium;
use super::{Decoded, EarlyEnd, StreamInfo};
use crate::error::AudioError;
use std::sync::Arc;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error;
use symphonia::core::formats::{FormatReader, TrackType};
use symphonia::core::units::Duration;

/// symphonia's container reader and decoder, on one track.
pub(super) struct Demux {
    pub(super) format: Box<dyn FormatReader>,
    pub(super) decoder: Box<dyn AudioDecoder>,
    pub(super) track_id: u32,
    pub(super) medium: Arc<Medium>,
    /// Whether an EOF error inside a packet means a cut (not for PCM: see
    /// `AudioReader::from_source`).
    pub(super) eof_is_cut: bool,
    /// The length the header declares, where exact.
    pub(super) declared: Option<u64>,
    /// Frames of packets skipped as damage.
    pub(super) skipped: u64,
}

impl Demux {
    /// Switch to the default audio track of a new chained stream.
    fn follow_chain(&mut self) -> Result<(), AudioError> {
        let track = self
            .format
            .default_track(TrackType::Audio)
            .ok_or_else(|| AudioError::Decode("a chained stream has no audio track".into()))?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| AudioError::Decode("a chained stream has no codec parameters".into()))?;
        self.decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| {
                AudioError::Decode(format!("unsupported codec in a chained stream ({e})"))
            })?;
        self.track_id = track.id;
        Ok(())
    }

    fn is_mpeg(&self) -> bool {
        use symphonia::core::codecs::audio::well_known::{
            CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3,
        };
        [CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3].contains(&self.decoder.codec_params().codec)
    }

    /// Decode the next packet of the track into `buf`; its format, or
    /// `None` at the end of the stream (`early` says why, if before the
    /// end). `at_s`: seconds delivered; `started`: whether any audio was.
    pub(super) fn decode_next(
        &mut self,
        buf: &mut Vec<f32>,
        at_s: f64,
        started: bool,
        early: &mut Option<EarlyEnd>,
    ) -> Result<Option<Decoded>, AudioError> {
        loop {
            let mut packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    // symphonia ends quietly on some Ogg files cut between
                    // pages: a whole one ends with the page closing its stream
                    // (the medium keeps the last bytes of an Ogg only).
                    if early.is_none() && self.medium.ogg_closes() == Some(false) {
                        *early = Some(EarlyEnd::Cut {
                            at_s,
                            declared_s: None,
                        });
                    }
                    return Ok(None);
                }
                // The medium failed (not the file's data): an error, not
                // a quiet end that would pass part of the file as all of it.
                Err(_) if self.medium.has_failed() => {
                    return Err(self.medium.error(&format!("after {at_s:.2} s of audio")));
                }
                // Truncated: keep what was decoded.
                Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    if self.eof_is_cut {
                        *early = Some(EarlyEnd::Cut {
                            at_s,
                            declared_s: None,
                        });
                    }
                    return Ok(None);
                }
                Err(Error::DecodeError(_)) => continue,
                // A chained Ogg stream starts a new logical stream: decode
                // it with a new decoder (a change of format is reported by
                // `next_packet`).
                Err(Error::ResetRequired) => {
                    self.follow_chain()?;
                    continue;
                }
                Err(e) => {
                    if started {
                        *early = Some(EarlyEnd::Stopped {
                            at_s,
                            why: e.to_string(),
                        });
                        return Ok(None);
                    }
                    return Err(AudioError::Decode(e.to_string()));
                }
            };
            if packet.track_id != self.track_id {
                if self.format.tracks().iter().any(|t| t.id == self.track_id) {
                    continue;
                }
                // Our track is gone: a chained Ogg stream has started a new
                // one. Follow it (a change of format is reported below).
                self.follow_chain()?;
                if packet.track_id != self.track_id {
                    continue;
                }
            }
            // symphonia trims whole MPEG frames past the end the header
            // declares (an MP3's Xing frame count): two MP3s joined end to
            // end, or a header that undercounts, lost everything after. Only
            // the encoder padding inside the last packet is trimmed. (Its
            // MPEG packets keep their whole length in `dur`; other formats'
            // `dur` is what is left after trimming, and their trims, such as
            // an Ogg stream's end by its last granule position, are kept.)
            if self.is_mpeg() && packet.trim_end >= packet.dur && packet.dur > Duration::ZERO {
                packet.trim_end = Duration::ZERO;
            }
            match self.decoder.decode(&packet) {
                Ok(audio) => {
                    let spec = audio.spec();
                    let si = StreamInfo {
                        sample_rate: spec.rate(),
                        channels: spec.channels().count() as u32,
                    };
                    buf.resize(audio.samples_interleaved(), 0.0);
                    audio.copy_to_slice_interleaved(buf);
                    return Ok(Some(Decoded::Audio(si)));
                }
                // symphonia's MP3 decoder refuses frames of another rate or
                // channel count with this message: damage if the run is
                // short, else a change of format (`next_packet`).
                Err(Error::DecodeError(m)) if m.contains("signal spec") => {
                    self.skipped += packet.dur.get();
                    return Ok(Some(Decoded::Refused));
                }
                // A damaged packet (the decoder's I/O errors are its bits
                // ending early: the container hands over whole packets).
                Err(Error::DecodeError(_) | Error::IoError(_)) => {
                    self.skipped += packet.dur.get();
                    continue;
                }
                Err(e) => return Err(AudioError::Decode(e.to_string())),
            }
        }
    }
}
