//! Per-patch targets for random crops (`--patch-targets`).
//!
//! A clip's target is the teacher's mean over its nine 3 s patches. A crop of
//! ten seconds labelled with that mean is told the teacher heard the whole
//! clip there; with the patches (`trainer/corpus/patches.py sidecar`) the
//! crop's target is the mean of the patches it covers, each weighted by the
//! samples it shares with the crop. The whole clip's target is unchanged, so
//! validation and test, which never crop, are untouched.

use anyhow::{Context, Result, anyhow, bail};
use scatterbrain::tags::{TAG_COUNT, TAGS};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Samples in one teacher patch: 187 mel frames of hop 256 at 16 kHz.
pub const PATCH_SAMPLES: usize = 187 * 256;
/// The teacher's rate; the patches' sample positions are at this rate.
pub const PATCH_RATE: u32 = 16_000;

/// Each clip's patches (`patches × 50`, [`TAGS`] order), by audio path.
pub struct PatchTargets(HashMap<PathBuf, Vec<f32>>);

impl PatchTargets {
    /// A sidecar CSV: `audio,patch,<the 50 tag names>`, patches of a clip in
    /// order from 0; relative paths are relative to the file's folder (as a
    /// manifest's).
    pub fn read(path: &Path) -> Result<Self> {
        let base = path.parent().unwrap_or(Path::new("."));
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
        let header: Vec<String> = reader.headers()?.iter().map(|h| h.trim().into()).collect();
        if header.len() != 2 + TAG_COUNT
            || header[0] != "audio"
            || header[1] != "patch"
            || header[2..].iter().zip(TAGS).any(|(h, t)| h != t)
        {
            bail!(
                "{}: the header must be audio,patch and the 50 tags in order",
                path.display()
            );
        }
        let mut map: HashMap<PathBuf, Vec<f32>> = HashMap::new();
        for (n, record) in reader.records().enumerate() {
            let at = || format!("{} row {}", path.display(), n + 2);
            let record = record.with_context(at)?;
            let audio = base.join(record.get(0).unwrap_or_default().trim());
            let patch: usize = record
                .get(1)
                .unwrap_or_default()
                .trim()
                .parse()
                .with_context(at)?;
            let values = (2..2 + TAG_COUNT)
                .map(|i| {
                    let v: f32 = record
                        .get(i)
                        .unwrap_or_default()
                        .trim()
                        .parse()
                        .with_context(at)?;
                    if (0.0..=1.0).contains(&v) {
                        Ok(v)
                    } else {
                        Err(anyhow!("{}: a score outside [0, 1]", at()))
                    }
                })
                .collect::<Result<Vec<f32>>>()?;
            let clip = map.entry(audio).or_default();
            if patch * TAG_COUNT != clip.len() {
                bail!("{}: patch {patch} out of order", at());
            }
            clip.extend(values);
        }
        Ok(PatchTargets(map))
    }

    /// The patches of the clip at `audio` made consistent with its clip
    /// target `y`: where `y` is not the patches' mean (a hard label of a
    /// render recipe, which states a fact of the whole clip), every patch
    /// takes `y`'s value. Returns the patches and how many tags were set so.
    pub fn for_clip(&self, audio: &Path, y: &[f32]) -> Option<(Vec<f32>, usize)> {
        let mut p = self.0.get(audio)?.clone();
        let n = p.len() / TAG_COUNT;
        let mut set = 0;
        for (t, &target) in y.iter().enumerate() {
            let mean = (0..n).map(|k| p[k * TAG_COUNT + t]).sum::<f32>() / n as f32;
            // Both sides are rounded to 4 decimals.
            if (mean - target).abs() > 1e-3 {
                set += 1;
                for k in 0..n {
                    p[k * TAG_COUNT + t] = target;
                }
            }
        }
        Some((p, set))
    }
}

/// The target of frames `start..start + len` of a clip with `patches`, where
/// frame k is centred on sample `hop · k` and stands for the `hop` samples
/// around it: the patches' mean weighted by the samples each shares with the
/// crop. `None` when the crop meets no patch (it lies in the clip's last
/// seconds, which the teacher's patches do not cover).
pub fn crop_target(patches: &[f32], hop: usize, start: usize, len: usize) -> Option<Vec<f32>> {
    let from = (hop * start).saturating_sub(hop / 2);
    let to = (hop * (start + len)).saturating_sub(hop / 2);
    let mut out = [0.0f32; TAG_COUNT];
    let mut total = 0usize;
    for (k, p) in patches.chunks_exact(TAG_COUNT).enumerate() {
        let (a, b) = (k * PATCH_SAMPLES, (k + 1) * PATCH_SAMPLES);
        let w = to.min(b).saturating_sub(from.max(a));
        if w > 0 {
            total += w;
            for (o, v) in out.iter_mut().zip(p) {
                *o += w as f32 * v;
            }
        }
    }
    (total > 0).then(|| out.iter().map(|o| o / total as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patches(n: usize) -> Vec<f32> {
        // Patch k scores k / 10 on every tag.
        (0..n * TAG_COUNT)
            .map(|i| (i / TAG_COUNT) as f32 / 10.0)
            .collect()
    }

    #[test]
    fn a_crop_inside_one_patch_gets_that_patch() {
        let p = patches(9);
        // Frames 13..20 (hop 4096): samples 51 200..79 872, inside patch 1.
        let t = crop_target(&p, 4096, 13, 7).unwrap();
        assert!(t.iter().all(|&v| (v - 0.1).abs() < 1e-6), "{t:?}");
    }

    #[test]
    fn a_crop_across_patches_weighs_them_by_shared_samples() {
        let p = patches(9);
        // Frames 10..16: samples 38 912..63 488; patch 0 ends at 47 872.
        let t = crop_target(&p, 4096, 10, 6).unwrap();
        let (w0, w1) = (47_872.0 - 38_912.0, 63_488.0 - 47_872.0);
        let want = (0.0 * w0 + 0.1 * w1) / (w0 + w1);
        assert!((t[0] - want).abs() < 1e-6, "{} vs {want}", t[0]);
    }

    #[test]
    fn the_whole_clip_gets_the_mean_and_the_uncovered_end_none() {
        let p = patches(9);
        // 114 frames cover all nine patches fully: their plain mean.
        let t = crop_target(&p, 4096, 0, 114).unwrap();
        assert!((t[7] - 0.4).abs() < 1e-6, "{}", t[7]);
        // Frames 106..114 start at 432 128 > 9 · 47 872 = 430 848.
        assert!(crop_target(&p, 4096, 106, 8).is_none());
    }

    #[test]
    fn hard_labels_override_every_patch() {
        let mut y: Vec<f32> = vec![0.4; TAG_COUNT];
        y[3] = 1.0; // a hard label the patches do not average to
        let map = PatchTargets([(PathBuf::from("a.wav"), patches(9))].into_iter().collect());
        let (p, set) = map.for_clip(Path::new("a.wav"), &y).unwrap();
        assert_eq!(set, 1);
        assert!(p.chunks_exact(TAG_COUNT).all(|k| k[3] == 1.0));
        assert_eq!(p[TAG_COUNT + 4], 0.1);
        assert!(map.for_clip(Path::new("b.wav"), &y).is_none());
    }
}
