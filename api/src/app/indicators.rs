//! Indicators as people read them: each of a process's indicators, its value per period and
//! group (aggregated by the database), its target and whether each value meets it, and the
//! cases behind a value. Readable by whoever may read the process.

use std::sync::Arc;

use serde::Serialize;
use tramite_engine::definition::indicators::{Group, Indicator, Measure};
use tramite_engine::machine::Actor;
use utoipa::ToSchema;

use super::{AppError, may_read_process};
use crate::runtime::{Deployed, Runtime};
use crate::store::MeasureCase;

/// One value of an indicator.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Point {
    /// `2026-03`, `2026-W11`, … (empty when the indicator has no period).
    pub period: String,
    /// The group's value (empty when not grouped, or for cases without it).
    pub group: String,
    /// The indicator's value: a count, a sum, a mean, a percentile, or a share from 0 to 1.
    pub value: Option<f64>,
    /// How many cases or tasks it is worked out from.
    pub n: i64,
    /// Whether it meets the target, when there is one.
    pub meets_target: Option<bool>,
}

/// An indicator with its values.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorView {
    pub id: String,
    pub title: String,
    pub source: Option<String>,
    pub description: Option<String>,
    pub measure: String,
    /// `cases` or `tasks`.
    pub of: &'static str,
    pub unit: Option<String>,
    pub period: Option<&'static str>,
    /// What the values are grouped by (`data.tema`, `user`, …).
    pub group: Option<String>,
    pub target: Option<f64>,
    /// Whether values are shares (0 to 1, shown as percentages).
    pub share: bool,
    pub higher_is_better: bool,
    pub points: Vec<Point>,
}

fn group_name(g: &Group) -> String {
    match g {
        Group::Field(f) => format!("data.{f}"),
        Group::Outcome => "outcome".into(),
        Group::Status => "status".into(),
        Group::User => "user".into(),
        Group::Role => "role".into(),
    }
}

/// The process `id`, when the actor may read it.
fn readable(rt: &Runtime, actor: &Actor, id: &str) -> Result<Arc<Deployed>, AppError> {
    let d = rt.registry().latest(id).ok_or_else(|| AppError::NotFound(format!("unknown process `{id}`")))?;
    if !may_read_process(actor, &d.process) {
        return Err(AppError::forbidden("this process belongs to roles you do not hold"));
    }
    Ok(d)
}

/// Whether `t` is a period key: `2026`, `2026-Q1`, `2026-W11`, `2026-03` or `2026-03-11`.
pub fn is_period(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    match b.len() {
        4 => digits(0..4),
        7 if b[4] == b'-' && b[5] == b'Q' => digits(0..4) && (b'1'..=b'4').contains(&b[6]),
        7 if b[4] == b'-' => digits(0..4) && digits(5..7),
        8 => digits(0..4) && b[4] == b'-' && b[5] == b'W' && digits(6..8),
        10 => digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10),
        _ => false,
    }
}

/// A period bound as given (exactly; empty: none).
fn bound(text: Option<&str>, field: &str) -> Result<Option<String>, AppError> {
    match text {
        None | Some("") => Ok(None),
        Some(t) if is_period(t) => Ok(Some(t.to_string())),
        Some(_) => Err(AppError::field(
            "invalid_query",
            field,
            "Debe ser un periodo: 2026, 2026-Q1, 2026-W11, 2026-03 o 2026-03-11.",
        )),
    }
}

/// The indicators of process `id` with their values for periods `from` through `to` (each
/// optional, inclusive; a bound is compared with the period keys, so `2026-03` takes every
/// period of March and after).
pub async fn indicators(
    rt: &Runtime,
    actor: &Actor,
    id: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<IndicatorView>, AppError> {
    let d = readable(rt, actor, id)?;
    let from = bound(from, "from")?.unwrap_or_default();
    // The upper bound takes every period that begins with it (`2026-03` takes `2026-03-31`).
    let to = bound(to, "to")?.map(|t| format!("{t}~")).unwrap_or_else(|| "~".into());
    let mut out = Vec::new();
    for ind in rt.indicators_of(&d.process.id).iter().flat_map(|l| l.iter()) {
        out.push(view(rt, ind, &from, &to).await?);
    }
    Ok(out)
}

async fn view(rt: &Runtime, ind: &Indicator, from: &str, to: &str) -> Result<IndicatorView, AppError> {
    let key = ind.key();
    let totals = rt.store.measure_totals(&key, from, to).await?;
    let percentile = match ind.measure {
        Measure::Median => Some(50),
        Measure::Percentile(p) => Some(i64::from(p)),
        _ => None,
    };
    let ranks = match percentile {
        Some(p) => rt.store.measure_percentile(&key, &totals, p).await?,
        None => Vec::new(),
    };
    let points = totals
        .into_iter()
        .filter(|t| t.n > 0 || ind.measure == Measure::Count)
        .map(|t| {
            let value = match ind.measure {
                Measure::Count => Some(t.n as f64),
                Measure::Sum => t.total,
                Measure::Average | Measure::Ratio | Measure::Sla => t.mean,
                Measure::Median | Measure::Percentile(_) => {
                    ranks.iter().find(|(p, g, _)| *p == t.period && *g == t.group).map(|(_, _, v)| *v)
                }
            };
            let meets_target = match (value, ind.target) {
                (Some(v), Some(target)) => Some(if ind.higher_is_better { v >= target } else { v <= target }),
                _ => None,
            };
            Point { period: t.period, group: t.group, value, n: t.n, meets_target }
        })
        .collect();
    Ok(IndicatorView {
        id: ind.id.clone(),
        title: ind.title.clone(),
        source: ind.source.clone(),
        description: ind.description.clone(),
        measure: ind.measure.name(),
        of: if ind.tasks.is_some() { "tasks" } else { "cases" },
        unit: ind.unit.clone(),
        period: ind.period.map(|p| p.name()),
        group: ind.group.as_ref().map(group_name),
        target: ind.target,
        share: ind.measure.is_share(),
        higher_is_better: ind.higher_is_better,
        points,
    })
}

/// The cases behind the value of indicator `indicator` of process `id` in `period` and
/// `group`: up to 200, newest first.
pub async fn indicator_cases(
    rt: &Runtime,
    actor: &Actor,
    id: &str,
    indicator: &str,
    period: &str,
    group: &str,
) -> Result<Vec<MeasureCase>, AppError> {
    let d = readable(rt, actor, id)?;
    if !(period.is_empty() || is_period(period)) {
        return Err(AppError::field(
            "invalid_query",
            "period",
            "Debe ser un periodo: 2026, 2026-Q1, 2026-W11, 2026-03 o 2026-03-11.",
        ));
    }
    if group.chars().count() > 500 {
        return Err(AppError::field("invalid_query", "group", "Es demasiado largo."));
    }
    let known = rt.indicators_of(&d.process.id).is_some_and(|l| l.iter().any(|i| i.id == indicator));
    if !known {
        return Err(AppError::NotFound(format!("process `{id}` has no indicator `{indicator}`")));
    }
    Ok(rt.store.measure_cases(&format!("{}/{indicator}", d.process.id), period, group, 200).await?)
}
