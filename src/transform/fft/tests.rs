use super::*;

fn signal(n: usize) -> Vec<Complex<f32>> {
    let mut s = 7u64;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let a = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let b = (s >> 16 & 0xffffff) as f32 / (1u64 << 24) as f32 - 0.5;
            Complex::new(a, b)
        })
        .collect()
}

/// `|a - b| / |b|` over the whole vector (L2).
fn relative(a: &[Complex<f32>], b: &[Complex<f32>]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).norm_sqr() as f64)
        .sum();
    let den: f64 = b.iter().map(|y| y.norm_sqr() as f64).sum();
    (num / den).sqrt()
}

#[test]
fn radix3_plans_equal_rustfft_both_directions_all_entry_points() {
    let mut ours = Planner::with_radix3(true);
    let mut theirs = FftPlanner::<f32>::new();
    // The scattering's 3-heavy sizes (odd ones: real FFTs' halves), and
    // every branch of `radix_for`.
    for len in [
        81,
        162,
        243,
        576,
        2592,
        5184,
        19683,
        39366,
        46656,
        59049 * 2,
    ] {
        for forward in [true, false] {
            let (a, b) = if forward {
                (ours.forward(len), theirs.plan_fft_forward(len))
            } else {
                (ours.inverse(len), theirs.plan_fft_inverse(len))
            };
            assert!(
                radix_for(len).is_none() || a.get_inplace_scratch_len() > 0,
                "{len}"
            );
            // Two chunks: a buffer may hold several transforms.
            let x = signal(2 * len);
            let mut want = x.clone();
            b.process(&mut want);

            let mut got = x.clone();
            a.process(&mut got);
            let e = relative(&got, &want);
            assert!(e < 2e-6, "len {len} forward {forward} in place: {e}");

            let mut input = x.clone();
            let mut out = vec![Complex::default(); 2 * len];
            let mut scratch = vec![Complex::default(); a.get_outofplace_scratch_len()];
            a.process_outofplace_with_scratch(&mut input, &mut out, &mut scratch);
            assert!(relative(&out, &want) < 2e-6, "len {len} out of place");

            let mut out = vec![Complex::default(); 2 * len];
            let mut scratch = vec![Complex::default(); a.get_immutable_scratch_len()];
            a.process_immutable_with_scratch(&x, &mut out, &mut scratch);
            assert!(relative(&out, &want) < 2e-6, "len {len} immutable");
        }
    }
}

#[test]
fn radix_choice() {
    assert_eq!(radix_for(64), None);
    assert_eq!(radix_for(3 << 10), None);
    assert_eq!(radix_for(9 << 6), Some(3));
    assert_eq!(radix_for(2 * 19683), Some(9));
    assert_eq!(radix_for(5 * 81), None);
}

/// The paired plans: the first transform's output, put in order, is the
/// FFT; the second, given an input in the first's order, gives the FFT of
/// that input in natural order. Both the radix-3 plans and rustfft's.
#[test]
fn paired_plans_scramble_and_unscramble_consistently() {
    for radix3 in [true, false] {
        let mut ours = Planner::with_radix3(radix3);
        let mut theirs = FftPlanner::<f32>::new();
        for len in [81, 162, 576, 2592, 19683, 39366, 3 << 10] {
            let p = ours.paired(len);
            let fft = theirs.plan_fft_forward(len);
            let mut scratch = vec![Complex::default(); p.scratch_len()];
            // Where each output lands: an impulse at sample 1 has FFT
            // `W^k`, a distinct phase per bin.
            let mut impulse = vec![Complex::default(); len];
            impulse[1] = Complex::new(1.0, 0.0);
            p.forward_scrambled(&mut impulse, &mut scratch);
            let order: Vec<usize> = impulse
                .iter()
                .map(|z| {
                    let k = -(z.arg() as f64) * len as f64 / std::f64::consts::TAU;
                    (k.round() as i64).rem_euclid(len as i64) as usize
                })
                .collect();
            let x = signal(2 * len);
            let mut want = x.clone();
            fft.process(&mut want);
            let mut scrambled = x.clone();
            p.forward_scrambled(&mut scrambled, &mut scratch);
            let mut seen = vec![false; len];
            for (i, &o) in order.iter().enumerate() {
                assert!(!seen[o], "len {len}: not a permutation");
                seen[o] = true;
                assert!((scrambled[i] - want[o]).norm() < 1e-3, "len {len}");
                assert!(
                    (scrambled[len + i] - want[len + o]).norm() < 1e-3,
                    "len {len}, 2nd"
                );
            }
            assert_eq!(
                radix3 && radix_for(len).is_some(),
                order.iter().enumerate().any(|(i, &o)| i != o)
            );
            // The second transform reads that order.
            let z = signal(len + 1)[1..].to_vec();
            let mut want = z.clone();
            fft.process(&mut want);
            let mut input = vec![Complex::default(); len];
            for (i, &o) in order.iter().enumerate() {
                input[i] = z[o];
            }
            p.forward_from_scrambled(&mut input, &mut scratch);
            assert!(relative(&input, &want) < 2e-6, "len {len} radix3 {radix3}");
        }
    }
}
