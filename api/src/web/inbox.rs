//! The task inbox: open tasks of the user's roles (admins: all), soonest due first, filtered by
//! process and SLA standing; claim and release.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{Html, Redirect};
use jiff::Timestamp;
use serde::Deserialize;

use super::error::WebError;
use super::page::{Badge, Chrome, item_line, local, query_href, safe_or};
use super::session::Session;
use crate::app::{self, InboxFilter, TaskView};
use crate::runtime::Runtime;

/// One inbox line.
#[derive(Debug)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub process_title: String,
    pub folio: String,
    pub due: Option<String>,
    pub overdue: bool,
    pub badge: Badge,
    pub sla_due: Option<String>,
    pub role_title: String,
    /// The `for_each` element the task works on, as one line.
    pub item: Option<String>,
    pub claimed_by: Option<String>,
    pub mine: bool,
}

/// A `<select>` option.
#[derive(Debug)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "web/inbox.html")]
struct InboxPage {
    c: Chrome,
    rows: Vec<Row>,
    processes: Vec<Choice>,
    states: Vec<Choice>,
    here: String,
    done: bool,
    /// The next page's link, when there is one; the first page's, when this is not it.
    next: Option<String>,
    first: Option<String>,
    /// Whether the user may start a case of some process (the *Nuevo* entry point).
    may_start: bool,
}

#[derive(Debug, Deserialize)]
pub struct InboxParams {
    process: Option<String>,
    sla: Option<String>,
    done: Option<String>,
    cursor: Option<String>,
}

/// Tasks per inbox page.
const PAGE: i64 = 50;

/// Inbox rows for tasks (in the order given), with due dates in each process's calendar time.
pub fn rows(rt: &Runtime, s: &Session, tasks: Vec<TaskView>, now: Timestamp) -> Vec<Row> {
    tasks
        .into_iter()
        .map(|TaskView { row: t, .. }| {
            let d = rt.deployed(&t.process, None);
            let (process_title, role) = match &d {
                Some(d) => (d.process.title.clone(), d.process.role_title(&t.role).unwrap_or(&t.role).to_string()),
                None => (t.process.clone(), t.role.clone()),
            };
            let role_title = super::page::holder_title(&role, &t, s.lang);
            let fmt = |x: Timestamp| d.as_ref().map(|d| local(x, &d.calendar)).unwrap_or_else(|| x.to_string());
            Row {
                title: t.title.clone(),
                process_title,
                folio: t.folio.clone().unwrap_or_default(),
                due: t.due_at.map(fmt),
                overdue: t.due_at.is_some_and(|x| x <= now),
                badge: Badge::of_task(&t, now),
                sla_due: t.sla_due_at.map(fmt),
                role_title,
                item: t.item.as_ref().map(item_line),
                mine: t.claimed_by.as_deref() == Some(s.user.name.as_str()),
                claimed_by: t.claimed_by.clone(),
                id: t.id,
            }
        })
        .collect()
}

pub async fn page(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Query(p): Query<InboxParams>,
) -> Result<Html<String>, WebError> {
    let now = rt.now();
    let process = p.process.filter(|x| !x.is_empty());
    let sla = p.sla.filter(|x| !x.is_empty());
    let filter = InboxFilter {
        process: process.clone(),
        due_before: None,
        sla: app::sla_filter(sla.as_deref()).map_err(|e| WebError::from_app(e, s.lang))?,
        after: app::cursor(p.cursor.as_deref()).map_err(|e| WebError::from_app(e, s.lang))?,
        limit: PAGE,
    };
    let page = app::inbox(&rt, &s.actor(), filter).await.map_err(|e| WebError::from_app(e, s.lang))?;
    let rows = rows(&rt, &s, page.rows, now);
    let filters = [("process", process.as_deref()), ("sla", sla.as_deref())];
    let next = page.next.map(|c| query_href("/inbox", &filters, Some(&c.token())));
    let first = p.cursor.is_some().then(|| query_href("/inbox", &filters, None));
    let may_start = !app::startable(&rt, &s.actor()).is_empty();
    let mut processes: Vec<Choice> = {
        let reg = rt.registry();
        reg.all_latest()
            .iter()
            .filter(|d| app::may_read_process(&s.actor(), &d.process))
            .map(|d| Choice {
                value: d.process.id.clone(),
                label: d.process.title.clone(),
                selected: process.as_deref() == Some(d.process.id.as_str()),
            })
            .collect()
    };
    processes.sort_by(|a, b| a.label.cmp(&b.label));
    let states = ["ok", "warning", "breached"]
        .iter()
        .map(|k| Choice {
            value: k.to_string(),
            label: s.lang.t(Badge::of_state(k).key).to_string(),
            selected: sla.as_deref() == Some(*k),
        })
        .collect();
    let here = uri.path_and_query().map(|x| x.as_str().to_string()).unwrap_or_else(|| "/inbox".into());
    let title = if s.user.admin { s.lang.t("inbox.all_title") } else { s.lang.t("inbox.title") };
    let page = InboxPage {
        c: Chrome::new(&s, title, &here, "inbox"),
        rows,
        processes,
        states,
        here,
        done: p.done.is_some(),
        next,
        first,
        may_start,
    };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct Back {
    #[serde(default)]
    next: String,
}

async fn claim_or_release(rt: &Runtime, s: &Session, id: &str, claim: bool) -> Result<(), WebError> {
    let actor = s.actor();
    let done = if claim { app::claim(rt, &actor, id).await } else { app::release(rt, &actor, id).await };
    done.map(|_| ()).map_err(|e| WebError::from_app(e, s.lang))
}

pub async fn claim(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    Path(id): Path<String>,
    Form(b): Form<Back>,
) -> Result<Redirect, WebError> {
    claim_or_release(&rt, &s, &id, true).await?;
    Ok(Redirect::to(safe_or(&b.next, &format!("/tasks/{id}"))))
}

pub async fn release(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    Path(id): Path<String>,
    Form(b): Form<Back>,
) -> Result<Redirect, WebError> {
    claim_or_release(&rt, &s, &id, false).await?;
    Ok(Redirect::to(safe_or(&b.next, "/inbox")))
}
