//! Native decoding (MP3, WAV, FLAC, Ogg/Vorbis) with symphonia, streamed
//! packet by packet so an hour-long file never sits in memory decoded. In the
//! browser, `decodeAudioData` does this job.
//!
//! [`AudioReader`] states the stream's rate and channel count when it is
//! opened, before the first packet is read (symphonia's habit), so a caller
//! sets up its resampler once instead of checking every packet.

use crate::error::AudioError;
use std::io::Read;
use std::path::Path;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::Duration;

/// What [`AudioReader::decode_next`] found.
enum Decoded {
    /// Samples in `buf`, of this format.
    Audio(StreamInfo),
    /// A packet the decoder refused for its format (MP3: "signal spec").
    Refused,
}

/// What the stream is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamInfo {
    pub sample_rate: u32,
    pub channels: u32,
}

/// The path that means "standard input" on the command line.
pub const STDIN: &str = "-";

/// A decoder over one audio file (or standard input), packet by packet.
pub struct AudioReader {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    info: StreamInfo,
    buf: Vec<f32>,
    /// The first packet, decoded by [`AudioReader::open`] to learn the
    /// stream's format; delivered by the first [`AudioReader::next_packet`].
    first: bool,
    /// Frames delivered so far (to say where a format change happens).
    frames: u64,
    /// Packets in a row of another format than the stream's (or refused by
    /// the decoder for theirs), since frame `at`: see [`FORMAT_RUN`].
    odd: Option<OddRun>,
}

/// Packets in a row of another format before it counts as a change of
/// format (an error) rather than damage (skipped, as corrupt packets are):
/// ~0.4 s of MP3. One flipped bit in an MP3 frame header (its rate or
/// channel mode) made the whole file fail as "changes format midway".
const FORMAT_RUN: u32 = 16;

#[derive(Debug, Clone, Copy)]
struct OddRun {
    at: u64,
    packets: u32,
    /// The other format, when the decoder gave it (it may refuse instead).
    to: Option<StreamInfo>,
}

impl AudioReader {
    /// Open `path` (or [`STDIN`]) and decode up to the first audio packet.
    ///
    /// Only regular files and standard input are read: a directory, a named
    /// pipe or a device is refused by name (opening a pipe nobody writes to
    /// would hang the whole run).
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let shown = path.display();
        let source: Box<dyn MediaSource> = if path.as_os_str() == STDIN {
            Box::new(ReadOnlySource::new(std::io::stdin()))
        } else {
            let meta =
                std::fs::metadata(path).map_err(|e| AudioError::Io(format!("{shown}: {e}")))?;
            if meta.is_dir() {
                return Err(AudioError::Io(format!(
                    "{shown} is a directory, not an audio file"
                )));
            }
            if !meta.is_file() {
                return Err(AudioError::Io(format!(
                    "{shown} is not a regular file (a pipe or a device); to read a stream, give - and send it to standard input"
                )));
            }
            if meta.len() == 0 {
                return Err(AudioError::Empty);
            }
            let file =
                std::fs::File::open(path).map_err(|e| AudioError::Io(format!("{shown}: {e}")))?;
            Box::new(file)
        };
        Self::from_source(source, path.extension().and_then(|e| e.to_str()))
    }

    /// Decode from any byte source (`extension` hints at the format).
    pub fn from_reader(
        reader: impl Read + Send + Sync + 'static,
        extension: Option<&str>,
    ) -> Result<Self, AudioError> {
        Self::from_source(Box::new(ReadOnlySource::new(reader)), extension)
    }

    fn from_source(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
    ) -> Result<Self, AudioError> {
        let mss = MediaSourceStream::new(source, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = extension {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| match e {
                Error::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                    AudioError::Empty
                }
                e => AudioError::Decode(format!("not a supported audio file ({e})")),
            })?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| AudioError::Decode("the file has no audio track".into()))?;
        let track_id = track.id;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| AudioError::Decode("the audio track has no codec parameters".into()))?;
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| AudioError::Decode(format!("unsupported codec ({e})")))?;
        let mut reader = AudioReader {
            format,
            decoder,
            track_id,
            info: StreamInfo {
                sample_rate: 0,
                channels: 0,
            },
            buf: Vec::new(),
            first: false,
            frames: 0,
            odd: None,
        };
        // The decoded packet, not the container's header, is the truth.
        reader.info = match reader.decode_next()? {
            Some(Decoded::Audio(si)) => si,
            Some(Decoded::Refused) => {
                return Err(AudioError::Decode(
                    "the first audio packet could not be decoded".into(),
                ));
            }
            None => return Err(AudioError::Empty),
        };
        reader.first = true;
        Ok(reader)
    }

    /// The stream's sample rate and channel count.
    pub fn info(&self) -> StreamInfo {
        self.info
    }

    /// Frames delivered so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The next packet's samples, interleaved; `None` at the end.
    ///
    /// A truncated file ends normally (everything before the damage is
    /// delivered) and corrupt packets are skipped; a stream whose rate or
    /// channel count changes midway is an error that says where.
    pub fn next_packet(&mut self) -> Result<Option<&[f32]>, AudioError> {
        if std::mem::take(&mut self.first) {
            self.frames += (self.buf.len() / self.info.channels as usize) as u64;
            return Ok(Some(&self.buf));
        }
        loop {
            match self.decode_next()? {
                // A short run of odd packets at the very end is damage too.
                None => return Ok(None),
                Some(Decoded::Audio(si)) if si == self.info => {
                    self.odd = None;
                    self.frames += (self.buf.len() / self.info.channels as usize) as u64;
                    return Ok(Some(&self.buf));
                }
                Some(Decoded::Audio(si)) => self.odd_packet(Some(si))?,
                Some(Decoded::Refused) => self.odd_packet(None)?,
            }
        }
    }

    /// A packet of another format: skipped as damage, unless it is the
    /// [`FORMAT_RUN`]-th in a row, which makes it a change of format.
    fn odd_packet(&mut self, to: Option<StreamInfo>) -> Result<(), AudioError> {
        let run = self.odd.get_or_insert(OddRun {
            at: self.frames,
            packets: 0,
            to: None,
        });
        run.packets += 1;
        run.to = to.or(run.to);
        if run.packets < FORMAT_RUN {
            return Ok(());
        }
        let at = run.at as f64 / f64::from(self.info.sample_rate.max(1));
        Err(AudioError::Decode(match run.to {
            Some(si) => format!(
                "the stream changes format midway, at {at:.2} s: from {} Hz × {} channels to {} Hz × {}; split the file there",
                self.info.sample_rate, self.info.channels, si.sample_rate, si.channels
            ),
            None => format!("the stream changes format midway, at {at:.2} s; split the file there"),
        }))
    }

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

    /// Decode the next packet of the track into `buf`; its format, or
    /// `None` at the end of the stream.
    fn decode_next(&mut self) -> Result<Option<Decoded>, AudioError> {
        loop {
            let mut packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(None),
                // Truncated: keep what was decoded.
                Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
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
                    if self.frames > 0 || self.first {
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
            // symphonia trims whole packets past the end its header declares
            // (an MP3's Xing frame count): two MP3s joined end to end, or a
            // header that undercounts, lost everything after. Only the
            // encoder padding inside the last packet is trimmed.
            if packet.trim_end >= packet.dur && packet.dur > Duration::ZERO {
                packet.trim_end = Duration::ZERO;
            }
            match self.decoder.decode(&packet) {
                Ok(audio) => {
                    let spec = audio.spec();
                    let si = StreamInfo {
                        sample_rate: spec.rate(),
                        channels: spec.channels().count() as u32,
                    };
                    self.buf.resize(audio.samples_interleaved(), 0.0);
                    audio.copy_to_slice_interleaved(&mut self.buf);
                    return Ok(Some(Decoded::Audio(si)));
                }
                // symphonia's MP3 decoder refuses frames of another rate or
                // channel count with this message: damage if the run is
                // short, else a change of format (`next_packet`).
                Err(Error::DecodeError(m)) if m.contains("signal spec") => {
                    return Ok(Some(Decoded::Refused));
                }
                Err(Error::DecodeError(_)) => continue,
                Err(Error::IoError(_)) => return Ok(None),
                Err(e) => return Err(AudioError::Decode(e.to_string())),
            }
        }
    }
}
