//! Deployed definitions, versioned. A process file plus the forms it names is a *bundle*; a new
//! bundle hash is a new version. Running instances stay on the version they started with.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tramite_engine::calendar::Calendar;
use tramite_engine::definition::{self, Catalog, Form, Process, SourceFile};
use tramite_engine::diagnostic::Diagnostic;
use tramite_engine::machine::Env;

/// One deployed version of a process, ready to run.
#[derive(Debug)]
pub struct Deployed {
    pub version: i64,
    pub process: Process,
    pub forms: BTreeMap<String, Form>,
    pub calendar: Calendar,
}

impl Deployed {
    pub fn env(&self) -> Env<'_> {
        Env { process: &self.process, calendar: &self.calendar, forms: &self.forms }
    }
}

/// The files a version is built from, as stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Bundle {
    pub file: String,
    pub process: String,
    pub forms: BTreeMap<String, String>,
}

impl Bundle {
    /// The bundle of a loaded process: its file text and the text of each form it names.
    pub fn of(process: &Process, catalog_sources: &BTreeMap<String, String>, catalog: &Catalog) -> Option<Bundle> {
        let text = catalog_sources.get(&process.file)?.clone();
        let mut forms = BTreeMap::new();
        let named = process
            .start
            .form
            .iter()
            .chain(process.steps.iter().filter_map(|s| s.kind.work().and_then(|w| w.form.as_ref())));
        for f in named {
            let form = catalog.forms.get(f)?;
            forms.insert(form.file.clone(), catalog_sources.get(&form.file)?.clone());
        }
        Some(Bundle { file: process.file.clone(), process: text, forms })
    }

    /// The version identity: the texts, not where they were read from (a file posted to the API
    /// and the same file on disk are one version).
    pub fn hash(&self) -> String {
        let json = serde_json::to_string(&(&self.process, self.forms.values().collect::<Vec<_>>())).unwrap_or_default();
        let digest = Sha256::digest(json.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Compiles the bundle against the given calendars.
    pub fn compile(&self, version: i64, calendars: &BTreeMap<String, Calendar>) -> Result<Deployed, Vec<Diagnostic>> {
        let mut files = vec![SourceFile { path: self.file.clone(), text: self.process.clone() }];
        files.extend(self.forms.iter().map(|(path, text)| SourceFile { path: path.clone(), text: text.clone() }));
        let (mut catalog, diags) = definition::load(&files, calendars.clone());
        // A `call:` to another process is resolved at run time, so its absence here is fine.
        let diags: Vec<Diagnostic> = diags.into_iter().filter(|d| !d.message.starts_with("unknown process")).collect();
        if !diags.is_empty() {
            return Err(diags);
        }
        let process = catalog.processes.pop_first().map(|(_, p)| p).ok_or_else(Vec::new)?;
        let calendar = calendars.get(&process.calendar).cloned().ok_or_else(Vec::new)?;
        Ok(Deployed { version, process, forms: catalog.forms, calendar })
    }
}

/// Every deployed version of every process.
#[derive(Debug, Default)]
pub struct Registry {
    versions: BTreeMap<String, BTreeMap<i64, Arc<Deployed>>>,
}

impl Registry {
    pub fn insert(&mut self, d: Deployed) {
        self.versions.entry(d.process.id.clone()).or_default().insert(d.version, Arc::new(d));
    }

    pub fn latest(&self, process: &str) -> Option<Arc<Deployed>> {
        self.versions.get(process).and_then(|v| v.values().next_back().cloned())
    }

    pub fn version(&self, process: &str, version: i64) -> Option<Arc<Deployed>> {
        self.versions.get(process).and_then(|v| v.get(&version).cloned())
    }

    /// The latest version of every process.
    pub fn all_latest(&self) -> Vec<Arc<Deployed>> {
        self.versions.values().filter_map(|v| v.values().next_back().cloned()).collect()
    }

    /// Version numbers of a process, oldest first.
    pub fn versions(&self, process: &str) -> Vec<i64> {
        self.versions.get(process).map(|v| v.keys().copied().collect()).unwrap_or_default()
    }
}
