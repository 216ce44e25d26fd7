//! Processes: list the served ones, read one, deploy a definition (admins), start an instance
//! (idempotently). Every rule is the application layer's (`app/`); this module speaks JSON,
//! and each handler's `#[utoipa::path]` is its entry in the API document (`openapi/`).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::auth::{AdminCaller, Caller};
use super::error::ApiError;
use super::extract::{Json, Path};
use super::openapi::{
    AnswerRefusals, BadRequest, Conflict, Forbidden, PayloadTooLarge, ReadRefusals, Unauthorized, Unprocessable,
};
use crate::app::{self, AppError};
use crate::runtime::Runtime;

pub fn router() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/api/processes", get(list_processes))
        .route("/api/processes/{process}", get(process_detail))
        .route("/api/processes/{process}/instances", post(start))
}

/// The served processes, and for admins the files that are not.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ProcessList {
    processes: Vec<app::ProcessSummary>,
    /// Admins only: the definition files that do not load, with file:line:column diagnostics.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_deployed: Option<Vec<app::NotDeployedView>>,
}

/// Served processes you hold a role in (admins: all), latest versions; for admins also
/// `not_deployed`: files that do not load, with file:line:column diagnostics.
#[utoipa::path(
    get,
    path = "/api/processes",
    tag = "processes",
    responses((status = 200, description = "the processes", body = ProcessList), Unauthorized)
)]
pub(super) async fn list_processes(State(rt): State<Arc<Runtime>>, Caller(actor): Caller) -> Json<ProcessList> {
    let (processes, not_deployed) = app::processes(&rt, &actor);
    Json(ProcessList { processes, not_deployed })
}

/// A process you hold a role in (admins: any): versions, roles, steps, SLAs, schedules.
#[utoipa::path(
    get,
    path = "/api/processes/{process}",
    tag = "processes",
    params(("process" = String, Path, description = "the process's id")),
    responses(
        (status = 200, description = "the process", body = app::ProcessDetail),
        ReadRefusals
    )
)]
pub(super) async fn process_detail(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(process): Path<String>,
) -> Result<Json<app::ProcessDetail>, ApiError> {
    Ok(Json(app::process(&rt, &actor, &process)?))
}

/// `POST /api/processes`, under its own body limit ([`super::DEFINITION_LIMIT`]): a process of
/// thousands of steps is larger than any other request. Only admins' bodies are read.
pub fn deploy_router() -> Router<Arc<Runtime>> {
    Router::new().route("/api/processes", post(deploy))
}

/// The versions a deployment served.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Deployed {
    /// Empty when the file was served already, unchanged.
    deployed: Vec<DeployedVersion>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DeployedVersion {
    process: String,
    version: i64,
}

/// Deploy a process file (YAML body, at most 8 MiB) as a new version (admin).
#[utoipa::path(
    post,
    path = "/api/processes",
    tag = "processes",
    request_body(content = String, content_type = "application/yaml", description = "a process file"),
    responses(
        (status = 201, description = "deployed as a new version", body = Deployed),
        (status = 200, description = "the same file is served already: nothing deployed", body = Deployed),
        BadRequest,
        Unauthorized,
        Forbidden,
        Conflict,
        PayloadTooLarge,
        Unprocessable
    )
)]
pub(super) async fn deploy(
    State(rt): State<Arc<Runtime>>,
    AdminCaller(_): AdminCaller,
    body: String,
) -> Result<(StatusCode, Json<Deployed>), ApiError> {
    let out = rt.deploy_text("posted.yaml", &body).await.map_err(AppError::from)?;
    if !out.not_deployed.is_empty() {
        let details: Vec<app::DiagnosticView> =
            out.not_deployed.iter().flat_map(|n| &n.diagnostics).map(app::DiagnosticView::from).collect();
        let text: Vec<&str> = out.not_deployed.iter().map(|n| n.rendered.as_str()).collect();
        return Err(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_definition",
            message: text.join("\n\n"),
            details: json!({ "diagnostics": details }),
        });
    }
    let status = if out.deployed.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    let deployed = out.deployed.into_iter().map(|(process, version)| DeployedVersion { process, version }).collect();
    Ok((status, Json(Deployed { deployed })))
}

/// The start form's data.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct StartBody {
    #[serde(default)]
    #[schema(value_type = Object)]
    data: Map<String, Value>,
}

/// Start an instance with its start form data.
#[utoipa::path(
    post,
    path = "/api/processes/{process}/instances",
    tag = "processes",
    params(
        ("process" = String, Path, description = "the process's id"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 200,
            description = "a retry by the same user with the same key to the same process returns the first \
                           instance (200) instead of starting another; keys are per user and process")
    ),
    request_body = StartBody,
    responses(
        (status = 201, description = "started", body = app::InstanceView),
        (status = 200, description = "started before with this `Idempotency-Key`", body = app::InstanceView),
        AnswerRefusals
    )
)]
pub(super) async fn start(
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
