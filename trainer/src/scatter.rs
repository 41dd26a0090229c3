//! `scatterbrain scatter FILE [--png OUT] [--out OUT.npy] [--normalised]
//! [--config FEATURES.json] [--precise]`: the scattering transform by
//! default (at its reference precision with `--precise`), or the log-mel or
//! CQT front end given by `--config`.

use crate::output;
use crate::picture::Picture;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use npyz::{Order, WriterBuilder};
use scatterbrain::features::{FeatureConfig, Features};
use scatterbrain::pipeline::{Form, Pipeline, Stitcher, WindowFeatures};
use scatterbrain::transform::{FrontEnd, Precision};
use std::io::{Cursor, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Audio file; `-` reads it from standard input.
    #[arg(help = format!("Audio file ({}); `-` reads it from standard input", scatterbrain::decode::FORMATS))]
    pub file: PathBuf,
    /// Write a picture of the first-order coefficients (log frequency × time).
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Write the coefficients as a rows × frames float32 .npy (stored frame
    /// by frame, Fortran order), with a .json sidecar describing every row
    /// and frame (OUT with the extension .json); `-` writes the array to
    /// standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the sidecar of --out goes (default: OUT with the extension
    /// .json; none for standard output, a device or a pipe unless given).
    #[arg(long, requires = "out")]
    pub sidecar: Option<PathBuf>,
    /// Write the normaliser's output instead of raw S0/S1/S2: what a model
    /// reads before its own standardisation (whose statistics only a model
    /// file holds).
    #[arg(long)]
    pub normalised: bool,
    /// Feature configuration: JSON, or a JSON file (`front_end`,
    /// `normaliser`, `window`; fields left out take their defaults; default:
    /// the paper's scattering). A `front_end` of kind `mel` or `cqt` gives the
    /// comparison front ends.
    #[arg(long, value_name = "JSON|FILE")]
    pub config: Option<String>,
    /// Compute the scattering at its reference precision: float64 at higher
    /// internal rates, within 1e-4 of the transform's definition (the
    /// default, as the models are trained, is within 1e-3 plus float32's
    /// rounding floor); ~7× the time.
    #[arg(long)]
    pub precise: bool,
}

pub fn run(a: Args) -> Result<()> {
    if a.png.is_none() && a.out.is_none() {
        bail!("nothing to do: give --png and/or --out");
    }
    check_outputs(&a)?;
    let mut config: FeatureConfig = match &a.config {
        Some(given) => {
            let (value, source) = crate::model_cmd::json_arg(given, "--config")?;
            FeatureConfig::from_partial(value).with_context(|| format!("parsing {source}"))?
        }
        None => FeatureConfig::default(),
    };
    if a.precise {
        match &mut config.front_end {
            FrontEnd::Scattering(s) => s.precision = Precision::Reference,
            _ => bail!("--precise applies to the scattering front end only"),
        }
    }
    let mut features = Features::try_new(config)?;
    let form = if a.normalised { Form::Model } else { Form::Raw };
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template"),
    );
    let sr = features.sample_rate();
    let shown = a.file.display();
    let mut reader = crate::open_audio(&a.file)?;
    let info = reader.info();
    let mut pipeline = Pipeline::new(&features, form, info.sample_rate, info.channels)
        .with_context(|| format!("{shown}"))?;
    let rows = features.rows(features.window_len());

    // Frames go to the outputs as they are settled, so a long file takes the
    // memory of a window or two (and the picture's bounded blocks), not of
    // every frame.
    let mut picture = a.png.as_ref().map(|_| {
        use crate::picture::Level;
        let level = match (&features.config().front_end, a.normalised) {
            (_, true) => Level::Linear,
            (FrontEnd::Mel(_), false) => Level::Power,
            (FrontEnd::Scattering(_) | FrontEnd::Cqt(_), false) => Level::Amplitude,
        };
        Picture::new(&rows, level)
    });
    let array_err = |e: std::io::Error| {
        let out = a.out.as_deref().unwrap_or(Path::new("?"));
        anyhow::Error::new(e).context(format!("writing {}", output::shown(out)))
    };
    let mut writing = a.out.as_deref().map(output::begin).transpose()?;
    // npyz writes the frame count into the header at the end, seeking back;
    // a device or FIFO cannot seek, so its array is built in memory.
    let mut memory = Cursor::new(Vec::new());
    let mut npy = match &mut writing {
        Some(w) => {
            let sink: &mut dyn WriteSeek = if w.in_place() {
                &mut memory
            } else {
                w.writer()
            };
            Some(
                npyz::WriteOptions::<f32>::new()
                    .default_dtype()
                    .order(Order::Fortran)
                    .writer(sink)
                    .begin_2d(rows.len() as u64)
                    .map_err(array_err)?,
            )
        }
        None => None,
    };
    let mut times: Vec<f64> = Vec::new();
    let mut frame = |column: &[f32], t: u64| -> std::io::Result<()> {
        if let Some(p) = &mut picture {
            p.push(column);
        }
        if let Some(npy) = &mut npy {
            npy.extend(column.iter().copied())?;
        }
        times.push(t as f64 / f64::from(sr));
        Ok(())
    };
    let mut stitcher = Stitcher::new(features.hop());
    let mut ready: Vec<WindowFeatures> = Vec::new();
    let mut windows = 0usize;
    while let Some(pcm) = reader.next_packet().with_context(|| format!("{shown}"))? {
        pipeline
            .push(&mut features, None, pcm, |w| ready.push(w))
            .with_context(|| format!("{shown}"))?;
        for w in ready.drain(..) {
            windows += 1;
            stitcher.push(w, &mut frame).map_err(array_err)?;
        }
        bar.set_message(format!(
            "{windows} windows, {:.0} s of audio",
            pipeline.samples_seen() as f64 / sr as f64
        ));
        bar.tick();
    }
    let non_finite = pipeline.non_finite();
    pipeline
        .finish(&mut features, None, |w| ready.push(w))
        .with_context(|| format!("{shown}"))?;
    for w in ready.drain(..) {
        stitcher.push(w, &mut frame).map_err(array_err)?;
    }
    stitcher.finish(&mut frame).map_err(array_err)?;
    bar.finish_and_clear();
    if non_finite > 0 {
        eprintln!(
            "warning: {shown}: {non_finite} samples were NaN or infinite and were read as silence"
        );
    }
    if let Some(early) = reader.ended_early() {
        eprintln!("warning: {shown}: {early}");
    }
    let frames = times.len();
    if let (Some(png), Some(picture)) = (&a.png, &picture) {
        picture.write(png)?;
        eprintln!("wrote {} ({frames} frames)", png.display());
    }
    npy.map(|n| n.finish()).transpose().map_err(array_err)?;
    if let (Some(out), Some(mut writing)) = (&a.out, writing) {
        if writing.in_place() {
            writing
                .writer()
                .write_all(memory.get_ref())
                .map_err(array_err)?;
        }
        let array = writing.finish()?;
        let Some(sidecar) = sidecar_path(&a) else {
            array.commit()?;
            eprintln!(
                "wrote {} (no sidecar for a stream; --sidecar FILE writes one)",
                output::shown(out)
            );
            return Ok(());
        };
        let meta = serde_json::json!({
            "file": a.file.display().to_string(),
            "shape": [rows.len(), frames],
            "layout": "float32, rows × frames, stored frame by frame (Fortran order; \
                       numpy.load gives the rows × frames array)",
            "normalised": a.normalised,
            "feature_config": features.config(),
            "frame_times_s": times,
            "rows": rows,
        });
        // Both are complete before either replaces an earlier file.
        let side = output::stage(&sidecar, |w| Ok(serde_json::to_writer_pretty(w, &meta)?))?;
        array.commit()?;
        side.commit()?;
        eprintln!("wrote {} and {}", output::shown(out), sidecar.display());
    }
    Ok(())
}

/// What the array is written into: its file, or memory (see above).
trait WriteSeek: Write + Seek {}
impl<T: Write + Seek> WriteSeek for T {}

/// The sidecar of `--out FILE`: `--sidecar`, else FILE with the extension
/// `.json`; none for standard output, a device or a pipe (`/dev/null.json`
/// is no place for it).
fn sidecar_path(a: &Args) -> Option<PathBuf> {
    let out = a.out.as_deref()?;
    (a.sidecar.clone()).or_else(|| (!output::is_stream(out)).then(|| out.with_extension("json")))
}

/// Whether `out` names the existing file `input` (any spelling of its path).
fn same_file(out: &Path, input: &Path) -> bool {
    match (std::fs::canonicalize(out), std::fs::canonicalize(input)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Refuse outputs that would overwrite an input or one another, before any
/// work.
fn check_outputs(a: &Args) -> Result<()> {
    let sidecar = sidecar_path(a);
    let (what, option) = match a.sidecar {
        Some(_) => ("the --sidecar", "--sidecar"),
        None => ("the sidecar of --out (its name with .json)", "--out"),
    };
    // Each output, what it is, and the option that names it.
    let outputs = [
        (a.png.as_deref(), "--png", "--png"),
        (a.out.as_deref(), "--out", "--out"),
        (sidecar.as_deref(), what, option),
    ];
    let inputs = [
        (Some(a.file.as_path()), "the audio file"),
        (
            (a.config.as_deref())
                .filter(|c| !crate::model_cmd::is_inline_json(c))
                .map(Path::new),
            "the --config file",
        ),
    ];
    // The array and the picture are binary (the sidecar is JSON: readable).
    for (out, option) in [(&a.png, "--png"), (&a.out, "--out")] {
        if let Some(out) = out.as_deref().filter(|o| output::is_terminal(o)) {
            bail!(
                "{option} {}: that is a terminal, and the output is binary; \
                 redirect it to a file (> name) or a pipe, or give {option} a file name",
                output::shown(out),
            );
        }
    }
    for (out, what, option) in outputs
        .iter()
        .filter_map(|(p, w, o)| Some((p.as_ref()?, w, o)))
    {
        if let Some((input, role)) = inputs
            .iter()
            .filter_map(|(p, r)| Some((p.as_ref()?, r)))
            .find(|(i, _)| same_file(out, i))
        {
            bail!(
                "{what}, {}, would overwrite {role}, {}; choose another name for {option}",
                out.display(),
                input.display(),
            );
        }
    }
    if let (Some(out), Some(png)) = (&a.out, &a.png)
        && out == png
    {
        bail!("--png {} would overwrite the --out array", png.display());
    }
    let (Some(out), Some(sidecar)) = (&a.out, sidecar) else {
        return Ok(());
    };
    if sidecar == *out {
        bail!(
            "--out {}: the array's sidecar ({what}) would be the same file; \
             give the array another extension, e.g. .npy, or --sidecar another name",
            out.display()
        );
    }
    if let Some(png) = a.png.as_ref().filter(|p| **p == sidecar) {
        bail!(
            "--png {} would overwrite the sidecar of --out",
            png.display()
        );
    }
    Ok(())
}
