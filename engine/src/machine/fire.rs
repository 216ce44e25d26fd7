//! Timers firing: a task's or a branch's deadline and the warning before it, a wait's wake-up,
//! an SLA's warning and breach — and the actions they run (notify, reassign, goto).

use super::command::{CommandError, TimerKey};
use super::event::{AlertKind, Event};
use super::run::Run;
use super::state::Token;
use crate::definition::{Action, StepIx, StepKind, Target};

impl Run<'_> {
    pub(super) fn fire(&mut self, timer: TimerKey) -> Result<(), CommandError> {
        let due = super::timers(self.env, &self.inst).into_iter().any(|(at, k)| k == timer && at <= self.now);
        if !due {
            return Err(CommandError::TimerNotDue);
        }
        match timer {
            TimerKey::Due { token } => {
                let tok = self.inst.tokens.get(&token).cloned().ok_or(CommandError::TimerNotDue)?;
                let ix = self.step(&tok.step).ok_or(CommandError::TimerNotDue)?;
                let actions = self.env.process.steps[ix]
                    .kind
                    .work()
                    .and_then(|w| w.due.as_ref())
                    .map(|d| d.on_overdue.clone())
                    .unwrap_or_default();
                self.emit(Event::Overdue { token });
                self.run_actions(AlertKind::Overdue, None, Some(ix), &[token], &actions)
            }
            TimerKey::BranchDue { branch } => {
                let b = self.inst.branches.get(&branch).cloned().ok_or(CommandError::TimerNotDue)?;
                let fork = self.inst.forks.get(&b.fork).cloned().ok_or(CommandError::TimerNotDue)?;
                let ix = self.step(&fork.step).ok_or(CommandError::TimerNotDue)?;
                let StepKind::Parallel { branches, .. } = &self.env.process.steps[ix].kind else {
                    return Err(CommandError::TimerNotDue);
                };
                // Every branch of a `for_each` step is its one branch definition.
                let def = if fork.items.is_some() { 0 } else { b.index };
                let actions =
                    branches.get(def).and_then(|d| d.due.as_ref()).map(|d| d.on_overdue.clone()).unwrap_or_default();
                let tokens: Vec<u64> =
                    self.inst.tokens.values().filter(|t| t.scope.contains(&branch)).map(|t| t.id).collect();
                self.emit(Event::BranchOverdue { branch });
                let start = branches.get(def).map(|d| d.start);
                self.run_actions(AlertKind::Overdue, None, start, &tokens, &actions)
            }
            TimerKey::DueWarning { token } => {
                let tok = self.inst.tokens.get(&token).cloned().ok_or(CommandError::TimerNotDue)?;
                let ix = self.step(&tok.step).ok_or(CommandError::TimerNotDue)?;
                let due = self.env.process.steps[ix].kind.work().and_then(|w| w.due.as_ref());
                let role = tok.task.as_ref().map(|t| t.role.clone()).ok_or(CommandError::TimerNotDue)?;
                let actions = warning_actions(due.map(|d| d.on_warning.as_slice()).unwrap_or(&[]), &[role]);
                self.emit(Event::DueWarned { token });
                self.run_actions(AlertKind::DueWarning, None, Some(ix), &[token], &actions)
            }
            TimerKey::BranchWarning { branch } => {
                let b = self.inst.branches.get(&branch).cloned().ok_or(CommandError::TimerNotDue)?;
                let fork = self.inst.forks.get(&b.fork).cloned().ok_or(CommandError::TimerNotDue)?;
                let ix = self.step(&fork.step).ok_or(CommandError::TimerNotDue)?;
                let StepKind::Parallel { branches, .. } = &self.env.process.steps[ix].kind else {
                    return Err(CommandError::TimerNotDue);
                };
                let def = if fork.items.is_some() { 0 } else { b.index };
                let tokens: Vec<u64> =
                    self.inst.tokens.values().filter(|t| t.scope.contains(&branch)).map(|t| t.id).collect();
                // Without actions of its own, the warning goes to whoever holds the branch's tasks.
                let mut roles: Vec<String> = tokens
                    .iter()
                    .filter_map(|t| self.inst.tokens.get(t)?.task.as_ref().map(|x| x.role.clone()))
                    .collect();
                roles.dedup();
                let listed =
                    branches.get(def).and_then(|d| d.due.as_ref()).map(|d| d.on_warning.as_slice()).unwrap_or(&[]);
                let actions = warning_actions(listed, &roles);
                self.emit(Event::BranchWarned { branch });
                let start = branches.get(def).map(|d| d.start);
                self.run_actions(AlertKind::DueWarning, None, start, &tokens, &actions)
            }
            TimerKey::Wake { token } => {
                let tok = self.inst.tokens.get(&token).cloned().ok_or(CommandError::TimerNotDue)?;
                let ix = self.step(&tok.step).ok_or(CommandError::TimerNotDue)?;
                let StepKind::Wait { next, .. } = &self.env.process.steps[ix].kind else {
                    return Err(CommandError::TimerNotDue);
                };
                let target = self.route(ix, next, &tok.scope)?;
                self.pass(token, ix)?;
                self.go(target, tok.scope)
            }
            TimerKey::SlaWarning { sla } => {
                let def = self.env.process.sla(&sla).ok_or(CommandError::TimerNotDue)?;
                self.emit(Event::SlaWarned { sla: sla.clone() });
                // A warning that comes after the breach is already due warns nobody of anything.
                let breach_due = self.inst.slas.get(&sla).is_some_and(|r| r.clock.due(self.env.calendar) <= self.now);
                if breach_due {
                    return Ok(());
                }
                let open: Vec<u64> = self.inst.tasks().map(|(t, _)| t.id).collect();
                self.run_actions(AlertKind::SlaWarning, Some(sla), None, &open, &def.on_warning)
            }
            TimerKey::SlaBreach { sla } => {
                let def = self.env.process.sla(&sla).ok_or(CommandError::TimerNotDue)?;
                self.emit(Event::SlaBreached { sla: sla.clone() });
                let open: Vec<u64> = self.inst.tasks().map(|(t, _)| t.id).collect();
                self.run_actions(AlertKind::SlaBreach, Some(sla), None, &open, &def.on_breach)
            }
        }
    }

    /// Runs overdue / SLA actions on the given tokens.
    fn run_actions(
        &mut self,
        kind: AlertKind,
        sla: Option<String>,
        step: Option<StepIx>,
        tokens: &[u64],
        actions: &[Action],
    ) -> Result<(), CommandError> {
        let step_id = step.map(|i| self.env.process.steps[i].id.clone());
        let notify: Vec<String> =
            actions.iter().filter_map(|a| if let Action::Notify(r) = a { Some(r.clone()) } else { None }).collect();
        // Telling the task's own role means its own people: the person it is for, or the
        // role's holders in the task's scope. Other roles are told in full.
        let own = tokens.iter().find_map(|t| self.inst.tokens.get(t)?.task.clone());
        let (mine, others): (Vec<String>, Vec<String>) = notify.into_iter().partition(|r| {
            own.as_ref().is_some_and(|t| &t.role == r && (t.role_scope.is_some() || t.assignee.is_some()))
        });
        if let (false, Some(t)) = (mine.is_empty(), own) {
            let (roles, users) = match t.assignee {
                Some(user) => (Vec::new(), vec![user]),
                None => (mine, Vec::new()),
            };
            let alert =
                Event::Alerted { kind, sla: sla.clone(), step: step_id.clone(), roles, scope: t.role_scope, users };
            self.emit(alert);
        }
        if !others.is_empty() {
            let (sla, step) = (sla.clone(), step_id.clone());
            self.emit(Event::Alerted { kind, sla, step, roles: others, scope: None, users: Vec::new() });
        }
        for a in actions {
            match a {
                Action::Notify(_) => {}
                Action::Send(m) => self.pending.push(super::send::Pending {
                    message: (**m).clone(),
                    step: step_id.clone(),
                    sla: sla.clone(),
                }),
                Action::Reassign(role) => {
                    let open: Vec<u64> = tokens
                        .iter()
                        .copied()
                        .filter(|t| self.inst.tokens.get(t).is_some_and(|t| t.task.is_some()))
                        .collect();
                    for token in open {
                        self.emit(Event::Reassigned { token, role: role.clone() });
                    }
                }
                Action::Goto(target) => {
                    let live: Vec<Token> = tokens.iter().filter_map(|t| self.inst.tokens.get(t).cloned()).collect();
                    let Some(scope) = live.first().map(|t| t.scope.clone()) else { continue };
                    for t in &live {
                        self.emit(Event::Withdrawn { token: t.id });
                        if let Some(ix) = self.step(&t.step) {
                            self.left(ix)?;
                        }
                    }
                    self.go(Target::Step(*target), scope)?;
                }
            }
        }
        Ok(())
    }
}

/// What a deadline's warning does: its own actions, or else tell `roles` (the task's).
fn warning_actions(listed: &[Action], roles: &[String]) -> Vec<Action> {
    if listed.is_empty() { roles.iter().map(|r| Action::Notify(r.clone())).collect() } else { listed.to_vec() }
}
