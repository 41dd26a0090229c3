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
/// Widest picture, pixels: longer audio shares a column among several frames
/// (their mean). One column per frame made an hour of mel bands 675 000
/// pixels wide.
const MAX_WIDTH: usize = 8192;

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
    // Frames per column and its width: a column of FRAME_PX per frame while
    // that fits, else columns of one pixel, each the mean of `per` frames.
    let (per, col_px) = if c.frames * FRAME_PX <= MAX_WIDTH {
        (1, FRAME_PX)
    } else {
        (c.frames.div_ceil(MAX_WIDTH), 1)
    };
    let (w, h) = (c.frames.div_ceil(per) * col_px, s1.len() * ROW_PX);
    let mut img = vec![0u8; w * h * 3];
    // Row 0 of the image is the highest frequency.
    for (i, &r) in s1.iter().enumerate() {
        for (k, frames) in c.row(r).chunks(per).enumerate() {
            let mean = frames.iter().sum::<f32>() / frames.len() as f32;
            let v = (level(mean) - lo) / (hi - lo).max(1e-9);
            let px = colour(v);
            for dy in 0..ROW_PX {
                for dx in 0..col_px {
                    let o = ((i * ROW_PX + dy) * w + k * col_px + dx) * 3;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Width and height from a PNG's header.
    fn size(path: &Path) -> (u32, u32) {
        let b = std::fs::read(path).unwrap();
        let be = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
        (be(16), be(20))
    }

    #[test]
    fn long_audio_makes_a_picture_of_bounded_width() {
        let rows: Vec<RowInfo> = (0..4)
            .map(|i| RowInfo::band(100.0 * (i + 1) as f64))
            .collect();
        let dir = std::env::temp_dir().join(format!("sb-picture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 29 s of scattering frames; an hour of mel frames (675 000).
        for (frames, width) in [(114, 114 * FRAME_PX), (675_000, 675_000usize.div_ceil(83))] {
            let c = Coefficients {
                rows: 4,
                frames,
                data: (0..4 * frames).map(|i| 1.0 + (i % 7) as f32).collect(),
            };
            let path = dir.join(format!("{frames}.png"));
            write_s1_png(&path, &c, &rows, Level::Amplitude).unwrap();
            let (w, h) = size(&path);
            assert!(w as usize <= MAX_WIDTH, "{frames} frames: {w} px wide");
            assert_eq!(
                (w as usize, h as usize),
                (width, 4 * ROW_PX),
                "{frames} frames"
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
