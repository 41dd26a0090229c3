//! Features are computed once per clip and front-end configuration, then read
//! back from a cache folder: training runs many epochs over the same clips,
//! and the transform costs far more than reading 300 kB.

use crate::data::Clip;
use anyhow::{Context, Result, anyhow, bail};
use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::pipeline::{Form, Pipeline, WindowFeatures};
use scatterbrain::transform::Coefficients;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// `given`, or `~/.cache/scatterbrain/features`.
pub fn cache_dir(given: Option<&Path>) -> PathBuf {
    given.map(Path::to_path_buf).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/scatterbrain/features")
    })
}

pub struct FeatureCache {
    dir: PathBuf,
    config_json: String,
    features: Features,
}

impl FeatureCache {
    pub fn new(dir: &Path, config: &FeatureConfig) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(FeatureCache {
            dir: dir.to_path_buf(),
            config_json: serde_json::to_string(config)?,
            features: Features::new(config.clone()),
        })
    }

    pub fn features(&mut self) -> &mut Features {
        &mut self.features
    }

    /// Cache key: the audio file (path, size, modification time), the
    /// front-end configuration and [`REVISION`]. `DefaultHasher::new()` is
    /// deterministic for a given toolchain; a new toolchain at worst
    /// recomputes the cache.
    fn key(&self, clip: &Clip) -> Result<PathBuf> {
        let meta = std::fs::metadata(&clip.path)
            .with_context(|| format!("reading {}", clip.path.display()))?;
        let mut h = std::hash::DefaultHasher::new();
        clip.path.hash(&mut h);
        meta.len().hash(&mut h);
        meta.modified().ok().hash(&mut h);
        self.config_json.hash(&mut h);
        REVISION.hash(&mut h);
        Ok(self.dir.join(format!("{:016x}.f32", h.finish())))
    }

    /// The normalised (not yet standardised) features of the clip's first
    /// analysis window: clips are trimmed to one window (29 s).
    pub fn get(&mut self, clip: &Clip) -> Result<Coefficients> {
        let path = self.key(clip)?;
        if let Ok(bytes) = std::fs::read(&path)
            && let Some(c) = parse(&bytes)
        {
            return Ok(c);
        }
        let c = first_window(&mut self.features, &clip.path)?;
        crate::output::write(&path, &serialise(&c))?;
        Ok(c)
    }
}

/// Raised when the same configuration computes other features: 2 since a
/// file below the front end's rate is transformed from a float64 spectrum
/// (`Pipeline::with_source_rate`: its empty bands held float32 rounding).
const REVISION: u32 = 2;

fn first_window(features: &mut Features, file: &Path) -> Result<Coefficients> {
    let shown = file.display();
    let mut reader = crate::open_audio(file)?;
    let info = reader.info();
    let mut pipeline = Pipeline::new(features, Form::Model, info.sample_rate, info.channels)
        .with_context(|| format!("{shown}"))?;
    let mut first: Option<WindowFeatures> = None;
    // Clips are trimmed to one window: stop decoding once it is there.
    while first.is_none()
        && let Some(pcm) = reader.next_packet().with_context(|| format!("{shown}"))?
    {
        pipeline
            .push(features, None, pcm, |w| {
                first.get_or_insert(w);
            })
            .with_context(|| format!("{shown}"))?;
    }
    if first.is_none() {
        pipeline
            .finish(features, None, |w| {
                first.get_or_insert(w);
            })
            .with_context(|| format!("{shown}"))?;
    }
    let c = first
        .ok_or_else(|| anyhow!("{}: no analysis window", file.display()))?
        .coefficients;
    if let Some(i) = c.data.iter().position(|v| !v.is_finite()) {
        bail!("{}: non-finite feature at {i}", file.display());
    }
    Ok(c)
}

/// `rows: u32, frames: u32`, then the values, little-endian.
fn serialise(c: &Coefficients) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 4 * c.data.len());
    out.extend_from_slice(&(c.rows as u32).to_le_bytes());
    out.extend_from_slice(&(c.frames as u32).to_le_bytes());
    for v in &c.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn parse(bytes: &[u8]) -> Option<Coefficients> {
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            bytes.get(4 * i..4 * i + 4)?.try_into().ok()?,
        ))
    };
    let (rows, frames) = (word(0)? as usize, word(1)? as usize);
    if bytes.len() != 8 + 4 * rows * frames {
        return None;
    }
    let data = bytes[8..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect();
    Some(Coefficients { rows, frames, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let c = Coefficients {
            rows: 2,
            frames: 3,
            data: vec![1.0, -2.0, 3.5, 0.0, 1e-9, 7.0],
        };
        let bytes = serialise(&c);
        let back = parse(&bytes).unwrap();
        assert_eq!((back.rows, back.frames, back.data), (2, 3, c.data.clone()));
        assert!(parse(&bytes[..bytes.len() - 1]).is_none());
        assert!(parse(&[]).is_none());
    }
}
