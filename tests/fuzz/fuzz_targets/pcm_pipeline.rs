//! Arbitrary PCM (any rate and channel count; any f32, NaN, ±Inf and 3e38
//! included) → ToMono and Pipeline directly, pushed in arbitrary chunks: the
//! road the page takes after `decodeAudioData`. Beyond "no panic": streaming
//! gives the one-shot conversion bit for bit, every sample read as silence
//! is counted, the output is finite and as long as documented, and every
//! coefficient (raw and normalised) is finite.
#![no_main]

mod common;

use common::{MAX_SECONDS, Windows, check_refusal, with_features};
use libfuzzer_sys::fuzz_target;
use scatterbrain::error::AudioError;
use scatterbrain::pipeline::{Form, Pipeline};
use scatterbrain::resample::{MAX_SAMPLE, ToMono, to_mono};

/// Rates real files have; most inputs use one of them.
const RATES: [u32; 8] = [
    8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 192_000,
];

struct Input {
    channels: u32,
    rate: u32,
    /// Frames per push.
    chunk: usize,
    form: Form,
    samples: Vec<f32>,
}

/// `[channels] [rate selector: u32 LE] [chunk] [mode]`, then the samples.
fn parse(data: &[u8]) -> Option<Input> {
    let (head, body) = data.split_at_checked(7)?;
    // 0 and 33 are out of range: the refusal is checked too.
    let channels = u32::from(head[0] % 34);
    let sel = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    let rate = match sel % 8 {
        // Any rate in range: most share a small gcd with 16 kHz, which
        // gives the resampler large FFTs.
        6 => 1_000 + (sel / 8) % 767_001,
        // Mostly out of range.
        7 => sel / 8,
        _ => RATES[(sel / 8) as usize % RATES.len()],
    };
    let chunk = 1 + usize::from(head[5]) * 61;
    let form = [Form::Raw, Form::Model, Form::Both][usize::from(head[6] % 3)];
    let samples = if head[6] & 0x80 == 0 {
        // Raw f32 bit patterns: NaN, ±Inf, subnormals, 3e38.
        body.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else {
        // 16-bit PCM, as most files hold: plausible audio reaches the transform.
        body.chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect()
    };
    Some(Input {
        channels,
        rate,
        chunk,
        form,
        samples,
    })
}

/// Samples ToMono must read as silence (and count).
fn bad(samples: &[f32]) -> u64 {
    samples.iter().filter(|s| !(s.abs() <= MAX_SAMPLE)).count() as u64
}

fuzz_target!(|data: &[u8]| {
    let Some(Input {
        channels,
        rate,
        chunk,
        form,
        mut samples,
    }) = parse(data)
    else {
        return;
    };
    with_features(|features| {
        let mut pipeline = match Pipeline::new(features, form, rate, channels) {
            Ok(p) => p,
            Err(e) => return check_refusal(&e, rate, channels),
        };
        let ch = channels as usize;
        samples.truncate((MAX_SECONDS * f64::from(rate)) as usize * ch);
        let whole = &samples[..samples.len() / ch * ch];

        // ToMono alone.
        let once = to_mono(whole, rate, channels, 16_000).expect("to_mono of whole frames");
        let mut conv = ToMono::new(rate, channels, 16_000).expect("ToMono::new in range");
        let mut streamed = Vec::new();
        for c in whole.chunks(chunk * ch) {
            conv.push(c, &mut streamed).expect("push of whole frames");
        }
        conv.finish(&mut streamed).expect("finish");
        assert_eq!(conv.non_finite(), bad(whole), "samples read as silence");
        assert_eq!(
            streamed.len() as u64,
            conv.output_len((whole.len() / ch) as u64)
        );
        assert!(
            streamed.iter().all(|v| v.is_finite()),
            "non-finite mono output"
        );
        assert!(
            once.len() == streamed.len()
                && once
                    .iter()
                    .zip(&streamed)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
            "pushing {chunk} frames at a time differs from converting at once"
        );

        // The pipeline: only a last, partial frame may be refused, and then
        // nothing of its chunk is taken.
        let mut windows = Windows::new(features, rate);
        let mut fed_bad = 0;
        for c in samples.chunks(chunk * ch) {
            let r = pipeline.push(features, None, c, |w| windows.window(w));
            if c.len() % ch != 0 {
                assert!(
                    matches!(r, Err(AudioError::Interleave { .. })),
                    "partial frame: {r:?}"
                );
            } else {
                r.expect("push of whole frames");
                windows.frames_in += (c.len() / ch) as u64;
                fed_bad += bad(c);
            }
        }
        assert_eq!(pipeline.non_finite(), fed_bad, "samples read as silence");
        let result = pipeline.finish(features, None, |w| windows.window(w));
        windows.end(result);
    });
});
