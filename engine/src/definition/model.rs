//! The validated process model the machine runs. Built only by [`super::load`]; every reference
//! in it (step, role, form, process) has been checked.

use std::collections::HashMap;

use crate::calendar::{Duration, Offset, Warn};
use crate::diagnostic::Loc;
use crate::expr::Expr;

/// Index of a step in [`Process::steps`].
pub type StepIx = usize;

/// A validated process definition.
#[derive(Debug, Clone)]
pub struct Process {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub source: Option<String>,
    pub calendar: String,
    /// Role id → human title, in file order.
    pub roles: Vec<(String, String)>,
    pub start: Start,
    pub steps: Vec<Step>,
    pub slas: Vec<Sla>,
    pub schedules: Vec<Schedule>,
    /// The file it was read from.
    pub file: String,
    /// The templates its messages name, by name.
    pub templates: std::collections::BTreeMap<String, Template>,
    index: HashMap<String, StepIx>,
}

impl Process {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: String,
        title: String,
        description: Option<String>,
        source: Option<String>,
        calendar: String,
        roles: Vec<(String, String)>,
        start: Start,
        steps: Vec<Step>,
        slas: Vec<Sla>,
        schedules: Vec<Schedule>,
        file: String,
    ) -> Process {
        let index = steps.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        let templates = std::collections::BTreeMap::new();
        Process {
            id,
            title,
            description,
            source,
            calendar,
            roles,
            start,
            steps,
            slas,
            schedules,
            file,
            templates,
            index,
        }
    }

    /// The step with this id.
    pub fn step_ix(&self, id: &str) -> Option<StepIx> {
        self.index.get(id).copied()
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.step_ix(id).map(|i| &self.steps[i])
    }

    /// The first step in file order is where every instance begins.
    pub fn first_step(&self) -> StepIx {
        0
    }

    pub fn role_title(&self, role: &str) -> Option<&str> {
        self.roles.iter().find(|(id, _)| id == role).map(|(_, t)| t.as_str())
    }

    pub fn sla(&self, id: &str) -> Option<&Sla> {
        self.slas.iter().find(|s| s.id == id)
    }
}

/// How instances start.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub form: Option<String>,
    /// Roles allowed to start an instance by hand; empty means any signed-in user.
    pub roles: Vec<String>,
    /// How the server numbers the cases (`COR-{year}-{seq:05}`).
    pub folio: Option<super::Folio>,
    /// The start form is open to the public.
    pub public: Option<Public>,
    /// Each new message of a mailbox starts a case.
    pub mailbox: Option<Mailbox>,
}

/// A start form open to the public (no account): `/p/<process>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Public {
    /// A date-time field the server sets to the moment the form arrives.
    pub received: Option<String>,
    /// What the page says once the form is sent.
    pub thanks: Option<String>,
}

/// Which form field each part of an incoming e-mail fills (each optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mailbox {
    pub from: Option<String>,
    pub name: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub date: Option<String>,
    pub attachment: Option<String>,
}

/// One step of a process.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub loc: Loc,
    pub kind: StepKind,
    /// Messages sent when the step completes (or, `on_entry`, when it is entered).
    pub send: Vec<Message>,
    /// A task answerable through a signed link for this long after the link is sent.
    pub link: Option<Duration>,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// A person of `role` does something, optionally filling `form`.
    Task { work: Work, next: Next },
    /// A person of `role` approves (→ `approve`) or rejects with a comment (→ `reject`).
    Approval { work: Work, approve: Target, reject: Target },
    /// Ordered conditions over the data; the last arm is the default.
    Decision { next: Next },
    /// Branches that run at once and meet again at `join`. With `for_each`, the single branch
    /// runs once per element of the list (read as `item` inside it); the elements, with what
    /// their branches filled in, are stored as `data.<step>` when the step joins.
    Parallel { branches: Vec<Branch>, join: JoinMode, next: Next, for_each: Option<Expr> },
    /// Waits until an instant, then continues.
    Wait { until: When, next: Next },
    /// Starts another process and waits for it to end. `at` is where `call:` is written, and
    /// each input value is the field name, the expression and where the name is written.
    Call { process: String, input: Vec<(String, Expr, Loc)>, next: Next, at: Loc },
    /// Ends the instance with an outcome.
    End { outcome: String },
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Task { .. } => "task",
            StepKind::Approval { .. } => "approval",
            StepKind::Decision { .. } => "decision",
            StepKind::Parallel { .. } => "parallel",
            StepKind::Wait { .. } => "wait",
            StepKind::Call { .. } => "call",
            StepKind::End { .. } => "end",
        }
    }

    /// The human part of a task or approval.
    pub fn work(&self) -> Option<&Work> {
        match self {
            StepKind::Task { work, .. } | StepKind::Approval { work, .. } => Some(work),
            _ => None,
        }
    }
}

/// The human part of a task or approval.
#[derive(Debug, Clone)]
pub struct Work {
    /// The role id; for a role taken from the data, the expression as written.
    pub role: String,
    /// `role: item.responsable`: the role is the value of this field at run time (a `choice`
    /// whose options are all roles of the process).
    pub role_from: Option<Expr>,
    /// The scope the role is held in, read from the case (`scope: data.area`): the task goes to
    /// the holders of `role@<value>` (and of the role in every scope).
    pub scope: Option<Expr>,
    /// A person named in the case who gets the task instead of the role's holders.
    pub assignee: Option<Expr>,
    pub form: Option<String>,
    pub due: Option<Due>,
}

/// A deadline on a step and what happens when it passes; optionally a warning before it.
#[derive(Debug, Clone)]
pub struct Due {
    pub at: When,
    pub on_overdue: Vec<Action>,
    /// When to warn, counted like an SLA's warning (from the step's start to its deadline).
    pub warn: Option<Warn>,
    /// What the warning does; empty: tell the task's role.
    pub on_warning: Vec<Action>,
}

/// A branch of a parallel step.
#[derive(Debug, Clone)]
pub struct Branch {
    pub start: StepIx,
    /// A deadline for the whole branch, counted from the fork.
    pub due: Option<Due>,
}

/// How a parallel step joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinMode {
    /// Continue once every branch has finished.
    All,
    /// Continue when the first branch finishes; the others are cancelled.
    Any,
}

/// Where control goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Step(StepIx),
    /// End the instance with outcome `completed`.
    End,
    /// Finish the current parallel branch.
    Join,
}

/// Ordered arms; the first whose condition holds (or which has none) wins.
#[derive(Debug, Clone)]
pub struct Next(pub Vec<Arm>);

#[derive(Debug, Clone)]
pub struct Arm {
    pub when: Option<Expr>,
    pub target: Target,
}

/// An instant, relative to when something began or to a date in the data.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// `2 business days`: after the moment the step (or SLA) began.
    After(Duration),
    /// `90 days before data.fecha`.
    BeforeField(Duration, String),
    /// `3 business days after data.fecha`.
    AfterField(Duration, String),
    /// `data.fecha`.
    Field(String),
    /// An expression yielding a date or date-time (`item.fecha_compromiso`,
    /// `add_days(data.fecha, 5 - weekday(data.fecha))`), optionally moved by an offset
    /// (`15 days before add_days(…)`).
    Expr { expr: Expr, offset: Option<Offset> },
}

impl When {
    /// The data field this instant depends on, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            When::After(_) | When::Expr { .. } => None,
            When::BeforeField(_, f) | When::AfterField(_, f) | When::Field(f) => Some(f),
        }
    }

    /// Whether the instant is counted in business time (for how pauses move an SLA).
    pub fn is_business(&self) -> bool {
        use crate::calendar::Unit::{BusinessDays, BusinessHours};
        let unit = match self {
            When::After(d) | When::BeforeField(d, _) | When::AfterField(d, _) => Some(d.unit),
            When::Expr { offset, .. } => offset.map(|o| o.duration.unit),
            When::Field(_) => None,
        };
        matches!(unit, Some(BusinessDays | BusinessHours))
    }
}

/// What a passed deadline or SLA threshold does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Notify(String),
    Reassign(String),
    Goto(StepIx),
    Send(Box<Message>),
}

/// A message from a template of the process, to addresses read from the case and to the
/// holders of roles.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The template's name (`<process folder>/messages/<name>.hbs`).
    pub template: String,
    /// The address or the list of addresses (`data.correo`).
    pub to: Option<Expr>,
    pub roles: Vec<String>,
    /// `file` fields whose files go with the message.
    pub attach: Vec<String>,
    /// A step whose open task the message links to (answerable without an account).
    pub link: Option<StepIx>,
    /// Sent only when this holds.
    pub condition: Option<Expr>,
    /// Sent when the step is entered rather than when it completes.
    pub on_entry: bool,
}

/// A template of the process, as written, for the server to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Where it was read from.
    pub file: String,
    pub text: String,
}

/// A moment in an instance's life that starts or stops an SLA clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    Started,
    Completed,
    Entered(StepIx),
    Left(StepIx),
    /// A date or date-time field of the data (`from` only).
    Data(String),
}

/// A service-level agreement: from an anchor until another, within a time or by a deadline.
#[derive(Debug, Clone)]
pub struct Sla {
    pub id: String,
    pub title: String,
    pub from: Anchor,
    pub until: Anchor,
    pub target: SlaTarget,
    pub warn: Option<Warn>,
    pub pause: Vec<StepIx>,
    pub on_warning: Vec<Action>,
    pub on_breach: Vec<Action>,
    /// `when`: the SLA applies only to instances for which this holds when its clock would start.
    pub when: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SlaTarget {
    Within(Duration),
    Deadline(When),
}

/// A cron trigger that starts an instance with fixed data.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: String,
    pub title: Option<String>,
    pub cron: String,
    pub timezone: String,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub non_business_day: NonBusinessDay,
}

/// What a schedule does when its cron line falls on a day that is not a business day of the
/// process's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonBusinessDay {
    /// Fire then anyway (a cron line says exactly when).
    #[default]
    Keep,
    /// Fire on the next business day, at the same time of day.
    Next,
    /// Fire on the business day before, at the same time of day.
    Previous,
}

/// Most days a firing moves to reach a business day (a long run of holidays and a weekend).
const MAX_MOVE_DAYS: i64 = 21;

impl Schedule {
    /// The first instant strictly after `after` at which this schedule fires, in its zone, a
    /// firing on a non-business day of `cal` moved as [`Schedule::non_business_day`] says (two
    /// firings moved onto one instant fire once).
    pub fn next_after(&self, after: jiff::Timestamp, cal: &crate::calendar::Calendar) -> Option<jiff::Timestamp> {
        use std::str::FromStr;
        let cron = croner::Cron::from_str(&self.cron).ok()?;
        let zone = jiff::tz::TimeZone::get(&self.timezone).ok()?;
        if self.non_business_day == NonBusinessDay::Keep {
            return cron.find_next_occurrence(&after.to_zoned(zone), false).ok().map(|z| z.timestamp());
        }
        // A firing before `after` may move past it (Sunday's report moved to Monday), and with
        // `previous` a later one may move before an earlier one: look at the firings from a
        // little before `after`, and keep the first moved instant past it.
        let back = jiff::SignedDuration::from_hours(24 * MAX_MOVE_DAYS);
        let mut at = after.checked_sub(back).ok()?.to_zoned(zone.clone());
        let mut best: Option<jiff::Timestamp> = None;
        for _ in 0..10_000 {
            let fire = cron.find_next_occurrence(&at, false).ok()?;
            if best.is_some_and(|b| fire.timestamp() > b.checked_add(back).unwrap_or(b)) {
                break;
            }
            if let Some(moved) = self.moved(&fire, cal)
                && moved > after
                && best.is_none_or(|b| moved < b)
            {
                best = Some(moved);
            }
            at = fire;
        }
        best
    }

    /// A firing moved to a business day, at the same time of day in the schedule's zone.
    fn moved(&self, fire: &jiff::Zoned, cal: &crate::calendar::Calendar) -> Option<jiff::Timestamp> {
        let step = match self.non_business_day {
            NonBusinessDay::Keep => return Some(fire.timestamp()),
            NonBusinessDay::Next => 1,
            NonBusinessDay::Previous => -1,
        };
        let mut date = fire.date();
        for _ in 0..=MAX_MOVE_DAYS {
            if cal.is_business_day(date) {
                return date.to_datetime(fire.time()).to_zoned(fire.time_zone().clone()).ok().map(|z| z.timestamp());
            }
            date = date.checked_add(jiff::Span::new().days(step)).ok()?;
        }
        None
    }
}
