//! What the Kymatio comparisons (tests/kymatio.rs) and the rates sweep (the
//! ignored `rates_sweep` lib test in src/transform/scattering/tests.rs) share:
//! reading a fixture signal and its padding, and the error measure. Plain std
//! and serde_json only, since it is compiled into both the library's tests
//! and an integration test.
use serde_json::Value;
use std::path::Path;

/// A fixture signal (`<name>.input.npy`, 16-bit PCM) as floats in [-1, 1).
pub fn signal(dir: &Path, name: &str) -> Vec<f32> {
    let (_, pcm) = read_npy::<i16>(dir, &format!("{name}.input.npy"));
    pcm.iter().map(|&v| v as f32 / 32768.0).collect()
}

/// An array file: its shape and values, in row-major order whichever order
/// the file stores (`scatterbrain scatter --out` stores frame by frame,
/// Fortran order).
pub fn read_npy<T: npyz::Deserialize + Copy>(dir: &Path, name: &str) -> (Vec<u64>, Vec<T>) {
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let (shape, order) = (npy.shape().to_vec(), npy.order());
    let stored: Vec<T> = npy.into_vec().unwrap();
    let values = match (order, shape.as_slice()) {
        (npyz::Order::C, _) => stored,
        (npyz::Order::Fortran, &[rows, cols]) => {
            let (rows, cols) = (rows as usize, cols as usize);
            (0..rows * cols)
                .map(|i| stored[(i % cols) * rows + i / cols])
                .collect()
        }
        (npyz::Order::Fortran, _) => panic!("{name}: a Fortran-order array of shape {shape:?}"),
    };
    (shape, values)
}

/// The padding a fixture entry states, as `PaddingSpec`'s fields:
/// `(padded_len, pad_left, first_frame, n_frames)`.
pub fn padding(m: &Value) -> (usize, usize, usize, usize) {
    let get = |k: &str| m[k].as_u64().unwrap() as usize;
    (
        get("padded_len"),
        get("pad_left"),
        get("first_frame"),
        get("n_frames"),
    )
}

/// Worst relative error per order of `ours(row, frame)` against
/// `reference(row, frame)`, over the reference values of at least `floor`
/// times their order's peak; `orders[row]` is each row's order. `debug`
/// prints each new worst, labelled `name`.
pub fn worst_per_order(
    name: &str,
    orders: &[u8],
    frames: usize,
    ours: impl Fn(usize, usize) -> f32,
    reference: impl Fn(usize, usize) -> f64,
    floor: f64,
    debug: bool,
) -> [f64; 3] {
    let mut peak = [0.0f64; 3];
    for (r, &o) in orders.iter().enumerate() {
        for f in 0..frames {
            peak[o as usize] = peak[o as usize].max(reference(r, f).abs());
        }
    }
    let mut worst = [0.0f64; 3];
    for (r, &o) in orders.iter().enumerate() {
        let o = o as usize;
        for f in 0..frames {
            let b = reference(r, f);
            if b.abs() >= floor * peak[o] {
                // A NaN or infinite output is the worst error, not skipped
                // (f64::max ignores a NaN).
                let err = (ours(r, f) as f64 - b).abs() / b.abs();
                let err = if err.is_finite() { err } else { f64::INFINITY };
                if err > worst[o] && debug {
                    eprintln!(
                        "{name} r={r} f={f} ours={} ref={b:.6e} rel.peak={:.1e} err={err:.1e}",
                        ours(r, f),
                        b.abs() / peak[o]
                    );
                }
                worst[o] = worst[o].max(err);
            }
        }
    }
    worst
}
