//! The processes served, and — for admins — the definition files that are not. A process is
//! read by admins and by whoever holds a role it names; to everyone else it is not listed, and
//! asking for it is 403 (an unknown process is 404).

use serde::Serialize;
use tramite_engine::definition::{Process, StepKind};
use tramite_engine::diagnostic::Diagnostic;
use tramite_engine::machine::Actor;
use utoipa::ToSchema;

use super::AppError;
use crate::runtime::{Deployed, NotDeployed, Runtime};

/// A served process, latest version.
#[derive(Debug, Clone, Serialize, ToSchema)]
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

/// A definition problem as clients read it: where (file:line:column), what, and how to fix it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiagnosticView {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub help: Option<String>,
}

impl From<&Diagnostic> for DiagnosticView {
    fn from(d: &Diagnostic) -> DiagnosticView {
        DiagnosticView {
            file: d.file.clone(),
            line: d.loc.line,
            column: d.loc.column,
            message: d.message.clone(),
            help: d.help.clone(),
        }
    }
}

/// A definition file that is not served, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotDeployedView {
    pub file: String,
    /// The process it defines, when that much could be read.
    pub process: Option<String>,
    /// For a stored version that no longer compiles.
    pub version: Option<i64>,
    pub diagnostics: Vec<DiagnosticView>,
    /// The diagnostics as process owners read them (`path:line:column: error: …`, caret, help).
    pub text: String,
}

impl From<&NotDeployed> for NotDeployedView {
    fn from(n: &NotDeployed) -> NotDeployedView {
        NotDeployedView {
            file: n.file.clone(),
            process: n.process.clone(),
            version: n.version,
            diagnostics: n.diagnostics.iter().map(DiagnosticView::from).collect(),
            text: n.rendered.clone(),
        }
    }
}

/// The served processes the actor may read and, for admins, what is not deployed.
pub fn processes(rt: &Runtime, actor: &Actor) -> (Vec<ProcessSummary>, Option<Vec<NotDeployedView>>) {
    let reg = rt.registry();
    let list = reg
        .all_latest()
        .iter()
        .filter(|d| may_read_process(actor, &d.process))
        .map(|d| summary(d, reg.versions(&d.process.id), actor))
        .collect();
    let not_deployed = actor.admin.then(|| reg.not_deployed().iter().map(NotDeployedView::from).collect());
    (list, not_deployed)
}

/// A process in detail: its summary, roles, steps, SLAs and schedules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcessDetail {
    #[serde(flatten)]
    pub summary: ProcessSummary,
    pub roles: Vec<RoleView>,
    /// The form its start asks for.
    pub start_form: Option<String>,
    pub steps: Vec<StepView>,
    pub slas: Vec<SlaDefinitionView>,
    pub schedules: Vec<ScheduleView>,
}

/// A role a process declares.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoleView {
    pub id: String,
    pub title: String,
}

/// A step of a process.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub id: String,
    /// `task`, `approval`, `decision`, `parallel`, `wait`, `call` or `end`.
    pub kind: &'static str,
    pub title: String,
    /// The role that works it (tasks and approvals).
    pub role: Option<String>,
    pub form: Option<String>,
    /// The process a call step starts.
    pub calls: Option<String>,
}

/// An SLA a process declares.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlaDefinitionView {
    pub id: String,
    pub title: String,
}

/// A schedule that starts instances of a process.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleView {
    pub id: String,
    pub cron: String,
    pub timezone: String,
}

/// One served process the actor may read, in detail: versions, roles, steps, SLAs, schedules.
pub fn process(rt: &Runtime, actor: &Actor, id: &str) -> Result<ProcessDetail, AppError> {
    let (d, versions) = {
        let reg = rt.registry();
        (reg.latest(id), reg.versions(id))
    };
    let d = d.ok_or_else(|| AppError::NotFound(format!("unknown process `{id}`")))?;
    if !may_read_process(actor, &d.process) {
        return Err(AppError::forbidden("this process belongs to roles you do not hold"));
    }
    let p = &d.process;
    let steps = p
        .steps
        .iter()
        .map(|s| StepView {
            id: s.id.clone(),
            kind: s.kind.name(),
            title: s.title.clone(),
            role: s.kind.work().map(|w| w.role.clone()),
            form: s.kind.work().and_then(|w| w.form.clone()),
            calls: match &s.kind {
                StepKind::Call { process, .. } => Some(process.clone()),
                _ => None,
            },
        })
        .collect();
    Ok(ProcessDetail {
        summary: summary(&d, versions, actor),
        roles: p.roles.iter().map(|(id, title)| RoleView { id: id.clone(), title: title.clone() }).collect(),
        start_form: p.start.form.clone(),
        steps,
        slas: p.slas.iter().map(|s| SlaDefinitionView { id: s.id.clone(), title: s.title.clone() }).collect(),
        schedules: p
            .schedules
            .iter()
            .map(|s| ScheduleView { id: s.id.clone(), cron: s.cron.clone(), timezone: s.timezone.clone() })
            .collect(),
    })
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
