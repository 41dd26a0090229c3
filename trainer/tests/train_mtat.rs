//! The trainer on a synthetic MagnaTagATune: `annotations_final.csv` (tab
//! separated, quoted, clip_id + 188 tag columns + mp3_path) and the folders
//! `0`–`f`, generated here. The clips are WAV (the reader takes any format the
//! decoder does; no MP3 encoder is needed to make them).
//!
//! Checks the paper's protocol (top-50 tags, folders → splits, clips without
//! any of the 50 dropped), that a tiny model learns an easy tag, and that a
//! run killed after epoch 12 and resumed ends with exactly the weights of an
//! uninterrupted run.

#[path = "../../tests/common/wav.rs"]
mod wav;

use scatterbrain::model::{self, Device};
use scatterbrain::tags::TAGS;
use scatterbrain_trainer::augment::Augment;
use scatterbrain_trainer::data::{Source, Split, read_mtat};
use scatterbrain_trainer::device::Backend;
use scatterbrain_trainer::train::{self, Args, Keep, Mix, Select};
use std::path::{Path, PathBuf};

const RATE: u32 = 16_000;

fn write_wav(path: &Path, samples: &[f32]) {
    std::fs::write(path, wav::wav_bytes(RATE, 1, wav::Sample::I16, samples)).unwrap();
}

/// Clip `k`: "piano" clips are a steady tone, "drums" clips are noise bursts;
/// every fourth clip of the "none" kind has none of the 50 tags.
fn clip(k: usize) -> (Vec<f32>, &'static str) {
    let n = RATE as usize * 2;
    let mut state = 0x1234_5678u32.wrapping_add(k as u32 * 7919);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32 - 0.5
    };
    match k % 4 {
        0 | 2 => {
            let f = 220.0 * (1.0 + (k % 5) as f32 * 0.25);
            let s = (0..n)
                .map(|i| 0.3 * (2.0 * std::f32::consts::PI * f * i as f32 / RATE as f32).sin())
                .collect();
            (s, "piano")
        }
        1 => {
            let s = (0..n)
                .map(|i| if (i / 2000) % 4 == 0 { noise() } else { 0.0 })
                .collect();
            (s, "drums")
        }
        _ => ((0..n).map(|_| 0.01 * noise()).collect(), "none"),
    }
}

/// 48 clips over the 16 folders; returns the root.
fn make_mtat(root: &Path) {
    let mut names: Vec<String> = TAGS.iter().map(|t| t.to_string()).collect();
    names.extend((names.len()..188).map(|i| format!("rare tag {i}")));
    let mut csv = String::from("\"clip_id\"");
    for n in &names {
        csv += &format!("\t\"{n}\"");
    }
    csv += "\t\"mp3_path\"\n";
    for k in 0..48 {
        // Three clips in a row per folder, so that the validation folder
        // (c: clips 36–38) holds piano and drums clips: with piano alone
        // (clips 12, 28, 44 by `k % 16`) no tag had positives and
        // negatives there, its ROC-AUC was undefined every epoch, and model
        // selection could not fail.
        let folder = format!("{:x}", (k / 3) % 16);
        std::fs::create_dir_all(root.join(&folder)).unwrap();
        let rel = format!("{folder}/artist-album-{k:02}-song.wav");
        let (samples, tag) = clip(k);
        write_wav(&root.join(&rel), &samples);
        csv += &format!("\"{k}\"");
        for n in &names {
            // Tags without positives tie at zero; column order then makes
            // ours (the first 50 columns) the top 50, as in the real file.
            let on = n == tag;
            csv += if on { "\t\"1\"" } else { "\t\"0\"" };
        }
        csv += &format!("\t\"{rel}\"\n");
    }
    std::fs::write(root.join("annotations_final.csv"), csv).unwrap();
}

fn args(root: &Path, out: &Path, cache: &Path, epochs: u32, resume: bool) -> Args {
    Args {
        data: Source {
            mtat: Some(root.to_path_buf()),
            manifest: None,
        },
        model: "scat-1l-8h-gru".into(),
        out: out.to_path_buf(),
        epochs,
        batch: 8,
        lr: 1e-2,
        lr_decay: 0.9,
        seed: 3,
        resume,
        device: Backend::Cpu,
        cache: Some(cache.to_path_buf()),
        front_end: None,
        corpus: Some("synthetic MTAT fixture".into()),
        time_budget: None,
        cpu_budget: None,
        keep: Keep::Best,
        select: Select::Soft,
        temperature: 1.0,
        dropout: None,
        weight_decay: 0.0,
        clip_grad_norm: None,
        patch_targets: None,
        augment: Augment::default(),
        mix: Mix::default(),
    }
}

/// The epochs whose validation ROC-AUC in a metrics.csv is the highest (the
/// log rounds to 4 digits, so a tie there may not be one in the trainer).
fn best_logged_epochs(log: &str) -> Vec<u32> {
    let rows: Vec<(u32, f64)> = log
        .lines()
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row.split(',').collect();
            let roc = cells[4].parse().unwrap_or(f64::NEG_INFINITY);
            (cells[0].parse().unwrap(), roc)
        })
        .collect();
    let top = rows.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max);
    rows.iter().filter(|r| r.1 == top).map(|r| r.0).collect()
}

fn checksums(path: &PathBuf) -> std::collections::BTreeMap<String, String> {
    let bytes = std::fs::read(path).unwrap();
    model::read_metadata(&bytes).unwrap().checksums
}

#[test]
fn mtat_protocol_training_and_resume() {
    let tmp = std::env::temp_dir().join(format!("sb-mtat-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (root, cache) = (tmp.join("mtat"), tmp.join("cache"));
    make_mtat(&root);

    // Protocol: 12 "none" clips dropped; folders 0–b / c / d–f.
    let clips = read_mtat(&root).unwrap();
    assert_eq!(clips.len(), 36);
    for c in &clips {
        let folder = c
            .path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let expected = match folder {
            "c" => Split::Valid,
            "d" | "e" | "f" => Split::Test,
            _ => Split::Train,
        };
        assert_eq!(c.split, expected, "{}", c.path.display());
        assert_eq!(c.targets.len(), 50);
    }

    // Uninterrupted: 20 epochs (a few seconds for this tiny model).
    let full = tmp.join("full");
    train::run(args(&root, &full, &cache, 20, false)).unwrap();
    let log = std::fs::read_to_string(full.join("metrics.csv")).unwrap();
    assert_eq!(log.lines().count(), 21, "header + 20 epochs:\n{log}");
    let final_model = full.join("scat-1l-8h-gru.bpk");
    let bytes = std::fs::read(&final_model).unwrap();
    let m = model::Model::from_bytes(&bytes, &Device::flex()).unwrap();
    // Model selection: an epoch with the best validation ROC-AUC is the one
    // written; every epoch has that figure.
    for row in log.lines().skip(1) {
        let roc = row.split(',').nth(4).unwrap_or("");
        assert!(
            roc.parse::<f64>().is_ok(),
            "no validation ROC-AUC in “{row}”:\n{log}"
        );
    }
    let best = m.metadata.provenance.epochs.unwrap();
    assert!(
        best_logged_epochs(&log).contains(&best),
        "epoch {best}:\n{log}"
    );
    assert_eq!(
        m.metadata.metrics.extra["selected_epoch"].as_f64(),
        Some(f64::from(best))
    );
    assert_eq!(
        m.metadata.metrics.extra["epochs_trained"].as_f64(),
        Some(20.0)
    );
    assert!(m.metadata.normalisation.is_some());
    let piano = TAGS.iter().position(|t| *t == "piano").unwrap();
    let per_tag = &m.metadata.metrics.per_tag;
    assert_eq!(per_tag.len(), 50);
    // The easy tag is learnt: tones vs bursts of noise.
    let auc = per_tag[piano]
        .roc_auc
        .expect("piano has positives and negatives in test");
    assert!(auc > 0.9, "piano ROC-AUC {auc}");
    assert!(full.join("scat-1l-8h-gru.f16.bpk").is_file());
    assert!(full.join("scat-1l-8h-gru.int8.bpk").is_file());
    // Training counts per tag, for the page's "barely seen" marks.
    let counts = m.metadata.metrics.extra["train_positives"]
        .as_array()
        .expect("train_positives recorded");
    assert_eq!(counts.len(), 50);
    assert!(
        counts[piano].as_u64().unwrap() > 0,
        "piano has training positives"
    );

    // A second run into the same folder without --resume is refused before
    // any work (it replaced the first run's checkpoint and log).
    let err = train::run(args(&root, &full, &cache, 20, false))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(
        std::fs::read_to_string(full.join("metrics.csv")).unwrap(),
        log
    );

    // Killed after epoch 12, resumed to 20: the same weights, bit for bit.
    let parts = tmp.join("parts");
    train::run(args(&root, &parts, &cache, 12, false)).unwrap();
    train::run(args(&root, &parts, &cache, 20, true)).unwrap();
    assert_eq!(
        checksums(&final_model),
        checksums(&parts.join("scat-1l-8h-gru.bpk")),
        "resumed run differs from the uninterrupted one"
    );

    // Augmented (mixup, masks, equaliser, crops), keeping the last epoch: it still learns
    // the easy tag, and the model file records how it was trained.
    let augmented = tmp.join("augmented");
    let mut a = args(&root, &augmented, &cache, 20, false);
    a.keep = Keep::Last;
    a.augment = Augment {
        mixup: 0.3,
        time_masks: 1,
        time_mask_frames: 1,
        row_masks: 1,
        row_mask_rows: 4,
        eq_db: 6.0,
        crop_frames: 32,
    };
    train::run(a).unwrap();
    let bytes = std::fs::read(augmented.join("scat-1l-8h-gru.bpk")).unwrap();
    let m = model::Model::from_bytes(&bytes, &Device::flex()).unwrap();
    assert_eq!(m.metadata.provenance.epochs, Some(20));
    assert_eq!(
        m.metadata.metrics.extra["augment"]["mixup"].as_f64(),
        Some(0.3)
    );
    assert_eq!(
        m.metadata.metrics.extra["augment"]["eq_db"].as_f64(),
        Some(6.0)
    );
    assert_eq!(
        m.metadata.metrics.extra["augment"]["crop_frames"].as_u64(),
        Some(32)
    );
    let auc = m.metadata.metrics.per_tag[piano].roc_auc.unwrap();
    assert!(auc > 0.9, "augmented piano ROC-AUC {auc}");
    assert_ne!(
        checksums(&final_model),
        checksums(&augmented.join("scat-1l-8h-gru.bpk")),
        "augmentation changed nothing"
    );

    // Per-patch targets: refused without crops or with mixup, a bad header
    // refused by name; with crops the run learns and records the file.
    let patched = tmp.join("patched");
    let sidecar = root.join("patches.csv");
    let mut a = args(&root, &patched, &cache, 20, false);
    a.keep = Keep::Last;
    a.patch_targets = Some(sidecar.clone());
    std::fs::write(&sidecar, "audio,patch,guitar\n").unwrap();
    let err = train::run(a.clone()).unwrap_err().to_string();
    assert!(err.contains("--crop-frames"), "{err}");
    a.augment.crop_frames = 32;
    a.augment.mixup = 0.3;
    let err = train::run(a.clone()).unwrap_err().to_string();
    assert!(err.contains("--mixup"), "{err}");
    a.augment.mixup = 0.0;
    let err = format!("{:#}", train::run(a.clone()).unwrap_err());
    assert!(
        err.contains("patches.csv") && err.contains("header"),
        "{err}"
    );
    // Every clip's nine patches: its targets (the crops' arithmetic and the
    // batches' targets are unit-tested in the trainer's `train` module).
    let mut csv = format!("audio,patch,{}\n", scatterbrain::tags::TAGS.join(","));
    for clip in scatterbrain_trainer::data::read_mtat(&root).unwrap() {
        let rel = clip.path.strip_prefix(&root).unwrap().display().to_string();
        let row: Vec<String> = clip.targets.iter().map(|v| v.to_string()).collect();
        for p in 0..9 {
            csv += &format!("{rel},{p},{}\n", row.join(","));
        }
    }
    std::fs::write(&sidecar, csv).unwrap();
    train::run(a).unwrap();
    let bytes = std::fs::read(patched.join("scat-1l-8h-gru.bpk")).unwrap();
    let m = model::Model::from_bytes(&bytes, &Device::flex()).unwrap();
    let extra = &m.metadata.metrics.extra;
    assert_eq!(extra["patch_targets"].as_str(), Some("patches.csv"));
    let auc = m.metadata.metrics.per_tag[piano].roc_auc.unwrap();
    assert!(auc > 0.9, "patch-target piano ROC-AUC {auc}");

    // Regularised (dropout, AdamW's weight decay, gradient clipping): it
    // still learns the easy tag, records all three, a clipping norm that is
    // not positive is refused, and a resume with another dropout is refused.
    let regularised = tmp.join("regularised");
    let mut a = args(&root, &regularised, &cache, 20, false);
    a.keep = Keep::Last;
    a.dropout = Some(0.1);
    a.weight_decay = 0.05;
    let mut zero_clip = a.clone();
    zero_clip.clip_grad_norm = Some(0.0);
    let err = train::run(zero_clip).unwrap_err().to_string();
    assert!(err.contains("--clip-grad-norm"), "{err}");
    a.clip_grad_norm = Some(0.5);
    train::run(a.clone()).unwrap();
    let bytes = std::fs::read(regularised.join("scat-1l-8h-gru.bpk")).unwrap();
    let m = model::Model::from_bytes(&bytes, &Device::flex()).unwrap();
    assert_eq!(m.tagger().config.dropout, 0.1);
    let extra = &m.metadata.metrics.extra;
    assert_eq!(extra["dropout"].as_f64(), Some(0.1));
    assert_eq!(extra["weight_decay"].as_f64(), Some(0.05));
    assert_eq!(extra["clip_grad_norm"].as_f64(), Some(0.5));
    let auc = m.metadata.metrics.per_tag[piano].roc_auc.unwrap();
    assert!(auc > 0.9, "regularised piano ROC-AUC {auc}");
    assert_ne!(
        checksums(&final_model),
        checksums(&regularised.join("scat-1l-8h-gru.bpk")),
        "dropout and weight decay changed nothing"
    );
    a.resume = true;
    a.epochs = 21;
    a.dropout = Some(0.2);
    let err = train::run(a).unwrap_err().to_string();
    assert!(err.contains("dropout"), "{err}");

    // A CPU budget far below one epoch stops mid-epoch: the partial epoch is
    // logged as a fraction, not checkpointed, and the model is still written
    // and evaluated.
    let budgeted = tmp.join("budget");
    let mut a = args(&root, &budgeted, &cache, 20, false);
    a.batch = 1;
    a.cpu_budget = Some(1e-6);
    train::run(a).unwrap();
    let log = std::fs::read_to_string(budgeted.join("metrics.csv")).unwrap();
    let rows: Vec<&str> = log.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "one partial epoch:\n{log}");
    let fraction: f64 = rows[0].split(',').next().unwrap().parse().unwrap();
    assert!(fraction > 0.0 && fraction < 1.0, "epoch {fraction}");
    assert!(!budgeted.join("checkpoint/state.json").exists());
    let bytes = std::fs::read(budgeted.join("scat-1l-8h-gru.bpk")).unwrap();
    let m = model::Model::from_bytes(&bytes, &Device::flex()).unwrap();
    let extra = &m.metadata.metrics.extra;
    let trained = extra["epochs_trained"].as_f64().unwrap();
    assert!(
        (trained - fraction).abs() <= 0.005,
        "{trained} vs logged {fraction}"
    );
    assert!(extra["train_cpu_minutes"].as_f64().unwrap() >= 1e-6);
    let _ = std::fs::remove_dir_all(&tmp);
}
