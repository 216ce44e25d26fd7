use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tramite::cli::Cli::parse();
    let format = match &cli.command {
        tramite::cli::Cmd::Serve(args) => args.log_format,
        _ => tramite::cli::serve::LogFormat::Text,
    };
    tramite::cli::serve::init_logging(format);
    tramite::cli::main(cli)
}
