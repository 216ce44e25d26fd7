//! Events: the append-only history of an instance. State is the fold of its events
//! ([`super::Instance::apply`]); every event carries what applying it needs, so replay needs no
//! definition, calendar or clock.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::call::ParentLink;
use crate::calendar::SlaClock;

/// One thing that happened to an instance, with when and by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub at: Timestamp,
    /// The user who caused it; `None` for the engine itself (timers, automatic steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(flatten)]
    pub event: Event,
}

/// Why an alert was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// A task arrived in a role's inbox.
    Assigned,
    SlaWarning,
    SlaBreach,
    /// A step's (or branch's) deadline is near.
    DueWarning,
    Overdue,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Assigned => "assigned",
            AlertKind::SlaWarning => "sla-warning",
            AlertKind::SlaBreach => "sla-breach",
            AlertKind::DueWarning => "due-warning",
            AlertKind::Overdue => "overdue",
        }
    }
}

/// A branch opened by a fork.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchOpen {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// When to warn that the branch's deadline is near.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<Timestamp>,
}

/// A task answerable through a signed link until `expires`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkGrant {
    pub token: u64,
    pub expires: Timestamp,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The instance began with this data; a sub-process names the call that started it.
    Started {
        process: String,
        data: Map<String, Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<ParentLink>,
        /// What the case's random samples (`sample()`) are drawn with.
        #[serde(default)]
        seed: u64,
        /// The case's number, when its process numbers them (`start.folio`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        folio: Option<String>,
    },
    /// A token arrived at a step. Human steps open a task for `role`, due at `due`.
    Entered {
        token: u64,
        step: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        scope: Vec<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
        /// The scope the role is taken within (an area, a faculty), read from the case.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role_scope: Option<String>,
        /// A person named in the case who gets the task instead of the role's holders.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
        /// When to warn that the task's deadline is near.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warn: Option<Timestamp>,
        /// For waits: when the token moves on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wake: Option<Timestamp>,
    },
    /// A user took a task for themself.
    Claimed {
        token: u64,
        user: String,
    },
    /// A user gave a claimed task back to the role.
    Unclaimed {
        token: u64,
    },
    /// A task was done; `data` is merged into the instance data.
    Completed {
        token: u64,
        data: Map<String, Value>,
    },
    /// An approval was granted.
    Approved {
        token: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        #[serde(default, skip_serializing_if = "Map::is_empty")]
        data: Map<String, Value>,
    },
    /// An approval was refused with a comment the next assignee sees.
    Rejected {
        token: u64,
        comment: String,
    },
    /// An automatic step (decision, wait, join, call) let its token go.
    Passed {
        token: u64,
    },
    /// A parallel step opened its branches, each with an id and an optional deadline.
    Forked {
        token: u64,
        fork: u64,
        branches: Vec<BranchOpen>,
        /// For a `for_each` step: the elements, one per branch, in branch order.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        items: Option<Vec<Value>>,
    },
    /// A branch reached `join`.
    BranchJoined {
        branch: u64,
    },
    /// A branch's deadline passed.
    BranchOverdue {
        branch: u64,
    },
    /// A fork closed; `cancelled` are the tokens of unfinished branches (join `any`). A
    /// `for_each` fork stores its elements, as its branches left them, as `data.<step>`.
    Joined {
        fork: u64,
        cancelled: Vec<u64>,
    },
    /// A step's deadline is near (its warning instant came).
    DueWarned {
        token: u64,
    },
    /// A branch's deadline is near.
    BranchWarned {
        branch: u64,
    },
    /// A step's deadline passed.
    Overdue {
        token: u64,
    },
    /// A task moved to another role.
    Reassigned {
        token: u64,
        role: String,
    },
    /// A token was withdrawn from its step (overdue `goto`).
    Withdrawn {
        token: u64,
    },
    /// A call step asked for a sub-process of `process` with this input.
    CallStarted {
        token: u64,
        process: String,
        data: Map<String, Value>,
    },
    /// The sub-process of a call step started: instance `child`, on `version` of its process.
    CallLinked {
        token: u64,
        child: String,
        version: i64,
    },
    /// The sub-process of a call step could not start, or was cancelled on its own: an incident
    /// the call waits on until it is retried.
    CallFailed {
        token: u64,
        message: String,
    },
    /// The sub-process of a call step ended with `outcome` and its data.
    CallEnded {
        token: u64,
        outcome: String,
        data: Map<String, Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        child: Option<String>,
    },
    /// An SLA clock started.
    SlaStarted {
        sla: String,
        clock: SlaClock,
    },
    SlaPaused {
        sla: String,
    },
    SlaResumed {
        sla: String,
    },
    /// An SLA's `until` moment came: the clock stopped.
    SlaStopped {
        sla: String,
    },
    SlaWarned {
        sla: String,
    },
    SlaBreached {
        sla: String,
    },
    /// People were told: the holders of `roles` (within `scope`, when given) and `users`.
    Alerted {
        kind: AlertKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sla: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        roles: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        users: Vec<String>,
    },
    /// A message of the process went out: to the addresses read from the case and the holders
    /// of `roles`, rendered with `template`, with the files of `attach` and, when it links to a
    /// task, that link.
    Sent {
        template: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sla: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        to: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        roles: Vec<String>,
        /// The file references, as the case holds them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attach: Vec<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<LinkGrant>,
    },
    /// The report a report task reviews was computed and attached to it (by the host, when
    /// the task opened).
    ReportAttached {
        token: u64,
        file: Value,
    },
    /// The instance reached an end.
    Ended {
        outcome: String,
    },
    /// An admin stopped the instance.
    Cancelled {
        reason: String,
    },
}
