//! Deploying definitions. Deploying *is* `tramite check`: the tree is read with the same loader
//! and the same catalogue (processes that call each other resolved together), every process
//! that loads becomes a new version when its bundle changed, and every file that does not load
//! is kept as *not deployed* with its diagnostics — logged with `path:line:column`, shown to
//! admins — while the previous version, if any, keeps running. A file posted to the API is
//! checked against the forms of the tree and the processes already served.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use tramite_engine::calendar::Calendar;
use tramite_engine::definition::{self, FileKind, Form, Process, SourceFile};
use tramite_engine::diagnostic::{Diagnostic, Loc};

use super::registry::NotDeployed;
use super::{Bundle, Deployed, Runtime, RuntimeError, read, write};
use crate::files::{self, Loaded};
use crate::store::{DefinitionRow, StoreError};

/// What a deployment did.
#[derive(Debug, Default)]
pub struct Deployment {
    /// `(process, version)` of every new version now served.
    pub deployed: Vec<(String, i64)>,
    /// Files (or stored versions) that are not served, with their diagnostics.
    pub not_deployed: Vec<NotDeployed>,
}

/// The files with problems, each with its diagnostics rendered as process owners read them.
fn refused(diagnostics: &[Diagnostic], sources: &BTreeMap<String, String>) -> Vec<NotDeployed> {
    let files: BTreeSet<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    files
        .into_iter()
        .map(|file| {
            let text = sources.get(file).map(String::as_str);
            let diagnostics: Vec<Diagnostic> = diagnostics.iter().filter(|d| d.file == file).cloned().collect();
            let rendered = diagnostics.iter().map(|d| d.render(text)).collect::<Vec<_>>().join("\n\n");
            NotDeployed {
                file: file.to_string(),
                process: text.and_then(FileKind::declared_process),
                version: None,
                diagnostics,
                rendered,
            }
        })
        .collect()
}

/// A process of the tree ready to become a version: its bundle, and what it runs on as the
/// tree's load built it, so storing a version needs no second compile and every version stored
/// is one that loaded.
struct Candidate {
    bundle: Bundle,
    hash: String,
    process: Process,
    forms: BTreeMap<String, Form>,
    calendar: Calendar,
}

impl Candidate {
    fn deployed(&self, version: i64) -> Deployed {
        Deployed { version, process: self.process.clone(), forms: self.forms.clone(), calendar: self.calendar.clone() }
    }
}

/// The processes of a loaded tree that may be deployed, and those held back because a file of
/// their bundle (a form they fill) has problems: such a form is in the catalog, but its file
/// would not compile again when the version is loaded from the store.
fn candidates(loaded: &Loaded) -> Result<(Vec<Candidate>, Vec<NotDeployed>), RuntimeError> {
    let mut ready = Vec::new();
    let mut held = Vec::new();
    for p in loaded.catalog.processes.values() {
        let Some(bundle) = Bundle::of(p, &loaded.sources, &loaded.catalog) else {
            return Err(RuntimeError::Internal(format!("the files of `{}` went missing while deploying", p.id)));
        };
        let broken: Vec<&String> = bundle
            .forms
            .keys()
            .chain(bundle.calendars.keys())
            .filter(|f| loaded.diagnostics.iter().any(|d| &d.file == *f))
            .collect();
        let calendar = match (broken.first(), loaded.catalog.calendars.get(&p.calendar)) {
            (None, Some(c)) => c,
            (broken, _) => {
                let d = match broken {
                    Some(f) => Diagnostic::new(
                        &p.file,
                        Loc::new(1, 1),
                        format!("`{f}`, a file this process uses, does not load"),
                    )
                    .help(format!("fix the problems reported in `{f}`; the previous version, if any, keeps running")),
                    None => Diagnostic::new(&p.file, Loc::new(1, 1), format!("unknown calendar `{}`", p.calendar)),
                };
                let rendered = d.render(loaded.sources.get(&p.file).map(String::as_str));
                held.push(NotDeployed {
                    file: p.file.clone(),
                    process: Some(p.id.clone()),
                    version: None,
                    diagnostics: vec![d],
                    rendered,
                });
                continue;
            }
        };
        let forms = loaded
            .catalog
            .forms
            .iter()
            .filter(|(_, f)| bundle.forms.contains_key(&f.file))
            .map(|(id, f)| (id.clone(), f.clone()))
            .collect();
        let hash = bundle.hash();
        ready.push(Candidate { bundle, hash, process: p.clone(), forms, calendar: calendar.clone() });
    }
    Ok((ready, held))
}

impl Runtime {
    /// Loads every stored version not loaded yet into the registry, compiling each bundle once
    /// (or taking a version whose texts are `ready` from the tree as the tree's load built it).
    /// A version that no longer compiles is listed as not deployed and reported once, not at
    /// every deployment. Returns the stored rows.
    async fn load_stored(&self, ready: &[Candidate]) -> Result<Vec<DefinitionRow>, RuntimeError> {
        let rows = self.store.definitions().await?;
        let calendars = read(&self.calendars).clone();
        for row in &rows {
            let known = {
                let reg = self.registry();
                reg.version(&row.process, row.version).is_some() || reg.is_refused(&row.process, row.version)
            };
            if known {
                continue;
            }
            if let Some(c) = ready.iter().find(|c| c.process.id == row.process && c.hash == row.hash) {
                write(&self.registry).insert(c.deployed(row.version));
                continue;
            }
            let compiled = match serde_json::from_str::<Bundle>(&row.bundle) {
                Ok(b) => b.compile(row.version, &calendars).map_err(|diags| (diags, b.sources())),
                Err(e) => {
                    let d =
                        Diagnostic::new(&row.file, Loc::new(1, 1), format!("the stored version is unreadable: {e}"));
                    Err((vec![d], BTreeMap::new()))
                }
            };
            match compiled {
                Ok(d) => write(&self.registry).insert(d),
                Err((diagnostics, sources)) => {
                    let rendered = diagnostics
                        .iter()
                        .map(|d| d.render(sources.get(&d.file).map(String::as_str)))
                        .collect::<Vec<_>>()
                        .join("\n\n");
                    tracing::error!(process = %row.process, version = row.version, "stored version not deployed:\n{rendered}");
                    write(&self.registry).refuse_version(NotDeployed {
                        file: row.file.clone(),
                        process: Some(row.process.clone()),
                        version: Some(row.version),
                        diagnostics,
                        rendered,
                    });
                }
            }
        }
        Ok(rows)
    }

    /// Loads every stored version not loaded yet (those deployed by another node, say).
    pub async fn load_versions(&self) -> Result<(), RuntimeError> {
        self.load_stored(&[]).await.map(|_| ())
    }

    /// Deploys the definition tree under `paths` (processes, forms, calendars), as
    /// `tramite check` reads it.
    pub async fn deploy_paths(&self, paths: &[PathBuf]) -> Result<Deployment, RuntimeError> {
        self.deploy_tree(&files::load(paths)).await
    }

    /// Deploys a definition tree already read with [`files::load`].
    pub async fn deploy_tree(&self, loaded: &Loaded) -> Result<Deployment, RuntimeError> {
        {
            let mut cals = write(&self.calendars);
            let mut new_names = false;
            for (name, cal) in &loaded.catalog.calendars {
                new_names |= cals.insert(name.clone(), cal.clone()).is_none();
            }
            if new_names {
                // A stored version that named a calendar the tree lacked may load now.
                write(&self.registry).retry_refused_versions();
            }
        }
        {
            let mut forms = write(&self.form_sources);
            let mut by_path: BTreeMap<String, String> = forms.drain(..).map(|s| (s.path, s.text)).collect();
            for form in loaded.catalog.forms.values() {
                if let Some(text) = loaded.sources.get(&form.file) {
                    by_path.insert(form.file.clone(), text.clone());
                }
            }
            // A process file posted alone names its templates by name: the tree's.
            for (path, text) in &loaded.catalog.templates {
                by_path.insert(path.clone(), text.clone());
            }
            *forms = by_path.into_iter().map(|(path, text)| SourceFile { path, text }).collect();
        }
        let (deployed, held) = self.deploy_loaded(loaded).await?;
        self.set_indicators(&loaded.catalog);
        let mut refused_files = refused(&loaded.diagnostics, &loaded.sources);
        refused_files.extend(held);
        write(&self.registry).set_refused_files(refused_files);
        self.deployed_once.store(true, std::sync::atomic::Ordering::Release);
        // The tree's whole standing: every file that does not load, every version that does not
        // compile.
        Ok(Deployment { deployed, not_deployed: self.registry().not_deployed() })
    }

    /// Deploys one process file posted as text, checked against the forms and calendars of the
    /// tree and the processes already served (which its calls may name).
    pub async fn deploy_text(&self, name: &str, text: &str) -> Result<Deployment, RuntimeError> {
        let sources = BTreeMap::from([(name.to_string(), text.to_string())]);
        if FileKind::of(text) != FileKind::Process {
            let d = Diagnostic::new(name, Loc::new(1, 1), "not a process definition")
                .help("a process file starts with `process: <id>`");
            return Ok(Deployment { not_deployed: refused(&[d], &sources), ..Deployment::default() });
        }
        let mut files: Vec<SourceFile> = read(&self.form_sources).clone();
        files.push(SourceFile { path: name.to_string(), text: text.to_string() });
        let calendars = read(&self.calendars).clone();
        let known = self.registry().known();
        // Loading a large definition takes a while: on a worker thread, not the async ones.
        let (files, (catalog, diagnostics)) = tokio::task::spawn_blocking(move || {
            let loaded = definition::load_with(&files, calendars, &known);
            (files, loaded)
        })
        .await
        .map_err(|e| RuntimeError::Internal(format!("loading `{name}`: {e}")))?;
        let mine: Vec<Diagnostic> =
            diagnostics.into_iter().filter(|d| d.file == name || definition::is_template(&d.file)).collect();
        if !mine.is_empty() {
            return Ok(Deployment { not_deployed: refused(&mine, &sources), ..Deployment::default() });
        }
        let sources = files.into_iter().map(|f| (f.path, f.text)).collect();
        let loaded = Loaded { catalog, diagnostics: Vec::new(), sources, scenario_files: Vec::new() };
        let (deployed, mut not_deployed) = self.deploy_loaded(&loaded).await?;
        // What this file became: its new version, or why that version is not served.
        let ids: BTreeSet<&str> = loaded.catalog.processes.keys().map(String::as_str).collect();
        not_deployed.extend(
            self.registry()
                .not_deployed()
                .into_iter()
                .filter(|n| n.version.is_some() && n.process.as_deref().is_some_and(|p| ids.contains(p))),
        );
        Ok(Deployment { deployed, not_deployed })
    }

    /// Stores a new version of every loaded process whose bundle changed, serves it as the
    /// tree's load built it, and retries the incidents of calls waiting for a process that is
    /// now served. Returns the new versions served, and the processes held back because a file
    /// they use does not load.
    async fn deploy_loaded(&self, loaded: &Loaded) -> Result<(Vec<(String, i64)>, Vec<NotDeployed>), RuntimeError> {
        let (ready, held) = candidates(loaded)?;
        let stored = self.load_stored(&ready).await?;
        let mut served = Vec::new();
        let mut raced = false;
        for c in &ready {
            let latest = stored.iter().filter(|r| r.process == c.process.id).max_by_key(|r| r.version);
            if latest.is_some_and(|r| r.hash == c.hash) {
                continue;
            }
            let version = latest.map(|r| r.version + 1).unwrap_or(1);
            let bundle = serde_json::to_string(&c.bundle)
                .map_err(|e| RuntimeError::Internal(format!("bundle of `{}`: {e}", c.process.id)))?;
            let row = DefinitionRow {
                process: c.process.id.clone(),
                version,
                hash: c.hash.clone(),
                bundle,
                file: c.process.file.clone(),
            };
            match self.store.insert_definition(&row, self.now()).await {
                Ok(()) => {
                    write(&self.registry).insert(c.deployed(version));
                    served.push((c.process.id.clone(), version));
                }
                // Another node deployed the same change a moment earlier: take theirs.
                Err(StoreError::Duplicate(_)) => raced = true,
                Err(e) => return Err(e.into()),
            }
        }
        if raced {
            self.load_versions().await?;
        }
        for (process, _) in &served {
            self.retry_incidents(process).await?;
        }
        Ok((served, held))
    }

    /// Starts the sub-processes that calls to `process` are stuck waiting for.
    pub async fn retry_incidents(&self, process: &str) -> Result<usize, RuntimeError> {
        let waiting = self.store.incidents(Some(process), 10_000).await?;
        let instances: BTreeSet<String> = waiting.into_iter().map(|i| i.instance_id).collect();
        let mut retried = 0;
        for id in instances {
            match self.retry(&id).await {
                Ok(n) => retried += n,
                Err(e) => tracing::error!(instance = %id, error = %e, "retrying a call failed"),
            }
        }
        if retried > 0 {
            tracing::info!(%process, calls = retried, "calls waiting for this process retried");
        }
        Ok(retried)
    }
}
