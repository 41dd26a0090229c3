//! Augmentation of training batches in the feature domain: mixup of clips and
//! of their (soft) targets, SpecAugment-style masks over frames and rows, and
//! a random equaliser.
//!
//! The scattering transform is the expensive part of a step's input, so it is
//! cached per clip (see [`crate::cache`]) and augmentation works on the cached,
//! standardised coefficients: a masked stretch is set to 0, the training mean.
//! An equaliser is one audio-domain change the cache does not prevent: the
//! normalised scattering is ln(S1 / A0) and ln(S2 / S1), and a smooth gain
//! g(f) multiplies S1(λ1) and S2(λ1, ·) alike, so it adds ln g(λ1) to each
//! first-order row and leaves the second order exactly as it was; A0 (row 0,
//! the loudness) is taken as unchanged, as after loudness matching, so the
//! first-order rows get ln g(λ1) minus its mean over the rows. Pitch shift,
//! time stretch and re-encoding would need the transform per step and are
//! not done here.
//!
//! Draws come from one generator per epoch seeded by (seed, epoch), so a run
//! resumed at an epoch boundary augments as an uninterrupted one would.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Beta, Distribution};
use scatterbrain::transform::RowInfo;
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
    /// Random equaliser per training clip, at most this many dB of boost or
    /// cut: a tilt and two bell curves over log frequency (scattering front
    /// end with log compression only); 0 turns it off. 6 is a strong EQ.
    #[arg(long, default_value_t = 0.0)]
    pub eq_db: f64,
    /// Random crops: each training batch is cut to a random length of at
    /// least this many frames (a window has 114), each clip from its own
    /// random start and labelled with the whole clip's targets (or, with
    /// `--patch-targets`, the teacher's patches it covers); 0 turns it off.
    #[arg(long, default_value_t = 0)]
    pub crop_frames: usize,
}

/// What the equaliser needs to know of the feature rows: for each
/// first-order row, the log2 of its centre frequency and the change of its
/// standardised value per unit of ln amplitude (1 / std, or 1 when the row
/// is not standardised); `None` for the other rows.
#[derive(Clone, Debug, Default)]
pub struct EqRows(Vec<Option<(f64, f32)>>);

impl EqRows {
    /// `info`: the front end's rows; `per_ln`: each row's standardised change
    /// per unit of ln amplitude.
    pub fn new(info: &[RowInfo], per_ln: impl Fn(usize) -> f32) -> Self {
        EqRows(
            info.iter()
                .enumerate()
                .map(|(r, i)| match (i.order, i.freq1_hz) {
                    (1, Some(f)) if f > 0.0 => Some((f.log2(), per_ln(r))),
                    _ => None,
                })
                .collect(),
        )
    }
}

impl Augment {
    pub fn is_off(&self) -> bool {
        self.mixup == 0.0
            && self.time_masks == 0
            && self.row_masks == 0
            && self.eq_db == 0.0
            && self.crop_frames == 0
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
        if !(self.eq_db >= 0.0 && self.eq_db <= 40.0) {
            return Err(format!("--eq-db must be in 0..=40, got {}", self.eq_db));
        }
        Ok(())
    }

    /// The generator for one epoch's batches.
    pub fn rng(seed: u64, epoch: u32) -> StdRng {
        StdRng::seed_from_u64(seed ^ (u64::from(epoch) << 40) ^ 0xA06_3E47)
    }

    /// Augment one batch in place: `xs` holds `batch` clips of `rows × frames`
    /// (row-major, as [`scatterbrain::transform::Coefficients`]), `ys` their
    /// `batch × tags` targets; `eq` describes the rows for `--eq-db`.
    pub fn apply(
        &self,
        rng: &mut StdRng,
        xs: &mut [f32],
        ys: &mut [f32],
        rows: usize,
        tags: usize,
        eq: &EqRows,
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
            if self.eq_db > 0.0 {
                equalise(rng, x, frames, eq, self.eq_db);
            }
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

    /// `--crop-frames`: cut `xs` (clips of `rows × frames`, after
    /// [`Self::apply`]) to a random length from `crop_frames` to `frames`,
    /// each clip from its own random start. Returns the new frame count and
    /// each clip's start (none when nothing was cut).
    /// The clips are whole tracks' 29 s windows, so a crop is the
    /// feature-domain form of a random window offset (the cache holds one
    /// window per clip).
    pub fn crop(
        &self,
        rng: &mut StdRng,
        xs: &mut Vec<f32>,
        rows: usize,
        frames: usize,
    ) -> (usize, Vec<usize>) {
        if self.crop_frames == 0 || self.crop_frames >= frames || rows == 0 {
            return (frames, Vec::new());
        }
        let len = rng.random_range(self.crop_frames..=frames);
        if len == frames {
            return (frames, Vec::new());
        }
        let mut out = Vec::with_capacity(xs.len() / frames * len);
        let mut starts = Vec::with_capacity(xs.len() / (rows * frames));
        for x in xs.chunks_exact(rows * frames) {
            let start = rng.random_range(0..=frames - len);
            starts.push(start);
            for row in x.chunks_exact(frames) {
                out.extend_from_slice(&row[start..start + len]);
            }
        }
        *xs = out;
        (len, starts)
    }
}

/// One clip through a random equaliser of at most `db` dB (module docs).
fn equalise(rng: &mut StdRng, x: &mut [f32], frames: usize, eq: &EqRows, db: f64) {
    // Over log2 frequency: a tilt pivoting at 1 kHz (± db/2 over 4 octaves)
    // and two bells of 0.5–1.5 octaves between 100 Hz and 6 kHz.
    let tilt = rng.random_range(-0.5..=0.5) * db / 4.0;
    let bells: Vec<(f64, f64, f64)> = (0..2)
        .map(|_| {
            (
                rng.random_range(-db..=db) * 0.75,
                rng.random_range(100f64.log2()..=6000f64.log2()),
                rng.random_range(0.5..=1.5),
            )
        })
        .collect();
    let gain_db = |l2f: f64| {
        let bells: f64 = bells
            .iter()
            .map(|(a, m, w)| a * (-(l2f - m).powi(2) / (2.0 * w * w)).exp())
            .sum();
        (tilt * (l2f - 1000f64.log2()) + bells).clamp(-db, db)
    };
    let ln: Vec<Option<(f64, f32)>> =
        eq.0.iter()
            .map(|r| r.map(|(l2f, per_ln)| (gain_db(l2f) * std::f64::consts::LN_10 / 20.0, per_ln)))
            .collect();
    let n = ln.iter().flatten().count();
    if n == 0 {
        return;
    }
    // Loudness-matched: the mean change over the first-order rows is taken off.
    let mean = ln.iter().flatten().map(|(g, _)| g).sum::<f64>() / n as f64;
    for (r, row) in ln.iter().enumerate().take(x.len() / frames) {
        if let Some((g, per_ln)) = row {
            let d = ((g - mean) as f32) * per_ln;
            for v in &mut x[r * frames..(r + 1) * frames] {
                *v += d;
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

    /// `a` on a batch of the test's shape, without the equaliser's rows.
    fn run(a: &Augment, seed: u64, epoch: u32, xs: &mut [f32], ys: &mut [f32]) {
        a.apply(
            &mut Augment::rng(seed, epoch),
            xs,
            ys,
            ROWS,
            TAGS,
            &EqRows::default(),
        );
    }

    #[test]
    fn off_changes_nothing() {
        let (mut xs, mut ys) = batch(4);
        let before = (xs.clone(), ys.clone());
        run(&Augment::default(), 1, 0, &mut xs, &mut ys);
        assert_eq!((xs, ys), before);
        assert!(Augment::default().is_off());
    }

    #[test]
    fn crops_cut_every_row_of_a_clip_at_one_start() {
        // Each value names its clip, row and frame.
        let xs: Vec<f32> = (0..4 * ROWS * FRAMES).map(|k| k as f32).collect();
        let a = Augment {
            crop_frames: 4,
            ..Augment::default()
        };
        assert!(!a.is_off());
        let mut lens = std::collections::BTreeSet::new();
        let mut starts = std::collections::BTreeSet::new();
        let mut rng = Augment::rng(3, 0);
        for _ in 0..200 {
            let mut x = xs.clone();
            let (len, clip_starts) = a.crop(&mut rng, &mut x, ROWS, FRAMES);
            assert!((4..=FRAMES).contains(&len));
            assert_eq!(clip_starts.len(), if len == FRAMES { 0 } else { 4 });
            assert_eq!(x.len(), 4 * ROWS * len);
            lens.insert(len);
            for (c, clip) in x.chunks_exact(ROWS * len).enumerate() {
                let start = clip[0] as usize - c * ROWS * FRAMES;
                assert!(start + len <= FRAMES);
                if len < FRAMES {
                    assert_eq!(clip_starts[c], start);
                }
                starts.insert(start);
                for (r, row) in clip.chunks_exact(len).enumerate() {
                    let first = (c * ROWS + r) * FRAMES + start;
                    let want: Vec<f32> = (first..first + len).map(|k| k as f32).collect();
                    assert_eq!(row, &want[..], "clip {c} row {r}");
                }
            }
        }
        // Every length and start is drawn.
        assert_eq!(lens.len(), FRAMES - 4 + 1);
        assert_eq!(starts.len(), FRAMES - 4 + 1);
        // Off, or no shorter than the clip: unchanged.
        for crop_frames in [0, FRAMES] {
            let mut x = xs.clone();
            let a = Augment {
                crop_frames,
                ..Augment::default()
            };
            assert_eq!(a.crop(&mut rng, &mut x, ROWS, FRAMES), (FRAMES, vec![]));
            assert_eq!(x, xs);
        }
    }

    #[test]
    fn mixup_blends_features_and_targets_with_one_weight() {
        let (mut xs, mut ys) = batch(4);
        let a = Augment {
            mixup: 0.4,
            ..Augment::default()
        };
        assert!(!a.is_off());
        run(&a, 1, 0, &mut xs, &mut ys);
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
        run(&a, 7, 2, &mut xs, &mut ys);
        let (mut again, mut ys2) = batch(3);
        run(&a, 7, 2, &mut again, &mut ys2);
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
    fn eq_moves_first_order_rows_smoothly_and_leaves_the_rest() {
        // Rows: order 0, six first-order bands from 100 Hz to 3.2 kHz, then
        // two second-order rows; band r's std is r (so its change per ln
        // unit is 1 / r).
        let mut info = vec![RowInfo {
            order: 0,
            freq1_hz: None,
            freq2_hz: None,
        }];
        info.extend((0..6).map(|k| RowInfo::band(100.0 * 2f64.powi(k))));
        info.extend((0..2).map(|_| RowInfo {
            order: 2,
            freq1_hz: Some(400.0),
            freq2_hz: Some(2.0),
        }));
        let rows = info.len();
        let eq = EqRows::new(&info, |r| 1.0 / r as f32);
        let a = Augment {
            eq_db: 6.0,
            ..Augment::default()
        };
        assert!(!a.is_off());
        let (n, frames, tags) = (8, 5, 2);
        let mut xs = vec![0.0f32; n * rows * frames];
        let mut ys = vec![0.5f32; n * tags];
        a.apply(&mut Augment::rng(3, 1), &mut xs, &mut ys, rows, tags, &eq);
        assert_eq!(ys, vec![0.5; n * tags], "targets untouched");
        let mut moved = 0;
        for clip in xs.chunks(rows * frames) {
            let row = |r: usize| &clip[r * frames..(r + 1) * frames];
            // Each row moves as a whole (a gain, not noise).
            assert!((0..rows).all(|r| row(r).iter().all(|v| *v == row(r)[0])));
            assert!(row(0).iter().chain(row(7)).chain(row(8)).all(|v| *v == 0.0));
            // Back to ln amplitude: within ±6 dB of each other's mean, and
            // loudness-matched (they sum to 0).
            let ln: Vec<f64> = (1..7).map(|r| f64::from(row(r)[0]) * r as f64).collect();
            assert!(ln.iter().sum::<f64>().abs() < 1e-4, "{ln:?}");
            let bound = 2.0 * 6.0 * std::f64::consts::LN_10 / 20.0;
            assert!(ln.iter().all(|g| g.abs() <= bound + 1e-6), "{ln:?}");
            moved += usize::from(ln.iter().any(|g| g.abs() > 1e-3));
        }
        assert!(
            moved >= n - 1,
            "the equaliser changed only {moved} of {n} clips"
        );
        let mut again = vec![0.0f32; n * rows * frames];
        a.apply(
            &mut Augment::rng(3, 1),
            &mut again,
            &mut ys,
            rows,
            tags,
            &eq,
        );
        assert_eq!(xs, again, "same seed and epoch, same curves");
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
        let bad = Augment {
            eq_db: f64::NAN,
            ..Augment::default()
        };
        assert!(bad.validate().is_err());
    }
}
