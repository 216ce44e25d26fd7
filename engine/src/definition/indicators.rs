//! Indicators: what a manual measures of its service (calls per operator, replies within two
//! business days, satisfaction per attribute), declared in YAML beside the processes:
//!
//! ```yaml
//! indicators: conocer.c45-correos
//! items:
//!   respuesta_en_plazo:
//!     title: Correos respondidos a más tardar en dos días hábiles
//!     source: V-CANA-MP-02 §5.6, paso 5
//!     measure: sla
//!     sla: respuesta
//!     by: month
//!     target: 95%
//! ```
//!
//! Each case (or each completed task) contributes one value per indicator, worked out by the
//! engine when the case changes ([`contributions`]) — a business duration on the process's
//! calendar, a field, a condition met — with the period and the group it counts in. The server
//! stores those values beside the case and aggregates them in SQL.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::form::FieldType;
use super::load::loc;
use super::model::{Process, StepKind};
use super::problems::Ctx;
use super::raw::{Entries, S};
use crate::calendar::Calendar;
use crate::expr::{Expr, Scope};
use crate::machine::{Event, Instance, Record, Token};

/// An indicators file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndicators {
    /// The process whose cases they measure.
    pub indicators: S<String>,
    pub title: Option<S<String>>,
    pub items: Entries<RawIndicator>,
}

/// One indicator as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndicator {
    pub title: S<String>,
    pub source: Option<S<String>>,
    pub description: Option<S<String>>,
    /// `count`, `sum`, `average`, `median`, `percentile 90`, `ratio` or `sla`.
    pub measure: S<String>,
    /// `cases` (the default) or `tasks` (each completed task).
    pub of: Option<S<String>>,
    /// For `of: tasks`: the step whose tasks count (every task when absent).
    pub step: Option<S<String>>,
    /// What is summed or averaged: `data.<number field>`, `<unit> from <anchor> to <anchor>`
    /// for a case, `<unit>` (the time a task took) for a task.
    pub value: Option<S<String>>,
    /// For `measure: sla`: the SLA whose clocks are met or not.
    pub sla: Option<S<String>>,
    /// For `measure: ratio`: the condition counted over the cases `where` selects.
    pub numerator: Option<S<String>>,
    /// Which cases count (a condition over `data`).
    #[serde(rename = "where")]
    pub where_: Option<S<String>>,
    /// Grouped by `data.<field>`, `outcome`, `status`, `user` or `role` (tasks).
    pub group: Option<S<String>>,
    /// Per `day`, `week`, `month`, `quarter` or `year`.
    pub by: Option<S<String>>,
    /// The manual's goal: `95%` or a number.
    pub target: Option<S<String>>,
    /// `higher` or `lower` is better (default: lower for times, higher otherwise).
    pub better: Option<S<String>>,
    /// What the value is counted in, as people read it (`días hábiles`, `llamadas`).
    pub unit: Option<S<String>>,
}

/// How the values of an indicator are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    Count,
    Sum,
    Average,
    Median,
    /// Nearest-rank percentile (1–99).
    Percentile(u8),
    /// The share of the cases `where` selects for which `numerator` holds.
    Ratio,
    /// The share of an SLA's stopped clocks stopped in time.
    Sla,
}

impl Measure {
    /// Whether the result is a share (shown as a percentage).
    pub fn is_share(self) -> bool {
        matches!(self, Measure::Ratio | Measure::Sla)
    }

    pub fn name(self) -> String {
        match self {
            Measure::Count => "count".into(),
            Measure::Sum => "sum".into(),
            Measure::Average => "average".into(),
            Measure::Median => "median".into(),
            Measure::Percentile(p) => format!("percentile {p}"),
            Measure::Ratio => "ratio".into(),
            Measure::Sla => "sla".into(),
        }
    }
}

/// A unit of elapsed time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    BusinessDays,
    BusinessHours,
    Days,
    Hours,
    Minutes,
}

impl TimeUnit {
    fn parse(s: &str) -> Option<TimeUnit> {
        Some(match s.trim() {
            "business days" => TimeUnit::BusinessDays,
            "business hours" => TimeUnit::BusinessHours,
            "days" => TimeUnit::Days,
            "hours" => TimeUnit::Hours,
            "minutes" => TimeUnit::Minutes,
            _ => return None,
        })
    }

    /// The time from `from` to `to` in this unit, on `cal` for business units.
    pub fn between(self, cal: &Calendar, from: Timestamp, to: Timestamp) -> f64 {
        if to <= from {
            return 0.0;
        }
        match self {
            TimeUnit::BusinessDays => cal.business_days_between(from, to) as f64,
            TimeUnit::BusinessHours => cal.working_time_between(from, to).as_secs_f64() / 3600.0,
            TimeUnit::Days => to.duration_since(from).as_secs_f64() / 86_400.0,
            TimeUnit::Hours => to.duration_since(from).as_secs_f64() / 3600.0,
            TimeUnit::Minutes => to.duration_since(from).as_secs_f64() / 60.0,
        }
    }
}

/// Where a case's duration starts or ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moment {
    /// The case started.
    Started,
    /// The case ended.
    Completed,
    /// A date or date-time field of the data.
    Data(String),
    /// A step was completed (its task answered, or the step passed).
    StepCompleted(String),
}

/// What one case or task contributes.
#[derive(Debug, Clone, PartialEq)]
pub enum Quantity {
    /// A number field of the data.
    Field(String),
    /// The time between two moments of a case; `from` is `Started` or `Data` (a step's
    /// completion is seen only in the transition it happens in, so the loader refuses it there).
    Between { unit: TimeUnit, from: Moment, to: Moment },
    /// The time a task took, from its arrival to its answer.
    TaskTime(TimeUnit),
}

/// What the values are grouped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    Field(String),
    Outcome,
    Status,
    /// Who completed the task.
    User,
    /// The task's role.
    Role,
}

/// Calendar periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Period {
    fn parse(s: &str) -> Option<Period> {
        Some(match s.trim() {
            "day" => Period::Day,
            "week" => Period::Week,
            "month" => Period::Month,
            "quarter" => Period::Quarter,
            "year" => Period::Year,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        }
    }

    /// The period `t` falls in on `cal`'s zone, as a key that sorts in time order:
    /// `2026-03-11`, `2026-W11`, `2026-03`, `2026-Q1`, `2026`.
    pub fn key(self, cal: &Calendar, t: Timestamp) -> String {
        let d = t.to_zoned(cal.zone().clone()).date();
        match self {
            Period::Day => d.to_string(),
            Period::Week => {
                let w = d.iso_week_date();
                format!("{:04}-W{:02}", w.year(), w.week())
            }
            Period::Month => format!("{:04}-{:02}", d.year(), d.month()),
            Period::Quarter => format!("{:04}-Q{}", d.year(), (d.month() - 1) / 3 + 1),
            Period::Year => format!("{:04}", d.year()),
        }
    }
}

/// A validated indicator.
#[derive(Debug, Clone)]
pub struct Indicator {
    pub id: String,
    pub process: String,
    pub title: String,
    pub source: Option<String>,
    pub description: Option<String>,
    pub measure: Measure,
    /// `None` for cases; for tasks, `Some(step)` (`Some(None)` for every step).
    pub tasks: Option<Option<String>>,
    pub value: Option<Quantity>,
    pub sla: Option<String>,
    pub numerator: Option<Expr>,
    pub filter: Option<Expr>,
    pub group: Option<Group>,
    pub period: Option<Period>,
    pub target: Option<f64>,
    /// Whether a higher value is better.
    pub higher_is_better: bool,
    pub unit: Option<String>,
    /// The file it was read from.
    pub file: String,
}

impl Indicator {
    /// The key its values are stored under: `<process>/<id>`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.process, self.id)
    }
}

/// One value an indicator takes from a case or a task: `value` is `None` when it does not
/// count (its condition does not hold, its SLA is still running).
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub indicator: String,
    /// 0 for the case; a task's token for a task.
    pub item: u64,
    pub period: String,
    pub group: String,
    pub value: Option<f64>,
}

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

/// Reads an indicators file against the loaded processes; problems go to `ctx`.
pub(crate) fn load(
    ctx: &mut Ctx,
    processes: &std::collections::BTreeMap<String, Process>,
    declared: &std::collections::BTreeSet<String>,
    fields: &dyn Fn(&Process) -> HashMap<String, FieldType>,
) -> Vec<Indicator> {
    let raw = match super::raw::read_yaml::<RawIndicators>(ctx.text) {
        Ok(r) => r,
        Err(e) => {
            ctx.push(crate::diagnostic::Diagnostic::from_yaml_in(ctx.file, ctx.text, &e));
            return Vec::new();
        }
    };
    // A process whose own file does not load is that file's problem, reported there: its
    // indicators wait for it.
    if !processes.contains_key(&raw.indicators.value) && declared.contains(&raw.indicators.value) {
        return Vec::new();
    }
    let Some(process) = processes.get(&raw.indicators.value) else {
        let known: Vec<&str> = processes.keys().map(String::as_str).collect();
        ctx.unknown(loc(&raw.indicators), "process", &raw.indicators.value, known);
        return Vec::new();
    };
    let fields = fields(process);
    let mut out = Vec::new();
    for (id, r) in &raw.items.0 {
        super::load::check_ident(ctx, id, "indicator");
        if let Some(ind) = one(ctx, process, &fields, id, r) {
            out.push(ind);
        }
    }
    out
}

fn field_ref(
    ctx: &mut Ctx,
    fields: &HashMap<String, FieldType>,
    s: &S<String>,
    text: &str,
    types: &[FieldType],
) -> Option<String> {
    let name = text.strip_prefix("data.")?;
    match fields.get(name) {
        Some(t) if types.is_empty() || types.contains(t) => Some(name.to_string()),
        Some(t) => {
            let want: Vec<&str> = types.iter().map(|t| t.name()).collect();
            ctx.err(
                loc(s),
                format!("`data.{name}` is a `{}` field; this needs {}", t.name(), want.join(" or ")),
                "name a field of that type",
            );
            None
        }
        None => {
            let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
            known.sort_unstable();
            ctx.unknown(loc(s), "data field", &format!("data.{name}"), known.iter().copied());
            None
        }
    }
}

fn moment_ref(
    ctx: &mut Ctx,
    process: &Process,
    fields: &HashMap<String, FieldType>,
    s: &S<String>,
    text: &str,
) -> Option<Moment> {
    let text = text.trim();
    match text {
        "started" => return Some(Moment::Started),
        "completed" => return Some(Moment::Completed),
        _ => {}
    }
    if text.starts_with("data.") {
        return field_ref(ctx, fields, s, text, &[FieldType::Date, FieldType::DateTime]).map(Moment::Data);
    }
    if let Some(step) = text.strip_suffix(".completed") {
        if process.step(step).is_some() {
            return Some(Moment::StepCompleted(step.to_string()));
        }
        let known: Vec<&str> = process.steps.iter().map(|s| s.id.as_str()).collect();
        ctx.unknown(loc(s), "step", step, known);
        return None;
    }
    ctx.err(
        loc(s),
        format!("`{text}` is not a moment of a case"),
        "use `started`, `completed`, `<step>.completed` or `data.<date field>`",
    );
    None
}

fn one(
    ctx: &mut Ctx,
    process: &Process,
    fields: &HashMap<String, FieldType>,
    id: &S<String>,
    r: &RawIndicator,
) -> Option<Indicator> {
    let m = r.measure.value.trim();
    let measure = match m {
        "count" => Measure::Count,
        "sum" => Measure::Sum,
        "average" => Measure::Average,
        "median" => Measure::Median,
        "ratio" => Measure::Ratio,
        "sla" => Measure::Sla,
        _ => match m
            .strip_prefix("percentile ")
            .and_then(|p| p.trim().parse::<u8>().ok())
            .filter(|p| (1..=99).contains(p))
        {
            Some(p) => Measure::Percentile(p),
            None => {
                ctx.err(
                    loc(&r.measure),
                    format!("unknown measure `{m}`"),
                    "one of: count, sum, average, median, percentile 90, ratio, sla",
                );
                return None;
            }
        },
    };
    let tasks = match r.of.as_ref().map(|o| (o, o.value.trim())) {
        None | Some((_, "cases")) => None,
        Some((_, "tasks")) => {
            let step = match &r.step {
                Some(s) => match process.step(&s.value) {
                    Some(st) if matches!(st.kind, StepKind::Task { .. } | StepKind::Approval { .. }) => {
                        Some(s.value.clone())
                    }
                    Some(_) => {
                        ctx.err(loc(s), format!("step `{}` is not a task", s.value), "name a task or approval step");
                        return None;
                    }
                    None => {
                        let known: Vec<&str> = process.steps.iter().map(|s| s.id.as_str()).collect();
                        ctx.unknown(loc(s), "step", &s.value, known);
                        return None;
                    }
                },
                None => None,
            };
            Some(step)
        }
        Some((o, other)) => {
            ctx.err(loc(o), format!("unknown `of: {other}`"), "`of: cases` (the default) or `of: tasks`");
            return None;
        }
    };
    if tasks.is_none()
        && let Some(s) = &r.step
    {
        ctx.err(loc(s), "`step` applies to `of: tasks`", "add `of: tasks`, or drop `step`");
        return None;
    }
    let value = match &r.value {
        None => None,
        Some(v) => {
            let text = v.value.trim();
            if text.starts_with("data.") {
                Some(Quantity::Field(field_ref(ctx, fields, v, text, &[FieldType::Integer, FieldType::Decimal])?))
            } else if let Some(unit) = TimeUnit::parse(text).filter(|_| tasks.is_some()) {
                Some(Quantity::TaskTime(unit))
            } else {
                let parsed = text
                    .split_once(" from ")
                    .and_then(|(u, rest)| Some((TimeUnit::parse(u)?, rest.split_once(" to ")?)));
                let Some((unit, (from, to))) = parsed else {
                    let help = if tasks.is_some() {
                        "for a task: `business hours`, `business days`, `hours`, `minutes`, or `data.<number field>`"
                    } else {
                        "`data.<number field>`, or `business days from <moment> to <moment>` (started, completed, <step>.completed, data.<date field>)"
                    };
                    ctx.err(loc(v), format!("`{text}` is not a value to measure"), help);
                    return None;
                };
                let from = moment_ref(ctx, process, fields, v, from)?;
                let to = moment_ref(ctx, process, fields, v, to)?;
                // A case's value is worked out from the instance and the transition's events
                // only: a step's completion (or the end) is known in the transition it happens
                // in, never in a later one, so a duration cannot start there.
                if matches!(from, Moment::StepCompleted(_) | Moment::Completed) {
                    ctx.err(
                        loc(v),
                        "a duration starts at `started` or at a `data.<date field>`",
                        "a step's completion is known only when it happens: start at `started`, or at a date field the step's form fills in",
                    );
                    return None;
                }
                Some(Quantity::Between { unit, from, to })
            }
        }
    };
    let needs_value = matches!(measure, Measure::Sum | Measure::Average | Measure::Median | Measure::Percentile(_));
    if needs_value && value.is_none() {
        ctx.err(
            loc(&r.measure),
            format!("`measure: {m}` needs a `value`"),
            "add `value: data.<number field>` or `value: business days from started to completed`",
        );
        return None;
    }
    let sla = match (&measure, &r.sla) {
        (Measure::Sla, Some(s)) if process.sla(&s.value).is_some() => Some(s.value.clone()),
        (Measure::Sla, Some(s)) => {
            let known: Vec<&str> = process.slas.iter().map(|s| s.id.as_str()).collect();
            ctx.unknown(loc(s), "SLA", &s.value, known);
            return None;
        }
        (Measure::Sla, None) => {
            ctx.err(loc(&r.measure), "`measure: sla` needs `sla: <id>`", "name one of the process's `slas`");
            return None;
        }
        (_, Some(s)) => {
            ctx.err(loc(s), "`sla` applies to `measure: sla`", "drop it, or use `measure: sla`");
            return None;
        }
        (_, None) => None,
    };
    if tasks.is_some() && measure == Measure::Sla {
        ctx.err(loc(&r.measure), "an SLA is a case's, not a task's", "drop `of: tasks`");
        return None;
    }
    let mut expr = |s: &Option<S<String>>| -> Result<Option<Expr>, ()> {
        let Some(s) = s else { return Ok(None) };
        let e = ctx.expr(s).ok_or(())?;
        for f in e.data_fields() {
            if !fields.is_empty() && !fields.contains_key(&f) {
                let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
                known.sort_unstable();
                ctx.unknown(loc(s), "data field", &format!("data.{f}"), known.iter().copied());
                return Err(());
            }
        }
        Ok(Some(e))
    };
    let numerator = expr(&r.numerator).ok()?;
    let filter = expr(&r.where_).ok()?;
    if measure == Measure::Ratio && numerator.is_none() {
        ctx.err(
            loc(&r.measure),
            "`measure: ratio` needs a `numerator` condition",
            "e.g. `numerator: data.contacto_exitoso` over the cases `where` selects",
        );
        return None;
    }
    let group = match r.group.as_ref().map(|g| (g, g.value.trim())) {
        None => None,
        Some((_, "outcome")) => Some(Group::Outcome),
        Some((_, "status")) => Some(Group::Status),
        Some((g, "user" | "role")) if tasks.is_none() => {
            ctx.err(
                loc(g),
                format!("`group: {}` applies to `of: tasks`", g.value.trim()),
                "group cases by `data.<field>`, `outcome` or `status`",
            );
            return None;
        }
        Some((_, "user")) => Some(Group::User),
        Some((_, "role")) => Some(Group::Role),
        Some((g, text)) if text.starts_with("data.") => Some(Group::Field(field_ref(ctx, fields, g, text, &[])?)),
        Some((g, other)) => {
            ctx.err(
                loc(g),
                format!("cannot group by `{other}`"),
                "`data.<field>`, `outcome`, `status`, `user` or `role`",
            );
            return None;
        }
    };
    let period = match &r.by {
        None => None,
        Some(b) => match Period::parse(&b.value) {
            Some(p) => Some(p),
            None => {
                ctx.err(loc(b), format!("unknown period `{}`", b.value.trim()), "day, week, month, quarter or year");
                return None;
            }
        },
    };
    let target = match &r.target {
        None => None,
        Some(t) => {
            let text = t.value.trim();
            let (n, percent) = match text.strip_suffix('%') {
                Some(p) => (p.trim().parse::<f64>().ok(), true),
                None => (text.parse::<f64>().ok(), false),
            };
            match n {
                Some(n) if percent && measure.is_share() => Some(n / 100.0),
                Some(n) if !percent && !measure.is_share() => Some(n),
                Some(_) if percent => {
                    ctx.err(
                        loc(t),
                        "a percentage target is for a share (`ratio`, `sla`)",
                        "write the target as a number",
                    );
                    return None;
                }
                Some(_) => {
                    ctx.err(loc(t), "a share's target is a percentage", "e.g. `target: 95%`");
                    return None;
                }
                None => {
                    ctx.err(loc(t), format!("`{text}` is not a target"), "a number, or a percentage such as `95%`");
                    return None;
                }
            }
        }
    };
    let timed = matches!(value, Some(Quantity::Between { .. } | Quantity::TaskTime(_)));
    let higher_is_better = match r.better.as_ref().map(|b| (b, b.value.trim())) {
        None => !timed,
        Some((_, "higher")) => true,
        Some((_, "lower")) => false,
        Some((b, other)) => {
            ctx.err(loc(b), format!("unknown `better: {other}`"), "`higher` or `lower`");
            return None;
        }
    };
    Some(Indicator {
        id: id.value.clone(),
        process: process.id.clone(),
        title: r.title.value.clone(),
        source: r.source.as_ref().map(|s| s.value.clone()),
        description: r.description.as_ref().map(|s| s.value.clone()),
        measure,
        tasks,
        value,
        sla,
        numerator,
        filter,
        group,
        period,
        target,
        higher_is_better,
        unit: r.unit.as_ref().map(|u| u.value.clone()),
        file: ctx.file.to_string(),
    })
}
