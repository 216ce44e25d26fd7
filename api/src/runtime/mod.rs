//! The running engine: the pure machine applied to stored instances, one transaction per
//! transition, with timers, tasks and outbox kept in line with the state.

mod deploy;
pub mod registry;
mod writer;

pub use writer::{Done, Prepared, Work};

pub use deploy::Deployment;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tramite_engine::calendar::Calendar;
use tramite_engine::machine::{self, Actor, AlertKind, Command, CommandError, Event, Instance, Record};

use crate::notify::Templates;
use crate::store::{Change, NewMessage, SlaRow, Store, StoreError, StoredInstance, TaskRow, Tx, UserRow};
pub use registry::{Bundle, Deployed, Registry};

/// Why a request to the runtime failed; each maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Invalid { code: &'static str, message: String, details: Value },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for RuntimeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => RuntimeError::Conflict("the instance changed at the same time; retry".into()),
            StoreError::Duplicate(what) => RuntimeError::Conflict(format!("duplicate {what}")),
            other => RuntimeError::Internal(other.to_string()),
        }
    }
}

impl RuntimeError {
    fn from_command(e: CommandError) -> RuntimeError {
        let message = e.to_string();
        match e {
            CommandError::Forbidden { .. } | CommandError::AdminOnly => RuntimeError::Forbidden(message),
            CommandError::UnknownTask(_) => RuntimeError::Conflict("the task is no longer open".into()),
            CommandError::NotRunning | CommandError::ClaimedByOther(_) | CommandError::TimerNotDue => {
                RuntimeError::Conflict(message)
            }
            CommandError::InvalidData(errors) => {
                let mut fields = Map::new();
                for f in errors {
                    fields.insert(f.field.clone(), json!({ "code": f.code, "message": f.message }));
                }
                RuntimeError::Invalid { code: "invalid_data", message, details: json!({ "fields": fields }) }
            }
            CommandError::CommentRequired => RuntimeError::Invalid {
                code: "comment_required",
                message,
                details: json!({ "fields": { "comment": { "code": "required", "message": "Indique el motivo del rechazo." } } }),
            },
            other => RuntimeError::Invalid { code: other.code(), message, details: Value::Null },
        }
    }
}

/// The runtime shared by the HTTP server, the scheduler and the CLI.
#[derive(Debug)]
pub struct Runtime {
    pub store: Store,
    pub registry: RwLock<Registry>,
    pub calendars: RwLock<BTreeMap<String, Calendar>>,
    pub templates: Templates,
    /// The form files deployments are checked against.
    pub form_sources: RwLock<Vec<tramite_engine::definition::SourceFile>>,
    users_cache: std::sync::Mutex<Option<(std::time::Instant, Arc<Vec<UserRow>>)>>,
    /// The group-commit writer (SQLite), once started.
    pub writer: std::sync::OnceLock<tokio::sync::mpsc::Sender<writer::Job>>,
    /// Woken when new timers or messages are written.
    pub timers_changed: Arc<Notify>,
    pub outbox_changed: Arc<Notify>,
}

/// How long the user list may be reused for notifications (a new user's e-mail address is
/// picked up within this time).
const USERS_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// A new instance id: time-ordered and unguessable.
pub fn new_id() -> String {
    let now = Timestamp::now().as_millisecond();
    let r: u64 = rand::random();
    format!("{now:012x}{r:016x}")
}

impl Runtime {
    /// A runtime over a store, with no definitions loaded yet.
    pub fn new(store: Store, templates: Templates) -> Runtime {
        Runtime {
            store,
            registry: RwLock::new(Registry::default()),
            calendars: RwLock::new(BTreeMap::new()),
            templates,
            form_sources: RwLock::new(Vec::new()),
            writer: std::sync::OnceLock::new(),
            users_cache: std::sync::Mutex::new(None),
            timers_changed: Arc::new(Notify::new()),
            outbox_changed: Arc::new(Notify::new()),
        }
    }

    pub fn deployed(&self, process: &str, version: Option<i64>) -> Option<Arc<Deployed>> {
        let reg = self.registry.read().ok()?;
        match version {
            Some(v) => reg.version(process, v),
            None => reg.latest(process),
        }
    }

    /// Starts an instance of the latest version; a repeated idempotency key returns the first
    /// instance instead (`created` false).
    pub async fn start(
        &self,
        process: &str,
        data: Map<String, Value>,
        actor: &Actor,
        key: Option<&str>,
    ) -> Result<(Instance, bool), RuntimeError> {
        let work =
            Work::Start { process: process.to_string(), data, actor: actor.clone(), key: key.map(str::to_string) };
        match self.run(work).await {
            Ok(Done::Started(inst, created)) => Ok((inst, created)),
            // Two requests with one key raced; the other one's instance is the answer.
            Err(RuntimeError::Conflict(_)) if key.is_some() => {
                let id = self.store.instance_by_key(key.unwrap_or_default()).await?;
                let id = id.ok_or_else(|| RuntimeError::Conflict("retry the request".into()))?;
                Ok((self.instance(&id).await?.state, false))
            }
            Ok(_) => Err(RuntimeError::Internal("unexpected reply to a start".into())),
            Err(e) => Err(e),
        }
    }

    pub async fn instance(&self, id: &str) -> Result<StoredInstance, RuntimeError> {
        self.store.instance(id).await?.ok_or_else(|| RuntimeError::NotFound(format!("no instance `{id}`")))
    }

    /// Runs a command against an instance in one transaction.
    pub async fn act(&self, id: &str, actor: Option<&Actor>, cmd: Command) -> Result<Instance, RuntimeError> {
        match self.run(Work::Act { id: id.to_string(), actor: actor.cloned(), cmd }).await? {
            Done::Acted(inst) => Ok(inst),
            _ => Err(RuntimeError::Internal("unexpected reply to a command".into())),
        }
    }

    fn wake(&self) {
        self.timers_changed.notify_one();
        self.outbox_changed.notify_one();
    }

    /// Fires the timers due now; returns how many fired. Safe to run on several nodes at once.
    pub async fn fire_due(&self) -> Result<usize, RuntimeError> {
        let due = self.store.due_timers(Timestamp::now(), 200).await?;
        let mut fired = 0;
        for (id, key, _) in due {
            if let Done::Fired(true) = self.run(Work::Fire { id, key }).await? {
                fired += 1;
            }
        }
        Ok(fired)
    }

    /// The rows a prepared transition writes.
    fn change<'a>(&self, p: &'a Prepared) -> Change<'a> {
        let (d, inst) = (&p.deployed, &p.inst);
        let slas = sla_rows(d, inst);
        let tasks = task_rows_with(d, inst, &slas, |_| true);
        // Tasks open before and gone now; their rows are only built when there are some.
        let closed = match &p.prev {
            Some(prev) if prev.tasks().any(|(t, _)| !inst.tokens.contains_key(&t.id)) => {
                task_rows_with(d, prev, &sla_rows(d, prev), |token| !inst.tokens.contains_key(&token))
            }
            _ => Vec::new(),
        };
        Change {
            id: &inst.id,
            process: &d.process.id,
            version: d.version,
            before_seq: p.before_seq,
            state: inst,
            records: &p.records,
            tasks,
            closed,
            timers: machine::timers(d.env(), inst),
            slas,
            outbox: p.outbox.clone(),
            idempotency_key: p.key.as_deref(),
            started_by: p.started_by.as_deref(),
            folio: folio(inst),
            now: p.now,
        }
    }

    /// Outbox rows for the alerts among `records`, one per user of each role with an address.
    /// Every user, read at most every [`USERS_TTL`]: each task assignment notifies its role, and
    /// re-reading the users for every transition would cost more than the transition.
    async fn users(&self, tx: &mut Tx) -> Result<Arc<Vec<UserRow>>, RuntimeError> {
        if let Ok(cache) = self.users_cache.lock()
            && let Some((at, users)) = cache.as_ref()
            && at.elapsed() < USERS_TTL
        {
            return Ok(users.clone());
        }
        let users = Arc::new(tx.users().await?);
        if let Ok(mut cache) = self.users_cache.lock() {
            *cache = Some((std::time::Instant::now(), users.clone()));
        }
        Ok(users)
    }

    /// The result of an approval, for whoever started the instance (when it was not them who
    /// decided and they have an e-mail address).
    async fn approval_messages(
        &self,
        tx: &mut Tx,
        d: &Deployed,
        before: &StoredInstance,
        inst: &Instance,
        records: &[Record],
    ) -> Result<Vec<NewMessage>, RuntimeError> {
        let mut out = Vec::new();
        let Some(starter) = before.started_by.as_deref() else { return Ok(out) };
        for r in records {
            let (token, approved, comment) = match &r.event {
                Event::Approved { token, comment, .. } => (*token, true, comment.clone()),
                Event::Rejected { token, comment } => (*token, false, Some(comment.clone())),
                _ => continue,
            };
            if r.by.as_deref() == Some(starter) {
                continue;
            }
            let users = self.users(tx).await?;
            let Some(email) = users.iter().find(|u| u.name == starter).and_then(|u| u.email.clone()) else { continue };
            let step = before.state.tokens.get(&token).and_then(|t| d.process.step(&t.step));
            let values = json!({
                "user": starter,
                "approved": approved,
                "step_title": step.map(|s| s.title.clone()),
                "folio": folio(inst).unwrap_or_else(|| inst.id.clone()),
                "by": r.by,
                "comment": comment,
                "process_title": d.process.title,
            });
            let (subject, body) = self.templates.render("approval-result", &values).map_err(RuntimeError::Internal)?;
            out.push(NewMessage {
                instance_id: Some(inst.id.clone()),
                kind: "approval-result".into(),
                recipient: email,
                subject,
                body,
            });
        }
        Ok(out)
    }

    async fn messages(
        &self,
        tx: &mut Tx,
        d: &Deployed,
        inst: &Instance,
        records: &[Record],
    ) -> Result<Vec<NewMessage>, RuntimeError> {
        let mut out = Vec::new();
        for r in records {
            let (kind, roles, sla, step) = match &r.event {
                Event::Alerted { kind, roles, sla, step } => (*kind, roles.clone(), sla.clone(), step.clone()),
                _ => continue,
            };
            let template = match kind {
                AlertKind::Assigned => "assigned",
                AlertKind::SlaWarning => "sla-warning",
                AlertKind::SlaBreach => "sla-breach",
                AlertKind::Overdue => "overdue",
            };
            let due = sla.as_ref().and_then(|s| inst.slas.get(s)).map(|run| run.clock.due(&d.calendar)).or_else(|| {
                step.as_ref().and_then(|s| inst.tasks().find(|(t, _)| &t.step == s).and_then(|(_, task)| task.due))
            });
            for role in &roles {
                for user in self.users(tx).await?.iter().filter(|u| u.roles.iter().any(|r| r == role)) {
                    let Some(email) = user.email.clone() else { continue };
                    let values = json!({
                        "user": user.name,
                        "role_title": d.process.role_title(role).unwrap_or(role),
                        "process_title": d.process.title,
                        "folio": folio(inst).unwrap_or_else(|| inst.id.clone()),
                        "instance": inst.id,
                        "data": inst.data,
                        "step_title": step.as_ref().and_then(|s| d.process.step(s)).map(|s| s.title.clone()),
                        "sla_title": sla.as_ref().and_then(|s| d.process.sla(s)).map(|s| s.title.clone()),
                        "due": due.map(|t| local_time(t, &d.calendar)),
                    });
                    let (subject, body) = self.templates.render(template, &values).map_err(RuntimeError::Internal)?;
                    out.push(NewMessage {
                        instance_id: Some(inst.id.clone()),
                        kind: template.into(),
                        recipient: email,
                        subject,
                        body,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The instance's folio, when its data has one.
pub fn folio(inst: &Instance) -> Option<String> {
    inst.data.get("folio").and_then(|v| v.as_str()).map(str::to_string)
}

/// An instant in the calendar's local time, as people read it: `2026-03-18 18:00 (America/Mexico_City)`.
pub fn local_time(t: Timestamp, cal: &Calendar) -> String {
    let z = t.to_zoned(cal.zone().clone());
    format!("{} ({})", z.strftime("%Y-%m-%d %H:%M"), cal.zone().iana_name().unwrap_or("UTC"))
}

/// The SLA clocks of an instance as report rows.
pub fn sla_rows(d: &Deployed, inst: &Instance) -> Vec<SlaRow> {
    inst.slas
        .iter()
        .map(|(id, run)| {
            let def = d.process.sla(id);
            SlaRow {
                instance_id: inst.id.clone(),
                sla: id.clone(),
                process: d.process.id.clone(),
                title: def.map(|s| s.title.clone()).unwrap_or_else(|| id.clone()),
                folio: folio(inst),
                started_at: run.clock.started,
                warn_at: def.and_then(|s| s.warn).map(|w| run.clock.warn_at(&d.calendar, w)),
                due_at: run.clock.due(&d.calendar),
                stopped_at: run.clock.stopped,
            }
        })
        .collect()
}

/// The open tasks of an instance as inbox rows.
pub fn task_rows(d: &Deployed, inst: &Instance) -> Vec<TaskRow> {
    task_rows_with(d, inst, &sla_rows(d, inst), |_| true)
}

/// The tasks of `inst` that `keep` selects, stamped with the most urgent running clock of `slas`
/// (the instance's SLA rows, computed once by the caller).
fn task_rows_with(d: &Deployed, inst: &Instance, slas: &[SlaRow], keep: impl Fn(u64) -> bool) -> Vec<TaskRow> {
    let urgent = slas.iter().filter(|s| s.stopped_at.is_none()).min_by_key(|s| s.due_at);
    inst.tasks()
        .filter(|(tok, _)| keep(tok.id))
        .map(|(tok, task)| {
            let step = d.process.step(&tok.step);
            TaskRow {
                id: format!("{}.{}", inst.id, tok.id),
                instance_id: inst.id.clone(),
                token: tok.id as i64,
                process: d.process.id.clone(),
                step: tok.step.clone(),
                title: step.map(|s| s.title.clone()).unwrap_or_default(),
                role: task.role.clone(),
                kind: step.map(|s| s.kind.name()).unwrap_or("task").to_string(),
                folio: folio(inst),
                status: "open".into(),
                due_at: task.due,
                claimed_by: task.claimed_by.clone(),
                sla_warn_at: urgent.as_ref().and_then(|s| s.warn_at),
                sla_due_at: urgent.as_ref().map(|s| s.due_at),
                created_at: tok.entered_at,
            }
        })
        .collect()
}

/// Splits a task id `<instance>.<token>`.
pub fn split_task_id(id: &str) -> Option<(&str, u64)> {
    let (inst, tok) = id.rsplit_once('.')?;
    Some((inst, tok.parse().ok()?))
}
