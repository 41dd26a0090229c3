//! Int8 weight storage: a quarter of fp32, half of fp16, for the web.
//!
//! Every weight of rank ≥ 2 (dense, recurrent and convolution weights) is
//! stored as `i8` with one fp32 scale per output channel, symmetric around 0:
//! `w ≈ q · scale`, `scale = max|w| / 127` over the channel. Per-channel scales
//! keep a channel of small weights from being rounded to nothing by a large
//! one elsewhere. Biases and batch-norm parameters (rank 1, a few kB) stay
//! fp32. The scales are tensors of their own, `NAME` + [`SCALE_SUFFIX`], so the
//! container's per-tensor checksums cover them. Loading dequantises to fp32:
//! inference is the same code as for the other precisions.

use burn::store::burn_pack::Tensor;
use burn::tensor::{Bytes, DType};

use super::file::ModelFileError;

/// Name suffix of the scale tensor that goes with an int8 weight.
pub const SCALE_SUFFIX: &str = ".int8_scale";

/// The axis whose entries are output channels: burn's `Linear` keeps its
/// weight as `[inputs, outputs]`, convolutions as `[outputs, inputs, kernel…]`.
fn channel_axis(rank: usize) -> usize {
    if rank == 2 { 1 } else { 0 }
}

/// A row-major tensor of `shape` is runs of this many elements, run `r`
/// belonging to channel `r % channels`.
fn run_len(shape: &[usize]) -> usize {
    shape[channel_axis(shape.len()) + 1..].iter().product()
}

/// An fp32 tensor's values (little-endian in the container).
pub fn f32s(t: &Tensor) -> Result<Vec<f32>, ModelFileError> {
    let bytes = t
        .to_bytes()
        .map_err(|e| ModelFileError::Write(format!("tensor {}: {e}", t.name)))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// fp32 tensors as written by `collect` → int8 weights + scales (rank ≥ 2),
/// the rest unchanged.
pub fn quantise(tensors: Vec<Tensor>) -> Result<Vec<Tensor>, ModelFileError> {
    let mut out = Vec::with_capacity(tensors.len() * 2);
    for t in tensors {
        let shape = t.shape.to_vec();
        if t.dtype != DType::F32 || shape.len() < 2 || shape.iter().product::<usize>() == 0 {
            out.push(t);
            continue;
        }
        let w = f32s(&t)?;
        let channels = shape[channel_axis(shape.len())];
        let runs = || w.chunks(run_len(&shape)).zip((0..channels).cycle());
        let mut peak = vec![0f32; channels];
        for (run, c) in runs() {
            peak[c] = run.iter().fold(peak[c], |m, v| m.max(v.abs()));
        }
        let scale: Vec<f32> = peak.iter().map(|p| p / 127.0).collect();
        let q: Vec<u8> = runs()
            .flat_map(|(run, c)| {
                let s = scale[c];
                run.iter().map(move |v| {
                    let q = if s > 0.0 { (v / s).round() } else { 0.0 };
                    (q.clamp(-127.0, 127.0) as i8) as u8
                })
            })
            .collect();
        let scale_bytes: Vec<u8> = scale.iter().flat_map(|s| s.to_le_bytes()).collect();
        out.push(Tensor::new(
            format!("{}{SCALE_SUFFIX}", t.name),
            DType::F32,
            vec![scale.len()],
            None,
            Bytes::from_bytes_vec(scale_bytes),
        ));
        out.push(Tensor::new(
            t.name,
            DType::I8,
            shape,
            t.param_id,
            Bytes::from_bytes_vec(q),
        ));
    }
    Ok(out)
}

/// The inverse of [`quantise`]: int8 weights and their scales → fp32. A
/// weight without its scale, a scale without its weight, or a scale of the
/// wrong length is an error (the checksums have passed by now, so this is a
/// file written wrongly, not a damaged one).
pub fn dequantise(tensors: Vec<Tensor>) -> Result<Vec<Tensor>, ModelFileError> {
    let mut scales = std::collections::HashMap::new();
    let mut rest = Vec::with_capacity(tensors.len());
    for t in tensors {
        match t.name.strip_suffix(SCALE_SUFFIX) {
            Some(weight) if t.dtype == DType::F32 && t.shape.len() == 1 => {
                scales.insert(weight.to_string(), f32s(&t)?);
            }
            Some(_) => {
                return Err(ModelFileError::TensorMismatch(format!(
                    "{}: an int8 scale must be a 1-D fp32 tensor",
                    t.name
                )));
            }
            None => rest.push(t),
        }
    }
    let mut out = Vec::with_capacity(rest.len());
    for t in rest {
        if t.dtype != DType::I8 {
            out.push(t);
            continue;
        }
        let shape = t.shape.to_vec();
        let scale = scales
            .remove(&t.name)
            .ok_or_else(|| ModelFileError::MissingTensor(format!("{}{SCALE_SUFFIX}", t.name)))?;
        if shape.len() < 2 || scale.len() != shape[channel_axis(shape.len())] {
            return Err(ModelFileError::TensorMismatch(format!(
                "{}: {} int8 scales for shape {shape:?}",
                t.name,
                scale.len()
            )));
        }
        let bytes = t
            .to_bytes()
            .map_err(|e| ModelFileError::Corrupt(format!("tensor {}: {e}", t.name)))?;
        // Into a preallocated f32 buffer (a byte-wise flat_map was 5x slower,
        // most of a page's model load in WASM).
        let mut w: Vec<f32> = Vec::with_capacity(bytes.len());
        for (run, &s) in bytes.chunks(run_len(&shape)).zip(scale.iter().cycle()) {
            w.extend(run.iter().map(|&q| q as i8 as f32 * s));
        }
        out.push(Tensor::new(
            t.name,
            DType::F32,
            shape,
            t.param_id,
            Bytes::from_elems(w),
        ));
    }
    if let Some(orphan) = scales.keys().next() {
        return Err(ModelFileError::UnexpectedTensor(format!(
            "{orphan}{SCALE_SUFFIX} (no int8 weight {orphan})"
        )));
    }
    Ok(out)
}
