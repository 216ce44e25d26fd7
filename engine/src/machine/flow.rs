//! How control moves through the steps within one command: entering a step, passing the
//! automatic ones (decisions, waits already due, parallels, ends) and joining branches.
//!
//! Nothing here recurses per step. [`Run::go`] keeps the moves still to make on a stack and
//! makes them one at a time, so a chain of ten thousand decisions needs no more stack than a
//! chain of two. A parallel step pushes its branches in reverse, so they are entered in the order
//! they are listed, each run as far as it goes (to a task, or to `join`) before the next begins:
//! the order of events is that of a depth-first walk.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::command::CommandError;
use super::event::{AlertKind, BranchOpen, Event};
use super::run::Run;
use crate::calendar::SlaClock;
use crate::definition::{Branch, Due, JoinMode, Next, StepIx, StepKind, Target};
use crate::expr::Expr;

/// A move still to make in the current command.
#[derive(Debug)]
enum Move {
    /// Continue at a target (a step, `end`, or the branch's `join`) with a token scope.
    Go(Target, Vec<u64>),
    /// Enter the first step of the branch last in `scope`, unless its fork has closed meanwhile
    /// (an earlier branch won a `join: any`).
    Branch(StepIx, Vec<u64>),
}

impl Run<'_> {
    /// Continues at `target` and makes every automatic move that follows, until each path
    /// rests (at a task, an approval, a wait, a call, a `join` still waiting) or the instance
    /// ends.
    pub(super) fn go(&mut self, target: Target, scope: Vec<u64>) -> Result<(), CommandError> {
        let mut moves = vec![Move::Go(target, scope)];
        while let Some(m) = moves.pop() {
            match m {
                Move::Go(Target::Step(ix), scope) => self.enter(ix, scope, &mut moves)?,
                Move::Go(Target::End, _) => self.end("completed".into())?,
                Move::Go(Target::Join, scope) => self.join(scope, &mut moves)?,
                Move::Branch(start, scope) => {
                    if scope.last().is_some_and(|b| self.inst.branches.contains_key(b)) {
                        self.enter(start, scope, &mut moves)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Enters step `ix`; what follows at once (the next step of a decision, the branches of a
    /// parallel) is pushed onto `moves`.
    fn enter(&mut self, ix: StepIx, scope: Vec<u64>, moves: &mut Vec<Move>) -> Result<(), CommandError> {
        self.budget = self.budget.checked_sub(1).ok_or_else(|| CommandError::Expression {
            step: self.env.process.steps[ix].id.clone(),
            message: "too many automatic steps in one go: the conditions loop".into(),
        })?;
        let step = &self.env.process.steps[ix];
        let token = self.alloc();
        let (mut role, mut due, mut warn, mut wake) = (None, None, None, None);
        let (mut role_scope, mut assignee) = (None, None);
        let item: Option<Value> = self.inst.item(&scope).cloned();
        let item = item.as_ref();
        match &step.kind {
            StepKind::Task { work, .. } | StepKind::Approval { work, .. } => {
                role = Some(self.role_of(ix, work, &scope)?);
                role_scope = self.text_of(&step.id, work.scope.as_ref(), item)?;
                assignee = self.text_of(&step.id, work.assignee.as_ref(), item)?;
                if let Some(d) = &work.due {
                    due = self.instant(&step.id, &d.at, item, false)?;
                    warn = self.warn_instant(d, due);
                }
            }
            StepKind::Wait { until, .. } => wake = Some(self.instant(&step.id, until, item, true)?.unwrap_or(self.now)),
            _ => {}
        }
        let entered = Event::Entered {
            token,
            step: step.id.clone(),
            scope: scope.clone(),
            role: role.clone(),
            role_scope: role_scope.clone(),
            assignee: assignee.clone(),
            due,
            warn,
            wake,
        };
        self.emit(entered);
        self.queue_step(ix, true);
        self.entered(ix)?;
        if let Some(role) = role {
            // The task's own people: the person it is for, or the role's holders in its scope.
            let (roles, users) = match assignee {
                Some(user) => (Vec::new(), vec![user]),
                None => (vec![role], Vec::new()),
            };
            self.emit(Event::Alerted {
                kind: AlertKind::Assigned,
                sla: None,
                step: Some(step.id.clone()),
                roles,
                scope: role_scope,
                users,
            });
        }
        match &step.kind {
            StepKind::Task { .. } | StepKind::Approval { .. } => {}
            StepKind::Decision { next } => {
                let target = self.route(ix, next, &scope)?;
                self.pass(token, ix)?;
                moves.push(Move::Go(target, scope));
            }
            StepKind::Wait { next, .. } => {
                if wake.is_some_and(|w| w <= self.now) {
                    let target = self.route(ix, next, &scope)?;
                    self.pass(token, ix)?;
                    moves.push(Move::Go(target, scope));
                }
            }
            StepKind::Parallel { branches, for_each, next, .. } => {
                self.fork(ix, token, (branches, for_each.as_ref(), next), scope, item, moves)?;
            }
            StepKind::Call { process, input, .. } => {
                let data = if input.is_empty() {
                    self.inst.data.clone()
                } else {
                    let mut m = Map::new();
                    for (k, e, _) in input {
                        let v = self
                            .eval(e, item)
                            .map_err(|message| CommandError::Expression { step: step.id.clone(), message })?;
                        m.insert(k.clone(), v);
                    }
                    m
                };
                self.emit(Event::CallStarted { token, process: process.clone(), data });
            }
            StepKind::End { outcome } => {
                self.pass(token, ix)?;
                self.end(outcome.clone())?;
            }
        }
        Ok(())
    }

    /// Opens the branches of parallel step `ix` (entered as `token`): one per branch, or one per
    /// element of its `for_each` list, pushed so that the first is entered first.
    fn fork(
        &mut self,
        ix: StepIx,
        token: u64,
        (branches, for_each, next): (&[Branch], Option<&Expr>, &Next),
        scope: Vec<u64>,
        item: Option<&Value>,
        moves: &mut Vec<Move>,
    ) -> Result<(), CommandError> {
        let step = &self.env.process.steps[ix];
        // A list field left empty is absent from the data: no elements.
        let absent = |e: &Expr| matches!(e.as_field(), Some(("data", f)) if !self.inst.data.contains_key(f));
        let items = match for_each {
            None => None,
            Some(e) if absent(e) => Some(Vec::new()),
            Some(e) => match self.eval(e, item) {
                Ok(Value::Array(list)) => Some(list),
                Ok(Value::Null) => Some(Vec::new()),
                Ok(other) => {
                    let message = format!("`for_each: {}` gave {other}, not a list", e.source());
                    return Err(CommandError::Expression { step: step.id.clone(), message });
                }
                Err(message) => return Err(CommandError::Expression { step: step.id.clone(), message }),
            },
        };
        // (branch definition, element) for each branch to open.
        let plan: Vec<(usize, Option<&Value>)> = match &items {
            Some(list) => list.iter().map(|v| (0, Some(v))).collect(),
            None => (0..branches.len()).map(|i| (i, item)).collect(),
        };
        let mut dues = Vec::new();
        for (def, element) in &plan {
            dues.push(match &branches[*def].due {
                Some(d) => {
                    let due = self.instant(&step.id, &d.at, *element, false)?;
                    (due, self.warn_instant(d, due))
                }
                None => (None, None),
            });
        }
        let defs: Vec<usize> = plan.iter().map(|(d, _)| *d).collect();
        let fork = self.alloc();
        let opened: Vec<BranchOpen> =
            dues.into_iter().map(|(due, warn)| BranchOpen { id: self.alloc(), due, warn }).collect();
        let starts: Vec<(StepIx, u64)> = defs.iter().zip(&opened).map(|(d, o)| (branches[*d].start, o.id)).collect();
        self.emit(Event::Forked { token, fork, branches: opened, items });
        if starts.is_empty() {
            // `for_each` over an empty list: nothing to wait for.
            self.emit(Event::Joined { fork, cancelled: Vec::new() });
            self.left(ix)?;
            let target = self.route(ix, next, &scope)?;
            moves.push(Move::Go(target, scope));
            return Ok(());
        }
        for (start, branch) in starts.into_iter().rev() {
            let mut inner = scope.clone();
            inner.push(branch);
            moves.push(Move::Branch(start, inner));
        }
        Ok(())
    }

    /// When to warn before a deadline starting now, if the deadline asks for a warning: counted
    /// as an SLA clock from now to `due` counts it (working time for business units).
    fn warn_instant(&self, d: &Due, due: Option<Timestamp>) -> Option<Timestamp> {
        let (warn, due) = (d.warn?, due?);
        let clock = SlaClock::until(self.env.calendar, self.now, due, d.at.is_business());
        Some(clock.warn_at(self.env.calendar, warn))
    }

    pub(super) fn pass(&mut self, token: u64, ix: StepIx) -> Result<(), CommandError> {
        self.emit(Event::Passed { token });
        self.queue_step(ix, false);
        self.left(ix)
    }

    /// A branch reached `join`: close the fork when its join condition holds, and continue at
    /// the parallel step's `next`.
    fn join(&mut self, mut scope: Vec<u64>, moves: &mut Vec<Move>) -> Result<(), CommandError> {
        let Some(branch) = scope.pop() else { return Ok(()) };
        let Some(fork_id) = self.inst.branches.get(&branch).map(|b| b.fork) else { return Ok(()) };
        self.emit(Event::BranchJoined { branch });
        let Some(fork) = self.inst.forks.get(&fork_id).cloned() else { return Ok(()) };
        let ix = self.step(&fork.step).ok_or(CommandError::UnknownTask(fork_id))?;
        let StepKind::Parallel { join, next, .. } = &self.env.process.steps[ix].kind else { return Ok(()) };
        if *join == JoinMode::All && !fork.open.is_empty() {
            return Ok(());
        }
        let cancelled: Vec<u64> =
            self.inst.tokens.values().filter(|t| t.scope.iter().any(|b| fork.open.contains(b))).map(|t| t.id).collect();
        let cancelled_steps: Vec<StepIx> =
            cancelled.iter().filter_map(|t| self.inst.tokens.get(t)).filter_map(|t| self.step(&t.step)).collect();
        self.emit(Event::Joined { fork: fork_id, cancelled });
        for s in cancelled_steps {
            self.left(s)?;
        }
        // A parallel step is completed when its branches join (`<step>.completed`), not when
        // it opens them.
        self.queue_step(ix, false);
        self.left(ix)?;
        let target = self.route(ix, next, &fork.scope)?;
        moves.push(Move::Go(target, fork.scope));
        Ok(())
    }

    pub(super) fn end(&mut self, outcome: String) -> Result<(), CommandError> {
        // What the last steps send goes out before the case ends (nothing is open to link to).
        self.flush_sends()?;
        self.stop_all_slas();
        self.emit(Event::Ended { outcome });
        Ok(())
    }
}
