//! Signal helpers shared by the front ends: reflection padding (numpy's
//! `mode="reflect"`) and fast FFT sizes.

/// Mirror index into `[0, len)` the way numpy's `mode="reflect"` pads (edge
/// sample not repeated), repeating the mirror for pads longer than the signal.
fn reflect_index(i: i64, len: usize) -> usize {
    if len == 1 {
        return 0;
    }
    let period = 2 * (len as i64 - 1);
    let r = i.rem_euclid(period);
    (if r < len as i64 { r } else { period - r }) as usize
}

/// Fill `out` with `x` starting at `pad_left`, reflected on both sides (zeros
/// for an empty signal).
pub(crate) fn reflect_pad<T: From<f32> + Copy>(x: &[f32], pad_left: usize, out: &mut [T]) {
    if x.is_empty() {
        out.fill(T::from(0.0));
        return;
    }
    let len = x.len() as i64;
    for (i, o) in out.iter_mut().enumerate() {
        let src = i as i64 - pad_left as i64;
        *o = T::from(if (0..len).contains(&src) {
            x[src as usize]
        } else {
            x[reflect_index(src, x.len())]
        });
    }
}

/// Whether `n` has no prime factor above 5 (fast FFT sizes).
pub(crate) fn is_5_smooth(mut n: usize) -> bool {
    for p in [2, 3, 5] {
        while n > 1 && n.is_multiple_of(p) {
            n /= p;
        }
    }
    n == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_numpy_semantics() {
        let mut out = vec![0.0; 9];
        reflect_pad(&[1.0, 2.0, 3.0], 3, &mut out);
        // numpy.pad([1,2,3], (3,3), 'reflect') = [2,3,2,1,2,3,2,1,2]
        assert_eq!(out, vec![2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0]);
        // Longer than the signal: the mirror repeats; one sample: constant.
        let mut long = vec![0.0; 7];
        reflect_pad(&[1.0, 2.0], 3, &mut long);
        assert_eq!(long, vec![2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
        let mut one = vec![9.0; 4];
        reflect_pad(&[5.0], 2, &mut one);
        assert_eq!(one, vec![5.0; 4]);
        reflect_pad(&[], 2, &mut one);
        assert_eq!(one, vec![0.0; 4]);
    }

    #[test]
    fn smooth_sizes() {
        let smooth: Vec<usize> = (0..17).filter(|&n| is_5_smooth(n)).collect();
        assert_eq!(smooth, vec![1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 16]);
    }
}
