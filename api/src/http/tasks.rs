//! Task inboxes and work on tasks: claim, release, complete, approve, reject — each the
//! application layer's rule, answered in JSON.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use crate::app::{self, Answer, AppError, InboxFilter};
use crate::runtime::Runtime;

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
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn inbox(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Query(p): Query<InboxParams>,
) -> Result<Json<Value>, ApiError> {
    let due_before =
        match p.due_before.as_deref() {
            None => None,
            Some(s) => Some(s.parse::<Timestamp>().map_err(|_| {
                AppError::field("invalid_query", "due_before", "due_before must be an RFC 3339 instant")
            })?),
        };
    if p.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return Err(AppError::field("invalid_query", "limit", "limit goes from 1 to 1000").into());
    }
    let filter = InboxFilter {
        process: p.process.filter(|s| !s.is_empty()),
        due_before,
        sla: app::sla_filter(p.sla.as_deref())?,
        after: app::cursor(p.cursor.as_deref())?,
        limit: p.limit.unwrap_or(100),
    };
    let page = app::inbox(&rt, &actor, filter).await?;
    Ok(Json(json!({ "tasks": page.rows, "next": page.next.map(|c| c.token()) })))
}

async fn task(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<app::TaskView>, ApiError> {
    let t = app::task(&rt, &actor, &id).await?;
    Ok(Json(app::task_view(t, rt.now())))
}

/// The instance after an action, as `GET /api/instances/{id}` shows it.
async fn after(
    rt: &Runtime,
    actor: &tramite_engine::machine::Actor,
    id: &str,
) -> Result<Json<app::InstanceView>, ApiError> {
    Ok(Json(app::instance_view(rt, actor, id).await?))
}

async fn claim(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<app::InstanceView>, ApiError> {
    let inst = app::claim(&rt, &actor, &id).await?;
    after(&rt, &actor, &inst.id).await
}

async fn unclaim(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<app::InstanceView>, ApiError> {
    let inst = app::release(&rt, &actor, &id).await?;
    after(&rt, &actor, &inst.id).await
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
) -> Result<Json<app::InstanceView>, ApiError> {
    let answer = Answer { data: body.data, decision: body.decision, comment: body.comment };
    let inst = app::submit(&rt, &actor, &id, answer).await?;
    after(&rt, &actor, &inst.id).await
}
