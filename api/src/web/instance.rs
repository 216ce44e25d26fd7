//! The instance page: its timeline, the process flow with the current steps highlighted, and
//! its SLA clocks with elapsed and remaining business time.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{Html, Redirect};
use jiff::Timestamp;
use tramite_engine::calendar::SlaClock;
use tramite_engine::definition::{Next, Process, StepKind, Target};
use tramite_engine::diagram::{self, Format};
use tramite_engine::machine::{self, Event, Status};

use super::error::WebError;
use super::fields;
use super::page::{Badge, Chrome, hours_minutes, local};
use super::session::Session;
use super::timeline::{self, Line};
use crate::app;
use crate::runtime::{Deployed, Runtime};

/// A step in the flow list.
#[derive(Debug)]
pub struct StepView {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub role: Option<String>,
    pub current: bool,
    pub visited: bool,
    /// Where it goes: (condition or outcome label, target title).
    pub next: Vec<(Option<String>, String)>,
}

/// An SLA clock as the page shows it.
#[derive(Debug)]
pub struct SlaView {
    pub title: String,
    pub badge: Badge,
    pub started: String,
    pub due: String,
    pub stopped: Option<String>,
    pub elapsed: String,
    pub remaining: Option<String>,
    pub remaining_days: Option<i64>,
    pub overdue_by: Option<String>,
}

/// A sub-process as the page lists it.
#[derive(Debug)]
pub struct ChildView {
    pub id: String,
    pub title: String,
    pub status_key: &'static str,
    pub outcome: Option<String>,
    pub version: i64,
}

#[derive(Template)]
#[template(path = "web/instance.html")]
struct InstancePage {
    c: Chrome,
    id: String,
    /// The calling instance and its process title.
    parent: Option<(String, String)>,
    children: Vec<ChildView>,
    /// Call steps stuck on an incident: (step title, message).
    incidents: Vec<(String, String)>,
    process_title: String,
    folio: String,
    status_key: &'static str,
    outcome: Option<String>,
    started: String,
    zone: String,
    steps: Vec<StepView>,
    mermaid: String,
    slas: Vec<SlaView>,
    timeline: Vec<Line>,
    data: Vec<(String, String)>,
    tasks: Vec<(String, String)>,
    /// Shown right after the case was registered from the start form.
    just_started: bool,
    diagram: String,
    /// The files attached to the case: (name, size, download path).
    files: Vec<(String, String, String)>,
}

fn target_title(p: &Process, t: Target, lang: super::i18n::Lang) -> String {
    match t {
        Target::Step(i) => p.steps[i].title.clone(),
        Target::End | Target::Join => lang.t("instance.end").to_string(),
    }
}

fn arms(p: &Process, next: &Next, lang: super::i18n::Lang) -> Vec<(Option<String>, String)> {
    next.0.iter().map(|a| (a.when.as_ref().map(|w| w.source().to_string()), target_title(p, a.target, lang))).collect()
}

/// The steps in file order, marked where the instance is and where it has been.
fn steps(d: &Deployed, active: &[String], visited: &[String], lang: super::i18n::Lang) -> Vec<StepView> {
    let p = &d.process;
    p.steps
        .iter()
        .map(|s| {
            let next = match &s.kind {
                StepKind::Task { next, .. }
                | StepKind::Decision { next }
                | StepKind::Wait { next, .. }
                | StepKind::Call { next, .. } => arms(p, next, lang),
                StepKind::Approval { approve, reject, .. } => vec![
                    (Some(lang.t("task.approve").to_string()), target_title(p, *approve, lang)),
                    (Some(lang.t("task.reject").to_string()), target_title(p, *reject, lang)),
                ],
                StepKind::Parallel { branches, next, .. } => {
                    let mut v: Vec<(Option<String>, String)> =
                        branches.iter().map(|b| (None, p.steps[b.start].title.clone())).collect();
                    v.extend(arms(p, next, lang));
                    v
                }
                StepKind::End { .. } => Vec::new(),
            };
            StepView {
                id: s.id.clone(),
                title: s.title.clone(),
                kind: kind_key(&s.kind),
                role: s.kind.work().map(|w| p.role_title(&w.role).unwrap_or(&w.role).to_string()),
                current: active.contains(&s.id),
                visited: visited.contains(&s.id),
                next,
            }
        })
        .collect()
}

pub fn kind_key(k: &StepKind) -> &'static str {
    match k {
        StepKind::Task { .. } => "kind.task",
        StepKind::Approval { .. } => "kind.approval",
        StepKind::Decision { .. } => "kind.decision",
        StepKind::Parallel { .. } => "kind.parallel",
        StepKind::Wait { .. } => "kind.wait",
        StepKind::Call { .. } => "kind.call",
        StepKind::End { .. } => "kind.end",
    }
}

fn sla_view(d: &Deployed, title: String, clock: &SlaClock, state: &str, now: Timestamp) -> SlaView {
    let cal = &d.calendar;
    let due = clock.due(cal);
    let measure = |a: Timestamp, b: Timestamp| {
        if clock.business_time { cal.working_time_between(a, b) } else { b.duration_since(a) }
    };
    let running = clock.stopped.is_none();
    SlaView {
        title,
        badge: Badge::of_state(state),
        started: local(clock.started, cal),
        due: local(due, cal),
        stopped: clock.stopped.map(|t| local(t, cal)),
        elapsed: hours_minutes(clock.elapsed(cal, now)),
        remaining: (running && now < due).then(|| hours_minutes(measure(now, due))),
        remaining_days: (running && now < due).then(|| cal.business_days_between(now, due)),
        overdue_by: (running && now >= due).then(|| hours_minutes(measure(due, now))),
    }
}

/// The flow of `d` drawn as SVG, with the `active` steps marked and the `entered` ones (one per
/// `Entered` event, repeats included: a loop shows as ×N).
pub fn diagram_svg(d: &Deployed, active: &[String], entered: &[String]) -> String {
    diagram::svg(&d.process, &diagram::Marks::new(active, entered))
}

pub fn status_key(status: &str) -> &'static str {
    match status {
        "ended" => "instance.ended",
        "cancelled" => "instance.cancelled",
        _ => "instance.running",
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct PageParams {
    started: Option<String>,
}

pub async fn page(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path(id): Path<String>,
    axum::extract::Query(params): axum::extract::Query<PageParams>,
) -> Result<Html<String>, WebError> {
    let (d, stored) = app::readable(&rt, &s.actor(), &id).await.map_err(|e| WebError::from_app(e, s.lang))?;
    let inst = &stored.state;
    let now = rt.now();
    let history = rt.store.history(&id).await?;
    let visited: Vec<String> = history
        .iter()
        .filter_map(|r| match &r.event {
            Event::Entered { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect();
    let active = inst.active_steps();
    let states = machine::sla_states(d.env(), inst, now);
    let slas = inst
        .slas
        .iter()
        .map(|(sid, run)| {
            let state = states.iter().find(|(x, _)| x == sid).map(|(_, st)| st.as_str()).unwrap_or("ok");
            let title = d.process.sla(sid).map(|x| x.title.clone()).unwrap_or_else(|| sid.clone());
            sla_view(&d, title, &run.clock, state, now)
        })
        .collect();
    let outcome = match &inst.status {
        Status::Running => None,
        Status::Ended { outcome } => Some(outcome.clone()),
        Status::Cancelled { reason } => Some(reason.clone()),
    };
    let title_of = |process: &str| {
        rt.deployed(process, None).map(|x| x.process.title.clone()).unwrap_or_else(|| process.to_string())
    };
    let parent = inst.parent.as_ref().map(|p| (p.instance.clone(), title_of(&p.process)));
    let children = app::children(&rt, &id)
        .await
        .map_err(|e| WebError::from_app(e, s.lang))?
        .into_iter()
        .map(|ch| ChildView {
            title: title_of(&ch.process),
            status_key: status_key(&ch.status),
            outcome: ch.outcome,
            version: ch.version,
            id: ch.id,
        })
        .collect();
    let incidents = inst
        .incidents()
        .filter_map(|(t, call)| {
            let title = d.process.step(&t.step).map(|x| x.title.clone()).unwrap_or_else(|| t.step.clone());
            Some((title, call.incident.as_ref()?.message.clone()))
        })
        .collect();
    let folio = crate::runtime::folio(inst).unwrap_or_default();
    let tasks = crate::runtime::task_rows(&d, inst).into_iter().map(|t| (t.id, t.title)).collect();
    let here = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let title =
        if folio.is_empty() { d.process.title.clone() } else { format!("{} {folio}", s.lang.t("instance.title")) };
    let page = InstancePage {
        c: Chrome::new(&s, title, &here, ""),
        id: id.clone(),
        parent,
        children,
        incidents,
        process_title: d.process.title.clone(),
        folio,
        status_key: status_key(app::status_name(&inst.status)),
        outcome,
        started: local(inst.started_at, &d.calendar),
        zone: d.calendar.zone().iana_name().unwrap_or("UTC").to_string(),
        steps: steps(&d, &active, &visited, s.lang),
        mermaid: diagram::render(&d.process, Format::Mermaid, &active),
        slas,
        timeline: timeline::lines(&d, &inst.id, &history, s.lang),
        data: fields::data_lines(&d, &inst.data, s.lang),
        tasks,
        just_started: params.started.is_some(),
        diagram: diagram_svg(&d, &active, &visited),
        files: app::files_of(&history)
            .map_err(|e| WebError::from_app(e, s.lang))?
            .into_iter()
            .map(|f| {
                let href = file_href(&id, &f.sha256);
                (f.name, tramite_engine::files::show_size(f.size), href)
            })
            .collect(),
    };
    Ok(Html(page.render()?))
}

/// Where the page of instance `id` serves its file `sha256`.
pub(super) fn file_href(id: &str, sha256: &str) -> String {
    format!("/instances/{id}/files/{sha256}")
}

/// A file of the case, as an attachment, for those who may read the case.
pub async fn file(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<axum::response::Response, WebError> {
    let (file, bytes) =
        app::download(&rt, &s.actor(), &id, &sha256).await.map_err(|e| WebError::from_app(e, s.lang))?;
    Ok(crate::http::attachment(&file, bytes))
}

/// Starts again the sub-processes of the instance's incidents (admins), then shows it.
pub async fn retry(State(rt): State<Arc<Runtime>>, s: Session, Path(id): Path<String>) -> Result<Redirect, WebError> {
    app::retry(&rt, &s.actor(), &id).await.map_err(|e| WebError::from_app(e, s.lang))?;
    Ok(Redirect::to(&format!("/instances/{id}")))
}
