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
    // The processes a `call:` names live beside it: load the nearest `processes/` tree (or the
    // file's folder) with it, and report only this file's problems.
    let abs = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    let root =
        abs.ancestors().skip(1).find(|a| a.file_name().is_some_and(|n| n == "processes")).or_else(|| abs.parent());
    let mut paths = vec![file.to_path_buf()];
    paths.extend(root.map(Path::to_path_buf));
    let loaded = files::load(&paths);
    let shown =
        loaded.sources.keys().find(|k| Path::new(k).canonicalize().ok().as_deref() == Some(abs.as_path())).cloned();
    let process = loaded.catalog.processes.values().find(|p| Some(&p.file) == shown.as_ref());
    let Some(process) = process else {
        for d in loaded.diagnostics.iter().filter(|d| Some(&d.file) == shown.as_ref()) {
            eprintln!("{}\n", d.render(loaded.sources.get(&d.file).map(String::as_str)));
        }
        eprintln!("error: {} does not hold a valid process", file.display());
        return ExitCode::FAILURE;
    };
    let format = match format {
        DiagramFormat::Mermaid => Format::Mermaid,
        DiagramFormat::Dot => Format::Dot,
        DiagramFormat::Svg => Format::Svg,
    };
    print!("{}", diagram::render(process, format, &[]));
    ExitCode::SUCCESS
}
