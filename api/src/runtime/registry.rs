//! Deployed definitions, versioned. A process file plus the forms it names is a *bundle*; a new
//! bundle hash is a new version. Running instances stay on the version they started with; a
//! `call` starts the latest version of the process it names. Files that do not load are kept
//! here too, as *not deployed*, with their diagnostics, for admins to see.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tramite_engine::calendar::Calendar;
use tramite_engine::definition::{self, Catalog, FileKind, Form, Known, Process, SourceFile, StepKind};
use tramite_engine::diagnostic::{Diagnostic, Loc};
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

    /// The processes its call steps name.
    pub fn calls(&self) -> Vec<String> {
        self.process
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Call { process, .. } => Some(process.clone()),
                _ => None,
            })
            .collect()
    }
}

/// The files a version is built from, as stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Bundle {
    pub file: String,
    pub process: String,
    pub forms: BTreeMap<String, String>,
    /// Path → text of the calendar files its calendar is read from (its own and those it
    /// extends; none for a shipped calendar), so the version loads on a server whose tree no
    /// longer defines that calendar. Versions stored before this field have none.
    #[serde(default)]
    pub calendars: BTreeMap<String, String>,
    /// Path → text of the message templates its messages name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, String>,
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
        let calendars = calendar_files(&process.calendar, catalog_sources);
        let templates = process.templates.values().map(|t| (t.file.clone(), t.text.clone())).collect();
        Some(Bundle { file: process.file.clone(), process: text, forms, calendars, templates })
    }

    /// The version identity: the process and form texts, not where they were read from (a file posted to the API
    /// and the same file on disk are one version).
    pub fn hash(&self) -> String {
        // `[process, [form, …]]` as JSON text: strings only, so it always serialises. The
        // templates count when there are any (a bundle without keeps the identity it had).
        let mut texts = serde_json::json!([self.process, self.forms.values().collect::<Vec<_>>()]);
        if !self.templates.is_empty()
            && let Some(list) = texts.as_array_mut()
        {
            list.push(serde_json::json!(self.templates));
        }
        Sha256::digest(texts.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Path → text of every file of the bundle.
    pub fn sources(&self) -> BTreeMap<String, String> {
        let mut out = self.forms.clone();
        out.extend(self.templates.clone());
        out.insert(self.file.clone(), self.process.clone());
        out
    }

    /// Compiles a deployed bundle with the loader `tramite check` uses, against the given
    /// calendars (the tree's), and the calendars stored with it for names the tree no longer
    /// defines. Its calls were checked when it was deployed; they resolve when they run.
    pub fn compile(&self, version: i64, calendars: &BTreeMap<String, Calendar>) -> Result<Deployed, Vec<Diagnostic>> {
        let mut files = vec![SourceFile { path: self.file.clone(), text: self.process.clone() }];
        files.extend(
            self.forms
                .iter()
                .chain(&self.templates)
                .map(|(path, text)| SourceFile { path: path.clone(), text: text.clone() }),
        );
        let mut calendars = calendars.clone();
        if !self.calendars.is_empty() {
            let own: Vec<SourceFile> = self
                .calendars
                .iter()
                .map(|(path, text)| SourceFile { path: path.clone(), text: text.clone() })
                .collect();
            let mut ignored = Vec::new();
            for (name, cal) in tramite_engine::definition::load_calendars(&own, &mut ignored) {
                calendars.entry(name).or_insert(cal);
            }
        }
        let (mut catalog, diags) = definition::load_deployed(&files, calendars.clone());
        if !diags.is_empty() {
            return Err(diags);
        }
        let here = |m: &str| vec![Diagnostic::new(&self.file, Loc::new(1, 1), m)];
        let process = catalog.processes.pop_first().map(|(_, p)| p).ok_or_else(|| here("the file holds no process"))?;
        let calendar = calendars
            .get(&process.calendar)
            .cloned()
            .ok_or_else(|| here(&format!("unknown calendar `{}`", process.calendar)))?;
        Ok(Deployed { version, process, forms: catalog.forms, calendar })
    }
}

/// The calendar files `name` is read from: the file that defines it and those it extends, found
/// by their `calendar:` and `extends:` lines. A shipped calendar no file defines has none.
fn calendar_files(name: &str, sources: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut next = Some(name.to_string());
    while let Some(name) = next.take() {
        let Some((path, text)) = sources.iter().find(|(path, text)| {
            !out.contains_key(*path)
                && FileKind::of(text) == FileKind::Calendar
                && top_level(text, "calendar").as_deref() == Some(name.as_str())
        }) else {
            break;
        };
        next = top_level(text, "extends");
        out.insert(path.clone(), text.clone());
    }
    out
}

/// The value of a top-level `key: value` line.
fn top_level(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix(':')))
        .map(|v| v.split('#').next().unwrap_or("").trim().trim_matches(['"', '\'']).to_string())
        .filter(|v| !v.is_empty())
}

/// A definition file (or a stored version) that is not served, and why.
#[derive(Debug, Clone)]
pub struct NotDeployed {
    pub file: String,
    /// The process it defines, when that much could be read.
    pub process: Option<String>,
    /// For a stored version that no longer compiles.
    pub version: Option<i64>,
    pub diagnostics: Vec<Diagnostic>,
    /// The diagnostics as process owners read them (`path:line:column: error: …`, caret, help).
    pub rendered: String,
}

/// Every deployed version of every process, and what is not deployed.
#[derive(Debug, Default)]
pub struct Registry {
    versions: BTreeMap<String, BTreeMap<i64, Arc<Deployed>>>,
    /// Files of the definition tree that do not load, as of its last deployment.
    refused_files: Vec<NotDeployed>,
    /// Stored versions that do not compile any more.
    refused_versions: Vec<NotDeployed>,
}

impl Registry {
    pub fn insert(&mut self, d: Deployed) {
        self.refused_versions
            .retain(|r| !(r.process.as_deref() == Some(&d.process.id) && r.version == Some(d.version)));
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

    /// The served processes with the processes each calls (latest versions), for checking a
    /// new definition's calls against them.
    pub fn known(&self) -> Known {
        self.all_latest().iter().map(|d| (d.process.id.clone(), d.calls())).collect()
    }

    /// What is not deployed: files of the tree that do not load, stored versions that do not
    /// compile.
    pub fn not_deployed(&self) -> Vec<NotDeployed> {
        self.refused_files.iter().chain(&self.refused_versions).cloned().collect()
    }

    pub(super) fn set_refused_files(&mut self, files: Vec<NotDeployed>) {
        self.refused_files = files;
    }

    /// Whether a stored version was found not to compile (and reported) already.
    pub(super) fn is_refused(&self, process: &str, version: i64) -> bool {
        self.refused_versions.iter().any(|r| r.process.as_deref() == Some(process) && r.version == Some(version))
    }

    /// Forgets the stored versions that did not compile, so the next load tries them again
    /// (a calendar they name has appeared).
    pub(super) fn retry_refused_versions(&mut self) {
        self.refused_versions.clear();
    }

    pub(super) fn refuse_version(&mut self, r: NotDeployed) {
        self.refused_versions.retain(|x| !(x.process == r.process && x.version == r.version));
        self.refused_versions.push(r);
    }
}
