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
use tramite_engine::machine::Command;

use super::error::WebError;
use super::page::{Badge, Chrome, local, safe_or};
use super::session::Session;
use crate::runtime::{Runtime, split_task_id};
use crate::store::{InboxQuery, SlaFilter, TaskRow};

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
}

#[derive(Debug, Deserialize)]
pub struct InboxParams {
    process: Option<String>,
    sla: Option<String>,
    done: Option<String>,
}

fn sla_filter(s: Option<&str>) -> Option<SlaFilter> {
    match s {
        Some("ok") => Some(SlaFilter::Ok),
        Some("warning") => Some(SlaFilter::Warning),
        Some("breached") => Some(SlaFilter::Breached),
        _ => None,
    }
}

/// Inbox rows for tasks, with due dates in each process's calendar time.
pub fn rows(rt: &Runtime, s: &Session, tasks: Vec<TaskRow>, now: Timestamp) -> Vec<Row> {
    let mut out: Vec<(Option<Timestamp>, Row)> = tasks
        .into_iter()
        .map(|t| {
            let d = rt.deployed(&t.process, None);
            let (process_title, role_title) = match &d {
                Some(d) => (d.process.title.clone(), d.process.role_title(&t.role).unwrap_or(&t.role).to_string()),
                None => (t.process.clone(), t.role.clone()),
            };
            let fmt = |x: Timestamp| d.as_ref().map(|d| local(x, &d.calendar)).unwrap_or_else(|| x.to_string());
            let soonest = [t.due_at, t.sla_due_at].into_iter().flatten().min();
            let row = Row {
                title: t.title.clone(),
                process_title,
                folio: t.folio.clone().unwrap_or_default(),
                due: t.due_at.map(fmt),
                overdue: t.due_at.is_some_and(|x| x <= now),
                badge: Badge::of_task(t.sla_warn_at, t.sla_due_at, now),
                sla_due: t.sla_due_at.map(fmt),
                role_title,
                mine: t.claimed_by.as_deref() == Some(s.user.name.as_str()),
                claimed_by: t.claimed_by.clone(),
                id: t.id,
            };
            (soonest, row)
        })
        .collect();
    // Soonest due first, counting the task's own deadline and its SLA; none last.
    out.sort_by_key(|(due, _)| (due.is_none(), *due));
    out.into_iter().map(|(_, r)| r).collect()
}

pub async fn page(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Query(p): Query<InboxParams>,
) -> Result<Html<String>, WebError> {
    let now = Timestamp::now();
    let process = p.process.filter(|x| !x.is_empty());
    let sla = p.sla.filter(|x| !x.is_empty());
    let q = InboxQuery {
        roles: if s.user.admin { None } else { Some(s.user.roles.clone()) },
        process: process.clone(),
        due_before: None,
        sla: sla_filter(sla.as_deref()),
        now,
        limit: 500,
    };
    let tasks = rt.store.inbox(&q).await?;
    let rows = rows(&rt, &s, tasks, now);
    let mut processes: Vec<Choice> = {
        let reg = rt.registry.read().map_err(|_| WebError::internal("registry lock"))?;
        reg.all_latest()
            .iter()
            .filter(|d| s.user.admin || d.process.roles.iter().any(|(r, _)| s.user.roles.contains(r)))
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
    let page =
        InboxPage { c: Chrome::new(&s, title, &here, "inbox"), rows, processes, states, here, done: p.done.is_some() };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct Back {
    #[serde(default)]
    next: String,
}

async fn claim_or_release(rt: &Runtime, s: &Session, id: &str, claim: bool) -> Result<(), WebError> {
    let t = rt.store.task(id).await?.ok_or(WebError::NotFound(s.lang))?;
    if !s.actor().has_role(&t.role) {
        return Err(WebError::forbidden(s.lang));
    }
    let (inst, token) = split_task_id(id).ok_or(WebError::NotFound(s.lang))?;
    let cmd = if claim { Command::Claim { task: token } } else { Command::Unclaim { task: token } };
    rt.act(inst, Some(&s.actor()), cmd).await.map_err(|e| WebError::from_runtime(e, s.lang))?;
    Ok(())
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
