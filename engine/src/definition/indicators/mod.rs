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

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Map;

use super::raw::{Entries, S};
use crate::calendar::Calendar;
use crate::expr::Expr;

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

mod check;
pub(crate) use check::load;
mod values;
pub use values::contributions;
