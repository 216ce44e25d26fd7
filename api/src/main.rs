use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: a transition allocates and frees many small
/// values (states, rows, JSON), and glibc's malloc was a fifth of the writer's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = tramite::cli::Cli::parse();
    let format = match &cli.command {
        tramite::cli::Cmd::Serve(args) => args.log_format,
        _ => tramite::cli::serve::LogFormat::Text,
    };
    tramite::cli::serve::init_logging(format);
    tramite::cli::main(cli)
}
