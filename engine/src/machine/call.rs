//! Sub-processes. A `call` step asks for one (`CallStarted`); the host — the scenario runner, or
//! the server in the transaction of that very transition — starts the child with
//! [`super::start_call`] and tells the parent with [`Command::LinkCall`], or with
//! [`Command::FailCall`] when it cannot (an *incident*, retried later). When the child ends, the
//! host sends the parent [`Command::CallEnded`] with the child's outcome and data.
//!
//! What a transition asks of other instances is decided here, purely, by [`knocks`]: the hosts
//! only look processes up and store what the machine returns.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::command::{Command, CommandError};
use super::event::{Event, Record};
use super::run::Run;
use super::state::{Instance, Status};
use crate::definition::StepKind;

/// The call step a sub-process was started for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub instance: String,
    pub token: u64,
    pub process: String,
    pub step: String,
}

/// A call step's sub-process, as the calling instance knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallState {
    /// The process called.
    pub process: String,
    /// The data the child starts with.
    pub input: Map<String, Value>,
    /// The running child, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<String>,
    /// The version of `process` the child runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Why no child runs (not deployed, refused its input, cancelled on its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<CallIncident>,
}

/// A call step stuck until its sub-process can be started again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallIncident {
    pub message: String,
    pub since: jiff::Timestamp,
}

impl CallState {
    pub fn new(process: &str, input: &Map<String, Value>) -> CallState {
        CallState { process: process.to_string(), input: input.clone(), child: None, version: None, incident: None }
    }
}

/// Something a transition asks of another instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Knock {
    /// Start a sub-process of `process` for the call at `token`, with `data`, and link it
    /// ([`Command::LinkCall`]), or report why not ([`Command::FailCall`]).
    Start { token: u64, process: String, data: Map<String, Value> },
    /// The child ended: send its parent [`Command::CallEnded`].
    Return { parent: ParentLink, child: String, outcome: String, data: Map<String, Value> },
    /// The child was cancelled on its own: send its parent [`Command::FailCall`].
    Fail { parent: ParentLink, child: String, message: String },
    /// The call waiting for `child` is gone (its instance cancelled or ended, the step left):
    /// cancel the child.
    Cancel { child: String, reason: String },
}

/// What the records of one transition (from `before` to `after`) ask of other instances, in
/// order. A host applies [`Knock::Return`] and [`Knock::Fail`] only while the parent still
/// [`Instance::awaits`] the child.
pub fn knocks(before: Option<&Instance>, after: &Instance, records: &[Record]) -> Vec<Knock> {
    let mut out = Vec::new();
    for r in records {
        if let Event::CallStarted { token, process, data } = &r.event
            && after.tokens.get(token).and_then(|t| t.call.as_ref()).is_some_and(|c| c.child.is_none())
        {
            out.push(Knock::Start { token: *token, process: process.clone(), data: data.clone() });
        }
    }
    if let Some(before) = before {
        // Calls that ended, or whose child is already gone, need no cancelling.
        let ended: Vec<u64> = records
            .iter()
            .filter_map(|r| match &r.event {
                Event::CallEnded { token, .. } | Event::CallFailed { token, .. } => Some(*token),
                _ => None,
            })
            .collect();
        for t in before.tokens.values() {
            let Some(child) = t.call.as_ref().and_then(|c| c.child.as_ref()) else { continue };
            let still = after.awaits(t.id, child);
            if !still && !ended.contains(&t.id) {
                let reason = match &after.status {
                    Status::Cancelled { reason } => format!("la instancia que lo llamó fue cancelada: {reason}"),
                    _ => format!("la instancia que lo llamó dejó el paso `{}`", t.step),
                };
                out.push(Knock::Cancel { child: child.clone(), reason });
            }
        }
    }
    if let Some(parent) = &after.parent {
        for r in records {
            match &r.event {
                Event::Ended { outcome } => out.push(Knock::Return {
                    parent: parent.clone(),
                    child: after.id.clone(),
                    outcome: outcome.clone(),
                    data: after.data.clone(),
                }),
                Event::Cancelled { reason } => out.push(Knock::Fail {
                    parent: parent.clone(),
                    child: after.id.clone(),
                    message: format!("el subproceso {} fue cancelado: {reason}", after.id),
                }),
                _ => {}
            }
        }
    }
    out
}

impl Instance {
    /// The sub-processes to start again for this instance's incidents (after the called process
    /// is deployed, or when an admin retries).
    pub fn retries(&self) -> Vec<Knock> {
        self.incidents()
            .map(|(t, c)| Knock::Start { token: t.id, process: c.process.clone(), data: c.input.clone() })
            .collect()
    }
}

impl Run<'_> {
    /// The token at a call step, with the step's index.
    fn call_token(&self, task: u64) -> Result<(super::state::Token, usize), CommandError> {
        let tok = self.inst.tokens.get(&task).cloned().ok_or(CommandError::UnknownTask(task))?;
        let ix = self.env.process.step_ix(&tok.step).ok_or(CommandError::UnknownTask(task))?;
        if !matches!(self.env.process.steps[ix].kind, StepKind::Call { .. }) || tok.call.is_none() {
            return Err(self.wrong_kind(ix, "call"));
        }
        Ok((tok, ix))
    }

    pub(super) fn link_call(&mut self, task: u64, child: String, version: i64) -> Result<(), CommandError> {
        let (tok, _) = self.call_token(task)?;
        if let Some(running) = tok.call.as_ref().and_then(|c| c.child.clone()) {
            return Err(CommandError::CallRunning { step: tok.step, child: running });
        }
        self.emit(Event::CallLinked { token: task, child, version });
        Ok(())
    }

    pub(super) fn fail_call(&mut self, task: u64, message: String) -> Result<(), CommandError> {
        self.call_token(task)?;
        self.emit(Event::CallFailed { token: task, message });
        Ok(())
    }

    pub(super) fn call_ended(
        &mut self,
        task: u64,
        outcome: String,
        data: Map<String, Value>,
        child: Option<String>,
    ) -> Result<(), CommandError> {
        let (tok, ix) = self.call_token(task)?;
        let running = tok.call.as_ref().and_then(|c| c.child.clone());
        if let Some(running) = running
            && child.as_deref() != Some(running.as_str())
        {
            return Err(CommandError::CallRunning { step: tok.step, child: running });
        }
        let StepKind::Call { next, .. } = &self.env.process.steps[ix].kind else {
            return Err(self.wrong_kind(ix, "call"));
        };
        self.emit(Event::CallEnded { token: task, outcome, data, child });
        self.left(ix)?;
        let target = self.route(ix, next, &tok.scope)?;
        self.go(target, tok.scope)
    }
}

/// Applies `cmd` as the host does for a knock: `Some` command for the parent of a Return/Fail.
pub fn parent_command(knock: &Knock) -> Option<(String, Command)> {
    match knock {
        Knock::Return { parent, child, outcome, data } => Some((
            parent.instance.clone(),
            Command::CallEnded {
                task: parent.token,
                outcome: outcome.clone(),
                data: data.clone(),
                child: Some(child.clone()),
            },
        )),
        Knock::Fail { parent, message, .. } => {
            Some((parent.instance.clone(), Command::FailCall { task: parent.token, message: message.clone() }))
        }
        _ => None,
    }
}
