//! `scatterbrain`: the one native command (scatter now; tag, train and eval
//! join it as the model lands).

use clap::{Parser, Subcommand};
use scatterbrain_trainer::scatter;

#[derive(Parser)]
#[command(
    name = "scatterbrain",
    version,
    about = "Music auto-tagging with a scattering transform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scattering transform of an audio file: a picture of S1 and/or the coefficients.
    Scatter(scatter::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scatter(a) => scatter::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
