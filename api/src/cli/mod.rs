//! The `tramite` command line: `check`, `test`, `diagram`, `schema`, `calendar`.

pub mod backup;
pub mod bench;
mod bench_alerts;
mod bench_cases;
mod bench_http;
mod bench_indicators;
pub mod calendar;
mod check;
mod scenario_db;
pub mod serve;
mod server_driver;
mod test;
pub mod user;
pub mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Trámite: procedure manuals as running processes.
#[derive(Debug, Parser)]
#[command(name = "tramite", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Check process, form and calendar files; prints every problem as path:line:column.
    Check {
        /// Files or directories (default: processes forms calendars).
        paths: Vec<PathBuf>,
    },
    /// Run scenario files (`test:` files) on the engine with a virtual clock, and through the
    /// server on each `--store`.
    Test {
        /// Files or directories holding definitions and scenarios (default: processes).
        paths: Vec<PathBuf>,
        /// Also run every scenario through the server's API, runtime, store and scheduler on a
        /// manual clock: `sqlite` (temporary files), `sqlite://DIR`, or `postgres://…` (a user
        /// that may create databases; one is created and dropped per scenario). Repeatable.
        #[arg(long = "store", value_name = "URL")]
        stores: Vec<String>,
    },
    /// Print a process as a Mermaid or Graphviz diagram, or draw it as SVG.
    Diagram {
        /// The process file.
        file: PathBuf,
        #[arg(long, value_enum, default_value = "mermaid")]
        format: DiagramFormat,
    },
    /// Business calendars: holidays of a year, deadlines, business time between two instants.
    #[command(subcommand)]
    Calendar(calendar::CalendarCmd),
    /// Run the engine: HTTP API, scheduler, e-mail outbox, file watch.
    Serve(Box<serve::ServeArgs>),
    /// Copy the SQLite database to a new file, consistently, while the server runs.
    Backup(backup::BackupArgs),
    /// Manage users and their API tokens.
    #[command(subcommand)]
    User(user::UserCmd),
    /// Measure task completions per second and their latency (engine, SQLite, PostgreSQL).
    Bench(bench::BenchArgs),
    /// Print the JSON Schema of the definition formats.
    Schema {
        #[arg(value_enum, default_value = "all")]
        which: SchemaKind,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DiagramFormat {
    Mermaid,
    Dot,
    /// A standalone SVG drawing of the flow.
    Svg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    All,
    Process,
    Form,
}

/// Runs a parsed command line.
pub fn main(cli: Cli) -> ExitCode {
    match cli.command {
        Cmd::Check { paths } => check::run(&default_paths(paths, &["processes", "forms", "calendars"])),
        Cmd::Test { paths, stores } => test::run(&default_paths(paths, &["processes"]), &stores),
        Cmd::Bench(args) => block_on(bench::run(args)),
        Cmd::Serve(args) => block_on(serve::run(*args)),
        Cmd::User(cmd) => block_on(user::run(cmd)),
        Cmd::Backup(args) => block_on(backup::run(args)),
        Cmd::Calendar(cmd) => calendar::run(cmd, std::path::Path::new("calendars")),
        Cmd::Diagram { file, format } => check::diagram(&file, format),
        Cmd::Schema { which } => {
            use tramite_engine::definition::schema;
            let value = match which {
                SchemaKind::All => schema::schema(),
                SchemaKind::Process => schema::process_schema(),
                SchemaKind::Form => schema::form_schema(),
            };
            println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            ExitCode::SUCCESS
        }
    }
}

fn block_on(f: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

fn default_paths(given: Vec<PathBuf>, defaults: &[&str]) -> Vec<PathBuf> {
    if given.is_empty() { defaults.iter().map(PathBuf::from).filter(|p| p.exists()).collect() } else { given }
}
