//! The case list: every case the user may read, found by folio or any text and filtered by
//! process, status, outcome, start dates, SLA standing, the role holding it, or "my requests";
//! newest first, page after page; the same result as CSV.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::http::{Uri, header};
use axum::response::{Html, IntoResponse, Response};

use super::error::WebError;
use super::inbox::Choice;
use super::page::{Badge, Chrome, local};
use super::session::Session;
use crate::app::{self, CaseFilter};
use crate::runtime::Runtime;

/// One line of the list.
#[derive(Debug)]
pub struct Line {
    pub id: String,
    pub folio: String,
    pub process_title: String,
    pub status_key: &'static str,
    pub outcome: Option<String>,
    pub started: String,
    pub started_by: String,
}

#[derive(Template)]
#[template(path = "web/cases.html")]
struct CasesPage {
    c: Chrome,
    f: CaseFilter,
    lines: Vec<Line>,
    processes: Vec<Choice>,
    statuses: Vec<Choice>,
    slas: Vec<Choice>,
    roles: Vec<Choice>,
    mine: bool,
    next: Option<String>,
    first: Option<String>,
    csv: String,
}

impl CasesPage {
    fn value<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or_default()
    }
}

fn choices(options: impl IntoIterator<Item = (String, String)>, selected: Option<&str>) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice { selected: selected == Some(value.as_str()), value, label })
        .collect()
}

/// The query string without its `cursor` (and `lang`), for the links of other pages.
fn without_cursor(query: &str) -> String {
    query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("cursor=") && !kv.starts_with("lang="))
        .collect::<Vec<_>>()
        .join("&")
}

fn with(path: &str, query: &str, extra: Option<String>) -> String {
    let parts: Vec<String> = [query.to_string()].into_iter().filter(|q| !q.is_empty()).chain(extra).collect();
    if parts.is_empty() { path.to_string() } else { format!("{path}?{}", parts.join("&")) }
}

pub async fn page(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    RawQuery(raw): RawQuery,
    Query(f): Query<CaseFilter>,
) -> Result<Html<String>, WebError> {
    let actor = s.actor();
    let page = app::cases(&rt, &actor, &f).await.map_err(|e| WebError::from_app(e, s.lang))?;
    let lines = page
        .rows
        .into_iter()
        .map(|c| {
            let r = c.row;
            let started = match rt.deployed(&r.process, None) {
                Some(d) => local(r.started_at, &d.calendar),
                None => r.started_at.to_string(),
            };
            Line {
                folio: r.folio.clone().unwrap_or_default(),
                process_title: c.process_title,
                status_key: super::instance::status_key(&r.status),
                outcome: r.outcome,
                started,
                started_by: r.started_by.unwrap_or_default(),
                id: r.id,
            }
        })
        .collect();
    let (processes, roles) = {
        let reg = rt.registry();
        let mut readable: Vec<_> = reg
            .all_latest()
            .into_iter()
            .filter(|d| actor.admin || d.process.roles.iter().any(|(r, _)| actor.has_role(r)))
            .collect();
        readable.sort_by(|a, b| a.process.title.cmp(&b.process.title));
        let processes = readable.iter().map(|d| (d.process.id.clone(), d.process.title.clone())).collect::<Vec<_>>();
        let mut roles: Vec<(String, String)> = Vec::new();
        for d in &readable {
            for (id, title) in &d.process.roles {
                if !roles.iter().any(|(r, _)| r == id) {
                    roles.push((id.clone(), title.clone()));
                }
            }
        }
        roles.sort_by(|a, b| a.1.cmp(&b.1));
        (processes, roles)
    };
    let statuses = ["running", "ended", "cancelled"]
        .iter()
        .map(|k| (k.to_string(), s.lang.t(super::instance::status_key(k)).to_string()));
    let slas = app::CASE_SLA_STATES
        .iter()
        .map(|st| (st.as_str().to_string(), s.lang.t(Badge::of_state(st.as_str()).key).to_string()));
    let query = without_cursor(raw.as_deref().unwrap_or_default());
    let here = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/cases".into());
    let mine = matches!(f.mine.as_deref(), Some("true" | "1" | "on"));
    let title = if mine { s.lang.t("cases.mine") } else { s.lang.t("cases.title") };
    let page = CasesPage {
        c: Chrome::new(&s, title, &here, "cases"),
        lines,
        processes: choices(processes, f.process.as_deref()),
        statuses: choices(statuses, f.status.as_deref()),
        slas: choices(slas, f.sla.as_deref()),
        roles: choices(roles, f.role.as_deref()),
        mine,
        next: page.next.map(|c| with("/cases", &query, Some(format!("cursor={}", super::page::urlencode(&c.token()))))),
        first: f.cursor.as_deref().is_some_and(|c| !c.is_empty()).then(|| with("/cases", &query, None)),
        csv: with("/cases.csv", &query, None),
        f,
    };
    Ok(Html(page.render()?))
}

/// `GET /cases.csv`: every case of the list as filtered, as CSV.
pub async fn csv(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    Query(f): Query<CaseFilter>,
) -> Result<Response, WebError> {
    let rows = app::all_cases(&rt, &s.actor(), &f).await.map_err(|e| WebError::from_app(e, s.lang))?;
    let tz = app::zone_of(&rt, f.process.as_deref());
    let l = s.lang;
    let columns = [
        l.t("col.folio"),
        l.t("col.process"),
        l.t("instance.status"),
        l.t("cases.outcome"),
        l.t("col.started"),
        l.t("cases.ended"),
        l.t("cases.started_by"),
        l.t("col.instance"),
    ];
    let body = app::cases_csv(&rows, columns, &tz).map_err(|e| WebError::from_app(e, s.lang))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"casos.csv\""),
        ],
        body,
    )
        .into_response())
}
