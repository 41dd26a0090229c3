//! Augmentation of training batches in the feature domain: mixup of clips and
//! of their (soft) targets, and SpecAugment-style masks over frames and rows.
//!
//! The scattering transform is the expensive part of a step's input, so it is
//! cached per clip (see [`crate::cache`]) and augmentation works on the cached,
//! standardised coefficients: a masked stretch is set to 0, the training mean.
//! Audio-domain augmentation (gain, EQ, pitch, re-encoding) would need the
//! transform per step and is not done here.
//!
//! Draws come from one generator per epoch seeded by (seed, epoch), so a run
//! resumed at an epoch boundary augments as an uninterrupted one would.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Beta, Distribution};
use serde::Serialize;

#[derive(clap::Args, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Augment {
    /// Mixup: each training clip is blended with another clip of its batch,
    /// features and targets alike, with weight λ ~ Beta(α, α) (the larger
    /// of λ and 1 − λ on the clip itself); 0 turns it off. 0.2–0.4 is usual.
    #[arg(long, default_value_t = 0.0)]
    pub mixup: f64,
    /// Time masks per training clip (SpecAugment): stretches of frames set
    /// to the training mean.
    #[arg(long, default_value_t = 0)]
    pub time_masks: usize,
    /// Longest time mask, in frames (a frame is 4096 samples at 16 kHz).
    #[arg(long, default_value_t = 12)]
    pub time_mask_frames: usize,
    /// Row masks per training clip: runs of adjacent coefficient rows
    /// (neighbouring frequencies) set to the training mean.
    #[arg(long, default_value_t = 0)]
    pub row_masks: usize,
    /// Longest row mask, in rows.
    #[arg(long, default_value_t = 16)]
    pub row_mask_rows: usize,
}

impl Augment {
    pub fn is_off(&self) -> bool {
        self.mixup == 0.0 && self.time_masks == 0 && self.row_masks == 0
    }

    /// Refuse settings that cannot mean anything.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.mixup >= 0.0 && self.mixup.is_finite()) {
            return Err(format!("--mixup must be ≥ 0, got {}", self.mixup));
        }
        if self.time_masks > 0 && self.time_mask_frames == 0 {
            return Err("--time-mask-frames must be at least 1".into());
        }
        if self.row_masks > 0 && self.row_mask_rows == 0 {
            return Err("--row-mask-rows must be at least 1".into());
        }
        Ok(())
    }

    /// The generator for one epoch's batches.
    pub fn rng(seed: u64, epoch: u32) -> StdRng {
        StdRng::seed_from_u64(seed ^ (u64::from(epoch) << 40) ^ 0xA06_3E47)
    }

    /// Augment one batch in place: `xs` holds `batch` clips of `rows × frames`
    /// (row-major, as [`scatterbrain::transform::Coefficients`]), `ys` their
    /// `batch × tags` targets.
    pub fn apply(
        &self,
        rng: &mut StdRng,
        xs: &mut [f32],
        ys: &mut [f32],
        rows: usize,
        tags: usize,
    ) {
        let batch = ys.len() / tags.max(1);
        if batch == 0 || rows == 0 {
            return;
        }
        let clip = xs.len() / batch;
        let frames = clip / rows;
        if self.mixup > 0.0 && batch > 1 {
            let beta = Beta::new(self.mixup, self.mixup).expect("validated: α > 0");
            let (x0, y0) = (xs.to_vec(), ys.to_vec());
            for i in 0..batch {
                // A partner other than the clip itself.
                let j = (i + 1 + rng.random_range(0..batch - 1)) % batch;
                let l: f64 = beta.sample(rng);
                let l = l.max(1.0 - l) as f32;
                blend(
                    &mut xs[i * clip..(i + 1) * clip],
                    &x0[j * clip..(j + 1) * clip],
                    l,
                );
                blend(
                    &mut ys[i * tags..(i + 1) * tags],
                    &y0[j * tags..(j + 1) * tags],
                    l,
                );
            }
        }
        for x in xs.chunks_exact_mut(clip) {
            for _ in 0..self.time_masks {
                let (start, len) = span(rng, frames, self.time_mask_frames);
                for r in 0..rows {
                    x[r * frames + start..r * frames + start + len].fill(0.0);
                }
            }
            for _ in 0..self.row_masks {
                let (start, len) = span(rng, rows, self.row_mask_rows);
                x[start * frames..(start + len) * frames].fill(0.0);
            }
        }
    }
}

/// `a ← l·a + (1 − l)·b`.
fn blend(a: &mut [f32], b: &[f32], l: f32) {
    for (a, b) in a.iter_mut().zip(b) {
        *a = l * *a + (1.0 - l) * b;
    }
}

/// A random stretch of 0..=`longest` (at most `n`) items inside `0..n`.
fn span(rng: &mut StdRng, n: usize, longest: usize) -> (usize, usize) {
    let len = rng.random_range(0..=longest.min(n));
    (rng.random_range(0..=n - len), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: usize = 6;
    const FRAMES: usize = 10;
    const TAGS: usize = 3;

    fn batch(n: usize) -> (Vec<f32>, Vec<f32>) {
        let xs = (0..n * ROWS * FRAMES)
            .map(|k| 1.0 + (k / (ROWS * FRAMES)) as f32)
            .collect();
        let ys = (0..n * TAGS).map(|k| ((k / TAGS) % 2) as f32).collect();
        (xs, ys)
    }

    #[test]
    fn off_changes_nothing() {
        let (mut xs, mut ys) = batch(4);
        let before = (xs.clone(), ys.clone());
        Augment::default().apply(&mut Augment::rng(1, 0), &mut xs, &mut ys, ROWS, TAGS);
        assert_eq!((xs, ys), before);
        assert!(Augment::default().is_off());
    }

    #[test]
    fn mixup_blends_features_and_targets_with_one_weight() {
        let (mut xs, mut ys) = batch(4);
        let a = Augment {
            mixup: 0.4,
            ..Augment::default()
        };
        assert!(!a.is_off());
        a.apply(&mut Augment::rng(1, 0), &mut xs, &mut ys, ROWS, TAGS);
        let clip = ROWS * FRAMES;
        for i in 0..4 {
            // Clip i was all 1 + i with targets i % 2; its blend with a clip
            // j ≠ i by weight l ≥ ½ moves every element and target alike.
            let x = xs[i * clip];
            assert!(xs[i * clip..(i + 1) * clip].iter().all(|v| *v == x));
            let y = ys[i * TAGS];
            assert!(ys[i * TAGS..(i + 1) * TAGS].iter().all(|v| *v == y));
            let (own, own_y) = (1.0 + i as f32, (i % 2) as f32);
            let explained = (0..4).filter(|j| *j != i).any(|j| {
                let other = 1.0 + j as f32;
                let l = (x - other) / (own - other);
                let other_y = (j % 2) as f32;
                (0.5..=1.0).contains(&l) && (y - (l * own_y + (1.0 - l) * other_y)).abs() < 1e-5
            });
            assert!(explained, "clip {i}: x {x}, y {y}");
        }
        assert_ne!(xs, batch(4).0, "something was mixed");
    }

    #[test]
    fn masks_zero_whole_stretches_and_are_reproducible() {
        let a = Augment {
            time_masks: 2,
            time_mask_frames: 4,
            row_masks: 1,
            row_mask_rows: 3,
            ..Augment::default()
        };
        let (mut xs, mut ys) = batch(3);
        a.apply(&mut Augment::rng(7, 2), &mut xs, &mut ys, ROWS, TAGS);
        let (mut again, mut ys2) = batch(3);
        a.apply(&mut Augment::rng(7, 2), &mut again, &mut ys2, ROWS, TAGS);
        assert_eq!(xs, again, "same seed and epoch, same masks");
        assert_eq!(ys, batch(3).1, "masks leave targets alone");
        let zeros = xs.iter().filter(|v| **v == 0.0).count();
        assert!(
            zeros > 0 && zeros <= 3 * (2 * 4 * ROWS + 3 * FRAMES),
            "{zeros} zeros"
        );
        // Every zero lies in a fully masked frame or a fully masked row.
        for clip in xs.chunks(ROWS * FRAMES) {
            let row_zero = |r: usize| clip[r * FRAMES..(r + 1) * FRAMES].iter().all(|v| *v == 0.0);
            let frame_zero = |f: usize| (0..ROWS).all(|r| clip[r * FRAMES + f] == 0.0);
            for r in 0..ROWS {
                for f in 0..FRAMES {
                    if clip[r * FRAMES + f] == 0.0 {
                        assert!(row_zero(r) || frame_zero(f), "stray zero at {r},{f}");
                    }
                }
            }
        }
    }

    #[test]
    fn nonsense_is_refused() {
        let bad = Augment {
            mixup: -1.0,
            ..Augment::default()
        };
        assert!(bad.validate().is_err());
        let bad = Augment {
            time_masks: 1,
            time_mask_frames: 0,
            ..Augment::default()
        };
        assert!(bad.validate().is_err());
    }
}
