//! Native side of Scatterbrain: the `scatterbrain` command's subcommands,
//! training and evaluation.

pub mod augment;
pub mod average;
pub mod cache;
pub mod data;
pub mod device;
pub mod eval;
pub mod metrics;
pub mod model_cmd;
pub mod model_info;
pub mod output;
pub mod picture;
pub mod scatter;
pub mod step;
pub mod tag;
pub mod train;

/// `file: message`, or the message alone where it names the file first
/// already (the decoder's "FILE is a directory…"; "FILE: FILE: …" read badly).
pub fn about(file: &std::path::Path, e: &anyhow::Error) -> String {
    let (shown, message) = (file.display().to_string(), format!("{e:#}"));
    if message.starts_with(&shown) {
        message
    } else {
        format!("{shown}: {message}")
    }
}

/// [`AudioReader::open`](scatterbrain::decode::AudioReader::open), its error
/// naming the file once (some of its messages name it already).
pub fn open_audio(file: &std::path::Path) -> anyhow::Result<scatterbrain::decode::AudioReader> {
    scatterbrain::decode::AudioReader::open(file)
        .map_err(|e| anyhow::anyhow!(about(file, &e.into())))
}
