//! A picture of the first-order scattering coefficients (or of the mel bands
//! or CQT bins): one row of pixels per band, highest frequency at the top,
//! × time, in decibels, with a perceptually even colour map.

use anyhow::Result;
use scatterbrain::features::RowInfo;
use scatterbrain::transform::Coefficients;
use std::path::Path;

/// Pixels per row and per frame (S1 has ~94 rows and 114 frames per 29 s).
const ROW_PX: usize = 4;
const FRAME_PX: usize = 3;
/// Dynamic range shown, dB.
const RANGE_DB: f32 = 70.0;

/// Viridis, sampled at 9 points; linear in between.
const VIRIDIS: [[f32; 3]; 9] = [
    [68.0, 1.0, 84.0],
    [71.0, 44.0, 122.0],
    [59.0, 81.0, 139.0],
    [44.0, 113.0, 142.0],
    [33.0, 144.0, 141.0],
    [39.0, 173.0, 129.0],
    [92.0, 200.0, 99.0],
    [170.0, 220.0, 50.0],
    [253.0, 231.0, 37.0],
];

fn colour(v: f32) -> [u8; 3] {
    let x = v.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f32;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let t = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    [0, 1, 2].map(|c| (a[c] + t * (b[c] - a[c])).round() as u8)
}

/// What the values are, for the colour scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Amplitudes (scattering, CQT magnitudes): shown as 20·log10.
    Amplitude,
    /// Powers (mel): shown as 10·log10.
    Power,
    /// Already on a log or standardised scale: shown linearly between the
    /// extremes.
    Linear,
}

/// Write the rows of order 1 (S1, or every mel band / CQT bin) as a PNG,
/// highest centre frequency at the top.
pub fn write_s1_png(path: &Path, c: &Coefficients, rows: &[RowInfo], level: Level) -> Result<()> {
    let mut s1: Vec<usize> = (0..c.rows).filter(|&r| rows[r].order == 1).collect();
    // Scattering lists S1 from high to low frequency, mel and CQT from low
    // to high; sort so both come out the same way up.
    s1.sort_by(|&a, &b| {
        let f = |r: usize| rows[r].freq1_hz.unwrap_or(0.0);
        f(b).total_cmp(&f(a))
    });
    let decibels = level != Level::Linear;
    let level = |v: f32| match level {
        Level::Amplitude => 20.0 * v.max(1e-12).log10(),
        Level::Power => 10.0 * v.max(1e-24).log10(),
        Level::Linear => v,
    };
    let vals: Vec<f32> = s1
        .iter()
        .flat_map(|&r| c.row(r).iter().map(|&v| level(v)))
        .collect();
    let hi = vals.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let lo = if decibels {
        hi - RANGE_DB
    } else {
        vals.iter().cloned().fold(f32::INFINITY, f32::min)
    };
    let (w, h) = (c.frames * FRAME_PX, s1.len() * ROW_PX);
    let mut img = vec![0u8; w * h * 3];
    // Row 0 of the image is the highest frequency.
    for (i, &r) in s1.iter().enumerate() {
        for f in 0..c.frames {
            let v = (level(c.row(r)[f]) - lo) / (hi - lo).max(1e-9);
            let px = colour(v);
            for dy in 0..ROW_PX {
                for dx in 0..FRAME_PX {
                    let o = ((i * ROW_PX + dy) * w + f * FRAME_PX + dx) * 3;
                    img[o..o + 3].copy_from_slice(&px);
                }
            }
        }
    }
    crate::output::write_with(path, |out| {
        let mut enc = png::Encoder::new(out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut png = enc.write_header()?;
        png.write_image_data(&img)?;
        // Dropping the writer would write the end of the file and ignore
        // any error doing so.
        png.finish()?;
        Ok(())
    })
}
