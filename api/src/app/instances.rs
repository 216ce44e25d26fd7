//! Instances: who may read one, how it is shown (with its parent, its calls and their
//! sub-processes, its SLA clocks as the engine judges them), starting and cancelling, its
//! history and messages, and the incidents admins resolve.

use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tramite_engine::machine::{self, Actor, Command, Instance, ParentLink, Record};
use utoipa::ToSchema;

use super::AppError;
use super::standing::status_name;
use super::tasks::{TaskView, task_view};
use crate::runtime::{Deployed, Runtime, sla_rows, task_rows};
use crate::store::{IncidentRow, InstanceRow, MessageRow, StoredInstance};

/// Admins, whoever started the instance (a sub-process counts as started by whoever started
/// its parent), and holders of one of the process's roles may read it.
fn may_read(actor: &Actor, d: &Deployed, stored: &StoredInstance) -> bool {
    actor.admin
        || stored.started_by.as_deref() == Some(actor.user.as_str())
        || super::may_read_process(actor, &d.process)
}

/// An instance and its version, if the actor may read it.
pub async fn readable(rt: &Runtime, actor: &Actor, id: &str) -> Result<(Arc<Deployed>, StoredInstance), AppError> {
    let stored = rt.instance(id).await?;
    let d = rt.version_of(&stored)?;
    if !may_read(actor, &d, &stored) {
        return Err(AppError::forbidden("this instance belongs to a process you have no role in"));
    }
    Ok((d, stored))
}

/// The view of an instance an action of `actor` just left in state `inst`, from the instance as
/// read before the action (its version and who started it, which decide who may read it, are
/// as they were).
pub async fn acted_view(
    rt: &Runtime,
    actor: &Actor,
    d: &Deployed,
    before: &StoredInstance,
    inst: &Instance,
) -> Result<InstanceView, AppError> {
    if !may_read(actor, d, before) {
        return Err(AppError::forbidden("this instance belongs to a process you have no role in"));
    }
    view_of(rt, d, inst).await
}

/// A call step of the instance and the sub-process it waits for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    pub token: u64,
    pub step: String,
    pub process: String,
    pub child: Option<String>,
    pub version: Option<i64>,
    /// Why the sub-process could not start or run, until it is retried.
    pub incident: Option<CallIncidentView>,
}

/// A call step's incident.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallIncidentView {
    pub message: String,
    pub since: Timestamp,
}

/// One SLA clock of an instance and how it stands now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaView {
    pub id: String,
    pub title: String,
    /// `ok`, `warning` or `breached` while it runs; `met` or `met-late` once stopped.
    pub state: &'static str,
    pub started_at: Timestamp,
    pub warn_at: Option<Timestamp>,
    pub due_at: Timestamp,
    pub stopped_at: Option<Timestamp>,
}

/// An instance as users see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstanceView {
    pub id: String,
    /// The case's number (`start.folio`, or a `folio` its data holds).
    pub folio: Option<String>,
    pub process: String,
    pub version: i64,
    /// `running`, `ended` or `cancelled`.
    pub status: &'static str,
    pub outcome: Option<String>,
    /// The case's form data, as its forms define it.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    pub active_steps: Vec<String>,
    pub tasks: Vec<TaskView>,
    pub slas: Vec<SlaView>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// The last approval that sent the case back: `step`, `by`, `comment`, `at`.
    #[schema(value_type = Option<Object>)]
    pub last_rejection: Option<Value>,
    /// The call step that started this instance, when it is a sub-process: `instance`,
    /// `token`, `process`, `step`.
    #[schema(value_type = Option<Object>)]
    pub parent: Option<ParentLink>,
    /// Its call steps waiting now.
    pub calls: Vec<CallView>,
    /// Every sub-process its calls started, running or not.
    pub children: Vec<InstanceRow>,
}

/// The view of a stored instance at the runtime's now.
pub async fn view_of(rt: &Runtime, d: &Deployed, inst: &Instance) -> Result<InstanceView, AppError> {
    let now = rt.now();
    let states = machine::sla_states(d.env(), inst, now);
    let slas = sla_rows(d, inst)
        .into_iter()
        .map(|s| SlaView {
            state: states.iter().find(|(id, _)| *id == s.sla).map(|(_, st)| st.as_str()).unwrap_or("ok"),
            id: s.sla,
            title: s.title,
            started_at: s.started_at,
            warn_at: s.warn_at,
            due_at: s.due_at,
            stopped_at: s.stopped_at,
        })
        .collect();
    let calls = inst
        .tokens
        .values()
        .filter_map(|t| {
            let c = t.call.as_ref()?;
            Some(CallView {
                token: t.id,
                step: t.step.clone(),
                process: c.process.clone(),
                child: c.child.clone(),
                version: c.version,
                incident: c.incident.as_ref().map(|i| CallIncidentView { message: i.message.clone(), since: i.since }),
            })
        })
        .collect();
    let outcome = match &inst.status {
        machine::Status::Ended { outcome } => Some(outcome.clone()),
        _ => None,
    };
    Ok(InstanceView {
        id: inst.id.clone(),
        folio: crate::runtime::folio(inst),
        process: d.process.id.clone(),
        version: d.version,
        status: status_name(&inst.status),
        outcome,
        data: inst.data.clone(),
        active_steps: inst.active_steps(),
        tasks: task_rows(d, inst)
            .into_iter()
            .map(|t| TaskView { report: inst.report_of(t.token as u64).cloned(), ..task_view(t, now) })
            .collect(),
        slas,
        started_at: inst.started_at,
        ended_at: inst.ended_at,
        last_rejection: inst.last_rejection.as_ref().map(|r| json!(r)),
        parent: inst.parent.clone(),
        calls,
        children: rt.store.children(&inst.id).await?,
    })
}

/// An instance the actor may read, as users see it.
pub async fn instance_view(rt: &Runtime, actor: &Actor, id: &str) -> Result<InstanceView, AppError> {
    let (d, stored) = readable(rt, actor, id).await?;
    view_of(rt, &d, &stored.state).await
}

/// The sub-processes an instance started.
pub async fn children(rt: &Runtime, id: &str) -> Result<Vec<InstanceRow>, AppError> {
    Ok(rt.store.children(id).await?)
}

/// Starts an instance of the latest version; a repeated `key` returns the first instance
/// (`created` false).
pub async fn start(
    rt: &Runtime,
    actor: &Actor,
    process: &str,
    data: Map<String, Value>,
    key: Option<&str>,
) -> Result<(InstanceView, bool), AppError> {
    if key.is_some_and(|k| k.is_empty() || k.len() > 200) {
        return Err(AppError::field("invalid_key", "Idempotency-Key", "Idempotency-Key must be 1 to 200 characters"));
    }
    let data = super::trusted(rt, actor, data, None).await?;
    // Those who may start it have their data checked before it reaches the writer.
    if let Some(d) = rt.deployed(process, None)
        && (d.process.start.roles.is_empty() || d.process.start.roles.iter().any(|r| actor.has_role(r)))
    {
        super::check_ahead(rt, &d, d.process.start.form.as_deref(), &data).await?;
    }
    let (stored, created) = rt.start(process, data, actor, key).await?;
    let d = rt.version_of(&stored)?;
    Ok((view_of(rt, &d, &stored.state).await?, created))
}

/// Cancels an instance (the engine allows admins only) and its running sub-processes.
pub async fn cancel(rt: &Runtime, actor: &Actor, id: &str, reason: &str) -> Result<InstanceView, AppError> {
    let (d, _) = readable(rt, actor, id).await?;
    let reason = if reason.trim().is_empty() { "cancelado por un administrador" } else { reason.trim() };
    let inst = rt.act(id, Some(actor), Command::Cancel { reason: reason.to_string() }).await?;
    view_of(rt, &d, &inst).await
}

/// The events of an instance the actor may read.
pub async fn history(rt: &Runtime, actor: &Actor, id: &str) -> Result<Vec<Record>, AppError> {
    readable(rt, actor, id).await?;
    Ok(rt.store.history(id).await?)
}

/// The messages an instance the actor may read produced.
pub async fn messages(rt: &Runtime, actor: &Actor, id: &str) -> Result<Vec<MessageRow>, AppError> {
    readable(rt, actor, id).await?;
    Ok(rt.store.messages_of(id).await?)
}

/// Starts again the sub-processes of an instance's incidents (admins).
pub async fn retry(rt: &Runtime, actor: &Actor, id: &str) -> Result<(InstanceView, usize), AppError> {
    if !actor.admin {
        return Err(AppError::Forbidden { code: "admin_only", message: "only an admin may retry an incident".into() });
    }
    let (d, _) = readable(rt, actor, id).await?;
    let n = rt.retry(id).await?;
    let stored = rt.instance(id).await?;
    Ok((view_of(rt, &d, &stored.state).await?, n))
}

/// Every open incident (admins).
pub async fn incidents(rt: &Runtime, actor: &Actor) -> Result<Vec<IncidentRow>, AppError> {
    if !actor.admin {
        return Err(AppError::Forbidden { code: "admin_only", message: "incidents are for admins".into() });
    }
    Ok(rt.store.incidents(None, 1000).await?)
}
