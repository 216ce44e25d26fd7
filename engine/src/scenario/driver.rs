//! What a scenario runs on and what it looks at: the [`Driver`] trait, implemented by the pure
//! machine here and by the server in `tramite test --store`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{describe, split_item};
use crate::definition::{Process, Schedule};
use crate::machine::{Actor, CommandError};

/// What a scenario runs on: the pure machine ([`MachineDriver`]) or the server.
pub trait Driver {
    /// Starts the scenario's instance at `at` (the clock first set to `at`).
    fn start(&mut self, at: Timestamp, start: Start<'_>) -> Result<(), Refusal>;
    /// Does one thing to the instance (or the sub-process holding the step's task).
    fn act(&mut self, act: Act<'_>) -> Result<(), Refusal>;
    /// Moves the clock to `until`, firing every timer due by then, earliest first.
    fn advance_to(&mut self, until: Timestamp) -> Result<(), String>;
    /// How the instance and its sub-processes stand now.
    fn observe(&mut self) -> Result<Observation, String>;
    /// Keeps a file for a later start or action, as `actor` uploads it, and gives the value a
    /// `file` field then holds. The pure machine only describes the bytes; the server stores
    /// them.
    fn attach(&mut self, actor: Option<&Actor>, name: &str, bytes: &[u8]) -> Result<Value, Refusal> {
        let _ = actor;
        Ok(crate::files::FileValue::of(name, bytes).to_value())
    }
}

/// How the instance starts.
#[derive(Debug, Clone)]
pub enum Start<'a> {
    /// Started by `actor` (or by the system) with `data`.
    Data { actor: Option<&'a Actor>, data: &'a Map<String, Value> },
    /// Started by the process's schedule `id`, which fires at this very instant.
    Schedule { schedule: &'a Schedule },
}

/// One thing a user (or an admin) does.
#[derive(Debug, Clone)]
pub struct Act<'a> {
    pub actor: Option<&'a Actor>,
    pub action: Action<'a>,
}

/// What is done. Task actions name the step (and the `for_each` element, from 1).
#[derive(Debug, Clone)]
pub enum Action<'a> {
    Complete { step: &'a str, item: Option<usize>, data: &'a Map<String, Value> },
    Approve { step: &'a str, item: Option<usize>, comment: Option<&'a str>, data: &'a Map<String, Value> },
    Reject { step: &'a str, item: Option<usize>, comment: &'a str },
    Claim { step: &'a str, item: Option<usize> },
    Unclaim { step: &'a str, item: Option<usize> },
    EndCall { step: &'a str, item: Option<usize>, outcome: &'a str, data: &'a Map<String, Value> },
    Cancel { reason: &'a str },
}

/// Why an action did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The engine (or server) refused it with this error code (`forbidden`, `invalid_data`…).
    Refused { code: String, message: String },
    /// The driver could not even try (no task at that step, a transport failure).
    Failed(String),
}

impl Refusal {
    pub fn of(e: &CommandError) -> Refusal {
        Refusal::Refused { code: e.code().to_string(), message: describe(e) }
    }
}

/// An open task of the instance or one of its sub-processes.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSeen {
    pub step: String,
    /// The `for_each` element it works on, from 1.
    pub item: Option<usize>,
    /// Who it is for: `role`, `role@scope` or `@user` ([`super::holder_line`]).
    pub role: String,
    /// Its deadline, or else that of the branch it runs in.
    pub due: Option<Timestamp>,
}

/// What the expectations compare.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// The instance's active steps, sorted.
    pub active: Vec<String>,
    /// `running`, `ended` or `cancelled`.
    pub status: String,
    pub outcome: Option<String>,
    /// SLA id → state (`ok`, `warning`, …) and due instant.
    pub slas: BTreeMap<String, (String, Timestamp)>,
    /// Open tasks, the instance's first, then its sub-processes'.
    pub tasks: Vec<TaskSeen>,
    /// An alert as scenarios list it: `sla-warning:respuesta -> operador`, `overdue:responder -> responsable` (no assignments).
    pub alerts: Vec<String>,
    pub data: Map<String, Value>,
    /// The case's number, when its process numbers them.
    pub folio: Option<String>,
    pub rejection: Option<String>,
    /// Every message sent so far, as `template -> user`.
    pub emails: Vec<String>,
}

impl Observation {
    pub(super) fn task(&self, key: &str) -> Option<&TaskSeen> {
        let (step, item) = split_item(key);
        self.tasks.iter().find(|t| t.step == step && item.is_none_or(|n| t.item == Some(n)))
    }
}

/// A scenario's context, for drivers that need to prepare one (a database, its users).
#[derive(Debug)]
pub struct Setup<'a> {
    pub process: &'a Process,
    pub users: &'a BTreeMap<String, Actor>,
}

/// A driver that only describes files ([`Driver::attach`]'s default), for expected values.
pub(super) struct Describe;

impl Driver for Describe {
    fn start(&mut self, _: Timestamp, _: Start<'_>) -> Result<(), Refusal> {
        Err(Refusal::Failed("describing files only".into()))
    }
    fn act(&mut self, _: Act<'_>) -> Result<(), Refusal> {
        Err(Refusal::Failed("describing files only".into()))
    }
    fn advance_to(&mut self, _: Timestamp) -> Result<(), String> {
        Err("describing files only".into())
    }
    fn observe(&mut self) -> Result<Observation, String> {
        Err("describing files only".into())
    }
}
