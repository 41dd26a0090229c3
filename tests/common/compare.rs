//! Comparing two arrays of floats in the model tests (model_file.rs,
//! model_reference.rs, model_wgpu.rs).

/// Largest |a - b|; +inf when either side is not finite (`f32::max` would
/// skip a NaN and let the comparison pass). The lengths must be equal.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "array lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, |m, d| {
            if d.is_finite() {
                m.max(d)
            } else {
                f32::INFINITY
            }
        })
}
