//! [`decode_audio`]: a file's bytes to PCM with the core's decoder, as the
//! CLI decodes (`decode.rs`), for the page's coordinating worker. The bytes
//! stay in JS and are read in place; the samples go out in slices, so that
//! neither the file nor its decoded audio has to fit in this instance's
//! memory (which never shrinks) at once.

use super::{call_progress, js, set};
use crate::decode::AudioReader;
use crate::resample::ToMono;
use js_sys::{Array, Float32Array, Function, Object, Uint8Array};
use std::cell::Cell;
use std::io::{Read, Seek, SeekFrom};
use std::rc::Rc;
use symphonia::core::io::MediaSource;
use wasm_bindgen::prelude::*;

/// A JS `Uint8Array` as a seekable byte source.
struct JsBytes {
    bytes: Uint8Array,
    len: u64,
    pos: u64,
    /// Where reading has got to, for progress (the reader owns the source).
    reached: Rc<Cell<u64>>,
}

// SAFETY: symphonia wants sources it could move across threads; this build
// has no threads (wasm32 without atomics), so the JS value never leaves the
// one it was made on.
unsafe impl Send for JsBytes {}
unsafe impl Sync for JsBytes {}

impl Read for JsBytes {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = self.pos.min(self.len);
        let end = (start + buf.len() as u64).min(self.len);
        let n = (end - start) as usize;
        if n > 0 {
            self.bytes
                .subarray(start as u32, end as u32)
                .copy_to(&mut buf[..n]);
        }
        self.pos = end;
        self.reached.set(self.reached.get().max(end));
        Ok(n)
    }
}

impl Seek for JsBytes {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.pos)
    }
}

impl MediaSource for JsBytes {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

/// Seconds of output per slice handed to `sink`.
const SLICE_SECONDS: usize = 5;

/// Decode `bytes` (a whole file; `extension` hints at its format) as the
/// CLI does. Each slice of output goes to `sink(planes)`, one `Float32Array`
/// per output channel; `progress(done, total, "decode")` in bytes read.
///
/// `mono_rate` 0 keeps the file's rate and channels (the analysis then mixes
/// and resamples them, as natively); otherwise the audio is mixed to mono
/// and resampled to `mono_rate` here, slice by slice (the core's `ToMono`,
/// the CLI's road), so that a long file never sits in memory at its own
/// rate. Decoding stops with an error past `max_seconds`.
///
/// Returns `{sampleRate, channels, fileRate, fileChannels, frames, seconds,
/// earlyEnd, nonFinite}`: the output's rate, channel count and frame count;
/// the file's; the seconds decoded; why the stream ended before its end (the
/// CLI's warning, or null); NaN or infinite samples read as silence (counted
/// only when mixing here).
#[wasm_bindgen]
pub fn decode_audio(
    bytes: Uint8Array,
    extension: Option<String>,
    mono_rate: u32,
    max_seconds: f64,
    sink: &Function,
    progress: Option<Function>,
) -> Result<JsValue, JsError> {
    let len = u64::from(bytes.length());
    if len == 0 {
        return Err(js(crate::error::AudioError::Empty));
    }
    let reached = Rc::new(Cell::new(0));
    let source = JsBytes {
        bytes,
        len,
        pos: 0,
        reached: reached.clone(),
    };
    let mut reader =
        AudioReader::from_source(Box::new(source), extension.as_deref()).map_err(js)?;
    let info = reader.info();
    let mut mono = match mono_rate {
        0 => None,
        rate => Some(ToMono::new(info.sample_rate, info.channels, rate).map_err(js)?),
    };
    let (rate, out_channels) = match mono {
        Some(_) => (mono_rate, 1),
        None => (info.sample_rate, info.channels as usize),
    };
    let slice = rate as usize * SLICE_SECONDS;
    let max_frames = (max_seconds * f64::from(info.sample_rate)).max(0.0);
    let mut planes: Vec<Vec<f32>> = vec![Vec::with_capacity(slice + 4096); out_channels];
    let mut frames = 0u64;
    let mut shown = 0u64;
    let send = |planes: &mut Vec<Vec<f32>>, frames: &mut u64| -> Result<(), JsError> {
        if planes[0].is_empty() {
            return Ok(());
        }
        *frames += planes[0].len() as u64;
        let out = Array::new();
        for p in planes.iter_mut() {
            out.push(&Float32Array::from(&p[..]));
            p.clear();
        }
        sink.call1(&JsValue::NULL, &out)
            .map(|_| ())
            .map_err(|e| JsError::new(&format!("the decoded audio could not be kept: {e:?}")))
    };
    call_progress(&progress, 0, len as f64, "decode");
    while let Some(pcm) = reader.next_packet().map_err(js)? {
        match &mut mono {
            Some(m) => m.push(pcm, &mut planes[0]).map_err(js)?,
            None => {
                for frame in pcm.chunks_exact(out_channels) {
                    for (p, &v) in planes.iter_mut().zip(frame) {
                        p.push(v);
                    }
                }
            }
        }
        if reader.frames() as f64 > max_frames {
            return Err(JsError::new(&format!(
                "the audio is longer than {max_seconds} s, the most this page analyses"
            )));
        }
        if planes[0].len() >= slice {
            send(&mut planes, &mut frames)?;
            // Progress in bytes, at most every 1 % of the file.
            let at = reached.get();
            if at > shown + len / 100 {
                shown = at;
                call_progress(&progress, at as usize, len as f64, "decode");
            }
        }
    }
    let non_finite = match &mut mono {
        Some(m) => {
            m.finish(&mut planes[0]).map_err(js)?;
            m.non_finite()
        }
        None => 0,
    };
    send(&mut planes, &mut frames)?;
    call_progress(&progress, len as usize, len as f64, "decode");

    let result = Object::new().into();
    let num = |v: f64| JsValue::from_f64(v);
    set(&result, "sampleRate", &num(rate.into()))?;
    set(&result, "channels", &num(out_channels as f64))?;
    set(&result, "fileRate", &num(info.sample_rate.into()))?;
    set(&result, "fileChannels", &num(info.channels.into()))?;
    set(&result, "frames", &num(frames as f64))?;
    let seconds = reader.frames() as f64 / f64::from(info.sample_rate);
    set(&result, "seconds", &num(seconds))?;
    let early = reader.ended_early().map(|e| e.to_string());
    set(
        &result,
        "earlyEnd",
        &early.map_or(JsValue::NULL, |e| e.into()),
    )?;
    set(&result, "nonFinite", &num(non_finite as f64))?;
    Ok(result)
}
