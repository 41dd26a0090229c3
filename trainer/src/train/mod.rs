//! `scatterbrain train`: train a model by name on MagnaTagATune or a manifest,
//! evaluate it on the test split and write it as a model file.
//!
//! Adam with an exponential learning-rate decay per epoch, binary
//! cross-entropy on (possibly soft) targets, dropout as configured. Features
//! are computed once (see [`crate::cache`]) and standardised with statistics of
//! the training split, which the model file records. After every epoch the
//! model, the optimiser state and the loop state are written atomically to
//! `OUT/checkpoint/`; `--resume` continues from there after a kill and gives
//! the same result as an uninterrupted run with the same seed.
//!
//! Long (~460 lines) because [`run`] is the loop in the order it happens:
//! options, resume, epochs, selection, checkpoints and the final model file;
//! the splits and the epoch's mix have their own rooms.

mod mix;
mod patches;
mod splits;

pub use mix::{Mix, family_of};
pub use splits::{SplitData, evaluate};
use splits::{batch, eq_rows, featurise, split_data};

use crate::augment::Augment;
use crate::cache::cache_dir;
use crate::data::{Source, Split};
use crate::device::{Backend, device};
use crate::metrics::{macro_mean, macro_roc_auc_min, per_tag, positives, top_k};
use crate::model_cmd::front_end_config;
use crate::output;
use crate::step::train_step;
use anyhow::{Context, Result, anyhow, bail};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer};
use indicatif::{ProgressBar, ProgressStyle};
use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::model::{
    self, Metrics, ModelConfig, ModelMetadata, NormalisationStats, Precision, Provenance,
    TagMetrics, Tagger,
};
use scatterbrain::normalise::Standardisation;
use scatterbrain::tags::{TAG_COUNT, TAGS};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Clone)]
pub struct Args {
    #[command(flatten)]
    pub data: Source,
    /// Model name, e.g. scat-5l-512h-gru, mel-5l-512h-lstm, scat-4l-cnn.
    #[arg(long, default_value = "scat-5l-512h-gru")]
    pub model: String,
    /// Output folder: checkpoint/, metrics.csv, the final model files.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 20)]
    pub epochs: u32,
    #[arg(long, default_value_t = 16, value_parser = at_least_one)]
    pub batch: usize,
    /// Initial learning rate (the paper's 1e-5 is for 300 GPU epochs).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Learning-rate factor per epoch.
    #[arg(long, default_value_t = 0.9)]
    pub lr_decay: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Continue from OUT/checkpoint.
    #[arg(long)]
    pub resume: bool,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub device: Backend,
    /// Feature cache folder (default: ~/.cache/scatterbrain/features).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Front-end configuration: JSON, or a JSON file (fields left out take
    /// their defaults, and the front end's kind is the model name's;
    /// default: the paper's for the model name).
    #[arg(long, value_name = "JSON|FILE")]
    pub front_end: Option<String>,
    /// Free-form corpus name recorded in the model file.
    #[arg(long)]
    pub corpus: Option<String>,
    /// Stop after the epoch that would make the next one end past this many
    /// minutes from the start (then evaluate and write the model as usual).
    #[arg(long)]
    pub time_budget: Option<f64>,
    /// Stop training once its steps have used this many CPU-minutes (all
    /// threads), even mid-epoch, then evaluate and write the model. For
    /// comparing models under equal compute on a shared machine, where wall
    /// time depends on the neighbours. A partial epoch is logged but not
    /// checkpointed.
    #[arg(long)]
    pub cpu_budget: Option<f64>,
    /// Which epoch's weights the final model files hold: the one with the
    /// best validation ROC-AUC (model selection on the validation split,
    /// the held-out packages for the corpus), or simply the last.
    #[arg(long, value_enum, default_value_t = Keep::Best)]
    pub keep: Keep,
    /// The validation figure that makes an epoch the best (logged as the
    /// last column, `select`, of metrics.csv).
    #[arg(long, value_enum, default_value_t = Select::Soft)]
    pub select: Select,
    /// Distillation temperature of the loss (step::distill_loss): 1 is plain
    /// binary cross-entropy on the targets; 2–4 weigh the teacher's small
    /// scores more. Validation and test losses stay plain BCE.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Dropout probability on each recurrent layer's output sequence (the
    /// CNN's before its dense layer), in [0, 1); default: the model's (0.25
    /// recurrent, 0.5 CNN). Recorded in the model file's configuration.
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Decoupled weight decay (AdamW, Loshchilov & Hutter): each step scales
    /// the weights by 1 − lr · this before Adam's update; 0 is plain Adam.
    /// Resume with the same value (the two optimisers' states differ).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Clip each parameter tensor's gradient to at most this L2 norm before
    /// the optimiser's update (burn's per-tensor `GradientClippingConfig::Norm`):
    /// against the loss spikes a recurrent network can take at lr 1e-3.
    /// Off by default.
    #[arg(long)]
    pub clip_grad_norm: Option<f64>,
    /// The teacher's 3 s patches of the training clips (CSV
    /// `audio,patch,<50 tags>`, from `trainer/corpus/patches.py sidecar`):
    /// a random crop (`--crop-frames`) is labelled with the mean of the
    /// patches it covers instead of the whole clip's target.
    #[arg(long)]
    pub patch_targets: Option<PathBuf>,
    #[command(flatten)]
    pub augment: Augment,
    #[command(flatten)]
    pub mix: Mix,
}

/// The checkpoint's loop state (epoch, best figure): its presence means a run to resume.
const STATE_FILE: &str = "state.json";

/// A figure on screen: 4 decimals, or "–" when undefined (no positive in the split).
fn show(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.4}"))
}

/// A count that must be at least 1 (`--batch 0` would divide by zero).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number, at least 1".into()),
    }
}

/// Adam, or AdamW with `weight_decay` > 0 (same moments and epsilon), with
/// per-tensor gradient clipping if `clip` is given.
fn optimiser(weight_decay: f64, clip: Option<f64>) -> ModuleOptimizer {
    let clip = clip.map(|c| GradientClippingConfig::Norm(c as f32));
    if weight_decay > 0.0 {
        AdamWConfig::new()
            .with_weight_decay(weight_decay as f32)
            .with_grad_clipping(clip)
            .init()
    } else {
        AdamConfig::new().with_grad_clipping(clip).init()
    }
}

/// The validation figure that selects the epoch.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// Macro ROC-AUC, targets ≥ 0.5 as positives, every tag with a positive.
    Soft,
    /// Macro ROC-AUC with each clip's three highest targets (the teacher's
    /// top tags) as positives, over tags with ≥ 10 positives: what
    /// trainer/corpus/heldout.py reports, and steadier on a small split.
    Top3,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Best,
    Last,
}

/// CPU time used so far by this process, all threads, in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct we hand it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// The loop's own state, saved beside the model and optimiser.
#[derive(Serialize, Deserialize)]
struct LoopState {
    /// Epochs completed.
    epoch: u32,
    best_valid_roc_auc: Option<f64>,
    /// The completed epoch whose weights are in `checkpoint/best.bpk`.
    #[serde(default)]
    best_epoch: Option<u32>,
}

/// The trainer's source folder: `cargo run`'s and `cargo test`'s, else the one
/// it was built from. Cargo's variable comes first because the target folder
/// may be shared by clones at other paths (tests/run), whose binaries carry
/// the path of the clone that built them.
fn crate_dir() -> Option<PathBuf> {
    let at_run = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let at_build = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    at_run.into_iter().chain([at_build]).find(|d| d.is_dir())
}

/// The source commit, when run from a git checkout.
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(crate_dir()?)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn run(a: Args) -> Result<()> {
    a.augment.validate().map_err(|e| anyhow!(e))?;
    if !(a.temperature.is_finite() && a.temperature > 0.0) {
        bail!("--temperature must be a positive number");
    }
    // A forgotten --resume must not replace an earlier run's checkpoint (a
    // run killed before its first one has nothing to lose).
    if !a.resume && a.out.join("checkpoint").join(STATE_FILE).exists() {
        bail!(
            "{} holds a training run already (checkpoint/, metrics.csv): --resume continues it; \
             to start afresh, remove it or choose another --out",
            a.out.display()
        );
    }
    let clips = a.data.load()?;
    let fe: FeatureConfig = front_end_config(a.front_end.as_deref(), &a.model)?;
    let patch_targets = match &a.patch_targets {
        None => None,
        Some(p) => {
            if a.augment.crop_frames == 0 {
                bail!("--patch-targets labels crops: give --crop-frames too");
            }
            if a.augment.mixup > 0.0 {
                bail!("--patch-targets with --mixup: a crop's target would undo the mix");
            }
            if fe.front_end.sample_rate() != patches::PATCH_RATE {
                bail!("--patch-targets needs a front end at 16 kHz (the teacher's patches' rate)");
            }
            Some(patches::PatchTargets::read(p)?)
        }
    };
    let cache_dir = cache_dir(a.cache.as_deref());
    let all = featurise(&clips, &cache_dir, &fe)?;
    let mut features = Features::new(fe.clone());
    let stats =
        Standardisation::measure(all.iter().filter(|f| f.split == Split::Train).map(|f| &f.x))
            .ok_or_else(|| anyhow!("no training clips"))?;
    let eq = eq_rows(&a.augment, &fe, &mut features, &stats)?;
    let pt = patch_targets.as_ref();
    let train = split_data(&all, Split::Train, &[], &stats, &mut features, pt);
    drop(patch_targets);
    let without = &a.mix.select_without;
    let valid = split_data(&all, Split::Valid, without, &stats, &mut features, None);
    let test = split_data(&all, Split::Test, &[], &stats, &mut features, None);
    let known: Vec<String> = all.iter().map(|f| f.family.clone()).collect();
    drop(all);
    let unknown = a.mix.unknown(&known);
    if !unknown.is_empty() {
        bail!("no clips of the families {unknown:?} (--cap, --select-without)");
    }
    let per_epoch = a.mix.epoch(&train.families, a.seed, 0).len();
    eprintln!(
        "clips: {} train ({per_epoch} per epoch), {} valid, {} test",
        train.len(),
        valid.len(),
        test.len()
    );
    if valid.is_empty() {
        bail!("the validation split is empty");
    }

    let input_size = train.x[0].rows;
    let mut config = ModelConfig::from_name(&a.model, input_size)?;
    if let Some(p) = a.dropout {
        if !(0.0..1.0).contains(&p) {
            bail!("--dropout {p}: a probability in [0, 1) is needed");
        }
        config.dropout = p;
    }
    if !(a.weight_decay >= 0.0 && a.weight_decay.is_finite()) {
        bail!(
            "--weight-decay {}: a finite value ≥ 0 is needed",
            a.weight_decay
        );
    }
    if let Some(c) = a.clip_grad_norm
        && !(c > 0.0 && c.is_finite())
    {
        bail!("--clip-grad-norm {c}: a finite value > 0 is needed");
    }
    let base = device(a.device)?;
    let ad = base.clone().autodiff();
    ad.seed(a.seed);

    let ckpt = a.out.join("checkpoint");
    std::fs::create_dir_all(&ckpt).with_context(|| format!("creating {}", ckpt.display()))?;
    let mut meta = ModelMetadata::new(&config);
    meta.front_end = serde_json::to_value(&fe)?;
    meta.normalisation = Some(NormalisationStats {
        mean: stats.mean.clone(),
        std: stats.std.clone(),
    });
    meta.provenance = Provenance {
        commit: git_commit(),
        corpus: a.corpus.clone(),
        seed: Some(a.seed),
        ..Provenance::default()
    };

    let (mut tagger, mut optim, mut state) = if a.resume {
        let bytes = std::fs::read(ckpt.join("model.bpk"))
            .with_context(|| format!("--resume: no checkpoint in {}", ckpt.display()))?;
        let (tagger, _) = model::load(&bytes, &ad)?;
        if tagger.config.name() == config.name() && tagger.config.dropout != config.dropout {
            bail!(
                "--resume: the checkpoint was trained with dropout {}, not {}",
                tagger.config.dropout,
                config.dropout
            );
        }
        if tagger.config != config {
            bail!(
                "--resume: the checkpoint is a {}, not a {}",
                tagger.config.name(),
                a.model
            );
        }
        let optim = optimiser(a.weight_decay, a.clip_grad_norm)
            .load(ckpt.join("optimizer.bpk"))
            .map_err(|e| anyhow!("--resume: optimiser state: {e:?}"))?;
        let state: LoopState = serde_json::from_slice(&std::fs::read(ckpt.join(STATE_FILE))?)?;
        eprintln!("resuming after epoch {}", state.epoch);
        (tagger, optim, state)
    } else {
        (
            Tagger::new(&config, &ad)?,
            optimiser(a.weight_decay, a.clip_grad_norm),
            LoopState {
                epoch: 0,
                best_valid_roc_auc: None,
                best_epoch: None,
            },
        )
    };

    let log_path = a.out.join("metrics.csv");
    if !a.resume || !log_path.exists() {
        std::fs::write(
            &log_path,
            "epoch,lr,train_loss,valid_loss,valid_roc_auc,valid_pr_auc,seconds,clips_per_s,select\n",
        )?;
    }
    let steps = per_epoch.div_ceil(a.batch) as u64;
    let run_start = Instant::now();
    let state_start = state.epoch;
    // CPU seconds spent in training steps (validation excluded), and the
    // fraction of an epoch trained when the CPU budget stopped the run.
    let mut train_cpu = 0.0f64;
    let mut partial: Option<f64> = None;
    for epoch in state.epoch..a.epochs {
        let lr = a.lr * a.lr_decay.powi(epoch as i32);
        // Dropout draws from the device's generator: reseed per epoch so a
        // resumed run draws what an uninterrupted one would.
        ad.seed(a.seed.wrapping_add(u64::from(epoch) + 1));
        let bar = ProgressBar::new(steps).with_style(
            ProgressStyle::with_template(&format!(
                "epoch {}/{} {{bar:30}} {{pos}}/{{len}} loss {{msg}} [{{elapsed}}<{{eta}}]",
                epoch + 1,
                a.epochs
            ))
            .expect("static template"),
        );
        let start = Instant::now();
        // The CPU time (all threads) during the steps: what the budget
        // counts. Time between them (the epoch's shuffle) must not stop a run
        // before its first step (a 60 µs budget did, under load).
        let mut step_cpu = 0.0f64;
        let mut loss_sum = 0.0f64;
        let mut seen = 0usize;
        let order = a.mix.epoch(&train.families, a.seed, epoch);
        let mut rng = Augment::rng(a.seed, epoch);
        for (k, idx) in order.chunks(a.batch).enumerate() {
            if let Some(budget) = a.cpu_budget
                && train_cpu + step_cpu >= budget * 60.0
            {
                partial = Some(seen as f64 / order.len() as f64);
                break;
            }
            let cpu_start = cpu_seconds();
            let (x, y) = batch(&tagger, &train, idx, &ad, Some((&a.augment, &mut rng, &eq)))?;
            let value;
            (tagger, value) = train_step(tagger, &mut optim, x, y, lr, a.temperature)?;
            step_cpu += cpu_seconds() - cpu_start;
            if !value.is_finite() {
                bail!("epoch {}: the loss is {value}; try a lower --lr", epoch + 1);
            }
            loss_sum += f64::from(value) * idx.len() as f64;
            seen += idx.len();
            bar.set_message(format!(
                "{:.4}",
                loss_sum / ((k * a.batch + idx.len()) as f64)
            ));
            bar.inc(1);
        }
        let seconds = start.elapsed().as_secs_f64();
        train_cpu += step_cpu;
        bar.finish_and_clear();
        if seen == 0 {
            // The budget ran out exactly at an epoch boundary.
            partial = None;
            break;
        }

        let snapshot = tagger.valid();
        let (scores, valid_loss) = evaluate(&snapshot, &valid, a.batch, &base)?;
        let figures = per_tag(&scores, &valid.y, TAG_COUNT);
        let roc = macro_mean(figures.iter().map(|f| f.roc_auc));
        let pr = macro_mean(figures.iter().map(|f| f.pr_auc));
        let select = match a.select {
            Select::Soft => roc,
            Select::Top3 => {
                let top3 = per_tag(&scores, &top_k(&valid.y, TAG_COUNT, 3), TAG_COUNT);
                macro_roc_auc_min(&top3, 10)
            }
        };
        let train_loss = loss_sum / seen as f64;
        // Undefined figures (no positive in the split): empty in the CSV.
        let fmt = |v: Option<f64>| v.map_or("".into(), |v| format!("{v:.4}"));
        // A partial epoch is logged as a fraction (e.g. 2.35).
        let label = match partial {
            Some(f) => format!("{:.2}", f64::from(epoch) + f),
            None => (epoch + 1).to_string(),
        };
        let shown = match a.select {
            Select::Soft => String::new(),
            Select::Top3 => format!(", top-3 ROC-AUC {}", show(select)),
        };
        eprintln!(
            "epoch {label}/{}: train loss {train_loss:.4}, valid loss {valid_loss:.4}, valid ROC-AUC {}, PR-AUC {}{shown} ({seconds:.0} s, {:.1} clips/s)",
            a.epochs,
            show(roc),
            show(pr),
            seen as f64 / seconds
        );
        let mut log = std::fs::OpenOptions::new().append(true).open(&log_path)?;
        writeln!(
            log,
            "{label},{lr:.6e},{train_loss:.6},{valid_loss:.6},{},{},{seconds:.1},{:.2},{}",
            fmt(roc),
            fmt(pr),
            seen as f64 / seconds,
            fmt(select)
        )?;
        let improved = select > state.best_valid_roc_auc;
        if improved {
            state.best_valid_roc_auc = select;
            // A partial epoch that improves is the final model as it stands.
            state.best_epoch = partial.is_none().then_some(epoch + 1);
        }
        if let Some(f) = partial {
            eprintln!(
                "stopping at epoch {label}: the {} CPU-min budget is spent",
                a.cpu_budget.unwrap_or_default()
            );
            partial = Some(f64::from(epoch) + f);
            break;
        }

        state.epoch = epoch + 1;
        meta.provenance.epochs = Some(state.epoch);
        // Model (and the best one so far), then optimiser, then the state
        // that says they are complete.
        let bytes = model::save(&tagger, &meta, Precision::F32)?;
        if improved {
            output::write(&ckpt.join("best.bpk"), &bytes)?;
        }
        output::write(&ckpt.join("model.bpk"), &bytes)?;
        let tmp = ckpt.join("optimizer.tmp");
        optim
            .save(&tmp)
            .map_err(|e| anyhow!("saving the optimiser state: {e:?}"))?;
        std::fs::rename(&tmp, ckpt.join("optimizer.bpk"))?;
        output::write(&ckpt.join(STATE_FILE), &serde_json::to_vec(&state)?)?;
        if let Some(budget) = a.time_budget {
            let spent = run_start.elapsed().as_secs_f64();
            let epoch_secs = spent / f64::from(epoch + 1 - state_start);
            if spent + epoch_secs > budget * 60.0 && epoch + 1 < a.epochs {
                eprintln!(
                    "stopping after epoch {}: another would exceed the {budget} min budget",
                    epoch + 1
                );
                break;
            }
        }
    }

    // The selected weights: the best validation epoch unless the weights in
    // memory are it (the last epoch, or a partial one that improved).
    let mut selected = partial.unwrap_or(f64::from(state.epoch));
    let snapshot = match state.best_epoch {
        Some(best) if a.keep == Keep::Best && (best != state.epoch || partial.is_some()) => {
            eprintln!("keeping epoch {best}, the best on validation");
            selected = f64::from(best);
            let bytes = std::fs::read(ckpt.join("best.bpk"))
                .with_context(|| format!("reading {}", ckpt.join("best.bpk").display()))?;
            model::load(&bytes, &base)?.0
        }
        _ => tagger.valid(),
    };
    // Whole epochs behind the weights (a partial epoch's fraction is in
    // `selected_epoch`).
    meta.provenance.epochs = Some(selected as u32);
    // Test split: per-tag figures into the model file.
    let mut metrics = Metrics {
        split: Some("test".into()),
        ..Metrics::default()
    };
    if !test.is_empty() {
        let (scores, test_loss) = evaluate(&snapshot, &test, a.batch, &base)?;
        let figures = per_tag(&scores, &test.y, TAG_COUNT);
        metrics.roc_auc = macro_mean(figures.iter().map(|f| f.roc_auc));
        metrics.pr_auc = macro_mean(figures.iter().map(|f| f.pr_auc));
        metrics.per_tag = figures
            .iter()
            .zip(TAGS)
            .map(|(f, tag)| TagMetrics {
                tag: tag.to_string(),
                roc_auc: f.roc_auc,
                pr_auc: f.pr_auc,
                positives: Some(f.positives as u64),
            })
            .collect();
        metrics.extra = serde_json::json!({
            "test_loss": test_loss,
            "clips": {"train": train.len(), "valid": valid.len(), "test": test.len()},
            "best_valid_roc_auc": state.best_valid_roc_auc,
            "select": format!("{:?}", a.select).to_lowercase(),
            "epochs_trained": partial.unwrap_or(f64::from(state.epoch)),
            "selected_epoch": selected,
            "augment": serde_json::to_value(&a.augment)?,
            "mix": serde_json::to_value(&a.mix)?,
            "temperature": a.temperature,
            "dropout": config.dropout,
            "weight_decay": a.weight_decay,
            "clip_grad_norm": a.clip_grad_norm,
            "patch_targets": a.patch_targets.as_ref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy()),
            "parameters": snapshot.num_params(),
            // Training clips per tag (target >= 0.5, the positives' rule): the
            // page marks tags the model has barely seen as uncertain.
            "train_positives": positives(&train.y, TAG_COUNT),
        });
        // Only a budgeted run's CPU time means something: a resumed run
        // would report its own share, not the model's.
        if a.cpu_budget.is_some() {
            metrics.extra["train_cpu_minutes"] = serde_json::json!(train_cpu / 60.0);
        }
        eprintln!(
            "test: ROC-AUC {}, PR-AUC {} over {} clips",
            show(metrics.roc_auc),
            show(metrics.pr_auc),
            test.len()
        );
    }
    meta.metrics = metrics;
    let name = config.name();
    for (precision, file) in [
        (Precision::F32, format!("{name}.bpk")),
        (Precision::F16, format!("{name}.f16.bpk")),
        (Precision::Int8, format!("{name}.int8.bpk")),
    ] {
        let path = a.out.join(file);
        output::write(&path, &model::save(&snapshot, &meta, precision)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
