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
        };
        // The decoded packet, not the container's header, is the truth.
        reader.info = reader.decode_next()?.ok_or(AudioError::Empty)?;
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
        match self.decode_next()? {
            None => Ok(None),
            Some(si) if si != self.info => Err(AudioError::Decode(format!(
                "the stream changes format midway, at {:.2} s: from {} Hz × {} channels to {} Hz × {}; split the file there",
                self.frames as f64 / f64::from(self.info.sample_rate),
                self.info.sample_rate,
                self.info.channels,
                si.sample_rate,
                si.channels
            ))),
            Some(_) => {
                self.frames += (self.buf.len() / self.info.channels as usize) as u64;
                Ok(Some(&self.buf))
            }
        }
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
    fn decode_next(&mut self) -> Result<Option<StreamInfo>, AudioError> {
        loop {
            let packet = match self.format.next_packet() {
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
            match self.decoder.decode(&packet) {
                Ok(audio) => {
                    let spec = audio.spec();
                    let si = StreamInfo {
                        sample_rate: spec.rate(),
                        channels: spec.channels().count() as u32,
                    };
                    self.buf.resize(audio.samples_interleaved(), 0.0);
                    audio.copy_to_slice_interleaved(&mut self.buf);
                    return Ok(Some(si));
                }
                // symphonia's MP3 decoder refuses frames of another rate or
                // channel count with this message; skipping them would cut
                // the song silently at the change.
                Err(Error::DecodeError(m)) if m.contains("signal spec") => {
                    return Err(AudioError::Decode(format!(
                        "the stream changes format midway, at {:.2} s; split the file there",
                        self.frames as f64 / f64::from(self.info.sample_rate.max(1))
                    )));
                }
                Err(Error::DecodeError(_)) => continue,
                Err(Error::IoError(_)) => return Ok(None),
                Err(e) => return Err(AudioError::Decode(e.to_string())),
            }
        }
    }
}
