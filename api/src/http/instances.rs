//! Processes and instances: list and deploy definitions, start instances (idempotently), read
//! their state and history, cancel them, and the admin SLA report.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tramite_engine::definition::StepKind;
use tramite_engine::machine::{self, Command, Instance, Status};

use super::auth::Caller;
use super::error::ApiError;
use crate::runtime::{Deployed, Runtime, sla_rows, task_rows};
use crate::store::SlaFilter;

pub fn router() -> Router<Arc<Runtime>> {
    Router::new()
        .route("/api/processes", get(list_processes).post(deploy))
        .route("/api/processes/{process}", get(process_detail))
        .route("/api/processes/{process}/instances", post(start))
        .route("/api/instances/{id}", get(instance))
        .route("/api/instances/{id}/history", get(history))
        .route("/api/instances/{id}/cancel", post(cancel))
        .route("/api/sla", get(sla_report))
}

fn process_summary(d: &Deployed, versions: Vec<i64>) -> Value {
    let p = &d.process;
    json!({
        "id": p.id, "title": p.title, "source": p.source, "calendar": p.calendar,
        "version": d.version, "versions": versions,
    })
}

async fn list_processes(State(rt): State<Arc<Runtime>>, _c: Caller) -> Result<Json<Value>, ApiError> {
    let reg = rt.registry.read().map_err(|_| ApiError::bad_request("registry unavailable"))?;
    let list: Vec<Value> = reg.all_latest().iter().map(|d| process_summary(d, reg.versions(&d.process.id))).collect();
    Ok(Json(json!({ "processes": list })))
}

async fn process_detail(
    State(rt): State<Arc<Runtime>>,
    _c: Caller,
    Path(process): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (d, versions) = {
        let reg = rt.registry.read().map_err(|_| ApiError::bad_request("registry unavailable"))?;
        (reg.latest(&process), reg.versions(&process))
    };
    let d =
        d.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("unknown process `{process}`")))?;
    let p = &d.process;
    let steps: Vec<Value> = p
        .steps
        .iter()
        .map(|s| json!({ "id": s.id, "kind": s.kind.name(), "title": s.title, "role": s.kind.work().map(|w| w.role.clone()), "form": s.kind.work().and_then(|w| w.form.clone()) }))
        .collect();
    let slas: Vec<Value> = p.slas.iter().map(|s| json!({ "id": s.id, "title": s.title })).collect();
    let mut out = process_summary(&d, versions);
    out["roles"] = json!(p.roles.iter().map(|(id, t)| json!({ "id": id, "title": t })).collect::<Vec<_>>());
    out["start_form"] = json!(p.start.form);
    out["steps"] = json!(steps);
    out["slas"] = json!(slas);
    out["schedules"] = json!(
        p.schedules.iter().map(|s| json!({ "id": s.id, "cron": s.cron, "timezone": s.timezone })).collect::<Vec<_>>()
    );
    Ok(Json(out))
}

/// `POST /api/processes` with a process file as the body (YAML).
async fn deploy(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    body: String,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !actor.admin {
        return Err(ApiError::forbidden("only an admin may deploy processes"));
    }
    let out = rt.deploy_text("posted.yaml", &body).await?;
    if !out.diagnostics.is_empty() {
        let details: Vec<Value> = out
            .diagnostics
            .iter()
            .map(|d| json!({ "file": d.file, "line": d.loc.line, "column": d.loc.column, "message": d.message, "help": d.help }))
            .collect();
        return Err(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_definition",
            message: out.rendered.join("\n"),
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
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        return Err(ApiError::bad_request("Idempotency-Key must be 1 to 200 characters"));
    }
    let (inst, created) = rt.start(&process, body.data, &actor, key.as_deref()).await?;
    let stored = rt.instance(&inst.id).await?;
    let d = rt
        .deployed(&stored.process, Some(stored.version))
        .ok_or_else(|| ApiError::bad_request("version not loaded"))?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(&d, &stored.state))))
}

/// The JSON view of an instance.
pub fn view(d: &Deployed, inst: &Instance) -> Value {
    let now = Timestamp::now();
    let states = machine::sla_states(d.env(), inst, now);
    let slas: Vec<Value> = sla_rows(d, inst)
        .into_iter()
        .map(|s| {
            let state = states.iter().find(|(id, _)| *id == s.sla).map(|(_, st)| st.as_str()).unwrap_or("ok");
            json!({ "id": s.sla, "title": s.title, "state": state, "started_at": s.started_at, "warn_at": s.warn_at, "due_at": s.due_at, "stopped_at": s.stopped_at })
        })
        .collect();
    let (status, outcome) = match &inst.status {
        Status::Running => ("running", None),
        Status::Ended { outcome } => ("ended", Some(outcome.clone())),
        Status::Cancelled { .. } => ("cancelled", None),
    };
    json!({
        "id": inst.id, "process": d.process.id, "version": d.version, "status": status, "outcome": outcome,
        "data": inst.data, "active_steps": inst.active_steps(), "tasks": task_rows(d, inst), "slas": slas,
        "started_at": inst.started_at, "ended_at": inst.ended_at, "last_rejection": inst.last_rejection,
    })
}

/// Admins, whoever started the instance, and holders of one of the process's roles may read it.
fn may_read(actor: &tramite_engine::machine::Actor, d: &Deployed, started_by: Option<&str>) -> bool {
    actor.admin || started_by == Some(actor.user.as_str()) || d.process.roles.iter().any(|(r, _)| actor.has_role(r))
}

async fn load(
    rt: &Runtime,
    actor: &tramite_engine::machine::Actor,
    id: &str,
) -> Result<(Arc<Deployed>, crate::store::StoredInstance), ApiError> {
    let stored = rt.instance(id).await?;
    let d = rt
        .deployed(&stored.process, Some(stored.version))
        .ok_or_else(|| ApiError::bad_request("version not loaded"))?;
    if !may_read(actor, &d, stored.started_by.as_deref()) {
        return Err(ApiError::forbidden("this instance belongs to a process you have no role in"));
    }
    Ok((d, stored))
}

async fn instance(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (d, stored) = load(&rt, &actor, &id).await?;
    Ok(Json(view(&d, &stored.state)))
}

async fn history(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    load(&rt, &actor, &id).await?;
    let events = rt.store.history(&id).await?;
    Ok(Json(json!({ "instance": id, "events": events })))
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
) -> Result<Json<Value>, ApiError> {
    if !actor.admin {
        return Err(ApiError::forbidden("only an admin may cancel an instance"));
    }
    let reason = if body.reason.trim().is_empty() { "cancelado por un administrador".to_string() } else { body.reason };
    let inst = rt.act(&id, Some(&actor), Command::Cancel { reason }).await?;
    let stored = rt.instance(&inst.id).await?;
    let d = rt
        .deployed(&stored.process, Some(stored.version))
        .ok_or_else(|| ApiError::bad_request("version not loaded"))?;
    Ok(Json(view(&d, &inst)))
}

#[derive(Debug, Deserialize)]
struct SlaQuery {
    state: Option<String>,
}

pub fn sla_filter(s: Option<&str>) -> Result<Option<SlaFilter>, ApiError> {
    match s {
        None | Some("") => Ok(None),
        Some("ok") => Ok(Some(SlaFilter::Ok)),
        Some("warning") => Ok(Some(SlaFilter::Warning)),
        Some("breached") => Ok(Some(SlaFilter::Breached)),
        Some(other) => Err(ApiError::bad_request(format!("unknown SLA state `{other}`: use ok, warning or breached"))),
    }
}

async fn sla_report(
    State(rt): State<Arc<Runtime>>,
    Caller(actor): Caller,
    Query(q): Query<SlaQuery>,
) -> Result<Json<Value>, ApiError> {
    if !actor.admin {
        return Err(ApiError::forbidden("the SLA report is for admins"));
    }
    let filter = sla_filter(q.state.as_deref())?;
    let rows = rt.store.sla_report(filter, Timestamp::now(), 500).await?;
    Ok(Json(json!({ "slas": rows })))
}

/// Whether a step is an approval (for the task endpoints).
pub fn is_approval(d: &Deployed, step: &str) -> bool {
    d.process.step(step).is_some_and(|s| matches!(s.kind, StepKind::Approval { .. }))
}
