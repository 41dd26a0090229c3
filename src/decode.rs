//! Decoding (MP3, WAV, AIFF, FLAC, Ogg/Vorbis; with `decode-mp4`, the CLI's,
//! MP4/M4A with AAC or ALAC) with symphonia, streamed packet by packet so an
//! hour-long file never sits in memory decoded. The CLI and the page share it
//! (the page through `web/decoder.rs`; the browser's `decodeAudioData` only
//! for formats this does not read there: M4A, Opus…).
//!
//! [`AudioReader`] states the stream's rate and channel count when it is
//! opened, before the first packet is read (symphonia's habit), so a caller
//! sets up its resampler once instead of checking every packet.

mod demux;
mod ogg_end;
mod watched;
mod wide_wav;

use crate::error::AudioError;
use demux::Demux;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::Ordering;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::errors::Error;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, Track, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use watched::Watched;

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

/// Why a stream ended before its end: the audio before it is delivered, and
/// the caller says so ([`AudioReader::ended_early`]). A read error of the
/// medium (a failing disk) is not this but an error: the file itself may be
/// whole.
#[derive(Debug, Clone, PartialEq)]
pub enum EarlyEnd {
    /// The data stops before the stream's end (an interrupted download or
    /// copy): inside a packet, or between an Ogg stream's pages before the
    /// one that closes it; with the length the header declares, when it
    /// states one exactly.
    Cut { at_s: f64, declared_s: Option<f64> },
    /// The container declares more audio than the data holds.
    Short { at_s: f64, declared_s: f64 },
    /// The container reader gave up on damaged data.
    Stopped { at_s: f64, why: String },
}

impl std::fmt::Display for EarlyEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EarlyEnd::Cut { at_s, declared_s } => {
                let header = declared_s
                    .map(|d| format!("; its header declares {d:.2} s"))
                    .unwrap_or_default();
                write!(
                    f,
                    "the file is cut short (its data stops at {at_s:.2} s, before the end of its stream{header}); only what was read is analysed"
                )
            }
            EarlyEnd::Short { at_s, declared_s } => write!(
                f,
                "the file is cut short or damaged: it ends at {at_s:.2} s where its header declares {declared_s:.2} s; only what was read is analysed"
            ),
            EarlyEnd::Stopped { at_s, why } => write!(
                f,
                "decoding stopped at {at_s:.2} s on damaged data ({why}); only what was read is analysed"
            ),
        }
    }
}

/// What the decoder reads, for messages and the CLI's help (the `symphonia`
/// features in Cargo.toml; MP4 with `decode-mp4`, the CLI's, not the page's).
#[cfg(feature = "decode-mp4")]
pub const FORMATS: &str = "MP3, WAV, AIFF, FLAC, Ogg/Vorbis, MP4/M4A (AAC, ALAC)";
#[cfg(not(feature = "decode-mp4"))]
pub const FORMATS: &str = "MP3, WAV, AIFF, FLAC, Ogg/Vorbis";
#[cfg(feature = "decode-mp4")]
const CODECS: &str = "MP3, PCM, FLAC, Vorbis, AAC-LC, ALAC";
#[cfg(not(feature = "decode-mp4"))]
const CODECS: &str = "MP3, PCM, FLAC, Vorbis";

const CUT_BEFORE_AUDIO: &str = "the file is cut short: it ends before its first audio packet";

/// The path that means "standard input" on the command line.
pub const STDIN: &str = "-";

/// A decoder over one audio file (or standard input), packet by packet.
pub struct AudioReader {
    source: Source,
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
    /// Set at the end when the stream ended before its end.
    early: Option<EarlyEnd>,
    /// Frames of packets of another format, skipped as damage.
    skipped: u64,
}

/// Where the packets come from.
enum Source {
    Demux(Demux),
    /// A WAV of more channels than symphonia's reader takes.
    Wide(wide_wav::WideWav),
}

impl Source {
    /// Frames the container declares, where its header states them exactly
    /// ([`declared_length`]).
    fn declared(&self) -> Option<u64> {
        match self {
            Source::Demux(d) => d.declared,
            Source::Wide(w) => Some(w.declared()),
        }
    }

    /// Frames of packets the decoder could not decode (skipped as damage).
    fn skipped(&self) -> u64 {
        match self {
            Source::Demux(d) => d.skipped,
            Source::Wide(_) => 0,
        }
    }
}

/// An MP4/M4A refused by name in a build without its reader (the page's):
/// probed, its AAC data can pass for MP3 frames, and it was refused as "cut
/// short before its first audio packet". `source` is given back otherwise.
#[cfg(not(feature = "decode-mp4"))]
fn refuse_mp4(mut source: Box<dyn MediaSource>) -> Result<Box<dyn MediaSource>, AudioError> {
    use std::io::{Seek, SeekFrom};
    if !source.is_seekable() {
        return Ok(source);
    }
    let mut head = [0u8; 8];
    let mp4 = source.read_exact(&mut head).is_ok() && &head[4..8] == b"ftyp";
    source
        .seek(SeekFrom::Start(0))
        .map_err(|e| AudioError::Io(format!("read error before the audio: {e}")))?;
    if mp4 {
        return Err(AudioError::Decode(format!(
            "not a supported audio file: an MP4/M4A, which this build does not read (the native CLI does; the formats read here: {FORMATS})"
        )));
    }
    Ok(source)
}

/// The length `track`'s header declares, where it is exact; and whether the
/// codec is PCM (a WAV).
///
/// Not an Ogg's (symphonia gives its last page's absolute granule position,
/// which need not start at 0), nor an MP3's without a Xing/Info frame (an
/// estimate from its bitrate, which may be far off: symphonia sets an MP3's
/// delay and padding only from that frame's LAME tag, so they mark a count
/// to trust), nor a WAV's placeholder size ≥ 2 GB that streaming writers put
/// (ffmpeg 0xFFFFFFFF, sox 0x7FFFF000).
fn declared_length(track: &Track, params: &AudioCodecParameters) -> (Option<u64>, bool) {
    use symphonia::core::codecs::audio::well_known::*;
    let c = params.codec;
    let pcm = (CODEC_ID_PCM_S32LE..=CODEC_ID_PCM_MULAW).contains(&c);
    let n = track.num_frames;
    let declared = if pcm {
        let channels = params.channels.as_ref().map_or(1, |ch| ch.count()) as u64;
        let bits = params.bits_per_coded_sample.or(params.bits_per_sample);
        let bytes = u64::from(bits.unwrap_or(8)).div_ceil(8);
        n.filter(|&n| n.saturating_mul(channels * bytes) < 0x7FFF_0000)
    } else if c == CODEC_ID_FLAC {
        n
    } else if [CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3].contains(&c) {
        n.filter(|_| track.delay.is_some() || track.padding.is_some())
    } else {
        None
    };
    (declared, pcm)
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

    /// Decode from a seekable byte source (the page's file, read from JS in
    /// place: `web/decoder.rs`); `extension` hints at the format.
    pub fn from_source(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
    ) -> Result<Self, AudioError> {
        // Before symphonia, which refuses a WAV of more than 18 or 26
        // channels (and past 32, with an empty channel mask, may misread it)
        // or of a speaker mask it cannot repair.
        let source = match wide_wav::WideWav::from_source(source)? {
            Ok(wide) => return Self::start(Source::Wide(wide)),
            Err(other) => other,
        };
        #[cfg(not(feature = "decode-mp4"))]
        let source = refuse_mp4(source)?;
        let (source, medium) = Watched::new(source);
        let mss = MediaSourceStream::new(Box::new(source), Default::default());
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
                _ if medium.has_failed() => medium.error("before the audio"),
                // Bytes, but they end inside the container's header.
                Error::IoError(ref io)
                    if io.kind() == std::io::ErrorKind::UnexpectedEof
                        && medium.got.load(Ordering::Relaxed) =>
                {
                    AudioError::Decode(CUT_BEFORE_AUDIO.into())
                }
                Error::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                    AudioError::Empty
                }
                // No reader knows the file: say what is read, not symphonia's
                // "unsupported feature: core (probe): …".
                Error::Unsupported(_) => AudioError::Decode(format!(
                    "not a supported audio file (the formats read: {FORMATS})"
                )),
                e => AudioError::Decode(format!("not a supported audio file ({e})")),
            })?;
        if format.format_info().format != symphonia::core::formats::well_known::FORMAT_ID_OGG {
            medium.not_ogg();
        }
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| AudioError::Decode("the file has no audio track".into()))?;
        let track_id = track.id;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| AudioError::Decode("the audio track has no codec parameters".into()))?;
        let (declared, pcm) = declared_length(track, params);
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| match e {
                Error::Unsupported(_) => AudioError::Decode(format!(
                    "unsupported codec (the codecs read: {CODECS}; a browser may read others)"
                )),
                e => AudioError::Decode(format!("unsupported codec ({e})")),
            })?;
        let demux = Demux {
            format,
            decoder,
            track_id,
            medium,
            // A WAV whose header leaves its length open ends on an EOF
            // error; its cuts show against the declared length instead.
            eof_is_cut: !pcm,
            declared,
            skipped: 0,
        };
        Self::start(Source::Demux(demux))
    }

    /// A reader over `source`, which has yet to deliver its first packet.
    fn start(source: Source) -> Result<Self, AudioError> {
        let mut reader = AudioReader {
            source,
            info: StreamInfo {
                sample_rate: 0,
                channels: 0,
            },
            buf: Vec::new(),
            first: false,
            frames: 0,
            odd: None,
            early: None,
            skipped: 0,
        };
        // The decoded packet, not the container's header, is the truth.
        reader.info = match reader.decode_next()? {
            Some(Decoded::Audio(si)) => si,
            Some(Decoded::Refused) => {
                return Err(AudioError::Decode(
                    "the first audio packet could not be decoded".into(),
                ));
            }
            None if reader.early.is_some() || reader.source.declared().is_some_and(|d| d > 0) => {
                return Err(AudioError::Decode(CUT_BEFORE_AUDIO.into()));
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

    /// Why the stream ended before its end, once [`AudioReader::next_packet`]
    /// has returned `None`; `None` for a whole stream.
    pub fn ended_early(&self) -> Option<&EarlyEnd> {
        self.early.as_ref()
    }

    /// Seconds delivered so far.
    fn at_s(&self) -> f64 {
        self.frames as f64 / f64::from(self.info.sample_rate.max(1))
    }

    /// The next packet's samples, interleaved; `None` at the end.
    ///
    /// A truncated file ends (everything before the damage is delivered, and
    /// [`AudioReader::ended_early`] says why) and corrupt packets are
    /// skipped; a read error of the medium, or a stream whose rate or
    /// channel count changes midway, is an error that says where.
    pub fn next_packet(&mut self) -> Result<Option<&[f32]>, AudioError> {
        if std::mem::take(&mut self.first) {
            self.frames += (self.buf.len() / self.info.channels as usize) as u64;
            return Ok(Some(&self.buf));
        }
        loop {
            match self.decode_next()? {
                // A short run of odd packets at the very end is damage too.
                None => {
                    // A tenth of a second of slack: a header's count may
                    // include a partial last block. Skipped damage counts as
                    // read (the file was that long).
                    let slack = u64::from(self.info.sample_rate / 10);
                    let read = self.frames + self.skipped + self.source.skipped();
                    let rate = f64::from(self.info.sample_rate.max(1));
                    if let Some(EarlyEnd::Cut { declared_s, .. }) = &mut self.early {
                        *declared_s = self.source.declared().map(|d| d as f64 / rate);
                    }
                    if let Some(d) = self.source.declared().filter(|&d| read + slack < d)
                        && self.early.is_none()
                    {
                        self.early = Some(EarlyEnd::Short {
                            at_s: self.at_s(),
                            declared_s: d as f64 / f64::from(self.info.sample_rate.max(1)),
                        });
                    }
                    return Ok(None);
                }
                Some(Decoded::Audio(si)) if si == self.info => {
                    self.odd = None;
                    self.frames += (self.buf.len() / self.info.channels as usize) as u64;
                    return Ok(Some(&self.buf));
                }
                Some(Decoded::Audio(si)) => {
                    self.skipped += (self.buf.len() / si.channels.max(1) as usize) as u64;
                    self.odd_packet(Some(si))?
                }
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
            Some(si) => {
                let channels = |n: u32| format!("{n} channel{}", if n == 1 { "" } else { "s" });
                format!(
                    "the stream changes format midway, at {at:.2} s: from {} Hz × {} to {} Hz × {}; split the file there",
                    self.info.sample_rate,
                    channels(self.info.channels),
                    si.sample_rate,
                    channels(si.channels)
                )
            }
            None => format!("the stream changes format midway, at {at:.2} s; split the file there"),
        }))
    }

    /// Decode the next packet into `buf`; its format, or `None` at the end
    /// of the stream.
    fn decode_next(&mut self) -> Result<Option<Decoded>, AudioError> {
        let at_s = self.at_s();
        match &mut self.source {
            Source::Wide(w) => Ok(w
                .read(&mut self.buf, at_s)?
                .then(|| Decoded::Audio(w.info()))),
            Source::Demux(d) => {
                let started = self.frames > 0 || self.first;
                d.decode_next(&mut self.buf, at_s, started, &mut self.early)
            }
        }
    }
}
