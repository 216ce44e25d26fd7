//! Task inboxes and work on tasks: read, claim, release, complete, approve, reject. Who may
//! act is the engine's rule (the task's role, claims); what an answer means is judged against
//! the instance's own version of the process.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value};
use tramite_engine::definition::StepKind;
use tramite_engine::machine::{Actor, Command, Instance};

use super::AppError;
use super::instances::InstanceView;
use super::standing::task_standing;
use crate::runtime::{Deployed, Runtime, split_task_id};
use crate::store::{Cursor, Holder, InboxQuery, Page, SlaFilter, StoredInstance, TaskRow};

/// A task as users see it: its row and its SLA standing now.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TaskView {
    #[serde(flatten)]
    pub row: TaskRow,
    /// `ok`, `warning`, `breached`, or `none` without a running SLA.
    pub sla_state: &'static str,
    /// A report task's computed report (`{name, sha256, size, type}`), once attached; shown
    /// where one task is read (`GET /api/tasks/{id}`, the instance's tasks), not in inboxes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Value>,
}

/// A task row as seen at `now`.
pub fn task_view(row: TaskRow, now: Timestamp) -> TaskView {
    let sla_state = task_standing(&row, now).as_str();
    TaskView { row, sla_state, report: None }
}

/// What an inbox shows.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub process: Option<String>,
    pub due_before: Option<Timestamp>,
    pub sla: Option<SlaFilter>,
    /// The page after this one.
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// Open tasks of the actor's roles (every role for an admin), soonest due first, a page at a
/// time.
pub async fn inbox(rt: &Runtime, actor: &Actor, f: InboxFilter) -> Result<Page<TaskView>, AppError> {
    let now = rt.now();
    let q = InboxQuery {
        holder: (!actor.admin).then(|| Holder { user: actor.user.clone(), roles: actor.roles.clone() }),
        process: f.process,
        due_before: f.due_before,
        sla: f.sla,
        now,
        after: f.after,
        limit: f.limit.clamp(1, 1000),
    };
    let page = rt.store.inbox(&q).await?;
    Ok(Page { rows: page.rows.into_iter().map(|t| task_view(t, now)).collect(), next: page.next })
}

/// The position a `cursor` query parameter names (`None` for the first page).
pub fn cursor(token: Option<&str>) -> Result<Option<Cursor>, AppError> {
    match token {
        None | Some("") => Ok(None),
        Some(t) => Cursor::parse(t).map(Some).ok_or_else(|| {
            AppError::field("invalid_query", "cursor", "not a cursor this server gave: start again from the first page")
        }),
    }
}

/// A task the actor may see: theirs by name, or of one of their roles in its scope (the
/// engine's rule, `Actor::may_work`); admins all.
pub async fn task(rt: &Runtime, actor: &Actor, id: &str) -> Result<TaskRow, AppError> {
    let t = rt.store.task(id).await?.ok_or_else(|| AppError::NotFound(format!("no task `{id}`")))?;
    if !actor.may_work(&t.role, t.role_scope.as_deref(), t.assignee.as_deref()) {
        let holder = match (&t.assignee, &t.role_scope) {
            (Some(user), _) => format!("`{user}`"),
            (None, Some(scope)) => format!("role `{}` in `{scope}`", t.role),
            (None, None) => format!("role `{}`", t.role),
        };
        return Err(AppError::forbidden(format!("this task belongs to {holder}")));
    }
    Ok(t)
}

/// A task as the API shows it: with its report, when its step is a report task's and the
/// report is attached.
pub async fn task_shown(rt: &Runtime, actor: &Actor, id: &str) -> Result<TaskView, AppError> {
    let t = task(rt, actor, id).await?;
    let reports = rt
        .registry()
        .latest(&t.process)
        .and_then(|d| d.process.step(&t.step)?.kind.work().map(|w| w.report.is_some()))
        .unwrap_or(false);
    let report = match reports {
        true => rt.store.instance(&t.instance_id).await?.and_then(|s| s.state.report_of(t.token as u64).cloned()),
        false => None,
    };
    Ok(TaskView { report, ..task_view(t, rt.now()) })
}

/// An open task the actor may work on, with its instance and that instance's version.
pub async fn open_task(
    rt: &Runtime,
    actor: &Actor,
    id: &str,
) -> Result<(TaskRow, Arc<Deployed>, StoredInstance), AppError> {
    let t = task(rt, actor, id).await?;
    if t.status != "open" {
        return Err(AppError::Conflict {
            code: "task_done",
            message: "la tarea ya está hecha (the task is already done)".into(),
        });
    }
    let stored = rt.instance(&t.instance_id).await?;
    let d = rt.version_of(&stored)?;
    Ok((t, d, stored))
}

fn token(id: &str) -> Result<(&str, u64), AppError> {
    split_task_id(id).ok_or_else(|| AppError::NotFound(format!("no task `{id}`")))
}

/// Takes a task for oneself.
pub async fn claim(rt: &Runtime, actor: &Actor, id: &str) -> Result<Instance, AppError> {
    open_task(rt, actor, id).await?;
    let (inst, task) = token(id)?;
    Ok(rt.act(inst, Some(actor), Command::Claim { task }).await?)
}

/// Gives a claimed task back to its role.
pub async fn release(rt: &Runtime, actor: &Actor, id: &str) -> Result<Instance, AppError> {
    open_task(rt, actor, id).await?;
    let (inst, task) = token(id)?;
    Ok(rt.act(inst, Some(actor), Command::Unclaim { task }).await?)
}

/// An answer to a task: form data, and for an approval the decision (`approve` or `reject`)
/// with a comment (required to reject).
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub data: Map<String, Value>,
    pub decision: Option<String>,
    pub comment: Option<String>,
}

/// Completes a task, or decides an approval; the step's kind is read from the version the
/// instance runs on.
pub async fn submit(rt: &Runtime, actor: &Actor, id: &str, answer: Answer) -> Result<Instance, AppError> {
    Ok(submitted(rt, actor, id, answer).await?.0)
}

/// [`submit`], answered with the instance as `GET /api/instances/{id}` shows it: the state the
/// action committed, shown on the version and under the reading rights read before it (an
/// action changes neither), without reading the instance again.
pub async fn submit_viewed(rt: &Runtime, actor: &Actor, id: &str, answer: Answer) -> Result<InstanceView, AppError> {
    let (inst, d, before) = submitted(rt, actor, id, answer).await?;
    super::instances::acted_view(rt, actor, &d, &before, &inst).await
}

/// Completes, approves or rejects an open task; the new state, with the version the instance
/// runs on and the instance as read before.
async fn submitted(
    rt: &Runtime,
    actor: &Actor,
    id: &str,
    answer: Answer,
) -> Result<(Instance, Arc<Deployed>, StoredInstance), AppError> {
    let (t, d, before) = open_task(rt, actor, id).await?;
    let approval = d.process.step(&t.step).is_some_and(|s| matches!(s.kind, StepKind::Approval { .. }));
    let (inst, task) = token(id)?;
    let Answer { data, decision, comment } = answer;
    let data = super::trusted(rt, actor, data, Some(inst)).await?;
    let comment = comment.filter(|c| !c.trim().is_empty());
    let cmd = match (approval, decision.as_deref().map(str::trim).filter(|d| !d.is_empty())) {
        (false, None) => Command::Complete { task, data },
        (false, Some(_)) => {
            return Err(AppError::field(
                "not_an_approval",
                "decision",
                "Esta tarea no es una aprobación: envíe solo los datos del formulario.",
            ));
        }
        (true, Some("approve")) => Command::Approve { task, comment, data },
        (true, Some("reject")) => Command::Reject { task, comment: comment.unwrap_or_default() },
        (true, _) => {
            return Err(AppError::field(
                "decision_required",
                "decision",
                "Indique si aprueba (`approve`) o rechaza (`reject`).",
            ));
        }
    };
    if let Command::Complete { data, .. } | Command::Approve { data, .. } = &cmd {
        let form = d.process.step(&t.step).and_then(|s| match &s.kind {
            StepKind::Task { work, .. } | StepKind::Approval { work, .. } => work.form.as_deref(),
            _ => None,
        });
        super::check_ahead(rt, &d, form, data).await?;
    }
    let inst = rt.act(inst, Some(actor), cmd).await?;
    Ok((inst, d, before))
}
