//! `scatterbrain model average`: the element-wise mean of the weights of
//! several model files of one configuration (stochastic weight averaging over
//! a run's last epochs, or over runs that share a starting point). The mean of
//! nearby points of one training run sits nearer the middle of the flat
//! region they wander in, which tends to generalise better than any of them.

use anyhow::{Context, Result, bail, ensure};
use burn::store::ModuleSnapshot;
use burn::store::burn_pack::Tensor;
use burn::tensor::{Bytes, DType};
use scatterbrain::model::{self, Device, ModelMetadata, Precision, Tagger, quant};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The averaged model and its metadata: the first file's, with its test
/// figures dropped (they were measured on other weights) and the inputs
/// listed in `metrics.extra.averaged_from`.
pub fn average(files: &[PathBuf]) -> Result<(Tagger, ModelMetadata)> {
    ensure!(files.len() >= 2, "give at least two model files to average");
    let device = Device::flex();
    let mut sums: BTreeMap<String, (Tensor, Vec<f64>)> = BTreeMap::new();
    let mut first: Option<(Tagger, ModelMetadata)> = None;
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let (tagger, meta) =
            model::load(&bytes, &device).with_context(|| format!("{}", file.display()))?;
        if let Some((_, m)) = &first {
            let differs = if meta.model != m.model {
                Some("model configuration")
            } else if meta.tags != m.tags {
                Some("tag list")
            } else if meta.front_end != m.front_end || meta.normalisation != m.normalisation {
                Some("front end or normalisation")
            } else {
                None
            };
            if let Some(what) = differs {
                bail!(
                    "{}: its {what} differs from {}'s: only models of one configuration, \
                     trained on the same features, can be averaged",
                    file.display(),
                    files[0].display()
                );
            }
        }
        for t in tagger.collect(None, None, false) {
            ensure!(
                t.dtype == DType::F32,
                "{}: weight {} is {:?}",
                file.display(),
                t.name,
                t.dtype
            );
            let values = quant::f32s(&t)?.into_iter().map(f64::from);
            let name = t.name.clone();
            match sums.get_mut(&name) {
                Some((_, sum)) => sum.iter_mut().zip(values).for_each(|(s, v)| *s += v),
                None => {
                    let sum = values.collect();
                    sums.insert(name, (t, sum));
                }
            }
        }
        if first.is_none() {
            first = Some((tagger, meta));
        }
    }
    let (mut tagger, mut meta) = first.expect("at least two files");
    let n = files.len() as f64;
    let tensors: Vec<Tensor> = sums
        .into_values()
        .map(|(t, sum)| {
            let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
            Tensor::new(
                t.name,
                DType::F32,
                t.shape.to_vec(),
                t.param_id,
                Bytes::from_elems(mean),
            )
        })
        .collect();
    let result = tagger.apply(tensors, None, None, false);
    ensure!(
        result.errors.is_empty() && result.missing.is_empty() && result.unused.is_empty(),
        "the averaged weights do not fit the model: {result:?}"
    );
    meta.metrics.split = None;
    meta.metrics.roc_auc = None;
    meta.metrics.pr_auc = None;
    meta.metrics.per_tag.clear();
    let inputs: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    if let Some(extra) = meta.metrics.extra.as_object_mut() {
        extra.insert("averaged_from".into(), inputs.clone().into());
    } else {
        meta.metrics.extra = serde_json::json!({ "averaged_from": inputs });
    }
    let note = format!("mean of the weights of {} model files", files.len());
    meta.provenance.notes = Some(match meta.provenance.notes.take() {
        Some(n) if !n.is_empty() => format!("{n}; {note}"),
        _ => note,
    });
    meta.precision = Precision::F32;
    Ok((tagger, meta))
}
