//! Task inboxes and work on tasks: claim, release, complete, approve, reject — each the
//! application layer's rule, answered in JSON.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use super::openapi::{ActRefusals, AnswerRefusals, ReadRefusals, Unauthorized, Unprocessable};
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct InboxParams {
    process: Option<String>,
    /// Only tasks due before this instant (RFC 3339).
    #[param(format = DateTime)]
    due_before: Option<String>,
    /// Only tasks whose SLA stands so; empty: every standing.
    #[param(schema_with = super::openapi::running_sla)]
    sla: Option<String>,
    /// `next` of the previous page.
    #[param(schema_with = super::openapi::cursor)]
    cursor: Option<String>,
    /// Tasks on a page; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// A page of an inbox.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TaskPage {
    tasks: Vec<app::TaskView>,
    /// The `cursor` of the next page; `null` on the last.
    next: Option<String>,
}

/// Open tasks of the caller's roles, soonest due first.
#[utoipa::path(
    get,
    path = "/api/inbox",
    tag = "tasks",
    params(InboxParams),
    responses(
        (status = 200, description = "a page of tasks", body = TaskPage),
        Unauthorized,
        Unprocessable
    )
)]
pub(super) async fn inbox(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Query(p): Query<InboxParams>,
) -> Result<Json<TaskPage>, ApiError> {
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
    Ok(Json(TaskPage { tasks: page.rows, next: page.next.map(|c| c.token()) }))
}

/// A task.
#[utoipa::path(
    get,
    path = "/api/tasks/{id}",
    tag = "tasks",
    params(("id" = String, Path, description = "the task's id")),
    responses(
        (status = 200, description = "the task", body = app::TaskView),
        ReadRefusals
    )
)]
pub(super) async fn task(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<app::TaskView>, ApiError> {
    Ok(Json(app::task_shown(&rt, &actor, &id).await?))
}

/// The instance after an action, as `GET /api/instances/{id}` shows it.
async fn after(
    rt: &Runtime,
    actor: &tramite_engine::machine::Actor,
    id: &str,
) -> Result<Json<app::InstanceView>, ApiError> {
    Ok(Json(app::instance_view(rt, actor, id).await?))
}

/// Take a task for yourself.
#[utoipa::path(
    post,
    path = "/api/tasks/{id}/claim",
    tag = "tasks",
    params(("id" = String, Path, description = "the task's id")),
    responses(
        (status = 200, description = "the task's instance after", body = app::InstanceView),
        ActRefusals
    )
)]
pub(super) async fn claim(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<app::InstanceView>, ApiError> {
    let inst = app::claim(&rt, &actor, &id).await?;
    after(&rt, &actor, &inst.id).await
}

/// Give a claimed task back to its role.
#[utoipa::path(
    post,
    path = "/api/tasks/{id}/unclaim",
    tag = "tasks",
    params(("id" = String, Path, description = "the task's id")),
    responses(
        (status = 200, description = "the task's instance after", body = app::InstanceView),
        ActRefusals
    )
)]
pub(super) async fn unclaim(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<app::InstanceView>, ApiError> {
    let inst = app::release(&rt, &actor, &id).await?;
    after(&rt, &actor, &inst.id).await
}

/// A task's answer: its form data, or an approval's decision.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CompleteBody {
    #[serde(default)]
    #[schema(value_type = Object)]
    data: Map<String, Value>,
    /// An approval's: `approve` or `reject`.
    #[schema(schema_with = super::openapi::decision)]
    decision: Option<String>,
    /// Required when rejecting.
    comment: Option<String>,
}

/// Complete a task with its form data, or decide an approval with `decision` (`approve` or
/// `reject`) and a `comment`.
#[utoipa::path(
    post,
    path = "/api/tasks/{id}/complete",
    tag = "tasks",
    params(("id" = String, Path, description = "the task's id")),
    request_body = CompleteBody,
    responses(
        (status = 200, description = "the task's instance after", body = app::InstanceView),
        AnswerRefusals
    )
)]
pub(super) async fn complete(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Json(body): Json<CompleteBody>,
) -> Result<Json<app::InstanceView>, ApiError> {
    let answer = Answer { data: body.data, decision: body.decision, comment: body.comment };
    Ok(Json(app::submit_viewed(&rt, &actor, &id, answer).await?))
}
