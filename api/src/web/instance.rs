//! The instance page: its timeline, the process flow with the current steps highlighted, and
//! its SLA clocks with elapsed and remaining business time.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Html;
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

#[derive(Template)]
#[template(path = "web/instance.html")]
struct InstancePage {
    c: Chrome,
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

fn kind_key(k: &StepKind) -> &'static str {
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

pub async fn page(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    let stored = rt.instance(&id).await.map_err(|e| WebError::from_runtime(e, s.lang))?;
    let d = rt
        .deployed(&stored.process, Some(stored.version))
        .ok_or_else(|| WebError::internal("definition version not loaded"))?;
    let actor = s.actor();
    let may_read = actor.admin
        || stored.started_by.as_deref() == Some(s.user.name.as_str())
        || d.process.roles.iter().any(|(r, _)| actor.has_role(r));
    if !may_read {
        return Err(WebError::forbidden(s.lang));
    }
    let inst = &stored.state;
    let now = Timestamp::now();
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
    let (status_key, outcome) = match &inst.status {
        Status::Running => ("instance.running", None),
        Status::Ended { outcome } => ("instance.ended", Some(outcome.clone())),
        Status::Cancelled { reason } => ("instance.cancelled", Some(reason.clone())),
    };
    let folio = crate::runtime::folio(inst).unwrap_or_default();
    let tasks = crate::runtime::task_rows(&d, inst).into_iter().map(|t| (t.id, t.title)).collect();
    let here = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let title =
        if folio.is_empty() { d.process.title.clone() } else { format!("{} {folio}", s.lang.t("instance.title")) };
    let page = InstancePage {
        c: Chrome::new(&s, title, &here, ""),
        process_title: d.process.title.clone(),
        folio,
        status_key,
        outcome,
        started: local(inst.started_at, &d.calendar),
        zone: d.calendar.zone().iana_name().unwrap_or("UTC").to_string(),
        steps: steps(&d, &active, &visited, s.lang),
        mermaid: diagram::render(&d.process, Format::Mermaid, &active),
        slas,
        timeline: timeline::lines(&d, &history, s.lang),
        data: fields::data_lines(&d, &inst.data, s.lang),
        tasks,
    };
    Ok(Html(page.render()?))
}
