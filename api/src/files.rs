//! Reading definition trees from disk: every `*.yaml` (and message template, `*.hbs`) under the
//! given paths, calendars first
//! (they may extend one another), then forms and processes through the engine's loader.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tramite_engine::definition::{self, Catalog, FileKind, SourceFile};
use tramite_engine::diagnostic::{Diagnostic, Loc};

/// Everything read from a tree: the catalog, the problems, and the texts (for snippets).
#[derive(Debug, Default)]
pub struct Loaded {
    pub catalog: Catalog,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: BTreeMap<String, String>,
    pub scenario_files: Vec<SourceFile>,
}

impl Loaded {
    /// Each diagnostic with its source line and caret.
    pub fn render(&self) -> Vec<String> {
        self.diagnostics.iter().map(|d| d.render(self.sources.get(&d.file).map(String::as_str))).collect()
    }
}

/// The YAML files under `paths` (files as given, directories walked in name order), plus the
/// nearest `forms/` and `calendars/` directories above each path, so that checking
/// `processes/` or one process file alone still finds the forms and calendars it names.
pub fn collect(paths: &[PathBuf]) -> (Vec<SourceFile>, Vec<Diagnostic>) {
    let mut all: Vec<PathBuf> = Vec::new();
    for p in paths {
        walk(p, &mut all);
        // A process file given alone brings the message templates next to it.
        if p.is_file()
            && let Some(messages) = p.parent().map(|d| d.join("messages")).filter(|d| d.is_dir())
        {
            walk(&messages, &mut all);
        }
        // The nearest `forms/` and `calendars/` up the tree give the context a process names.
        let abs = p.canonicalize().unwrap_or_else(|_| p.clone());
        for sibling in ["forms", "calendars"] {
            if let Some(dir) = abs.ancestors().skip(1).map(|a| a.join(sibling)).find(|d| d.is_dir()) {
                walk(&dir, &mut all);
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for p in all {
        let key = p.canonicalize().unwrap_or_else(|_| p.clone());
        if !seen.insert(key) {
            continue;
        }
        let shown = display_path(&p);
        match fs::read_to_string(&p) {
            Ok(text) => files.push(SourceFile { path: shown, text }),
            Err(e) => diags.push(Diagnostic::new(&shown, Loc::new(1, 1), format!("cannot read file: {e}"))),
        }
    }
    (files, diags)
}

/// A given file is taken as is (a missing one is reported when read); inside directories only
/// `*.yaml` / `*.yml` files and message templates (`*.hbs`) count.
fn walk(p: &Path, out: &mut Vec<PathBuf>) {
    if !p.is_dir() {
        out.push(p.to_path_buf());
        return;
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(p).into_iter().flatten().flatten().map(|e| e.path()).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out);
        } else if e.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "hbs") {
            out.push(e);
        }
    }
}

/// A path relative to the working directory when possible, as process owners typed it.
fn display_path(p: &Path) -> String {
    let cwd = std::env::current_dir().ok().and_then(|c| c.canonicalize().ok());
    let abs = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    match cwd.and_then(|c| abs.strip_prefix(&c).ok().map(Path::to_path_buf)) {
        Some(rel) => rel.display().to_string(),
        None => p.display().to_string(),
    }
}

/// Loads calendars (file ones first, shipped ones for names no file defines), forms and processes.
pub fn load(paths: &[PathBuf]) -> Loaded {
    let (files, mut diagnostics) = collect(paths);
    let calendars = definition::load_calendars(&files, &mut diagnostics);
    let (catalog, mut more) = definition::load(&files, calendars);
    diagnostics.append(&mut more);
    for f in &files {
        if !definition::is_template(&f.path) && FileKind::of(&f.text) == FileKind::Unknown {
            diagnostics.push(
                Diagnostic::new(&f.path, Loc::new(1, 1), "not a Trámite file")
                    .help("a definition file starts with `process:`, `form:`, `calendar:` or `test:`"),
            );
        }
    }
    let sources = files.iter().map(|f| (f.path.clone(), f.text.clone())).collect();
    let scenario_files = files.into_iter().filter(|f| FileKind::of(&f.text) == FileKind::Scenarios).collect();
    Loaded { catalog, diagnostics, sources, scenario_files }
}
