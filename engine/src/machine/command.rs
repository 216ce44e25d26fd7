//! What callers ask of an instance, who asks, and why it can be refused.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::definition::FieldError;

/// Who acts: a user with roles, or an admin who may act on anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub admin: bool,
}

impl Actor {
    pub fn new(user: &str, roles: &[&str]) -> Actor {
        Actor { user: user.to_string(), roles: roles.iter().map(|r| r.to_string()).collect(), admin: false }
    }

    pub fn admin(user: &str) -> Actor {
        Actor { user: user.to_string(), roles: Vec::new(), admin: true }
    }

    /// Whether the actor holds `role`, in every scope (`area_responsable`) or in one
    /// (`area_responsable@Dirección de Promoción`). Admins hold every role.
    pub fn has_role(&self, role: &str) -> bool {
        self.admin || self.roles.iter().any(|r| r == role || r.split_once('@').is_some_and(|(base, _)| base == role))
    }

    /// Whether the actor may work a task of `role` within `scope`, or assigned to `assignee`:
    /// the assignee alone (and admins); else a holder of the role in every scope or in that one.
    pub fn may_work(&self, role: &str, scope: Option<&str>, assignee: Option<&str>) -> bool {
        if self.admin {
            return true;
        }
        if let Some(user) = assignee {
            return self.user == user;
        }
        match scope {
            None => self.has_role(role),
            Some(s) => self.roles.iter().any(|r| r == role || r.split_once('@') == Some((role, s))),
        }
    }
}

/// A timer the scheduler fires when it falls due.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerKey {
    /// A task's deadline.
    Due {
        token: u64,
    },
    /// A parallel branch's deadline.
    BranchDue {
        branch: u64,
    },
    /// The warning before a task's deadline.
    DueWarning {
        token: u64,
    },
    /// The warning before a branch's deadline.
    BranchWarning {
        branch: u64,
    },
    /// A wait step's wake-up.
    Wake {
        token: u64,
    },
    SlaWarning {
        sla: String,
    },
    SlaBreach {
        sla: String,
    },
}

/// A request to change an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Complete {
        task: u64,
        data: Map<String, Value>,
    },
    Approve {
        task: u64,
        comment: Option<String>,
        data: Map<String, Value>,
    },
    Reject {
        task: u64,
        comment: String,
    },
    Claim {
        task: u64,
    },
    Unclaim {
        task: u64,
    },
    Fire {
        timer: TimerKey,
    },
    /// The sub-process of a call step ended (sent by the host when `child` ends, or by hand for
    /// a call that has no sub-process running).
    CallEnded {
        task: u64,
        outcome: String,
        data: Map<String, Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<String>,
    },
    /// The host started the sub-process of a call step.
    LinkCall {
        task: u64,
        child: String,
        version: i64,
    },
    /// The host could not run the sub-process of a call step.
    FailCall {
        task: u64,
        message: String,
    },
    Cancel {
        reason: String,
    },
    /// The host attaches to an open report task (`report:` on its step) the report computed
    /// when the task opened: a file reference, as the case holds its other files.
    AttachReport {
        task: u64,
        file: Value,
    },
}

/// Why a command was refused. Nothing has changed when one is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("the instance is no longer running")]
    NotRunning,
    #[error("no open task {0} in this instance")]
    UnknownTask(u64),
    #[error("step `{step}` is a {kind}, not a {wanted}")]
    WrongKind { step: String, kind: &'static str, wanted: &'static str },
    #[error("this task belongs to {holder}")]
    Forbidden { holder: String },
    #[error("only an admin may do this")]
    AdminOnly,
    #[error("the task is claimed by {0}")]
    ClaimedByOther(String),
    #[error("the data does not satisfy the form")]
    InvalidData(Vec<FieldError>),
    #[error("a rejection needs a comment saying what to change")]
    CommentRequired,
    #[error("that timer is not pending or not yet due")]
    TimerNotDue,
    #[error("the task has its report already")]
    ReportAttached,
    #[error("condition of step `{step}` failed: {message}")]
    Expression { step: String, message: String },
    #[error("unknown process `{0}`")]
    UnknownProcess(String),
    #[error("the call at step `{step}` waits for its sub-process `{child}`: work that instance's tasks")]
    CallRunning { step: String, child: String },
}

impl CommandError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::NotRunning => "not_running",
            CommandError::UnknownTask(_) => "unknown_task",
            CommandError::WrongKind { .. } => "wrong_kind",
            CommandError::Forbidden { .. } => "forbidden",
            CommandError::AdminOnly => "admin_only",
            CommandError::ClaimedByOther(_) => "claimed",
            CommandError::InvalidData(_) => "invalid_data",
            CommandError::CommentRequired => "comment_required",
            CommandError::TimerNotDue => "timer_not_due",
            CommandError::ReportAttached => "report_attached",
            CommandError::Expression { .. } => "expression",
            CommandError::UnknownProcess(_) => "unknown_process",
            CommandError::CallRunning { .. } => "call_running",
        }
    }
}
