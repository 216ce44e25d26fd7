//! Pages for people without an account: the form of the one task a signed link names
//! (`/p/t/<link>`), and a process's start form opened to the public (`/p/<process>`). They work
//! without JavaScript, show nothing of a case but the form being answered, and answer a link
//! that is altered, expired or used with a page that says so. The public start form has a
//! hidden field people leave empty (a form filled in by a robot fills it: nothing is started),
//! a limit of sends per address, and a small body limit.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Map, Value};
use tramite_engine::definition::Form;

use super::auth::ClientAddress;
use super::error::WebError;
use super::fields::{self, FieldView, Raw};
use super::i18n::Lang;
use super::page::Chrome;
use super::posted::Posted;
use crate::app::AppError;
use crate::app::public::{self, LinkRefusal, LinkedTask};
use crate::http::auth::new_token;
use crate::runtime::Deployed;
use crate::runtime::Runtime;

/// The name of the field people leave empty.
const HONEYPOT: &str = "sitio_web";

#[derive(Template)]
#[template(path = "web/public_form.html")]
struct FormPage {
    c: Chrome,
    heading: String,
    lead: Option<String>,
    action: String,
    key: String,
    honeypot: bool,
    form_description: Option<String>,
    fields: Vec<FieldView>,
    form_errors: Vec<String>,
    has_errors: bool,
}

#[derive(Template)]
#[template(path = "web/public_note.html")]
struct NotePage {
    c: Chrome,
    heading: String,
    text: String,
}

fn note(lang: Lang, status: StatusCode, heading: &str, text: String) -> Result<Response, WebError> {
    let page = NotePage { c: Chrome::public(lang, heading), heading: heading.to_string(), text };
    Ok((status, Html(page.render()?)).into_response())
}

/// Renders a public form with the values as entered and each field's problem.
fn form_page(
    lang: Lang,
    (heading, lead): (String, Option<String>),
    action: String,
    (key, honeypot): (String, bool),
    form: Option<&Form>,
    raw: &Raw,
    errors: &BTreeMap<String, String>,
) -> Result<String, WebError> {
    let views = form.map(|f| fields::views(f, raw, errors, lang)).unwrap_or_default();
    let form_errors = fields::unplaced(&views, errors);
    let page = FormPage {
        c: Chrome::public(lang, &heading),
        heading,
        lead,
        action,
        key,
        honeypot,
        form_description: form.and_then(|f| f.description.clone()),
        has_errors: !errors.is_empty(),
        fields: views,
        form_errors,
    };
    Ok(page.render()?)
}

fn refused(lang: Lang, why: LinkRefusal) -> Result<Response, WebError> {
    let (status, heading, text) = match why {
        LinkRefusal::Invalid => (StatusCode::NOT_FOUND, "public.link_invalid", "public.link_invalid_text"),
        LinkRefusal::Expired => (StatusCode::GONE, "public.link_expired", "public.link_expired_text"),
        LinkRefusal::Used => (StatusCode::GONE, "public.link_used", "public.link_used_text"),
        LinkRefusal::Closed => (StatusCode::GONE, "public.link_closed", "public.link_closed_text"),
    };
    note(lang, status, lang.t(heading), lang.t(text).to_string())
}

/// The form of the task a link names, as entered, with each field's problem.
fn task_page(
    lang: Lang,
    t: &LinkedTask,
    link: &str,
    raw: &Raw,
    errors: &BTreeMap<String, String>,
) -> Result<String, WebError> {
    let heading = (t.title.clone(), Some(t.deployed.process.title.clone()));
    form_page(lang, heading, format!("/p/t/{link}"), (String::new(), false), t.form.as_ref(), raw, errors)
}

/// `GET /p/t/{link}`: the form of the task the link names.
pub async fn task_form(
    State(rt): State<Arc<Runtime>>,
    lang: Lang,
    Path(link): Path<String>,
) -> Result<Response, WebError> {
    let task = match public::linked_task(&rt, &link).await {
        Ok(t) => t,
        Err(why) => return refused(lang, why),
    };
    let raw = task.form.as_ref().map(|f| fields::raw_of(f, &Map::new())).unwrap_or_default();
    Ok(Html(task_page(lang, &task, &link, &raw, &BTreeMap::new())?).into_response())
}

/// `POST /p/t/{link}`: answers the task; a refusal shows the form again (422) with each field's
/// problem.
pub async fn task_submit(
    State(rt): State<Arc<Runtime>>,
    lang: Lang,
    Path(link): Path<String>,
    Posted(pairs): Posted,
) -> Result<Response, WebError> {
    let task = match public::linked_task(&rt, &link).await {
        Ok(t) => t,
        Err(why) => return refused(lang, why),
    };
    let raw = fields::raw_of_pairs(&pairs);
    let data: Map<String, Value> = task.form.as_ref().map(|f| fields::data_of(f, &raw)).unwrap_or_default();
    match public::answer_link(&rt, &task, data).await {
        Ok(()) => note(lang, StatusCode::OK, lang.t("public.thanks"), lang.t("public.answered").to_string()),
        Err(AppError::Conflict { .. }) => refused(lang, LinkRefusal::Used),
        Err(AppError::NotFound(_)) => refused(lang, LinkRefusal::Used),
        Err(e) => {
            let errors = fields::problems_of(e).map_err(|e| WebError::from_app(e, lang))?;
            let page = task_page(lang, &task, &link, &raw, &errors)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response())
        }
    }
}

fn public_of(rt: &Runtime, lang: Lang, process: &str) -> Result<Arc<Deployed>, WebError> {
    public::public_process(rt, process).ok_or(WebError::NotFound(lang))
}

/// The public start form as shown: without the field the server fills in.
fn public_form(d: &Deployed) -> Option<Form> {
    let mut form = d.process.start.form.as_ref().and_then(|f| d.forms.get(f)).cloned()?;
    if let Some(received) = d.process.start.public.as_ref().and_then(|p| p.received.as_ref()) {
        form.fields.retain(|f| &f.name != received);
    }
    Some(form)
}

fn start_heading(d: &Deployed) -> (String, Option<String>) {
    (d.process.title.clone(), d.process.description.clone())
}

/// `GET /p/{process}`: the public start form.
pub async fn start_form(
    State(rt): State<Arc<Runtime>>,
    lang: Lang,
    Path(process): Path<String>,
) -> Result<Html<String>, WebError> {
    let d = public_of(&rt, lang, &process)?;
    let form = public_form(&d);
    let raw = form.as_ref().map(|f| fields::raw_of(f, &Map::new())).unwrap_or_default();
    let page = form_page(
        lang,
        start_heading(&d),
        format!("/p/{process}"),
        (new_token(), true),
        form.as_ref(),
        &raw,
        &BTreeMap::new(),
    )?;
    Ok(Html(page))
}

/// `POST /p/{process}`: starts a case (once per form key) and answers with its folio only.
pub async fn start_submit(
    State(rt): State<Arc<Runtime>>,
    lang: Lang,
    ClientAddress(addr): ClientAddress,
    Path(process): Path<String>,
    Posted(pairs): Posted,
) -> Result<Response, WebError> {
    let d = public_of(&rt, lang, &process)?;
    let thanks = |folio: Option<String>| {
        let mut text = d
            .process
            .start
            .public
            .as_ref()
            .and_then(|p| p.thanks.clone())
            .unwrap_or_else(|| lang.t("public.received").to_string());
        if let Some(f) = folio {
            text = format!("{text} {} {f}.", lang.t("public.folio"));
        }
        note(lang, StatusCode::OK, lang.t("public.thanks"), text)
    };
    // A robot fills every field: it is told what a person is told, and nothing starts.
    if pairs.iter().any(|(k, v)| k == HONEYPOT && !v.trim().is_empty()) {
        tracing::info!(process = %process, "public form with its hidden field filled in: ignored");
        return thanks(None);
    }
    if !rt.public_sends.allow(addr) {
        return note(
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            lang.t("public.too_many"),
            lang.t("public.too_many_text").to_string(),
        );
    }
    let key = pairs.iter().find(|(k, _)| k == "_key").map(|(_, v)| v.clone()).unwrap_or_default();
    if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WebError::Invalid(lang, lang.t("new.stale_form").to_string()));
    }
    let form = public_form(&d);
    let raw = fields::raw_of_pairs(&pairs);
    let data: Map<String, Value> = form.as_ref().map(|f| fields::data_of(f, &raw)).unwrap_or_default();
    match public::start_public(&rt, &d, data, &format!("public-{key}")).await {
        Ok(folio) => thanks(folio),
        Err(e) => {
            let errors = fields::problems_of(e).map_err(|e| WebError::from_app(e, lang))?;
            let page =
                form_page(lang, start_heading(&d), format!("/p/{process}"), (key, true), form.as_ref(), &raw, &errors)?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response())
        }
    }
}
