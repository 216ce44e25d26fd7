//! Deploying definitions: files on disk (at start and when they change) or YAML posted to the
//! API become new versions when their bundle changed; invalid files are refused with
//! file:line:column diagnostics and the previous version keeps running.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;
use tramite_engine::definition::{self, FileKind, SourceFile};
use tramite_engine::diagnostic::Diagnostic;

use super::{Bundle, Runtime, RuntimeError};
use crate::files::{self, Loaded};
use crate::store::{DefinitionRow, StoreError};

/// What a deployment did.
#[derive(Debug, Default)]
pub struct Deployment {
    /// `(process, version)` of every new version.
    pub deployed: Vec<(String, i64)>,
    /// Problems in the files; their processes were not deployed.
    pub diagnostics: Vec<Diagnostic>,
    pub rendered: Vec<String>,
}

impl Runtime {
    /// Loads every stored version into the registry (compiling each bundle once).
    pub async fn load_versions(&self) -> Result<(), RuntimeError> {
        let rows = self.store.definitions().await?;
        let calendars = self.calendars.read().map(|c| c.clone()).unwrap_or_default();
        for row in rows {
            let known = self.registry.read().map(|r| r.version(&row.process, row.version).is_some()).unwrap_or(false);
            if known {
                continue;
            }
            let bundle: Bundle = match serde_json::from_str(&row.bundle) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(process = %row.process, version = row.version, error = %e, "stored definition unreadable");
                    continue;
                }
            };
            match bundle.compile(row.version, &calendars) {
                Ok(d) => {
                    if let Ok(mut reg) = self.registry.write() {
                        reg.insert(d);
                    }
                }
                Err(diags) => {
                    for d in diags {
                        tracing::error!(process = %row.process, version = row.version, "{d}");
                    }
                }
            }
        }
        Ok(())
    }

    /// Deploys the processes of a definition tree (processes, forms, calendars).
    pub async fn deploy_paths(&self, paths: &[PathBuf]) -> Result<Deployment, RuntimeError> {
        let loaded = files::load(paths);
        self.deploy_loaded(loaded).await
    }

    /// Deploys one process file posted as text, against the forms and calendars already known.
    pub async fn deploy_text(&self, name: &str, text: &str) -> Result<Deployment, RuntimeError> {
        if FileKind::of(text) != FileKind::Process {
            let d = Diagnostic::new(name, tramite_engine::diagnostic::Loc::new(1, 1), "not a process definition")
                .help("a process file starts with `process: <id>`");
            return Ok(Deployment {
                rendered: vec![d.render(Some(text))],
                diagnostics: vec![d],
                ..Deployment::default()
            });
        }
        let mut files: Vec<SourceFile> = self.form_sources.read().map(|f| f.clone()).unwrap_or_default();
        files.push(SourceFile { path: name.to_string(), text: text.to_string() });
        let calendars = self.calendars.read().map(|c| c.clone()).unwrap_or_default();
        let (catalog, diagnostics) = definition::load(&files, calendars);
        let diagnostics: Vec<Diagnostic> = diagnostics.into_iter().filter(|d| d.file == name).collect();
        let sources = files.into_iter().map(|f| (f.path, f.text)).collect();
        let loaded = Loaded { catalog, diagnostics, sources, scenario_files: Vec::new() };
        self.deploy_loaded(loaded).await
    }

    async fn deploy_loaded(&self, loaded: Loaded) -> Result<Deployment, RuntimeError> {
        let rendered = loaded.render();
        let mut out = Deployment { diagnostics: loaded.diagnostics.clone(), rendered, ..Deployment::default() };
        if let Ok(mut c) = self.calendars.write() {
            for (name, cal) in &loaded.catalog.calendars {
                c.insert(name.clone(), cal.clone());
            }
        }
        if let Ok(mut f) = self.form_sources.write() {
            let mut by_path: BTreeMap<String, String> = f.drain(..).map(|s| (s.path, s.text)).collect();
            for form in loaded.catalog.forms.values() {
                if let Some(text) = loaded.sources.get(&form.file) {
                    by_path.insert(form.file.clone(), text.clone());
                }
            }
            *f = by_path.into_iter().map(|(path, text)| SourceFile { path, text }).collect();
        }
        self.load_versions().await?;
        for p in loaded.catalog.processes.values() {
            let Some(bundle) = Bundle::of(p, &loaded.sources, &loaded.catalog) else { continue };
            let hash = bundle.hash();
            let stored = self.store.definitions().await?;
            let latest = stored.iter().filter(|r| r.process == p.id).max_by_key(|r| r.version);
            if latest.is_some_and(|r| r.hash == hash) {
                continue;
            }
            let version = latest.map(|r| r.version + 1).unwrap_or(1);
            let row = DefinitionRow {
                process: p.id.clone(),
                version,
                hash,
                bundle: serde_json::to_string(&bundle).unwrap_or_default(),
                file: p.file.clone(),
            };
            match self.store.insert_definition(&row, Timestamp::now()).await {
                Ok(()) => out.deployed.push((p.id.clone(), version)),
                // Another node deployed the same change a moment earlier: take theirs.
                Err(StoreError::Duplicate(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.load_versions().await?;
        Ok(out)
    }
}
