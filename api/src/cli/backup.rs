//! `tramite backup FILE`: a consistent copy of the SQLite database, taken while the server
//! runs. PostgreSQL is backed up with its own tools (see docs/operations.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::store::Store;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new file to write the copy to; an existing file is never overwritten.
    pub file: PathBuf,
    /// `sqlite://FILE`: the database to copy (it may be in use by `tramite serve`).
    #[arg(long, env = "TRAMITE_DATABASE", default_value = "sqlite://tramite.db")]
    pub database: String,
}

pub async fn run(args: BackupArgs) -> ExitCode {
    if args.database.starts_with("postgres:") || args.database.starts_with("postgresql:") {
        eprintln!(
            "error: `tramite backup` copies SQLite databases; back PostgreSQL up with `pg_dump -Fc` or base backups and WAL archiving (docs/operations.md)"
        );
        return ExitCode::FAILURE;
    }
    // `symlink_metadata`: a dangling link is a file in the way too.
    if args.file.symlink_metadata().is_ok() {
        eprintln!("error: {} exists; a backup never overwrites a file: name a new one", args.file.display());
        return ExitCode::FAILURE;
    }
    match Store::sqlite_backup(&args.database, &args.file).await {
        Ok(()) => {}
        Err(e) => {
            // The file did not exist before: whatever is there now is a copy left half-made.
            let _ = std::fs::remove_file(&args.file);
            eprintln!("error: backing up {}: {e}", args.database);
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = sync(&args.file) {
        eprintln!("error: writing {} to disk: {e}", args.file.display());
        return ExitCode::FAILURE;
    }
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    println!("backed up {} to {} ({size} bytes, checked)", args.database, args.file.display());
    ExitCode::SUCCESS
}

/// Flushes the copy and the directory entry naming it to disk, so a crash right after the
/// command returns does not lose the backup.
fn sync(file: &Path) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()
}
