//! The task page: the case's data so far, the step's form, approve / reject with a comment, and
//! the notes of the last rejection for whoever takes the case back.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde_json::{Map, Value};
use tramite_engine::definition::{Form, StepKind};
use tramite_engine::machine::Event;

use super::error::WebError;
use super::fields::{self, FieldView, Raw};
use super::page::{Badge, Chrome, item_line, local};
use super::posted::Posted;
use super::session::Session;
use crate::app::{self, Answer};
use crate::runtime::{Deployed, Runtime};
use crate::store::{StoredInstance, TaskRow};

/// The last rejection, as the next assignee reads it.
#[derive(Debug)]
pub struct RejectionView {
    pub step_title: String,
    pub by: String,
    pub at: String,
    pub comment: String,
}

#[derive(Template)]
#[template(path = "web/task.html")]
struct TaskPage {
    c: Chrome,
    id: String,
    step_title: String,
    step_description: Option<String>,
    process_title: String,
    folio: String,
    role_title: String,
    item: Option<String>,
    due: Option<String>,
    badge: Badge,
    sla_due: Option<String>,
    claimed_by: Option<String>,
    mine: bool,
    open: bool,
    instance_id: String,
    data: Vec<(String, String)>,
    rejection: Option<RejectionView>,
    approval: bool,
    form_title: Option<String>,
    form_description: Option<String>,
    fields: Vec<FieldView>,
    /// Problems not tied to one field (cross-field rules, conflicts).
    form_errors: Vec<String>,
    has_errors: bool,
    comment: String,
    comment_error: Option<String>,
    /// The indicators a report task reviews, computed.
    report: Option<super::indicators::Report>,
}

/// The task, the version its instance runs on and the instance, if `s` may see it (404 / 403
/// otherwise).
async fn load(rt: &Runtime, s: &Session, id: &str) -> Result<(TaskRow, Arc<Deployed>, StoredInstance), WebError> {
    let t = app::task(rt, &s.actor(), id).await.map_err(|e| {
        tracing::warn!(user = ?s.user.name, task = ?id, error = ?e, "task page refused");
        WebError::from_app(e, s.lang)
    })?;
    let stored = rt.instance(&t.instance_id).await.map_err(|e| WebError::from_app(e.into(), s.lang))?;
    let d = rt.version_of(&stored).map_err(|e| WebError::from_app(e.into(), s.lang))?;
    Ok((t, d, stored))
}

fn step_form<'a>(d: &'a Deployed, step: &str) -> Option<&'a Form> {
    d.process.step(step).and_then(|s| s.kind.work()).and_then(|w| w.form.as_ref()).and_then(|f| d.forms.get(f))
}

/// The last rejection, unless an approval of the same step came after it.
async fn rejection(rt: &Runtime, d: &Deployed, stored: &StoredInstance) -> Result<Option<RejectionView>, WebError> {
    let Some(r) = &stored.state.last_rejection else { return Ok(None) };
    let history = rt.store.history(&stored.id).await?;
    let mut steps = BTreeMap::new();
    let mut approved_since = false;
    for rec in &history {
        match &rec.event {
            Event::Entered { token, step, .. } => {
                steps.insert(*token, step.clone());
            }
            Event::Approved { token, .. } if rec.at > r.at && steps.get(token) == Some(&r.step) => {
                approved_since = true
            }
            _ => {}
        }
    }
    if approved_since {
        return Ok(None);
    }
    Ok(Some(RejectionView {
        step_title: d.process.step(&r.step).map(|s| s.title.clone()).unwrap_or_else(|| r.step.clone()),
        by: r.by.clone().unwrap_or_default(),
        at: local(r.at, &d.calendar),
        comment: r.comment.clone(),
    }))
}

/// What the page shows after a failed submission.
#[derive(Debug, Default)]
struct Attempt {
    raw: Option<Raw>,
    errors: BTreeMap<String, String>,
    comment: String,
}

async fn render(rt: &Runtime, s: &Session, id: &str, uri: &Uri, attempt: Attempt) -> Result<TaskPage, WebError> {
    let (t, d, stored) = load(rt, s, id).await?;
    let now = rt.now();
    let step = d.process.step(&t.step);
    let form = step_form(&d, &t.step);
    let raw = attempt.raw.unwrap_or_else(|| form.map(|f| fields::raw_of(f, &stored.state.data)).unwrap_or_default());
    let views = form.map(|f| fields::views(f, &raw, &attempt.errors, s.lang)).unwrap_or_default();
    let mut form_errors: Vec<String> = attempt
        .errors
        .iter()
        .filter(|(k, _)| k.is_empty() || (*k != "comment" && !views.iter().any(|v| field_shown(v, k))))
        .map(|(_, m)| m.clone())
        .collect();
    form_errors.dedup();
    let fmt = |x: Timestamp| local(x, &d.calendar);
    let here = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    Ok(TaskPage {
        c: Chrome::new(s, t.title.clone(), &here, "inbox"),
        id: t.id.clone(),
        step_title: t.title.clone(),
        step_description: step.and_then(|s| s.description.clone()),
        process_title: d.process.title.clone(),
        folio: t.folio.clone().unwrap_or_default(),
        role_title: super::page::holder_title(d.process.role_title(&t.role).unwrap_or(&t.role), &t, s.lang),
        item: t.item.as_ref().map(item_line),
        due: t.due_at.map(fmt),
        badge: Badge::of_task(&t, now),
        sla_due: t.sla_due_at.map(fmt),
        mine: t.claimed_by.as_deref() == Some(s.user.name.as_str()),
        claimed_by: t.claimed_by.clone(),
        open: t.status == "open",
        instance_id: t.instance_id.clone(),
        data: fields::data_lines(&d, &stored.state.data, s.lang),
        rejection: rejection(rt, &d, &stored).await?,
        approval: step.is_some_and(|s| matches!(s.kind, StepKind::Approval { .. })),
        form_title: form.map(|f| f.title.clone()),
        form_description: form.and_then(|f| f.description.clone()),
        has_errors: !attempt.errors.is_empty(),
        comment_error: attempt.errors.get("comment").cloned(),
        fields: views,
        form_errors,
        comment: attempt.comment,
        report: match step.and_then(|x| x.kind.work()).and_then(|w| w.report.as_ref()) {
            Some(p) => super::indicators::report(rt, s, p, t.created_at).await.map(|r| {
                let attached = stored.state.report_of(t.token as u64).and_then(|f| {
                    let (name, sha) = (f["name"].as_str()?, f["sha256"].as_str()?);
                    Some((name.to_string(), super::instance::file_href(&t.instance_id, sha)))
                });
                super::indicators::Report { attached, ..r }
            }),
            None => None,
        },
    })
}

/// Whether the error named `key` is shown next to input `v` (or one of its rows' inputs).
fn field_shown(v: &FieldView, key: &str) -> bool {
    v.name == key || v.rows.iter().flatten().any(|sub| sub.name == key)
}

pub async fn page(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    Ok(Html(render(&rt, &s, &id, &uri, Attempt::default()).await?.render()?))
}

/// Completes the task, or approves / rejects it, from the posted form. A refusal shows the page
/// again (422) with each field's message beside it and the values as entered.
pub async fn submit(
    State(rt): State<Arc<Runtime>>,
    s: Session,
    uri: Uri,
    Path(id): Path<String>,
    Posted(pairs): Posted,
) -> Result<Response, WebError> {
    let (t, d, _) = load(&rt, &s, &id).await?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let comment = get("_comment");
    let raw = fields::raw_of_pairs(&pairs);
    let data: Map<String, Value> = step_form(&d, &t.step).map(|f| fields::data_of(f, &raw)).unwrap_or_default();
    // `complete` is the button of a plain task; the application judges the rest against the
    // version the instance runs on, as it does for the API.
    let decision = Some(get("_action")).filter(|a| !a.is_empty() && a != "complete");
    let answer = Answer { data, decision, comment: Some(comment.clone()) };
    match app::submit(&rt, &s.actor(), &id, answer).await {
        Ok(_) => Ok(Redirect::to("/inbox?done=1").into_response()),
        Err(e) => {
            let errors = fields::problems_of(e).map_err(|e| WebError::from_app(e, s.lang))?;
            let page = render(&rt, &s, &id, &uri, Attempt { raw: Some(raw), errors, comment }).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
    }
}
