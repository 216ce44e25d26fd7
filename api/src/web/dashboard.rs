//! The admin dashboard: breached and at-risk tasks, SLA compliance per process and per step over
//! a date range, alert history, counts by a form field per month, and the exports.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Html;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;
use tramite_engine::calendar::SlaState;
use tramite_engine::definition::FieldType;

use super::error::WebError;
use super::fields;
use super::i18n::Lang;
use super::inbox::{self, Choice, Row};
use super::page::{Chrome, local, urlencode};
use super::session::Session;
use crate::app::{self, InboxFilter};
use crate::runtime::{Deployed, Runtime};
use crate::store::SlaFilter;

/// A compliance line: met on time out of those decided (met, late, or breached and still open).
#[derive(Debug, Default, Clone)]
pub struct Compliance {
    pub label: String,
    pub sub: String,
    pub total: usize,
    pub met: usize,
    pub late: usize,
    pub breached: usize,
    pub open: usize,
}

impl Compliance {
    pub fn percent(&self) -> String {
        let decided = self.met + self.late + self.breached;
        if decided == 0 { "—".into() } else { format!("{:.0} %", 100.0 * self.met as f64 / decided as f64) }
    }
}

/// One bar of a chart.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub count: usize,
    /// Width in percent of the largest bar.
    pub width: usize,
}

#[derive(Debug, Clone)]
pub struct Month {
    pub month: String,
    pub bars: Vec<Bar>,
}

#[derive(Debug)]
pub struct AlertLine {
    pub when: String,
    pub process: String,
    pub instance: String,
    pub folio: String,
    /// The kind's text key and badge class.
    pub kind: (&'static str, &'static str),
    pub roles: String,
    pub about: String,
}

#[derive(Debug)]
pub struct MessageLine {
    pub when: String,
    pub instance: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub sent: Option<String>,
    pub attempts: i64,
    pub error: Option<String>,
}

/// A call step stuck on an incident, as the dashboard lists it.
#[derive(Debug)]
pub struct IncidentLine {
    pub instance: String,
    pub process: String,
    pub step: String,
    pub called: String,
    pub message: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "web/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    /// Definition files (or stored versions) not served: (file, what, diagnostics as text).
    not_deployed: Vec<(String, String, String)>,
    incidents: Vec<IncidentLine>,
    from: String,
    to: String,
    breached: Vec<Row>,
    at_risk: Vec<Row>,
    by_process: Vec<Compliance>,
    by_step: Vec<Compliance>,
    processes: Vec<Choice>,
    chart_fields: Vec<Choice>,
    chart_title: String,
    months: Vec<Month>,
    alerts: Vec<AlertLine>,
    messages: Vec<MessageLine>,
    export_query: String,
    /// Each process with indicators: id, title, how many.
    indicator_links: Vec<(String, String, usize)>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Params {
    pub from: Option<String>,
    pub to: Option<String>,
    pub process: Option<String>,
    pub field: Option<String>,
}

fn alert_kind(k: tramite_engine::machine::AlertKind) -> (&'static str, &'static str) {
    use tramite_engine::machine::AlertKind;
    match k {
        AlertKind::Assigned => ("alert.assigned", "badge none"),
        AlertKind::SlaWarning => ("alert.sla-warning", "badge warn"),
        AlertKind::SlaBreach => ("alert.sla-breach", "badge bad"),
        AlertKind::DueWarning => ("alert.due-warning", "badge warn"),
        AlertKind::Overdue => ("alert.overdue", "badge bad"),
    }
}

/// The zone dates are read in: the calendar of the first deployed process (all ship on one).
pub fn zone(rt: &Runtime) -> TimeZone {
    rt.registry().all_latest().first().map(|d| d.calendar.zone().clone()).unwrap_or(TimeZone::UTC)
}

/// `[from, to]` as dates (default: the start of the month two months back, through today) and as
/// the instants `[from 00:00, the day after to 00:00)` in `tz`.
pub fn range(p: &Params, tz: &TimeZone, now: Timestamp) -> (Date, Date, Timestamp, Timestamp) {
    let today = now.to_zoned(tz.clone()).date();
    let default_from = today.first_of_month().checked_sub(2.months()).unwrap_or(today);
    let parse = |s: &Option<String>| s.as_deref().and_then(|x| x.parse::<Date>().ok());
    let from = parse(&p.from).unwrap_or(default_from);
    let to = parse(&p.to).unwrap_or(today).max(from);
    // A date at the edge of what can be represented reaches as far as time does.
    let at = |d: Date, edge: Timestamp| d.to_zoned(tz.clone()).map(|z| z.timestamp()).unwrap_or(edge);
    let end = to.tomorrow().map(|t| at(t, Timestamp::MAX)).unwrap_or(Timestamp::MAX);
    (from, to, at(from, Timestamp::MIN), end)
}

/// The fields a chart can count by: choices and yes/no questions of the process's forms.
pub fn chart_fields(d: &Deployed) -> Vec<(String, String)> {
    fields::process_fields(d)
        .into_iter()
        .filter(|f| matches!(f.kind, FieldType::Choice | FieldType::MultiChoice | FieldType::Boolean))
        .map(|f| (f.name.clone(), f.label.clone()))
        .collect()
}

/// Counts of each value of `field` per month the instances started.
async fn chart(
    rt: &Runtime,
    d: &Deployed,
    field: &str,
    from: Timestamp,
    to: Timestamp,
    lang: Lang,
) -> Result<Vec<Month>, WebError> {
    let defs = fields::process_fields(d);
    let def = defs.iter().find(|f| f.name == field).copied();
    let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (_, inst) in rt.store.instances_between(&d.process.id, from, to, 20_000).await? {
        let month = inst.started_at.to_zoned(d.calendar.zone().clone()).strftime("%Y-%m").to_string();
        let values: Vec<String> = match inst.data.get(field) {
            None | Some(serde_json::Value::Null) => vec![lang.t("dash.empty_value").to_string()],
            Some(serde_json::Value::Array(items)) => items.iter().map(|i| fields::display(def, i, lang)).collect(),
            Some(v) => vec![fields::display(def, v, lang)],
        };
        for v in values {
            *counts.entry(month.clone()).or_default().entry(v).or_default() += 1;
        }
    }
    let max = counts.values().flat_map(|m| m.values()).copied().max().unwrap_or(1).max(1);
    Ok(counts
        .into_iter()
        .map(|(month, m)| {
            let mut bars: Vec<Bar> =
                m.into_iter().map(|(label, count)| Bar { label, count, width: (count * 100).div_ceil(max) }).collect();
            bars.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
            Month { month, bars }
        })
        .collect())
}

pub async fn page(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Query(p): Query<Params>,
) -> Result<Html<String>, WebError> {
    if !s.user.admin {
        return Err(WebError::Forbidden(s.lang, "error.admin_only"));
    }
    let now = rt.now();
    let tz = zone(&rt);
    let (from_d, to_d, from, to) = range(&p, &tz, now);

    // Tasks whose SLA is breached or whose own deadline has passed, then those at risk.
    let actor = s.actor();
    let q = |sla: Option<SlaFilter>, due_before: Option<Timestamp>| InboxFilter {
        process: None,
        due_before,
        sla,
        after: None,
        limit: 500,
    };
    let fail = |e| WebError::from_app(e, s.lang);
    let mut breached = app::inbox(&rt, &actor, q(Some(SlaFilter::Breached), None)).await.map_err(fail)?.rows;
    for t in app::inbox(&rt, &actor, q(None, Some(now))).await.map_err(fail)?.rows {
        if !breached.iter().any(|b| b.row.id == t.row.id) {
            breached.push(t);
        }
    }
    let at_risk = app::inbox(&rt, &actor, q(Some(SlaFilter::Warning), None)).await.map_err(fail)?.rows;

    let deployed = rt.registry().all_latest();
    let title_of = |id: &str| {
        deployed.iter().find(|d| d.process.id == id).map(|d| d.process.title.clone()).unwrap_or_else(|| id.to_string())
    };

    let mut by_process: BTreeMap<(String, String), Compliance> = BTreeMap::new();
    for r in rt.store.slas_started_between(from, to).await? {
        let c = by_process.entry((r.process.clone(), r.title.clone())).or_insert_with(|| Compliance {
            label: title_of(&r.process),
            sub: r.title.clone(),
            ..Default::default()
        });
        c.total += 1;
        match app::sla_row_standing(&r, now) {
            SlaState::Met => c.met += 1,
            SlaState::MetLate => c.late += 1,
            SlaState::Breached => c.breached += 1,
            SlaState::Ok | SlaState::Warning => c.open += 1,
        }
    }
    let mut by_step: BTreeMap<(String, String), Compliance> = BTreeMap::new();
    for r in rt.store.deadlines_between(from, to).await? {
        let c = by_step.entry((r.process.clone(), r.step.clone())).or_insert_with(|| Compliance {
            label: title_of(&r.process),
            sub: r.title.clone(),
            ..Default::default()
        });
        c.total += 1;
        match r.closed_at {
            Some(done) if done <= r.due_at => c.met += 1,
            Some(_) => c.late += 1,
            None if r.due_at <= now => c.breached += 1,
            None => c.open += 1,
        }
    }

    // The chart: the chosen process and field, else the first process with a countable field.
    let chosen = p.process.as_deref().and_then(|id| deployed.iter().find(|d| d.process.id == id)).or_else(|| {
        deployed
            .iter()
            .find(|d| chart_fields(d).iter().any(|(n, _)| n == "tipo"))
            .or_else(|| deployed.iter().find(|d| !chart_fields(d).is_empty()))
    });
    let mut processes: Vec<Choice> = deployed
        .iter()
        .map(|d| Choice {
            value: d.process.id.clone(),
            label: d.process.title.clone(),
            selected: chosen.is_some_and(|c| c.process.id == d.process.id),
        })
        .collect();
    processes.sort_by(|a, b| a.label.cmp(&b.label));
    let (chart_fields, months, chart_title, process_id) = match chosen {
        Some(d) => {
            let options = chart_fields(d);
            let field = p
                .field
                .clone()
                .filter(|f| options.iter().any(|(n, _)| n == f))
                .or_else(|| options.iter().find(|(n, _)| n == "tipo").or(options.first()).map(|(n, _)| n.clone()));
            let months = match &field {
                Some(f) => chart(&rt, d, f, from, to, s.lang).await?,
                None => Vec::new(),
            };
            let label = field
                .as_ref()
                .and_then(|f| options.iter().find(|(n, _)| n == f))
                .map(|(_, l)| l.clone())
                .unwrap_or_default();
            let choices = options
                .iter()
                .map(|(n, l)| Choice {
                    value: n.clone(),
                    label: l.clone(),
                    selected: field.as_deref() == Some(n.as_str()),
                })
                .collect();
            (choices, months, format!("{} — {label}", d.process.title), d.process.id.clone())
        }
        None => (Vec::new(), Vec::new(), String::new(), String::new()),
    };

    let cal_of = |process: &str| deployed.iter().find(|d| d.process.id == process).map(|d| d.calendar.clone());
    let alerts = rt
        .store
        .alerts_between(from, to, 100)
        .await?
        .into_iter()
        .map(|a| {
            let d = deployed.iter().find(|d| d.process.id == a.process);
            let (kind, roles, about) = match &a.record.event {
                tramite_engine::machine::Event::Alerted { kind, roles, sla, step, scope, users } => {
                    let roles = roles
                        .iter()
                        .map(|r| {
                            let title = d.and_then(|d| d.process.role_title(r)).unwrap_or(r);
                            match scope {
                                Some(s) => format!("{title} ({s})"),
                                None => title.to_string(),
                            }
                        })
                        .chain(users.iter().cloned())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let about = sla
                        .as_ref()
                        .map(|x| d.and_then(|d| d.process.sla(x)).map(|s| s.title.clone()).unwrap_or_else(|| x.clone()))
                        .or_else(|| {
                            step.as_ref().map(|x| {
                                d.and_then(|d| d.process.step(x)).map(|s| s.title.clone()).unwrap_or_else(|| x.clone())
                            })
                        })
                        .unwrap_or_default();
                    (alert_kind(*kind), roles, about)
                }
                _ => (("none", "badge none"), String::new(), String::new()),
            };
            AlertLine {
                when: cal_of(&a.process).map(|c| local(a.record.at, &c)).unwrap_or_else(|| a.record.at.to_string()),
                process: title_of(&a.process),
                instance: a.instance_id,
                folio: a.folio.unwrap_or_default(),
                kind,
                roles,
                about,
            }
        })
        .collect();
    let zoned = |t: Timestamp| t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string();
    let messages = rt
        .store
        .messages_between(from, to, 100)
        .await?
        .into_iter()
        .map(|m| MessageLine {
            when: zoned(m.created_at),
            instance: m.instance_id,
            kind: m.kind,
            recipient: m.recipient,
            subject: m.subject,
            sent: m.sent_at.map(zoned),
            attempts: m.attempts,
            error: m.last_error,
        })
        .collect();

    let not_deployed = rt
        .registry()
        .not_deployed()
        .into_iter()
        .map(|n| {
            let what = match (n.process, n.version) {
                (Some(p), Some(v)) => format!("{p} v{v}"),
                (Some(p), None) => p,
                _ => String::new(),
            };
            (n.file, what, n.rendered)
        })
        .collect();
    let incidents = app::incidents(&rt, &actor)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|i| IncidentLine {
            since: zoned(i.created_at),
            process: title_of(&i.process),
            step: deployed
                .iter()
                .find(|d| d.process.id == i.process)
                .and_then(|d| d.process.step(&i.step))
                .map(|s| s.title.clone())
                .unwrap_or(i.step),
            instance: i.instance_id,
            called: i.called,
            message: i.message,
        })
        .collect();

    let here = uri.path_and_query().map(|x| x.as_str().to_string()).unwrap_or_default();
    let export_query = format!("from={from_d}&to={to_d}&process={}", urlencode(&process_id));
    let indicator_links = rt
        .indicators()
        .iter()
        .filter_map(|(p, list)| Some((p.clone(), rt.registry().latest(p)?.process.title.clone(), list.len())))
        .collect();
    let page = DashboardPage {
        indicator_links,
        c: Chrome::new(&s, s.lang.t("dash.title"), &here, "dashboard"),
        not_deployed,
        incidents,
        from: from_d.to_string(),
        to: to_d.to_string(),
        breached: inbox::rows(&rt, &s, breached, now),
        at_risk: inbox::rows(&rt, &s, at_risk, now),
        by_process: by_process.into_values().collect(),
        by_step: by_step.into_values().collect(),
        processes,
        chart_fields,
        chart_title,
        months,
        alerts,
        messages,
        export_query,
    };
    Ok(Html(page.render()?))
}
