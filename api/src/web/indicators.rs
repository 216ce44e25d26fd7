//! A process's indicators in the browser: each one as a bar chart (SVG drawn here) with its
//! target, the same numbers in a table, a link from every bar to the cases behind it, and the
//! whole set as CSV or as an Excel workbook with a native chart per indicator.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::chart::{self, Bar};
use super::error::WebError;
use super::page::{Chrome, query_href};
use super::session::Session;
use crate::app::{self, IndicatorView};
use crate::runtime::Runtime;
use crate::store::MeasureCase;

/// A value as shown and the link to the cases behind it.
pub type Cell = (String, String);

/// One indicator's values in a report: its title, its period, and (group, value) lines.
pub type ReportLine = (String, String, Vec<(String, String)>);

/// One indicator as the page shows it.
#[derive(Debug)]
pub struct Card {
    pub id: String,
    pub title: String,
    pub source: Option<String>,
    pub description: Option<String>,
    pub target: Option<String>,
    pub unit: Option<String>,
    /// What the chart shows (`per month`, or the latest period's groups).
    pub caption: String,
    pub svg: String,
    /// The table: a header of groups, and per period its cells (value and drill-down link).
    pub groups: Vec<String>,
    pub rows: Vec<(String, Vec<Option<Cell>>)>,
}

#[derive(Template)]
#[template(path = "web/indicators.html")]
struct IndicatorsPage {
    c: Chrome,
    process: String,
    title: String,
    from: String,
    to: String,
    cards: Vec<Card>,
    csv: String,
    xlsx: String,
}

#[derive(Template)]
#[template(path = "web/indicator_cases.html")]
struct CasesPage {
    c: Chrome,
    process: String,
    process_title: String,
    title: String,
    period: String,
    group: String,
    cases: Vec<MeasureCase>,
    share: bool,
}

#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

fn cases_href(process: &str, indicator: &str, period: &str, group: &str) -> String {
    query_href(&format!("/indicators/{process}/{indicator}"), &[("period", Some(period)), ("group", Some(group))], None)
}

fn shown_group(g: &str, l: super::i18n::Lang) -> String {
    if g.is_empty() { l.t("indicators.no_value").to_string() } else { g.to_string() }
}

fn card(process: &str, v: &IndicatorView, l: super::i18n::Lang) -> Card {
    let groups: Vec<String> = v.points.iter().map(|p| p.group.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let periods: Vec<String> = v.points.iter().map(|p| p.period.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let bar = |p: &app::Point, label: String| {
        p.value.map(|value| Bar {
            label,
            value,
            href: cases_href(process, &v.id, &p.period, &p.group),
            meets_target: p.meets_target,
        })
    };
    // Grouped: the latest period's groups; else one bar per period.
    let (bars, caption): (Vec<Bar>, String) = if v.group.is_some() {
        let last = periods.last().cloned().unwrap_or_default();
        let bars =
            v.points.iter().filter(|p| p.period == last).filter_map(|p| bar(p, shown_group(&p.group, l))).collect();
        let caption = if last.is_empty() {
            l.t("indicators.by_group").to_string()
        } else {
            format!("{} {last}", l.t("indicators.by_group_in"))
        };
        (bars, caption)
    } else {
        let bars = v
            .points
            .iter()
            .filter_map(|p| {
                bar(p, if p.period.is_empty() { l.t("indicators.total").to_string() } else { p.period.clone() })
            })
            .collect();
        (bars, l.t("indicators.by_period").to_string())
    };
    let rows = periods
        .iter()
        .map(|period| {
            let cells = groups
                .iter()
                .map(|g| {
                    let p = v.points.iter().find(|p| &p.period == period && &p.group == g)?;
                    let value = p.value.map(|x| chart::number(x, v.share))?;
                    Some((value, cases_href(process, &v.id, period, g)))
                })
                .collect();
            (if period.is_empty() { l.t("indicators.total").to_string() } else { period.clone() }, cells)
        })
        .collect();
    Card {
        id: v.id.clone(),
        title: v.title.clone(),
        source: v.source.clone(),
        description: v.description.clone(),
        target: v.target.map(|t| chart::number(t, v.share)),
        unit: v.unit.clone(),
        caption,
        svg: chart::bars(&v.title, &bars, v.target, v.share),
        groups: if v.group.is_some() {
            groups.iter().map(|g| shown_group(g, l)).collect()
        } else {
            vec![l.t("indicators.value").to_string()]
        },
        rows,
    }
}

/// `GET /indicators/{process}`: the page, or with `format=csv|xlsx` the download.
pub async fn page(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path(process): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Response, WebError> {
    let l = s.lang;
    let views = app::indicators(&rt, &s.actor(), &process, q.from.as_deref(), q.to.as_deref())
        .await
        .map_err(|e| WebError::from_app(e, l))?;
    let d = rt.registry().latest(&process).ok_or(WebError::NotFound(l))?;
    match q.format.as_deref() {
        Some("csv") => {
            return Ok(download(
                &format!("{process}-indicadores.csv"),
                "text/csv; charset=utf-8",
                csv(&views).into_bytes(),
            ));
        }
        Some("xlsx") => {
            let bytes = app::workbook(&d.process.title, &views).map_err(WebError::internal)?;
            return Ok(download(
                &format!("{process}-indicadores.xlsx"),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                bytes,
            ));
        }
        Some("") | None => {}
        Some(_) => return Err(WebError::Invalid(l, "format: csv o xlsx".into())),
    }
    let here = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let (from, to) = (q.from.clone().unwrap_or_default(), q.to.clone().unwrap_or_default());
    let link = |format: &str| {
        query_href(
            &format!("/indicators/{process}"),
            &[("from", Some(&from)), ("to", Some(&to)), ("format", Some(format))],
            None,
        )
    };
    let page = IndicatorsPage {
        c: Chrome::new(&s, format!("{} · {}", l.t("indicators.title"), d.process.title), &here, "processes"),
        title: d.process.title.clone(),
        cards: views.iter().map(|v| card(&process, v, l)).collect(),
        csv: link("csv"),
        xlsx: link("xlsx"),
        process,
        from,
        to,
    };
    Ok(Html(page.render()?).into_response())
}

fn download(name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct BarQuery {
    period: Option<String>,
    group: Option<String>,
}

/// `GET /indicators/{process}/{indicator}`: the cases behind one bar.
pub async fn cases(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path((process, indicator)): Path<(String, String)>,
    Query(q): Query<BarQuery>,
) -> Result<Html<String>, WebError> {
    let l = s.lang;
    let (period, group) = (q.period.unwrap_or_default(), q.group.unwrap_or_default());
    let cases = app::indicator_cases(&rt, &s.actor(), &process, &indicator, &period, &group)
        .await
        .map_err(|e| WebError::from_app(e, l))?;
    let d = rt.registry().latest(&process).ok_or(WebError::NotFound(l))?;
    let ind = rt.indicators_of(&process).and_then(|list| list.iter().find(|i| i.id == indicator).cloned());
    let ind = ind.ok_or(WebError::NotFound(l))?;
    let here = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let page = CasesPage {
        c: Chrome::new(&s, ind.title.clone(), &here, "processes"),
        process,
        process_title: d.process.title.clone(),
        title: ind.title.clone(),
        period,
        group: shown_group(&group, l),
        cases,
        share: ind.measure.is_share(),
    };
    Ok(Html(page.render()?))
}

/// Every value of every indicator, one line each.
fn csv(views: &[IndicatorView]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["indicador", "titulo", "periodo", "grupo", "valor", "n", "meta", "cumple"]);
    for v in views {
        for p in &v.points {
            let value = p.value.map(|x| x.to_string()).unwrap_or_default();
            let target = v.target.map(|t| t.to_string()).unwrap_or_default();
            let meets = p.meets_target.map(|m| if m { "si" } else { "no" }).unwrap_or_default();
            let row = [
                v.id.as_str(),
                &app::plain_cell(&v.title),
                &app::plain_cell(&p.period),
                &app::plain_cell(&p.group),
                &value,
                &p.n.to_string(),
                &target,
                meets,
            ];
            let _ = w.write_record(row);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A workbook: a summary sheet, and per indicator a sheet with its values and a native column
/// chart of them (the target as a second series when there is one).
/// The indicators a report task shows: each one's values in the period before the task opened
/// (the month before, for monthly indicators), with links to the whole page and the workbook.
#[derive(Debug)]
pub struct Report {
    pub title: String,
    pub lines: Vec<ReportLine>,
    pub page: String,
    pub xlsx: String,
    /// The workbook attached to the task when it opened (its name and link), once made.
    pub attached: Option<(String, String)>,
}

/// The report of process `process`'s indicators for a task opened at `opened`, if the user may
/// read that process.
pub async fn report(rt: &Runtime, s: &Session, process: &str, opened: jiff::Timestamp) -> Option<Report> {
    let l = s.lang;
    let r = app::task_report(rt, Some(&s.actor()), process, opened).await.ok()?;
    let lines = r
        .parts
        .iter()
        .map(|(v, period)| {
            let values = v
                .points
                .iter()
                .filter_map(|p| Some((shown_group(&p.group, l), chart::number(p.value?, v.share))))
                .collect();
            (v.title.clone(), period.clone().unwrap_or_else(|| l.t("indicators.total").to_string()), values)
        })
        .collect();
    let month = r.parts.iter().find(|(v, p)| p.is_some() && v.period == Some("month")).and_then(|(_, p)| p.as_deref());
    let range = |format: Option<&str>| {
        query_href(&format!("/indicators/{process}"), &[("from", month), ("to", month), ("format", format)], None)
    };
    Some(Report {
        title: r.deployed.process.title.clone(),
        lines,
        page: range(None),
        xlsx: range(Some("xlsx")),
        attached: None,
    })
}
