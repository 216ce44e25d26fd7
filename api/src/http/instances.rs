//! Processes and instances: list and deploy definitions, start instances (idempotently), read
//! their state, history and messages, cancel them, retry their incidents, and the admin SLA
//! report. Every rule is the application layer's (`app/`); this module speaks JSON.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::auth::{AdminCaller, Caller};
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use crate::app::{self, AppError};
use crate::runtime::Runtime;

pub fn router() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/api/processes", get(list_processes))
        .route("/api/processes/{process}", get(process_detail))
        .route("/api/processes/{process}/instances", post(start))
        .route("/api/instances", get(list_instances))
        .route("/api/instances/{id}", get(instance))
        .route("/api/instances/{id}/history", get(history))
        .route("/api/instances/{id}/messages", get(messages))
        .route("/api/instances/{id}/cancel", post(cancel))
        .route("/api/instances/{id}/retry", post(retry))
        .route("/api/incidents", get(incidents))
        .route("/api/sla", get(sla_report))
}

async fn list_processes(State(rt): State<Arc<Runtime>>, Caller(actor): Caller) -> Json<Value> {
    let (processes, not_deployed) = app::processes(&rt, &actor);
    let mut out = json!({ "processes": processes });
    if let Some(n) = not_deployed {
        out["not_deployed"] = json!(n);
    }
    Json(out)
}

async fn process_detail(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(process): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(app::process(&rt, &actor, &process)?))
}

/// `POST /api/processes` with a process file as the body (YAML).
/// `POST /api/processes`, under its own body limit ([`super::DEFINITION_LIMIT`]): a process of
/// thousands of steps is larger than any other request. Only admins' bodies are read.
pub fn deploy_router() -> Router<Arc<Runtime>> {
    Router::new().route("/api/processes", post(deploy))
}

async fn deploy(
    State(rt): State<Arc<Runtime>>,
    AdminCaller(_): AdminCaller,
    body: String,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let out = rt.deploy_text("posted.yaml", &body).await.map_err(AppError::from)?;
    if !out.not_deployed.is_empty() {
        let details: Vec<Value> = out
            .not_deployed
            .iter()
            .flat_map(|n| &n.diagnostics)
            .map(|d| json!({ "file": d.file, "line": d.loc.line, "column": d.loc.column, "message": d.message, "help": d.help }))
            .collect();
        let text: Vec<&str> = out.not_deployed.iter().map(|n| n.rendered.as_str()).collect();
        return Err(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_definition",
            message: text.join("\n\n"),
            details: json!({ "diagnostics": details }),
        });
    }
    let status = if out.deployed.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    let deployed: Vec<Value> = out.deployed.iter().map(|(p, v)| json!({ "process": p, "version": v })).collect();
    Ok((status, Json(json!({ "deployed": deployed }))))
}

#[derive(Debug, Deserialize)]
struct StartBody {
    #[serde(default)]
    data: Map<String, Value>,
}

async fn start(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(process): Path<String>,
    headers: HeaderMap,
    Json(body): Json<StartBody>,
) -> Result<(StatusCode, Json<app::InstanceView>), ApiError> {
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?),
    };
    let (view, created) = app::start(&rt, &actor, &process, body.data, key).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view)))
}

#[derive(Debug, Deserialize)]
struct Format {
    /// `csv` for the whole result as CSV; JSON pages otherwise.
    format: Option<String>,
}

/// `GET /api/instances`: the cases the caller may read, newest first, filtered, a page at a
/// time (`next` is the cursor of the next page); `format=csv` gives every match as CSV.
async fn list_instances(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Query(filter): Query<app::CaseFilter>,
    Query(f): Query<Format>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match f.format.as_deref() {
        None | Some("") | Some("json") => {
            let page = app::cases(&rt, &actor, &filter).await?;
            Ok(Json(json!({ "instances": page.rows, "next": page.next.map(|c| c.token()) })).into_response())
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

async fn instance(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<app::InstanceView>, ApiError> {
    Ok(Json(app::instance_view(&rt, &actor, &id).await?))
}

async fn history(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let events = app::history(&rt, &actor, &id).await?;
    Ok(Json(json!({ "instance": id, "events": events })))
}

async fn messages(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let messages = app::messages(&rt, &actor, &id).await?;
    Ok(Json(json!({ "instance": id, "messages": messages })))
}

#[derive(Debug, Deserialize)]
struct CancelBody {
    #[serde(default)]
    reason: String,
}

async fn cancel(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Json(body): Json<CancelBody>,
) -> Result<Json<app::InstanceView>, ApiError> {
    Ok(Json(app::cancel(&rt, &actor, &id, &body.reason).await?))
}

async fn retry(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (view, retried) = app::retry(&rt, &actor, &id).await?;
    Ok(Json(json!({ "retried": retried, "instance": view })))
}

async fn incidents(State(rt): State<Arc<Runtime>>, Caller(actor): Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "incidents": app::incidents(&rt, &actor).await? })))
}

#[derive(Debug, Deserialize)]
struct SlaQuery {
    state: Option<String>,
}

async fn sla_report(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Query(q): Query<SlaQuery>,
) -> Result<Json<Value>, ApiError> {
    if !actor.admin {
        return Err(AppError::Forbidden { code: "admin_only", message: "the SLA report is for admins".into() }.into());
    }
    let filter = app::sla_filter(q.state.as_deref())?;
    let now = rt.now();
    let rows: Vec<Value> = rt
        .store
        .sla_report(filter, now, 500)
        .await?
        .into_iter()
        .map(|r| {
            let state = app::sla_row_standing(&r, now).as_str();
            let mut v = json!(r);
            v["state"] = json!(state);
            v
        })
        .collect();
    Ok(Json(json!({ "slas": rows })))
}
