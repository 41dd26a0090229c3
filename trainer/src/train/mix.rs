//! What one epoch trains on, and in which order: every training clip, or at
//! most N clips per family (`--family-cap`, `--cap FAMILY=N`), a deterministic
//! shuffle of (seed, epoch).
//!
//! Why caps: the corpus mixes a few large sources (1 200 arrangement renders,
//! 400-clip game soundtracks) with many small packages. Trained on all of it
//! at once, the model fits the large render families at the expense of real
//! recordings it will never hear again (HELDOUT.md). A cap draws a different
//! share of a large family every epoch, in turn, so over the epochs every clip
//! is used while no family outweighs the others within one.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(clap::Args, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Mix {
    /// At most this many training clips of each family per epoch, taken in
    /// turn (every clip is used within ceil(size / cap) epochs). A family is
    /// the folder holding a clip's track folder: the package or render
    /// family in the corpus layout `clips/<family>/<track>/<n>.wav`.
    #[arg(long)]
    pub family_cap: Option<usize>,
    /// A cap for one family, `FAMILY=N` (repeatable; overrides --family-cap).
    #[arg(long = "cap", value_name = "FAMILY=N", value_parser = parse_cap)]
    pub caps: Vec<(String, usize)>,
    /// Families left out of the validation split that selects the epoch
    /// (repeatable), e.g. render families whose validation clips sound like
    /// their training clips and so reward fitting renders.
    #[arg(long, value_name = "FAMILY")]
    pub select_without: Vec<String>,
}

fn parse_cap(s: &str) -> Result<(String, usize), String> {
    let (family, n) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected FAMILY=N"))?;
    let n = n
        .parse()
        .map_err(|_| format!("{s:?}: N must be a whole number"))?;
    Ok((family.to_string(), n))
}

/// The family of a clip: the name of its grandparent folder (see [`Mix`]).
pub fn family_of(path: &Path) -> String {
    path.parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Mix {
    fn cap(&self, family: &str) -> Option<usize> {
        self.caps
            .iter()
            .rev()
            .find(|(f, _)| f == family)
            .map(|&(_, n)| n)
            .or(self.family_cap)
    }

    /// Families named in `--cap` or `--select-without` that `families`
    /// (the training and validation clips' families) lacks: likely typos.
    pub fn unknown<'a>(&'a self, families: &[String]) -> Vec<&'a str> {
        self.caps
            .iter()
            .map(|(f, _)| f.as_str())
            .chain(self.select_without.iter().map(String::as_str))
            .filter(|f| !families.iter().any(|g| g == f))
            .collect()
    }

    /// The indices into the training clips (whose families are `families`)
    /// that epoch `epoch` trains on, shuffled.
    pub fn epoch(&self, families: &[String], seed: u64, epoch: u32) -> Vec<usize> {
        let mut by_family: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, f) in families.iter().enumerate() {
            by_family.entry(f).or_default().push(i);
        }
        let mut chosen = Vec::with_capacity(families.len());
        for (k, (family, clips)) in by_family.into_iter().enumerate() {
            match self.cap(family) {
                Some(cap) if cap < clips.len() => {
                    // A fixed order per family, read `cap` at a time from
                    // where the previous epoch stopped (wrapping round).
                    let order = shuffled(clips.len(), seed ^ ((k as u64 + 1) << 40), u32::MAX);
                    let start = (epoch as usize * cap) % clips.len();
                    chosen.extend((0..cap).map(|j| clips[order[(start + j) % clips.len()]]));
                }
                _ => chosen.extend(clips),
            }
        }
        let order = shuffled(chosen.len(), seed, epoch);
        order.into_iter().map(|i| chosen[i]).collect()
    }
}

/// SplitMix64: a small, well-mixed generator for deterministic shuffles.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A permutation of 0..n, the same for the same (seed, epoch).
pub fn shuffled(n: usize, seed: u64, epoch: u32) -> Vec<usize> {
    let mut rng = SplitMix(seed ^ (u64::from(epoch) << 32) ^ 0x5CA7);
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_are_permutations_and_deterministic() {
        let a = shuffled(100, 7, 3);
        let mut s = a.clone();
        s.sort_unstable();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
        assert_eq!(a, shuffled(100, 7, 3));
        assert_ne!(a, shuffled(100, 7, 4));
    }

    fn families() -> Vec<String> {
        // 10 clips of "big", 3 of "small", interleaved as a manifest might be.
        (0..13)
            .map(|i| if i % 4 == 1 { "small" } else { "big" }.to_string())
            .collect()
    }

    #[test]
    fn without_caps_an_epoch_is_every_clip() {
        let mix = Mix::default();
        let mut e = mix.epoch(&families(), 1, 0);
        e.sort_unstable();
        assert_eq!(e, (0..13).collect::<Vec<_>>());
    }

    #[test]
    fn a_cap_limits_each_family_and_every_clip_takes_its_turn() {
        let fam = families();
        let mix = Mix {
            family_cap: Some(4),
            ..Mix::default()
        };
        let mut seen = vec![0; fam.len()];
        for epoch in 0..3 {
            let e = mix.epoch(&fam, 5, epoch);
            let big = e.iter().filter(|&&i| fam[i] == "big").count();
            let small = e.iter().filter(|&&i| fam[i] == "small").count();
            assert_eq!((big, small), (4, 3), "epoch {epoch}");
            let mut u = e.clone();
            u.sort_unstable();
            u.dedup();
            assert_eq!(u.len(), e.len(), "no clip twice in one epoch");
            for i in e {
                seen[i] += 1;
            }
        }
        // 10 big clips, 4 per epoch: within 3 epochs every one was used.
        assert!(seen.iter().all(|&n| n >= 1), "{seen:?}");
        assert_eq!(mix.epoch(&fam, 5, 1), mix.epoch(&fam, 5, 1));
    }

    #[test]
    fn a_family_cap_overrides_the_default_and_names_are_checked() {
        let fam = families();
        let mix = Mix {
            family_cap: Some(100),
            caps: vec![parse_cap("small=1").unwrap()],
            select_without: vec!["smal".into()],
        };
        let e = mix.epoch(&fam, 0, 0);
        assert_eq!(e.iter().filter(|&&i| fam[i] == "small").count(), 1);
        assert_eq!(e.len(), 11);
        assert_eq!(mix.unknown(&fam), vec!["smal"]);
        assert!(parse_cap("small").is_err() && parse_cap("small=x").is_err());
    }

    #[test]
    fn the_family_is_the_folder_above_the_track() {
        let p = Path::new("/c/clips/warzone2100-music/menu.opus/00029.wav");
        assert_eq!(family_of(p), "warzone2100-music");
    }
}
