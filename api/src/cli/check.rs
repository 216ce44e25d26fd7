//! `tramite check` and `tramite diagram`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tramite_engine::diagram::{self, Format};

use super::DiagramFormat;
use crate::files;

pub fn run(paths: &[PathBuf]) -> ExitCode {
    let loaded = files::load(paths);
    for d in loaded.render() {
        eprintln!("{d}\n");
    }
    let c = &loaded.catalog;
    if loaded.diagnostics.is_empty() {
        println!("ok: {} processes, {} forms, {} calendars", c.processes.len(), c.forms.len(), c.calendars.len());
        ExitCode::SUCCESS
    } else {
        let files: std::collections::BTreeSet<&str> = loaded.diagnostics.iter().map(|d| d.file.as_str()).collect();
        eprintln!("{} error(s) in {} file(s)", loaded.diagnostics.len(), files.len());
        ExitCode::FAILURE
    }
}

pub fn diagram(file: &Path, format: DiagramFormat) -> ExitCode {
    let loaded = files::load(&[file.to_path_buf()]);
    let shown = loaded.sources.keys().find(|k| Path::new(k).file_name() == file.file_name()).cloned();
    let process = loaded.catalog.processes.values().find(|p| Some(&p.file) == shown.as_ref());
    let Some(process) = process else {
        for d in loaded.render() {
            eprintln!("{d}\n");
        }
        eprintln!("error: {} does not hold a valid process", file.display());
        return ExitCode::FAILURE;
    };
    let format = match format {
        DiagramFormat::Mermaid => Format::Mermaid,
        DiagramFormat::Dot => Format::Dot,
    };
    print!("{}", diagram::render(process, format, &[]));
    ExitCode::SUCCESS
}
