//! The processes served, and — for admins — the definition files that are not. A process is
//! read by admins and by whoever holds a role it names; to everyone else it is not listed, and
//! asking for it is 403 (an unknown process is 404).

use serde_json::{Value, json};
use tramite_engine::definition::Process;
use tramite_engine::machine::Actor;

use super::AppError;
use crate::runtime::{Deployed, Runtime};

/// A served process, latest version.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProcessSummary {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub source: Option<String>,
    pub calendar: String,
    pub version: i64,
    pub versions: Vec<i64>,
    /// Roles that may start it by hand (empty: anyone signed in).
    pub start_roles: Vec<String>,
    /// Whether this user may start it.
    pub may_start: bool,
}

fn summary(d: &Deployed, versions: Vec<i64>, actor: &Actor) -> ProcessSummary {
    let p = &d.process;
    ProcessSummary {
        id: p.id.clone(),
        title: p.title.clone(),
        description: p.description.clone(),
        source: p.source.clone(),
        calendar: p.calendar.clone(),
        version: d.version,
        versions,
        start_roles: p.start.roles.clone(),
        may_start: p.start.roles.is_empty() || p.start.roles.iter().any(|r| actor.has_role(r)),
    }
}

/// The roles a process names: those it declares, and whoever starts it, works its tasks or
/// decides its approvals (the loader checks these are declared; they are listed all the same).
fn roles_named(p: &Process) -> impl Iterator<Item = &str> {
    p.roles
        .iter()
        .map(|(r, _)| r.as_str())
        .chain(p.start.roles.iter().map(String::as_str))
        .chain(p.steps.iter().filter_map(|s| s.kind.work().map(|w| w.role.as_str())))
}

/// Whether the actor may read a process: admins, and holders of a role it names (in every
/// scope or in one).
pub fn may_read_process(actor: &Actor, p: &Process) -> bool {
    actor.admin || roles_named(p).any(|r| actor.has_role(r))
}

/// The served processes the actor may read and, for admins, what is not deployed (file,
/// process, diagnostics).
pub fn processes(rt: &Runtime, actor: &Actor) -> (Vec<ProcessSummary>, Option<Vec<Value>>) {
    let reg = rt.registry();
    let list = reg
        .all_latest()
        .iter()
        .filter(|d| may_read_process(actor, &d.process))
        .map(|d| summary(d, reg.versions(&d.process.id), actor))
        .collect();
    let not_deployed = actor.admin.then(|| {
        reg.not_deployed()
            .iter()
            .map(|n| {
                let diagnostics: Vec<Value> = n
                    .diagnostics
                    .iter()
                    .map(|d| json!({ "file": d.file, "line": d.loc.line, "column": d.loc.column, "message": d.message, "help": d.help }))
                    .collect();
                json!({ "file": n.file, "process": n.process, "version": n.version, "diagnostics": diagnostics, "text": n.rendered })
            })
            .collect()
    });
    (list, not_deployed)
}

/// One served process the actor may read, in detail: versions, roles, steps, SLAs, schedules.
pub fn process(rt: &Runtime, actor: &Actor, id: &str) -> Result<Value, AppError> {
    let (d, versions) = {
        let reg = rt.registry();
        (reg.latest(id), reg.versions(id))
    };
    let d = d.ok_or_else(|| AppError::NotFound(format!("unknown process `{id}`")))?;
    if !may_read_process(actor, &d.process) {
        return Err(AppError::forbidden("this process belongs to roles you do not hold"));
    }
    let p = &d.process;
    let steps: Vec<Value> = p
        .steps
        .iter()
        .map(|s| {
            let call = match &s.kind {
                tramite_engine::definition::StepKind::Call { process, .. } => Some(process.clone()),
                _ => None,
            };
            json!({ "id": s.id, "kind": s.kind.name(), "title": s.title, "role": s.kind.work().map(|w| w.role.clone()), "form": s.kind.work().and_then(|w| w.form.clone()), "calls": call })
        })
        .collect();
    let mut out = serde_json::to_value(summary(&d, versions, actor)).map_err(|e| AppError::Internal(e.to_string()))?;
    out["roles"] = json!(p.roles.iter().map(|(id, t)| json!({ "id": id, "title": t })).collect::<Vec<_>>());
    out["start_form"] = json!(p.start.form);
    out["steps"] = json!(steps);
    out["slas"] = json!(p.slas.iter().map(|s| json!({ "id": s.id, "title": s.title })).collect::<Vec<_>>());
    out["schedules"] = json!(
        p.schedules.iter().map(|s| json!({ "id": s.id, "cron": s.cron, "timezone": s.timezone })).collect::<Vec<_>>()
    );
    Ok(out)
}

/// The processes the actor may start by hand (they name start roles and the actor holds one),
/// by title.
pub fn startable(rt: &Runtime, actor: &Actor) -> Vec<std::sync::Arc<Deployed>> {
    let mut out: Vec<_> = rt
        .registry()
        .all_latest()
        .into_iter()
        .filter(|d| d.process.start.roles.iter().any(|r| actor.has_role(r)))
        .collect();
    out.sort_by(|a, b| a.process.title.cmp(&b.process.title));
    out
}
