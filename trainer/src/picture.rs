//! A picture of the first-order scattering coefficients (or of the mel bands
//! or CQT bins): one row of pixels per band, highest frequency at the top,
//! × time, in decibels, with a perceptually even colour map.

use anyhow::{Result, bail};
use scatterbrain::features::RowInfo;
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

/// Stored blocks of frames before two neighbours are merged: the picture of
/// any length is built in the memory of `4 * MAX_WIDTH` frames, and is
/// exactly as if built at once up to that many frames (2.3 h of scattering).
const MAX_BLOCKS: usize = 4 * MAX_WIDTH;

/// The picture of the rows of order 1 (S1, or every mel band / CQT bin),
/// highest centre frequency at the top, built frame by frame: frames are
/// summed in blocks of `res` (doubled whenever `MAX_BLOCKS` are full), and a
/// column of the picture is the mean of whole blocks.
pub struct Picture {
    /// The rows shown, top first.
    s1: Vec<usize>,
    level: Level,
    /// Frames per block.
    res: usize,
    /// Sums of each block's frames, `s1.len()` per block.
    blocks: Vec<f32>,
    /// Frames in the last block.
    in_last: usize,
    frames: usize,
    /// Extremes of the frames' levels (not the columns').
    hi: f32,
    lo: f32,
}

/// Bands centred below this are left out, as on the page (`S1_MIN_HZ` in
/// www/page/pictures.js): rumble, not music, and below it the scattering's
/// filters are spaced evenly in hertz (31 of its 94 bands, down to 0.5 Hz,
/// were a third of the picture).
pub const MIN_HZ: f64 = 30.0;

impl Picture {
    pub fn new(rows: &[RowInfo], level: Level) -> Self {
        let mut s1: Vec<usize> = (0..rows.len())
            .filter(|&r| rows[r].order == 1 && rows[r].freq1_hz.is_none_or(|f| f >= MIN_HZ))
            .collect();
        // Scattering lists S1 from high to low frequency, mel and CQT from low
        // to high; sort so both come out the same way up.
        s1.sort_by(|&a, &b| {
            let f = |r: usize| rows[r].freq1_hz.unwrap_or(0.0);
            f(b).total_cmp(&f(a))
        });
        Picture {
            s1,
            level,
            res: 1,
            blocks: Vec::new(),
            in_last: 0,
            frames: 0,
            hi: f32::NEG_INFINITY,
            lo: f32::INFINITY,
        }
    }

    fn db(&self, v: f32) -> f32 {
        match self.level {
            Level::Amplitude => 20.0 * v.max(1e-12).log10(),
            Level::Power => 10.0 * v.max(1e-24).log10(),
            Level::Linear => v,
        }
    }

    /// Add the next frame (one value per row of the coefficients).
    pub fn push(&mut self, column: &[f32]) {
        let n = self.s1.len();
        if self.frames == 0 || self.in_last == self.res {
            if self.blocks.len() == MAX_BLOCKS * n {
                // Every block is full: merge neighbours.
                for b in 0..MAX_BLOCKS / 2 {
                    for i in 0..n {
                        self.blocks[b * n + i] =
                            self.blocks[2 * b * n + i] + self.blocks[(2 * b + 1) * n + i];
                    }
                }
                self.blocks.truncate(MAX_BLOCKS / 2 * n);
                self.res *= 2;
            }
            self.blocks.resize(self.blocks.len() + n, 0.0);
            self.in_last = 0;
        }
        let last = self.blocks.len() - n;
        for (i, &r) in self.s1.iter().enumerate() {
            let v = column[r];
            self.blocks[last + i] += v;
            let l = self.db(v);
            self.hi = self.hi.max(l);
            self.lo = self.lo.min(l);
        }
        self.in_last += 1;
        self.frames += 1;
    }

    /// Write the PNG (atomically).
    pub fn write(&self, path: &Path) -> Result<()> {
        let (n, frames) = (self.s1.len(), self.frames);
        if frames == 0 || n == 0 {
            bail!("{}: no frames of order 1 to draw", path.display());
        }
        let hi = self.hi;
        let lo = if self.level != Level::Linear {
            hi - RANGE_DB
        } else {
            self.lo
        };
        // Frames per column and its width: a column of FRAME_PX per frame
        // while that fits, else columns of one pixel, each the mean of `per`
        // frames (whole blocks: a multiple of `res`).
        let (per, col_px) = if frames * FRAME_PX <= MAX_WIDTH {
            (1, FRAME_PX)
        } else {
            (frames.div_ceil(MAX_WIDTH).div_ceil(self.res) * self.res, 1)
        };
        let per_blocks = per / self.res;
        let (w, h) = (frames.div_ceil(per) * col_px, n * ROW_PX);
        let mut img = vec![0u8; w * h * 3];
        let blocks: Vec<&[f32]> = self.blocks.chunks(n).collect();
        for (k, col) in blocks.chunks(per_blocks).enumerate() {
            let count = (frames - k * per).min(per);
            // Row 0 of the image is the highest frequency.
            for i in 0..n {
                let mean = col.iter().map(|b| b[i]).sum::<f32>() / count as f32;
                let v = (self.db(mean) - lo) / (hi - lo).max(1e-9);
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
        // 29 s of scattering frames, a picture of one column of FRAME_PX per
        // frame; 3 h of mel frames (675 000): columns of 1 px, each the mean
        // of a whole number of blocks of frames (here 3 blocks of 32: 96
        // frames), at least 2/3 of the widest picture.
        for (frames, width) in [(114, 114 * FRAME_PX), (675_000, 675_000usize.div_ceil(96))] {
            let mut picture = Picture::new(&rows, Level::Amplitude);
            let mut column = [0.0f32; 4];
            for f in 0..frames {
                column
                    .iter_mut()
                    .enumerate()
                    .for_each(|(r, v)| *v = 1.0 + ((r * frames + f) % 7) as f32);
                picture.push(&column);
            }
            let path = dir.join(format!("{frames}.png"));
            picture.write(&path).unwrap();
            let (w, h) = size(&path);
            assert!(w as usize <= MAX_WIDTH, "{frames} frames: {w} px wide");
            assert!(3 * w as usize >= 2 * MAX_WIDTH || frames < MAX_WIDTH);
            assert_eq!(
                (w as usize, h as usize),
                (width, 4 * ROW_PX),
                "{frames} frames"
            );
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Bands below 30 Hz are left out, as on the page.
    #[test]
    fn bands_below_30_hz_are_left_out() {
        let rows: Vec<RowInfo> = [0.5, 12.0, 29.9, 30.0, 440.0]
            .into_iter()
            .map(RowInfo::band)
            .collect();
        let picture = Picture::new(&rows, Level::Amplitude);
        assert_eq!(picture.s1, [4, 3]);
    }

    /// Blocks merged as frames come give the means of the frames they hold:
    /// a picture of a ramp is the same as one made of fewer, averaged frames.
    #[test]
    fn merged_blocks_are_means_of_their_frames() {
        let rows = [RowInfo::band(100.0)];
        let dir = std::env::temp_dir().join(format!("sb-picture-mean-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 2^17 frames (res 4): columns of 16 frames; the ramp's column means.
        let frames = 1 << 17;
        let mut long = Picture::new(&rows, Level::Linear);
        for f in 0..frames {
            long.push(&[f as f32]);
        }
        let mut short = Picture::new(&rows, Level::Linear);
        for k in 0..frames / 16 {
            short.push(&[(16 * k) as f32 + 7.5]);
        }
        // Same extremes, for the same colour scale.
        (short.hi, short.lo) = (long.hi, long.lo);
        let (a, b) = (dir.join("long.png"), dir.join("short.png"));
        long.write(&a).unwrap();
        short.write(&b).unwrap();
        assert_eq!(size(&a), (8192, ROW_PX as u32));
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        std::fs::remove_dir_all(&dir).ok();
    }
}
