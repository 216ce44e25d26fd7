//! Instances: the case list, an instance's state, history and messages, cancelling it,
//! retrying its incidents, and the admin SLA report. Every rule is the application layer's
//! (`app/`); this module speaks JSON, and each handler's `#[utoipa::path]` is its entry in the
//! API document (`openapi/`).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tramite_engine::machine::Record;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use super::openapi::{ActRefusals, AnswerRefusals, Forbidden, ReadRefusals, Unauthorized, Unprocessable};
use crate::app::{self, AppError};
use crate::runtime::Runtime;
use crate::store::{IncidentRow, MessageRow, SlaRow};

pub fn router() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/api/instances", get(list_instances))
        .route("/api/instances/{id}", get(instance))
        .route("/api/instances/{id}/history", get(history))
        .route("/api/instances/{id}/messages", get(messages))
        .route("/api/instances/{id}/cancel", post(cancel))
        .route("/api/instances/{id}/retry", post(retry))
        .route("/api/incidents", get(incidents))
        .route("/api/sla", get(sla_report))
}

/// How the case list answers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Format {
    /// `csv` for the whole result as CSV; JSON pages otherwise.
    #[param(schema_with = super::openapi::case_format)]
    format: Option<String>,
}

/// A page of the case list.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CasePage {
    instances: Vec<app::CaseView>,
    /// The `cursor` of the next page; `null` on the last.
    next: Option<String>,
}

/// Cases you may read, newest first, one page at a time: by folio or words (`q`; a trailing
/// `*` is a prefix), process, status, outcome, start dates, SLA standing, the role holding a
/// task, or started by you; `format=csv` for every match as CSV.
#[utoipa::path(
    get,
    path = "/api/instances",
    tag = "instances",
    params(app::CaseFilter, Format),
    responses(
        (status = 200, description = "a page of cases, or every match as CSV", content(
            (CasePage = "application/json"),
            (String = "text/csv")
        )),
        Unauthorized,
        Unprocessable
    )
)]
pub(super) async fn list_instances(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Query(filter): Query<app::CaseFilter>,
    Query(f): Query<Format>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match f.format.as_deref() {
        None | Some("") | Some("json") => {
            let page = app::cases(&rt, &actor, &filter).await?;
            Ok(Json(CasePage { instances: page.rows, next: page.next.map(|c| c.token()) }).into_response())
        }
        Some("csv") => {
            let rows = app::all_cases(&rt, &actor, &filter).await?;
            let tz = app::zone_of(&rt, filter.process.as_deref());
            let columns = ["folio", "process", "status", "outcome", "started_at", "ended_at", "started_by", "id"];
            let body = app::cases_csv(&rows, columns, &tz)?;
            Ok((
                [
                    (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"casos.csv\""),
                ],
                body,
            )
                .into_response())
        }
        Some(_) => Err(AppError::field("invalid_query", "format", "format is json or csv").into()),
    }
}

/// An instance: status, active steps, data, tasks (with the `for_each` item they work on), SLA
/// states, its parent call, its calls and sub-processes.
#[utoipa::path(
    get,
    path = "/api/instances/{id}",
    tag = "instances",
    params(("id" = String, Path, description = "the instance's id")),
    responses(
        (status = 200, description = "the instance", body = app::InstanceView),
        ReadRefusals
    )
)]
pub(super) async fn instance(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<app::InstanceView>, ApiError> {
    Ok(Json(app::instance_view(&rt, &actor, &id).await?))
}

/// An instance's events.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct History {
    instance: String,
    /// Oldest first: each with `at`, `by` (absent for the engine's own) and `type`, and what
    /// that kind of event carries.
    #[schema(value_type = Vec<Object>)]
    events: Vec<Record>,
}

/// The instance's events (who, when, what).
#[utoipa::path(
    get,
    path = "/api/instances/{id}/history",
    tag = "instances",
    params(("id" = String, Path, description = "the instance's id")),
    responses(
        (status = 200, description = "the events", body = History),
        ReadRefusals
    )
)]
pub(super) async fn history(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<History>, ApiError> {
    let events = app::history(&rt, &actor, &id).await?;
    Ok(Json(History { instance: id, events }))
}

/// The messages an instance produced.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Messages {
    instance: String,
    messages: Vec<MessageRow>,
}

/// The messages the instance produced (outbox: kind, recipient, subject, sent).
#[utoipa::path(
    get,
    path = "/api/instances/{id}/messages",
    tag = "instances",
    params(("id" = String, Path, description = "the instance's id")),
    responses(
        (status = 200, description = "the messages", body = Messages),
        ReadRefusals
    )
)]
pub(super) async fn messages(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Messages>, ApiError> {
    let messages = app::messages(&rt, &actor, &id).await?;
    Ok(Json(Messages { instance: id, messages }))
}

/// Why an instance is cancelled.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct CancelBody {
    /// Shown in the case's history; empty: "cancelado por un administrador".
    #[serde(default)]
    reason: String,
}

/// Cancel an instance and its running sub-processes (admin).
#[utoipa::path(
    post,
    path = "/api/instances/{id}/cancel",
    tag = "instances",
    params(("id" = String, Path, description = "the instance's id")),
    request_body = CancelBody,
    responses(
        (status = 200, description = "the instance, cancelled", body = app::InstanceView),
        AnswerRefusals
    )
)]
pub(super) async fn cancel(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Json(body): Json<CancelBody>,
) -> Result<Json<app::InstanceView>, ApiError> {
    Ok(Json(app::cancel(&rt, &actor, &id, &body.reason).await?))
}

/// The sub-processes started again, and the instance after.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Retried {
    retried: usize,
    instance: app::InstanceView,
}

/// Start again the sub-processes of the instance's incidents (admin).
#[utoipa::path(
    post,
    path = "/api/instances/{id}/retry",
    tag = "instances",
    params(("id" = String, Path, description = "the instance's id")),
    responses(
        (status = 200, description = "how many were started again, and the instance", body = Retried),
        ActRefusals
    )
)]
pub(super) async fn retry(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Retried>, ApiError> {
    let (instance, retried) = app::retry(&rt, &actor, &id).await?;
    Ok(Json(Retried { retried, instance }))
}

/// The call steps stuck on an incident.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Incidents {
    incidents: Vec<IncidentRow>,
}

/// Call steps stuck on an incident: the sub-process could not start or was cancelled (admin).
#[utoipa::path(
    get,
    path = "/api/incidents",
    tag = "instances",
    responses(
        (status = 200, description = "the incidents", body = Incidents),
        Unauthorized,
        Forbidden
    )
)]
pub(super) async fn incidents(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
) -> Result<Json<Incidents>, ApiError> {
    Ok(Json(Incidents { incidents: app::incidents(&rt, &actor).await? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SlaQuery {
    /// Only clocks in this standing; empty: every standing.
    #[param(schema_with = super::openapi::running_sla)]
    state: Option<String>,
}

/// Running SLA clocks, at most 500.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlaReport {
    slas: Vec<SlaStanding>,
}

/// An SLA clock and how it stands now.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlaStanding {
    #[serde(flatten)]
    row: SlaRow,
    /// `ok`, `warning` or `breached`.
    state: &'static str,
}

/// Running SLA clocks by standing (admin).
#[utoipa::path(
    get,
    path = "/api/sla",
    tag = "instances",
    params(SlaQuery),
    responses(
        (status = 200, description = "the clocks", body = SlaReport),
        Unauthorized,
        Forbidden,
        Unprocessable
    )
)]
pub(super) async fn sla_report(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Query(q): Query<SlaQuery>,
) -> Result<Json<SlaReport>, ApiError> {
    if !actor.admin {
        return Err(AppError::Forbidden { code: "admin_only", message: "the SLA report is for admins".into() }.into());
    }
    let filter = app::sla_filter(q.state.as_deref())?;
    let now = rt.now();
    let rows = rt.store.sla_report(filter, now, 500).await?;
    let slas =
        rows.into_iter().map(|row| SlaStanding { state: app::sla_row_standing(&row, now).as_str(), row }).collect();
    Ok(Json(SlaReport { slas }))
}
