//! The running engine: the pure machine applied to stored instances, one transaction per unit
//! of work, with tasks, timers, SLA rows, incidents and outbox kept in line with the state, and
//! sub-processes started and ended in the transaction of the transition that asks for them.
//!
//! Errors are [`RuntimeError`]: the machine's refusal ([`CommandError`], untouched, so callers
//! can show its code), something missing, a lost race, or a failure of ours.

mod deploy;
mod family;
mod messages;
mod overlay;
pub mod registry;
mod rows;
mod writer;

pub use deploy::Deployment;
pub use registry::{Bundle, Deployed, NotDeployed, Registry};
pub use rows::{folio, local_time, sla_rows, split_task_id, task_rows};
pub use writer::{Done, Work, WriterFigures, WriterStats};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use jiff::Timestamp;
use serde_json::{Map, Value};
use tokio::sync::Notify;
use tramite_engine::calendar::Calendar;
use tramite_engine::machine::{Actor, Command, CommandError, Instance};

use crate::clock::Clock;
use crate::mail::Templates;
use crate::store::{Store, StoreError, StoredInstance, UserRow};

/// Why the runtime did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The machine refused the command; nothing changed.
    #[error(transparent)]
    Refused(#[from] CommandError),
    /// No such instance or process (the text names it).
    #[error("no {0}")]
    NotFound(String),
    /// Another transaction changed the instance first; retrying may succeed.
    #[error("the instance changed at the same time; retry")]
    Busy,
    #[error(transparent)]
    Store(StoreError),
    /// Something of ours failed (a version not loaded, a template that does not render).
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for RuntimeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict | StoreError::Duplicate(_) => RuntimeError::Busy,
            other => RuntimeError::Store(other),
        }
    }
}

/// The runtime shared by the HTTP server, the scheduler and the CLI.
#[derive(Debug)]
pub struct Runtime {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub templates: Templates,
    registry: RwLock<Registry>,
    calendars: RwLock<BTreeMap<String, Calendar>>,
    /// The form files deployments are checked against.
    form_sources: RwLock<Vec<tramite_engine::definition::SourceFile>>,
    /// The users, kept for [`USERS_TTL`] of real (monotonic) time: a cache's lifetime, not a
    /// time of the domain, so it does not follow the injected clock.
    users_cache: Mutex<Option<(std::time::Instant, Arc<Vec<UserRow>>)>>,
    /// The group-commit writers, once started.
    writer: std::sync::OnceLock<Vec<tokio::sync::mpsc::Sender<writer::Job>>>,
    /// The writer the next start goes to.
    next_writer: std::sync::atomic::AtomicUsize,
    /// What the writers did.
    pub writes: WriterStats,
    /// Woken when new timers or messages are written.
    pub timers_changed: Arc<Notify>,
    pub outbox_changed: Arc<Notify>,
    pub sign_in: Arc<crate::app::sign_in::SignInGuard>,
    /// Where uploaded files are kept ([`Runtime::set_files`]); without it uploads are refused.
    files: std::sync::OnceLock<crate::blobs::Blobs>,
    /// What `GET /metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Client addresses besides loopback that may read `/metrics` without a token
    /// (`serve --metrics-from`).
    pub metrics_from: Vec<std::net::IpAddr>,
    /// The institution's OpenID provider, when `serve --oidc` names one.
    pub oidc: Option<Arc<crate::oidc::Provider>>,
    /// Whether the definition tree has been deployed once (`/readyz`).
    deployed_once: std::sync::atomic::AtomicBool,
    /// How links for people without an account are signed ([`Runtime::set_links`]).
    links: std::sync::OnceLock<crate::links::Links>,
    /// What each address has sent to the public forms lately.
    pub public_sends: crate::app::public::Limiter,
    /// The indicators of each process, as the tree last deployed declares them.
    indicators: RwLock<BTreeMap<String, Arc<Vec<tramite_engine::definition::indicators::Indicator>>>>,
}

/// Due timers taken per scheduler pass.
const FIRE_BATCH: i64 = 1_000;

/// How long the user list may be reused for notifications (a new user's e-mail address is
/// picked up within this time).
const USERS_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads a lock. A panic while it was held cannot leave the data half-changed (every writer
/// replaces whole entries), so a poisoned lock is read as it stands.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Runtime {
    /// A runtime over a store, with no definitions loaded yet.
    pub fn new(store: Store, templates: Templates, clock: Arc<dyn Clock>) -> Runtime {
        Runtime {
            store,
            clock,
            templates,
            registry: RwLock::new(Registry::default()),
            calendars: RwLock::new(BTreeMap::new()),
            form_sources: RwLock::new(Vec::new()),
            writer: std::sync::OnceLock::new(),
            next_writer: std::sync::atomic::AtomicUsize::new(0),
            writes: WriterStats::default(),
            users_cache: Mutex::new(None),
            timers_changed: Arc::new(Notify::new()),
            outbox_changed: Arc::new(Notify::new()),
            sign_in: Arc::default(),
            files: std::sync::OnceLock::new(),
            metrics: Arc::default(),
            metrics_from: Vec::new(),
            oidc: None,
            deployed_once: std::sync::atomic::AtomicBool::new(false),
            links: std::sync::OnceLock::new(),
            public_sends: Default::default(),
            indicators: RwLock::new(BTreeMap::new()),
        }
    }

    /// The indicators of `process`, if it has any.
    pub fn indicators_of(&self, process: &str) -> Option<Arc<Vec<tramite_engine::definition::indicators::Indicator>>> {
        read(&self.indicators).get(process).cloned()
    }

    /// Every process's indicators.
    pub fn indicators(&self) -> BTreeMap<String, Arc<Vec<tramite_engine::definition::indicators::Indicator>>> {
        read(&self.indicators).clone()
    }

    /// Takes the indicators a deployed tree declares (replacing those of every process).
    pub(crate) fn set_indicators(&self, catalog: &tramite_engine::definition::Catalog) {
        *write(&self.indicators) =
            catalog.indicators.iter().map(|(p, list)| (p.clone(), Arc::new(list.clone()))).collect();
    }

    /// Signs links with `links` (once; a second call changes nothing).
    pub fn set_links(&self, links: crate::links::Links) {
        let _ = self.links.set(links);
    }

    /// How links are signed: as set, or else (a runtime that serves no one: the scenario runner,
    /// the benchmark) with a secret of this process's own under a loopback address.
    pub fn links(&self) -> &crate::links::Links {
        self.links.get_or_init(|| {
            let secret = crate::links::Links::random_secret();
            crate::links::Links::new(secret.as_bytes(), "http://127.0.0.1:8080").expect("a 64-byte secret")
        })
    }

    /// Keeps uploaded files in `blobs` (once; a second call changes nothing).
    pub fn set_files(&self, blobs: crate::blobs::Blobs) {
        let _ = self.files.set(blobs);
    }

    /// Where uploaded files are kept, if anywhere.
    pub fn files(&self) -> Option<&crate::blobs::Blobs> {
        self.files.get()
    }

    /// Whether the definition tree has been deployed (its versions loaded) at least once.
    pub fn definitions_loaded(&self) -> bool {
        self.deployed_once.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A new instance id: time-ordered and unguessable.
    pub fn new_id(&self) -> String {
        let now = self.now().as_millisecond();
        let r: u64 = rand::random();
        format!("{now:012x}{r:016x}")
    }

    /// The deployed definitions.
    pub fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        read(&self.registry)
    }

    /// A version of a process (the latest when `version` is `None`).
    pub fn deployed(&self, process: &str, version: Option<i64>) -> Option<Arc<Deployed>> {
        let reg = self.registry();
        match version {
            Some(v) => reg.version(process, v),
            None => reg.latest(process),
        }
    }

    /// The version a stored instance runs on. Every stored version is loaded at start, so a
    /// missing one is our failure, not the caller's.
    pub fn version_of(&self, stored: &StoredInstance) -> Result<Arc<Deployed>, RuntimeError> {
        self.deployed(&stored.process, Some(stored.version)).ok_or_else(|| {
            RuntimeError::Internal(format!("version {} of {} is not loaded", stored.version, stored.process))
        })
    }

    /// Starts an instance of the latest version, answered as stored (its state with the version
    /// it runs on); a key the same user already sent to the same process returns that first
    /// instance instead (`created` false). Keys are scoped so: the same key from another user,
    /// or to another process, starts an instance of its own.
    pub async fn start(
        &self,
        process: &str,
        data: Map<String, Value>,
        actor: &Actor,
        key: Option<&str>,
    ) -> Result<(StoredInstance, bool), RuntimeError> {
        self.start_as(process, data, actor.clone(), key, false).await
    }

    /// A start by `actor` (from outside when `outside`); a key another request raced with
    /// answers that request's instance.
    async fn start_as(
        &self,
        process: &str,
        data: Map<String, Value>,
        actor: Actor,
        key: Option<&str>,
        outside: bool,
    ) -> Result<(StoredInstance, bool), RuntimeError> {
        let user = actor.user.clone();
        let work = Work::Start { process: process.to_string(), data, actor, key: key.map(str::to_string), outside };
        match self.run(work).await {
            Ok(Done::Started(inst, created)) => Ok((inst, created)),
            // Two requests with one key raced; the other one's instance is the answer.
            Err(RuntimeError::Busy) if key.is_some() => {
                let id = self.store.instance_by_key(&user, process, key.unwrap_or_default()).await?;
                let id = id.ok_or(RuntimeError::Busy)?;
                Ok((self.instance(&id).await?, false))
            }
            Ok(_) => Err(RuntimeError::Internal("unexpected reply to a start".into())),
            Err(e) => Err(e),
        }
    }

    pub async fn instance(&self, id: &str) -> Result<StoredInstance, RuntimeError> {
        self.store.instance(id).await?.ok_or_else(|| RuntimeError::NotFound(format!("instance `{id}`")))
    }

    /// Runs a command against an instance in one transaction (with whatever it asks of its
    /// sub-processes or its parent).
    pub async fn act(&self, id: &str, actor: Option<&Actor>, cmd: Command) -> Result<Instance, RuntimeError> {
        match self.run(Work::Act { id: id.to_string(), actor: actor.cloned(), cmd, by: None }).await? {
            Done::Acted(inst) => Ok(inst),
            _ => Err(RuntimeError::Internal("unexpected reply to a command".into())),
        }
    }

    /// Starts a case from outside — the public form, a mailbox — named `channel` in its history:
    /// the process's start roles do not apply. A key (a message's id) starts one case only.
    pub async fn start_outside(
        &self,
        process: &str,
        data: Map<String, Value>,
        channel: &str,
        key: Option<&str>,
    ) -> Result<(Instance, bool), RuntimeError> {
        let actor = Actor { user: channel.to_string(), roles: Vec::new(), admin: false };
        let (stored, created) = self.start_as(process, data, actor, key, true).await?;
        Ok((stored.state, created))
    }

    /// Runs a command as someone without an account (`by`: who holds a link), with no role
    /// check: the caller has checked what they may do.
    pub async fn act_outside(&self, id: &str, by: &str, cmd: Command) -> Result<Instance, RuntimeError> {
        match self.run(Work::Act { id: id.to_string(), actor: None, cmd, by: Some(by.to_string()) }).await? {
            Done::Acted(inst) => Ok(inst),
            _ => Err(RuntimeError::Internal("unexpected reply to a command".into())),
        }
    }

    /// Starts again the sub-processes of an instance's incidents; returns how many it tried.
    pub async fn retry(&self, id: &str) -> Result<usize, RuntimeError> {
        match self.run(Work::Retry { id: id.to_string() }).await? {
            Done::Retried(n) => Ok(n),
            _ => Err(RuntimeError::Internal("unexpected reply to a retry".into())),
        }
    }

    fn wake(&self) {
        self.timers_changed.notify_one();
        self.outbox_changed.notify_one();
    }

    /// Fires the timers due now, each at the instant it fell due; returns how many fired. Safe
    /// to run on several nodes at once. The firings are handed to the writers together, so
    /// they share commits (timers of one instance stay in due order: they queue at one writer).
    pub async fn fire_due(&self) -> Result<usize, RuntimeError> {
        let due = self.store.due_timers(self.now(), FIRE_BATCH).await?;
        let runs = due.into_iter().map(|(id, key, at)| async move {
            let done = self.run(Work::Fire { id, key, due: at }).await;
            if let Ok(Done::Fired(true)) = done {
                self.metrics.timer_fired(self.now().duration_since(at));
            }
            done
        });
        // Without writers each firing is a transaction of its own: one after the other, so two
        // timers of one instance do not race.
        let results = if self.writer.get().is_some() {
            futures_util::future::join_all(runs).await
        } else {
            let mut results = Vec::new();
            for run in runs {
                results.push(run.await);
            }
            results
        };
        let mut fired = 0;
        let mut failed = None;
        for done in results {
            match done {
                Ok(Done::Fired(true)) => fired += 1,
                Ok(_) => {}
                Err(e) => failed = Some(e),
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(fired),
        }
    }

    /// Every user, read at most every [`USERS_TTL`]: each task assignment notifies its role,
    /// and re-reading the users for every transition would cost more than the transition.
    async fn users(&self, tx: &mut crate::store::Tx) -> Result<Arc<Vec<UserRow>>, RuntimeError> {
        if let Some((at, users)) = self.users_cache.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
            && at.elapsed() < USERS_TTL
        {
            return Ok(users.clone());
        }
        let users = Arc::new(tx.users().await?);
        *self.users_cache.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((std::time::Instant::now(), users.clone()));
        Ok(users)
    }
}
