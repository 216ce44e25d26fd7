//! The application layer: what a user may do and see, written once for the REST API (`http/`)
//! and the web pages (`web/`), so both give the same answer for the same act — task actions,
//! who may read an instance, the inbox and its SLA filter, SLA standing, status names.
//!
//! Errors are [`AppError`]: a kind (each front end maps it to its status), a stable code (the
//! engine's own code when the engine refused) and, for invalid data, each field's problem.

mod cases;
mod files;
mod indicators;
mod instances;
mod processes;
pub mod public;
pub mod reports;
pub mod sign_in;
mod standing;
mod tasks;
mod users;

pub use cases::{
    CASE_SLA_STATES, CaseFilter, CaseView, MAX_PAGE, all_cases, case_query, cases, cases_csv, plain_cell, zone_of,
};
pub use files::{attached, case_files, download, files_of, trusted, upload};
pub use indicators::{IndicatorView, Point, TaskReport, indicator_cases, indicators, task_report, workbook};
pub use instances::{
    InstanceView, cancel, children, history, incidents, instance_view, messages, readable, retry, start,
};
pub use processes::{
    DiagnosticView, NotDeployedView, ProcessDetail, ProcessSummary, may_read_process, process, processes, startable,
};
pub use standing::{Standing, sla_filter, sla_row_standing, status_name, task_standing};
pub use tasks::{
    Answer, InboxFilter, TaskView, claim, cursor, inbox, open_task, release, submit, submit_viewed, task, task_shown,
    task_view,
};
pub use users::{UserForm, add_user, update_user, users};

use std::collections::BTreeMap;

use tramite_engine::machine::CommandError;

use crate::runtime::RuntimeError;
use crate::store::StoreError;

/// One field's problem with submitted data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    pub code: String,
    pub message: String,
}

/// Why the application refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404: no such instance, task or process.
    #[error("{0}")]
    NotFound(String),
    /// 403: not for this user.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 409: the state does not allow it now (done already, claimed by another, a race).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 422: the request is well-formed but wrong; `fields` names each field's problem.
    #[error("{message}")]
    Invalid { code: &'static str, message: String, fields: BTreeMap<String, FieldProblem> },
    /// 400 (413 when `too_large`): an upload that could not be kept.
    #[error("{message}")]
    Upload { code: &'static str, message: String, too_large: bool },
    /// 500: ours; logged by the front end, never shown.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::Forbidden { code: "forbidden", message: message.into() }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Invalid { code, message: message.into(), fields: BTreeMap::new() }
    }

    /// A 422 with one field's problem.
    pub fn field(code: &'static str, field: &str, message: &str) -> AppError {
        let problem = FieldProblem { code: code.to_string(), message: message.to_string() };
        AppError::Invalid { code, message: message.to_string(), fields: BTreeMap::from([(field.to_string(), problem)]) }
    }

    /// The stable code clients read.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "not_found",
            AppError::Forbidden { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Invalid { code, .. }
            | AppError::Upload { code, .. } => code,
            AppError::Internal(_) => "internal",
        }
    }
}

/// Validates `data` against `form` of version `d` on a worker thread, before the command that
/// carries it reaches the instance writer, when the form's checks grow with the data (rules or
/// computed fields over lists): a refusal is answered from here, and a pass is kept for the
/// writer's transition to take up ([`Form::check_ahead`](tramite_engine::definition::Form)),
/// so one large form never holds up other users' work. Cheap forms are validated by the
/// transition alone.
pub(crate) async fn check_ahead(
    rt: &crate::runtime::Runtime,
    d: &std::sync::Arc<crate::runtime::Deployed>,
    form: Option<&str>,
    data: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), AppError> {
    let Some(name) = form.filter(|f| d.forms.get(*f).is_some_and(|f| f.checks_grow_with_data())) else {
        return Ok(());
    };
    let (d, name, data, running) = (d.clone(), name.to_string(), data.clone(), rt.metrics.form_check());
    let checked = tokio::task::spawn_blocking(move || {
        let _running = running;
        d.forms.get(&name).map(|f| f.check_ahead(&data))
    })
    .await
    .map_err(|e| AppError::Internal(format!("form check: {e}")))?;
    match checked {
        Some(Err(errors)) => Err(CommandError::InvalidData(errors).into()),
        _ => Ok(()),
    }
}

impl From<CommandError> for AppError {
    fn from(e: CommandError) -> AppError {
        let (code, message) = (e.code(), e.to_string());
        match e {
            CommandError::Forbidden { .. } | CommandError::AdminOnly => AppError::Forbidden { code, message },
            CommandError::UnknownTask(_) => AppError::Conflict { code, message: "the task is no longer open".into() },
            CommandError::NotRunning
            | CommandError::ClaimedByOther(_)
            | CommandError::TimerNotDue
            | CommandError::ReportAttached
            | CommandError::CallRunning { .. } => AppError::Conflict { code, message },
            CommandError::InvalidData(errors) => {
                let fields = errors
                    .into_iter()
                    .map(|f| (f.field, FieldProblem { code: f.code.to_string(), message: f.message }))
                    .collect();
                AppError::Invalid { code, message, fields }
            }
            CommandError::CommentRequired => AppError::field(code, "comment", "Indique el motivo del rechazo."),
            CommandError::WrongKind { .. } | CommandError::Expression { .. } | CommandError::UnknownProcess(_) => {
                AppError::Invalid { code, message, fields: BTreeMap::new() }
            }
        }
    }
}

impl From<RuntimeError> for AppError {
    fn from(e: RuntimeError) -> AppError {
        match e {
            RuntimeError::Refused(c) => c.into(),
            RuntimeError::NotFound(what) => AppError::NotFound(format!("no {what}")),
            RuntimeError::Busy => AppError::Conflict { code: "busy", message: e.to_string() },
            RuntimeError::Store(s) => AppError::Internal(s.to_string()),
            RuntimeError::Internal(m) => AppError::Internal(m),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        RuntimeError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_the_engine_code_and_our_failures_are_internal() {
        let e = AppError::from(RuntimeError::Refused(CommandError::ClaimedByOther("ana".into())));
        assert!(matches!(e, AppError::Conflict { code: "claimed", .. }), "{e:?}");
        let e = AppError::from(RuntimeError::Refused(CommandError::AdminOnly));
        assert!(matches!(e, AppError::Forbidden { code: "admin_only", .. }), "{e:?}");
        let e = AppError::from(RuntimeError::Refused(CommandError::CommentRequired));
        let AppError::Invalid { fields, .. } = e else { panic!("not invalid") };
        assert_eq!(fields["comment"].code, "comment_required");
        // A version that is not loaded is the server's failure, never the client's.
        let e = AppError::from(RuntimeError::Internal("version 3 of p is not loaded".into()));
        assert_eq!(e.code(), "internal");
        assert!(matches!(AppError::from(StoreError::Conflict), AppError::Conflict { code: "busy", .. }));
    }
}
