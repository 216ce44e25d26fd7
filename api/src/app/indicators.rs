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

/// The period before `t`'s for indicators counted per `p`, on `cal`.
pub fn previous(
    p: tramite_engine::definition::indicators::Period,
    cal: &tramite_engine::calendar::Calendar,
    t: jiff::Timestamp,
) -> String {
    use tramite_engine::definition::indicators::Period;
    let z = t.to_zoned(cal.zone().clone());
    let back = match p {
        Period::Day => jiff::Span::new().days(1),
        Period::Week => jiff::Span::new().weeks(1),
        Period::Month => jiff::Span::new().months(1),
        Period::Quarter => jiff::Span::new().months(3),
        Period::Year => jiff::Span::new().years(1),
    };
    let earlier = z.checked_sub(back).map(|z| z.timestamp()).unwrap_or(t);
    p.key(cal, earlier)
}

/// What a report task reviews: each indicator of a process with its values in the period before
/// the task opened.
#[derive(Debug)]
pub struct TaskReport {
    pub deployed: Arc<Deployed>,
    /// Each indicator with its values, and the period they are of (`None`: an indicator without
    /// periods, all its values).
    pub parts: Vec<(IndicatorView, Option<String>)>,
}

impl TaskReport {
    /// The period the report is named after: its monthly indicators' month, else the first
    /// period of any, else none.
    pub fn period(&self) -> Option<&str> {
        let of = |want: Option<&str>| {
            self.parts.iter().find(|(v, p)| p.is_some() && want.is_none_or(|w| v.period == Some(w)))?.1.as_deref()
        };
        of(Some("month")).or_else(|| of(None))
    }

    /// The report as a workbook, and its file name.
    pub fn workbook(&self) -> Result<(String, Vec<u8>), rust_xlsxwriter::XlsxError> {
        let views: Vec<IndicatorView> = self.parts.iter().map(|(v, _)| v.clone()).collect();
        let bytes = workbook(&self.deployed.process.title, &views)?;
        let name = match self.period() {
            Some(p) => format!("informe-{}-{p}.xlsx", self.deployed.process.id),
            None => format!("informe-{}.xlsx", self.deployed.process.id),
        };
        Ok((name, bytes))
    }
}

/// The report of process `process`'s indicators for a task opened at `opened`: each indicator's
/// values in the period before (the month before, for a monthly one), worked out by the
/// database. `actor` reads it, if they may read the process; `None`: the system, making the
/// report it attaches to the task.
pub async fn task_report(
    rt: &Runtime,
    actor: Option<&Actor>,
    process: &str,
    opened: jiff::Timestamp,
) -> Result<TaskReport, AppError> {
    let d = match actor {
        Some(a) => readable(rt, a, process)?,
        None => {
            rt.registry().latest(process).ok_or_else(|| AppError::NotFound(format!("unknown process `{process}`")))?
        }
    };
    let mut parts = Vec::new();
    for ind in rt.indicators_of(&d.process.id).iter().flat_map(|l| l.iter()) {
        let period = ind.period.map(|p| previous(p, &d.calendar, opened));
        // A period key bounds itself: `2026-03` through `2026-03~` is March alone.
        let (from, to) = match &period {
            Some(p) => (p.clone(), format!("{p}~")),
            None => (String::new(), "~".to_string()),
        };
        parts.push((view(rt, ind, &from, &to).await?, period));
    }
    Ok(TaskReport { deployed: d, parts })
}

/// A workbook of indicators: a summary sheet, then a sheet per indicator with its values and a
/// native column chart (with the target as a second series).
pub fn workbook(process_title: &str, views: &[IndicatorView]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Chart, ChartType, Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0%");
    {
        let summary = book.add_worksheet().set_name("Indicadores")?;
        summary.write_with_format(0, 0, process_title, &bold)?;
        for (i, h) in ["Indicador", "Título", "Fuente", "Meta", "Hoja"].iter().enumerate() {
            summary.write_with_format(2, i as u16, *h, &bold)?;
        }
        for (r, v) in views.iter().enumerate() {
            let row = 3 + r as u32;
            summary.write(row, 0, &v.id)?;
            summary.write(row, 1, &v.title)?;
            summary.write(row, 2, v.source.as_deref().unwrap_or(""))?;
            if let Some(t) = v.target {
                summary.write(row, 3, t)?;
            }
            summary.write(row, 4, sheet_name(r))?;
        }
    }
    for (r, v) in views.iter().enumerate() {
        let name = sheet_name(r);
        let sheet = book.add_worksheet().set_name(&name)?;
        sheet.write_with_format(0, 0, &v.title, &bold)?;
        for (i, h) in ["Periodo", "Grupo", "Valor", "n", "Meta"].iter().enumerate() {
            sheet.write_with_format(1, i as u16, *h, &bold)?;
        }
        for (i, p) in v.points.iter().enumerate() {
            let row = 2 + i as u32;
            sheet.write(row, 0, &p.period)?;
            sheet.write(row, 1, &p.group)?;
            if let Some(x) = p.value {
                if v.share {
                    sheet.write_with_format(row, 2, x, &percent)?;
                } else {
                    sheet.write(row, 2, x)?;
                }
            }
            sheet.write(row, 3, p.n as f64)?;
            if let Some(t) = v.target {
                if v.share {
                    sheet.write_with_format(row, 4, t, &percent)?;
                } else {
                    sheet.write(row, 4, t)?;
                }
            }
        }
        if !v.points.is_empty() {
            let last = 1 + v.points.len() as u32;
            let mut chart = Chart::new(ChartType::Column);
            chart
                .add_series()
                .set_categories((name.as_str(), 2, 0, last, 0))
                .set_values((name.as_str(), 2, 2, last, 2))
                .set_name(v.title.as_str());
            if v.target.is_some() {
                chart
                    .add_series()
                    .set_categories((name.as_str(), 2, 0, last, 0))
                    .set_values((name.as_str(), 2, 4, last, 4))
                    .set_name("Meta");
            }
            chart.title().set_name(v.title.as_str());
            sheet.insert_chart(1, 6, &chart)?;
        }
    }
    book.save_to_buffer()
}

fn sheet_name(i: usize) -> String {
    format!("I{}", i + 1)
}
