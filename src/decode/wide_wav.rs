//! WAV files with more channels than symphonia's reader takes: it gives
//! every channel a speaker position, so it refuses more than 26 (18 with a
//! channel mask), while multitrack recorders write 32-channel files. hound
//! reads them, and the WAVs whose speaker mask symphonia cannot repair; the
//! road after decoding is the same.

use super::StreamInfo;
use super::watched::{Medium, Watched};
use crate::error::AudioError;
use hound::{SampleFormat, WavReader};
use std::io::BufReader;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::sync::Arc;
use symphonia::core::io::{MediaSource, ReadOnlySource};

/// Channels above which symphonia may refuse a WAV (see the module doc).
const SYMPHONIA_MAX: u16 = 18;

/// Bytes of a file's start searched for its `fmt ` chunk.
const HEAD_BYTES: u64 = 1 << 16;

/// Frames per packet.
const PACKET: usize = 4096;

pub(super) struct WideWav {
    reader: WavReader<BufReader<Watched>>,
    /// Set when the medium failed a read (hound reports a cut file as an
    /// I/O error too).
    medium: Arc<Medium>,
    info: StreamInfo,
    /// Integer samples to ±1.
    scale: f32,
    /// Frames the header declares.
    declared: u64,
}

impl WideWav {
    /// `source` as a WAV that symphonia does not take (see
    /// [`WavFormat::for_hound`]), or given back (`Err`) for any other file;
    /// an error if hound cannot read it either. A stream (standard input)
    /// cannot seek back: the bytes read to find its format are put back in
    /// front of it.
    pub(super) fn from_source(
        mut source: Box<dyn MediaSource>,
    ) -> Result<Result<Self, Box<dyn MediaSource>>, AudioError> {
        let read_error =
            |e: std::io::Error| AudioError::Io(format!("read error before the audio: {e}"));
        let (fmt, source) = if source.is_seekable() {
            let fmt = wav_format(&mut source);
            source.seek(SeekFrom::Start(0)).map_err(read_error)?;
            (fmt, source)
        } else {
            let mut head = Vec::new();
            source
                .by_ref()
                .take(HEAD_BYTES)
                .read_to_end(&mut head)
                .map_err(read_error)?;
            let fmt = wav_format(&mut head.as_slice());
            let whole: Box<dyn MediaSource> =
                Box::new(ReadOnlySource::new(Cursor::new(head).chain(source)));
            (fmt, whole)
        };
        let Some(fmt) = fmt.filter(WavFormat::for_hound) else {
            return Ok(Err(source));
        };
        let refuse = |why: String| {
            Err(AudioError::Decode(format!(
                "a WAV of {} channels {why}",
                fmt.channels
            )))
        };
        let (file, medium) = Watched::new(source);
        medium.not_ogg();
        let reader = match WavReader::new(BufReader::new(file)) {
            Ok(r) => r,
            Err(e) => return refuse(format!("that cannot be read ({e})")),
        };
        let spec = reader.spec();
        // hound reads samples narrower than their slot (24 bits in 32) from
        // the slot's low bytes, where WAVE_FORMAT_EXTENSIBLE puts them high.
        let slot = u32::from(fmt.block_align) * 8 / u32::from(fmt.channels);
        if u32::from(spec.bits_per_sample) != slot {
            return refuse(format!(
                "of {} bits in {slot}-bit slots is not supported",
                spec.bits_per_sample
            ));
        }
        if spec.sample_rate == 0 {
            return Err(AudioError::SampleRate(0));
        }
        let scale = match spec.sample_format {
            SampleFormat::Float => 1.0,
            SampleFormat::Int => 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32,
        };
        Ok(Ok(WideWav {
            declared: u64::from(reader.duration()),
            info: StreamInfo {
                sample_rate: spec.sample_rate,
                channels: u32::from(spec.channels),
            },
            reader,
            medium,
            scale,
        }))
    }

    pub(super) fn info(&self) -> StreamInfo {
        self.info
    }

    /// Frames the header declares (a cut file holds fewer: the caller
    /// compares).
    pub(super) fn declared(&self) -> u64 {
        self.declared
    }

    /// The next packet into `buf` (interleaved); `false` at the end. `at_s`
    /// (seconds delivered) places a read error.
    pub(super) fn read(&mut self, buf: &mut Vec<f32>, at_s: f64) -> Result<bool, AudioError> {
        buf.clear();
        let want = PACKET * self.info.channels as usize;
        let (float, scale) = (
            self.reader.spec().sample_format == SampleFormat::Float,
            self.scale,
        );
        let result = if float {
            read_into(self.reader.samples::<f32>(), want, buf, |s| s)
        } else {
            read_into(self.reader.samples::<i32>(), want, buf, |s| {
                s as f32 * scale
            })
        };
        match result {
            Ok(()) => {}
            Err(hound::Error::IoError(_)) if self.medium.has_failed() => {
                return Err(self.medium.error(&format!("after {at_s:.2} s of audio")));
            }
            // The data stops before its declared end: what was read is kept
            // (the caller compares with the declared length).
            Err(hound::Error::IoError(_)) => {}
            Err(e) => return Err(AudioError::Decode(e.to_string())),
        }
        // Whole frames only (a cut inside a frame drops its partial samples).
        buf.truncate(buf.len() - buf.len() % self.info.channels as usize);
        Ok(!buf.is_empty())
    }
}

fn read_into<S>(
    samples: impl Iterator<Item = hound::Result<S>>,
    want: usize,
    buf: &mut Vec<f32>,
    to_f32: impl Fn(S) -> f32,
) -> hound::Result<()> {
    for s in samples.take(want) {
        buf.push(to_f32(s?));
    }
    Ok(())
}

/// The fields of a WAV's `fmt ` chunk this reader needs.
struct WavFormat {
    channels: u16,
    block_align: u16,
    /// A WAVE_FORMAT_EXTENSIBLE header's speaker mask.
    channel_mask: Option<u32>,
}

impl WavFormat {
    /// Whether hound reads this WAV rather than symphonia: more channels
    /// than symphonia takes, or a speaker mask with fewer speakers than
    /// channels whose repair in symphonia-format-riff 0.6.1
    /// (`fix_wave_channel_mask`) would shift by 32 or more: a panic where
    /// overflow is checked (debug and fuzzing builds), a wrong mask and a
    /// refusal elsewhere. hound ignores the mask.
    fn for_hound(&self) -> bool {
        let mask_overflows = self.channel_mask.is_some_and(|mask| {
            let missing = i64::from(self.channels) - i64::from(mask.count_ones());
            missing > 0 && (missing >= 32 || mask.leading_zeros() == 0)
        });
        self.channels > SYMPHONIA_MAX || mask_overflows
    }
}

/// The `fmt ` chunk of the WAV `file` starts with (in its first 64 KiB), if
/// it is one. Every source passes here: a file of another kind reads 12 bytes.
fn wav_format(file: &mut dyn Read) -> Option<WavFormat> {
    let mut head = vec![0; 12];
    file.read_exact(&mut head).ok()?;
    if &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    file.take(HEAD_BYTES - 12).read_to_end(&mut head).ok()?;
    let b = head.as_slice();
    let u16le = |at: usize| Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?));
    let u32le = |at: usize| Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?));
    let mut at = 12;
    while at + 8 <= b.len() {
        let size = u32le(at + 4)? as usize;
        if &b[at..at + 4] == b"fmt " {
            let extensible = u16le(at + 8)? == 0xFFFE && size >= 24;
            return Some(WavFormat {
                channels: u16le(at + 10)?,
                block_align: u16le(at + 20)?,
                channel_mask: if extensible { u32le(at + 28) } else { None },
            });
        }
        at = at.checked_add(8 + size + (size & 1))?;
    }
    None
}
