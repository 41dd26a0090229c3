//! One training step (forward, binary cross-entropy, backward, Adam update),
//! shared by `scatterbrain train` and `scatterbrain bench-train`, so the
//! throughput the benchmark reports is the trainer's own code path.
//!
//! `bench-train` times that step on random inputs of the real shape (no data
//! loading, no feature cache, no validation), for comparison with PyTorch on
//! the same model and batch (`benches/compare_pytorch.sh`).

use crate::device::{Backend, device};
use crate::model_cmd::default_front_end;
use anyhow::{Result, anyhow};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Tensor, TensorData};
use scatterbrain::features::Features;
use scatterbrain::model::{self, ModelConfig, Tagger, bce_with_logits};
use scatterbrain::tags::TAG_COUNT;
use serde::Serialize;
use std::time::Instant;

/// One optimisation step of `tagger` (on an autodiff device, in training
/// mode) on the batch `x` `[B, T, I]` with targets `y` `[B, 50]` at learning
/// rate `lr` and distillation temperature `temperature` ([`distill_loss`];
/// 1 is plain binary cross-entropy). Returns the updated model and the
/// batch's mean loss (read back before the backward pass; the caller decides
/// what a non-finite loss means).
pub fn train_step(
    tagger: Tagger,
    optim: &mut ModuleOptimizer,
    x: Tensor<3>,
    y: Tensor<2>,
    lr: f64,
    temperature: f64,
) -> Result<(Tagger, f32)> {
    let loss = distill_loss(tagger.forward(x), y, temperature);
    let value = scalar(loss.clone())?;
    let grads = GradientsParams::from_grads(loss.backward(), &tagger);
    Ok((optim.step(lr, tagger, grads), value))
}

/// Targets closer to 0 or 1 than this are taken as this: the teacher's
/// labels are stored with 4 decimals, so 0.0000 means "below 5e-5".
const TARGET_EPS: f64 = 5e-5;

/// Binary cross-entropy at temperature `t` (Hinton et al.'s distillation):
/// both the student's logits and the targets' logits are divided by `t`
/// before the sigmoid, and the loss is scaled by `t²` so that its gradients
/// keep their size. Its optimum is still logits = the targets' logits (the
/// model's scores are unchanged in meaning), but a higher `t` weighs the
/// differences between small scores (0.01 against 0.05 of a tag the teacher
/// barely hears) more, where plain BCE's gradient (σ(z) − y) hardly sees
/// them. At `t` = 1 this is exactly [`bce_with_logits`]; above 1 every
/// target is read as a probability clamped to [TARGET_EPS, 1 − TARGET_EPS],
/// hard 0/1 labels included.
pub fn distill_loss(logits: Tensor<2>, y: Tensor<2>, t: f64) -> Tensor<1> {
    if t == 1.0 {
        return bce_with_logits(logits, y);
    }
    let y = y.clamp(TARGET_EPS, 1.0 - TARGET_EPS);
    let target_logits = (y.clone() / (y.neg() + 1.0)).log();
    let soft = burn::tensor::activation::sigmoid(target_logits / t);
    bce_with_logits(logits / t, soft) * (t * t)
}

/// The value of a one-element tensor (a loss), read back to the host.
pub fn scalar(t: Tensor<1>) -> Result<f32> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| anyhow!("{e:?}"))?
        .first()
        .copied()
        .ok_or_else(|| anyhow!("empty loss"))
}

#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// Model name, e.g. scat-5l-512h-gru.
    #[arg(long, default_value = "scat-5l-512h-gru")]
    pub model: String,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Untimed steps first (allocator and caches warm up).
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Learning rate of the Adam steps (the trainer's default).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub device: Backend,
}

#[derive(Serialize)]
struct BenchReport {
    model: String,
    batch: usize,
    frames: usize,
    input_size: usize,
    parameters: usize,
    dropout: f64,
    device: String,
    /// `RAYON_NUM_THREADS` as set (burn's flex backend and its matmuls use
    /// rayon's global pool; unset means one thread per core).
    rayon_num_threads: Option<String>,
    available_parallelism: usize,
    warmup: usize,
    step_seconds: Vec<f64>,
    median_step_seconds: f64,
    /// `batch / median step`.
    clips_per_s: f64,
    /// `batch × steps / total`.
    mean_clips_per_s: f64,
    losses: Vec<f32>,
}

/// Time `steps` training steps after `warmup` untimed ones and print a JSON
/// report on stdout.
pub fn bench(a: BenchArgs) -> Result<()> {
    if a.batch == 0 || a.steps == 0 {
        anyhow::bail!("--batch and --steps must be at least 1");
    }
    let spec: model::ModelName = a.model.parse()?;
    // The input shape the trainer would see: the name's default front end
    // over one analysis window.
    let mut features = Features::new(default_front_end(spec.front_end));
    let len = features.window_len();
    let shape = features.raw(&vec![0.0; len]);
    let (input_size, frames) = (shape.rows, shape.frames);
    let config = ModelConfig::from_name(&a.model, input_size)?;

    let base = device(a.device)?;
    let ad = base.autodiff();
    ad.seed(a.seed);
    let mut tagger = Tagger::new(&config, &ad)?;
    let mut optim: ModuleOptimizer = AdamConfig::new().init();

    // Standard-normal inputs (what standardised features look like) and
    // uniform soft targets, built as the trainer builds a batch.
    let mut rng = a.seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut uniform = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        ((rng >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let xs: Vec<f32> = (0..a.batch * input_size * frames)
        .map(|_| {
            // Box–Muller.
            let (u, v) = (uniform(), uniform());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect();
    let ys: Vec<f32> = (0..a.batch * TAG_COUNT).map(|_| uniform() as f32).collect();
    let x = tagger
        .input_from_coefficients(&xs, a.batch, frames, &ad)
        .map_err(|e| anyhow!("{e}"))?;
    let y = Tensor::<2>::from_data(TensorData::new(ys, [a.batch, TAG_COUNT]), &ad);

    let mut step_seconds = Vec::with_capacity(a.steps);
    let mut losses = Vec::with_capacity(a.steps);
    for k in 0..a.warmup + a.steps {
        let start = Instant::now();
        let (next, loss) = train_step(tagger, &mut optim, x.clone(), y.clone(), a.lr, 1.0)?;
        tagger = next;
        // Asynchronous backends (wgpu) may still be applying the update.
        ad.sync().map_err(|e| anyhow!("{e:?}"))?;
        let seconds = start.elapsed().as_secs_f64();
        if k >= a.warmup {
            step_seconds.push(seconds);
            losses.push(loss);
        }
        let (what, i, n) = if k < a.warmup {
            ("warm-up", k + 1, a.warmup)
        } else {
            ("step", k + 1 - a.warmup, a.steps)
        };
        eprintln!("{what} {i}/{n}: {seconds:.3} s, loss {loss:.4}");
    }
    let mut sorted = step_seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    let total: f64 = step_seconds.iter().sum();
    let report = BenchReport {
        model: config.name(),
        batch: a.batch,
        frames,
        input_size,
        parameters: config.parameter_count(),
        dropout: config.dropout,
        device: format!("{:?}", a.device).to_lowercase(),
        rayon_num_threads: std::env::var("RAYON_NUM_THREADS").ok(),
        available_parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
        warmup: a.warmup,
        median_step_seconds: median,
        clips_per_s: a.batch as f64 / median,
        mean_clips_per_s: (a.batch * a.steps) as f64 / total,
        step_seconds,
        losses,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scatterbrain::model::Device;

    fn loss(z: &[f32], y: &[f32], t: f64) -> f32 {
        let dev = Device::flex();
        let n = z.len();
        let z = Tensor::<2>::from_data(TensorData::new(z.to_vec(), [1, n]), &dev);
        let y = Tensor::<2>::from_data(TensorData::new(y.to_vec(), [1, n]), &dev);
        scalar(distill_loss(z, y, t)).unwrap()
    }

    #[test]
    fn temperature_one_is_plain_bce() {
        let (z, y) = ([-2.0, 0.5, 3.0], [0.1, 0.6, 1.0]);
        let plain: f32 = z
            .iter()
            .zip(y)
            .map(|(&z, y): (&f32, f32)| {
                -(y * (1.0 / (1.0 + (-z).exp())).ln() + (1.0 - y) * (1.0 / (1.0 + z.exp())).ln())
            })
            .sum::<f32>()
            / 3.0;
        assert!((loss(&z, &y, 1.0) - plain).abs() < 1e-6);
    }

    #[test]
    fn a_higher_temperature_keeps_the_optimum_and_weighs_small_scores_more() {
        // A teacher score of 0.02: its logit is the optimum at any temperature.
        let y = 0.02f32;
        let opt = (y / (1.0 - y)).ln();
        for t in [1.0, 3.0] {
            let at = loss(&[opt], &[y], t);
            assert!(loss(&[opt - 0.3], &[y], t) > at && loss(&[opt + 0.3], &[y], t) > at);
        }
        // Student at 0.05 instead of 0.02: the excess loss is larger at T = 3.
        let z = (0.05f32 / 0.95).ln();
        let excess = |t| loss(&[z], &[y], t) - loss(&[opt], &[y], t);
        assert!(
            excess(3.0) > 2.0 * excess(1.0),
            "{} vs {}",
            excess(3.0),
            excess(1.0)
        );
    }
}
