//! The transition function: (definition, instance, command, now) → events, or a typed error.
//!
//! A [`Run`] works on a copy of the instance, applying each event as it emits it, so later
//! decisions in the same command see earlier ones. The caller stores the returned records and
//! the resulting state in one transaction, or drops both.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::call::ParentLink;
use super::command::{Actor, Command, CommandError};
use super::event::{Event, Record};
use super::state::{Instance, Token};
use crate::calendar::Calendar;
use crate::definition::limits::check_free_data;
use crate::definition::{Anchor, FieldError, Form, Next, Process, StepIx, StepKind, Target, When, Work};
use crate::expr::{Expr, Scope};
use crate::files::FileValue;

/// What a transition needs to know besides the instance.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub process: &'a Process,
    pub calendar: &'a Calendar,
    pub forms: &'a BTreeMap<String, Form>,
}

/// Most automatic steps one command may pass through besides one per step of the process: a
/// guard against decisions that loop, which a process of any size still passes through.
const MAX_AUTOMATIC_STEPS: usize = 10_000;

pub(super) struct Run<'a> {
    pub(super) env: Env<'a>,
    pub(super) inst: Instance,
    records: Vec<Record>,
    pub(super) now: Timestamp,
    by: Option<String>,
    pub(super) budget: usize,
    /// Messages to send once the command has run.
    pub(super) pending: Vec<super::send::Pending>,
}

/// Starts an instance: validates the start data, opens its SLAs and enters the first step.
pub fn start(
    env: Env<'_>,
    id: &str,
    data: Map<String, Value>,
    actor: Option<&Actor>,
    now: Timestamp,
) -> Result<(Instance, Vec<Record>), CommandError> {
    begin(env, id, data, actor, None, None, now)
}

/// Starts an instance numbered `folio` (from its process's `start.folio` pattern: the store
/// keeps the count, so the caller renders it).
pub fn start_with_folio(
    env: Env<'_>,
    id: &str,
    data: Map<String, Value>,
    actor: Option<&Actor>,
    folio: Option<String>,
    now: Timestamp,
) -> Result<(Instance, Vec<Record>), CommandError> {
    begin(env, id, data, actor, None, folio, now)
}

/// Starts the sub-process of a call step (`parent`) with the call's input as its start data.
pub fn start_call(
    env: Env<'_>,
    id: &str,
    data: Map<String, Value>,
    parent: ParentLink,
    now: Timestamp,
) -> Result<(Instance, Vec<Record>), CommandError> {
    begin(env, id, data, None, Some(parent), None, now)
}

fn begin(
    env: Env<'_>,
    id: &str,
    data: Map<String, Value>,
    actor: Option<&Actor>,
    parent: Option<ParentLink>,
    folio: Option<String>,
    now: Timestamp,
) -> Result<(Instance, Vec<Record>), CommandError> {
    if let Some(a) = actor
        && !env.process.start.roles.is_empty()
        && !env.process.start.roles.iter().any(|r| a.has_role(r))
    {
        return Err(CommandError::Forbidden { holder: format!("role `{}`", env.process.start.roles.join("`, `")) });
    }
    let data = match env.process.start.form.as_ref().and_then(|f| env.forms.get(f)) {
        Some(form) => form.validate(&data).map_err(CommandError::InvalidData)?,
        None => check_free_data(&data).map(|()| data).map_err(CommandError::InvalidData)?,
    };
    let mut run = Run::new(env, Instance::empty(id, now), actor, now);
    run.emit(Event::Started { process: env.process.id.clone(), data, parent, seed: seed_of(id), folio });
    run.start_slas_on(|a| matches!(a, Anchor::Started | Anchor::Data(_)))?;
    run.go(Target::Step(env.process.first_step()), Vec::new())?;
    run.flush_sends()?;
    Ok((run.inst, run.records))
}

/// Executes a command on an instance and returns the events it produced.
pub fn execute(
    env: Env<'_>,
    inst: &Instance,
    actor: Option<&Actor>,
    cmd: Command,
    now: Timestamp,
) -> Result<(Instance, Vec<Record>), CommandError> {
    if !inst.is_running() {
        return Err(CommandError::NotRunning);
    }
    let mut run = Run::new(env, inst.clone(), actor, now);
    match cmd {
        Command::Complete { task, data } => run.complete(actor, task, data)?,
        Command::Approve { task, comment, data } => run.approve(actor, task, comment, data)?,
        Command::Reject { task, comment } => run.reject(actor, task, comment)?,
        Command::Claim { task } => {
            let user = run.claimable(actor, task)?;
            run.emit(Event::Claimed { token: task, user });
        }
        Command::Unclaim { task } => {
            run.claimable(actor, task)?;
            run.emit(Event::Unclaimed { token: task });
        }
        Command::Fire { timer } => run.fire(timer)?,
        Command::CallEnded { task, outcome, data, child } => run.call_ended(task, outcome, data, child)?,
        Command::LinkCall { task, child, version } => run.link_call(task, child, version)?,
        Command::FailCall { task, message } => run.fail_call(task, message)?,
        Command::Cancel { reason } => {
            // An admin, or the system (a call whose step is gone cancels its sub-process).
            if actor.is_some_and(|a| !a.admin) {
                return Err(CommandError::AdminOnly);
            }
            run.stop_all_slas();
            run.emit(Event::Cancelled { reason });
        }
        Command::AttachReport { task, file } => {
            // The host's alone: no user attaches a computed report.
            if actor.is_some() {
                return Err(CommandError::AdminOnly);
            }
            run.attach_report(task, file)?;
        }
    }
    run.flush_sends()?;
    Ok((run.inst, run.records))
}

impl<'a> Run<'a> {
    fn new(env: Env<'a>, inst: Instance, actor: Option<&Actor>, now: Timestamp) -> Run<'a> {
        Run {
            env,
            inst,
            records: Vec::new(),
            now,
            by: actor.map(|a| a.user.clone()),
            budget: MAX_AUTOMATIC_STEPS + env.process.steps.len(),
            pending: Vec::new(),
        }
    }

    pub(super) fn emit(&mut self, event: Event) {
        let r = Record { at: self.now, by: self.by.clone(), event };
        self.inst.apply(&r);
        self.records.push(r);
    }

    pub(super) fn step(&self, id: &str) -> Option<StepIx> {
        self.env.process.step_ix(id)
    }

    pub(super) fn alloc(&mut self) -> u64 {
        let id = self.inst.next_id;
        self.inst.next_id += 1;
        id
    }

    /// The open task `task` that `actor` may work on.
    fn task(&self, actor: Option<&Actor>, task: u64) -> Result<(Token, StepIx), CommandError> {
        let tok = self.inst.tokens.get(&task).filter(|t| t.task.is_some()).ok_or(CommandError::UnknownTask(task))?;
        let t = tok.task.as_ref().ok_or(CommandError::UnknownTask(task))?;
        if let Some(a) = actor {
            if !a.may_work(&t.role, t.role_scope.as_deref(), t.assignee.as_deref()) {
                return Err(CommandError::Forbidden { holder: t.holder() });
            }
            if let Some(other) = t.claimed_by.as_ref().filter(|u| **u != a.user && !a.admin) {
                return Err(CommandError::ClaimedByOther(other.clone()));
            }
        }
        let ix = self.step(&tok.step).ok_or(CommandError::UnknownTask(task))?;
        Ok((tok.clone(), ix))
    }

    /// Attaches `file` (a file reference) to report task `task`, once.
    fn attach_report(&mut self, task: u64, file: Value) -> Result<(), CommandError> {
        let (tok, ix) = self.task(None, task)?;
        if self.env.process.steps[ix].kind.work().is_none_or(|w| w.report.is_none()) {
            return Err(self.wrong_kind(ix, "report task"));
        }
        if tok.task.is_some_and(|t| t.report.is_some()) {
            return Err(CommandError::ReportAttached);
        }
        let file = FileValue::from_value(&file)
            .map_err(|m| CommandError::InvalidData(vec![FieldError::new("report", "file", m)]))?;
        self.emit(Event::ReportAttached { token: task, file: file.to_value() });
        Ok(())
    }

    fn claimable(&self, actor: Option<&Actor>, task: u64) -> Result<String, CommandError> {
        self.task(actor, task)?;
        Ok(actor.map(|a| a.user.clone()).unwrap_or_default())
    }

    pub(super) fn wrong_kind(&self, ix: StepIx, wanted: &'static str) -> CommandError {
        let s = &self.env.process.steps[ix];
        CommandError::WrongKind { step: s.id.clone(), kind: s.kind.name(), wanted }
    }

    fn validated(&self, form: Option<&String>, data: Map<String, Value>) -> Result<Map<String, Value>, CommandError> {
        match form.and_then(|f| self.env.forms.get(f)) {
            Some(form) => form.validate(&data).map_err(CommandError::InvalidData),
            None => check_free_data(&data).map(|()| data).map_err(CommandError::InvalidData),
        }
    }

    fn complete(&mut self, actor: Option<&Actor>, task: u64, data: Map<String, Value>) -> Result<(), CommandError> {
        let (tok, ix) = self.task(actor, task)?;
        let StepKind::Task { work, next } = &self.env.process.steps[ix].kind else {
            return Err(self.wrong_kind(ix, "task"));
        };
        let data = self.validated(work.form.as_ref(), data)?;
        self.emit(Event::Completed { token: task, data });
        self.queue_step(ix, false);
        self.left(ix)?;
        let target = self.route(ix, next, &tok.scope)?;
        self.go(target, tok.scope)
    }

    fn approve(
        &mut self,
        actor: Option<&Actor>,
        task: u64,
        comment: Option<String>,
        data: Map<String, Value>,
    ) -> Result<(), CommandError> {
        let (tok, ix) = self.task(actor, task)?;
        let StepKind::Approval { work, approve, .. } = &self.env.process.steps[ix].kind else {
            return Err(self.wrong_kind(ix, "approval"));
        };
        let data = self.validated(work.form.as_ref(), data)?;
        let comment = comment.filter(|c| !c.trim().is_empty());
        self.emit(Event::Approved { token: task, comment, data });
        self.queue_step(ix, false);
        self.left(ix)?;
        self.go(*approve, tok.scope)
    }

    fn reject(&mut self, actor: Option<&Actor>, task: u64, comment: String) -> Result<(), CommandError> {
        let (tok, ix) = self.task(actor, task)?;
        let StepKind::Approval { reject, .. } = &self.env.process.steps[ix].kind else {
            return Err(self.wrong_kind(ix, "approval"));
        };
        if comment.trim().is_empty() {
            return Err(CommandError::CommentRequired);
        }
        self.emit(Event::Rejected { token: task, comment: comment.trim().to_string() });
        self.queue_step(ix, false);
        self.left(ix)?;
        self.go(*reject, tok.scope)
    }

    /// Evaluates an expression over the instance, with `item` when given.
    pub(super) fn eval(&self, e: &Expr, item: Option<&Value>) -> Result<Value, String> {
        let now = self.now.to_string();
        let instance = serde_json::json!({ "id": self.inst.id, "process": self.inst.process });
        let calendar = Some(self.env.calendar);
        e.eval_in(&Scope {
            data: &self.inst.data,
            instance: &instance,
            now: &now,
            item,
            calendar,
            seed: Some(self.inst.seed),
        })
    }

    /// The first arm of `next` whose condition holds, for a token with `scope`.
    pub(super) fn route(&self, ix: StepIx, next: &Next, scope: &[u64]) -> Result<Target, CommandError> {
        let item = self.inst.item(scope);
        for arm in &next.0 {
            let Some(cond) = &arm.when else { return Ok(arm.target) };
            let holds = match self.eval(cond, item) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(format!("condition `{}` gave {other}, not true or false", cond.source())),
                Err(m) => Err(m),
            }
            .map_err(|message| CommandError::Expression { step: self.env.process.steps[ix].id.clone(), message })?;
            if holds {
                return Ok(arm.target);
            }
        }
        Err(CommandError::Expression {
            step: self.env.process.steps[ix].id.clone(),
            message: "no condition held and there is no default".into(),
        })
    }

    /// An instant from a `When`, counted from now or from a date in the data (`None` when the
    /// date is empty). `who` names the step or SLA in errors. A bare date stands for the close
    /// of business that day, or its opening when `opening` (a wait continues when the day begins).
    pub(super) fn instant(
        &self,
        who: &str,
        when: &When,
        item: Option<&Value>,
        opening: bool,
    ) -> Result<Option<Timestamp>, CommandError> {
        let cal = self.env.calendar;
        Ok(match when {
            When::After(d) => Some(cal.add(self.now, *d)),
            When::Field(f) => self.data_instant(f, opening),
            When::BeforeField(d, f) => self.data_instant(f, false).map(|t| cal.sub(t, *d)),
            When::AfterField(d, f) => self.data_instant(f, false).map(|t| cal.add(t, *d)),
            When::Expr { expr, offset } => {
                let fail = |message: String| CommandError::Expression { step: who.to_string(), message };
                match self.eval(expr, item).map_err(fail)? {
                    Value::Null => None,
                    Value::String(text) if text.trim().is_empty() => None,
                    Value::String(text) => {
                        let t = text_instant(&text, cal, opening && offset.is_none()).ok_or_else(|| {
                            fail(format!("`{}` gave `{text}`, which is not a date or a date-time", expr.source()))
                        })?;
                        Some(offset.map_or(t, |o| cal.offset(t, o)))
                    }
                    other => {
                        return Err(fail(format!("`{}` gave {other}, not a date", expr.source())));
                    }
                }
            }
        })
    }

    /// A date or date-time field of the data as an instant (rule 7 of docs/sla.md: a date is the
    /// close of business that day; with `opening`, its opening).
    pub(super) fn data_instant(&self, field: &str, opening: bool) -> Option<Timestamp> {
        text_instant(self.inst.data.get(field)?.as_str()?, self.env.calendar, opening)
    }

    /// A text read from the case for a task (its scope, its assignee): `None` when empty.
    pub(super) fn text_of(
        &self,
        step: &str,
        e: Option<&Expr>,
        item: Option<&Value>,
    ) -> Result<Option<String>, CommandError> {
        let Some(e) = e else { return Ok(None) };
        let fail = |message: String| CommandError::Expression { step: step.to_string(), message };
        match self.eval(e, item).map_err(fail)? {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => Ok(Some(s.trim().to_string())),
            other => Err(fail(format!("`{}` gave {other}, not a text", e.source()))),
        }
    }

    /// The role a task goes to: fixed, or read from the data (`role: item.responsable`).
    pub(super) fn role_of(&self, ix: StepIx, work: &Work, scope: &[u64]) -> Result<String, CommandError> {
        let Some(e) = &work.role_from else { return Ok(work.role.clone()) };
        let step = self.env.process.steps[ix].id.clone();
        let value = self
            .eval(e, self.inst.item(scope))
            .map_err(|message| CommandError::Expression { step: step.clone(), message })?;
        match value.as_str() {
            Some(r) if self.env.process.role_title(r).is_some() => Ok(r.to_string()),
            _ => Err(CommandError::Expression {
                step,
                message: format!("`{}` gave {value}, which is not a role of the process", e.source()),
            }),
        }
    }
}

/// The seed a case draws its samples with: FNV-1a of its id (random in the server, so each
/// case draws its own sample; fixed in a scenario, so a scenario always draws the same).
fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}

/// A date, local date-time or RFC 3339 instant from the data as an instant: a date is the close
/// of business that day (docs/sla.md rule 7), or its opening when `opening`.
fn text_instant(text: &str, cal: &Calendar, opening: bool) -> Option<Timestamp> {
    if let Some(d) = crate::calendar::parse_date(text) {
        return Some(if opening { cal.open_of(d) } else { cal.close_of(d) });
    }
    parse_instant(text, cal)
}

/// A date (`2026-03-13`, start of that local day), a local date-time (`2026-03-13T16:00`) or an
/// RFC 3339 instant, read in the calendar's zone. (The scenario runner's clock; deadlines read
/// dates from the data as the close of business.)
pub fn parse_instant(text: &str, cal: &Calendar) -> Option<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(cal.zone().clone()).ok().map(|z| z.timestamp());
    }
    let d = crate::calendar::parse_date(text)?;
    d.to_zoned(cal.zone().clone()).ok().map(|z| z.timestamp())
}
