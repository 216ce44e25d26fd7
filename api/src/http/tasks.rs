//! Task inboxes and work on tasks: claim, release, complete, approve, reject.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tramite_engine::machine::{Actor, Command};

use super::auth::Caller;
use super::error::ApiError;
use super::instances::{is_approval, sla_filter, view};
use crate::runtime::{Runtime, split_task_id};
use crate::store::{InboxQuery, TaskRow};

pub fn router() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/api/inbox", get(inbox))
        .route("/api/tasks/{id}", get(task))
        .route("/api/tasks/{id}/claim", post(claim))
        .route("/api/tasks/{id}/unclaim", post(unclaim))
        .route("/api/tasks/{id}/complete", post(complete))
}

#[derive(Debug, Deserialize)]
struct InboxParams {
    process: Option<String>,
    due_before: Option<String>,
    sla: Option<String>,
    limit: Option<i64>,
}

async fn inbox(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Query(p): Query<InboxParams>,
) -> Result<Json<Value>, ApiError> {
    let due_before = match p.due_before.as_deref() {
        None | Some("") => None,
        Some(s) => {
            Some(s.parse::<Timestamp>().map_err(|_| ApiError::bad_request("due_before must be an RFC 3339 instant"))?)
        }
    };
    let q = InboxQuery {
        roles: if actor.admin { None } else { Some(actor.roles.clone()) },
        process: p.process.filter(|s| !s.is_empty()),
        due_before,
        sla: sla_filter(p.sla.as_deref())?,
        now: Timestamp::now(),
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
    };
    let tasks = rt.store.inbox(&q).await?;
    Ok(Json(json!({ "tasks": tasks })))
}

/// The open task `id`, if the caller may work on it.
async fn open_task(rt: &Runtime, actor: &Actor, id: &str) -> Result<TaskRow, ApiError> {
    let t = rt
        .store
        .task(id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no task `{id}`")))?;
    if !actor.has_role(&t.role) {
        return Err(ApiError::forbidden(format!("this task belongs to role `{}`", t.role)));
    }
    if t.status != "open" {
        return Err(ApiError::new(StatusCode::CONFLICT, "conflict", "the task is already done"));
    }
    Ok(t)
}

async fn task(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = rt
        .store
        .task(&id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no task `{id}`")))?;
    if !actor.has_role(&t.role) {
        return Err(ApiError::forbidden(format!("this task belongs to role `{}`", t.role)));
    }
    Ok(Json(json!(t)))
}

async fn act(
    rt: &Runtime,
    actor: &Actor,
    t: TaskRow,
    make: impl FnOnce(u64) -> Command,
) -> Result<Json<Value>, ApiError> {
    let (inst_id, token) = split_task_id(&t.id).ok_or_else(|| ApiError::bad_request("malformed task id"))?;
    let inst = rt.act(inst_id, Some(actor), make(token)).await?;
    let stored = rt.instance(&inst.id).await?;
    let d = rt.deployed(&t.process, Some(stored.version)).ok_or_else(|| ApiError::bad_request("version not loaded"))?;
    Ok(Json(view(&d, &inst)))
}

async fn claim(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = open_task(&rt, &actor, &id).await?;
    act(&rt, &actor, t, |task| Command::Claim { task }).await
}

async fn unclaim(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = open_task(&rt, &actor, &id).await?;
    act(&rt, &actor, t, |task| Command::Unclaim { task }).await
}

#[derive(Debug, Deserialize)]
struct CompleteBody {
    #[serde(default)]
    data: Map<String, Value>,
    decision: Option<String>,
    comment: Option<String>,
}

/// Completes a task, or decides an approval with `{"decision": "approve"|"reject", "comment"}`.
async fn complete(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Json(body): Json<CompleteBody>,
) -> Result<Json<Value>, ApiError> {
    let t = open_task(&rt, &actor, &id).await?;
    let d = rt.deployed(&t.process, None).ok_or_else(|| ApiError::bad_request("process not loaded"))?;
    let approval = is_approval(&d, &t.step);
    let CompleteBody { data, decision, comment } = body;
    let cmd: Box<dyn FnOnce(u64) -> Command + Send> = match (approval, decision.as_deref()) {
        (false, None) => Box::new(|task| Command::Complete { task, data }),
        (false, Some(_)) => return Err(ApiError::bad_request("this task is not an approval; send `data` only")),
        (true, Some("approve")) => Box::new(|task| Command::Approve { task, comment, data }),
        (true, Some("reject")) => Box::new(|task| Command::Reject { task, comment: comment.unwrap_or_default() }),
        (true, _) => return Err(ApiError::bad_request("an approval needs `decision`: `approve` or `reject`")),
    };
    act(&rt, &actor, t, cmd).await
}
