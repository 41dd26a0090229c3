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
        let split = metrics["split"]
            .as_str()
            .map_or(String::new(), |t| format!(", on its {t} split"));
        let _ = writeln!(
            s,
            "measured when trained{split}: macro ROC-AUC {roc:.3}, PR-AUC {pr:.3}"
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
                // An absence: at most this many had what it negates.
                Some(n) if support.tags[i].negative => format!("{t}{mark} ≤{n}"),
                Some(n) => format!("{t}{mark} {n}"),
                None => format!("{t}{mark}"),
            }
        })
        .collect();
    let counted = match (support.known, support.split.as_deref()) {
        (true, Some(split)) => format!(
            " ({} clips with each, ≤ for an absence: with what it negates; ? uncertain)",
            if split == "train" { "training" } else { split }
        ),
        _ => String::new(),
    };
    let _ = writeln!(s, "tags{counted}: {}", tags.join(", "));
    s.push_str("everything the file records: add --json\n");
    s
}

/// A string without its quotes; a whole number exactly (a u64 seed), other
/// numbers as Rust prints them (29, not 29.0).
fn str_of(v: &Value) -> String {
    if let Some(t) = v.as_str() {
        t.to_string()
    } else if let Some(n) = v.as_u64() {
        n.to_string()
    } else if let Some(n) = v.as_i64() {
        n.to_string()
    } else if let Some(x) = v.as_f64() {
        x.to_string()
    } else {
        v.to_string()
    }
}

/// An epoch count: whole, or to two decimals (a CPU-budgeted run stops
/// mid-epoch).
fn epochs(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
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
            "{layers} {} layer{} × {hidden} units",
            str_of(&a["cell"]).to_uppercase(),
            if layers == 1 { "" } else { "s" }
        ),
        _ => fields(a, &[]),
    }
}

/// "scattering (j 13, q1 8, …) at 16000 Hz, 29 s windows".
fn front_end(f: &Value) -> String {
    let fe = &f["front_end"];
    if !fe.is_object() {
        return "not recorded".into();
    }
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
    let Some(recorded) = p["epochs"].as_u64() else {
        return "never (random weights: its tags mean nothing)".into();
    };
    let mut parts = vec![
        match (x["selected_epoch"].as_f64(), x["epochs_trained"].as_f64()) {
            (Some(kept), Some(all)) if kept != all => {
                format!("{} epochs, epoch {} kept", epochs(all), epochs(kept))
            }
            (_, Some(all)) => format!("{} epochs", epochs(all)),
            _ => format!("{recorded} epochs"),
        },
    ];
    for (key, label) in [("seed", "seed"), ("corpus", "corpus"), ("software", "by")] {
        if !p[key].is_null() {
            parts.push(format!("{label} {}", str_of(&p[key])));
        }
    }
    if let Some(c) = p["commit"].as_str() {
        let short = c.char_indices().nth(7).map_or(c, |(i, _)| &c[..i]);
        parts.push(format!("commit {short}"));
    }
    parts.join(", ")
}

/// The held-out table: per split, clips and the top-k macro ROC-AUC / PR-AUC
/// of this model (`stem`: heldout.py's name for it) and of musicnn's MTT_vgg,
/// scored in the same run.
fn heldout(s: &mut String, h: &Value, stem: &str) {
    let Some(splits) = h["splits"].as_object() else {
        return;
    };
    let k = h["top"].as_u64().unwrap_or(3);
    let protocol = format!("top-{k}");
    let _ = writeln!(
        s,
        "held out ({}; the teacher's top-{k} tags per clip as positives), macro ROC-AUC / PR-AUC:",
        str_of(&h["file"])
    );
    let _ = writeln!(
        s,
        "  {:<28} {:>6} {:>5}  {:<15}  musicnn MTT_vgg",
        "split", "clips", "tags", "this model"
    );
    for (split, fig) in splits {
        let scored = &fig["protocols"][&protocol];
        let this = scorer(scored, stem);
        let pair = |who: Option<&str>| {
            let f = who.map_or(&Value::Null, |w| &scored[w]);
            match (f["roc_auc"].as_f64(), f["pr_auc"].as_f64()) {
                (Some(r), Some(p)) => format!("{r:.3} / {p:.3}"),
                _ => "–".into(),
            }
        };
        // How many tags the macro figures average (≥ 10 positives each): one
        // tag's figure is no macro average.
        let tags = this.as_deref().map_or(&Value::Null, |w| &scored[w]["tags"]);
        let _ = writeln!(
            s,
            "  {split:<28} {:>6} {:>5}  {:<15}  {}",
            str_of(&fig["clips"]),
            if tags.is_null() {
                "–".into()
            } else {
                str_of(tags)
            },
            pair(this.as_deref()),
            pair(Some(MTT_VGG))
        );
    }
}

const MTT_VGG: &str = "musicnn MTT_vgg";

/// This model's key among a protocol's scorers: its stem, or the stem with a
/// suffix (`NAME.int8`, as heldout.py names a converted copy), or the only
/// scorer that is not MTT_vgg.
fn scorer(scored: &Value, stem: &str) -> Option<String> {
    let keys: Vec<&String> = scored.as_object()?.keys().collect();
    let pick = |f: &dyn Fn(&str) -> bool| {
        let found: Vec<&&String> = keys.iter().filter(|k| f(k.as_str())).collect();
        (found.len() == 1).then(|| found[0].to_string())
    };
    pick(&|k| k == stem)
        .or_else(|| pick(&|k| k.strip_prefix(stem).is_some_and(|r| r.starts_with('.'))))
        .or_else(|| pick(&|k| k != MTT_VGG))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn epochs_whole_or_to_two_decimals() {
        assert_eq!(
            (epochs(16.0), epochs(15.069_444), epochs(0.206)),
            ("16".into(), "15.07".into(), "0.21".into())
        );
        let v = |x: Value| json!({"provenance": {"epochs": 13, "commit": "é1de1f28a3487"}, "metrics": {"extra": x}});
        let t = trained(&v(json!({"selected_epoch": 13.0, "epochs_trained": 16.0})));
        assert!(
            t.starts_with("16 epochs, epoch 13 kept") && t.ends_with("commit é1de1f2"),
            "{t}"
        );
        let t = trained(&v(
            json!({"selected_epoch": 15.069_444_444, "epochs_trained": 15.069_444_444}),
        ));
        assert!(t.starts_with("15.07 epochs,"), "{t}");
        assert!(trained(&json!({"provenance": {}})).starts_with("never"));
        assert_eq!(str_of(&json!(u64::MAX)), u64::MAX.to_string());
    }

    #[test]
    fn the_models_row_is_found_by_stem_suffix_or_as_the_only_one() {
        let scored = json!({"musicnn MTT_vgg": {}, "scat-5l-512h-gru.int8": {}, "scat-4l-256h-gru.int8": {}});
        assert_eq!(
            scorer(&scored, "scat-5l-512h-gru").as_deref(),
            Some("scat-5l-512h-gru.int8")
        );
        assert_eq!(scorer(&scored, "other"), None);
        let one = json!({"musicnn MTT_vgg": {}, "whatever": {}});
        assert_eq!(scorer(&one, "tiny").as_deref(), Some("whatever"));
        let exact = json!({"tiny": {}, "tiny.int8": {}, "musicnn MTT_vgg": {}});
        assert_eq!(scorer(&exact, "tiny").as_deref(), Some("tiny"));
    }
}
