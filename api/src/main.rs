use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tramite::cli::main(tramite::cli::Cli::parse())
}
