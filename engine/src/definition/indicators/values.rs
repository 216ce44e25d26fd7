//! What a case or a completed task contributes to each indicator of its process, worked out
//! from the state after a transition and the transition's events.

use jiff::Timestamp;
use serde_json::Value;

use super::*;
use crate::calendar::Calendar;
use crate::expr::{Expr, Scope};
use crate::machine::{Event, Instance, Record, Token};

/// The values `inst` contributes to `indicators` after a transition whose events are
/// `records` (from `before`, `None` for a start). A case's indicator is recomputed at every
/// transition, except a duration up to a moment, given only when that moment happens; a task
/// indicator is given when the task is completed.
pub fn contributions(
    indicators: &[Indicator],
    cal: &Calendar,
    before: Option<&Instance>,
    inst: &Instance,
    records: &[Record],
) -> Vec<Contribution> {
    let mut out = Vec::new();
    for ind in indicators {
        match &ind.tasks {
            None => out.extend(case_value(ind, cal, before, inst, records)),
            Some(step) => out.extend(task_values(ind, step.as_deref(), cal, before, inst, records)),
        }
    }
    out
}

/// What a case's or a task's values are read from: the case's data, and for a task in a
/// `for_each` branch its element (what the branch's tasks filled in), whose fields come first.
struct Subject<'a> {
    inst: &'a Instance,
    data: std::borrow::Cow<'a, Map<String, Value>>,
    item: Option<&'a Value>,
}

impl<'a> Subject<'a> {
    fn case(inst: &'a Instance) -> Subject<'a> {
        Subject { inst, data: std::borrow::Cow::Borrowed(&inst.data), item: None }
    }

    /// The task at token `t` of `before`, as the transition left its case.
    fn task(before: &Instance, inst: &'a Instance, t: &Token) -> Subject<'a> {
        let Some(item) = element(before, inst, t) else { return Subject::case(inst) };
        let mut data = inst.data.clone();
        if let Some(fields) = item.as_object() {
            data.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Subject { inst, data: std::borrow::Cow::Owned(data), item: Some(item) }
    }

    fn holds(&self, e: &Expr, cal: &Calendar) -> bool {
        let instance = serde_json::json!({ "id": self.inst.id, "process": self.inst.process });
        let scope =
            Scope { data: &self.data, instance: &instance, now: "", item: self.item, calendar: Some(cal), seed: None };
        matches!(e.eval_in(&scope), Ok(Value::Bool(true)))
    }
}

/// The `for_each` element the task at token `t` of `before` worked on, in `inst`: still in its
/// open fork, or in the list the join wrote to the data (under the parallel step's id).
fn element<'a>(before: &Instance, inst: &'a Instance, t: &Token) -> Option<&'a Value> {
    let (fork, index) = before.item_slot(&t.scope)?;
    let open = inst.forks.get(&fork).and_then(|f| f.items.as_ref()?.get(index));
    open.or_else(|| {
        let step = &before.forks.get(&fork)?.step;
        inst.data.get(step)?.as_array()?.get(index)
    })
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn group_of(ind: &Indicator, subject: &Subject, user: Option<&str>, role: Option<&str>) -> String {
    let inst = subject.inst;
    match &ind.group {
        None => String::new(),
        Some(Group::Field(f)) => text_of(subject.data.get(f)),
        Some(Group::Outcome) => match &inst.status {
            crate::machine::Status::Ended { outcome } => outcome.clone(),
            _ => String::new(),
        },
        Some(Group::Status) => match inst.status {
            crate::machine::Status::Running => "running".into(),
            crate::machine::Status::Ended { .. } => "ended".into(),
            crate::machine::Status::Cancelled { .. } => "cancelled".into(),
        },
        Some(Group::User) => user.unwrap_or_default().to_string(),
        Some(Group::Role) => role.unwrap_or_default().to_string(),
    }
}

/// When step `step` was completed in `records` (a token of `before` at that step answered or
/// passed).
fn completed_at(step: &str, before: Option<&Instance>, records: &[Record]) -> Option<Timestamp> {
    records.iter().rev().find_map(|r| {
        let token = match &r.event {
            Event::Completed { token, .. }
            | Event::Approved { token, .. }
            | Event::Rejected { token, .. }
            | Event::Passed { token } => *token,
            _ => return None,
        };
        let known = before.and_then(|b| b.tokens.get(&token)).map(|t| t.step.as_str());
        // A token entered and passed in the same transition is not in `before`: find its entry.
        let entered = || {
            records.iter().find_map(|e| match &e.event {
                Event::Entered { token: t, step, .. } if *t == token => Some(step.as_str()),
                _ => None,
            })
        };
        (known.or_else(entered) == Some(step)).then_some(r.at)
    })
}

fn moment(
    m: &Moment,
    cal: &Calendar,
    before: Option<&Instance>,
    inst: &Instance,
    records: &[Record],
) -> Option<Timestamp> {
    match m {
        Moment::Started => Some(inst.started_at),
        Moment::Completed => inst.ended_at.filter(|_| records.iter().any(|r| matches!(r.event, Event::Ended { .. }))),
        Moment::Data(f) => {
            let text = inst.data.get(f)?.as_str()?;
            crate::machine::parse_instant(text, cal)
        }
        Moment::StepCompleted(s) => completed_at(s, before, records),
    }
}

fn case_value(
    ind: &Indicator,
    cal: &Calendar,
    before: Option<&Instance>,
    inst: &Instance,
    records: &[Record],
) -> Option<Contribution> {
    let period = ind.period.map(|p| p.key(cal, inst.started_at)).unwrap_or_default();
    let subject = Subject::case(inst);
    let selected = ind.filter.as_ref().is_none_or(|e| subject.holds(e, cal));
    let value = match (&ind.measure, &ind.value) {
        (Measure::Sla, _) => {
            let run = ind.sla.as_ref().and_then(|s| inst.slas.get(s));
            run.and_then(|r| r.clock.stopped.map(|at| if at <= r.clock.due(cal) { 1.0 } else { 0.0 }))
        }
        (Measure::Ratio, _) => {
            Some(if ind.numerator.as_ref().is_some_and(|e| subject.holds(e, cal)) { 1.0 } else { 0.0 })
        }
        (Measure::Count, None) => Some(1.0),
        (_, Some(Quantity::Field(f))) => inst.data.get(f).and_then(Value::as_f64),
        (_, Some(Quantity::Between { unit, from, to })) => {
            // Given once, when the later moment happens (a moment from the data: every time).
            let end = moment(to, cal, before, inst, records)?;
            let start = moment(from, cal, before, inst, records)?;
            Some(unit.between(cal, start, end))
        }
        _ => None,
    };
    let value = value.filter(|_| selected);
    Some(Contribution { indicator: ind.key(), item: 0, period, group: group_of(ind, &subject, None, None), value })
}

fn task_values(
    ind: &Indicator,
    step: Option<&str>,
    cal: &Calendar,
    before: Option<&Instance>,
    inst: &Instance,
    records: &[Record],
) -> Vec<Contribution> {
    let mut out = Vec::new();
    for r in records {
        let token = match &r.event {
            Event::Completed { token, .. } | Event::Approved { token, .. } | Event::Rejected { token, .. } => *token,
            _ => continue,
        };
        let Some((b, t)) = before.and_then(|b| Some((b, b.tokens.get(&token)?))) else { continue };
        if step.is_some_and(|s| s != t.step) {
            continue;
        }
        let subject = Subject::task(b, inst, t);
        if !ind.filter.as_ref().is_none_or(|e| subject.holds(e, cal)) {
            continue;
        }
        let value = match (&ind.measure, &ind.value) {
            (Measure::Count, None) => Some(1.0),
            (_, Some(Quantity::TaskTime(unit))) => Some(unit.between(cal, t.entered_at, r.at)),
            (_, Some(Quantity::Field(f))) => subject.data.get(f).and_then(Value::as_f64),
            (Measure::Ratio, _) => {
                Some(if ind.numerator.as_ref().is_some_and(|e| subject.holds(e, cal)) { 1.0 } else { 0.0 })
            }
            _ => None,
        };
        let role = t.task.as_ref().map(|x| x.role.as_str());
        out.push(Contribution {
            indicator: ind.key(),
            item: token,
            period: ind.period.map(|p| p.key(cal, r.at)).unwrap_or_default(),
            group: group_of(ind, &subject, r.by.as_deref(), role),
            value,
        });
    }
    out
}
