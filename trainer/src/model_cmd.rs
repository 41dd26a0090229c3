//! `scatterbrain model init|info|convert|average`: make, inspect, convert and
//! average model files.

use anyhow::{Context, Result, bail};
use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::model::{
    self, Device, FrontEndKind, Model, ModelConfig, ModelMetadata, Precision, Provenance, Tagger,
};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a randomly initialised model in the real file format (for tests
    /// and as a training starting point; it tags nothing meaningful).
    Init(InitArgs),
    /// What a model file is, was trained on and scores (a summary; `--json`:
    /// all its metadata: configuration, front end, provenance, metrics, the
    /// held-out figures beside it).
    Info {
        /// Model file.
        file: PathBuf,
        /// Print all the metadata as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite a model file at another weight precision (fp16 halves its
    /// size, int8 quarters it), in the current format (a version 1 file is upgraded).
    Convert {
        /// Model file to read.
        input: PathBuf,
        /// Where to write.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum)]
        precision: PrecisionArg,
    },
    /// Average the weights of model files of one configuration (e.g. one run's
    /// last epochs: stochastic weight averaging) into a new file.
    Average {
        /// Model files to average (at least two; any precision).
        #[arg(required = true, num_args = 2..)]
        inputs: Vec<PathBuf>,
        /// Where to write.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
        precision: PrecisionArg,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PrecisionArg {
    F32,
    F16,
    /// 8-bit weights, one scale per output channel (the web model).
    Int8,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F16 => Precision::F16,
            PrecisionArg::Int8 => Precision::Int8,
        }
    }
}

#[derive(clap::Args)]
pub struct InitArgs {
    /// Model name, e.g. scat-5l-512h-gru, mel-2l-32h-lstm, cqt-4l-cnn.
    pub name: String,
    /// Where to write the model file (.bpk).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed of the initial weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,
    /// Front-end configuration: JSON, or a JSON file (`front_end`,
    /// `normaliser`, `window`; fields left out take their defaults, and the
    /// front end's kind is the name's).
    #[arg(long, value_name = "JSON|FILE")]
    pub front_end: Option<String>,
    /// The model's tags, comma-separated, in output order (default:
    /// MagnaTagATune's 50). A model of another tag set tags and shows its own.
    #[arg(long, value_delimiter = ',')]
    pub tags: Option<Vec<String>>,
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Init(a) => init(a),
        Command::Info { file, json } => info(&file, json),
        Command::Convert {
            input,
            out,
            precision,
        } => {
            let bytes = read(&input)?;
            let m = Model::from_bytes_any_version(&bytes, &Device::flex())
                .with_context(|| format!("{}", input.display()))?;
            write(&out, &m.to_bytes(precision.into())?)?;
            eprintln!("wrote {} ({})", out.display(), m.metadata.model.name());
            Ok(())
        }
        Command::Average {
            inputs,
            out,
            precision,
        } => {
            let (tagger, meta) = crate::average::average(&inputs)?;
            write(&out, &model::save(&tagger, &meta, precision.into())?)?;
            eprintln!("wrote {} (mean of {} files)", out.display(), inputs.len());
            Ok(())
        }
    }
}

/// The paper's front end for a model name's front-end kind.
pub fn default_front_end(kind: FrontEndKind) -> FeatureConfig {
    FeatureConfig {
        front_end: kind.default_config(),
        ..FeatureConfig::default()
    }
}

/// Whether a JSON argument is given inline (`{…}`) rather than as a file.
pub fn is_inline_json(given: &str) -> bool {
    given.trim_start().starts_with('{')
}

/// A JSON argument: inline (`{…}`) or a file's path; with how to name it in
/// messages (`option` for inline JSON, else the path).
pub fn json_arg(given: &str, option: &str) -> Result<(serde_json::Value, String)> {
    let (text, source) = if is_inline_json(given) {
        (given.to_string(), option.to_string())
    } else {
        let text = std::fs::read_to_string(given).with_context(|| format!("reading {given}"))?;
        (text, given.to_string())
    };
    let value = serde_json::from_str(&text).with_context(|| format!("parsing {source}"))?;
    Ok((value, source))
}

/// `--front-end` (inline JSON or a file, perhaps partial; its front end's
/// kind defaults to the model name's, and must be it), else the paper's
/// front end for the name.
pub fn front_end_config(given: Option<&str>, name: &str) -> Result<FeatureConfig> {
    let spec: model::ModelName = name.parse()?;
    let Some(given) = given else {
        return Ok(default_front_end(spec.front_end));
    };
    let (mut value, source) = json_arg(given, "--front-end")?;
    if value.pointer("/front_end/kind").is_none() {
        let kind = serde_json::to_value(spec.front_end.default_config())?["kind"].clone();
        // (A `front_end` that is not an object: from_partial says so.)
        if let Some(serde_json::Value::Object(fe)) = (value.as_object_mut()).map(|o| {
            o.entry("front_end")
                .or_insert_with(|| serde_json::json!({}))
        }) {
            fe.insert("kind".into(), kind);
        }
    }
    let config = FeatureConfig::from_partial(value).with_context(|| format!("parsing {source}"))?;
    if config.front_end.kind() != spec.front_end {
        bail!(
            "{source} is a {} front end, but the model name {name} says {}; \
             name the model after its front end (scat-, mel- or cqt-)",
            config.front_end.short_name(),
            spec.front_end.as_str()
        );
    }
    config.validate().with_context(|| source.clone())?;
    Ok(config)
}

fn init(a: InitArgs) -> Result<()> {
    let features_config = front_end_config(a.front_end.as_deref(), &a.name)?;
    let mut features = Features::new(features_config.clone());
    let input_size = features.rows(features.window_len()).len();
    let mut config = ModelConfig::from_name(&a.name, input_size)?;
    if let Some(tags) = &a.tags {
        config.tags = tags.len();
    }
    let device = Device::flex();
    device.seed(a.seed);
    let tagger = Tagger::new(&config, &device)?;
    let mut meta = ModelMetadata::new(&config);
    if let Some(tags) = a.tags {
        meta.tags = tags.into_iter().map(|t| t.trim().to_string()).collect();
    }
    meta.front_end = serde_json::to_value(&features_config)?;
    meta.provenance = Provenance {
        seed: Some(a.seed),
        notes: Some("randomly initialised, untrained".into()),
        ..Provenance::default()
    };
    write(&a.out, &model::save(&tagger, &meta, a.precision.into())?)?;
    eprintln!(
        "wrote {} ({}, {input_size} inputs, untrained)",
        a.out.display(),
        config.name()
    );
    Ok(())
}

fn info(file: &PathBuf, json: bool) -> Result<()> {
    let bytes = read(file)?;
    let meta =
        model::read_metadata_any_version(&bytes).with_context(|| format!("{}", file.display()))?;
    if meta.format_version < model::FORMAT_VERSION {
        eprintln!(
            "note: {} is format version {}: its metadata is not checksummed, and `tag` \
             refuses it; `scatterbrain model convert {0} --precision {} --out NEW.bpk` \
             rewrites it as version {} (weights unchanged)",
            file.display(),
            meta.format_version,
            match meta.precision {
                Precision::F32 => "f32",
                Precision::F16 => "f16",
                Precision::Int8 => "int8",
            },
            model::FORMAT_VERSION
        );
    }
    let mut v = serde_json::to_value(&meta)?;
    // Checksums are for the loader, not for people.
    if let Some(o) = v.as_object_mut() {
        o.remove("checksums");
        o.insert("name".into(), meta.model.name().into());
        if let Some(h) = heldout_summary(file)? {
            o.insert("heldout_evaluation".into(), h);
        }
    }
    let text = if json {
        serde_json::to_string_pretty(&v)?
    } else {
        let shown = file.display().to_string();
        crate::model_info::summary(&meta, &v, &shown, bytes.len())
    };
    // A reader that stops early (`| head`) closes the pipe: not an error, and
    // not a panic as `println!` would make it.
    let mut out = std::io::stdout().lock();
    match write!(out, "{text}{}", if json { "\n" } else { "" }).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        r => r.context("writing to stdout")?,
    }
    // The weights too, as `tag` loads them: a file whose metadata reads well
    // but whose weights are damaged must not pass for a good one here.
    Model::from_bytes_any_version(&bytes, &Device::flex())
        .map(|_| ())
        .with_context(|| {
            format!(
                "{}: the metadata above reads, the weights do not",
                file.display()
            )
        })
}

/// The held-out-package figures that `trainer/corpus/heldout.py --json` wrote
/// beside the model (`NAME.heldout.json`): macro figures per split, protocol
/// and scorer (the model and musicnn's MTT_vgg, scored in the same run). They
/// live beside the file rather than in it because they are measured after
/// training, on packages the model never saw, and grow with the corpus.
fn heldout_summary(file: &Path) -> Result<Option<serde_json::Value>> {
    let path = file.with_extension("heldout.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let mut v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?;
    // Per-tag figures stay in the file; the summary keeps the macro ones.
    if let Some(splits) = v.get_mut("splits").and_then(|s| s.as_object_mut()) {
        for split in splits.values_mut() {
            let protocols = split.get_mut("protocols").and_then(|p| p.as_object_mut());
            for scorers in protocols.into_iter().flat_map(|p| p.values_mut()) {
                for figures in scorers
                    .as_object_mut()
                    .into_iter()
                    .flat_map(|s| s.values_mut())
                {
                    if let Some(f) = figures.as_object_mut() {
                        f.remove("per_tag");
                    }
                }
            }
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.insert("file".into(), path.display().to_string().into());
    }
    Ok(Some(v))
}

fn read(p: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("reading {}", p.display()))
}

/// Atomic: a reader never sees half a model, a failed write keeps the old one.
fn write(p: &Path, bytes: &[u8]) -> Result<()> {
    crate::output::write(p, bytes)
}
