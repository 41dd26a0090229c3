//! `scatterbrain model info`'s summary: what a model is, what it was trained
//! on and how it scores, in a screenful. The metadata itself (thousands of
//! lines with the held-out figures) is `--json`'s.

use scatterbrain::model::{ModelMetadata, TagSupport};
use serde_json::Value;
use std::fmt::Write;

/// The summary of `meta` (as `info` prints it: `v` is its JSON, with the
/// held-out figures under `heldout_evaluation` when there are any).
pub fn summary(meta: &ModelMetadata, v: &Value, file: &str, bytes: usize) -> String {
    let mut s = String::new();
    let name = meta.model.name();
    let _ = writeln!(
        s,
        "{name}: {file} ({:.2} MB, {} weights, format {})",
        bytes as f64 / 1e6,
        str_of(&v["precision"]),
        meta.format_version
    );
    let m = &v["model"];
    let _ = writeln!(
        s,
        "model: {} over {} inputs, {} tags{}",
        architecture(&m["architecture"]),
        str_of(&m["input_size"]),
        meta.tags.len(),
        extra_count(&v["metrics"]["extra"]["parameters"], "parameters")
    );
    let _ = writeln!(s, "front end: {}", front_end(&v["front_end"]));
    let _ = writeln!(s, "trained: {}", trained(v));
    let metrics = &v["metrics"];
    if let (Some(roc), Some(pr)) = (metrics["roc_auc"].as_f64(), metrics["pr_auc"].as_f64()) {
        let _ = writeln!(
            s,
            "measured when trained, on its {} split: macro ROC-AUC {roc:.3}, PR-AUC {pr:.3}",
            str_of(&metrics["split"])
        );
    }
    // heldout.py names each model it scores by its file's stem.
    let stem = std::path::Path::new(file)
        .file_stem()
        .map(|f| f.to_string_lossy());
    heldout(
        &mut s,
        &v["heldout_evaluation"],
        stem.as_deref().unwrap_or(&name),
    );
    let support = TagSupport::of(meta);
    let tags: Vec<String> = (meta.tags.iter().enumerate())
        .map(|(i, t)| {
            let mark = if support.uncertain(i) { "?" } else { "" };
            match support.tags[i].count {
                Some(n) if !support.tags[i].negative => format!("{t}{mark} {n}"),
                _ => format!("{t}{mark}"),
            }
        })
        .collect();
    let counted = match (support.known, support.split.as_deref()) {
        (true, Some("train")) => " (training clips with each; ? uncertain)",
        (true, _) => " (held-out clips with each; ? uncertain)",
        _ => "",
    };
    let _ = writeln!(s, "tags{counted}: {}", tags.join(", "));
    s.push_str("everything the file records: add --json\n");
    s
}

/// A string without its quotes; a number as Rust prints it (29, not 29.0).
fn str_of(v: &Value) -> String {
    match (v.as_str(), v.as_f64()) {
        (Some(t), _) => t.to_string(),
        (None, Some(x)) => x.to_string(),
        _ => v.to_string(),
    }
}

/// `, 1 234 567 parameters` when recorded.
fn extra_count(v: &Value, what: &str) -> String {
    v.as_u64()
        .map_or(String::new(), |n| format!(", {n} {what}"))
}

/// "4 GRU layers × 256 units", or the architecture's fields.
fn architecture(a: &Value) -> String {
    match (
        a["kind"].as_str(),
        a["layers"].as_u64(),
        a["hidden"].as_u64(),
    ) {
        (Some("rnn"), Some(layers), Some(hidden)) => format!(
            "{layers} {} layers × {hidden} units",
            str_of(&a["cell"]).to_uppercase()
        ),
        _ => fields(a, &[]),
    }
}

/// "scattering (j 13, q1 8, …) at 16000 Hz, 29 s windows".
fn front_end(f: &Value) -> String {
    let fe = &f["front_end"];
    format!(
        "{} ({}) at {} Hz, {} s windows",
        str_of(&fe["kind"]),
        fields(fe, &["kind", "sample_rate"]),
        str_of(&fe["sample_rate"]),
        str_of(&f["window"]["seconds"])
    )
}

/// `key value, …` of an object's scalar fields, but `skip`.
fn fields(v: &Value, skip: &[&str]) -> String {
    let Some(o) = v.as_object() else {
        return v.to_string();
    };
    (o.iter())
        .filter(|(k, v)| !skip.contains(&k.as_str()) && !v.is_object() && !v.is_array())
        .map(|(k, v)| format!("{k} {}", str_of(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn trained(v: &Value) -> String {
    let p = &v["provenance"];
    let x = &v["metrics"]["extra"];
    // As `tag` reads it: a file that records no epochs was never trained.
    let Some(epochs) = p["epochs"].as_u64() else {
        return "never (random weights: its tags mean nothing)".into();
    };
    let mut parts = vec![
        match (x["selected_epoch"].as_f64(), x["epochs_trained"].as_f64()) {
            (Some(kept), Some(all)) => format!("{all} epochs, epoch {kept} kept"),
            _ => format!("{epochs} epochs"),
        },
    ];
    for (key, label) in [("seed", "seed"), ("corpus", "corpus"), ("software", "by")] {
        if !p[key].is_null() {
            parts.push(format!("{label} {}", str_of(&p[key])));
        }
    }
    if let Some(c) = p["commit"].as_str() {
        parts.push(format!("commit {}", &c[..c.len().min(7)]));
    }
    parts.join(", ")
}

/// The held-out table: per split, clips and the top-3 macro ROC-AUC / PR-AUC
/// of this model and of musicnn's MTT_vgg, scored in the same run.
fn heldout(s: &mut String, h: &Value, name: &str) {
    let Some(splits) = h["splits"].as_object() else {
        return;
    };
    let _ = writeln!(
        s,
        "held out ({}; the teacher's top-3 tags per clip as positives), macro ROC-AUC / PR-AUC:",
        str_of(&h["file"])
    );
    let _ = writeln!(
        s,
        "  {:<28} {:>6}  {:<15}  musicnn MTT_vgg",
        "split", "clips", "this model"
    );
    for (split, fig) in splits {
        let top3 = &fig["protocols"]["top-3"];
        let pair = |who: &str| {
            let f = &top3[who];
            match (f["roc_auc"].as_f64(), f["pr_auc"].as_f64()) {
                (Some(r), Some(p)) => format!("{r:.3} / {p:.3}"),
                _ => "–".into(),
            }
        };
        let _ = writeln!(
            s,
            "  {split:<28} {:>6}  {:<15}  {}",
            str_of(&fig["clips"]),
            pair(name),
            pair("musicnn MTT_vgg")
        );
    }
}
