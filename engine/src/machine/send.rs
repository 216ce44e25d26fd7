//! The messages of a process (`send:` on a step, `send` actions on deadlines and SLAs). They
//! are collected while a command runs and go out at its end, once every step it enters exists:
//! a message can link to a task the same command opened, and reads the data as the command left
//! it.

use serde_json::Value;

use super::command::CommandError;
use super::event::{Event, LinkGrant};
use super::run::Run;
use crate::definition::{Message, StepIx};

/// A message to send at the end of the command, and what sent it.
#[derive(Debug)]
pub(super) struct Pending {
    pub message: Message,
    pub step: Option<String>,
    pub sla: Option<String>,
}

impl Run<'_> {
    /// Queues the messages step `ix` sends on entry (`entered`) or on completion.
    pub(super) fn queue_step(&mut self, ix: StepIx, entered: bool) {
        let step = &self.env.process.steps[ix];
        for m in step.send.iter().filter(|m| m.on_entry == entered) {
            self.pending.push(Pending { message: m.clone(), step: Some(step.id.clone()), sla: None });
        }
    }

    /// Emits a `Sent` for each queued message whose condition holds and that reaches someone.
    pub(super) fn flush_sends(&mut self) -> Result<(), CommandError> {
        for p in std::mem::take(&mut self.pending) {
            let who = p.step.clone().or_else(|| p.sla.clone()).unwrap_or_default();
            let fail = |message: String| CommandError::Expression { step: who.clone(), message };
            let m = &p.message;
            if let Some(cond) = &m.condition {
                match self.eval(cond, None).map_err(fail)? {
                    Value::Bool(true) => {}
                    Value::Bool(false) => continue,
                    other => {
                        return Err(fail(format!("condition `{}` gave {other}, not true or false", cond.source())));
                    }
                }
            }
            let to = match &m.to {
                None => Vec::new(),
                Some(e) => match self.eval(e, None).map_err(fail)? {
                    Value::Null => Vec::new(),
                    Value::String(s) => vec![s],
                    Value::Array(list) => list.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
                    other => return Err(fail(format!("`to: {}` gave {other}, not an address", e.source()))),
                },
            };
            let to: Vec<String> = to.into_iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
            if to.is_empty() && m.roles.is_empty() {
                continue;
            }
            let attach: Vec<Value> = m.attach.iter().filter_map(|f| self.inst.data.get(f).cloned()).collect();
            let link = m.link.and_then(|ix| self.link_to(ix));
            self.emit(Event::Sent {
                template: m.template.clone(),
                step: p.step,
                sla: p.sla,
                to,
                roles: m.roles.clone(),
                attach,
                link,
            });
        }
        Ok(())
    }

    /// A link to the open task at step `ix` (the latest entered), valid for the step's `link:`.
    fn link_to(&self, ix: StepIx) -> Option<LinkGrant> {
        let step = &self.env.process.steps[ix];
        let valid = step.link?;
        let token = self.inst.tokens.values().filter(|t| t.step == step.id && t.task.is_some()).map(|t| t.id).max()?;
        Some(LinkGrant { token, expires: self.env.calendar.add(self.now, valid) })
    }
}
