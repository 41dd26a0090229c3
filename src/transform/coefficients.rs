//! What every front end returns: a `rows × frames` matrix, and what each row
//! is. Shared by the front ends, the normalisers, the model's input and the
//! files the command line writes.

use serde::Serialize;

/// Front-end output for one signal: `rows × frames`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Coefficients {
    pub rows: usize,
    pub frames: usize,
    pub data: Vec<f32>,
}

impl Coefficients {
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.frames..(r + 1) * self.frames]
    }
}

/// What one output row is, for people and files (the `.json` sidecar).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowInfo {
    /// Scattering order (0, 1, 2); 1 for mel and CQT bands.
    pub order: u8,
    /// Centre frequency of the first-order filter / band, Hz.
    pub freq1_hz: Option<f64>,
    /// Centre frequency of the second-order filter, Hz (modulation rate).
    pub freq2_hz: Option<f64>,
}

impl RowInfo {
    /// A band centred on `hz` (mel band, CQT bin): order 1, no `freq2_hz`.
    pub fn band(hz: f64) -> Self {
        RowInfo {
            order: 1,
            freq1_hz: Some(hz),
            freq2_hz: None,
        }
    }
}
