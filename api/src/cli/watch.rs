//! The file watch of `tramite serve`: the definition tree is deployed again when a definition
//! file under it changes, once a burst of changes has settled, and the log says what changed
//! in the tree's standing — a file that does not load is reported once per change, not at
//! every deployment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{EventKind, ModifyKind};

use super::serve::tree;
use crate::runtime::{Deployment, Runtime};

/// How long the tree must be quiet before it is deployed: editors save in bursts (a temporary
/// file, a rename, an attribute change) and a large file arrives in several writes.
pub const QUIET: Duration = Duration::from_millis(300);

/// The longest a deployment waits for quiet: a tree changing without pause (a generator
/// rewriting it) is still deployed every so often.
pub const MAX_WAIT: Duration = Duration::from_secs(3);

/// Whether a file-system event may change the definition tree. Reading a file (which the
/// deployment itself does: inotify reports opens and closes) and attribute changes do not;
/// neither do files other than YAML (an editor's swap or backup files).
pub fn relevant(event: &notify::Event) -> bool {
    let kind = match event.kind {
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) | EventKind::Other => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
    };
    // A directory created, moved or removed carries no extension; its YAML files may go with it.
    kind && event.paths.iter().any(|p| p.extension().is_none_or(|x| x == "yaml" || x == "yml" || x == "hbs"))
}

/// What the log has said about the tree: each file not deployed with the diagnostics reported
/// for it, so a deployment logs only what changed.
#[derive(Debug, Default)]
pub struct DeployLog {
    reported: BTreeMap<(String, Option<i64>), String>,
    /// Whether a deployment was reported yet (the first always says what is served).
    started: bool,
}

impl DeployLog {
    /// Logs a deployment: each file (or stored version) newly not deployed, or not deployed
    /// for new reasons, as an error with its `path:line:column` diagnostics; each file that is
    /// fine again; each new version served; and what is served in all when anything changed.
    pub fn report(&mut self, rt: &Runtime, d: &Deployment) {
        let mut now = BTreeMap::new();
        let mut changed = !d.deployed.is_empty() || !self.started;
        self.started = true;
        for n in &d.not_deployed {
            let key = (n.file.clone(), n.version);
            if self.reported.get(&key) != Some(&n.rendered) {
                let what = match (&n.process, n.version) {
                    (Some(p), Some(v)) => format!("version {v} of `{p}`"),
                    (Some(p), None) => format!("process `{p}`"),
                    _ => "file".to_string(),
                };
                tracing::error!(file = ?n.file, "{what} not deployed:\n{}", n.rendered);
                changed = true;
            }
            now.insert(key, n.rendered.clone());
        }
        for (file, version) in self.reported.keys().filter(|k| !now.contains_key(*k)) {
            tracing::info!(file = ?file, version, "no longer refused (fixed or removed)");
            changed = true;
        }
        self.reported = now;
        for (p, v) in &d.deployed {
            tracing::info!(process = %p, version = v, "deployed");
        }
        if changed {
            let served = rt.registry().all_latest().len();
            tracing::info!(processes = served, not_deployed = d.not_deployed.len(), "serving");
        }
    }
}

/// The folders watched for a tree: the processes folder and the `forms/` and `calendars/`
/// beside it.
fn watched(processes: &Path) -> Vec<PathBuf> {
    let root = processes.canonicalize().unwrap_or(processes.to_path_buf());
    let mut dirs = vec![root.clone()];
    if let Some(parent) = root.parent() {
        dirs.extend(["forms", "calendars"].iter().map(|d| parent.join(d)).filter(|d| d.is_dir()));
    }
    dirs
}

/// The watch on a tree's folders, registered before the tree is first deployed so that no
/// change made meanwhile is missed (it only causes one more deployment).
#[derive(Debug)]
pub struct TreeWatch {
    processes: PathBuf,
    /// Kept alive for as long as the watch runs.
    _watcher: notify::RecommendedWatcher,
    changes: tokio::sync::mpsc::UnboundedReceiver<()>,
}

impl TreeWatch {
    /// Watches the folders of the tree at `processes`; `None` (and a warning) when the system
    /// refuses.
    pub fn start(processes: &Path) -> Option<TreeWatch> {
        use notify::{RecursiveMode, Watcher};
        let (tx, changes) = tokio::sync::mpsc::unbounded_channel();
        let mut watcher = match notify::recommended_watcher(move |ev: notify::Result<notify::Event>| match ev {
            Ok(ev) if relevant(&ev) => {
                let _ = tx.send(());
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "file watch"),
        }) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch definition files; restart to deploy changes");
                return None;
            }
        };
        for d in watched(processes) {
            if let Err(e) = watcher.watch(&d, RecursiveMode::Recursive) {
                tracing::warn!(dir = %d.display(), error = %e, "cannot watch");
            }
        }
        Some(TreeWatch { processes: processes.to_path_buf(), _watcher: watcher, changes })
    }

    /// Deploys the tree again after each settled burst of relevant changes, for as long as the
    /// server runs. Event-driven: between changes it does nothing.
    pub async fn run(mut self, rt: Arc<Runtime>, mut log: DeployLog) {
        while self.changes.recv().await.is_some() {
            // Debounce: wait until no relevant event has come for `QUIET` (at most `MAX_WAIT`).
            let deadline = tokio::time::Instant::now() + MAX_WAIT;
            loop {
                let wait = QUIET.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
                match tokio::time::timeout(wait, self.changes.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            match rt.deploy_paths(&tree(&self.processes)).await {
                Ok(d) => log.report(&rt, &d),
                Err(e) => tracing::error!(error = %e, "redeploy failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, MetadataKind};

    use super::*;

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn reading_a_file_or_touching_its_attributes_is_no_change() {
        let p = "processes/a.yaml";
        assert!(!relevant(&event(EventKind::Access(AccessKind::Open(AccessMode::Read)), p)));
        assert!(!relevant(&event(EventKind::Access(AccessKind::Close(AccessMode::Read)), p)));
        assert!(!relevant(&event(EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)), p)));
        assert!(relevant(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), p)));
        assert!(relevant(&event(EventKind::Create(CreateKind::File), "processes/b.yml")));
        assert!(relevant(&event(EventKind::Remove(notify::event::RemoveKind::Any), "processes/old")));
        assert!(!relevant(&event(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "processes/.a.yaml.swp")));
    }
}
