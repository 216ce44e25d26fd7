//! Instance state: the fold of its events. [`Instance::apply`] is total and needs nothing but
//! the event, so replaying a history always rebuilds the same state.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::call::{CallIncident, CallState, ParentLink};
use super::event::{Event, Record};
use crate::calendar::SlaClock;

/// Where an instance is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Running,
    Ended { outcome: String },
    Cancelled { reason: String },
}

/// A running instance of a process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub process: String,
    pub status: Status,
    pub data: Map<String, Value>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// When the last event happened.
    pub updated_at: Timestamp,
    /// Active tokens by id: where control currently is.
    pub tokens: BTreeMap<u64, Token>,
    pub forks: BTreeMap<u64, Fork>,
    pub branches: BTreeMap<u64, BranchState>,
    pub slas: BTreeMap<String, SlaRun>,
    /// The latest rejection, shown to whoever works the step it sent the flow back to.
    pub last_rejection: Option<Rejection>,
    /// Next free id for tokens, forks and branches.
    pub next_id: u64,
    /// For a sub-process: the call step waiting for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
    /// What the case's random samples are drawn with (`sample()`).
    #[serde(default)]
    pub seed: u64,
    /// The case's number, when its process numbers them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folio: Option<String>,
    /// Number of events applied.
    pub version: u64,
}

/// Control sitting at a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub id: u64,
    pub step: String,
    /// Branch ids, outermost first.
    pub scope: Vec<u64>,
    pub entered_at: Timestamp,
    pub task: Option<Task>,
    pub wake: Option<Timestamp>,
    /// At a call step: the sub-process it waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Box<CallState>>,
}

/// A human task waiting in an inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub role: String,
    /// The scope the role is taken within; `None`: every holder of the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_scope: Option<String>,
    /// The person the task is for; `None`: the role's holders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    pub due: Option<Timestamp>,
    pub overdue: bool,
    pub claimed_by: Option<String>,
    /// When to warn that the deadline is near, and whether that happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<Timestamp>,
    #[serde(default)]
    pub warned: bool,
    /// A report task's computed report (a file reference), once attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Value>,
}

/// An open parallel step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fork {
    pub step: String,
    pub scope: Vec<u64>,
    pub open: BTreeSet<u64>,
    /// A `for_each` step's elements, one per branch; what a branch's tasks fill in is merged
    /// into its element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Value>>,
}

/// One branch of an open fork.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchState {
    pub fork: u64,
    /// Position among the fork's branches (for `for_each`, the element's position).
    pub index: usize,
    pub due: Option<Timestamp>,
    pub overdue: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<Timestamp>,
    #[serde(default)]
    pub warned: bool,
}

/// An SLA clock and the alerts already raised on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaRun {
    pub clock: SlaClock,
    pub warned: bool,
    pub breached: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub step: String,
    pub by: Option<String>,
    pub comment: String,
    pub at: Timestamp,
}

impl Task {
    /// Who the task is for, as people read it: ``role `x` ``, ``role `x` in `scope` ``, or
    /// `` `user` ``.
    pub fn holder(&self) -> String {
        match (&self.assignee, &self.role_scope) {
            (Some(user), _) => format!("`{user}`"),
            (None, Some(scope)) => format!("role `{}` in `{scope}`", self.role),
            (None, None) => format!("role `{}`", self.role),
        }
    }
}

impl Instance {
    /// The state before any event: `Started` fills it in.
    pub fn empty(id: &str, at: Timestamp) -> Instance {
        Instance {
            id: id.to_string(),
            process: String::new(),
            status: Status::Running,
            data: Map::new(),
            started_at: at,
            ended_at: None,
            updated_at: at,
            tokens: BTreeMap::new(),
            forks: BTreeMap::new(),
            branches: BTreeMap::new(),
            slas: BTreeMap::new(),
            last_rejection: None,
            next_id: 1,
            parent: None,
            seed: 0,
            folio: None,
            version: 0,
        }
    }

    /// Rebuilds an instance from its history.
    pub fn replay<'r>(id: &str, records: impl IntoIterator<Item = &'r Record>) -> Instance {
        let mut records = records.into_iter().peekable();
        let at = records.peek().map(|r| r.at).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut inst = Instance::empty(id, at);
        for r in records {
            inst.apply(r);
        }
        inst
    }

    pub fn is_running(&self) -> bool {
        self.status == Status::Running
    }

    /// Open human tasks.
    pub fn tasks(&self) -> impl Iterator<Item = (&Token, &Task)> {
        self.tokens.values().filter_map(|t| t.task.as_ref().map(|task| (t, task)))
    }

    /// The report attached to the report task at `token`, if any.
    pub fn report_of(&self, token: u64) -> Option<&Value> {
        self.tokens.get(&token)?.task.as_ref()?.report.as_ref()
    }

    /// Call steps waiting on an incident (a sub-process that could not start or was cancelled).
    pub fn incidents(&self) -> impl Iterator<Item = (&Token, &CallState)> {
        self.tokens.values().filter_map(|t| t.call.as_ref().filter(|c| c.incident.is_some()).map(|c| (t, &**c)))
    }

    /// Whether the call at `token` is waiting for sub-process `child`.
    pub fn awaits(&self, token: u64, child: &str) -> bool {
        self.is_running()
            && self.tokens.get(&token).and_then(|t| t.call.as_ref()).and_then(|c| c.child.as_deref()) == Some(child)
    }

    /// When the work at `token` is due: its task's deadline, or else the deadline of the
    /// innermost branch it runs in.
    pub fn deadline_of(&self, token: u64) -> Option<Timestamp> {
        let t = self.tokens.get(&token)?;
        t.task
            .as_ref()
            .and_then(|task| task.due)
            .or_else(|| t.scope.iter().rev().find_map(|b| self.branches.get(b).and_then(|b| b.due)))
    }

    /// Steps where control currently is, sorted.
    pub fn active_steps(&self) -> Vec<String> {
        let mut v: Vec<String> = self.tokens.values().map(|t| t.step.clone()).collect();
        v.sort();
        v
    }

    /// The `for_each` element a token with this scope works on (the innermost one).
    pub fn item(&self, scope: &[u64]) -> Option<&Value> {
        let (fork, index) = self.item_slot(scope)?;
        self.forks.get(&fork)?.items.as_ref()?.get(index)
    }

    /// The fork and position of the `for_each` element a token with this scope works on.
    pub fn item_slot(&self, scope: &[u64]) -> Option<(u64, usize)> {
        scope.iter().rev().find_map(|b| {
            let branch = self.branches.get(b)?;
            let fork = self.forks.get(&branch.fork)?;
            fork.items.as_ref().map(|_| (branch.fork, branch.index))
        })
    }

    /// Merges task data into the token's `for_each` element when it is an object; otherwise
    /// into the instance data.
    fn merge_for(&mut self, token: u64, data: &Map<String, Value>) {
        let slot = self.tokens.get(&token).and_then(|t| self.item_slot(&t.scope));
        let element =
            slot.and_then(|(fork, index)| self.forks.get_mut(&fork)?.items.as_mut()?.get_mut(index)?.as_object_mut());
        match element {
            Some(obj) => {
                for (k, v) in data {
                    obj.insert(k.clone(), v.clone());
                }
            }
            None => self.merge(data),
        }
    }

    fn take_id(&mut self, id: u64) {
        self.next_id = self.next_id.max(id + 1);
    }

    fn merge(&mut self, data: &Map<String, Value>) {
        for (k, v) in data {
            self.data.insert(k.clone(), v.clone());
        }
    }

    /// Applies one event. Never fails: events are facts.
    pub fn apply(&mut self, r: &Record) {
        self.version += 1;
        self.updated_at = r.at;
        match &r.event {
            Event::Started { process, data, parent, seed, folio } => {
                self.process = process.clone();
                self.folio = folio.clone();
                self.data = data.clone();
                self.started_at = r.at;
                self.parent = parent.clone();
                self.seed = *seed;
            }
            Event::Entered { token, step, scope, role, role_scope, assignee, due, warn, wake } => {
                self.take_id(*token);
                let task = role.as_ref().map(|role| Task {
                    role: role.clone(),
                    role_scope: role_scope.clone(),
                    assignee: assignee.clone(),
                    due: *due,
                    overdue: false,
                    claimed_by: None,
                    warn: *warn,
                    warned: false,
                    report: None,
                });
                let t = Token {
                    id: *token,
                    step: step.clone(),
                    scope: scope.clone(),
                    entered_at: r.at,
                    task,
                    wake: *wake,
                    call: None,
                };
                self.tokens.insert(*token, t);
            }
            Event::Claimed { token, user } => {
                if let Some(task) = self.tokens.get_mut(token).and_then(|t| t.task.as_mut()) {
                    task.claimed_by = Some(user.clone());
                }
            }
            Event::Unclaimed { token } => {
                if let Some(task) = self.tokens.get_mut(token).and_then(|t| t.task.as_mut()) {
                    task.claimed_by = None;
                }
            }
            Event::ReportAttached { token, file } => {
                if let Some(task) = self.tokens.get_mut(token).and_then(|t| t.task.as_mut()) {
                    task.report = Some(file.clone());
                }
            }
            Event::Completed { token, data } => {
                self.merge_for(*token, data);
                self.tokens.remove(token);
            }
            Event::Approved { token, data, .. } => {
                self.merge_for(*token, data);
                self.tokens.remove(token);
            }
            Event::Rejected { token, comment } => {
                if let Some(t) = self.tokens.remove(token) {
                    self.last_rejection =
                        Some(Rejection { step: t.step, by: r.by.clone(), comment: comment.clone(), at: r.at });
                }
            }
            Event::Passed { token } | Event::Withdrawn { token } => {
                self.tokens.remove(token);
            }
            Event::Forked { token, fork, branches, items } => {
                self.take_id(*fork);
                let (step, scope) = match self.tokens.remove(token) {
                    Some(t) => (t.step, t.scope),
                    None => (String::new(), Vec::new()),
                };
                for (index, b) in branches.iter().enumerate() {
                    self.take_id(b.id);
                    self.branches.insert(
                        b.id,
                        BranchState { fork: *fork, index, due: b.due, overdue: false, warn: b.warn, warned: false },
                    );
                }
                let open = branches.iter().map(|b| b.id).collect();
                self.forks.insert(*fork, Fork { step, scope, open, items: items.clone() });
            }
            Event::BranchJoined { branch } => {
                if let Some(b) = self.branches.remove(branch)
                    && let Some(f) = self.forks.get_mut(&b.fork)
                {
                    f.open.remove(branch);
                }
            }
            Event::BranchOverdue { branch } => {
                if let Some(b) = self.branches.get_mut(branch) {
                    b.overdue = true;
                }
            }
            Event::Joined { fork, cancelled } => {
                for t in cancelled {
                    self.tokens.remove(t);
                }
                if let Some(f) = self.forks.remove(fork) {
                    for b in f.open {
                        self.branches.remove(&b);
                    }
                    if let Some(items) = f.items {
                        self.data.insert(f.step, Value::Array(items));
                    }
                }
            }
            Event::DueWarned { token } => {
                if let Some(task) = self.tokens.get_mut(token).and_then(|t| t.task.as_mut()) {
                    task.warned = true;
                }
            }
            Event::BranchWarned { branch } => {
                if let Some(b) = self.branches.get_mut(branch) {
                    b.warned = true;
                }
            }
            Event::Overdue { token } => {
                if let Some(task) = self.tokens.get_mut(token).and_then(|t| t.task.as_mut()) {
                    task.overdue = true;
                }
            }
            Event::Reassigned { token, role } => {
                if let Some(task) = self.tokens.get_mut(token).and_then(|t| t.task.as_mut()) {
                    task.role = role.clone();
                    task.claimed_by = None;
                    task.assignee = None;
                }
            }
            Event::CallStarted { token, process, data } => {
                if let Some(t) = self.tokens.get_mut(token) {
                    t.call = Some(Box::new(CallState::new(process, data)));
                }
            }
            Event::CallLinked { token, child, version } => {
                if let Some(c) = self.tokens.get_mut(token).and_then(|t| t.call.as_mut()) {
                    c.child = Some(child.clone());
                    c.version = Some(*version);
                    c.incident = None;
                }
            }
            Event::CallFailed { token, message } => {
                if let Some(c) = self.tokens.get_mut(token).and_then(|t| t.call.as_mut()) {
                    c.child = None;
                    c.version = None;
                    c.incident = Some(CallIncident { message: message.clone(), since: r.at });
                }
            }
            Event::CallEnded { token, outcome, data, .. } => {
                if let Some(t) = self.tokens.remove(token) {
                    let mut result = Map::new();
                    result.insert("outcome".into(), Value::String(outcome.clone()));
                    result.insert("data".into(), Value::Object(data.clone()));
                    self.data.insert(t.step, Value::Object(result));
                }
            }
            Event::SlaStarted { sla, clock } => {
                self.slas.insert(sla.clone(), SlaRun { clock: clock.clone(), warned: false, breached: false });
            }
            Event::SlaPaused { sla } => self.with_sla(sla, |s| s.clock.pause(r.at)),
            Event::SlaResumed { sla } => self.with_sla(sla, |s| s.clock.resume(r.at)),
            Event::SlaStopped { sla } => self.with_sla(sla, |s| s.clock.stop(r.at)),
            Event::SlaWarned { sla } => self.with_sla(sla, |s| s.warned = true),
            Event::SlaBreached { sla } => self.with_sla(sla, |s| s.breached = true),
            Event::Alerted { .. } | Event::Sent { .. } => {}
            Event::Ended { outcome } => {
                self.finish(r.at);
                self.status = Status::Ended { outcome: outcome.clone() };
            }
            Event::Cancelled { reason } => {
                self.finish(r.at);
                self.status = Status::Cancelled { reason: reason.clone() };
            }
        }
    }

    fn with_sla(&mut self, id: &str, f: impl FnOnce(&mut SlaRun)) {
        if let Some(s) = self.slas.get_mut(id) {
            f(s);
        }
    }

    fn finish(&mut self, at: Timestamp) {
        self.tokens.clear();
        self.forks.clear();
        self.branches.clear();
        self.ended_at = Some(at);
    }
}
